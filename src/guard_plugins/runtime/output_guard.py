"""The streaming output guard: a causal classifier with a KV cache over ONNX.

The model sees ``[CLS] prompt[-max_prompt:] [SEP] response...`` and gives a value (pre-sigmoid)
for every response token; the response score is the running maximum of
``sigmoid(value)``. :class:`OutputStream` feeds arbitrary text chunks through an
:class:`~.tokenization.IncrementalTokenizer` and pushes only the new tokens through the
cache, one token per step, so the result does not depend on how the text was chunked.
Past ``max_len`` positions the context is re-primed (:mod:`runtime.windows`) and scoring
goes on; the running maximum is kept.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelLoadError
from ._common import check_threshold, sigmoid, windowing
from .manifest import load_manifest
from .session import ProviderSpec, make_session
from .text import render_messages
from .tokenization import GuardTokenizer, sanitize
from .verdict import Verdict
from .windows import output_prefix, output_segments

_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


class OutputGuard:
    """Streaming output classifier. Thread-safe; streams are per request."""

    kind = "output"

    def __init__(self, folder: Path, manifest: dict[str, Any], session: Any,
                 tokenizer: GuardTokenizer, *, threshold: float | None = None):
        self.folder = folder
        self.manifest = manifest
        self._session = session
        self._tok = tokenizer
        win = windowing(manifest)
        self.max_len = win["output_max_len"]
        self.max_prompt = win["output_max_prompt"]
        self.carry = win["output_carry"]
        self.threshold = check_threshold(manifest["threshold"] if threshold is None else threshold,
                                         f"{folder} threshold")
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
        room = self.max_len - (self.max_prompt + 2)
        if room <= self.carry:
            raise ModelLoadError(f"{folder}: windowing leaves no room past the carried context")

    @classmethod
    def load(cls, folder: str | Path, providers: ProviderSpec = None, *, verify: bool = True,
             threshold: float | None = None, intra_op_threads: int | None = None) -> OutputGuard:
        """Load an exported output model folder (checks sha256 of every file first)."""
        folder = Path(folder)
        manifest = load_manifest(folder, kind="output", verify=verify)
        tinfo = manifest["tokenizer"]
        tok = GuardTokenizer(folder / tinfo["file"], cls_id=tinfo.get("cls_id"),
                             sep_id=tinfo.get("sep_id"), pad_id=tinfo.get("pad_id"))
        session = make_session(folder / manifest["onnx"]["file"], providers,
                               intra_op_threads=intra_op_threads)
        return cls(folder, manifest, session, tok, threshold=threshold)

    @property
    def providers(self) -> list[str]:
        """Execution providers the session actually uses."""
        return list(self._session.get_providers())

    # -- graph calls -----------------------------------------------------------------------
    def empty_past(self) -> list[np.ndarray]:
        """A zero-length cache (first pass)."""
        shape = (1, self.num_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=self._kv_dtype) for _ in self._past_names]

    def run(self, ids: Sequence[int], start: int, past: list[Any]) -> tuple[np.ndarray, list[Any]]:
        """One graph call: values for ``ids`` at positions ``start..`` given ``past``.

        Returns ``(logits [len(ids)], present)``.
        """
        n = len(ids)
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
    def stream(self, prompt: Any = "") -> OutputStream:
        """Start scoring a response to ``prompt`` as it streams."""
        ids, notes = self.prompt_ids(prompt)
        return OutputStream(self, ids, notes)

    def check(self, prompt: Any, response: str) -> Verdict:
        """Score a complete response (full passes per window; no cache)."""
        t0 = time.perf_counter()
        if not isinstance(response, str):
            raise InputError(f"response must be a string, got {type(response).__name__}")
        p_ids, notes = self.prompt_ids(prompt)
        text, replaced = sanitize(response)
        if replaced:
            notes.append(f"response: replaced {replaced} invalid unicode code point(s)")
        r_ids = self._tok.encode(text)
        best = -math.inf
        if r_ids:
            segs = output_segments(p_ids, r_ids, self._tok.cls_id, self._tok.sep_id,
                                   self.max_len, self.max_prompt, self.carry)
            if len(segs) > 1:
                notes.append(f"scored in {len(segs)} windows of {self.max_len} positions")
            for seg in segs:
                logits, _ = self.run(seg.input_ids, 0, self.empty_past())
                best = max(best, float(logits[seg.score_from:].max()))
        else:
            notes.append("empty response: nothing to score")
        return self._verdict(best, len(r_ids), notes, (time.perf_counter() - t0) * 1000.0)

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
    lock all the same.
    """

    def __init__(self, guard: OutputGuard, prompt_ids: list[int], notes: list[str]):
        self._g = guard
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

    @property
    def tokens(self) -> int:
        """Response tokens scored so far."""
        return self._tokens

    def _prime(self, context: list[int]) -> None:
        ids = self._prefix + context
        _, self._past = self._g.run(ids, 0, self._g.empty_past())
        self._pos = len(ids)

    def _push(self, ids: list[int]) -> None:
        g = self._g
        for tid in ids:
            if self._past is None:
                self._prime([])
            elif self._pos >= g.max_len:
                self._prime(list(self._recent))
                self._reprimes += 1
            logits, self._past = g.run([tid], self._pos, self._past)
            self._pos += 1
            self._recent.append(tid)
            self._tokens += 1
            v = float(logits[0])
            if v > self._best:
                self._best = v
                if not self._flagged and sigmoid(v) >= g.threshold:
                    self._flagged = True

    def _verdict(self, t0: float) -> Verdict:
        notes = list(self._notes)
        if self._tok.replaced:
            notes.append(f"response: replaced {self._tok.replaced} invalid unicode code point(s)")
        if self._reprimes:
            notes.append(f"context re-primed {self._reprimes} time(s) past {self._g.max_len} positions")
        return self._g._verdict(self._best, self._tokens, notes,
                                (time.perf_counter() - t0) * 1000.0, flagged=self._flagged)

    def feed(self, chunk: str) -> Verdict:
        """Score the words completed by ``chunk``; returns the verdict so far."""
        t0 = time.perf_counter()
        if not isinstance(chunk, str):
            raise InputError(f"stream chunks must be strings, got {type(chunk).__name__}")
        with self._lock:
            if self._finished is not None:
                raise InputError("stream already finished")
            self._push(self._tok.feed(chunk))
            return self._verdict(t0)

    def finish(self) -> Verdict:
        """Score the unfinished tail and return the final verdict (idempotent)."""
        t0 = time.perf_counter()
        with self._lock:
            if self._finished is None:
                self._push(self._tok.flush())
                if self._tokens == 0:
                    self._notes.append("empty response: nothing to score")
                self._finished = self._verdict(t0)
            return self._finished
