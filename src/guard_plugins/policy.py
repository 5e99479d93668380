"""The decision layer both integrations share: verdict -> block / pass, fail closed or open.

Framework-free (imports neither LangChain nor LiteLLM). :class:`GuardPolicy` turns the runtime's
verdicts into :class:`Decision` s (thresholds applied, the input size budget passed on, guard
failures handled per ``fail_closed``, an oversize prompt blocked whatever ``fail_closed`` says);
:class:`StreamJudge` watches one response stream with it (sticky once blocked). The LiteLLM
proxy guardrail, the LiteLLM SDK wrappers and the LangChain callback all decide through these,
so the same content gets the same decision everywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import InputError, InputTooLargeError, budget_overrides

if TYPE_CHECKING:  # the runtime is imported lazily (it loads onnxruntime)
    from .runtime import Verdict

logger = logging.getLogger("guard_plugins.policy")

OutputAction = Literal["replace", "block"]
Reason = Literal["flagged", "guard_error", "ok", "guard_error_open", "too_large"]


def apply_thresholds(verdict: Verdict, thresholds: Mapping[str, float]) -> Verdict:
    """Re-decide ``verdict.flagged`` with a kind-level threshold (``"input"`` / ``"output"``).

    Used when an integration is handed an already loaded Guard. ``score`` is the maximum
    over input windows or the running maximum of a stream, so ``score >= t`` is the exact
    decision for one threshold per kind. The override is recorded in ``notes``. A verdict
    the ``unvalidated_language`` option decided (``language_action`` set) keeps its ``flagged``.
    """
    t = thresholds.get(verdict.kind)
    if t is None:
        return verdict
    note = f"threshold {t:g} from the integration's thresholds[{verdict.kind!r}] (was {verdict.threshold:g})"
    action = getattr(verdict, "language_action", None)
    if action is not None:  # the unvalidated_language option decided, not the score
        return dataclasses.replace(verdict, threshold=t, notes=(
            *tuple(verdict.notes), f"{note}; flagged stays as unvalidated_language={action!r} decided"))
    return dataclasses.replace(verdict, flagged=bool(verdict.score >= t), threshold=t,
                               notes=(*tuple(verdict.notes), note))


@dataclass(frozen=True)
class Decision:
    """What the policy decided about one piece of content."""

    blocked: bool
    verdict: Verdict | None = None
    reason: Reason = "ok"
    error: str | None = None
    exc: BaseException | None = field(default=None, compare=False, repr=False)
    """The exception behind a ``guard_error`` / ``guard_error_open`` / ``too_large`` decision."""

    def to_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "blocked": self.blocked,
            "reason": self.reason,
            "category": v.category if v is not None else None,
            "score": round(float(v.score), 6) if v is not None else None,
            "threshold": float(v.threshold) if v is not None else None,
            "language": getattr(v, "language", None) if v is not None else None,
            "error": self.error,
        }


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
        thresholds: ``{"input": t, "output": t}`` applied to the Guard's verdicts
            (:func:`apply_thresholds`); empty: the Guard's own thresholds decide.
        log_errors: log guard failures here (an integration that logs them itself says no).
    """

    guard: Any
    fail_closed: bool = True
    output_action: OutputAction = "replace"
    replacement_text: str = ""
    max_input_tokens: int | None | Literal["default"] = "default"
    on_oversize: Literal["reject", "scan"] | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    log_errors: bool = True
    _stats: dict[str, int] = field(default_factory=lambda: {"errors": 0}, init=False, repr=False)
    _overrides: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.output_action not in ("replace", "block"):
            raise InputError(f"output_action must be 'replace' or 'block', got {self.output_action!r}")
        self._overrides = budget_overrides(self.max_input_tokens, self.on_oversize)

    def _budget(self) -> dict[str, Any]:
        """Per-call budget overrides for ``Guard.check_input`` (only the ones set)."""
        return self._overrides

    def _too_large(self, exc: InputTooLargeError) -> Decision:
        if self.log_errors:
            logger.info("guard-plugins input rejected: %s", exc)
        return Decision(blocked=True, reason="too_large", error=str(exc), exc=exc)

    # -- verdict -> decision
    def _apply(self, verdict: Verdict) -> Decision:
        if self.thresholds:
            verdict = apply_thresholds(verdict, self.thresholds)
        return Decision(blocked=bool(verdict.flagged), verdict=verdict,
                        reason="flagged" if verdict.flagged else "ok")

    def _error(self, stage: str, exc: BaseException) -> Decision:
        self._stats["errors"] += 1
        msg = f"{type(exc).__name__}: {exc}"
        if self.fail_closed:
            if self.log_errors:
                logger.error("guard-plugins %s check failed, failing closed: %s", stage, msg)
            return Decision(blocked=True, reason="guard_error", error=msg, exc=exc)
        if self.log_errors:
            logger.error("guard-plugins %s check failed, failing OPEN (content passes): %s", stage, msg)
        return Decision(blocked=False, reason="guard_error_open", error=msg, exc=exc)

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

    def open_stream(self, prompt: str, lease: StreamLease | None = None) -> StreamJudge:
        """A judge for one response stream. Without ``lease`` its runtime stream takes a
        stream slot itself (waiting for one when the guard's ``max_streams`` are out; on an
        event loop's thread it does not wait); with one, it uses the lease's slot."""
        return StreamJudge(self, prompt, lease)

    async def areserve_stream(self) -> StreamLease:
        """Wait for a stream slot without blocking the event loop (async integrations call
        this before a response streams, then open its judges with the lease and release the
        lease when the response ends). A guard that cannot give one (``GuardBusyError``
        after ``stream_wait_s``) gives a lease holding that error: judges opened with it
        decide per ``fail_closed``."""
        slots = getattr(getattr(self.guard, "output", None), "slots", None)
        if slots is None:
            return StreamLease()
        try:
            return StreamLease(slot=await slots.aacquire())
        except Exception as exc:  # noqa: BLE001 - decided by the judges, per fail_closed
            return StreamLease(error=exc)


@dataclass
class StreamLease:
    """A stream slot held for one response (or the error that kept it from being taken)."""

    slot: Any = None
    error: BaseException | None = None

    def release(self) -> None:
        if self.slot is not None:
            self.slot.release()


class StreamJudge:
    """One response stream under watch: a runtime stream session plus the policy.

    Sticky: once it blocks, it stays blocked. A guard error blocks (fail-closed) or turns the
    judge off for the rest of the stream (fail-open).
    """

    def __init__(self, policy: GuardPolicy, prompt: str, lease: StreamLease | None = None):
        self.policy = policy
        self.decision = Decision(blocked=False)
        self.finished = False
        self.chunks = 0        # pieces of text fed
        self.calls = 0         # scoring calls made for them (feed_many scores many in one)
        self.guard_seconds = 0.0
        self.error: BaseException | None = None  # the guard failure, once one happened
        self._off = False
        try:
            if lease is None:
                self._session = policy.guard.stream(prompt)
            elif lease.error is not None:
                raise lease.error
            else:
                self._session = policy.guard.stream(prompt, slot=lease.slot)
        except Exception as exc:  # noqa: BLE001
            self._session = None
            self._fail(exc)

    def _fail(self, exc: BaseException) -> Decision:
        self.error = exc
        d = self.policy._error("output-stream", exc)
        if d.blocked:
            self.decision = d
        else:
            self._off = True
        return self.decision

    def _step(self, fn: Any, *args: Any) -> Decision:
        if self.decision.blocked or self._off or self._session is None:
            return self.decision
        self.calls += 1
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
        return self.feed_many([text])[0]

    def feed_many(self, texts: list[str]) -> list[Decision]:
        """Score several pieces of response text in one graph call: the decision after each,
        the same as ``[feed(t) for t in texts]`` (sticky from the first block on; an empty
        piece keeps the decision before it). For a stream that fell behind: the text that
        waited is caught up at the cost of one call. A guard error cannot be pinned to one
        piece: every piece of the call gets the error's decision (fail-closed: blocked from
        the first piece on; fail-open: the judge turns off)."""
        texts = list(texts)
        fed = [t for t in texts if t] if not self.finished else []
        self.chunks += len(fed)
        if not fed or self.decision.blocked or self._off or self._session is None:
            return [self.decision] * len(texts)
        self.calls += 1
        t0 = time.perf_counter()
        try:
            verdicts = self._session.feed_many(fed)
        except Exception as exc:  # noqa: BLE001
            return [self._fail(exc)] * len(texts)
        finally:
            self.guard_seconds += time.perf_counter() - t0
        out: list[Decision] = []
        it = iter(verdicts)
        for t in texts:
            if t and not self.decision.blocked:  # sticky: nothing changes after a block
                self.decision = self.policy._apply(next(it))
            out.append(self.decision)
        return out

    def finish(self) -> Decision:
        """End of the response: score whatever the session still holds."""
        if self.finished:
            return self.decision
        self.finished = True
        return self._step(self._session.finish if self._session is not None else None)

    def close(self) -> None:
        """Abandon the stream (halted, failed or cut by the client): free its cache and slot."""
        self.finished = True
        close = getattr(self._session, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001 - freeing must not mask what ended the stream
                logger.debug("closing the output stream failed", exc_info=True)
