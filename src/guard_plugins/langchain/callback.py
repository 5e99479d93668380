"""``ConstitutionalGuard``: a LangChain callback handler that blocks prompts and halts streams.

One line on an existing model, chain or agent::

    guard = ConstitutionalGuard()                      # the embedded default models
    llm.invoke(prompt, config={"callbacks": [guard]})  # or chain.with_config(callbacks=[guard])

How it stops things. LangChain re-raises an exception from a handler only when the handler
has ``raise_error = True``, and only a *synchronous* handler run inline can stop ``.stream()``
and ``.astream()`` from ``on_llm_new_token`` (chat models call that hook *before* yielding the
chunk, so the chunk that raises is never yielded). This handler is therefore sync,
``raise_error = True`` and ``run_inline = True``:

* ``on_chat_model_start`` / ``on_llm_start``: the prompt is scored by the input classifier;
  when flagged, :class:`GuardrailViolation` (``stage="input"``) is raised and the model is
  never called.
* ``on_llm_new_token``: the chunk is fed to a streaming session of the output classifier,
  one session per LLM ``run_id`` (parallel runs, batches and nested chains never mix); when
  the verdict flips, :class:`GuardrailViolation` (``stage="output"``) is raised, so the
  flagged chunk and everything after it never reach the caller.
* ``on_llm_end``: a streamed run is ``finish()``-ed (the unfinished last word is scored); a
  non-streamed generation is scored whole with ``check_output``.
* ``on_llm_error``: the run's session is dropped.

Ordering: handlers are called in list order, so put the guard *first* among the callbacks of
the outermost call (``agent.stream(..., config={"callbacks": [guard]})``): LangGraph's
``stream_mode="messages"`` handler is appended after the caller's callbacks, so a flagged
chunk is stopped before it is emitted there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult

from ..errors import InputError
from ..policy import Decision, GuardPolicy, StreamJudge
from ..runtime.language import policy_option
from ..runtime.manifest import point_option
from ._common import (
    DEFAULT_REFUSAL,
    FailMode,
    GuardConfigError,
    GuardEvent,
    GuardrailViolation,
    Stage,
    VerdictHook,
    call_hook,
    describe,
    load_guard,
    render_prompt,
    validate_budget,
    validate_roles,
    validate_thresholds,
)

if TYPE_CHECKING:
    from ..runtime import Guard, Verdict

logger = logging.getLogger("guard_plugins.langchain")


@dataclass
class _Run:
    """Per-LLM-run state (keyed by ``run_id``)."""

    context: str                       # prompt context handed to the output classifier
    judge: StreamJudge | None = None   # the policy's stream judge, created on the first chunk
    chars: int = 0                     # output characters fed so far
    verdict: Verdict | None = None     # last verdict seen
    blocked: bool = False
    failed: bool = False               # the guard failed on this run (fail-open: rest unchecked)
    error: Exception | None = None     # that failure
    lock: threading.Lock = field(default_factory=threading.Lock)


class ConstitutionalGuard(BaseCallbackHandler):
    """Input and streaming-output Constitutional Classifier guard as a LangChain callback.

    Args:
        guard: a loaded :class:`~guard_plugins.runtime.Guard`, a model folder path, or
            ``None`` for the embedded default models (loaded now, so a missing or tampered
            model fails at construction, not mid-request).
        thresholds: overrides of the models' calibrated thresholds. Keys: ``"input"``,
            ``"output"`` or a restricted category id; values in [0, 1]. When the handler loads
            the models (``guard`` is ``None`` or a path) they go to ``Guard.load`` and the
            runtime applies them natively (category thresholds per input window). With a
            loaded ``Guard``, ``"input"``/``"output"`` are applied to its verdicts
            (``flagged = score >= t``; the score is the window maximum / stream running
            maximum, so this is exact) and category keys are refused (load the Guard with
            ``category_thresholds`` instead).
        fail_mode: ``"closed"`` (default): if the guard itself fails (any exception while
            scoring), the content is blocked with a :class:`GuardrailViolation` whose
            ``verdict`` is ``None`` and ``error`` is the failure. ``"open"``: the failure is
            logged and the content passes.
        scan_roles: message roles the input guard scores (``None``: every role; the
            conversation is rendered in order with ``runtime.text.render_messages``).
        scan_input / scan_output: turn either guard off.
        refusal: refusal text carried by every :class:`GuardrailViolation` (``.refusal``).
        on_verdict: called with a :class:`GuardEvent` for each input verdict, each finished or
            blocked output, and each guard failure (exceptions in the hook are logged and
            ignored).
        max_input_tokens: the input guard's size budget in guard tokens (``"default"``: the
            Guard's own, 16,384 unless it was loaded otherwise; ``None``: no limit).
        on_oversize: ``"reject"`` (the Guard's default): a prompt over the budget raises
            :class:`GuardrailViolation` (stage ``"input"``, ``verdict`` ``None``, ``error`` the
            :class:`~guard_plugins.errors.InputTooLargeError`) whatever ``fail_mode`` says,
            before the model is called; ``"scan"``: score it whole. ``None``: the Guard's own.
        window_cache_mb: when the handler loads the models, the bound of the input guard's
            window-score cache (``"default"``: 32 MB; ``0``: off). A chat sends its whole
            history with every call; the cache keeps the scores of the unchanged turns
            (``runtime/window_cache.py``), with the same verdicts as without it. For a loaded
            ``Guard``, pass it to ``Guard.load`` instead.
        unvalidated_language: when the handler loads the models, what a prompt in a language
            the input model was not validated on does (``"default"``: the runtime's
            ``"score"``: scored as usual, the verdict's notes say so; ``"flag"``: blocked;
            ``"allow"``: the input guard's verdict is not applied when no part of the prompt is
            in a validated language, the output guard still watches the answer). The input
            verdict's ``language`` and ``language_validated`` say what was found
            (docs/operations.md, "Languages"). For a loaded ``Guard``, pass it to
            ``Guard.load`` instead.
        operating_point: when the handler loads the models, the named threshold of both
            manifests (``"standard"``, the shipped default: at most 1 % of the real benign calib
            traffic flagged; ``"strict"``: at most 1 % of hard benign English traffic flagged,
            mean over strata; ``"balanced"``: best F1 on held-back real data; ``None``: the
            manifests' default). ``thresholds`` override it. For a loaded
            ``Guard``, pass it to ``Guard.load`` instead.
    """

    raise_error: bool = True
    run_inline: bool = True

    def __init__(
        self,
        guard: Guard | str | None = None,
        *,
        thresholds: Mapping[str, float] | None = None,
        fail_mode: FailMode = "closed",
        scan_roles: Collection[str] | None = None,
        scan_input: bool = True,
        scan_output: bool = True,
        refusal: str = DEFAULT_REFUSAL,
        on_verdict: VerdictHook | None = None,
        max_input_tokens: int | None | Literal["default"] = "default",
        on_oversize: Literal["reject", "scan"] | None = None,
        window_cache_mb: float | None | Literal["default"] = "default",
        unvalidated_language: Literal["score", "flag", "allow", "default"] = "default",
        operating_point: str | None = None,
    ) -> None:
        super().__init__()
        if fail_mode not in ("closed", "open"):
            raise GuardConfigError(f"fail_mode: expected 'closed' or 'open', got {fail_mode!r}")
        if not isinstance(refusal, str) or not refusal.strip():
            raise GuardConfigError("refusal: expected a non-empty string")
        self.thresholds = validate_thresholds(thresholds)
        self.guard: Guard
        load_options: dict[str, Any] = {} if window_cache_mb == "default" else {"window_cache_mb": window_cache_mb}
        try:
            load_options.update(policy_option(unvalidated_language))
            load_options.update(point_option(operating_point))
        except InputError as exc:
            raise GuardConfigError(str(exc)) from None
        self.guard, self._post_thresholds = load_guard(guard, self.thresholds, **load_options)
        self.fail_mode: FailMode = fail_mode
        self.scan_roles = validate_roles(scan_roles)
        self.scan_input = bool(scan_input)
        self.scan_output = bool(scan_output)
        self.refusal = refusal
        self.on_verdict = on_verdict
        budget = validate_budget(max_input_tokens, on_oversize)
        # every decision goes through the policy the LiteLLM integration uses (guard_plugins.policy)
        self.policy = GuardPolicy(guard=self.guard, fail_closed=fail_mode == "closed",
                                  thresholds=self._post_thresholds, log_errors=False,
                                  max_input_tokens=budget.get("max_input_tokens", "default"),
                                  on_oversize=budget.get("on_oversize"))
        self._runs: dict[UUID, _Run] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    @property
    def active_runs(self) -> int:
        """LLM runs currently tracked (0 once every run has ended or failed)."""
        with self._lock:
            return len(self._runs)

    def _settle(self, stage: Stage, run_id: UUID, decision: Decision, where: str,
                streamed: bool = False, chars: int = 0) -> None:
        """Act on one final decision: hook event, then raise a violation or let it pass."""
        if decision.reason in ("guard_error", "guard_error_open"):
            self._failure(stage, run_id, decision.exc or RuntimeError(decision.error), streamed, chars)
            return
        if decision.reason == "too_large":  # a size policy, not a guard failure
            call_hook(self.on_verdict, GuardEvent(stage, run_id, None, True, error=decision.exc))
            raise GuardrailViolation(f"{stage} blocked {where}: {decision.error}", stage=stage,
                                     verdict=None, run_id=run_id, refusal=self.refusal,
                                     error=decision.exc, reason="too_large") from decision.exc
        verdict = decision.verdict
        assert verdict is not None
        call_hook(self.on_verdict, GuardEvent(stage, run_id, verdict, decision.blocked, streamed, chars))
        if decision.blocked:
            raise self._violation(stage, run_id, verdict, where)

    def _failure(self, stage: Stage, run_id: UUID | None, exc: BaseException, streamed: bool = False,
                 chars: int = 0) -> None:
        """Fail closed (raise) or fail open (log) after the guard itself failed."""
        blocked = self.fail_mode == "closed"
        call_hook(self.on_verdict, GuardEvent(stage, run_id, None, blocked, streamed, chars, exc))
        if blocked:
            raise GuardrailViolation(
                f"{stage} guard failed ({type(exc).__name__}: {exc}); blocked (fail_mode='closed')",
                stage=stage, verdict=None, run_id=run_id, refusal=self.refusal, error=exc,
                reason="guard_error") from exc
        logger.warning("%s guard failed (%s: %s); content passed unchecked (fail_mode='open')",
                       stage, type(exc).__name__, exc)

    def _violation(self, stage: Stage, run_id: UUID, verdict: Verdict, where: str) -> GuardrailViolation:
        return GuardrailViolation(f"{stage} blocked {where}: {describe(verdict)}", stage=stage,
                                  verdict=verdict, run_id=run_id, refusal=self.refusal)

    def _start(self, run_id: UUID, scan_text: str, context: str) -> None:
        if self.scan_input and scan_text.strip():
            self._settle("input", run_id, self.policy.check_input(scan_text), "before the model was called")
        if self.scan_output:
            with self._lock:
                self._runs[run_id] = _Run(context=context)

    # ---------------------------------------------------------------- callbacks
    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *,
                            run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Score the conversation; raise before the model runs if it is flagged."""
        # LangChain opens one run per message list; a run's list is messages[0].
        conv = messages[0] if messages else []
        try:
            scan_text, context = render_prompt(conv, self.scan_roles)
        except Exception as exc:
            self._failure("input", run_id, exc)
            scan_text, context = "", ""
        self._start(run_id, scan_text, context)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Completion-style LLMs: the prompt string is scored as is (roles do not apply)."""
        prompt = prompts[0] if prompts else ""
        self._start(run_id, prompt, prompt)

    def on_llm_new_token(self, token: str, *, chunk: GenerationChunk | ChatGenerationChunk | None = None,
                         run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Feed the chunk to this run's stream session; raise as soon as the verdict flips."""
        if not self.scan_output:
            return
        text = token if isinstance(token, str) else ""
        if not text and isinstance(chunk, ChatGenerationChunk):
            text = str(chunk.message.text)  # content given as blocks (e.g. Anthropic-style)
        if not text:
            return  # tool-call deltas and empty keep-alives carry no text
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:  # handler attached after the start (unusual): no prompt context
                run = self._runs[run_id] = _Run(context="")
        failure: Exception | None = None
        with run.lock:
            if run.blocked:  # a model that keeps streaming after we raised
                raise self._violation("output", run_id, run.verdict, "(stream already halted)")  # type: ignore[arg-type]
            if run.failed:  # fail-open after a guard failure: the rest passes unchecked
                return
            run.chars += len(text)
            if run.judge is None:
                run.judge = self.policy.open_stream(run.context)
            decision = run.judge.feed(text)
            if run.judge.error is not None:
                run.failed, run.error, failure = True, run.judge.error, run.judge.error
            else:
                verdict = decision.verdict
                run.verdict = verdict
                run.blocked = decision.blocked
        if failure is not None:
            self._failure("output", run_id, failure, streamed=True, chars=run.chars)  # raises if closed
            return
        if run.blocked:  # the run stays tracked (blocked) until LangChain reports its error
            call_hook(self.on_verdict, GuardEvent("output", run_id, verdict, True, True, run.chars))
            raise self._violation("output", run_id, verdict, f"mid-stream after {run.chars} characters")

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, parent_run_id: UUID | None = None,
                   **kwargs: Any) -> None:
        """Finish a streamed run, or score a non-streamed generation whole."""
        run = self._forget(run_id)
        if run is None or not self.scan_output:
            return
        if (run.blocked or run.failed) and run.judge is not None:
            run.judge.close()  # free its cache and stream slot now
        # A model that swallowed our exception and finished anyway is still blocked.
        if run.blocked and run.verdict is not None:
            raise self._violation("output", run_id, run.verdict, "(stream already halted)")
        if run.failed:
            if self.fail_mode == "closed" and run.error is not None:
                raise GuardrailViolation(
                    f"output guard failed ({type(run.error).__name__}: {run.error}); blocked (fail_mode='closed')",
                    stage="output", verdict=None, run_id=run_id, refusal=self.refusal, error=run.error,
                    reason="guard_error")
            return
        if run.judge is not None:
            decision = run.judge.finish()
            if run.judge.error is not None:
                self._failure("output", run_id, run.judge.error, streamed=True, chars=run.chars)
                return
            self._settle("output", run_id, decision, "at the end of the stream", True, run.chars)
            return
        for generations in response.generations:
            for gen in generations:
                text = gen.text
                if not text:
                    continue
                self._settle("output", run_id, self.policy.check_output(run.context, text),
                             "in the generation", chars=len(text))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None,
                     **kwargs: Any) -> None:
        """Drop the run's session (the error, possibly our own violation, propagates anyway)."""
        run = self._forget(run_id)
        if run is not None and run.judge is not None:
            run.judge.close()  # free its cache and stream slot now

    def _forget(self, run_id: UUID) -> _Run | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def __repr__(self) -> str:
        return (f"ConstitutionalGuard(fail_mode={self.fail_mode!r}, thresholds={self.thresholds!r}, "
                f"scan_input={self.scan_input}, scan_output={self.scan_output})")
