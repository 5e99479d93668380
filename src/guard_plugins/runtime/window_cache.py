"""A bounded cache of input-window scores, so chats and agents do not pay for their history.

Chat and agent applications send the whole conversation, system prompt included, with every
request, and the input guard scores every role. The rendered text of earlier turns does not
change between calls, and the turn-aligned window layout (:func:`runtime.windows.segment_windows`)
keeps their windows the same token sequences, so their logits can be kept.

Exactness. A window's logits are a pure function of its token ids only when the call that
scored it depends on nothing else. Float graphs mask padding exactly, but the shipped input
model is dynamically quantized (int8): every activation's scale is computed over the whole
call, so a row's logits move with whatever shares its call (``runtime/scheduler.py``). The
input guard therefore scores the windows of such a model **one per call** (with the cache on
or off, so verdicts are the same bit for bit either way); windows of a float model may share
calls (padding is masked exactly there).

The key is a 128-bit BLAKE2b digest of the model's sha256 and the window's token ids (the
same ids from a decoded variant are the same input, so they share the entry). An entry costs
:data:`ENTRY_BYTES` plus its logits; the cache evicts least recently used entries to stay
within ``max_mb``. Thread-safe (one lock, held only for dictionary work) and fork-safe (a
child gets a fresh lock and keeps the entries, which are still valid for the same model).
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_WINDOW_CACHE_MB = 32.0
"""Default bound of one input guard's window cache. A window entry of the shipped input model
(14 logits) is accounted 312 bytes and a conversation piece 4 bytes per token plus 368, so
32 MB holds about 100,000 windows: the history of about 1,000 conversations of 40 turns
(``bench/bench_history.py`` measures it)."""

ENTRY_BYTES = 256
"""Accounted overhead of one entry besides its payload: the 16-byte key object (49 bytes),
the payload's ``bytes`` object header (33), the ``(value, cost)`` pair and the ordered dict's
slot and links. Measured with ``tracemalloc``: 1,000 to 100,000 window entries of the shipped
model took 262-298 bytes each, accounted 312 (``tests/test_window_cache.py`` checks that the
accounted size is never below the real one)."""


@dataclass(frozen=True)
class CacheStats:
    """Counters of one :class:`WindowCache` since it was made (or :meth:`WindowCache.clear`).

    ``hits`` / ``misses``: window scores found / not found; ``text_hits`` / ``text_misses``:
    the same for the tokens (and decoded variants) of a conversation's pieces."""

    hits: int
    misses: int
    entries: int
    bytes: int
    max_bytes: int
    evictions: int
    text_hits: int = 0
    text_misses: int = 0

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0 when there were none)."""
        n = self.hits + self.misses
        return self.hits / n if n else 0.0


class WindowCache:
    """LRU map from a window's token ids to its logits row, bounded in bytes.

    It also keeps the tokens of the pieces of a conversation (one per history segment: see
    :func:`~.text.render_segments`) with their decoded variants, keyed by the piece's text, so
    that an unchanged turn is neither tokenized nor run through the decoders again. Both kinds
    of entry share the one byte bound and the one LRU order.

    ``namespace``: anything that identifies the model (its ``model.onnx`` sha256), so that one
    cache object could never hand one model's logits to another.
    """

    def __init__(self, max_mb: float = DEFAULT_WINDOW_CACHE_MB, *, namespace: str = ""):
        if isinstance(max_mb, bool) or not isinstance(max_mb, (int, float)) or not max_mb > 0:
            raise ValueError(f"window_cache_mb must be a number > 0 (0 turns the cache off), got {max_mb!r}")
        self.max_bytes = int(max_mb * 1024 * 1024)
        self._salt = hashlib.sha256(namespace.encode("utf-8")).digest()[:16]
        self._data: OrderedDict[bytes, tuple[object, int]] = OrderedDict()  # key -> (value, cost)
        self._lock = threading.Lock()
        self._bytes = 0
        self.hits = self.misses = self.evictions = 0
        self.text_hits = self.text_misses = 0
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (c := ref()) is not None and c._after_fork())

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    def key(self, window: Sequence[int]) -> bytes:
        """The entry key of a window (token ids without ``[CLS]``/``[SEP]``)."""
        h = hashlib.blake2b(digest_size=16, key=self._salt)
        h.update(np.asarray(window, dtype=np.int64).tobytes())
        return h.digest()

    def text_key(self, text: str) -> bytes:
        """The entry key of a conversation piece (its text; never equal to a window key)."""
        h = hashlib.blake2b(b"text", digest_size=16, key=self._salt)
        h.update(text.encode("utf-8", "surrogatepass"))
        return h.digest()

    def _store(self, k: bytes, value: object, cost: int) -> None:
        """Insert under the lock; evict least recently used entries past the bound."""
        if k in self._data:
            self._data.move_to_end(k)
            return
        if cost > self.max_bytes:
            return
        self._data[k] = (value, cost)
        self._bytes += cost
        while self._bytes > self.max_bytes:
            _, (_, old) = self._data.popitem(last=False)
            self._bytes -= old
            self.evictions += 1

    def get_many(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        """Logits rows of ``keys`` (``None`` for a miss); hits become most recently used."""
        out: list[np.ndarray | None] = []
        with self._lock:
            for k in keys:
                hit = self._data.get(k)
                if hit is None:
                    self.misses += 1
                    out.append(None)
                else:
                    self._data.move_to_end(k)
                    self.hits += 1
                    out.append(np.frombuffer(hit[0], dtype=np.float32))  # type: ignore[call-overload]
        return out

    def put_many(self, keys: Sequence[bytes], rows: np.ndarray) -> None:
        """Store logits rows (as bytes; read back as read-only float32 arrays); evict least
        recently used entries past the bound."""
        if len(keys) != len(rows):
            raise ValueError("put_many: one row per key")
        with self._lock:
            for k, r in zip(keys, rows):
                raw = np.ascontiguousarray(r, dtype=np.float32).tobytes()
                self._store(k, raw, ENTRY_BYTES + len(raw))

    def get_text(self, key: bytes) -> object | None:
        """The value kept for a piece's :meth:`text_key` (``None``: a miss)."""
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                self.text_misses += 1
                return None
            self._data.move_to_end(key)
            self.text_hits += 1
            return hit[0]

    def put_text(self, key: bytes, value: object, nbytes: int) -> None:
        """Keep a piece's value (immutable: its tokens, its decoded variants' tokens) that
        takes ``nbytes`` of memory besides the entry itself."""
        with self._lock:
            self._store(key, value, ENTRY_BYTES + int(nbytes))

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self._bytes = 0
            self.hits = self.misses = self.evictions = 0
            self.text_hits = self.text_misses = 0

    def stats(self) -> CacheStats:
        """A consistent snapshot of the counters."""
        with self._lock:
            return CacheStats(hits=self.hits, misses=self.misses, entries=len(self._data),
                              bytes=self._bytes, max_bytes=self.max_bytes, evictions=self.evictions,
                              text_hits=self.text_hits, text_misses=self.text_misses)

    def __len__(self) -> int:
        return len(self._data)
