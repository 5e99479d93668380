"""Pieces shared by the callback handler and the non-raising wrapper.

Only ``langchain_core`` is imported here (the ``[langchain]`` extra installs nothing else).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from langchain_core.messages import BaseMessage, convert_to_openai_messages

from ..errors import BlockedError, GuardError, budget_overrides
from ..policy import apply_thresholds
from ..runtime.text import render_messages

if TYPE_CHECKING:  # the runtime is imported lazily (it loads onnxruntime)
    from ..runtime import Guard, Verdict

logger = logging.getLogger("guard_plugins.langchain")

Stage = Literal["input", "output"]
FailMode = Literal["closed", "open"]

DEFAULT_REFUSAL = "I can't help with that request."
"""Text shown in place of blocked content unless the application passes its own."""

ALL_ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
"""Roles scanned by the input guard by default: the whole conversation (see :func:`render_prompt`)."""


class GuardrailViolation(BlockedError):
    """Content was blocked by a guard (or, fail-closed, could not be checked).

    Attributes:
        stage: ``"input"`` (the prompt; the model was never called) or ``"output"``
            (the generation; when streamed, the flagged chunk and everything after it were
            never handed to the caller).
        verdict: the :class:`~guard_plugins.runtime.Verdict` that blocked, or ``None`` when
            the guard itself failed and the handler is fail-closed (then ``error`` is set).
        run_id: LangChain run id of the LLM call.
        refusal: the refusal text configured for this guard (for apps that show one).
        error: the guard failure that caused a fail-closed block, else ``None``.
    """

    def __init__(self, message: str, *, stage: Stage, verdict: Verdict | None,
                 run_id: UUID | None = None, refusal: str = DEFAULT_REFUSAL,
                 error: BaseException | None = None, reason: str | None = None) -> None:
        super().__init__(message, stage=stage, verdict=verdict, error=error,
                         reason=reason or ("flagged" if verdict is not None else "guard_error"))
        self.stage: Stage = stage
        self.verdict = verdict
        self.run_id = run_id
        self.refusal = refusal


class GuardConfigError(GuardError, ValueError):
    """A guard integration was configured with an invalid option."""


@dataclass(frozen=True)
class GuardEvent:
    """What the ``on_verdict`` hook receives: one final decision about one piece of content.

    Emitted once per input check, once per finished (or blocked) output, and on guard
    failures. Streaming does not emit one event per chunk.
    """

    stage: Stage
    run_id: UUID | None
    verdict: Verdict | None
    blocked: bool
    streamed: bool = False
    chars: int = 0
    """Output characters the guard saw (for a blocked stream: up to and including the
    flagged chunk, which was not delivered)."""
    error: BaseException | None = None


VerdictHook = Callable[[GuardEvent], None]


def validate_thresholds(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    """Check a thresholds mapping: keys ``"input"``, ``"output"`` or a category id; values in [0, 1]."""
    out: dict[str, float] = {}
    for key, value in (thresholds or {}).items():
        if not isinstance(key, str) or not key:
            raise GuardConfigError(f"thresholds: keys must be 'input', 'output' or a category id, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise GuardConfigError(f"thresholds[{key!r}]: expected a number in [0, 1], got {value!r}")
        out[key] = float(value)
    return out


def validate_budget(max_input_tokens: Any, on_oversize: Any) -> dict[str, Any]:
    """Per-call input budget overrides for ``Guard.check_input`` (only those set)."""
    return budget_overrides(max_input_tokens, on_oversize, error=GuardConfigError)


def validate_roles(roles: Collection[str] | None) -> frozenset[str]:
    """Roles to scan; ``None`` means all of :data:`ALL_ROLES` (custom roles included)."""
    if roles is None:
        return ALL_ROLES
    if isinstance(roles, str):
        raise GuardConfigError("scan_roles: pass a collection of role names, e.g. ('user',), not a string")
    out = frozenset(roles)
    if not out:
        raise GuardConfigError("scan_roles: empty; pass scan_input=False to skip input checks instead")
    return out


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as OpenAI-style dicts, tool-call arguments folded into the text.

    An assistant turn that calls tools carries its payload in ``tool_calls``, not ``content``;
    those names and arguments are appended to the content so the guard sees them too.
    """
    out: list[dict[str, Any]] = []
    for msg in convert_to_openai_messages(list(messages)):
        calls = msg.get("tool_calls") or []
        if calls:
            extra = "\n".join(
                f"{c.get('function', {}).get('name', '')}({c.get('function', {}).get('arguments', '')})"
                for c in calls)
            content = msg.get("content")
            if isinstance(content, list):
                msg = {**msg, "content": [*content, {"type": "text", "text": extra}]}
            else:
                msg = {**msg, "content": "\n".join(t for t in (content or "", extra) if t)}
        out.append(msg)
    return out


def render_prompt(messages: Sequence[BaseMessage], roles: Collection[str]) -> tuple[str, str]:
    """``(scan_text, context_text)`` for one chat-model call.

    *scan_text* is what the input classifier scores: the messages whose role is in ``roles``,
    rendered by :func:`guard_plugins.runtime.text.render_messages` (the exact format the
    multi-turn training data used; a single message renders as its bare text). Scanning the
    whole conversation by default matters: jailbreaks hide in system prompts, fabricated
    assistant turns and tool results as much as in the last user turn; the input model windows
    long conversations and takes the maximum, so length is no bypass.

    *context_text* is the whole conversation (all roles) rendered the same way; the output
    classifier uses its tail as the prompt context of the response.
    """
    oa = to_openai_messages(messages)
    scan = [m for m in oa if m.get("role") in roles or (roles is ALL_ROLES and m.get("role"))]
    scan_text = render_messages(scan)[0] if scan else ""
    context_text = render_messages(oa)[0] if oa else ""
    return scan_text, context_text


def verdict_dict(verdict: Verdict | None, stage: Stage, error: BaseException | None = None) -> dict[str, Any]:
    """A JSON-friendly summary of a verdict for ``response_metadata["guard"]``."""
    if verdict is None:
        return {"stage": stage, "flagged": None, "error": f"{type(error).__name__}: {error}" if error else None}
    return {
        "stage": stage,
        "flagged": bool(verdict.flagged),
        "score": float(verdict.score),
        "category": verdict.category,
        "threshold": float(verdict.threshold),
        "kind": verdict.kind,
        "latency_ms": float(verdict.latency_ms),
        "tokens": int(verdict.tokens),
        "notes": list(verdict.notes or []),
        "language": getattr(verdict, "language", None),
        "language_validated": getattr(verdict, "language_validated", None),
        "language_action": getattr(verdict, "language_action", None),
    }


def refusal_metadata(violation: GuardrailViolation) -> dict[str, Any]:
    """``response_metadata`` marking a refusal that replaced blocked content."""
    guard = verdict_dict(violation.verdict, violation.stage, violation.error)
    guard["blocked"] = True
    return {"finish_reason": "content_filter", "guard": guard}


def load_guard(guard: Guard | str | Any | None, thresholds: Mapping[str, float],
               **load_options: Any) -> tuple[Guard, dict[str, float]]:
    """A ready Guard plus the thresholds left for the integration to apply itself.

    ``guard`` is a loaded :class:`~guard_plugins.runtime.Guard` (or any object with its
    interface), a model folder path, or ``None`` for the embedded defaults. When this function
    loads the Guard, every threshold goes to ``Guard.load`` (``input_threshold``,
    ``output_threshold``, ``category_thresholds``) and the runtime decides natively (per input
    window and category); nothing is left to apply. With a loaded Guard, ``"input"`` and
    ``"output"`` thresholds are applied to its verdicts by :func:`apply_thresholds`; category
    thresholds need the runtime and raise :class:`GuardConfigError`. ``load_options`` (e.g.
    ``window_cache_mb``, ``unvalidated_language``) go to ``Guard.load``; with a loaded Guard
    they must be left unset.
    """
    if all(callable(getattr(guard, a, None)) for a in ("check_input", "check_output", "stream")):
        categories = sorted(k for k in thresholds if k not in ("input", "output"))
        if categories:
            raise GuardConfigError(
                f"thresholds for categories {categories} need the runtime: load the Guard with "
                f"Guard.load(..., category_thresholds=...) or pass a model path instead of a Guard")
        if load_options:
            raise GuardConfigError(
                f"{sorted(load_options)} configure loading: pass them to Guard.load(...) for a "
                f"loaded Guard, or pass a model path (or None) instead of a Guard")
        return guard, dict(thresholds)
    from ..runtime import Guard

    if guard is not None and not (isinstance(guard, str) or hasattr(guard, "__fspath__")):
        raise GuardConfigError(f"guard: expected a Guard, a model folder path or None, got {type(guard).__name__}")
    cats = {k: v for k, v in thresholds.items() if k not in ("input", "output")}
    loaded = Guard.load(guard, input_threshold=thresholds.get("input"),
                        output_threshold=thresholds.get("output"), category_thresholds=cats or None,
                        **load_options)
    return loaded, {}


def call_hook(hook: VerdictHook | None, event: GuardEvent) -> None:
    """Run the application's ``on_verdict`` hook; its exceptions are logged, never propagated."""
    if hook is None:
        return
    try:
        hook(event)
    except Exception:  # a logging hook must not change what the guard decides
        logger.exception("on_verdict hook raised; ignored")


def describe(verdict: Verdict) -> str:
    cat = f", category={verdict.category}" if verdict.category else ""
    if getattr(verdict, "language_action", None) == "flag":
        return (f"language={verdict.language} is not validated for this model "
                f"(unvalidated_language='flag'), score={verdict.score:.3f}{cat}")
    return f"score={verdict.score:.3f} >= threshold={verdict.threshold:.3f}{cat}"


__all__ = [
    "ALL_ROLES", "DEFAULT_REFUSAL", "FailMode", "GuardConfigError", "GuardEvent", "GuardrailViolation",
    "Stage", "VerdictHook", "apply_thresholds", "call_hook", "describe", "load_guard", "refusal_metadata", "render_prompt", "to_openai_messages",
    "validate_budget", "validate_roles", "validate_thresholds", "verdict_dict",
]
