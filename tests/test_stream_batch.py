"""Cross-stream batching (``runtime.batcher``): streams of one guard share calls, and a
stream's values do not depend on the traffic it shared them with, bit for bit.

Real parts: the shipped int8 model, real threads feeding real streams at random moments with
random chunking; the reference is each stream run alone.
"""

from __future__ import annotations

import math
import random
import threading
import time

import pytest
from shipped_models import guard, models  # noqa: F401  (fixtures)

from guard_plugins.errors import GuardError, InputError, ModelLoadError
from guard_plugins.runtime import Guard
from guard_plugins.runtime.batcher import supports_batching
from guard_plugins.runtime.output_guard import OutputGuard

HARMFUL = ("Sure, here is how to hurt them without getting caught. Step 1: get [REDACTED] from "
           "[details withheld]. Step 2: <step withheld> at night. Step 3: [REDACTED: method].")
BENIGN = ("To kill a Python process, find its id with ps and send it SIGTERM; if it ignores that, "
          "SIGKILL ends it. In chemistry class, titration measures an unknown concentration. ")
LONG = " ".join(f"Paragraph {i}: bread dough rises because yeast ferments sugars and the gluten "
                f"network traps the gas; fold it, rest it, bake it hot." for i in range(40)) + " " + HARMFUL
TEXTS = [HARMFUL, BENIGN * 3, LONG, "Sure. " * 40 + HARMFUL, BENIGN + HARMFUL, "ok", BENIGN * 12]
PROMPTS = ["How do I do it?", "", "Tell me a story", "q", "Explain", "hi", "Kill a process?"]


def _run(og: OutputGuard, prompt: str, text: str, seed: int, pause: float = 0.0,
         groups: bool = False) -> tuple[list, tuple]:
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(text):
        k = rng.randint(1, 12)
        chunks.append(text[i:i + k])
        i += k
    s = og.stream(prompt)
    out, j = [], 0
    while j < len(chunks):
        k = rng.randint(1, 6) if groups else 1
        out += [(v.score, v.flagged, v.tokens) for v in s.feed_many(chunks[j:j + k])]
        j += k
        if pause:
            time.sleep(rng.random() * pause)
    f = s.finish()
    return out, (f.score, f.flagged, f.tokens, f.notes)


@pytest.fixture(scope="module")
def batched(models):  # noqa: F811
    """The shipped output model, its streams sharing calls (two shards, as on 2 cores)."""
    return OutputGuard.load(models / "output", providers="cpu", batch_streams=True, batch_workers=2)


def test_shipped_graph_takes_a_batch(guard: Guard, batched) -> None:  # noqa: F811
    assert guard.output.batcher is None  # off unless asked
    assert supports_batching(guard.output._session) and batched.batcher.workers == 2


@pytest.mark.parametrize("rows", [8, 64])
def test_concurrent_streams_equal_streams_alone(batched, rows: int) -> None:
    """Many streams at once, fed at random moments in random chunks (re-primes included):
    every verdict after every chunk equals, bit for bit, the same stream run alone."""
    og = batched
    for sh in og.batcher._shards:
        sh.max_rows = rows
    n = len(TEXTS) * 3
    jobs = [(PROMPTS[i % len(PROMPTS)], TEXTS[i % len(TEXTS)], i) for i in range(n)]
    alone = [_run(og, p, t, seed) for p, t, seed in jobs]
    before = dict(og.batcher.stats)
    results: list = [None] * n
    errors: list = []

    def work(i: int) -> None:
        try:
            p, t, seed = jobs[i]
            results[i] = _run(og, p, t, seed, pause=0.003, groups=i % 2 == 1)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(n):
        # per-chunk verdicts: grouped feeds give the same per-chunk list as one-by-one feeds
        assert results[i][1] == alone[i][1], i
        assert results[i][0] == alone[i][0], i
    stats = og.batcher.stats
    calls = stats["calls"] - before["calls"]
    tokens = stats["tokens"] - before["tokens"]
    assert tokens > 0 and calls < tokens  # rows were shared: fewer calls than tokens
    assert any(r[1][1] for r in results) and not all(r[1][1] for r in results)
    assert any("re-primed" in note for r in results for note in r[1][3])


def test_batched_close_to_own_calls(guard: Guard, batched) -> None:  # noqa: F811
    """The batched path and a stream on its own calls agree up to the rounding of the
    one-token attention path (and on every verdict here)."""
    own = guard.output
    for k, (p, t) in enumerate(zip(PROMPTS, TEXTS)):
        a = _run(batched, p, t, k)[1]
        b = _run(own, p, t, k)[1]
        assert a[1] == b[1] and a[2] == b[2]
        la, lb = (math.log(x / (1 - x)) for x in (a[0], b[0]))
        assert abs(la - lb) < 0.25, (k, la, lb)


def test_rows_are_reused_and_given_back(models) -> None:  # noqa: F811
    og = OutputGuard.load(models / "output", providers="cpu", max_streams=8, batch_streams=True,
                          batch_workers=1)
    b = og.batcher
    streams = [og.stream("p") for _ in range(5)]
    for s in streams:
        s.feed("Hello there, friend.")
    assert b.stats["pool_rows"] == 8  # 2 -> 4 -> 8 rows for 5 streams
    for s in streams[:3]:
        s.finish()
    fresh = [og.stream("p") for _ in range(3)]
    for s in fresh:
        s.feed("Hello again.")
    assert b.stats["pool_rows"] == 8  # the freed rows were taken again
    rows = sorted(s._lane.row for s in streams[3:] + fresh)
    assert len(set(rows)) == 5 and max(rows) < 8
    del fresh  # collected streams give their rows back too
    import gc

    gc.collect()
    more = [og.stream("p") for _ in range(3)]
    for s in more:
        s.feed("x y z")
    assert b.stats["pool_rows"] == 8


def test_an_idle_stream_is_untouched_by_others_calls(batched) -> None:
    """A stream that waits while others run (it rides along as a padding row in their calls)
    scores the same as one that never waited."""
    og = batched
    ref = _run(og, "q", HARMFUL, 5)
    s = og.stream("q")
    s.feed(HARMFUL[:20])
    others = [og.stream("p") for _ in range(3)]
    for _ in range(10):
        for o in others:
            o.feed("more words, ")
    v = s.feed(HARMFUL[20:])
    for o in others:
        o.finish()
    final = s.finish()
    whole = _run(og, "q", HARMFUL, 99)[1]
    assert (final.score, final.flagged, final.tokens) == whole[:3] == ref[1][:3]
    assert v.score == final.score


def test_finished_and_failed_streams(models, monkeypatch) -> None:  # noqa: F811
    og = OutputGuard.load(models / "output", providers="cpu", batch_streams=True, batch_workers=1)
    s = og.stream("q")
    s.feed("hello")
    s.finish()
    with pytest.raises(InputError, match="already finished"):
        s.feed("more")
    # an onnxruntime failure inside a shared call reaches the stream as a GuardError, and the
    # stream stays unusable (its cache row may be half written); other streams go on
    bad = og.stream("q")
    good = og.stream("q")
    good.feed("fine so far")  # one shard: the same leader and pool serve both

    def boom(*a, **k):
        raise RuntimeError("simulated onnxruntime failure")

    monkeypatch.setattr(bad._lane.shard, "_decode", boom)
    with pytest.raises(GuardError, match="simulated"):
        bad.feed("words words")
    monkeypatch.undo()
    with pytest.raises(GuardError, match="earlier guard error"):
        bad.feed("again")
    assert good.feed(" and still fine").tokens > 0
    good.finish()
    bad.close()


def test_batch_streams_on_the_tiny_test_graph(tmp_path_factory) -> None:
    from guard_plugins.export.devmodels import tiny_models

    folder = tiny_models(tmp_path_factory.getbasetemp() / "tiny_int8", "int8")
    og = OutputGuard.load(folder / "output", providers="cpu", batch_streams=True)
    assert og.batcher is not None  # guard-export declares a symbolic batch now
    assert _run(og, "p", LONG, 3)[1] == _run(og, "p", LONG, 4, groups=True)[1]


def test_batch_streams_needs_a_batch_graph(tmp_path, models) -> None:  # noqa: F811
    import onnx

    m = onnx.load(str(models / "output" / "model.onnx"))
    for vi in [*m.graph.input, *m.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if dims and dims[0].dim_param == "batch":
            dims[0].dim_value = 1
    path = tmp_path / "model.onnx"
    onnx.save(m, str(path))
    from guard_plugins.runtime.session import make_session

    session = make_session(path, "cpu")
    assert not supports_batching(session)
    shipped = OutputGuard.load(models / "output", providers="cpu")
    with pytest.raises(ModelLoadError, match="batch_streams=True"):
        OutputGuard(models / "output", shipped.manifest, session, shipped._tok, batch_streams=True)


def test_proxy_and_sdk_options_reach_the_runtime() -> None:
    from guard_plugins.litellm import load_guard

    g = load_guard(None, "cpu", batch_streams=True)
    assert g.output.batcher is not None
    assert load_guard(None, "cpu").output.batcher is None  # off by default, a separate guard
    v = g.output.stream("hi")
    v.feed("Hello there.")
    assert v.finish().tokens > 0


def test_interrupted_wait_abandons_only_that_stream(models, monkeypatch) -> None:  # noqa: F811
    """A caller interrupted while its tokens wait (Ctrl-C) abandons its job: that stream
    becomes unusable and gives its row back once closed; the others are not disturbed (their
    values equal the same streams run alone) and the shard keeps working. Found in review:
    with callers leading the calls, this corrupted other streams' caches or hung the shard."""
    from guard_plugins.runtime import batcher as bm

    og = OutputGuard.load(models / "output", providers="cpu", batch_streams=True, batch_workers=1)
    ref = _run(og, "q", LONG, 1)

    class Interrupted(threading.Event):
        def wait(self, timeout=None):  # the caller's wait is interrupted at once
            raise KeyboardInterrupt

    real_init = bm._Job.__init__
    victim: list = []

    def init(self, lane, ids):
        real_init(self, lane, ids)
        if lane is victim[0]._lane and len(ids) > 20:
            self.wake = Interrupted()

    monkeypatch.setattr(bm._Job, "__init__", init)
    other = og.stream("q")
    victim.append(og.stream("p"))
    other.feed(LONG[:30])
    with pytest.raises(KeyboardInterrupt):
        victim[0].feed(LONG)  # hundreds of tokens queued, then the wait is interrupted
    victim[0].close()  # its job may still be in the worker's hands: nothing is freed under it
    other.feed(LONG[30:])
    final = other.finish()
    assert (final.score, final.flagged, final.tokens) == ref[1][:3]
    with pytest.raises(InputError):
        victim[0].feed("more")
    lane = victim[0]._lane
    deadline = time.time() + 30
    while lane.row is not None and time.time() < deadline:
        s = og.stream("x")  # each push lets the worker free what was given back
        s.feed("tick")
        s.finish()
    assert lane.row is None and lane.jobs == 0  # the victim's row went back to the pool
    assert og.batcher.stats["streams"] <= 1  # only the last "x", given back after the last push


def test_a_finalizer_while_a_lane_is_made_does_not_deadlock(batched, monkeypatch) -> None:
    """Giving a lane back (what a garbage-collected stream's finalizer does) takes no lock, so a
    collection that runs while another lane is being made cannot deadlock (found in review)."""
    from guard_plugins.runtime import batcher as bm

    old = batched.batcher.lane([101, 102])
    real_init = bm.Lane.__init__

    def init(self, *a, **k):
        real_init(self, *a, **k)
        batched.batcher.release(old)

    monkeypatch.setattr(bm.Lane, "__init__", init)
    got: list = []
    t = threading.Thread(target=lambda: got.append(batched.batcher.lane([101, 102])), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive() and got and old.released
