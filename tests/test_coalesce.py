"""``guard_plugins.litellm.coalesce.batches``: the catch-up batching of guarded async streams.

Plain asyncio upstreams (no models): order kept, items that waited come together, a slow
upstream gives batches of one, errors arrive after the items before them, the reader never
runs more than ``max_items`` ahead, and closing the batches cancels the reader so that the
upstream can be closed.
"""

from __future__ import annotations

import asyncio

import pytest

from guard_plugins.litellm.coalesce import batches


async def _gen(items, delay: float = 0.0, fail_after: int | None = None, log: list | None = None):
    for i, item in enumerate(items):
        if fail_after is not None and i == fail_after:
            raise ValueError("upstream broke")
        if delay:
            await asyncio.sleep(delay)
        if log is not None:
            log.append(item)
        yield item


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


def test_waiting_items_come_together_in_order() -> None:
    async def main():
        out = []
        async for batch in batches(_gen(range(50)), max_items=16):
            out.append(batch)
            await asyncio.sleep(0.01)  # a busy guard: the reader fills the queue meanwhile
        return out

    out = run(main())
    assert [x for b in out for x in b] == list(range(50))
    assert all(1 <= len(b) <= 16 for b in out)
    assert max(len(b) for b in out) == 16 and len(out) < 10


def test_slow_upstream_gives_batches_of_one() -> None:
    async def main():
        return [b async for b in batches(_gen(range(5), delay=0.02))]

    assert run(main()) == [[0], [1], [2], [3], [4]]


def test_error_after_the_items_before_it() -> None:
    async def main():
        got = []
        with pytest.raises(ValueError, match="upstream broke"):
            async for batch in batches(_gen(range(10), fail_after=6)):
                got.extend(batch)
        return got

    assert run(main()) == list(range(6))


def test_reader_stays_within_max_items_and_close_stops_it() -> None:
    async def main():
        log: list = []
        closed = asyncio.Event()

        async def upstream():
            try:
                async for x in _gen(range(1000), log=log):
                    yield x
            finally:
                closed.set()

        up = upstream()
        it = batches(up, max_items=8)
        first = await it.__anext__()
        await asyncio.sleep(0.05)  # the consumer is busy; the reader may only fill the queue
        ahead = len(log)
        await it.aclose()
        await up.aclose()  # safe: the reader is gone
        return first, ahead, closed.is_set()

    first, ahead, closed = run(main())
    assert first and first[0] == 0
    assert ahead <= len(first) + 8 + 1  # the queue's bound (+1 item in the reader's hand)
    assert closed


def test_empty_upstream() -> None:
    async def main():
        return [b async for b in batches(_gen([]))]

    assert run(main()) == []


def test_upstream_cancelled_error_reaches_the_consumer() -> None:
    """An upstream that raises CancelledError of its own (an inner task cancelled by someone
    else) ends the batches with that error, as a plain ``async for`` would: no hang."""
    async def up():
        yield 1
        raise asyncio.CancelledError()

    got: list = []

    async def consume():
        async for batch in batches(up()):
            got.extend(batch)

    async def main():
        task = asyncio.ensure_future(consume())
        done, _ = await asyncio.wait({task}, timeout=3)  # no cancellation from outside
        if not done:
            task.cancel()
            return "hung"
        return "cancelled" if task.cancelled() else repr(task.exception())

    assert asyncio.run(main()) == "cancelled"
    assert got == [1]


def test_cancelled_consumer_leaves_no_reader_behind() -> None:
    """What the integrations do on a client that goes away: the consumer is cancelled during a
    guard call and closes the batches in ``finally``, and that close is cancelled too. The
    reader task is cancelled all the same."""
    async def main():
        started = asyncio.Event()

        async def up():
            for i in range(1000):
                started.set()
                await asyncio.sleep(0.005)
                yield i

        async def consume():
            pump = batches(up(), max_items=4)
            try:
                async for _ in pump:
                    await asyncio.sleep(1)  # a slow guard call
            finally:
                await pump.aclose()

        task = asyncio.ensure_future(consume())
        await started.wait()
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.sleep(0)  # the consumer is now inside its finally, awaiting the close
        task.cancel()           # ...and is cancelled again there
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(3):
            await asyncio.sleep(0)
        return [t for t in asyncio.all_tasks()
                if "batches" in getattr(t.get_coro(), "__qualname__", "") and not t.done()]

    assert run(main()) == []  # the reader task is gone
