"""LiteLLM integration: a proxy guardrail and SDK wrappers that halt harmful streams.

Two ways people use LiteLLM, both covered with the same behaviour:

* **Proxy** (``litellm --config config.yaml``): :class:`ConstitutionalGuardrail`, a
  ``CustomGuardrail`` that the proxy instantiates from the ``guardrails:`` block::

      guardrails:
        - guardrail_name: constitutional
          litellm_params:
            guardrail: guard_plugins.litellm.ConstitutionalGuardrail
            mode: [pre_call, post_call]
            default_on: true
            models_path: null        # null -> the embedded default models
            fail_closed: true

  - ``pre_call`` (or ``during_call``, which runs in parallel with the LLM call): the input
    classifier scores the rendered conversation; a flagged prompt is rejected with HTTP 400
    and an OpenAI-style body ``{"error": {"code": "content_filter", "category", "score", ...}}``.
  - ``post_call``, non-streaming: the output classifier scores the whole response; a flagged
    response is *replaced* (content withheld, ``finish_reason="content_filter"``) or, with
    ``output_action: block``, rejected with the same 400 body as an input block.
  - ``post_call``, streaming: every chunk's text is fed to a streaming session; the chunk
    that gets the stream flagged is **not** sent, one final chunk with
    ``finish_reason="content_filter"`` is sent instead and the stream ends. On
    ``/v1/messages`` the Anthropic equivalent is sent (``stop_reason: "refusal"``); on
    ``/v1/responses`` a ``response.incomplete`` event with
    ``incomplete_details.reason = "content_filter"``.

* **SDK** (no proxy): ``litellm.completion`` streams cannot be aborted from callbacks, so
  :func:`guarded_completion` / :func:`guarded_acompletion` wrap the call: input check before
  the call (:class:`ContentBlockedError` when flagged), the returned stream halted the same
  way, and non-streaming responses checked whole.

The guard itself is :class:`guard_plugins.runtime.Guard` (onnxruntime, no torch). Runtime
errors are handled per ``fail_closed``: closed (default) treats an error as a block, open
logs it and lets the content through.
"""

from __future__ import annotations

import os

# Importing litellm must not reach the network for its model cost map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import TYPE_CHECKING, Any, Literal  # noqa: E402

import litellm  # noqa: E402
from litellm.integrations.custom_guardrail import CustomGuardrail  # noqa: E402
from litellm.types.guardrails import GuardrailEventHooks  # noqa: E402
from litellm.types.utils import (  # noqa: E402
    Delta,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    TextChoices,
    TextCompletionResponse,
)

from .errors import GuardError, InputError, InputTooLargeError  # noqa: E402
from .runtime.text import render_messages  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Guard, Verdict

__all__ = [
    "CONTENT_FILTER",
    "INPUT_TOO_LARGE",
    "ConstitutionalGuardrail",
    "ContentBlockedError",
    "Decision",
    "GuardPolicy",
    "GuardedAsyncStream",
    "GuardedStream",
    "guarded_acompletion",
    "guarded_completion",
    "load_guard",
    "request_prompt",
]

logger = logging.getLogger("guard_plugins.litellm")

CONTENT_FILTER = "content_filter"
"""The ``finish_reason`` of a halted or withheld OpenAI-format response."""

INPUT_TOO_LARGE = "input_too_large"
"""The error ``code`` of a prompt over the input guard's ``max_input_tokens`` (HTTP 400)."""

ANTHROPIC_STOP_REASON = "refusal"
"""Anthropic's ``stop_reason`` for a response stopped by a streaming classifier."""

OutputAction = Literal["replace", "block"]

#: Routes whose requests this guardrail sees (pre/post call and streaming hooks), as
#: checked against litellm 1.108.7 by tests/test_litellm_proxy.py.
COVERED_ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/responses")
#: Routes that never reach a guardrail's hooks in the proxy: output there is unguarded.
BYPASS_NOTE = (
    "pass-through routes (/anthropic/*, /openai/*, /vertex_ai/*, /bedrock/* ...), /v1/realtime "
    "and batch/file endpoints do not go through CustomGuardrail stream hooks: their output is "
    "NOT checked by this guardrail"
)


# --------------------------------------------------------------------------- errors


class ContentBlockedError(GuardError):
    """A prompt (``stage="input"``) or a whole response (``stage="output"``) was blocked.

    ``verdict`` is ``None`` when the block comes from a guard failure under ``fail_closed``
    (``reason == "guard_error"``).
    """

    def __init__(self, message: str, *, stage: Literal["input", "output"], decision: Decision):
        super().__init__(message)
        self.stage = stage
        self.decision = decision

    @property
    def verdict(self) -> Verdict | None:
        return self.decision.verdict

    def to_openai_error(self) -> dict[str, Any]:
        """OpenAI-style error body (what the proxy returns with HTTP 400)."""
        return error_body(self.stage, self.decision)


# --------------------------------------------------------------------------- guard loading

_GUARDS: dict[tuple[Any, ...], Guard] = {}
_GUARDS_LOCK = threading.Lock()


def _providers_spec(providers: str | Sequence[str] | None) -> str | tuple[str, ...] | None:
    """``"cpu"``/``"cuda"``/``"auto"`` stay strings; a comma list or a list becomes a tuple."""
    if providers is None or (isinstance(providers, str) and "," not in providers):
        return providers or None
    items = providers.split(",") if isinstance(providers, str) else providers
    out = tuple(p.strip() for p in items if p and p.strip())
    return out or None


def load_guard(path: str | os.PathLike[str] | None = None,
               providers: str | Sequence[str] | None = None, *,
               input_threshold: float | None = None, output_threshold: float | None = None,
               category_thresholds: Mapping[str, float] | None = None,
               intra_op_threads: int | None = None, batching: bool = True,
               max_batch_tokens: int | None = None) -> Guard:
    """``Guard.load(...)`` cached per process and per options (the proxy and SDK share one).

    ``path`` None means the embedded default models; thresholds ``None`` keep the
    manifests' calibrated values. Raises ``ModelLoadError`` as the runtime does.
    """
    from .runtime import Guard

    for name, val in (("input_threshold", input_threshold), ("output_threshold", output_threshold)):
        if val is not None and not 0.0 <= float(val) <= 1.0:
            raise InputError(f"{name} must be in [0, 1], got {val!r}")
    spec = _providers_spec(providers)
    cats = tuple(sorted((category_thresholds or {}).items()))
    key = (None if path is None else os.fspath(path), spec, input_threshold, output_threshold,
           cats, intra_op_threads, bool(batching), max_batch_tokens)
    with _GUARDS_LOCK:
        guard = _GUARDS.get(key)
        if guard is None:
            guard = Guard.load(key[0], list(spec) if isinstance(spec, tuple) else spec,
                               input_threshold=input_threshold, output_threshold=output_threshold,
                               category_thresholds=dict(cats) or None,
                               intra_op_threads=intra_op_threads, batching=bool(batching),
                               max_batch_tokens=max_batch_tokens)
            _GUARDS[key] = guard
        return guard


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Decision:
    """What the policy decided about one piece of content."""

    blocked: bool
    verdict: Verdict | None = None
    reason: Literal["flagged", "guard_error", "ok", "guard_error_open", "too_large"] = "ok"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "blocked": self.blocked,
            "reason": self.reason,
            "category": v.category if v is not None else None,
            "score": round(float(v.score), 6) if v is not None else None,
            "threshold": float(v.threshold) if v is not None else None,
            "error": self.error,
        }


def error_body(stage: str, decision: Decision) -> dict[str, Any]:
    """OpenAI-style ``{"error": {...}}`` body naming the category and score."""
    d = decision.to_dict()
    code = CONTENT_FILTER
    if decision.reason == "flagged":
        what = "prompt" if stage == "input" else "response"
        cat = d["category"] or "restricted content"
        message = (f"guard-plugins blocked the {what}: flagged as {cat} "
                   f"(score {d['score']:.3f} >= threshold {d['threshold']:.3f})")
    elif decision.reason == "too_large":
        code = INPUT_TOO_LARGE
        message = f"guard-plugins rejected the {stage}: {d['error']}"
    else:
        message = f"guard-plugins could not check the {stage} and fails closed: {d['error']}"
    return {"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": None,
        "code": code,
        "guard": {"stage": stage, **{k: d[k] for k in ("reason", "category", "score", "threshold")}},
    }}


@dataclass
class GuardPolicy:
    """The decision logic shared by the proxy guardrail and the SDK wrappers.

    Attributes:
        guard: a loaded :class:`~guard_plugins.runtime.Guard` (its thresholds decide).
        fail_closed: a guard error blocks (True, default) or lets content through (False,
            logged at ERROR).
        output_action: ``"replace"`` (default) withholds a flagged non-streaming response
            (``finish_reason="content_filter"``, content = ``replacement_text``); ``"block"``
            raises instead (HTTP 400 on the proxy).
        replacement_text: the content that replaces a withheld non-streaming response.
        max_input_tokens: the input guard's size budget for these checks (``"default"``:
            the Guard's own, 16,384 unless loaded otherwise; ``None``: no limit).
        on_oversize: ``"reject"`` (a prompt over the budget is blocked, reason
            ``"too_large"``, whatever ``fail_closed`` says: it is a policy, not a failure) or
            ``"scan"`` (scored whole); ``None``: the Guard's own (``"reject"``).
    """

    guard: Any
    fail_closed: bool = True
    output_action: OutputAction = "replace"
    replacement_text: str = ""
    max_input_tokens: int | None | Literal["default"] = "default"
    on_oversize: Literal["reject", "scan"] | None = None
    _stats: dict[str, int] = field(default_factory=lambda: {"errors": 0}, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.output_action not in ("replace", "block"):
            raise InputError(f"output_action must be 'replace' or 'block', got {self.output_action!r}")
        if self.on_oversize not in (None, "reject", "scan"):
            raise InputError(f"on_oversize must be 'reject' or 'scan', got {self.on_oversize!r}")
        m = self.max_input_tokens
        if m != "default" and m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
            raise InputError(f"max_input_tokens must be a positive integer or null, got {m!r}")

    def _budget(self) -> dict[str, Any]:
        """Per-call budget overrides for ``Guard.check_input`` (only the ones set)."""
        kw: dict[str, Any] = {}
        if self.max_input_tokens != "default":
            kw["max_input_tokens"] = self.max_input_tokens
        if self.on_oversize is not None:
            kw["on_oversize"] = self.on_oversize
        return kw

    @staticmethod
    def _too_large(exc: InputTooLargeError) -> Decision:
        logger.info("guard-plugins input rejected: %s", exc)
        return Decision(blocked=True, reason="too_large", error=str(exc))

    # -- verdict -> decision
    def _apply(self, verdict: Verdict) -> Decision:
        return Decision(blocked=bool(verdict.flagged), verdict=verdict,
                        reason="flagged" if verdict.flagged else "ok")

    def _error(self, stage: str, exc: BaseException) -> Decision:
        self._stats["errors"] += 1
        msg = f"{type(exc).__name__}: {exc}"
        if self.fail_closed:
            logger.error("guard-plugins %s check failed, failing closed: %s", stage, msg)
            return Decision(blocked=True, reason="guard_error", error=msg)
        logger.error("guard-plugins %s check failed, failing OPEN (content passes): %s", stage, msg)
        return Decision(blocked=False, reason="guard_error_open", error=msg)

    # -- checks (synchronous; async code uses acheck_input, or asyncio.to_thread)
    def check_input(self, prompt: str) -> Decision:
        try:
            return self._apply(self.guard.check_input(prompt, **self._budget()))
        except InputTooLargeError as exc:
            return self._too_large(exc)
        except Exception as exc:  # noqa: BLE001 - fail-closed must cover runtime failures too
            return self._error("input", exc)

    async def acheck_input(self, prompt: str) -> Decision:
        """:meth:`check_input` without holding a thread while the check waits its turn in the
        runtime's scheduler (``Guard.acheck_input``); other guards run in a worker thread."""
        try:
            acheck = getattr(self.guard, "acheck_input", None)
            if acheck is not None:
                verdict = await acheck(prompt, **self._budget())
            else:
                verdict = await asyncio.to_thread(self.guard.check_input, prompt, **self._budget())
            return self._apply(verdict)
        except InputTooLargeError as exc:
            return self._too_large(exc)
        except Exception as exc:  # noqa: BLE001
            return self._error("input", exc)

    def check_output(self, prompt: str, response: str) -> Decision:
        try:
            return self._apply(self.guard.check_output(prompt, response))
        except Exception as exc:  # noqa: BLE001
            return self._error("output", exc)

    def open_stream(self, prompt: str) -> StreamJudge:
        return StreamJudge(self, prompt)


class StreamJudge:
    """One response stream under watch: a runtime stream session plus the policy.

    Sticky: once it blocks, it stays blocked. A guard error blocks (fail-closed) or turns the
    judge off for the rest of the stream (fail-open).
    """

    def __init__(self, policy: GuardPolicy, prompt: str):
        self.policy = policy
        self.decision = Decision(blocked=False)
        self.finished = False
        self.chunks = 0
        self.guard_seconds = 0.0
        self._off = False
        try:
            self._session = policy.guard.stream(prompt)
        except Exception as exc:  # noqa: BLE001
            self._session = None
            self._fail(exc)

    def _fail(self, exc: BaseException) -> Decision:
        d = self.policy._error("output-stream", exc)
        if d.blocked:
            self.decision = d
        else:
            self._off = True
        return self.decision

    def _step(self, fn: Any, *args: Any) -> Decision:
        if self.decision.blocked or self._off or self._session is None:
            return self.decision
        t0 = time.perf_counter()
        try:
            verdict = fn(*args)
        except Exception as exc:  # noqa: BLE001
            return self._fail(exc)
        finally:
            self.guard_seconds += time.perf_counter() - t0
        self.decision = self.policy._apply(verdict)
        return self.decision

    def feed(self, text: str) -> Decision:
        """Score one more piece of response text."""
        if not text or self.finished:
            return self.decision
        self.chunks += 1
        return self._step(self._session.feed if self._session is not None else None, text)

    def finish(self) -> Decision:
        """End of the response: score whatever the session still holds."""
        if self.finished:
            return self.decision
        self.finished = True
        return self._step(self._session.finish if self._session is not None else None)


# --------------------------------------------------------------------------- request parsing


def _anthropic_system(system: Any) -> Any:
    if isinstance(system, list):  # list of text blocks
        return [b for b in system if isinstance(b, Mapping)]
    return system


def _responses_input_messages(inp: Any) -> list[dict[str, Any]]:
    """Responses-API ``input`` (a string or a list of items) as chat-style messages."""
    if isinstance(inp, str):
        return [{"role": "user", "content": inp}]
    msgs: list[dict[str, Any]] = []
    for item in inp or []:
        if isinstance(item, str):
            msgs.append({"role": "user", "content": item})
        elif isinstance(item, Mapping):
            if "content" in item:
                msgs.append({"role": item.get("role") or "user", "content": item.get("content")})
            elif item.get("type") == "function_call_output" and isinstance(item.get("output"), str):
                msgs.append({"role": "tool", "content": item["output"]})
    return msgs


def request_prompt(data: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The text the input guard scores for one LiteLLM request body: ``(text, notes)``.

    Understands chat completions (``messages``), Anthropic messages (``system`` +
    ``messages``), the Responses API (``instructions`` + ``input``) and text completions
    (``prompt``). Raises :class:`InputError` when there is nothing to score.
    """
    messages: list[Any] = []
    if data.get("system") is not None:
        messages.append({"role": "system", "content": _anthropic_system(data["system"])})
    if data.get("instructions"):
        messages.append({"role": "system", "content": data["instructions"]})
    if data.get("messages") is not None:
        messages.extend(data["messages"])
    if data.get("input") is not None:
        messages.extend(_responses_input_messages(data["input"]))
    if not messages and data.get("prompt") is not None:
        p = data["prompt"]
        messages = [{"role": "user", "content": p if isinstance(p, str) else "\n".join(map(str, p))}]
    if not messages:
        raise InputError("request has no messages, input or prompt to check")
    return render_messages(messages)


# --------------------------------------------------------------------------- response text


def _chat_response_texts(response: Any) -> list[tuple[Any, str]]:
    """``(choice, text)`` of a chat response (``message.content``) or a text completion."""
    out = []
    for choice in getattr(response, "choices", None) or []:
        msg = getattr(choice, "message", None)
        content = getattr(msg, "content", None) if msg is not None else getattr(choice, "text", None)
        if isinstance(content, str):
            out.append((choice, content))
    return out


def _withhold_chat(response: Any, replacement: str) -> Any:
    for choice in getattr(response, "choices", None) or []:
        msg = getattr(choice, "message", None)
        if msg is not None:
            msg.content = replacement
            if getattr(msg, "tool_calls", None):
                msg.tool_calls = None
        elif hasattr(choice, "text"):
            choice.text = replacement
        choice.finish_reason = CONTENT_FILTER
    return response


def _anthropic_text(response: Mapping[str, Any]) -> str:
    return "".join(b.get("text", "") for b in response.get("content") or []
                   if isinstance(b, Mapping) and b.get("type") == "text")


def _responses_text(response: Any) -> str:
    parts = []
    for item in getattr(response, "output", None) or []:
        content = item.get("content") if isinstance(item, Mapping) else getattr(item, "content", None)
        for part in content or []:
            ptype = part.get("type") if isinstance(part, Mapping) else getattr(part, "type", None)
            text = part.get("text") if isinstance(part, Mapping) else getattr(part, "text", None)
            if ptype == "output_text" and isinstance(text, str):
                parts.append(text)
    return "".join(parts)


# --------------------------------------------------------------------------- chat stream halting


def _chunk_parts(chunk: Any) -> list[tuple[int, str, bool]]:
    """``(choice index, text, has finish_reason)`` for each choice of a chat chunk
    (``delta.content``) or a text-completion chunk (``text``)."""
    parts = []
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        text = getattr(delta, "content", None) if delta is not None else getattr(choice, "text", None)
        parts.append((int(getattr(choice, "index", 0) or 0), text if isinstance(text, str) else "",
                      getattr(choice, "finish_reason", None) is not None))
    return parts


def content_filter_chunk(like: Any, indices: Sequence[int] = (0,)) -> Any:
    """The one final chunk of a halted stream (``finish_reason="content_filter"``), in the
    format of ``like``: a chat chunk, or a text-completion chunk on ``/v1/completions``."""
    if isinstance(like, TextCompletionResponse):
        return TextCompletionResponse(
            id=like.id, object="text_completion", created=like.created, model=like.model,
            choices=[TextChoices(index=i, text=None, finish_reason=CONTENT_FILTER)
                     for i in (sorted(set(indices)) or [0])])
    chunk = ModelResponseStream(
        id=getattr(like, "id", None),
        created=getattr(like, "created", None),
        model=getattr(like, "model", None),
        choices=[StreamingChoices(index=i, delta=Delta(content=None), finish_reason=CONTENT_FILTER)
                 for i in (sorted(set(indices)) or [0])],
    )
    return chunk


class _ChatStreamState:
    """Per-choice stream judges for one chat stream."""

    def __init__(self, policy: GuardPolicy, prompt: str):
        self.policy = policy
        self.prompt = prompt
        self.judges: dict[int, StreamJudge] = {}

    def judge(self, index: int) -> StreamJudge:
        j = self.judges.get(index)
        if j is None:
            j = self.judges[index] = self.policy.open_stream(self.prompt)
        return j

    @property
    def decision(self) -> Decision:
        for j in self.judges.values():
            if j.decision.blocked:
                return j.decision
        return Decision(blocked=False)

    def step(self, chunk: Any) -> bool:
        """Score one chunk; True when the stream must halt (the chunk is not to be sent)."""
        for index, text, finishing in _chunk_parts(chunk):
            j = self.judge(index)
            if text and j.feed(text).blocked:
                return True
            if finishing and j.finish().blocked:
                return True
        return False

    def end(self) -> bool:
        """Upstream ended: finish every open judge; True when that flagged the stream."""
        return any(j.finish().blocked for j in list(self.judges.values()))


class GuardedStream:
    """A chat stream from :func:`guarded_completion`: yields the upstream chunks until the
    output guard flags, then one ``finish_reason="content_filter"`` chunk, then stops.

    ``decision`` holds the latest decision, ``halted`` whether the stream was cut.
    """

    def __init__(self, upstream: Any, state: _ChatStreamState):
        self._upstream = upstream
        self._state = state
        self.halted = False
        self._it = self._run()

    @property
    def decision(self) -> Decision:
        return self._state.decision

    def _run(self) -> Iterator[Any]:
        last = None
        for chunk in self._upstream:
            last = chunk
            if self._state.step(chunk):
                self.halted = True
                self._close()
                yield content_filter_chunk(chunk, list(self._state.judges))
                return
            yield chunk
        if self._state.end():
            self.halted = True
            yield content_filter_chunk(last, list(self._state.judges))

    def _close(self) -> None:
        close = getattr(self._upstream, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001 - closing a dead upstream must not mask the halt
                logger.debug("closing the upstream stream failed", exc_info=True)

    def __iter__(self) -> GuardedStream:
        return self

    def __next__(self) -> Any:
        return next(self._it)


class GuardedAsyncStream:
    """Async twin of :class:`GuardedStream` (from :func:`guarded_acompletion`).

    Guard calls run in a worker thread so the event loop keeps serving other streams.
    """

    def __init__(self, upstream: Any, state: _ChatStreamState):
        self._upstream = upstream
        self._state = state
        self.halted = False
        self._it = self._run()

    @property
    def decision(self) -> Decision:
        return self._state.decision

    async def _run(self) -> AsyncIterator[Any]:
        last = None
        async for chunk in self._upstream:
            last = chunk
            if await asyncio.to_thread(self._state.step, chunk):
                self.halted = True
                await self._aclose()
                yield content_filter_chunk(chunk, list(self._state.judges))
                return
            yield chunk
        if await asyncio.to_thread(self._state.end):
            self.halted = True
            yield content_filter_chunk(last, list(self._state.judges))

    async def _aclose(self) -> None:
        aclose = getattr(self._upstream, "aclose", None)
        if callable(aclose):
            try:
                await aclose()
            except Exception:  # noqa: BLE001
                logger.debug("closing the upstream stream failed", exc_info=True)

    def __aiter__(self) -> GuardedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        return await self._it.__anext__()


# --------------------------------------------------------------------------- SDK wrappers

_DEFAULT_POLICY: GuardPolicy | None = None
_DEFAULT_LOCK = threading.Lock()


def _resolve_policy(guard: Any) -> GuardPolicy:
    global _DEFAULT_POLICY
    if isinstance(guard, GuardPolicy):
        return guard
    if guard is not None:
        return GuardPolicy(guard=guard)
    with _DEFAULT_LOCK:
        if _DEFAULT_POLICY is None:
            _DEFAULT_POLICY = GuardPolicy(guard=load_guard())
        return _DEFAULT_POLICY


def _sdk_prompt(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    messages = kwargs.get("messages")
    if messages is None and len(args) >= 2:
        messages = args[1]
    if messages is None:
        raise InputError("guarded completion needs `messages`")
    return request_prompt({"messages": messages})[0]


def _check_sdk_output(policy: GuardPolicy, prompt: str, response: Any) -> Any:
    if not isinstance(response, ModelResponse):
        return response
    decisions = [policy.check_output(prompt, text) for _, text in _chat_response_texts(response)]
    blocked = next((d for d in decisions if d.blocked), None)
    if blocked is None:
        return response
    if policy.output_action == "block":
        raise ContentBlockedError(error_body("output", blocked)["error"]["message"],
                                  stage="output", decision=blocked)
    return _withhold_chat(response, policy.replacement_text)


def _input_block(decision: Decision) -> ContentBlockedError:
    return ContentBlockedError(error_body("input", decision)["error"]["message"],
                               stage="input", decision=decision)


def guarded_completion(*args: Any, guard: Guard | GuardPolicy | None = None, **kwargs: Any) -> Any:
    """``litellm.completion`` with the constitutional guards around it.

    Takes exactly ``litellm.completion``'s arguments, plus ``guard`` (a loaded ``Guard`` or a
    :class:`GuardPolicy`; default: the embedded models, loaded once). Raises
    :class:`ContentBlockedError` (``stage="input"``) before calling the LLM when the prompt is
    flagged. With ``stream=True`` it returns a :class:`GuardedStream`; otherwise the
    response, withheld (``finish_reason="content_filter"``) or raised per
    ``policy.output_action`` when flagged.
    """
    policy = _resolve_policy(guard)
    prompt = _sdk_prompt(args, kwargs)
    decision = policy.check_input(prompt)
    if decision.blocked:
        raise _input_block(decision)
    response = litellm.completion(*args, **kwargs)
    if kwargs.get("stream"):
        return GuardedStream(response, _ChatStreamState(policy, prompt))
    return _check_sdk_output(policy, prompt, response)


async def guarded_acompletion(*args: Any, guard: Guard | GuardPolicy | None = None, **kwargs: Any) -> Any:
    """Async twin of :func:`guarded_completion` (wraps ``litellm.acompletion``).

    With ``stream=True`` it returns a :class:`GuardedAsyncStream`. Guard calls run in a
    worker thread.
    """
    policy = await asyncio.to_thread(_resolve_policy, guard)
    prompt = _sdk_prompt(args, kwargs)
    decision = await policy.acheck_input(prompt)
    if decision.blocked:
        raise _input_block(decision)
    response = await litellm.acompletion(*args, **kwargs)
    if kwargs.get("stream"):
        return GuardedAsyncStream(response, _ChatStreamState(policy, prompt))
    return await asyncio.to_thread(_check_sdk_output, policy, prompt, response)


# --------------------------------------------------------------------------- proxy guardrail


def _http_400(stage: str, decision: Decision) -> Exception:
    from fastapi import HTTPException

    return HTTPException(status_code=400, detail=error_body(stage, decision))


def _sse_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Split an SSE byte buffer into complete frames (each with its blank line) + the rest."""
    frames = []
    while True:
        cut = buffer.find(b"\n\n")
        if cut < 0:
            return frames, buffer
        frames.append(buffer[:cut + 2])
        buffer = buffer[cut + 2:]


def _sse_data(frame: bytes) -> dict[str, Any] | None:
    lines = [ln[5:].strip() for ln in frame.split(b"\n") if ln.startswith(b"data:")]
    if not lines:
        return None
    try:
        obj = json.loads(b"\n".join(lines))
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _anthropic_stop_frames(open_blocks: Sequence[int]) -> bytes:
    frames = [f'event: content_block_stop\ndata: {json.dumps({"type": "content_block_stop", "index": i})}\n\n'
              for i in open_blocks]
    frames.append("event: message_delta\ndata: " + json.dumps({
        "type": "message_delta",
        "delta": {"stop_reason": ANTHROPIC_STOP_REASON, "stop_sequence": None},
        "usage": {"output_tokens": 0}}) + "\n\n")
    frames.append('event: message_stop\ndata: {"type": "message_stop"}\n\n')
    return "".join(frames).encode()


class ConstitutionalGuardrail(CustomGuardrail):
    """LiteLLM proxy guardrail running the constitutional input and streaming output guards.

    Options (``litellm_params`` in ``config.yaml``; every other key is forwarded to
    ``CustomGuardrail``):

    - ``models_path``: folder with ``input/`` and ``output/`` exported models (``None``: the
      embedded defaults).
    - ``providers``: onnxruntime execution providers (list or comma-separated string).
    - ``input_threshold`` / ``output_threshold`` / ``category_thresholds``: override the
      calibrated thresholds; ``intra_op_threads``: onnxruntime threads per session.
    - ``fail_closed`` (default true): a guard error blocks. A model that cannot load makes
      the proxy refuse to start when fail-closed; fail-open logs and lets everything pass.
    - ``output_action``: ``replace`` (default) or ``block`` for flagged non-streaming
      responses; ``replacement_text`` for ``replace``.
    - ``max_input_tokens`` (default 16384; ``null``: no limit) and ``on_oversize``
      (``reject``, the default: HTTP 400 with code ``input_too_large``, whatever
      ``fail_closed`` says; or ``scan``: score long prompts whole).
    - ``batching`` (default true): input checks of all requests go through the runtime's fair
      scheduler (a short prompt never waits for a long one to finish); ``max_batch_tokens``:
      padded tokens per onnxruntime call (default 512 on CPU, 16384 on a GPU).
    - ``mode``: ``pre_call`` or ``during_call`` run the input check, ``post_call`` the output
      checks (whole responses and streams). Use ``[pre_call, post_call]``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The proxy only wraps streams of classes that define the iterator hook in their own
        # ``__dict__`` (litellm checks ``type(cb).__dict__``): a subclass that does not
        # re-declare it would silently lose stream checking. Re-declare it for them.
        super().__init_subclass__(**kwargs)
        if "async_post_call_streaming_iterator_hook" not in cls.__dict__:
            cls.async_post_call_streaming_iterator_hook = (  # type: ignore[method-assign]
                ConstitutionalGuardrail.async_post_call_streaming_iterator_hook)

    def __init__(
        self,
        models_path: str | None = None,
        providers: str | Sequence[str] | None = None,
        input_threshold: float | None = None,
        output_threshold: float | None = None,
        category_thresholds: Mapping[str, float] | None = None,
        intra_op_threads: int | None = None,
        fail_closed: bool = True,
        output_action: OutputAction = "replace",
        replacement_text: str = "",
        max_input_tokens: int | None | Literal["default"] = "default",
        on_oversize: Literal["reject", "scan"] | None = None,
        batching: bool = True,
        max_batch_tokens: int | None = None,
        guard: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.fail_closed = bool(fail_closed)
        self.policy: GuardPolicy | None
        try:
            if guard is None:
                guard = load_guard(models_path, providers, input_threshold=input_threshold,
                                   output_threshold=output_threshold,
                                   category_thresholds=category_thresholds,
                                   intra_op_threads=intra_op_threads, batching=batching,
                                   max_batch_tokens=max_batch_tokens)
            self.policy = GuardPolicy(guard=guard, fail_closed=self.fail_closed,
                                      output_action=output_action, replacement_text=replacement_text,
                                      max_input_tokens=max_input_tokens, on_oversize=on_oversize)
        except InputError:
            raise
        except Exception as exc:
            if self.fail_closed:
                raise
            logger.error("guard-plugins: guard could not load (%s); fail_closed is false, so "
                         "EVERY request passes unchecked", exc)
            self.policy = None
        self.bypassed_streams = 0
        self._warn_coverage()

    # -- startup notes
    def _hooks(self) -> set[str]:
        hook = self.event_hook
        if hook is None:
            return {"pre_call", "post_call"}
        if isinstance(hook, (list, tuple, set)):
            return {getattr(h, "value", h) for h in hook}
        return {getattr(hook, "value", hook)} if isinstance(hook, str) else {"pre_call", "post_call"}

    def _warn_coverage(self) -> None:
        hooks = self._hooks()
        if "post_call" not in hooks:
            logger.warning("guard-plugins guardrail %r: mode %s has no post_call, so responses "
                           "(streams included) are NOT checked", self.guardrail_name, sorted(hooks))
        if not hooks & {"pre_call", "during_call"}:
            logger.warning("guard-plugins guardrail %r: mode %s has no pre_call/during_call, so "
                           "prompts are NOT checked", self.guardrail_name, sorted(hooks))
        logger.warning("guard-plugins guardrail %r covers %s; %s", self.guardrail_name,
                       ", ".join(COVERED_ROUTES), BYPASS_NOTE)

    # -- input
    async def _check_request(self, data: dict, event: GuardrailEventHooks) -> None:
        if self.policy is None or not self.should_run_guardrail(data=data, event_type=event):
            return
        try:  # rendering a huge message list is real work: keep it off the event loop
            prompt, _ = await asyncio.to_thread(request_prompt, data)
        except InputError as exc:
            decision = self.policy._error("input", exc)
        else:
            decision = await self.policy.acheck_input(prompt)
        self._record(data, "input", decision)
        if decision.blocked:
            raise _http_400("input", decision)

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict,
                                  call_type: Any) -> dict | None:
        await self._check_request(data, GuardrailEventHooks.pre_call)
        return data

    async def async_moderation_hook(self, data: dict, user_api_key_dict: Any, call_type: Any) -> Any:
        await self._check_request(data, GuardrailEventHooks.during_call)
        return None

    # -- whole responses
    async def async_post_call_success_hook(self, data: dict, user_api_key_dict: Any, response: Any) -> Any:
        if self.policy is None or not self.should_run_guardrail(data=data, event_type=GuardrailEventHooks.post_call):
            return response
        policy = self.policy
        try:
            prompt = request_prompt(data)[0]
        except InputError:
            prompt = ""
        if isinstance(response, (ModelResponse, TextCompletionResponse)):
            texts = [t for _, t in _chat_response_texts(response)]
        elif isinstance(response, Mapping) and response.get("type") == "message":
            texts = [_anthropic_text(response)]
        elif type(response).__name__ == "ResponsesAPIResponse":
            texts = [_responses_text(response)]
        else:
            return response
        if data.get("stream"):
            # A streaming request answered with a whole response: the streaming hook was
            # bypassed (e.g. litellm 1.108.7 mock_response models on /v1/messages). We check the
            # whole response here instead; say so, since other routes may lose checks this way.
            self.bypassed_streams += 1
            logger.warning("guard-plugins guardrail %r: streaming request on %s came back as a "
                           "whole %s, bypassing the streaming hook; checking it whole instead",
                           self.guardrail_name, _route(data), type(response).__name__)
        decision = Decision(blocked=False)
        for text in texts:
            if text:
                decision = await asyncio.to_thread(policy.check_output, prompt, text)
                if decision.blocked:
                    break
        self._record(data, "output", decision)
        if not decision.blocked:
            return response
        if policy.output_action == "block":
            raise _http_400("output", decision)
        return _withhold_any(response, policy.replacement_text)

    # -- streams
    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict: Any, response: Any,
                                                      request_data: dict) -> AsyncIterator[Any]:
        if self.policy is None or not self.should_run_guardrail(
                data=request_data, event_type=GuardrailEventHooks.post_call):
            async for chunk in response:
                yield chunk
            return
        try:
            prompt = request_prompt(request_data)[0]
        except InputError:
            prompt = ""
        halter = _ProxyStreamHalter(self.policy, prompt)
        try:
            async for chunk in response:
                out, stop = await asyncio.to_thread(halter.step, chunk)
                for item in out:
                    yield item
                if stop:
                    self._record(request_data, "output", halter.decision)
                    return
            for item in await asyncio.to_thread(halter.end):
                yield item
            self._record(request_data, "output", halter.decision)
        finally:
            if halter.halted:
                aclose = getattr(response, "aclose", None)
                if callable(aclose):
                    try:
                        await aclose()
                    except Exception:  # noqa: BLE001
                        logger.debug("closing the upstream stream failed", exc_info=True)

    # -- bookkeeping
    def _record(self, data: dict, stage: str, decision: Decision) -> None:
        if decision.blocked:
            logger.info("guard-plugins %s blocked: %s", stage, decision.to_dict())
        meta = data.get("metadata")
        if not isinstance(meta, dict):
            meta = data.get("litellm_metadata")
        if isinstance(meta, dict):
            meta.setdefault("guard_plugins", {})[stage] = decision.to_dict()


def _route(data: Mapping[str, Any]) -> str:
    req = data.get("proxy_server_request")
    if isinstance(req, Mapping) and req.get("url"):
        return str(req["url"])
    return "unknown route"


def _withhold_any(response: Any, replacement: str) -> Any:
    if isinstance(response, (ModelResponse, TextCompletionResponse)):
        return _withhold_chat(response, replacement)
    if isinstance(response, Mapping):  # Anthropic message
        out = dict(response)
        out["content"] = [{"type": "text", "text": replacement}] if replacement else []
        out["stop_reason"] = ANTHROPIC_STOP_REASON
        return out
    # Responses API
    try:
        response.output = []
        response.status = "incomplete"
        response.incomplete_details = {"reason": CONTENT_FILTER}
    except Exception:  # noqa: BLE001
        logger.error("could not withhold a %s; blocking instead", type(response).__name__)
        raise _http_400("output", Decision(blocked=True, reason="guard_error",
                                           error="response type cannot be withheld")) from None
    return response


class _ProxyStreamHalter:
    """Stream-format-aware halting for the proxy hook.

    Chat chunks (``ModelResponseStream``), Anthropic SSE bytes (``/v1/messages``) and
    Responses-API events (``/v1/responses``) each get their own end-of-stream marker.
    ``step`` returns ``(items to send, stop)``.
    """

    def __init__(self, policy: GuardPolicy, prompt: str):
        self.policy = policy
        self.prompt = prompt
        self.chat = _ChatStreamState(policy, prompt)
        self.judge: StreamJudge | None = None  # for Anthropic / Responses streams
        self.halted = False
        self._last_chat: Any = None
        self._buf = b""
        self._open_blocks: list[int] = []
        self._resp_template: Any = None
        self.kind: Literal["chat", "anthropic", "responses", "unknown"] = "unknown"

    @property
    def decision(self) -> Decision:
        if self.judge is not None:
            return self.judge.decision
        return self.chat.decision

    def _judge(self) -> StreamJudge:
        if self.judge is None or self.judge.finished:
            self.judge = self.policy.open_stream(self.prompt)
        return self.judge

    def step(self, chunk: Any) -> tuple[list[Any], bool]:
        if isinstance(chunk, (bytes, bytearray)):
            self.kind = "anthropic"
            return self._step_sse(bytes(chunk))
        etype = getattr(chunk, "type", None)
        if etype is not None and str(getattr(etype, "value", etype)).startswith("response."):
            self.kind = "responses"
            return self._step_responses(chunk, str(getattr(etype, "value", etype)))
        if hasattr(chunk, "choices"):
            self.kind = "chat"
            self._last_chat = chunk
            if self.chat.step(chunk):
                self.halted = True
                return [content_filter_chunk(chunk, list(self.chat.judges))], True
            return [chunk], False
        return [chunk], False  # unknown item: passed through untouched

    def end(self) -> list[Any]:
        if self._buf:  # trailing bytes without a frame end
            out: list[Any] = [self._buf]
            self._buf = b""
        else:
            out = []
        if self.chat.judges and self.chat.end():
            self.halted = True
            return out + [content_filter_chunk(self._last_chat, list(self.chat.judges))]
        if self.judge is not None and not self.judge.finished and self.judge.finish().blocked:
            self.halted = True
            return out + self._halt_items()
        return out

    # -- Anthropic SSE bytes (/v1/messages)
    def _step_sse(self, chunk: bytes) -> tuple[list[Any], bool]:
        frames, self._buf = _sse_frames(self._buf + chunk)
        sent: list[bytes] = []
        for frame in frames:
            data = _sse_data(frame) or {}
            etype = data.get("type")
            if etype == "content_block_start":
                self._open_blocks.append(int(data.get("index", 0)))
            elif etype == "content_block_stop":
                idx = int(data.get("index", 0))
                if idx in self._open_blocks:
                    self._open_blocks.remove(idx)
            decision = None
            if etype == "content_block_delta":
                delta = data.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    decision = self._judge().feed(delta["text"])
            elif etype in ("message_delta", "message_stop") and self.judge is not None:
                decision = self.judge.finish()
            if decision is not None and decision.blocked:
                self.halted = True
                pre = [b"".join(sent)] if sent else []
                return pre + [_anthropic_stop_frames(self._open_blocks)], True
            sent.append(frame)
        return ([b"".join(sent)] if sent else []), False

    # -- Responses API events (/v1/responses)
    _TEXT_DONE = ("response.output_text.done", "response.content_part.done", "response.output_item.done",
                  "response.completed", "response.incomplete")

    def _step_responses(self, event: Any, etype: str) -> tuple[list[Any], bool]:
        if etype in ("response.created", "response.in_progress"):
            self._resp_template = getattr(event, "response", None)
        decision = None
        if etype == "response.output_text.delta":
            delta = getattr(event, "delta", None)
            if isinstance(delta, str) and delta:
                decision = self._judge().feed(delta)
        elif etype in self._TEXT_DONE and self.judge is not None and not self.judge.finished:
            decision = self.judge.finish()
        if decision is not None and decision.blocked:
            self.halted = True
            return self._halt_items(), True
        return [event], False

    def _halt_items(self) -> list[Any]:
        """End-of-stream items for a stream flagged outside the chat path."""
        if self.kind == "responses" and self._resp_template is not None:
            return [_responses_incomplete_event(self._resp_template)]
        if self.kind == "anthropic":
            return [_anthropic_stop_frames(self._open_blocks)]
        return [content_filter_chunk(self._last_chat, [0])]


def _responses_incomplete_event(template: Any) -> Any:
    from litellm.types.llms.openai import ResponseIncompleteEvent, ResponsesAPIStreamEvents

    resp = template.model_copy(deep=True)
    resp.status = "incomplete"
    resp.output = []
    resp.incomplete_details = {"reason": CONTENT_FILTER}
    return ResponseIncompleteEvent(type=ResponsesAPIStreamEvents.RESPONSE_INCOMPLETE, response=resp)
