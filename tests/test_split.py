"""Tests for guard_plugins.synth.split: normalisation, dedupe, leak-free stable splits."""

from __future__ import annotations

import random
import time

import pytest

from guard_plugins.synth.augment import augment_inputs
from guard_plugins.synth.split import (assign_splits, dedupe, input_key, leaks, normalise,
                                       output_key, text_group)


def rec(text, label=0, source="synthetic/offline", group=None, **kw):
    r = {"text": text, "label": label, "category": None, "source": source, "kind": "benign",
         "augmentations": [], "lookalike": False, "license": "Apache-2.0", **kw}
    if group:
        r["group"] = group
    return r


def corpus(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    words = "alpha beta gamma delta kettle garden river castle window orange violet".split()
    return [rec(f"{i} " + " ".join(rng.choice(words) for _ in range(6)), label=i % 2)
            for i in range(n)]


def test_normalise_folds_case_accents_zero_width_and_punctuation():
    assert normalise("  Héllo,\u200b WORLD!! ") == "hello world"
    assert normalise("Ｆｕｌｌ－ｗｉｄｔｈ") == "full width"  # NFKC
    assert normalise("a\u200db\ufeffc") == "abc"
    assert normalise("Crème brûlée -- recipe?") == "creme brulee recipe"
    assert normalise("snake_case and\ttabs\n") == "snake case and tabs"


def test_dedupe_across_sources_first_wins_and_reports():
    records = [rec("How do I bake bread?", source="synthetic/offline"),
               rec("how do i BAKE bread", source="public/a"),
               rec("How do I bake bread?!", source="public/b", label=1),
               rec("Something else", source="public/b")]
    kept, report = dedupe(records, input_key)
    assert [r["source"] for r in kept] == ["synthetic/offline", "public/b"]
    assert report["removed"] == 2 and report["kept"] == 2
    assert report["by_source"]["public/a"]["duplicate_of"] == {"synthetic/offline": 1}
    assert report["by_source"]["public/b"]["removed"] == 1
    assert report["label_conflicts"] == 1


def test_punctuation_only_texts_are_not_all_duplicates():
    kept, _ = dedupe([rec("???"), rec("!!!"), rec("???")], input_key)
    assert [r["text"] for r in kept] == ["???", "!!!"]


def test_no_normalised_duplicate_crosses_splits():
    base = corpus(3000)
    # near-duplicates that differ only by case / punctuation must share a side
    dup = [rec(r["text"].upper() + " !!", source="public/x") for r in base[::7]]
    out = assign_splits(base + dup, key=input_key)
    by = {s: [r for r in out if r["split"] == s] for s in ("train", "dev", "calib")}
    assert leaks(by["train"], by["dev"], input_key) == 0
    assert leaks(by["train"], by["calib"], input_key) == 0
    assert leaks(by["dev"], by["calib"], input_key) == 0
    # sanity: leaks() does count when a duplicate is split apart
    assert leaks([base[0]], [dup[0]], input_key) == 1


def test_augmented_variants_stay_with_their_seed():
    seeds = corpus(600)
    variants = augment_inputs(seeds, seed=3, rate=2.0)
    assert len(variants) > 600
    out = assign_splits(seeds + variants, key=input_key)
    split_of_seed = {r["text"]: r["split"] for r in out[:len(seeds)]}
    seed_by_group = {text_group(r["text"]): r["text"] for r in seeds}
    for v in out[len(seeds):]:
        assert v["split"] == split_of_seed[seed_by_group[v["group"]]]


def test_explicit_groups_are_kept_together():
    records = [rec(f"pair member {i} {j}", group=f"pair{i}") for i in range(300) for j in range(2)]
    out = assign_splits(records, key=input_key)
    for i in range(300):
        assert out[2 * i]["split"] == out[2 * i + 1]["split"]


def test_fractions_roughly_respected():
    out = assign_splits(corpus(10000), key=input_key, fractions=(0.8, 0.1, 0.1))
    n = {s: sum(r["split"] == s for r in out) for s in ("train", "dev", "calib")}
    assert 0.77 < n["train"] / 10000 < 0.83
    assert 0.08 < n["dev"] / 10000 < 0.12 and 0.08 < n["calib"] / 10000 < 0.12
    out2 = assign_splits(corpus(4000), key=input_key, fractions=(0.5, 0.5, 0.0))
    assert not any(r["split"] == "calib" for r in out2)
    assert 0.45 < sum(r["split"] == "train" for r in out2) / 4000 < 0.55


def test_stable_across_runs_input_order_and_added_data():
    records = corpus(2000)
    a = assign_splits(records, key=input_key)
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    b = assign_splits(shuffled, key=input_key)
    split_a = {r["id"]: r["split"] for r in a}
    split_b = {r["id"]: r["split"] for r in b}
    assert split_a == split_b
    c = assign_splits(records + corpus(500, seed=9), key=input_key)
    assert all(split_a[r["id"]] == r["split"] for r in c[:2000])
    # another salt gives another split
    d = assign_splits(records, key=input_key, salt="other")
    assert [r["split"] for r in d] != [r["split"] for r in a]


def test_ids_unique_and_input_not_mutated():
    records = [rec("same text", label=0), rec("same text", label=1), rec("same text", label=1)]
    out = assign_splits(records, key=input_key)
    assert len({r["id"] for r in out}) == 3
    assert "id" not in records[0] and "split" not in records[0]
    assert len({r["split"] for r in out}) == 1


def test_output_key_groups_responses_by_prompt():
    outs = [{"prompt": "Tell me about tea", "response": f"answer {i}", "label": 0, "source": "s"}
            for i in range(5)]
    outs.append({"prompt": "", "response": "standalone", "label": 1, "source": "s"})
    res = assign_splits(outs, key=output_key)
    assert len({r["split"] for r in res[:5]}) == 1
    assert output_key(outs[-1]) == "standalone"


def test_bad_fractions_rejected():
    with pytest.raises(ValueError):
        assign_splits(corpus(5), key=input_key, fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError):
        assign_splits(corpus(5), key=input_key, fractions=(1.0, 0.0))


def test_fast_on_100k_records():
    records = corpus(100_000)
    t = time.perf_counter()
    kept, _ = dedupe(records, input_key)
    out = assign_splits(kept, key=input_key)
    elapsed = time.perf_counter() - t
    assert len(out) == len(kept)
    assert elapsed < 20, f"dedupe + split of 100k records took {elapsed:.1f}s"
