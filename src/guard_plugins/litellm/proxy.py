"""LiteLLM proxy: :class:`ConstitutionalGuardrail`, the ``CustomGuardrail`` of ``config.yaml``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.guardrails import GuardrailEventHooks
from litellm.types.utils import ModelResponse, TextCompletionResponse

from ..errors import InputError
from ..runtime.language import policy_option
from ..policy import Decision, GuardPolicy, OutputAction, StreamJudge, StreamLease
from .formats import (
    ANTHROPIC_STOP_REASON,
    CONTENT_FILTER,
    _anthropic_stop_frames,
    _anthropic_text,
    _chat_response_texts,
    _responses_incomplete_event,
    _responses_text,
    _route,
    _sse_data,
    _sse_frames,
    _withhold_chat,
    content_filter_chunk,
    error_body,
    request_prompt,
)
from .coalesce import MAX_BATCH, batches
from .sdk import _ChatStreamState, load_guard

logger = logging.getLogger("guard_plugins.litellm")

#: Routes whose requests this guardrail sees (pre/post call and streaming hooks), as
#: checked against litellm 1.108.7 by tests/test_litellm_proxy.py.
COVERED_ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/responses")
#: Routes that never reach a guardrail's hooks in the proxy: output there is unguarded.
BYPASS_NOTE = (
    "pass-through routes (/anthropic/*, /openai/*, /vertex_ai/*, /bedrock/* ...), /v1/realtime "
    "and batch/file endpoints do not go through CustomGuardrail stream hooks: their output is "
    "NOT checked by this guardrail"
)


def _http_400(stage: str, decision: Decision) -> Exception:
    from fastapi import HTTPException

    return HTTPException(status_code=400, detail=error_body(stage, decision))


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
    - ``max_streams`` (default 64; ``null``: no cap): responses streamed under watch at once,
      each holding the output guard's KV cache (bounded memory). Beyond it a new stream waits
      for a slot, holding no thread (back-pressure), up to ``stream_wait_s`` seconds (default
      60); then it is a guard error: halted at once under ``fail_closed``, passed unwatched
      otherwise.
    - ``stream_batch`` (default 64): at most this many chunks of one stream, those that
      arrived while the guard was busy, are scored together in one call (same decisions as
      one by one; :mod:`.coalesce`); ``1`` scores every chunk on its own.
    - ``batch_streams`` (default false): the streams share output-guard calls
      (``runtime/batcher.py``; for GPUs: on 2 CPU cores it added latency).
    - ``window_cache_mb`` (default 32; ``0``: off): bound of the input guard's cache of window
      scores. Chat clients resend the whole conversation with every request; the unchanged
      turns are then not scored again (same verdicts; ``runtime/window_cache.py``). Its hits
      and misses are logged at INFO every ``cache_log_s`` seconds (default 60; ``0``: never)
      while requests come in, and :meth:`cache_stats` returns them.
    - ``decode_outputs`` (default true): base64/hex, rot13 and reversed spans of a response are
      decoded while it streams and scored in parallel (``runtime/normalize.py``); ``false``
      turns it off. Look-alike letters, leetspeak and spaced letters are always folded.
    - ``unvalidated_language`` (default ``score``): a prompt in a language the input model was
      not validated on (the manifest's ``languages.validated``; English for the shipped model)
      is scored as usual and the verdict's notes say so (``score``), blocked (``flag``: HTTP
      400 like any flagged prompt), or not blocked by the input guard when no part of it is
      in a validated language (``allow``: the output guard still watches the answer). The
      input verdict's ``language`` is in the logs and error details (docs/operations.md,
      "Languages").
    - ``operating_point`` (default: the manifests' ``default_operating_point``, ``standard``
      for the shipped models: at most 1 % of the real benign calib traffic flagged): a named
      threshold of both manifests; ``strict`` (at most 1 % of hard benign English traffic
      flagged, mean over strata) or ``balanced`` (best F1 on held-back real data); ``input_threshold`` / ``output_threshold`` override it (docs/operations.md,
      "Thresholds and operating points"). An unknown name stops the proxy at startup, even
      with ``fail_closed: false`` (a configuration error, not a guard failure).
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
        max_streams: int | None | Literal["default"] = "default",
        stream_wait_s: float | None = None,
        stream_batch: int | None = MAX_BATCH,
        batch_streams: bool = False,
        window_cache_mb: float | None | Literal["default"] = "default",
        cache_log_s: float = 60.0,
        unvalidated_language: Literal["score", "flag", "allow", "default"] = "default",
        decode_outputs: bool = True,
        operating_point: str | None = None,
        guard: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if stream_batch is None:  # ``stream_batch: null`` in config.yaml: the default
            stream_batch = MAX_BATCH
        if isinstance(stream_batch, bool) or not isinstance(stream_batch, int) or stream_batch < 1:
            raise InputError(f"guardrail option stream_batch must be an integer >= 1, got {stream_batch!r}")
        self.stream_batch = stream_batch
        if isinstance(cache_log_s, bool) or not isinstance(cache_log_s, (int, float)) or cache_log_s < 0:
            raise InputError(f"guardrail option cache_log_s must be a number >= 0, got {cache_log_s!r}")
        self.cache_log_s = float(cache_log_s)
        language = policy_option(unvalidated_language)  # ``null`` in config.yaml: the default
        unvalidated_language = language.get("unvalidated_language", "default")
        if guard is not None and (language or operating_point is not None):
            raise InputError("guardrail options unvalidated_language and operating_point configure "
                             "loading: pass them to Guard.load(...) for a loaded guard")
        self._cache_logged = time.monotonic()
        self.fail_closed = bool(fail_closed)
        self.policy: GuardPolicy | None
        try:
            if guard is None:
                guard = load_guard(models_path, providers, input_threshold=input_threshold,
                                   output_threshold=output_threshold,
                                   category_thresholds=category_thresholds,
                                   intra_op_threads=intra_op_threads, batching=batching,
                                   max_batch_tokens=max_batch_tokens, max_streams=max_streams,
                                   stream_wait_s=stream_wait_s, batch_streams=bool(batch_streams),
                                   window_cache_mb=window_cache_mb,
                                   unvalidated_language=unvalidated_language,
                                   decode_outputs=bool(decode_outputs),
                                   operating_point=operating_point)
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
        self._log_cache()
        if decision.blocked:
            raise _http_400("input", decision)

    def cache_stats(self) -> Any:
        """The input guard's window-cache counters (``runtime.CacheStats``), or ``None``."""
        stats = getattr(self.policy.guard, "cache_stats", None) if self.policy is not None else None
        return stats() if callable(stats) else None

    def _log_cache(self) -> None:
        if not self.cache_log_s or time.monotonic() - self._cache_logged < self.cache_log_s:
            return
        self._cache_logged = time.monotonic()
        st = self.cache_stats()
        if st is not None:
            logger.info("guard-plugins window cache: %d hits, %d misses (hit rate %.1f %%), "
                        "%d entries, %.1f of %.1f MB, %d evictions", st.hits, st.misses,
                        100 * st.hit_rate, st.entries, st.bytes / 2**20, st.max_bytes / 2**20,
                        st.evictions)

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
        # a stream slot first (back-pressure when max_streams responses are being watched),
        # awaited here so that waiting holds no worker thread
        lease = await self.policy.areserve_stream()
        if lease.slot is not None and lease.slot.waited_s > 0:
            logger.warning("guard-plugins: a stream waited %.2f s for an output-stream slot "
                           "(max_streams responses were being watched)", lease.slot.waited_s)
        halter = _ProxyStreamHalter(self.policy, prompt, lease)
        # chunks that arrive while the guard is busy are scored together (..coalesce)
        pump = batches(response, self.stream_batch)
        try:
            async for batch in pump:
                out, stop = await asyncio.to_thread(halter.step_many, batch)
                for item in out:
                    yield item
                if stop:
                    self._record(request_data, "output", halter.decision)
                    return
            for item in await asyncio.to_thread(halter.end):
                yield item
            self._record(request_data, "output", halter.decision)
        finally:
            # the slot and the caches first: the awaits below may be cancelled (a client that
            # went away), and nothing else would give the slot back
            halter.close()
            lease.release()
            await pump.aclose()  # stops the reader before the upstream is closed below
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


def _event_type(item: Any) -> str | None:
    etype = getattr(item, "type", None)
    return None if etype is None else str(getattr(etype, "value", etype))


def _is_chat_chunk(item: Any) -> bool:
    """What :meth:`_ProxyStreamHalter.step` treats as a chat (or text-completion) chunk."""
    if isinstance(item, (bytes, bytearray)):
        return False
    etype = _event_type(item)
    return not (etype is not None and etype.startswith("response.")) and hasattr(item, "choices")


class _ProxyStreamHalter:
    """Stream-format-aware halting for the proxy hook.

    Chat chunks (``ModelResponseStream``), Anthropic SSE bytes (``/v1/messages``) and
    Responses-API events (``/v1/responses``) each get their own end-of-stream marker.
    ``step`` returns ``(items to send, stop)``.
    """

    def __init__(self, policy: GuardPolicy, prompt: str, lease: StreamLease | None = None):
        self.policy = policy
        self.prompt = prompt
        self.lease = lease
        self.chat = _ChatStreamState(policy, prompt, lease)
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
            if self.judge is not None:
                self.judge.close()
            self.judge = self.policy.open_stream(self.prompt, self.lease)
        return self.judge

    def close(self) -> None:
        """Free every judge's cache (the response ended, was halted or was cut)."""
        self.chat.close()
        if self.judge is not None:
            self.judge.close()

    def step(self, chunk: Any) -> tuple[list[Any], bool]:
        if isinstance(chunk, (bytes, bytearray)):
            self.kind = "anthropic"
            return self._step_sse(bytes(chunk))
        etype = _event_type(chunk)
        if etype is not None and etype.startswith("response."):
            self.kind = "responses"
            return self._step_responses(chunk, etype)
        if hasattr(chunk, "choices"):
            self.kind = "chat"
            self._last_chat = chunk
            if self.chat.step(chunk):
                self.halted = True
                return [content_filter_chunk(chunk, list(self.chat.judges))], True
            return [chunk], False
        return [chunk], False  # unknown item: passed through untouched

    def step_many(self, items: list[Any]) -> tuple[list[Any], bool]:
        """:meth:`step` for the items that arrived together. Chat chunks are scored in one
        graph call per choice (same decisions as one by one); other items go one by one."""
        if len(items) > 1 and all(_is_chat_chunk(c) for c in items):
            self.kind = "chat"
            halt = self.chat.step_many(items)
            if halt is None:
                self._last_chat = items[-1]
                return list(items), False
            self._last_chat = items[halt]
            self.halted = True
            return list(items[:halt]) + [content_filter_chunk(items[halt], list(self.chat.judges))], True
        out: list[Any] = []
        for item in items:
            sent, stop = self.step(item)
            out += sent
            if stop:
                return out, True
        return out, False

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
