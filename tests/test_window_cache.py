"""The input guard's window-score cache and the turn-aligned window layout (issue 26).

Everything runs the shipped input model: cached verdicts must be those of an uncached check,
bit for bit, and a new turn must leave the windows of the earlier ones unchanged.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import tracemalloc

import numpy as np
import pytest

from guard_plugins.errors import ModelLoadError
from guard_plugins.runtime import Guard, WindowCache
from guard_plugins.runtime.text import RenderedText, render_messages, render_segments
from guard_plugins.runtime.window_cache import ENTRY_BYTES
from guard_plugins.runtime.windows import input_windows, segment_windows

SYSTEM = " ".join(
    ("You are the support agent of a cloud storage company. Answer questions on billing, "
     "accounts, storage quotas, networking and outages politely and briefly; never reveal "
     "internal notes; escalate refund requests to a human; keep answers under 200 words. ").split() * 9)
WORDS = ("the a storage bill invoice account quota upload folder share link password reset "
         "team plan upgrade region latency backup restore file sync error page support").split()


def _turn(rng: random.Random, n: int = 60) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "?"


def _chat(turns: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    msgs = [{"role": "system", "content": SYSTEM}]
    for _ in range(turns):
        msgs.append({"role": "user", "content": _turn(rng)})
        msgs.append({"role": "assistant", "content": _turn(rng)})
    return msgs


@pytest.fixture(scope="module")
def guards() -> tuple[Guard, Guard]:
    cached = Guard.load(None, window_cache_mb=32)
    plain = Guard.load(None, window_cache_mb=0)
    return cached, plain


def _same(a, b) -> None:  # noqa: ANN001
    assert (a.flagged, a.score, a.category, a.threshold, a.tokens, a.notes, a.language,
            a.language_validated, a.language_action) == \
           (b.flagged, b.score, b.category, b.threshold, b.tokens, b.notes, b.language,
            b.language_validated, b.language_action)


# ------------------------------------------------------------------ layout
def test_short_prompts_keep_one_window() -> None:
    ids = list(range(1000, 1200))
    assert segment_windows(ids, [0, 50, 120]) == [ids]


def test_single_segment_is_the_old_layout() -> None:
    ids = list(range(1000, 1900))
    assert segment_windows(ids, [0]) == input_windows(ids)


def test_every_token_is_scored_and_context_is_bounded() -> None:
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(255, 3000)
        ids = list(range(n))
        starts = sorted({0, *(rng.randrange(n) for _ in range(rng.randint(1, 12)))})
        wins = segment_windows(ids, starts)
        covered = {t for w in wins for t in w}
        assert covered == set(ids)  # nothing truncated
        assert all(0 < len(w) <= 254 for w in wins)
        edges = [*starts[1:], n]
        for s, e in zip(starts, edges):  # a segment's windows cost at most twice its tokens
            if s == 0:
                continue
            seg = [w for w in wins if w[-1] >= s and w[0] >= s - 62 and w[-1] < e]
            assert seg and sum(len(w) for w in seg) <= 2 * (e - s) + 62 * (len(seg) - 1)


def test_appending_turns_keeps_earlier_windows(guards) -> None:  # noqa: ANN001
    """Once a conversation is longer than one window, the windows of all its segments but the
    last come first, unchanged, among the windows of the same conversation with a turn more:
    history is what the cache can serve."""
    ig = guards[1].input
    msgs = _chat(12, seed=1)
    checked = 0
    for k in range(3, len(msgs)):
        text, _, starts = render_segments(msgs[:k])
        pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
        ids, tok_starts = [], []
        for p in pieces:
            tok_starts.append(len(ids))
            ids += ig._tok.encode(p)
        wins, n, _ = ig._prepare(msgs[:k])
        assert wins == segment_windows(ids, tok_starts) and n == len(ids)
        if n <= ig.window:
            continue
        s = tok_starts[-1]
        last = input_windows(ids[s - min(62, n - s):], ig.window, ig.stride)
        history = wins[:len(wins) - len(last)]
        assert wins[len(history):] == last
        longer, _, _ = ig._prepare(msgs[:k + 1])
        assert longer[:len(history)] == history, k
        checked += 1
    assert checked >= 15


def test_rendered_text_carries_turn_boundaries() -> None:
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
            {"role": "assistant", "content": "A1"}, {"role": "tool", "content": "T"},
            {"role": "user", "content": "U2"}]
    text, _ = render_messages(msgs)
    assert isinstance(text, RenderedText) and text == "system: S\nuser: U1\nassistant: A1\ntool: T\nuser: U2"
    # system | user | assistant+tool | user: an assistant turn is glued to what follows it
    assert [text[s:s + 4] for s in text.starts] == ["syst", "user", "assi", "user"]
    assert render_segments(text)[2] == list(text.starts)
    assert render_segments(str(text))[2] == [0]  # a plain string is one piece
    assert render_messages("plain")[0].__class__ is str


def test_piece_tokens_concatenate_to_the_whole_text(guards) -> None:  # noqa: ANN001
    """The guard tokenizes turn by turn; BERT splits words at the newline, so that is the
    tokenization of the whole rendered text."""
    ig = guards[1].input
    rng = random.Random(5)
    alphabet = list("abc xyz.,;:!?'\"-\n\t ") + ["é", "ß", "中", "文", "😀", "\u200b", "\u0301", "[SEP]", "##"]
    for _ in range(60):
        msgs = [{"role": rng.choice(["system", "user", "assistant", "tool"]),
                 "content": "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))}
                for _ in range(rng.randint(2, 6))]
        text, _, starts = render_segments(msgs)
        pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
        joined = [t for p in pieces for t in ig._tok.encode(p)]
        assert joined == ig._tok.encode(text), msgs


# ------------------------------------------------------------------ exactness
def test_cached_verdicts_are_bit_identical(guards) -> None:  # noqa: ANN001
    cached, plain = guards
    rng = random.Random(11)
    prompts: list = [SYSTEM, "How do I reset my password?", "aGVsbG8gd29ybGQgaG93IGFyZSB5b3U= decode this",
                     [{"role": "system", "content": SYSTEM},
                      {"role": "user", "content": "¿Cómo restablezco la contraseña de mi cuenta de almacenamiento?"}]]
    msgs = _chat(10, seed=2)
    prompts += [msgs[:k] for k in range(2, len(msgs) + 1, 3)]
    prompts += [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": _turn(rng, 12)}]
                for _ in range(4)]
    for _ in range(2):  # the second pass is served from the cache
        for p in prompts:
            _same(cached.check_input(p, on_oversize="scan"), plain.check_input(p, on_oversize="scan"))
    st = cached.cache_stats()
    assert st is not None and st.hits > st.misses > 0
    assert plain.cache_stats() is None


def test_cached_rows_equal_a_single_window_call(guards) -> None:  # noqa: ANN001
    """A kept row is what a call holding that window alone gives (int8 activation scales
    are per call: runtime/window_cache.py)."""
    ig = guards[0].input
    assert ig.dynamic_quant
    wins, _, _ = ig._prepare(_chat(6, seed=4))
    uniq, _ = ig._dedupe(wins)
    ig.check(_chat(6, seed=4))
    rows = ig.window_cache.get_many([ig.window_cache.key(w) for w in uniq])
    for w, row in zip(uniq, rows):
        assert row is not None
        assert np.array_equal(row, ig._call([w])[0])


def test_async_batch_and_unbatched_paths_agree(guards) -> None:  # noqa: ANN001
    cached, plain = guards
    msgs = _chat(8, seed=7)
    convs = [msgs[:k] for k in range(4, len(msgs) + 1, 4)]
    direct = Guard.load(None, batching=False, window_cache_mb=8)
    want = [plain.check_input(c) for c in convs]
    for got in (cached.check_inputs(convs), asyncio.run(cached.acheck_inputs(convs)),
                direct.check_inputs(convs), direct.check_inputs(convs)):
        for a, b in zip(got, want):
            _same(a, b)


def test_concurrent_callers_share_one_cache(guards) -> None:  # noqa: ANN001
    cached, plain = guards
    convs = [_chat(6, seed=s) for s in range(4)]
    want = {i: plain.check_input(c) for i, c in enumerate(convs)}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(3):
                _same(cached.check_input(convs[i % 4]), want[i % 4])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_cache_survives_fork(guards) -> None:  # noqa: ANN001
    cached, plain = guards
    conv = _chat(5, seed=9)
    want = plain.check_input(conv)
    cached.check_input(conv)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the cache's lock and the scheduler are fresh; entries still valid
        ok = b"0"
        try:
            v = cached.check_input(conv)
            ok = b"1" if (v.score, v.flagged) == (want.score, want.flagged) else b"0"
        finally:
            os.write(w, ok)
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.waitpid(pid, 0)
    assert got == b"1"


# ------------------------------------------------------------------ bound and options
def test_lru_bound_and_eviction() -> None:
    c = WindowCache(0.01, namespace="m")  # 10,485 bytes
    row = np.zeros(14, dtype=np.float32)
    keys = [c.key([i, i + 1]) for i in range(200)]
    c.put_many(keys, np.stack([row] * 200))
    st = c.stats()
    assert st.bytes <= st.max_bytes and st.evictions > 0 and st.entries < 200
    assert c.get_many([keys[0]]) == [None]  # oldest went first
    assert c.get_many([keys[-1]])[0] is not None
    assert WindowCache(1, namespace="a").key([1, 2]) != WindowCache(1, namespace="b").key([1, 2])


def test_accounted_bytes_cover_real_memory() -> None:
    """The bound is on accounted bytes: they must not be below what entries really take."""
    for n in (1000, 20000):
        c = WindowCache(64, namespace="m")
        rows = np.random.default_rng(0).standard_normal((n, 14)).astype(np.float32)
        windows = [list(range(i, i + 100)) for i in range(n)]
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        c.put_many([c.key(w) for w in windows], rows)
        real = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert c.stats().bytes >= real, (n, c.stats().bytes, real)
        assert c.stats().bytes <= 2 * real  # and not wildly above it
    assert ENTRY_BYTES > 0


def test_memory_stays_within_bound_under_many_conversations() -> None:
    g = Guard.load(None, window_cache_mb=0.05)
    for s in range(25):
        g.check_input(_chat(3, seed=100 + s))
    st = g.cache_stats()
    assert st is not None and st.bytes <= st.max_bytes and st.evictions > 0


def test_window_cache_option_errors() -> None:
    for bad in (-1, "big", True):
        with pytest.raises(ModelLoadError, match="window_cache_mb"):
            Guard.load(None, window_cache_mb=bad)
    with pytest.raises(ValueError, match="window_cache_mb"):
        WindowCache(0)
