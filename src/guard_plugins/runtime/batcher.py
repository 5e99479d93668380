"""Cross-stream batching for the streaming output guard: the streams of one guard share calls.

Why: a stream fed at the pace of a real LLM (a token every ~20 ms) makes one call per token.
A call of the shipped graph costs a fixed ~0.2 ms plus ~0.2 ms per row on one core, and an
even-row call (:mod:`.output_guard`) of one token costs two rows. With 50 such streams that
was ~1.5 cores of guard for 2,500 tokens/s. Here every stream's next token goes into **one**
call with the other streams' next tokens: ~0.2 ms per token plus the fixed cost once
(``bench/bench_stream_batch.py``).

How: :meth:`StreamBatcher.push` queues a stream's tokens and waits. Each shard has one worker
thread (a daemon) that runs every call: a step takes the queued streams that have a token left
(oldest first, at most ``max_rows``) and scores **one token per stream** in one batched decode
call of the graph (GroupQueryAttention takes a per-row ``seqlens_k`` / position). Nothing waits
for company: a lone stream's step runs as soon as the worker is free. Callers never touch the
pool, so a caller interrupted while it waits (Ctrl-C, a signal) only abandons its job, and a
stream given back by a garbage-collection finalizer takes no lock (its row is freed by the
worker once the stream has no unfinished job).

One path for every streamed token, so a token's value depends only on the prompt and the
response, never on the chunking or on which other streams shared its calls (bit for bit,
tested):

* every response token is scored by a one-token decode row. onnxruntime's CPU
  GroupQueryAttention refuses several tokens per row in a batched call with a cache
  ("batch_size must be 1 when sequence_length > 1"), and its one-token path rounds
  differently from its several-token path (up to ~0.004 logit), so streamed values differ
  from :meth:`~.output_guard.OutputGuard.check`'s whole-response pass by that much;
* every decode call has an **even number of rows** (``MatMulNBits`` pairs rows; a row's
  value does not depend on its partner): an odd set of rows takes one *rider*, an idle row
  of the pool that gets a padding token written at its own next position (overwritten by
  that stream's next real token; a free row writes position 0);
* prompt prefixes and re-primes (:mod:`.windows`) are batch-1 calls of their own, made the
  same way every time (even rows), and give context only: no value of theirs is scored.

KV pool: one ``[rows, heads, max_len + 1, head_dim]`` array per key/value; a stream takes a
row at its first token and gives it back when it finishes (rows are reused, lowest first).
The pool doubles (2, 4, 8, ... rows) when every row is taken, copying only the positions in
use; the rows a call needs are bound in place (contiguous runs of rows, no gather or
scatter). Its size is bounded by the guard's stream cap (``max_streams``); untouched positions
cost address space, not memory (``np.zeros`` pages are mapped on first write).
"""

from __future__ import annotations

import heapq
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnxruntime as ort

from ..errors import GuardError, InputError
from ._common import even_rows

__all__ = ["GATHER_S", "Lane", "StreamBatcher", "supports_batching"]

GATHER_S = 0.0005
"""How long a shard's worker waits for more open streams' tokens before a call (0.5 ms; not
when every open stream is queued already, so a lone stream never waits)."""


def supports_batching(session: Any) -> bool:
    """Whether a streaming graph takes several rows per call: a shared-cache graph
    (``seqlens_k`` input) whose ``input_ids`` batch dimension is symbolic."""
    inputs = {i.name: i for i in session.get_inputs()}
    if "seqlens_k" not in inputs or "input_ids" not in inputs:
        return False
    dim0 = inputs["input_ids"].shape[0]
    return not isinstance(dim0, int)


class Lane:
    """One stream's place in a :class:`StreamBatcher`: its shard, prefix, pool row, position
    and carried context. Its row and position are touched by its shard's worker only."""

    __slots__ = ("shard", "prefix", "recent", "row", "pos", "error", "released", "jobs")

    def __init__(self, shard: _Shard, prefix: list[int], carry: int):
        self.shard = shard
        self.prefix = list(prefix)
        self.recent: deque[int] = deque(maxlen=carry)
        self.row: int | None = None  # written by the shard's worker only
        self.pos = 0
        self.error: BaseException | None = None
        self.released = False
        self.jobs = 0  # unfinished jobs (under the shard's lock): its row is freed only at 0


class _Job:
    __slots__ = ("lane", "ids", "next", "values", "reprimed_at", "done", "error", "abandoned", "wake")

    def __init__(self, lane: Lane, ids: list[int]):
        self.lane = lane
        self.ids = ids
        self.next = 0
        self.values = np.empty(len(ids), dtype=np.float32)
        self.reprimed_at: list[int] = []
        self.done = False
        self.error: BaseException | None = None
        self.abandoned = False  # its caller stopped waiting (interrupted)
        self.wake = threading.Event()  # set when done

    def fail(self, e: BaseException) -> None:
        self.error = e
        self.done = True
        self.lane.error = e


class StreamBatcher:
    """Scores the tokens of many concurrent streams of one output graph in shared calls.

    Thread-safe. Made by :class:`~.output_guard.OutputGuard` when its graph supports it
    (:func:`supports_batching`); streams use it through :class:`~.output_guard.OutputStream`.

    ``workers`` shards: each has its own KV pool and its own worker thread, so up to ``workers``
    calls run at once (one core each on CPU); a new stream joins the shard with the fewest
    streams. One shard would put every stream's tokens on one core: on 2 cores 50 paced
    streams then fell behind (``bench/bench_stream_batch.py``).
    """

    def __init__(self, session: Any, past_names: Sequence[str], present_names: Sequence[str],
                 *, heads: int, head_dim: int, dtype: Any, max_len: int, carry: int, pad_id: int,
                 workers: int = 1, max_rows: int = 32):
        if int(workers) < 1:
            raise ValueError(f"workers must be >= 1, got {workers!r}")
        if int(max_rows) < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows!r}")
        self.carry = carry
        self._shards = [_Shard(session, past_names, present_names, heads=heads, head_dim=head_dim,
                               dtype=dtype, max_len=max_len, pad_id=pad_id, max_rows=int(max_rows))
                        for _ in range(int(workers))]

    @property
    def workers(self) -> int:
        return len(self._shards)

    @property
    def stats(self) -> dict[str, int]:
        """Totals over the shards: steps, decode calls, rows run, tokens scored,
        prefix/re-prime calls, pool rows, open streams."""
        out: dict[str, int] = {}
        for sh in self._shards:
            for k, v in sh.stats.items():
                out[k] = out.get(k, 0) + v
            out["streams"] = out.get("streams", 0) + sh.lanes
        return out

    def lane(self, prefix: list[int]) -> Lane:
        """A new stream's lane, on the shard with the fewest streams (its pool row is taken
        at its first token)."""
        shard = min(self._shards, key=_lanes)  # outside any lock (a finalizer may run here)
        with shard._cv:
            shard.lanes += 1
        return Lane(shard, prefix, self.carry)

    def release(self, lane: Lane) -> None:
        """Give the lane's pool row back (idempotent; takes no lock, so a garbage-collection
        finalizer may call it anywhere). The shard's worker frees the row once the lane has no
        unfinished job."""
        if lane.released:
            return
        lane.released = True
        lane.shard.released.put(lane)

    def push(self, lane: Lane, ids: Sequence[int]) -> tuple[np.ndarray, list[int]]:
        """Score ``ids`` as the next tokens of ``lane``: their values, in order, and the
        indices of the tokens a re-prime came before. Blocks until done."""
        return lane.shard.push(lane, ids)


def _lanes(shard: _Shard) -> int:
    return shard.lanes


class _Shard:
    """A KV pool and the streams on it. One worker thread (a daemon, started at the first
    push) runs every call, so no caller ever holds the pool: a caller interrupted while it
    waits only abandons its job."""

    def __init__(self, session: Any, past_names: Sequence[str], present_names: Sequence[str],
                 *, heads: int, head_dim: int, dtype: Any, max_len: int, pad_id: int, max_rows: int):
        self._session = session
        self.max_rows = max_rows
        self.gather_s = GATHER_S
        self._past = list(past_names)
        self._present = list(present_names)
        self._dims = (heads, max_len + 1, head_dim)  # one spare position: a rider's pad
        self._dtype = dtype
        self.max_len = max_len
        self._pad = int(pad_id)
        self.lanes = 0  # open streams on this shard (under _cv)
        self._arrays: list[np.ndarray] = [np.zeros((0, *self._dims), dtype) for _ in past_names]
        self._row_pos = np.zeros(0, dtype=np.int64)  # next position of each row (riders write there)
        self._free: list[int] = []
        self._cv = threading.Condition()
        self._queue: list[_Job] = []
        self._active: list[_Job] = []  # the worker's own
        self.released: queue.SimpleQueue[Lane] = queue.SimpleQueue()  # lock-free, for finalizers
        self._parked: list[Lane] = []  # released lanes whose jobs are not all finished yet
        self._thread: threading.Thread | None = None
        self.stats = {"steps": 0, "calls": 0, "rows": 0, "tokens": 0, "primes": 0, "pool_rows": 0}

    def push(self, lane: Lane, ids: Sequence[int]) -> tuple[np.ndarray, list[int]]:
        if lane.released:
            raise InputError("stream already finished")
        if lane.error is not None:
            raise GuardError(f"output stream unusable after an earlier guard error: {lane.error}")
        if not ids:
            return np.zeros(0, dtype=np.float32), []
        job = _Job(lane, list(ids))
        with self._cv:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="guard-stream-batcher",
                                                daemon=True)
                self._thread.start()
            lane.jobs += 1
            self._queue.append(job)
            self._cv.notify()
        try:
            job.wake.wait()
        except BaseException:  # interrupted: the worker drops the job; the stream is unusable
            job.abandoned = True
            raise
        if job.error is not None:
            if isinstance(job.error, GuardError):
                raise job.error
            raise GuardError(f"output guard call failed: {job.error}") from job.error
        return job.values, job.reprimed_at

    # -- the worker ----------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._active:
                    self._cv.wait()
                # other open streams may be about to send their next token: wait a moment
                # for them (at most gather_s), never when every open stream is queued already
                deadline = time.monotonic() + self.gather_s
                while (len(self._queue) + len(self._active) < min(self.lanes, self.max_rows)
                       and (left := deadline - time.monotonic()) > 0):
                    self._cv.wait(left)
                self._active.extend(self._queue)
                self._queue.clear()
            self._free_released()
            # the oldest streams first, at most max_rows of them; those served go to the back
            taken, rest = [], []
            for j in self._active:
                if j.abandoned:
                    self._finish(j, GuardError("stream abandoned while its tokens were scored"))
                elif len(taken) < self.max_rows:
                    taken.append(j)
                else:
                    rest.append(j)
            try:
                self._step(taken)
            except Exception as e:  # noqa: BLE001 - every stream in the step must hear of it
                for j in taken:
                    if not j.done:
                        j.fail(e)
            for j in taken:
                if j.done:
                    self._finish(j)
                else:
                    rest.append(j)
            self._active = rest

    def _finish(self, job: _Job, error: BaseException | None = None) -> None:
        if error is not None and not job.done:
            job.fail(error)
        with self._cv:
            job.lane.jobs -= 1
        job.wake.set()

    def _free_released(self) -> None:
        """Rows of released lanes go back to the pool once their jobs are all finished."""
        lanes = self._parked
        while True:
            try:
                lanes.append(self.released.get_nowait())
            except queue.Empty:
                break
        parked = []
        for lane in lanes:
            with self._cv:
                if lane.jobs:
                    parked.append(lane)
                    continue
                self.lanes -= 1
            if lane.row is not None:
                self._row_pos[lane.row] = 0
                heapq.heappush(self._free, lane.row)
                lane.row = None
        self._parked = parked

    def _step(self, jobs: list[_Job]) -> None:
        self.stats["steps"] += 1
        ready: dict[int, _Job] = {}
        for j in jobs:
            lane = j.lane
            try:
                if lane.row is None:
                    lane.row = self._take_row()
                    self._prime(lane, [])
                elif lane.pos >= self.max_len:
                    self._prime(lane, list(lane.recent))
                    j.reprimed_at.append(j.next)
            except Exception as e:  # noqa: BLE001
                j.fail(e)
                continue
            ready[lane.row] = j
        if not ready:
            return
        for lo, hi in self._runs(sorted(ready)):
            run = [ready.get(r) for r in range(lo, hi)]
            try:
                self._decode(lo, hi, run)
            except Exception as e:  # noqa: BLE001
                for j in run:
                    if j is not None:
                        j.fail(e)

    def _runs(self, rows: list[int]) -> list[tuple[int, int]]:
        """Contiguous row ranges covering ``rows``; a single idle row between two is taken
        along (a rider costs about what another call would); every range has even length."""
        runs: list[list[int]] = []
        for r in rows:
            if runs and r - runs[-1][1] <= 1:
                runs[-1][1] = r + 1
            else:
                runs.append([r, r + 1])
        total = len(self._row_pos)
        for run in runs:
            if (run[1] - run[0]) % 2:
                if run[1] < total:
                    run[1] += 1
                else:
                    run[0] -= 1  # the pool has an even number of rows, so this row exists
        return [(lo, hi) for lo, hi in runs]

    def _bind(self, lo: int, hi: int) -> Any:
        b = self._session.io_binding()
        b.bind_output("logits")
        for past, present, a in zip(self._past, self._present, self._arrays):
            v = ort.OrtValue.ortvalue_from_numpy(a[lo:hi])
            b.bind_ortvalue_input(past, v)
            b.bind_ortvalue_output(present, v)
        return b

    def _decode(self, lo: int, hi: int, run: list[_Job | None]) -> None:
        """One call: a token for every job row in ``lo..hi``, a padding token for riders."""
        n = hi - lo
        pos = self._row_pos[lo:hi].copy()
        ids = np.full((n, 1), self._pad, dtype=np.int64)
        for k, j in enumerate(run):
            if j is not None:
                ids[k, 0] = j.ids[j.next]
        b = self._bind(lo, hi)
        b.bind_cpu_input("input_ids", ids)
        b.bind_cpu_input("position_ids", np.minimum(pos, self.max_len - 1)[:, None])
        b.bind_cpu_input("seqlens_k", pos.astype(np.int32))
        b.bind_cpu_input("total_sequence_length", np.array(int(pos.max()) + 1, dtype=np.int32))
        self._session.run_with_iobinding(b)
        values = b.get_outputs()[0].numpy()[:, 0]
        st = self.stats
        st["calls"] += 1
        st["rows"] += n
        for k, j in enumerate(run):
            if j is None:
                continue
            lane = j.lane
            tok = j.ids[j.next]
            j.values[j.next] = values[k]
            lane.pos += 1
            lane.recent.append(tok)
            self._row_pos[lo + k] = lane.pos
            j.next += 1
            st["tokens"] += 1
            if j.next == len(j.ids):
                j.done = True

    def _prime(self, lane: Lane, context: list[int]) -> None:
        """Write ``prefix + context`` into the lane's row from position 0 (even rows)."""
        ids, pos = even_rows(lane.prefix + context, 0, (self._pad, self.max_len - 1))
        row = lane.row
        assert row is not None
        b = self._bind(row, row + 1)
        b.bind_cpu_input("input_ids", np.asarray([ids], dtype=np.int64))
        b.bind_cpu_input("position_ids", np.asarray([pos], dtype=np.int64))
        b.bind_cpu_input("seqlens_k", np.array([len(ids) - 1], dtype=np.int32))
        b.bind_cpu_input("total_sequence_length", np.array(len(ids), dtype=np.int32))
        self._session.run_with_iobinding(b)
        lane.pos = len(lane.prefix) + len(context)
        self._row_pos[row] = lane.pos
        self.stats["primes"] += 1

    def _take_row(self) -> int:
        if not self._free:
            self._grow()
        return heapq.heappop(self._free)

    def _grow(self) -> None:
        """Double the pool (at least 2 rows), copying only the positions rows hold."""
        old = len(self._row_pos)
        new = max(2, 2 * old)
        arrays = []
        for a in self._arrays:
            g = np.zeros((new, *self._dims), dtype=self._dtype)
            for r in range(old):
                used = int(self._row_pos[r])
                if used:
                    g[r, :, :used] = a[r, :, :used]
            arrays.append(g)
        self._arrays = arrays
        self._row_pos = np.concatenate([self._row_pos, np.zeros(new - old, dtype=np.int64)])
        for r in range(old, new):
            heapq.heappush(self._free, r)
        self.stats["pool_rows"] = new
