"""LiteLLM SDK: ``guarded_completion`` / ``guarded_acompletion`` and the guarded streams.

SDK callbacks cannot abort a stream, so these wrap the call: input check before it, the
returned stream halted at the flagged chunk, whole responses checked. Also the per-process
Guard cache (:func:`load_guard`) that the proxy guardrail shares.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import litellm
from litellm.types.utils import ModelResponse

from ..errors import BlockedError, InputError
from ..runtime.language import policy_option
from ..runtime.manifest import point_option
from ..policy import Decision, GuardPolicy, StreamJudge, StreamLease
from .coalesce import batches
from .formats import (
    _chat_response_texts,
    _chunk_parts,
    _withhold_chat,
    content_filter_chunk,
    error_body,
    request_prompt,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Guard

logger = logging.getLogger("guard_plugins.litellm")


class ContentBlockedError(BlockedError):
    """A prompt (``stage="input"``) or a whole response (``stage="output"``) was blocked.

    A :class:`~guard_plugins.errors.BlockedError` (``stage``, ``verdict``, ``reason``,
    ``error``) that also carries the policy's ``decision``. ``verdict`` is ``None`` when the
    block comes from a guard failure under ``fail_closed`` (``reason == "guard_error"``) or a
    prompt over the size budget (``reason == "too_large"``).
    """

    def __init__(self, message: str, *, stage: Literal["input", "output"], decision: Decision):
        super().__init__(message, stage=stage, verdict=decision.verdict, reason=decision.reason,
                         error=decision.exc)
        self.decision = decision

    def to_openai_error(self) -> dict[str, Any]:
        """OpenAI-style error body (what the proxy returns with HTTP 400)."""
        return error_body(self.stage, self.decision)


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
               max_batch_tokens: int | None = None,
               max_streams: int | None | Literal["default"] = "default",
               stream_wait_s: float | None = None, batch_streams: bool = False,
               window_cache_mb: float | None | Literal["default"] = "default",
               unvalidated_language: Literal["score", "flag", "allow", "default"] = "default",
               decode_outputs: bool = True, operating_point: str | None = None) -> Guard:
    """``Guard.load(...)`` cached per process and per options (the proxy and SDK share one).

    ``path`` None means the embedded default models; thresholds ``None`` keep the
    manifests' calibrated values; ``max_streams`` / ``stream_wait_s`` ``"default"`` / ``None``
    keep the runtime's (64 streams, 60 s); ``window_cache_mb`` ``"default"`` keeps 32 MB;
    ``unvalidated_language`` (``"score"``, ``"flag"`` or ``"allow"``; ``"default"``: the
    runtime's ``"score"``) decides what a prompt in a language the input model was not
    validated on does (docs/operations.md, "Languages"). ``operating_point`` (``"standard"``,
    ``"strict"``, ``"balanced"``; ``None``: the manifests' default) picks a named threshold of both
    manifests; explicit thresholds win (docs/operations.md, "Thresholds and operating
    points"). Raises ``ModelLoadError`` as the runtime does, ``InputError`` for a bad option
    value (``OperatingPointError``, both, for a point the manifests lack).
    """
    from ..runtime import Guard

    for name, val in (("input_threshold", input_threshold), ("output_threshold", output_threshold)):
        if val is not None and not 0.0 <= float(val) <= 1.0:
            raise InputError(f"{name} must be in [0, 1], got {val!r}")
    language = policy_option(unvalidated_language)  # InputError for anything but a policy or "default"
    point = point_option(operating_point)  # OperatingPointError for anything but a name or None
    spec = _providers_spec(providers)
    cats = tuple(sorted((category_thresholds or {}).items()))
    key = (None if path is None else os.fspath(path), spec, input_threshold, output_threshold,
           cats, intra_op_threads, bool(batching), max_batch_tokens, max_streams, stream_wait_s,
           bool(batch_streams), window_cache_mb, language.get("unvalidated_language"), bool(decode_outputs),
           operating_point)
    with _GUARDS_LOCK:
        guard = _GUARDS.get(key)
        if guard is None:
            extra: dict[str, Any] = {}
            if max_streams != "default":
                extra["max_streams"] = max_streams
            if stream_wait_s is not None:
                extra["stream_wait_s"] = stream_wait_s
            if batch_streams:
                extra["batch_streams"] = True
            if window_cache_mb != "default":
                extra["window_cache_mb"] = window_cache_mb
            extra.update(language)
            if not decode_outputs:
                extra["decode_outputs"] = False
            extra.update(point)
            guard = Guard.load(key[0], list(spec) if isinstance(spec, tuple) else spec,
                               input_threshold=input_threshold, output_threshold=output_threshold,
                               category_thresholds=dict(cats) or None,
                               intra_op_threads=intra_op_threads, batching=bool(batching),
                               max_batch_tokens=max_batch_tokens, **extra)
            _GUARDS[key] = guard
        return guard


class _ChatStreamState:
    """Per-choice stream judges for one chat stream."""

    def __init__(self, policy: GuardPolicy, prompt: str, lease: StreamLease | None = None):
        self.policy = policy
        self.prompt = prompt
        self.lease = lease  # one stream slot for the whole response (async paths)
        self.judges: dict[int, StreamJudge] = {}
        self.halted_by: StreamJudge | None = None  # the judge that halted the stream

    def judge(self, index: int) -> StreamJudge:
        j = self.judges.get(index)
        if j is None:
            j = self.judges[index] = self.policy.open_stream(self.prompt, self.lease)
        return j

    def close(self) -> None:
        """Free the judges' caches and stream slots (the response ended or was cut)."""
        for j in self.judges.values():
            j.close()

    @property
    def decision(self) -> Decision:
        if self.halted_by is not None:
            return self.halted_by.decision
        for j in self.judges.values():
            if j.decision.blocked:
                return j.decision
        return Decision(blocked=False)

    def step(self, chunk: Any) -> bool:
        """Score one chunk; True when the stream must halt (the chunk is not to be sent)."""
        for index, text, finishing in _chunk_parts(chunk):
            j = self.judge(index)
            if (text and j.feed(text).blocked) or (finishing and j.finish().blocked):
                self.halted_by = j
                return True
        return False

    def step_many(self, chunks: Sequence[Any]) -> int | None:
        """:meth:`step` for several chunks, one graph call per choice: the index of the
        chunk where the stream must halt (that chunk and the rest are not to be sent), or
        ``None``. Decides as ``step`` would chunk after chunk: the same halting chunk, the same
        judge recorded as the one that halted, and no judge kept for a choice that ``step``
        would not have reached before the halt. (A guard error is the exception: it decides
        from the first chunk of the call, see :meth:`StreamJudge.feed_many`.)"""
        plans: dict[int, dict[str, Any]] = {}   # choice -> its texts (and where), its finish
        new: dict[int, tuple[int, int]] = {}    # choice first seen in this call -> where
        for ci, chunk in enumerate(chunks):
            for pi, (index, text, finishing) in enumerate(_chunk_parts(chunk)):
                plan = plans.get(index)
                if plan is None:
                    plan = plans[index] = {"texts": [], "at": [], "finish": None}
                    if index not in self.judges:
                        new[index] = (ci, pi)
                if plan["finish"] is not None:
                    continue  # a finished choice's judge scores nothing more
                if text:
                    plan["texts"].append(text)
                    plan["at"].append((ci, pi))
                if finishing:
                    plan["finish"] = (ci, pi)
        halt: tuple[int, int] | None = None
        for index, plan in plans.items():
            j = self.judge(index)
            at = next((where for where, d in zip(plan["at"], j.feed_many(plan["texts"])) if d.blocked),
                      None)
            if at is None and plan["finish"] is not None and j.finish().blocked:
                at = plan["finish"]
            if at is not None and (halt is None or at < halt):
                halt, self.halted_by = at, j
        if halt is None:
            return None
        for index, where in new.items():  # step would have stopped before reaching these
            if where > halt:
                self.judges.pop(index).close()
        return halt[0]

    def end(self) -> bool:
        """Upstream ended: finish every open judge; True when that flagged the stream."""
        return any(j.finish().blocked for j in list(self.judges.values()))


class _GuardedBase:
    """What the sync and async guarded streams share: the upstream, the judges, the state."""

    def __init__(self, upstream: Any, state: _ChatStreamState):
        self._upstream = upstream
        self._state = state
        self.halted = False
        self._it = self._run()

    def _run(self) -> Any:  # pragma: no cover - defined by the subclasses
        raise NotImplementedError

    @property
    def decision(self) -> Decision:
        return self._state.decision


class GuardedStream(_GuardedBase):
    """A chat stream from :func:`guarded_completion`: yields the upstream chunks until the
    output guard flags, then one ``finish_reason="content_filter"`` chunk, then stops.

    ``decision`` holds the latest decision, ``halted`` whether the stream was cut.
    """

    def _run(self) -> Iterator[Any]:
        last = None
        try:
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
        finally:
            self._state.close()

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


class GuardedAsyncStream(_GuardedBase):
    """Async twin of :class:`GuardedStream` (from :func:`guarded_acompletion`).

    Guard calls run in a worker thread so the event loop keeps serving other streams.
    """

    async def _run(self) -> AsyncIterator[Any]:
        last = None
        # the stream slot is awaited here, so that waiting for one holds no worker thread
        lease = self._state.lease = await self._state.policy.areserve_stream()
        # chunks that arrive while the guard is busy are scored together (.coalesce)
        pump = batches(self._upstream)
        try:
            async for batch in pump:
                halt = await asyncio.to_thread(self._state.step_many, batch)
                for chunk in batch if halt is None else batch[:halt]:
                    yield chunk
                if halt is not None:
                    self.halted = True
                    await pump.aclose()
                    await self._aclose()
                    yield content_filter_chunk(batch[halt], list(self._state.judges))
                    return
                last = batch[-1]
            if await asyncio.to_thread(self._state.end):
                self.halted = True
                yield content_filter_chunk(last, list(self._state.judges))
        finally:
            # the slot and the caches first: the await below may be cancelled
            self._state.close()
            lease.release()
            await pump.aclose()

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

    async def aclose(self) -> None:
        """Stop early (the caller no longer wants the rest): the stream slot and the judges'
        caches are given back and the task reading the upstream is stopped."""
        await self._it.aclose()


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
