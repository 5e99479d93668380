"""Scoring labelled data with a :class:`~guard_plugins.runtime.Guard` and computing the metrics.

Torch-free: the guard is the onnxruntime runtime. Two entry points:

* :func:`evaluate_input` scores every text with ``guard.check_inputs``;
* :func:`evaluate_output` scores every (prompt, response) twice: whole-response with
  ``guard.check_outputs``, and the **streaming rule** as deployed: the response is cut into
  realistic chunks (random 1-6 words, fixed seed, or fixed-size character chunks) fed through
  ``guard.stream(prompt).feed`` until the stream flags (it halts there, as the integrations
  do) or ends (``finish``).

Both return an :class:`EvalResult` whose :meth:`EvalResult.to_json` is the ``guard-eval
--json`` object (keys documented in :mod:`guard_plugins.eval.cli`).
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .. import metrics as M
from .data import EvalData, EvalRecord, Kind

__all__ = [
    "SCHEMA_VERSION",
    "ChunkSpec",
    "split_chunks",
    "ItemResult",
    "EvalResult",
    "evaluate",
    "evaluate_input",
    "evaluate_output",
]

SCHEMA_VERSION = 1
TARGET_FPR = 0.01
_WORDS = re.compile(r"\s*\S+|\s+$")


class _VerdictLike(Protocol):
    flagged: bool
    score: float
    category: str | None
    threshold: float
    latency_ms: float
    tokens: int


class _StreamLike(Protocol):
    def feed(self, chunk: str) -> Any: ...
    def finish(self) -> Any: ...


class GuardLike(Protocol):
    """What evaluation needs from :class:`guard_plugins.runtime.Guard`."""

    def check_inputs(self, items: Sequence[Any]) -> list[Any]: ...
    def check_outputs(self, pairs: Sequence[tuple[str, str]]) -> list[Any]: ...
    def stream(self, prompt: Any) -> _StreamLike: ...


# --------------------------------------------------------------------------- chunking
@dataclass(frozen=True)
class ChunkSpec:
    """How a response is cut into stream chunks.

    ``mode="realistic"``: random runs of ``min_words..max_words`` words (whitespace kept with
    the following word, like LLM tokens), drawn from a generator seeded by ``seed`` and the
    item index, so results do not depend on evaluation order. ``mode="chars"``: fixed chunks
    of ``size`` characters.
    """

    mode: str = "realistic"
    size: int = 0
    min_words: int = 1
    max_words: int = 6
    seed: int = 0

    @classmethod
    def parse(cls, value: str | int, seed: int = 0) -> "ChunkSpec":
        """``"realistic"`` or a positive integer (characters per chunk)."""
        if isinstance(value, str) and value.strip().lower() == "realistic":
            return cls(seed=seed)
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"chunk size must be 'realistic' or a positive integer, got {value!r}") from None
        if n <= 0:
            raise ValueError(f"chunk size must be positive, got {n}")
        return cls(mode="chars", size=n, seed=seed)

    def describe(self) -> dict[str, Any]:
        if self.mode == "chars":
            return {"mode": "chars", "size": self.size}
        return {"mode": "realistic", "min_words": self.min_words, "max_words": self.max_words,
                "seed": self.seed}


def split_chunks(text: str, spec: ChunkSpec, index: int = 0) -> list[str]:
    """Cut ``text`` into stream chunks; ``"".join(chunks) == text`` always."""
    if not text:
        return []
    if spec.mode == "chars":
        return [text[i:i + spec.size] for i in range(0, len(text), spec.size)]
    words = _WORDS.findall(text)
    rng = random.Random(f"{spec.seed}:{index}")
    chunks: list[str] = []
    i = 0
    while i < len(words):
        k = rng.randint(spec.min_words, spec.max_words)
        chunks.append("".join(words[i:i + k]))
        i += k
    return chunks


# --------------------------------------------------------------------------- results
@dataclass
class ItemResult:
    """Per-item outcome (also written by ``guard-eval --predictions``)."""

    line: int
    label: int
    score: float
    flagged: bool
    category: str | None
    latency_ms: float
    extra: dict[str, Any]
    # output kind only: the streaming rule
    stream_score: float | None = None
    stream_flagged: bool | None = None
    halt_chunk: int | None = None        # index of the chunk that flagged (None: never)
    chunks: int | None = None
    tokens_seen: int | None = None       # response tokens scored when the stream stopped
    tokens_total: int | None = None      # response tokens of the whole response
    released_chars: int | None = None    # characters released to the user before the halt
    response_chars: int | None = None
    stream_ms: float | None = None

    @property
    def halt_fraction(self) -> float | None:
        """Fraction of the response's tokens seen before the halt (flagged streams only)."""
        if not self.stream_flagged:
            return None
        if self.tokens_total and self.tokens_seen is not None:
            return min(1.0, self.tokens_seen / self.tokens_total)
        if self.response_chars:
            return min(1.0, (self.released_chars or 0) / self.response_chars)
        return None

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if v is not None or k in ("category",)}
        if self.stream_flagged is not None:
            d["halt_fraction"] = self.halt_fraction
        return d


@dataclass
class EvalResult:
    """Everything one evaluation measured; :meth:`to_json` is the documented JSON object."""

    kind: Kind
    data_path: str
    items: list[ItemResult]
    bad_lines: list[tuple[int, str]]
    threshold: float
    models: str | None
    chunking: ChunkSpec | None
    group_by: list[str]
    seconds: float
    target_fpr: float = TARGET_FPR
    meta: dict[str, Any] = field(default_factory=dict)

    # arrays -------------------------------------------------------------------------
    @property
    def labels(self) -> np.ndarray:
        return np.array([it.label for it in self.items], dtype=np.int8)

    @property
    def scores(self) -> np.ndarray:
        return np.array([it.score for it in self.items], dtype=np.float64)

    @property
    def flagged(self) -> np.ndarray:
        return np.array([it.flagged for it in self.items], dtype=bool)

    @property
    def stream_scores(self) -> np.ndarray:
        return np.array([it.stream_score for it in self.items], dtype=np.float64)

    @property
    def stream_flagged(self) -> np.ndarray:
        return np.array([bool(it.stream_flagged) for it in self.items], dtype=bool)

    def halt_fractions(self, label: int | None = 1) -> list[float]:
        return [f for it in self.items
                if (label is None or it.label == label) and (f := it.halt_fraction) is not None]

    # metrics ------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        r = M.binary_report(self.labels, self.scores, self.threshold, flagged=self.flagged,
                            target_fpr=self.target_fpr)
        r["latency_ms"] = M.summarize([it.latency_ms for it in self.items])
        return r

    def streaming(self) -> dict[str, Any] | None:
        if self.kind != "output":
            return None
        y = self.labels
        r = M.binary_report(y, self.stream_scores, self.threshold, flagged=self.stream_flagged,
                            target_fpr=self.target_fpr)
        pos = [it for it in self.items if it.label == 1 and it.stream_flagged]
        tokens = sum(it.tokens_seen or 0 for it in self.items)
        ms = sum(it.stream_ms or 0.0 for it in self.items)
        released = [it.released_chars / it.response_chars for it in pos
                    if it.response_chars and it.released_chars is not None]
        return {
            "chunking": self.chunking.describe() if self.chunking else None,
            "metrics": r,
            "halt_token_fraction": M.summarize(self.halt_fractions(1)),
            "released_char_fraction": M.summarize(released),
            "agreement_with_whole": float(np.mean(self.stream_flagged == self.flagged)) if self.items else None,
            "per_token_ms": (ms / tokens) if tokens else None,
            "tokens_scored": int(tokens),
        }

    def groups(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for fld in self.group_by:
            buckets: dict[str, list[int]] = defaultdict(list)
            for i, it in enumerate(self.items):
                for v in _group_values(it.extra.get(fld, None)):
                    buckets[v].append(i)
            table: dict[str, dict[str, Any]] = {}
            for v in sorted(buckets, key=lambda k: (-len(buckets[k]), k)):
                idx = np.array(buckets[v])
                table[v] = _group_row(self, idx)
            out[fld] = table
        return out

    def category_match(self) -> dict[str, Any] | None:
        """On flagged harmful items that carry a ``category`` field: how often the guard's
        category agrees (input kind; the output model has no category head)."""
        if self.kind != "input":
            return None
        pairs = [(it.extra.get("category"), it.category) for it in self.items
                 if it.label == 1 and it.flagged and isinstance(it.extra.get("category"), str)]
        if not pairs:
            return None
        hits = sum(1 for want, got in pairs if want == got)
        return {"n": len(pairs), "accuracy": hits / len(pairs)}

    def to_json(self) -> dict[str, Any]:
        y = self.labels
        obj = {
            "schema_version": SCHEMA_VERSION,
            "tool": "guard-eval",
            "kind": self.kind,
            "data": {"path": self.data_path, "records": len(self.items), "n_pos": int(y.sum()),
                     "n_neg": int(len(y) - y.sum()),
                     "bad_lines": {"count": len(self.bad_lines),
                                   "lines": [ln for ln, _ in self.bad_lines[:100]]}},
            "models": {"path": self.models, "threshold": self.threshold, **self.meta},
            "metrics": self.metrics(),
            "streaming": self.streaming(),
            "category_match": self.category_match(),
            "groups": self.groups(),
            "seconds": self.seconds,
        }
        return M.json_safe(obj)


def _group_values(v: Any) -> list[str]:
    """A record's group keys for one field: lists explode (each element is a group)."""
    if v is None:
        return ["(none)"]
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v] or ["(none)"]
    if isinstance(v, bool):
        return ["true" if v else "false"]
    return [str(v)]


def _group_row(res: EvalResult, idx: np.ndarray) -> dict[str, Any]:
    y = res.labels[idx]
    c = M.confusion(y, flagged=res.flagged[idx])
    row: dict[str, Any] = {"n": int(len(idx)), "n_pos": int(y.sum()), "n_neg": int(len(y) - y.sum()),
                           "precision": c.precision, "recall": c.recall, "f1": c.f1, "fpr": c.fpr,
                           "auprc": M.average_precision(y, res.scores[idx])}
    if res.kind == "output":
        cs = M.confusion(y, flagged=res.stream_flagged[idx])
        row.update(stream_recall=cs.recall, stream_fpr=cs.fpr, stream_f1=cs.f1)
        fr = [f for i in idx if res.items[i].label == 1 and (f := res.items[i].halt_fraction) is not None]
        row["median_halt_fraction"] = float(np.median(fr)) if fr else float("nan")
    return row


# --------------------------------------------------------------------------- evaluation
def _batches(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm  # stderr by default

    return tqdm(total=total, desc=desc, unit="item", disable=not enabled, leave=False)


def evaluate_input(guard: GuardLike, data: EvalData, *, group_by: Sequence[str] = (),
                   batch_size: int = 32, progress: bool = True, models: str | None = None,
                   target_fpr: float = TARGET_FPR) -> EvalResult:
    """Score every text with ``guard.check_inputs`` (the deployed input check)."""
    t0 = time.perf_counter()
    items: list[ItemResult] = []
    threshold = float("nan")
    with _progress(len(data.records), "guard-eval input", progress) as bar:
        for batch in _batches(data.records, batch_size):
            verdicts = guard.check_inputs([r.text for r in batch])
            for rec, v in zip(batch, verdicts):
                threshold = float(v.threshold)
                items.append(_item(rec, v, len(batch)))
            bar.update(len(batch))
    return EvalResult(kind="input", data_path=data.path, items=items,
                      bad_lines=[(b.line, b.reason) for b in data.bad], threshold=threshold,
                      models=models, chunking=None, group_by=list(group_by),
                      seconds=time.perf_counter() - t0, target_fpr=target_fpr,
                      meta={"operating_points": guard_points(guard, "input")})


def guard_points(guard: Any, kind: str) -> dict[str, float]:
    """``{name: threshold}`` of the named operating points of ``guard``'s ``kind`` model
    (empty for a guard without them); every suite row is also measured at these."""
    points = getattr(guard, "operating_points", None)
    return dict(points.get(kind) or {}) if isinstance(points, dict) else {}


def _item(rec: EvalRecord, v: _VerdictLike, batch: int) -> ItemResult:
    # a batch verdict's latency_ms is the whole batch's: share it out
    return ItemResult(line=rec.line, label=rec.label, score=float(v.score), flagged=bool(v.flagged),
                      category=v.category, latency_ms=float(v.latency_ms) / max(1, batch),
                      extra=rec.extra)


def stream_item(guard: GuardLike, prompt: str, response: str, spec: ChunkSpec, index: int = 0
                ) -> dict[str, Any]:
    """Feed one response through a stream session as the integrations do; stop at the halt.

    Returns ``score, flagged, halt_chunk, chunks, tokens_seen, released_chars, ms``.
    ``released_chars`` counts what reached the user: every chunk before the flagged one.
    """
    chunks = split_chunks(response, spec, index)
    s = guard.stream(prompt)
    released = 0
    t0 = time.perf_counter()
    halt: int | None = None
    v: Any = None
    for k, chunk in enumerate(chunks):
        v = s.feed(chunk)
        if v.flagged:
            halt = k
            break
        released += len(chunk)
    if halt is None:
        v = s.finish()
        if v.flagged:  # flagged on the tail the stream held back: everything else was released
            halt = len(chunks)
    ms = (time.perf_counter() - t0) * 1000.0
    return {"score": float(v.score), "flagged": bool(v.flagged), "halt_chunk": halt,
            "chunks": len(chunks), "tokens_seen": int(getattr(v, "tokens", 0) or 0),
            "released_chars": released, "ms": ms}


def evaluate_output(guard: GuardLike, data: EvalData, *, chunking: ChunkSpec | None = None,
                    group_by: Sequence[str] = (), batch_size: int = 16, progress: bool = True,
                    models: str | None = None, target_fpr: float = TARGET_FPR) -> EvalResult:
    """Whole-response scores (``check_outputs``) and the streaming rule (``stream.feed``)."""
    spec = chunking or ChunkSpec()
    t0 = time.perf_counter()
    items: list[ItemResult] = []
    threshold = float("nan")
    with _progress(len(data.records), "guard-eval output", progress) as bar:
        for start, batch in zip(range(0, len(data.records), batch_size),
                                _batches(data.records, batch_size)):
            verdicts = guard.check_outputs([(r.text, r.response or "") for r in batch])
            for j, (rec, v) in enumerate(zip(batch, verdicts)):
                threshold = float(v.threshold)
                it = _item(rec, v, len(batch))
                st = stream_item(guard, rec.text, rec.response or "", spec, start + j)
                it.stream_score = st["score"]
                it.stream_flagged = st["flagged"]
                it.halt_chunk = st["halt_chunk"]
                it.chunks = st["chunks"]
                it.tokens_seen = st["tokens_seen"]
                it.tokens_total = int(getattr(v, "tokens", 0) or 0) or None
                it.released_chars = st["released_chars"]
                it.response_chars = len(rec.response or "")
                it.stream_ms = st["ms"]
                items.append(it)
                bar.update(1)
    return EvalResult(kind="output", data_path=data.path, items=items,
                      bad_lines=[(b.line, b.reason) for b in data.bad], threshold=threshold,
                      models=models, chunking=spec, group_by=list(group_by),
                      seconds=time.perf_counter() - t0, target_fpr=target_fpr,
                      meta={"operating_points": guard_points(guard, "output")})


def evaluate(guard: GuardLike, data: EvalData, **kwargs: Any) -> EvalResult:
    """Dispatch on ``data.kind``."""
    if data.kind == "input":
        kwargs.pop("chunking", None)
        return evaluate_input(guard, data, **kwargs)
    return evaluate_output(guard, data, **kwargs)


