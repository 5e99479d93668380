"""A cap on the output streams one :class:`~.output_guard.OutputGuard` holds open at a time.

Every open stream holds its own KV cache (2.4 MB at 128 positions, up to 9.4 MB at 512 for the
default model), so memory grows with the number of responses being watched at once. The cap
bounds it: a stream takes a slot when it opens and gives it back when it finishes, is closed,
or is dropped. Beyond the cap a new stream waits for a slot (back-pressure), up to
``wait_s`` seconds, then gets :class:`~guard_plugins.errors.GuardBusyError`.

Two ways to wait:

* :meth:`StreamSlots.acquire`: blocks the calling thread (sync callers).
* :meth:`StreamSlots.aacquire`: awaits without holding a thread or blocking the event loop
  (the LiteLLM proxy and the async SDK wrapper). A caller that is itself on an event loop's
  thread must use this one: blocking that thread can never see a slot freed by the streams the
  same loop runs, so :meth:`acquire` does not wait there (it fails at once instead).

Slots are handed out first come, first served (waiting threads and coroutines in one queue).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any

from ..errors import GuardBusyError, InputError

DEFAULT_MAX_STREAMS = 64
"""Default cap. 64 streams hold 150-600 MB of KV cache (responses of about 100 to 512+
tokens); on 2 CPU cores 50 concurrent streams already use all the compute, so more slots
would add memory, not throughput. Raise it on bigger machines (``max_streams``)."""

DEFAULT_WAIT_S = 60.0
"""How long a new stream waits for a slot before :class:`GuardBusyError`."""


def _on_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class StreamSlot:
    """One held slot. :meth:`release` is idempotent (a stream calls it at finish, close and
    garbage collection)."""

    __slots__ = ("_owner", "_released", "waited_s", "__weakref__")

    def __init__(self, owner: StreamSlots):
        self._owner = owner
        self._released = False
        self.waited_s = 0.0  # how long the taker waited for it (back-pressure)

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        owner = self._owner
        with owner._lock:
            if self._released:
                return
            self._released = True
            owner._in_use -= 1
            owner._hand_over()


class _Waiter:
    __slots__ = ("event", "loop", "future", "slot")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None,
                 future: asyncio.Future | None = None):
        self.event = threading.Event() if loop is None else None
        self.loop = loop
        self.future = future
        self.slot: StreamSlot | None = None


class StreamSlots:
    """At most ``limit`` slots out at once (``None``: no limit, nothing ever waits)."""

    def __init__(self, limit: int | None = DEFAULT_MAX_STREAMS, wait_s: float = DEFAULT_WAIT_S):
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InputError(f"max_streams must be a positive integer or None, got {limit!r}")
        if isinstance(wait_s, bool) or not isinstance(wait_s, (int, float)) or not wait_s >= 0:
            raise InputError(f"stream_wait_s must be a number >= 0, got {wait_s!r}")
        self.limit = limit
        self.wait_s = float(wait_s)
        # re-entrant: a stream collected by the garbage collector gives its slot back from a
        # finalizer, which can run in this very thread while it holds the lock (an allocation
        # inside the lock triggers a collection); a plain lock deadlocked there
        self._lock = threading.RLock()
        self._in_use = 0
        self._waiters: deque[_Waiter] = deque()
        self.peak = 0
        self.waited = 0     # acquisitions that had to wait
        self.refused = 0    # GuardBusyError raised

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def stats(self) -> dict[str, Any]:
        return {"limit": self.limit, "in_use": self._in_use, "waiting": len(self._waiters),
                "peak": self.peak, "waited": self.waited, "refused": self.refused}

    # -- internals (called with the lock held)
    def _take(self) -> StreamSlot:
        self._in_use += 1
        self.peak = max(self.peak, self._in_use)
        return StreamSlot(self)

    def _free(self) -> bool:
        return self.limit is None or self._in_use < self.limit

    def _hand_over(self) -> None:
        """Give freed slots to the oldest waiters still waiting."""
        while self._waiters and self._free():
            w = self._waiters.popleft()
            if w.loop is None:
                w.slot = self._take()
                w.event.set()
            else:
                if w.future.done():  # cancelled or timed out meanwhile
                    continue
                w.slot = self._take()
                try:
                    w.loop.call_soon_threadsafe(_resolve, w)
                except RuntimeError:  # that loop is closed: the slot goes back
                    w.slot = None
                    self._in_use -= 1

    def _busy(self, waited_s: float) -> GuardBusyError:
        self.refused += 1
        return GuardBusyError(
            f"all {self.limit} output-stream slots are in use "
            f"(waited {waited_s:.1f} s; raise max_streams or stream_wait_s, or add replicas)",
            limit=self.limit or 0, waited_s=waited_s)

    # -- public
    def acquire(self, timeout: float | None = None) -> StreamSlot:
        """A slot for a new stream, waiting up to ``timeout`` (default ``wait_s``) seconds.

        On an event loop's own thread it does not wait (see the module docstring)."""
        timeout = self.wait_s if timeout is None else float(timeout)
        with self._lock:
            if self._free() and not self._waiters:
                return self._take()
            if timeout <= 0 or _on_loop_thread():
                raise self._busy(0.0)
            w = _Waiter()
            self._waiters.append(w)
            self.waited += 1
        t0 = time.monotonic()
        w.event.wait(timeout)
        with self._lock:
            if w.slot is not None:
                w.slot.waited_s = time.monotonic() - t0
                return w.slot
            self._waiters.remove(w)
            raise self._busy(time.monotonic() - t0)

    async def aacquire(self, timeout: float | None = None) -> StreamSlot:
        """:meth:`acquire` for coroutines: waits without holding a thread."""
        timeout = self.wait_s if timeout is None else float(timeout)
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free() and not self._waiters:
                return self._take()
            if timeout <= 0:
                raise self._busy(0.0)
            w = _Waiter(loop, loop.create_future())
            self._waiters.append(w)
            self.waited += 1
        t0 = time.monotonic()
        try:
            slot = await asyncio.wait_for(asyncio.shield(w.future), timeout)
            slot.waited_s = time.monotonic() - t0
            return slot
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            with self._lock:
                if w.future.done() and not w.future.cancelled():
                    slot = w.future.result()  # resolved just as the wait gave up
                else:
                    w.future.cancel()
                    slot, w.slot = w.slot, None
                if w in self._waiters:
                    self._waiters.remove(w)
            if slot is not None:  # handed over just as we gave up: give it back
                slot.release()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise self._busy(time.monotonic() - t0) from None


def _resolve(w: _Waiter) -> None:
    """On the waiter's loop: complete its future with the slot (or give the slot back when
    the waiter gave up in between)."""
    if w.future.done():
        slot, w.slot = w.slot, None
        if slot is not None:
            slot.release()
        return
    w.future.set_result(w.slot)
    w.slot = None
