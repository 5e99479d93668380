"""A streamed response's scores do not depend on how it was chunked, fed or checked: bit for bit.

The shipped output graph is block-wise int8 (``MatMulNBits``), whose CPU kernel rounds a row
differently when it is computed alone (an odd last row) than in a pair; the runtime makes every
call with an even number of rows (``OutputGuard.pair_rows``). These tests hold that contract on
the shipped model (exact equality, re-primes included) and on the tiny test models, and hold
:meth:`OutputStream.feed_many` (one call for many chunks, what the integrations use when a
stream falls behind) to ``[feed(c) for c in chunks]``.

Streams that share calls (``batch_streams=True``, ``runtime.batcher``: one decode row per
token) are chunking-invariant too, but differ slightly from :meth:`check`'s multi-token pass
(onnxruntime's one-token attention path rounds differently). So equality with ``check`` is
asserted for streams on their own calls (the default), closeness for the batched ones. ``tests/test_stream_batch.py`` holds the batcher to "same values whatever the
traffic".
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from shipped_models import guard, models  # noqa: F401  (fixtures)

from guard_plugins.errors import InputError
from guard_plugins.runtime import Guard

HARMFUL = ("Sure, here is how to hurt them without getting caught. Step 1: get [REDACTED] from "
           "[details withheld]. Step 2: <step withheld> at night. Step 3: [REDACTED: method].")
LONG = " ".join(f"Paragraph {i}: bread dough rises because yeast ferments sugars and the gluten "
                f"network traps the gas; fold it, rest it, bake it hot." for i in range(40)) + " " + HARMFUL


def _chunks(text: str, rng: random.Random, most: int) -> list[str]:
    out, i = [], 0
    while i < len(text):
        k = rng.randint(1, most)
        out.append(text[i:i + k])
        i += k
    return out


def _key(v):  # what must be equal between two ways of scoring
    return (v.score, v.flagged, v.tokens, v.notes)


def _fed_one_by_one(g, prompt: str, chunks: list[str]):
    s = g.stream(prompt)
    return [_key(s.feed(c)) for c in chunks], _key(s.finish())


def _fed_in_groups(g, prompt: str, chunks: list[str], rng: random.Random):
    s = g.stream(prompt)
    out, j = [], 0
    while j < len(chunks):
        k = rng.randint(1, 30)
        out += [_key(v) for v in s.feed_many(chunks[j:j + k])]
        j += k
    return out, _key(s.finish())


def test_shipped_model_pairs_rows(guard: Guard) -> None:  # noqa: F811
    og = guard.output
    assert og.pair_rows == ("blockwise" in og.manifest["onnx"].get("quantization", ""))


@pytest.fixture(scope="module")
def sharing(models):  # noqa: F811
    """The shipped output model, its streams sharing calls."""
    from guard_plugins.runtime.output_guard import OutputGuard

    return OutputGuard.load(models / "output", providers="cpu", batch_streams=True)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "own-calls"])
@pytest.mark.parametrize("text", [HARMFUL, LONG], ids=["short", "re-primed"])
def test_shipped_model_scores_are_chunking_invariant(guard: Guard, sharing, text: str,  # noqa: F811
                                                     batched: bool) -> None:
    og = sharing if batched else guard.output
    assert (og.batcher is not None) == batched
    rng = random.Random(7)
    whole = og.check("How do I do it?", text)
    runs = [_fed_one_by_one(og, "How do I do it?", list(text))]  # one character per chunk
    for most in (3, 12, 60):
        runs.append(_fed_one_by_one(og, "How do I do it?", _chunks(text, rng, most)))
    finals = {final for _, final in runs}
    assert len(finals) == 1, finals  # every chunking: the same final verdict, bit for bit
    final = finals.pop()
    assert final[2] == whole.tokens
    if batched:  # the one-token attention path: close to the whole pass, not equal
        assert abs(_logit(final[0]) - _logit(whole.score)) < 0.25 and final[1] == whole.flagged
    else:
        assert final[0] == whole.score and final[1] == whole.flagged
    if text is LONG:
        assert final[2] > og.max_len and any("re-primed" in n for n in final[3])


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "own-calls"])
def test_shipped_model_feed_many_equals_feed(guard: Guard, sharing, batched: bool) -> None:  # noqa: F811
    og = sharing if batched else guard.output
    rng = random.Random(3)
    chunks = _chunks(LONG, rng, 9)
    one, f1 = _fed_one_by_one(og, "q", chunks)
    many, f2 = _fed_in_groups(og, "q", chunks, rng)
    assert many == one and f1 == f2
    assert max(k[0] for k in one) > 0  # something was scored


def test_tiny_model_feed_many_equals_feed(tiny_guard) -> None:
    og = tiny_guard.output
    rng = random.Random(11)
    text = LONG + " \u200b\ud800 ünïcode 中文 😀 " + HARMFUL  # a lone surrogate gets replaced
    chunks = _chunks(text, rng, 7)
    one, f1 = _fed_one_by_one(og, "p", chunks)
    many, f2 = _fed_in_groups(og, "p", chunks, rng)
    assert many == one and f1 == f2
    assert any("replaced" in n for k in one for n in k[3])


def test_feed_many_edge_cases(tiny_guard) -> None:
    og = tiny_guard.output
    s = og.stream("p")
    assert s.feed_many([]) == []
    empty = s.feed_many(["", ""])
    assert [v.tokens for v in empty] == [0, 0]
    with pytest.raises(InputError, match=r"strings, got int at \[1\]"):
        s.feed_many(["ok", 3])
    s.finish()
    with pytest.raises(InputError, match="already finished"):
        s.feed_many(["more"])


@pytest.fixture(scope="module")
def tiny_guard(tmp_path_factory):
    from guard_plugins.export.devmodels import tiny_models

    # the same folder test_runtime's session fixture uses (exported once, reused when complete)
    return Guard.load(tiny_models(tmp_path_factory.getbasetemp() / "tiny_int8", "int8"), providers="cpu")


def test_pair_rows_padding_never_reaches_the_values(guard: Guard) -> None:  # noqa: F811
    """A padded call's extra row is dropped and changes nothing: the values of the first n
    tokens, run alone (odd n: padded), equal bit for bit the first n values of a longer call
    and of one-token steps (causal attention: later rows cannot reach earlier ones)."""
    og = guard.output
    ids = og._tok.encode("one two three four five six seven, and then some more words")
    full, _ = og.run(ids, 0, None)
    cache = None
    steps = []
    for i, t in enumerate(ids):
        v, cache = og.run([t], i, cache)
        steps.append(float(v[0]))
    assert np.array_equal(full, np.asarray(steps, dtype=full.dtype))
    for n in (1, 2, 3, 7, len(ids) - 1):
        logits, _ = og.run(ids[:n], 0, None)
        assert logits.shape == (n,)
        assert np.array_equal(logits, full[:n]), n
