"""The streaming output guard: a causal classifier with a KV cache over ONNX.

The model sees ``[CLS] prompt[-max_prompt:] [SEP] response...`` and gives a value (pre-sigmoid)
for every response token; the response score is the running maximum of
``sigmoid(value)``. :class:`OutputStream` feeds arbitrary text chunks through an
:class:`~.tokenization.IncrementalTokenizer` and pushes only the new tokens of each chunk
through the cache in one graph call (causal attention: each token's value is the same as in
a one-token-at-a-time pass), so the result does not depend on how the text was chunked.

Exactly so, bit for bit, also for the shipped block-wise int8 graph (``MatMulNBits``): its CPU
kernel computes activation rows in *pairs* and an odd last row with a single-row kernel, and the
two round differently (a token's value moved by up to 0.076 logit with the chunking in
``bench/bench_stream_rows.py``), while a row's result never
depends on what its pair partner holds. So every call of such a graph is made with an **even
number of rows** (``pair_rows``): an odd call gets one padding token after its last row, whose
key/value lands in the next cache position and is overwritten by the next real token. Then a
token's value is the same whether its text came in one chunk or many, was fed alone or with
other chunks (:meth:`OutputStream.feed_many`), streamed or checked whole (:meth:`OutputGuard.check`).

Two cache layouts (docs/ARCHITECTURE.md section 4), told apart by the graph's inputs:

* **shared** (``seqlens_k`` input; the default ``guard-export`` graph): one pre-allocated
  ``[1, heads, max_len, head_dim]`` buffer per key/value, bound through an ``IOBinding`` as
  both ``past_key_values.*`` and ``present.*``, which the graph updates in place: a step
  moves only the new tokens' keys/values.
* **growing** (``attention_mask`` input): ``past`` arrays in, longer ``present`` arrays out.
Past ``max_len`` positions the context is re-primed (:mod:`runtime.windows`) and scoring
goes on; the running maximum is kept.

What the model reads is the response after :class:`~.normalize.StreamNormalizer`
(``normalize_outputs``, default on): look-alike letters, invisible characters, leetspeak and
spaced letters folded, incrementally and exactly under any chunking (the normalised text does
not depend on the chunk boundaries, so neither do the tokens). With ``decode_outputs`` (default
on) it also watches for encoded spans (base64, hex, rot13, reversed text); the decoded text of
each kind is scored in a **parallel stream** (another :class:`OutputStream` over this guard,
same prompt, no decoders of its own) whose running maximum joins the stream's verdict: the
stream is flagged by whichever reads harm first. At most ``max_decoders`` such streams per
response, each opened the first time its kind of span appears and fed only while the span
looks encoded. A decoder stream takes no stream slot (it lives and dies with its parent, so it
can never wait for a slot its parent holds) but holds a KV cache of its own: a response with
``k`` decoders open holds ``k + 1`` caches. ``check`` normalises and decodes the whole response
the same way, so a stream's final verdict still equals ``check``'s.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ..errors import InputError, ModelLoadError
from ._common import even_rows, sigmoid, windowing
from .batcher import StreamBatcher, supports_batching
from .manifest import load_manifest, operating_points, resolve_threshold
from .normalize import DECODERS, StreamNormalizer, merge, normalize
from .session import ProviderSpec, make_session
from .slots import DEFAULT_MAX_STREAMS, DEFAULT_WAIT_S, StreamSlot, StreamSlots
from .text import render_messages
from .tokenization import GuardTokenizer, sanitize
from .verdict import Verdict
from .windows import output_prefix, output_segments

_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}

DEFAULT_INTRA_OP_THREADS = 1
"""onnxruntime threads of the output session unless asked otherwise. A stream's steps are
one to a few tokens, too small to split well over threads. onnxruntime's default pool also
keeps a worker spinning for ~40 ms after every call. Between the tokens of a real stream
(20 ms apart at 50 tokens/s) that burnt a whole core: 24.1 ms of CPU per token instead of
2.3 ms (``bench/results_stream_threads.json``). Under 50 paced streams through the proxy the
old settings cost 1.35-1.45x unguarded wall time against 1.18-1.21x
(``bench/results_litellm_threads_paced.json``)."""

def default_batch_workers(providers: Sequence[str]) -> int:
    """Shared calls that may run at once (:class:`~.batcher.StreamBatcher` shards): one on a
    GPU (one device; a batch fills it), else one per usable core, at most 4 (each call is
    one onnxruntime thread)."""
    if providers and providers[0] != "CPUExecutionProvider":
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


DEFAULT_MAX_DECODERS = len(DECODERS)
"""Decoder streams one response may open (one per kind: base64, hex, rot13, reversed), so a
benign span of one kind can never use up the room of another."""

INITIAL_CAPACITY = 128
"""Positions a stream's shared KV cache starts with (it doubles up to ``max_len`` when a
response needs more). A full 512-position cache is 9.4 MB per stream for the default model;
most streams never need it, and at 200 concurrent streams that was 1.9 GB."""


class OutputGuard:
    """Streaming output classifier. Thread-safe; streams are per request.

    At most ``max_streams`` streams are open at once (each holds its own KV cache); beyond
    that :meth:`stream` waits up to ``stream_wait_s`` for one to finish, then raises
    :class:`~guard_plugins.errors.GuardBusyError` (:mod:`.slots`; ``None``: no cap).
    """

    kind = "output"

    def __init__(self, folder: Path, manifest: dict[str, Any], session: Any,
                 tokenizer: GuardTokenizer, *, threshold: float | None = None,
                 max_streams: int | None = DEFAULT_MAX_STREAMS,
                 stream_wait_s: float = DEFAULT_WAIT_S, batch_streams: bool = False,
                 batch_workers: int | None = None, batch_rows: int = 32,
                 normalize_outputs: bool = True, decode_outputs: bool = True,
                 max_decoders: int = DEFAULT_MAX_DECODERS, operating_point: str | None = None):
        for name, flag in (("normalize_outputs", normalize_outputs), ("decode_outputs", decode_outputs)):
            if not isinstance(flag, bool):
                raise InputError(f"{name} must be True or False, got {flag!r}")
        if isinstance(max_decoders, bool) or not isinstance(max_decoders, int) or max_decoders < 0:
            raise InputError(f"max_decoders must be an integer >= 0, got {max_decoders!r}")
        if decode_outputs and not normalize_outputs:
            raise InputError("decode_outputs=True needs normalize_outputs=True (the decoders "
                             "watch the normaliser's tokens)")
        self.normalize_outputs = normalize_outputs
        self.decode_outputs = decode_outputs and max_decoders > 0
        self.max_decoders = max_decoders
        self.slots = StreamSlots(max_streams, stream_wait_s)
        self.folder = folder
        self.manifest = manifest
        self._session = session
        self._tok = tokenizer
        win = windowing(manifest)
        self.max_len = win["output_max_len"]
        self.max_prompt = win["output_max_prompt"]
        self.carry = win["output_carry"]
        self.threshold, self.operating_point = resolve_threshold(manifest, folder, threshold,
                                                                 operating_point)
        self.operating_points = operating_points(manifest, folder)
        self._past_names = [i.name for i in session.get_inputs() if i.name.startswith("past_key_values.")]
        self._present_names = [o.name for o in session.get_outputs() if o.name.startswith("present.")]
        if not self._past_names or len(self._past_names) != len(self._present_names):
            raise ModelLoadError(f"{folder}: not a streaming graph (past_key_values.* / present.*)")
        first = next(i for i in session.get_inputs() if i.name == self._past_names[0])
        heads, head_dim = first.shape[1], first.shape[3]
        onnx_info = manifest.get("onnx", {})
        self.num_heads = int(onnx_info.get("num_heads") or heads)
        self.head_dim = int(onnx_info.get("head_dim") or head_dim)
        self._kv_dtype = _DTYPES.get(first.type, np.float32)
        self._output_names = ["logits", *self._present_names]
        input_names = {i.name for i in session.get_inputs()}
        self.shared_cache = "seqlens_k" in input_names
        if self.shared_cache and "total_sequence_length" not in input_names:
            raise ModelLoadError(f"{folder}: shared-cache graph without total_sequence_length input")
        # even-row calls for block-wise int8 graphs (see the module docstring); float graphs
        # and dynamic-int8 ones (whose activation scales span the whole call) gain nothing
        self.pair_rows = self.shared_cache and "blockwise" in str(onnx_info.get("quantization", ""))
        self._pad_id = int(tokenizer.pad_id if tokenizer.pad_id is not None else 0)
        room = self.max_len - (self.max_prompt + 2)
        if room <= self.carry:
            raise ModelLoadError(f"{folder}: windowing leaves no room past the carried context")
        # streams share calls (runtime.batcher) when asked: on 2 CPU cores it saved ~12 % of
        # the CPU per token at 50 paced streams but put each token behind its batch-mates'
        # rows (bench/bench_stream_batch.py); meant for GPUs (one call, many rows), unmeasured
        self.batcher: StreamBatcher | None = None
        if batch_streams:
            if not supports_batching(session):
                raise ModelLoadError(f"{folder}: batch_streams=True needs a shared-cache graph with a "
                                     "symbolic batch dimension (tools/relax_batch_dim.py, or re-export)")
            if batch_workers is None:
                batch_workers = default_batch_workers(session.get_providers())
            self.batcher = StreamBatcher(session, self._past_names, self._present_names,
                                         heads=self.num_heads, head_dim=self.head_dim,
                                         dtype=self._kv_dtype, max_len=self.max_len,
                                         carry=self.carry, pad_id=self._pad_id, workers=batch_workers,
                                         max_rows=batch_rows)

    @classmethod
    def load(cls, folder: str | Path, providers: ProviderSpec = None, *, verify: bool = True,
             threshold: float | None = None, intra_op_threads: int | None = None,
             max_streams: int | None = DEFAULT_MAX_STREAMS,
             stream_wait_s: float = DEFAULT_WAIT_S, batch_streams: bool = False,
             batch_workers: int | None = None, batch_rows: int = 32,
             normalize_outputs: bool = True, decode_outputs: bool = True,
             max_decoders: int = DEFAULT_MAX_DECODERS,
             operating_point: str | None = None) -> OutputGuard:
        """Load an exported output model folder (checks sha256 of every file first).
        ``intra_op_threads``: ``None`` gives :data:`DEFAULT_INTRA_OP_THREADS` (1); ``0``
        onnxruntime's own default (its thread pool). ``batch_streams``: concurrent streams
        share graph calls (:mod:`.batcher`: one-token rows, values within ~0.1 logit of
        :meth:`check`'s; default off: every stream calls on its own, exactly :meth:`check`'s
        values). ``batch_workers``: shared calls that may run at once
        (:func:`default_batch_workers` when ``None``); ``batch_rows``: most rows per call.
        ``normalize_outputs``: fold look-alikes, invisible characters, leetspeak and spaced
        letters before the tokenizer (:mod:`.normalize`); ``decode_outputs``: score decoded
        base64 / hex / rot13 / reversed spans in parallel streams, at most ``max_decoders``
        per response (the module docstring). ``operating_point``: a named threshold of the
        manifest (``"standard"``, ``"strict"``, ``"balanced"``; ``None``: its default); an explicit
        ``threshold`` wins."""
        folder = Path(folder)
        manifest = load_manifest(folder, kind="output", verify=verify)
        tinfo = manifest["tokenizer"]
        tok = GuardTokenizer(folder / tinfo["file"], cls_id=tinfo.get("cls_id"),
                             sep_id=tinfo.get("sep_id"), pad_id=tinfo.get("pad_id"))
        session = make_session(folder / manifest["onnx"]["file"], providers,
                               intra_op_threads=DEFAULT_INTRA_OP_THREADS if intra_op_threads is None
                               else intra_op_threads)
        return cls(folder, manifest, session, tok, threshold=threshold, max_streams=max_streams,
                   stream_wait_s=stream_wait_s, batch_streams=batch_streams,
                   batch_workers=batch_workers, batch_rows=batch_rows,
                   normalize_outputs=normalize_outputs, decode_outputs=decode_outputs,
                   max_decoders=max_decoders, operating_point=operating_point)

    @property
    def providers(self) -> list[str]:
        """Execution providers the session actually uses."""
        return list(self._session.get_providers())

    # -- graph calls -----------------------------------------------------------------------
    def empty_past(self) -> Any:
        """An empty cache for a first :meth:`run`: zero-length arrays (growing layout) or a
        fresh :class:`SharedCache` (shared layout) of ``INITIAL_CAPACITY`` positions that
        grows, doubling, up to ``max_len`` as the stream needs it."""
        if self.shared_cache:
            cap = min(self.max_len, INITIAL_CAPACITY)
            return SharedCache(self._session, self._past_names, self._present_names,
                               (1, self.num_heads, cap, self.head_dim), self._kv_dtype,
                               limit=self.max_len + self.pair_rows,  # room for a padding row
                               pad=(self._pad_id, self.max_len - 1) if self.pair_rows else None)
        shape = (1, self.num_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=self._kv_dtype) for _ in self._past_names]

    def run(self, ids: Sequence[int], start: int, past: Any = None) -> tuple[np.ndarray, Any]:
        """One graph call: values for ``ids`` at positions ``start..`` given ``past``.

        Returns ``(logits [len(ids)], present)``. ``past`` is the cache :meth:`empty_past` or a
        previous call returned, or ``None`` for a fresh one; ``start=0`` always starts from
        scratch (a shared cache is rewritten from position 0, a growing one replaced by an
        empty one), so callers re-priming or scoring windows just pass back what they hold.
        With the shared layout the cache is updated in place and returned as ``present`` (a
        cache state can be continued, not branched).
        """
        n = len(ids)
        if n == 0:
            raise InputError("run needs at least one token")
        if self.shared_cache:
            if past is None:
                past = self.empty_past()
            elif not isinstance(past, SharedCache):
                raise InputError("this graph keeps its cache in place: pass empty_past() or the "
                                 "cache a previous run returned")
            if start + n > self.max_len:
                raise InputError(f"positions {start}..{start + n - 1} exceed the cache of "
                                 f"{self.max_len} positions")
            rows = n + (self.pair_rows and n % 2)
            if start + rows > past.capacity:
                past.grow(start + rows)
            return past.run(self._session, ids, start), past
        if past is None or start == 0:
            past = self.empty_past()
        feed: dict[str, Any] = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "position_ids": np.arange(start, start + n, dtype=np.int64)[None, :],
            "attention_mask": np.ones((1, start + n), dtype=np.int64),
        }
        feed.update(zip(self._past_names, past))
        outs = self._session.run(self._output_names, feed)
        return outs[0][0], outs[1:]

    def prompt_ids(self, prompt: Any) -> tuple[list[int], list[str]]:
        """Token ids of a prompt (string or message list) and notes."""
        text, notes = render_messages(prompt)
        text, replaced = sanitize(text)
        if replaced:
            notes.append(f"prompt: replaced {replaced} invalid unicode code point(s)")
        return self._tok.encode(text), notes

    # -- public API ------------------------------------------------------------------------
    def stream(self, prompt: Any = "", *, slot: StreamSlot | None = None) -> OutputStream:
        """Start scoring a response to ``prompt`` as it streams.

        Takes one of the ``max_streams`` slots, waiting for one (blocking) when all are out;
        the stream gives it back at :meth:`OutputStream.finish` / :meth:`OutputStream.close`
        or when it is garbage-collected. ``slot``: one the caller already holds (from
        ``slots.aacquire()``), which the caller keeps and releases itself.
        """
        ids, notes = self.prompt_ids(prompt)  # a bad prompt fails before taking a slot
        owned = slot is None
        if owned:
            slot = self.slots.acquire()
        try:
            return OutputStream(self, ids, notes, slot=slot if owned else None)
        except BaseException:
            if owned:
                slot.release()
            raise

    async def astream(self, prompt: Any = "") -> OutputStream:
        """:meth:`stream` for coroutines: waits for a slot without blocking the event loop
        and tokenizes the prompt in a worker thread. The stream owns the slot."""
        slot = await self.slots.aacquire()
        try:
            ids, notes = await asyncio.to_thread(self.prompt_ids, prompt)
            return OutputStream(self, ids, notes, slot=slot)
        except BaseException:
            slot.release()
            raise

    def check(self, prompt: Any, response: str) -> Verdict:
        """Score a complete response (full passes per window; no cache)."""
        t0 = time.perf_counter()
        if not isinstance(response, str):
            raise InputError(f"response must be a string, got {type(response).__name__}")
        p_ids, notes = self.prompt_ids(prompt)
        text, replaced = sanitize(response)
        if replaced:
            notes.append(f"response: replaced {replaced} invalid unicode code point(s)")
        decoded: dict[str, str] = {}
        dnotes: list[str] = []
        if self.normalize_outputs:
            e = normalize(text, decoders=self.decode_outputs, max_decoders=self.max_decoders)
            text, decoded, dnotes = e.text, e.decoded, e.notes
        r_ids = self._tok.encode(text)
        best = -math.inf
        if r_ids:
            best, n_segs = self._full_pass(p_ids, r_ids)
            if n_segs > 1:
                notes.append(f"scored in {n_segs} windows of {self.max_len} positions")
        else:
            notes.append("empty response: nothing to score")
        notes += dnotes
        flagged = False
        for kind in DECODERS:  # decoded spans: as a decoder stream scores them
            d_ids = self._tok.encode(normalize(decoded[kind], decoders=False).text) if decoded.get(kind) else []
            if d_ids:
                d_best, _ = self._full_pass(p_ids, d_ids)
                best = max(best, d_best)
                if sigmoid(d_best) >= self.threshold:
                    flagged = True
                    notes.append(f"flagged on {kind}-decoded text")
        return self._verdict(best, len(r_ids), notes, (time.perf_counter() - t0) * 1000.0,
                             flagged=flagged)

    def _full_pass(self, p_ids: list[int], r_ids: list[int]) -> tuple[float, int]:
        """Highest value over a response's tokens (full passes per window) and the windows."""
        segs = output_segments(p_ids, r_ids, self._tok.cls_id, self._tok.sep_id,
                               self.max_len, self.max_prompt, self.carry)
        best = -math.inf
        cache = None
        for seg in segs:
            logits, cache = self.run(seg.input_ids, 0, cache)
            best = max(best, float(logits[seg.score_from:].max()))
        return best, len(segs)

    def check_many(self, pairs: Sequence[tuple[Any, str]]) -> list[Verdict]:
        """:meth:`check` for many ``(prompt, response)`` pairs."""
        if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
            raise InputError("check_outputs expects a list of (prompt, response) pairs")
        out = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise InputError(f"pairs[{i}]: expected a (prompt, response) pair")
            out.append(self.check(pair[0], pair[1]))
        return out

    def _verdict(self, best_logit: float, tokens: int, notes: Sequence[str], latency_ms: float,
                 flagged: bool = False) -> Verdict:
        scored = best_logit > -math.inf
        score = float(sigmoid(best_logit)) if scored else 0.0
        return Verdict(flagged=flagged or (scored and score >= self.threshold), score=score, category=None,
                       threshold=self.threshold, latency_ms=latency_ms, kind="output",
                       tokens=tokens, notes=tuple(notes))


class OutputStream:
    """Scores one streaming response. Feed text chunks of any size; flagged is sticky.

    Not meant to be shared between requests (one per response); calls are serialised by a
    lock all the same. :meth:`finish` (or :meth:`close`, to abandon it) frees its KV cache and
    gives back its stream slot at once; otherwise that happens when it is garbage-collected.
    """

    def __init__(self, guard: OutputGuard, prompt_ids: list[int], notes: list[str],
                 slot: StreamSlot | None = None, *, decoder: bool = False):
        self._g = guard
        self._prompt_ids = prompt_ids
        # the normaliser in front of the tokenizer; a decoder's own stream decodes nothing
        self._norm = (StreamNormalizer(decoders=guard.decode_outputs and not decoder,
                                       max_decoders=guard.max_decoders)
                      if guard.normalize_outputs else None)
        self._hold = ""            # a high surrogate that may pair with the next chunk
        self._replaced = 0         # invalid code points replaced before the normaliser
        self._subs: dict[str, OutputStream] = {}  # decoder kind -> its parallel stream
        self._dnotes: list[str] = []               # the normaliser's notes so far
        # the slot goes back on finish/close, or when this object is collected
        self._release = weakref.finalize(self, slot.release) if slot is not None else None
        tok = guard._tok
        self._prefix = output_prefix(prompt_ids, tok.cls_id, tok.sep_id, guard.max_prompt)
        self._tok = tok.incremental()
        self._recent: deque[int] = deque(maxlen=guard.carry)  # context for a re-prime
        self._past: list[Any] | None = None
        self._pos = 0            # positions held in the cache
        self._best = -math.inf   # running max of values (pre-sigmoid)
        self._flagged = False
        self._tokens = 0
        self._reprimes = 0
        self._notes = list(notes)
        self._finished: Verdict | None = None
        self._lock = threading.Lock()
        self._lane = None
        if guard.batcher is not None:  # scored in shared calls; the row goes back like the slot
            self._lane = guard.batcher.lane(self._prefix)
            self._drop_lane = weakref.finalize(self, guard.batcher.release, self._lane)

    @property
    def tokens(self) -> int:
        """Response tokens scored so far."""
        return self._tokens

    @property
    def decoders(self) -> list[str]:
        """Kinds of the decoder streams this stream has opened (each holds a KV cache of its
        own until the stream finishes or is closed)."""
        return list(self._subs)

    def _prime(self, context: list[int]) -> None:
        ids = self._prefix + context
        _, self._past = self._g.run(ids, 0, self._past)  # start 0: from scratch
        self._pos = len(ids)

    def _push(self, ids: list[int], reprimed_at: list[int] | None = None) -> np.ndarray:
        """Push new tokens: one graph call (split only at re-primes); their values, in order.
        ``reprimed_at`` collects the indices of the tokens a re-prime came before."""
        if self._lane is not None:  # one decode row per token, in calls shared with other streams
            values, reprimes = self._g.batcher.push(self._lane, ids)  # type: ignore[union-attr]
            self._tokens += len(ids)
            self._reprimes += len(reprimes)
            if reprimed_at is not None:
                reprimed_at.extend(reprimes)
            return values
        g = self._g
        i = 0
        parts = []
        while i < len(ids):
            if self._past is None:
                self._prime([])
            elif self._pos >= g.max_len:
                self._prime(list(self._recent))
                self._reprimes += 1
                if reprimed_at is not None:
                    reprimed_at.append(i)
            part = ids[i:i + (g.max_len - self._pos)]
            logits, self._past = g.run(part, self._pos, self._past)
            self._pos += len(part)
            self._recent.extend(part)
            self._tokens += len(part)
            i += len(part)
            parts.append(logits)
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _raise(self, best: float, flagged: bool, values: np.ndarray) -> tuple[float, bool]:
        """The running maximum and the sticky flag after ``values``."""
        if len(values):
            v = float(values.max())
            if v > best:
                best = v
                flagged = flagged or bool(sigmoid(v) >= self._g.threshold)
        return best, flagged

    def _verdict_of(self, best: float, flagged: bool, tokens: int, reprimes: int, replaced: int,
                    latency_ms: float, dnotes: Sequence[str] = (),
                    subs: Sequence[tuple[str, float, bool]] = ()) -> Verdict:
        """``subs``: ``(kind, best, flagged)`` of the decoder streams at that point."""
        notes = list(self._notes)
        if replaced:
            notes.append(f"response: replaced {replaced} invalid unicode code point(s)")
        if reprimes:
            notes.append(f"context re-primed {reprimes} time(s) past {self._g.max_len} positions")
        notes += dnotes
        for kind in DECODERS:  # in a fixed order: the same notes whatever the chunking
            for k, b, f in subs:
                if k == kind:
                    best = max(best, b)
                    if f:
                        flagged = True
                        notes.append(f"flagged on {kind}-decoded text")
        return self._g._verdict(best, tokens, notes, latency_ms, flagged=flagged)

    def _sub_states(self) -> list[tuple[str, float, bool]]:
        return [(k, sub._best, sub._flagged) for k, sub in self._subs.items()]

    def _verdict(self, t0: float) -> Verdict:
        return self._verdict_of(self._best, self._flagged, self._tokens, self._reprimes,
                                self._tok.replaced + self._replaced,
                                (time.perf_counter() - t0) * 1000.0, self._dnotes, self._sub_states())

    def feed(self, chunk: str) -> Verdict:
        """Score the words completed by ``chunk``; returns the verdict so far."""
        t0 = time.perf_counter()
        if not isinstance(chunk, str):
            raise InputError(f"stream chunks must be strings, got {type(chunk).__name__}")
        with self._lock:
            return self._feed([chunk], t0)[0]

    def feed_many(self, chunks: Sequence[str]) -> list[Verdict]:
        """Feed several chunks in **one** graph call; the verdict after each of them.

        Equal to ``[feed(c) for c in chunks]`` (scores bit for bit, for float and block-wise
        int8 graphs: see the module docstring), at the cost of about one call: for a server
        whose streams fall behind under load and catch up with the text that waited.
        """
        t0 = time.perf_counter()
        chunks = list(chunks)
        for i, c in enumerate(chunks):
            if not isinstance(c, str):
                raise InputError(f"stream chunks must be strings, got {type(c).__name__} at [{i}]")
        with self._lock:
            return self._feed(chunks, t0)

    def _normalized(self, chunk: str, final: bool = False) -> tuple[str, dict[str, str], list[str]]:
        """``chunk`` through the normaliser: (text for the tokenizer, decoded text per kind,
        notes). The chunk as it is when normalisation is off."""
        if self._norm is None:
            return chunk, {}, []
        raw = self._hold + chunk
        self._hold = ""
        if not final and raw and "\ud800" <= raw[-1] <= "\udbff":  # may pair with the next chunk
            raw, self._hold = raw[:-1], raw[-1]
        raw, n = sanitize(raw)
        self._replaced += n
        e = self._norm.feed(raw) if raw else None
        if final:
            f = self._norm.finish()
            m = f if e is None else merge(e, f)
            return m.text, m.decoded, m.notes
        return (e.text, e.decoded, e.notes) if e is not None else ("", {}, [])

    def _advance(self, chunks: list[str], final: bool = False) -> list[tuple]:
        """Normalise, tokenize and score ``chunks`` in one push (the decoder streams' in one
        each); ``final``: the end of the response (one chunk, the tails flushed). Returns the
        state after each chunk: ``(best, flagged, tokens, reprimes, replaced, notes, subs)``."""
        tokens, reprimes = self._tokens, self._reprimes
        ids: list[int] = []
        ends, replaced, dnotes = [], [], []
        decoded: dict[str, list[str]] = {}
        for i, c in enumerate(chunks):
            text, dec, notes = self._normalized(c, final)
            ids.extend(self._tok.feed(text) if text else ())
            if final:
                ids.extend(self._tok.flush())
            ends.append(len(ids))
            replaced.append(self._tok.replaced + self._replaced)
            self._dnotes += notes
            dnotes.append(list(self._dnotes))
            for k, v in dec.items():
                if v:
                    decoded.setdefault(k, [""] * len(chunks))[i] += v
        reprimed_at: list[int] = []
        values = self._push(ids, reprimed_at)
        # decoder streams: one per kind, opened with its first decoded text
        sub_runs: dict[str, list[tuple]] = {}
        for k in DECODERS:
            texts = decoded.get(k)
            if texts is not None and k not in self._subs:
                self._subs[k] = OutputStream(self._g, self._prompt_ids, [], decoder=True)
            if k in self._subs and (texts is not None or final):
                sub = self._subs[k]
                sub_runs[k] = sub._advance(texts or [""] * len(chunks), final)
                if final:
                    sub._free()
        states = []
        start = 0
        for i, (end, rep) in enumerate(zip(ends, replaced)):
            self._best, self._flagged = self._raise(self._best, self._flagged, values[start:end])
            start = end
            r = reprimes + sum(1 for j in reprimed_at if j < end)
            subs = [(k, run[i][0], run[i][1]) if k in sub_runs else (k, sub._best, sub._flagged)
                    for k, sub in self._subs.items() for run in [sub_runs.get(k)]]
            states.append((self._best, self._flagged, tokens + end, r, rep, dnotes[i], subs))
        return states

    def _feed(self, chunks: list[str], t0: float) -> list[Verdict]:
        """Both feeds, under the lock: one push for all the chunks' tokens, then the verdict
        as it stood after each chunk."""
        if self._finished is not None:
            raise InputError("stream already finished")
        states = self._advance(chunks)
        latency_ms = (time.perf_counter() - t0) * 1000.0
        return [self._verdict_of(*st[:5], latency_ms, st[5], st[6]) for st in states]

    def finish(self) -> Verdict:
        """Score the unfinished tail and return the final verdict (idempotent)."""
        t0 = time.perf_counter()
        with self._lock:
            if self._finished is None:
                try:
                    self._advance([""], final=True)
                    if self._tokens == 0:
                        self._notes.append("empty response: nothing to score")
                    self._finished = self._verdict(t0)
                finally:
                    self._free()
            return self._finished

    def close(self) -> None:
        """Abandon the stream (the response was cut or failed): free its cache and slot now.
        Idempotent; feeding it afterwards raises ``InputError``."""
        with self._lock:
            if self._finished is None:
                self._finished = self._verdict(time.perf_counter())
            self._free()

    def _free(self) -> None:
        self._past = None
        for sub in self._subs.values():
            sub._free()
        if self._lane is not None:
            self._drop_lane()
        if self._release is not None:
            self._release()


class SharedCache:
    """The in-place KV cache of a shared-layout streaming graph (one per stream).

    One ``[1, heads, capacity, head_dim]`` buffer per key and value, bound once through an
    ``IOBinding`` as both the ``past_key_values.*`` input and the ``present.*`` output. A
    one-token step (the streaming case) only writes four numbers into pre-bound arrays and
    runs; longer calls bind their arrays. ``pad=(token id, highest position id)``: calls with
    an odd number of tokens get one padding row (the module docstring says why); its key/value
    lands in the position after the call's last token (the next call overwrites it), so the
    cache holds one position more than the model's window. Not thread-safe on its own (an
    :class:`OutputStream` serialises its calls).
    """

    __slots__ = ("_arrays", "_binding", "_one", "_one_bound", "capacity", "limit", "_names", "_pad")

    def __init__(self, session: Any, past_names: Sequence[str], present_names: Sequence[str],
                 shape: tuple[int, int, int, int], dtype: Any, limit: int | None = None,
                 pad: tuple[int, int] | None = None):
        self.capacity = shape[2]
        self.limit = shape[2] if limit is None else max(int(limit), shape[2])
        self._names = (list(past_names), list(present_names))
        self._pad = pad
        self._arrays = [np.zeros(shape, dtype=dtype) for _ in past_names]
        b = session.io_binding()
        b.bind_output("logits")  # first, so get_outputs()[0] is always the logits
        self._binding = b
        self._bind_cache()
        # one-token step: arrays bound once (OrtValues share their memory), updated in place;
        # two rows (the token and a padding row) when calls are made in pairs
        rows = 2 if pad is not None else 1
        self._one = {"input_ids": np.zeros((1, rows), np.int64), "position_ids": np.zeros((1, rows), np.int64),
                     "seqlens_k": np.zeros((1,), np.int32), "total_sequence_length": np.zeros((), np.int32),
                     "logits": np.zeros((1, rows), np.float32)}
        if pad is not None:
            self._one["input_ids"][0, 1] = pad[0]
        self._one_bound = False

    def _bind_cache(self) -> None:
        values = [ort.OrtValue.ortvalue_from_numpy(a) for a in self._arrays]
        past_names, present_names = self._names
        for name, v in zip(past_names, values):
            self._binding.bind_ortvalue_input(name, v)
        for name, v in zip(present_names, values):
            self._binding.bind_ortvalue_output(name, v)

    def grow(self, needed: int) -> None:
        """Make room for ``needed`` positions (doubling, at most ``limit``): new buffers, the
        held positions copied, rebound. Values do not depend on the capacity (tested)."""
        cap = min(self.limit, max(needed, 2 * self.capacity))
        if needed > cap:
            raise InputError(f"{needed} positions exceed the cache limit of {self.limit}")
        grown = []
        for a in self._arrays:
            g = np.zeros((a.shape[0], a.shape[1], cap, a.shape[3]), dtype=a.dtype)
            g[:, :, :self.capacity] = a
            grown.append(g)
        self._arrays, self.capacity = grown, cap
        self._bind_cache()

    def run(self, session: Any, ids: Sequence[int], start: int) -> np.ndarray:
        """Values for ``ids`` at positions ``start..`` (the cache must hold the rows run)."""
        n = len(ids)
        b = self._binding
        pad = self._pad
        if n == 1:
            one = self._one
            if not self._one_bound:
                for name, arr in one.items():
                    v = ort.OrtValue.ortvalue_from_numpy(arr)
                    (b.bind_ortvalue_output if name == "logits" else b.bind_ortvalue_input)(name, v)
                self._one_bound = True
            rows = one["input_ids"].shape[1]
            one["input_ids"][0, 0] = ids[0]
            one["position_ids"][0, 0] = start
            if pad is not None:
                one["position_ids"][0, 1] = min(start + 1, pad[1])
            one["seqlens_k"][0] = start + rows - 1
            one["total_sequence_length"][...] = start + rows
            session.run_with_iobinding(b)
            return one["logits"][0, :1].copy()
        self._one_bound = False
        ids_l, pos_l = even_rows(ids, start, pad)
        rows = len(ids_l)
        b.bind_cpu_input("input_ids", np.asarray([ids_l], dtype=np.int64))
        b.bind_cpu_input("position_ids", np.asarray([pos_l], dtype=np.int64))
        b.bind_cpu_input("seqlens_k", np.array([start + rows - 1], dtype=np.int32))
        b.bind_cpu_input("total_sequence_length", np.array(start + rows, dtype=np.int32))
        b.bind_output("logits")  # unallocated: its length changes from call to call
        session.run_with_iobinding(b)
        return b.get_outputs()[0].numpy()[0, :n]
