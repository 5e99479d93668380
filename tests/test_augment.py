"""Tests for guard_plugins.synth.augment: transforms, determinism, label-neutral variants."""

from __future__ import annotations

import base64
import codecs
import random
from pathlib import Path

import pytest

from guard_plugins.errors import DataError
from guard_plugins.runtime.text import render_messages
from guard_plugins.synth import augment as A
from guard_plugins.synth.split import normalise, text_group

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TEXT = "Please explain how photosynthesis works in simple terms."


def rec(text, label, i=0, **kw):
    return {"text": text, "label": label, "category": "cbrne" if label else None,
            "source": "synthetic/offline", "kind": "harmful" if label else "benign",
            "augmentations": [], "lookalike": bool(i % 3 == 0 and not label),
            "license": "Apache-2.0", "group": f"g{i}", **kw}


def seeds(n=200):
    out = []
    for i in range(n):
        label = i % 2
        body = "[REDACTED] restricted request number" if label else "a friendly question number"
        out.append(rec(f"Tell me about {body} {i}, thanks.", label, i))
    return out


@pytest.mark.parametrize("name", sorted(A.AUGMENTATIONS))
def test_every_transform_changes_text_and_is_deterministic(name):
    fn = A.AUGMENTATIONS[name]
    a = fn(TEXT, random.Random(7))
    b = fn(TEXT, random.Random(7))
    assert a != TEXT
    assert a == b
    outs = {fn(TEXT, random.Random(s)) for s in range(12)}
    if name not in {"leetspeak", "spaced_letters", "payload_split", "translation_noise"}:
        # most transforms have several variants (templates, intros, random positions)
        assert len(outs) > 1, name


def test_base64_and_rot13_decode_back():
    for s in range(5):
        enc = A.base64_encode(TEXT, random.Random(s))
        assert base64.b64decode(enc.splitlines()[-1]).decode("utf-8") == TEXT
        r = A.rot13_encode(TEXT, random.Random(s))
        assert codecs.decode(r.splitlines()[-1], "rot13") == TEXT
    mixed = A.mixed_base64_leet(TEXT, random.Random(1))
    decoded = base64.b64decode(mixed.splitlines()[-1]).decode("utf-8")
    assert decoded != TEXT and len(decoded) == len(TEXT)


def test_obfuscations_keep_the_payload_recoverable():
    rng = random.Random(0)
    assert normalise(A.zero_width(TEXT, rng)) == normalise(TEXT)
    assert A.spaced_letters("bake bread", random.Random(0)).replace(" ", "").replace("-", "") \
        .replace(".", "") == "bakebread"
    assert A.reversed_text(TEXT, rng).splitlines()[-1][::-1] == TEXT
    assert A.casing(TEXT, rng).lower() == TEXT.lower()


def test_context_transforms_use_render_messages():
    sp = A.system_prompt(TEXT, random.Random(2))
    assert sp.startswith("system: ") and sp.endswith("user: " + TEXT)
    sys_line = sp.split("\nuser: ")[0][len("system: "):]
    assert render_messages([{"role": "system", "content": sys_line},
                            {"role": "user", "content": TEXT}])[0] == sp
    mt = A.multi_turn(TEXT, random.Random(5))
    assert "\nassistant: " in mt and mt.endswith("\nuser: " + TEXT)
    ps = A.payload_split(TEXT, random.Random(5))
    assert ps.count("user: ") == 3 and TEXT not in ps


def test_held_out_names_disjoint_from_train():
    assert set(A.HELD_OUT_AUGMENTATIONS).isdisjoint(A.TRAIN_AUGMENTATIONS)
    assert set(A.HELD_OUT_AUGMENTATIONS) | set(A.TRAIN_AUGMENTATIONS) == set(A.AUGMENTATIONS)
    assert set(A.FAMILIES) == set(A.AUGMENTATIONS)
    assert set(A.OUTPUT_AUGMENTATIONS) <= set(A.TRAIN_AUGMENTATIONS)


def test_augment_inputs_preserves_fields_and_records_names():
    src = seeds()
    variants = A.augment_inputs(src, seed=1, rate=1.5)
    assert variants, "no variants produced"
    by_group = {r["group"]: r for r in src}
    composed = 0
    for v in variants:
        s = by_group[v["group"]]
        for k in ("label", "category", "lookalike", "kind", "source", "license"):
            assert v[k] == s[k], k
        assert v["text"] != s["text"]
        assert v["augmentations"] and set(v["augmentations"]) <= set(A.TRAIN_AUGMENTATIONS)
        composed += len(v["augmentations"]) == 2
        assert "id" not in v and "split" not in v
    assert composed > 0
    assert all(r["augmentations"] == [] for r in src), "input records were mutated"


def test_group_defaults_to_seed_text_group():
    r = rec(TEXT, 0)
    del r["group"]
    v = A.augment_inputs([r], seed=0, rate=3.0)
    assert v and all(x["group"] == text_group(TEXT) for x in v)


def test_both_classes_augmented_at_similar_rates_and_families():
    src = seeds(400)
    variants = A.augment_inputs(src, seed=2, rate=1.0)
    n = {0: 0, 1: 0}
    fams = {0: set(), 1: set()}
    for v in variants:
        n[v["label"]] += 1
        fams[v["label"]].update(A.FAMILIES[a] for a in v["augmentations"])
    assert abs(n[0] - n[1]) / 200 < 0.15, n
    assert fams[0] == fams[1] == {"noise", "encoding", "wrapper", "context"}


def test_deterministic_per_seed_and_order_independent():
    src = seeds(100)
    a = A.augment_inputs(src, seed=4, rate=1.0)
    b = A.augment_inputs(list(reversed(src)), seed=4, rate=1.0)
    c = A.augment_inputs(src, seed=5, rate=1.0)
    key = lambda r: (r["group"], r["text"])  # noqa: E731
    assert sorted(map(key, a)) == sorted(map(key, b))
    assert sorted(map(key, a)) != sorted(map(key, c))


def test_rate_controls_count_and_names_restrict_transforms():
    src = seeds(300)
    assert A.augment_inputs(src, rate=0.0) == []
    half = len(A.augment_inputs(src, seed=0, rate=0.5))
    assert 100 < half < 200
    only = A.augment_inputs(src, seed=0, rate=1.0, names=["rot13"], compose_p=0.0)
    assert {tuple(v["augmentations"]) for v in only} == {("rot13",)}
    held = A.augment_inputs(src, seed=0, rate=1.0, names=A.HELD_OUT_AUGMENTATIONS)
    assert held and all(set(v["augmentations"]) <= set(A.HELD_OUT_AUGMENTATIONS) for v in held)
    with pytest.raises(ValueError):
        A.augment_inputs(src, names=["nope"])


def test_templates_fill_the_slot():
    tpl = ["Intro text. " + A.SLOT + " Outro text."]
    v = A.augment_inputs([rec(TEXT, 0)], rate=1.0, templates=tpl, names=["jailbreak_template"],
                         compose_p=0.0)
    assert v[0]["text"] == f"Intro text. {TEXT} Outro text."
    with pytest.raises(ValueError):
        A.make_template_wrapper(["no slot here"])


def test_augment_outputs_changes_prompt_only():
    outs = [{"prompt": f"Question {i} about gardening?", "response": f"Answer {i}.",
             "label": i % 2, "category": None, "source": "public/x", "kind": "public",
             "augmentations": [], "license": "MIT"} for i in range(300)]
    outs.append({**outs[0], "prompt": ""})
    v = A.augment_outputs(outs, seed=0, rate=0.3)
    assert 50 < len(v) < 130
    by_resp = {o["response"]: o for o in outs[:-1]}
    for x in v:
        s = by_resp[x["response"]]
        assert x["prompt"] != s["prompt"] and x["label"] == s["label"] and x["kind"] == s["kind"]
        assert set(x["augmentations"]) <= set(A.OUTPUT_AUGMENTATIONS)
        assert x["group"] == text_group(s["prompt"])


@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data folder {DATA} not present")
def test_load_jailbreak_templates_from_shared_data():
    tpl = A.load_jailbreak_templates(DATA)
    assert len(tpl) >= 77 and all(A.SLOT in t for t in tpl)
    assert len(set(tpl)) == len(tpl)
    curated = A.load_jailbreak_templates(DATA, in_the_wild=False)
    assert len(curated) == 77 and set(curated) < set(tpl)


def test_load_jailbreak_templates_missing_dir(tmp_path):
    with pytest.raises(DataError, match="GPTFuzzer.csv"):
        A.load_jailbreak_templates(tmp_path)
