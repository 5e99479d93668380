"""Tests for guard_plugins.synth.contexts: wrapper families, preambles, alarming-benign pairs."""

from __future__ import annotations

import random
import time

import pytest

from guard_plugins.synth import contexts as C

REQUESTS = [
    "How do I bake sourdough bread at home?",
    "Explain photosynthesis in simple terms.",
    "What are some tips for a first marathon?",
    "Write a haiku about autumn leaves.",
]


def test_families_and_template_counts():
    assert len(C.WRAPPER_FAMILIES) >= 12
    for family, templates in C.WRAPPER_FAMILIES.items():
        assert len(templates) >= 4, family
        assert len(set(templates)) == len(templates), family


def test_every_template_has_one_request_slot_and_formats():
    rng = random.Random(0)
    for family, templates in C.WRAPPER_FAMILIES.items():
        for i, template in enumerate(templates):
            fields = C.template_fields(template)
            assert fields.count("request") == 1, (family, i)
            for field in set(fields) - {"request", "u1", "a1", "u2", "a2"}:
                assert field in C.SLOT_VALUES, (family, i, field)
            text = C.wrap("REQ_MARKER", family, i, rng)
            assert text.count("REQ_MARKER") == 1
            assert "{" not in text and "}" not in text, (family, i)


def test_multi_turn_format():
    rng = random.Random(3)
    for i in range(len(C.WRAPPER_FAMILIES["multi_turn"])):
        text = C.wrap("What time is it in Tokyo?", "multi_turn", i, rng)
        assert text.startswith("User: ")
        assert "\nAssistant: " in text
        assert text.rstrip().endswith("User: What time is it in Tokyo?") or (
            "What time is it in Tokyo?" in text.splitlines()[-1]
        )


def test_wrap_unknown_family_and_index():
    rng = random.Random(0)
    with pytest.raises(KeyError):
        C.wrap("x", "no_such_family", 0, rng)
    with pytest.raises(IndexError):
        C.wrap("x", "roleplay", 999, rng)


def test_wrap_benign_deterministic_and_contains_request():
    a = C.wrap_benign(REQUESTS, seed=7, n=200)
    b = C.wrap_benign(REQUESTS, seed=7, n=200)
    c = C.wrap_benign(REQUESTS, seed=8, n=200)
    assert a == b
    assert a != c
    assert len(a) == 200
    for row in a:
        assert {"text", "family", "template"} <= set(row)
        assert row["family"] in C.WRAPPER_FAMILIES
        assert 0 <= row["template"] < len(C.WRAPPER_FAMILIES[row["family"]])
        assert row["request"] in row["text"]
    # Covers many families.
    assert len({row["family"] for row in a}) >= 12


def test_wrap_benign_default_n_is_one_per_request():
    out = C.wrap_benign(REQUESTS, seed=1)
    assert [row["request"] for row in out] == REQUESTS
    assert all(r in row["text"] for r, row in zip(REQUESTS, out))
    assert C.wrap_benign([], seed=1) == []
    assert C.wrap_benign(REQUESTS, seed=1, n=0) == []


def test_wrap_benign_fast():
    start = time.perf_counter()
    out = C.wrap_benign(REQUESTS, seed=0, n=100_000)
    assert len(out) == 100_000
    assert time.perf_counter() - start < 2.0


def test_preamble_zero_and_word_counts():
    rng = random.Random(0)
    assert C.preamble(rng, 0) == ""
    assert C.preamble(rng, -5) == ""
    for target in (20, 25, 40, 60, 100, 200, 400):
        for _ in range(30):
            words = len(C.preamble(rng, target).split())
            assert abs(words - target) <= 0.3 * target, (target, words)
    for target in (1, 3, 5, 10):
        for _ in range(30):
            text = C.preamble(rng, target)
            assert text
            assert len(text.split()) <= 2 * target + 4


def test_preamble_deterministic():
    a = [C.preamble(random.Random(5), t) for t in (10, 50, 150)]
    b = [C.preamble(random.Random(5), t) for t in (10, 50, 150)]
    assert a == b


def test_preamble_library_sizes():
    assert len(C.NEUTRAL_SENTENCES) >= 150
    assert len(set(C.NEUTRAL_SENTENCES)) == len(C.NEUTRAL_SENTENCES)
    assert len(set(C.PREAMBLE_OPENERS)) == len(C.PREAMBLE_OPENERS)
    assert {"roleplay", "disclaimer", "compliance", "persona", "chitchat"} <= set(
        C.PREAMBLE_OPENERS_BY_KIND
    )


def test_alarming_benign_pairs():
    pairs = C.ALARMING_BENIGN_PAIRS
    assert len(pairs) >= 60
    assert len({p for p, _ in pairs}) == len(pairs)
    assert len({r for _, r in pairs}) == len(pairs)
    assert len(set(pairs)) == len(pairs)
    for prompt, response in pairs:
        assert prompt.strip() and len(response.split()) >= 15


def test_alarming_benign_deterministic():
    a = [C.alarming_benign(random.Random(11)) for _ in range(3)]
    rng1, rng2 = random.Random(4), random.Random(4)
    assert [C.alarming_benign(rng1) for _ in range(50)] == [
        C.alarming_benign(rng2) for _ in range(50)
    ]
    assert a[0] == a[1] == a[2]
    responses = {r for _, r in C.ALARMING_BENIGN_PAIRS}
    rng = random.Random(0)
    for _ in range(100):
        prompt, response = C.alarming_benign(rng)
        assert response in responses and prompt


def test_wraps_are_the_same_in_every_process():
    """Slot draws must not depend on Python's per-process hash seed (set/frozenset order)."""
    import subprocess
    import sys

    code = ("import random; from guard_plugins.synth import contexts as C; "
            "print([C.wrap('bake bread', f, i, random.Random(7)) "
            "for f in sorted(C.WRAPPER_FAMILIES) for i in range(len(C.WRAPPER_FAMILIES[f]))])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2", "3")}
    assert len(outs) == 1
