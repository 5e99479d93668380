"""A fair, batching scheduler for classifier windows (one worker thread per model).

Why: an input check is a list of windows (``runtime/windows.py``); a long prompt is hundreds
of them. Run in the caller's thread, every check is one more thread calling onnxruntime
(oversubscribed cores, no bound on concurrent work), and a long check's batches of 16 windows
hold the cores for a third of a second each. Here every check submits its windows as a
*job*; a small pool of worker threads (``workers``, default 2) owns the onnxruntime calls and,
call after call:

* picks windows **shortest job first** (fewest windows left), and never runs two calls of
  the same job at once, so one long check occupies at most one worker: a short request starts
  on the other at once, or waits for one call, never for the whole long check; a job left
  waiting longer than ``max_wait_s`` (0.5 s) goes first, so short requests cannot starve a
  long one either;
* packs windows into calls of at most ``max_batch_tokens`` padded tokens (rows x longest
  row), windows of *different* jobs together when ``exact_rows`` is off;
* hands each job its logits when its last window is scored.

``exact_rows`` (on for dynamically quantized models): a call holds **one window** only. A
dynamic-int8 graph computes each activation's quantization scale over the whole call, so a
row's score moves with its neighbours, padding included (measured on the default input model:
logits move by up to 0.95 when a short window shares a call with a long one; not at all
beside a copy of itself). With exact rows a window's logits are a function of its tokens
alone: a check's verdict never depends on other requests in flight, on padding, nor on which
of its own windows were already in the window cache (``runtime/window_cache.py``). On CPU a
call's cost is almost all per row, so single-row calls cost little (``bench/bench_history.py``
measures it). Float models (no ``DynamicQuantizeLinear``) mask padding exactly, so there
jobs share calls.
Workers start on first use and are re-created after ``fork``; a caller that cancels its
future (a timeout) loses nothing for the others.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError

import numpy as np

RunBatch = Callable[[list[list[int]]], np.ndarray]


def _settle(future: Future, result: object = None, exc: BaseException | None = None) -> None:
    """Complete a future unless its caller already gave up on it (cancelled)."""
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


class _Job:
    __slots__ = ("windows", "out", "next", "done", "future", "running", "served")

    def __init__(self, windows: list[list[int]], width: int, future: Future):
        self.windows = windows
        self.out = np.zeros((len(windows), width), dtype=np.float32)
        self.next = 0      # next window to schedule
        self.done = 0      # windows scored
        self.future = future
        self.running = False  # a call holding this job's windows is in flight
        self.served = time.monotonic()  # when it last got a call (or was submitted)

    @property
    def left(self) -> int:
        return len(self.windows) - self.next


class WindowScheduler:
    """Runs ``run_batch(windows) -> logits[len(windows), width]`` for many jobs, fairly.

    ``max_batch_tokens``: the padded size (rows x (longest row + 2)) one call may reach; a
    single window always runs even when it is larger. ``max_batch_rows`` caps rows per call.
    """

    def __init__(self, run_batch: RunBatch, width: int, *, max_batch_tokens: int = 512,
                 max_batch_rows: int = 64, exact_rows: bool = True, workers: int = 2,
                 max_wait_s: float = 0.5, name: str = "guard-plugins-scheduler"):
        self._run_batch = run_batch
        self._width = width
        self.max_batch_tokens = max(1, int(max_batch_tokens))
        self.max_batch_rows = max(1, int(max_batch_rows))
        self.exact_rows = bool(exact_rows)
        self.workers = max(1, int(workers))
        self.max_wait_s = float(max_wait_s)  # ageing: no job waits longer than this for a call
        self._name = name
        self._cv = threading.Condition()
        self._jobs: list[_Job] = []
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()
        self.calls = 0            # onnxruntime calls made (for benchmarks and tests)
        self.shared_calls = 0     # calls that held windows of more than one job
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (s := ref()) is not None and s._after_fork())

    def _after_fork(self) -> None:
        """In a forked child the parent's threads are gone and the lock may be held: reset."""
        self._cv = threading.Condition()
        self._pid, self._threads, self._jobs = os.getpid(), [], []
    # -- public ----------------------------------------------------------------------------
    def submit(self, windows: Sequence[list[int]]) -> Future:
        """Queue one job; the future's result is its logits ``[len(windows), width]``."""
        fut: Future = Future()
        if not windows:
            fut.set_result(np.zeros((0, self._width), dtype=np.float32))
            return fut
        job = _Job(list(windows), self._width, fut)
        with self._cv:
            self._ensure_worker()
            self._jobs.append(job)
            self._cv.notify()
        return fut

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        with self._cv:
            return len(self._jobs)

    # -- worker ----------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self.workers:
            t = threading.Thread(target=self._loop, name=f"{self._name}-{len(self._threads)}", daemon=True)
            t.start()
            self._threads.append(t)

    def _pick(self) -> list[tuple[_Job, int]]:
        """The next call's windows: shortest job first, packed within the token budget."""
        rows: list[tuple[_Job, int]] = []
        width = 0
        for job in [j for j in self._jobs if j.future.cancelled()]:  # caller gave up
            self._jobs.remove(job)
        now = time.monotonic()
        # shortest job first, except that jobs kept waiting past max_wait_s go first, longest
        # wait first (ageing: a long check is never starved by a steady stream of short ones)
        order = sorted(self._jobs, key=lambda j: (0, j.served) if now - j.served > self.max_wait_s
                       else (1, j.left))
        for job in order:  # sorted() is stable: FIFO among equals
            if job.running:
                continue
            if rows and self.exact_rows:
                break
            while job.next < len(job.windows) and len(rows) < self.max_batch_rows:
                w = len(job.windows[job.next]) + 2
                if rows and (self.exact_rows or (len(rows) + 1) * max(width, w) > self.max_batch_tokens):
                    break
                rows.append((job, job.next))
                width = max(width, w)
                job.next += 1
            if len(rows) >= self.max_batch_rows:
                break
        for job, _ in rows:
            job.running = True
            job.served = now
        return rows

    def _loop(self) -> None:
        while True:
            with self._cv:
                rows = self._pick()
                while not rows:
                    self._cv.wait()
                    rows = self._pick()
            jobs = {id(j): j for j, _ in rows}
            try:
                logits = self._run_batch([j.windows[i] for j, i in rows])
                finished = []
                for r, (job, i) in enumerate(rows):
                    job.out[i] = logits[r]
                    job.done += 1
                    if job.done == len(job.windows):
                        finished.append(job)
            except BaseException as exc:  # noqa: BLE001 - handed to every caller in this call
                with self._cv:
                    for job in jobs.values():
                        job.running = False
                        if job in self._jobs:
                            self._jobs.remove(job)
                    self._cv.notify_all()
                for job in jobs.values():
                    _settle(job.future, exc=exc)
                continue
            with self._cv:
                self.calls += 1
                self.shared_calls += len(jobs) > 1
                for job in jobs.values():
                    job.running = False
                for job in finished:
                    self._jobs.remove(job)
                self._cv.notify_all()  # this job's next windows may go to any free worker
            for job in finished:
                _settle(job.future, job.out)
