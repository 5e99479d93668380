"""The cap on open output streams (``max_streams``, ``runtime/slots.py``): back-pressure, the
busy error, slots given back on finish / close / garbage collection, and the integrations that
wait for a slot without blocking the event loop.

Real parts: the shipped ONNX models and real litellm (only the LLM is scripted with
``mock_response``). Harmful scripted content uses redacted placeholders only.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest  # noqa: E402

from guard_plugins.errors import GuardBusyError, InputError  # noqa: E402
from guard_plugins.runtime import Guard  # noqa: E402
from guard_plugins.runtime.slots import StreamSlots  # noqa: E402

PROMPT = "Can you explain how photosynthesis works, in a few sentences?"
TEXT = ("Sure! Photosynthesis is how plants make their own food. Chlorophyll absorbs sunlight, "
        "and the plant combines carbon dioxide and water into glucose, releasing oxygen.")


# ------------------------------------------------------------------ the limiter on its own
def test_limit_busy_error_and_idempotent_release() -> None:
    slots = StreamSlots(2, wait_s=0.05)
    a, b = slots.acquire(), slots.acquire()
    t0 = time.monotonic()
    with pytest.raises(GuardBusyError) as info:
        slots.acquire()
    assert time.monotonic() - t0 >= 0.04  # it waited before giving up
    assert info.value.limit == 2 and info.value.waited_s >= 0.04
    assert "max_streams" in str(info.value)
    a.release()
    a.release()  # idempotent: must not free a second slot
    assert slots.in_use == 1
    c = slots.acquire()
    with pytest.raises(GuardBusyError):
        slots.acquire(timeout=0)
    b.release(), c.release()
    assert slots.stats() == {"limit": 2, "in_use": 0, "waiting": 0, "peak": 2, "waited": 1, "refused": 2}


def test_waiters_are_served_in_arrival_order() -> None:
    slots = StreamSlots(1, wait_s=5)
    held = slots.acquire()
    order: list[int] = []
    got = []

    def take(i: int) -> None:
        s = slots.acquire()
        order.append(i)
        got.append(s)
        s.release()

    threads = []
    for i in range(4):
        t = threading.Thread(target=take, args=(i,))
        t.start()
        threads.append(t)
        while slots.waiting < i + 1:  # queue them in a known order
            time.sleep(0.001)
    held.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3]
    assert all(s.waited_s > 0 for s in got) and slots.in_use == 0


def test_no_cap_and_bad_settings() -> None:
    slots = StreamSlots(None)
    held = [slots.acquire(timeout=0) for _ in range(500)]
    assert slots.in_use == 500
    for s in held:
        s.release()
    for bad in (0, -1, 1.5, True, "8"):
        with pytest.raises(InputError, match="max_streams"):
            StreamSlots(bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="stream_wait_s"):
        StreamSlots(4, wait_s=-1)


def test_async_waiters_hold_no_thread_and_never_leak() -> None:
    """Coroutines wait on the loop (the loop keeps running other work), get slots freed from
    another thread, and a waiter that times out or is cancelled leaves no slot behind."""
    slots = StreamSlots(1, wait_s=5)

    async def main() -> None:
        held = slots.acquire()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        tick = asyncio.create_task(ticker())
        waiter = asyncio.create_task(slots.aacquire())
        await asyncio.sleep(0.05)
        assert not waiter.done() and ticks > 5  # waiting did not block the loop
        threading.Timer(0.01, held.release).start()
        slot = await asyncio.wait_for(waiter, 5)
        assert slots.in_use == 1 and slot.waited_s > 0
        # a waiter that times out, and one that is cancelled, take nothing
        with pytest.raises(GuardBusyError):
            await slots.aacquire(timeout=0.02)
        cancelled = asyncio.create_task(slots.aacquire())
        await asyncio.sleep(0.01)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert slots.waiting == 0
        slot.release()
        assert slots.in_use == 0
        # the sync acquire on the loop's own thread refuses at once instead of deadlocking
        held = slots.acquire()
        t0 = time.monotonic()
        with pytest.raises(GuardBusyError):
            slots.acquire(timeout=5)
        assert time.monotonic() - t0 < 1
        held.release()
        tick.cancel()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_many_racing_acquirers_end_with_every_slot_back() -> None:
    """Threads and coroutines acquiring, timing out and releasing at once: the count ends at 0."""
    slots = StreamSlots(3, wait_s=0.02)
    stop = time.monotonic() + 1.0
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while time.monotonic() < stop:
                try:
                    s = slots.acquire()
                except GuardBusyError:
                    continue
                assert slots.in_use <= 3
                time.sleep(0.001)
                s.release()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    async def coroutines() -> None:
        async def one() -> None:
            while time.monotonic() < stop:
                try:
                    s = await slots.aacquire()
                except GuardBusyError:
                    continue
                await asyncio.sleep(0.001)
                s.release()
        await asyncio.gather(*(one() for _ in range(6)))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    asyncio.run(coroutines())
    for t in threads:
        t.join(5)
    assert not errors and slots.in_use == 0 and slots.waiting == 0 and slots.peak <= 3


# ------------------------------------------------------------------ real models
@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.load(providers="cpu", max_streams=2, stream_wait_s=0.1)


def test_streams_give_slots_back_on_finish_close_and_collection(guard: Guard) -> None:
    slots = guard.output.slots
    a, b = guard.stream(PROMPT), guard.stream(PROMPT)
    assert slots.in_use == 2
    with pytest.raises(GuardBusyError):
        guard.stream(PROMPT)
    a.feed(TEXT)
    a.finish()
    assert slots.in_use == 1
    a.finish()  # idempotent
    b.close()
    assert slots.in_use == 0
    with pytest.raises(InputError):
        b.feed("more")
    c = guard.stream(PROMPT)
    c.feed(TEXT[:20])
    del c
    gc.collect()
    assert slots.in_use == 0
    with pytest.raises(InputError):  # a bad prompt fails before it takes a slot
        guard.stream(123)  # type: ignore[arg-type]
    assert slots.in_use == 0


def test_the_cap_does_not_change_scores(guard: Guard) -> None:
    free = Guard.load(providers="cpu", max_streams=None)
    scores = []
    for g in (guard, free):
        s = g.stream(PROMPT)
        per_feed = [s.feed(TEXT[i:i + 4]).score for i in range(0, len(TEXT), 4)]
        scores.append((per_feed, s.finish().score))
    assert scores[0] == scores[1]


def test_astream_waits_for_a_slot(guard: Guard) -> None:
    async def main() -> None:
        a, b = await guard.astream(PROMPT), await guard.astream(PROMPT)
        waiting = asyncio.create_task(guard.output.slots.aacquire(timeout=5))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        a.feed(TEXT)
        a.finish()
        slot = await asyncio.wait_for(waiting, 5)
        slot.release()
        b.close()

    asyncio.run(asyncio.wait_for(main(), 20))
    assert guard.output.slots.in_use == 0


def test_litellm_async_stream_waits_then_fails_closed_or_open() -> None:
    """``guarded_acompletion`` waits for a slot on the loop; when none comes in time the stream
    is halted at its first chunk (fail-closed) or passes unwatched (fail-open)."""
    from guard_plugins.litellm import CONTENT_FILTER, GuardPolicy, guarded_acompletion

    g = Guard.load(providers="cpu", max_streams=1, stream_wait_s=30)
    messages = [{"role": "user", "content": PROMPT}]

    async def run(policy: GuardPolicy) -> tuple[str, str | None]:
        s = await guarded_acompletion(model="openai/gpt-4o-mini", messages=messages, mock_response=TEXT,
                                      stream=True, guard=policy)
        chunks = [c async for c in s]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return text, [c.choices[0].finish_reason for c in chunks if c.choices][-1]

    async def main() -> None:
        closed = GuardPolicy(guard=g, log_errors=False)
        # two streams through one slot: the second waits for the first, both pass whole
        results = await asyncio.gather(run(closed), run(closed))
        assert results == [(TEXT, "stop")] * 2
        assert g.output.slots.waited >= 1 and g.output.slots.in_use == 0
        held = g.output.slots.acquire()
        g.output.slots.wait_s = 0.2
        text, finish = await run(closed)
        assert (text, finish) == ("", CONTENT_FILTER)
        text, finish = await run(GuardPolicy(guard=g, fail_closed=False, log_errors=False))
        assert (text, finish) == (TEXT, "stop")
        held.release()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert g.output.slots.in_use == 0


@pytest.mark.parametrize("path", ["proxy", "sdk"])
def test_slot_given_back_when_the_close_itself_is_cancelled(path: str) -> None:
    """A client that goes away: the server closes the guarded stream, and that close is
    cancelled too (shutdown, an anyio cancel scope). The stream slot must still come back:
    nothing else would free it, and after ``max_streams`` such clients every stream would wait
    and then fail closed (found in review; the slot was released after an await)."""
    import logging

    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

    from guard_plugins.litellm import ConstitutionalGuardrail, GuardPolicy
    from guard_plugins.litellm.sdk import GuardedAsyncStream, _ChatStreamState

    g = Guard.load(providers="cpu", max_streams=4)
    rail = ConstitutionalGuardrail(guardrail_name="g", guard=g, event_hook=["pre_call", "post_call"],
                                   default_on=True)

    async def upstream():
        try:
            for i in range(1000):
                await asyncio.sleep(0.01)
                yield ModelResponseStream(choices=[StreamingChoices(index=0, delta=Delta(content=f"word{i} "))])
        finally:
            await asyncio.sleep(0.05)  # closing the LLM's connection takes a moment

    async def main() -> None:
        data = {"messages": [{"role": "user", "content": "hi"}]}
        for _ in range(6):  # more than max_streams
            if path == "proxy":
                stream = rail.async_post_call_streaming_iterator_hook(None, upstream(), data)
            else:
                stream = GuardedAsyncStream(upstream(), _ChatStreamState(GuardPolicy(guard=g), "hi"))
            await stream.__anext__()
            await stream.__anext__()  # the client read a little, then left
            closing = asyncio.ensure_future(stream.aclose())
            await asyncio.sleep(0.01)
            closing.cancel()  # ...and the close is cancelled too
            with pytest.raises(asyncio.CancelledError):
                await closing
            await asyncio.sleep(0.1)
            assert g.output.slots.in_use == 0

    logging.disable(logging.WARNING)
    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        logging.disable(logging.NOTSET)


def test_a_finalizer_inside_the_lock_does_not_deadlock(monkeypatch) -> None:
    """A stream collected by the garbage collector gives its slot back from a finalizer, and a
    collection can start on any allocation, also one made while this thread holds the slots'
    lock (``StreamSlot(...)`` in ``_take``). With a plain lock that deadlocked (found in review);
    here the finalizer's release runs at exactly that point."""
    from guard_plugins.runtime import slots as sl

    slots = StreamSlots(2)
    held = slots.acquire()
    real_init = sl.StreamSlot.__init__
    fired: list[bool] = []

    def init(self, owner):
        real_init(self, owner)
        if not fired:  # what a collection inside the lock would run
            fired.append(True)
            held.release()

    monkeypatch.setattr(sl.StreamSlot, "__init__", init)
    got: list = []
    t = threading.Thread(target=lambda: got.append(slots.acquire()), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "acquire deadlocked on a release made inside its own lock"
    assert fired and got and slots.in_use == 1 and held.released
