"""The real-data-led mix (synth/realmix.py), the realworld importers and per-token targets."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from guard_plugins.errors import DataError
from guard_plugins.synth import realmix as R
from guard_plugins.synth.public import PUBLIC_SETS, load_public
from guard_plugins.synth.schema import validate_record
from guard_plugins.synth.split import input_key, normalise, output_key


def _out(resp: str, label: int, *, source: str = "public/x", kind: str = "public", prompt: str = "q",
         language: str | None = None, aug: list[str] | None = None) -> dict:
    r = {"prompt": prompt, "response": resp, "label": label, "category": None, "source": source,
         "kind": kind, "augmentations": aug or [], "license": "MIT"}
    if language:
        r["language"] = language
    return r


BENIGN_ANSWERS = [" ".join(f"Sentence {i} about gardening and soil and water, word {j}." for j in range(6))
                  for i in range(20)]


def test_splice_marks_the_onset_of_the_real_harmful_response():
    harmful = [_out(f"HARMFUL-MARKER {i} placeholder steps withheld.", 1) for i in range(40)]
    benign = [_out(t, 0, kind="benign") for t in BENIGN_ANSWERS]
    other = [_out("ni hao", 1, language="zh"), _out("synthetic", 1, source="synthetic/offline")]
    out = R.splice_outputs(harmful + benign + other, seed=3)
    spl_h = [r for r in out if r["label"] == 1]
    assert len(spl_h) == 40  # harmful_rate 1.0; non-English and synthetic records are left alone
    for r in spl_h:
        onset = r["harm_onset"]
        assert onset > 0 and r["response"][onset:].startswith("HARMFUL-MARKER")
        assert "HARMFUL-MARKER" not in r["response"][:onset]
        assert r["augmentations"] == ["preamble_splice"]
        assert r["group"]  # stays in its prompt's split
        validate_record({**r, "id": "x"}, "output")
    spl_b = [r for r in out if r["label"] == 0]
    assert spl_b and all("harm_onset" not in r for r in spl_b)
    assert R.splice_outputs(harmful + benign, seed=3) == R.splice_outputs(harmful + benign, seed=3)
    assert R.splice_outputs(harmful + benign, seed=3) != R.splice_outputs(harmful + benign, seed=4)


def test_schema_rejects_inconsistent_onsets():
    base = {**_out("abc def", 1), "id": "1"}
    assert validate_record({**base, "harm_onset": 4}, "output")["harm_onset"] == 4
    with pytest.raises(DataError, match="harm_onset"):
        validate_record({**base, "harm_onset": 99}, "output")
    with pytest.raises(DataError, match="harm_onset"):
        validate_record({**base, "label": 0, "harm_onset": 2}, "output")
    with pytest.raises(DataError, match="unknown field"):
        validate_record({**base, "harm_onsett": 2}, "output")


def _rw(root: Path) -> Path:
    for sub, name, rows in (
            ("prompts", "aart", [{"text": "wrapped harmful request one", "label": 1, "adversarial": True},
                                 {"text": "DEV prompt text", "label": 1}]),
            ("responses", "parden", [{"prompt": "p", "response": "train response", "label": 0},
                                     {"prompt": "p", "response": "DEV response text", "label": 1}])):
        d = root / "realworld" / sub / name
        d.mkdir(parents=True)
        (d / "train.jsonl").write_text(json.dumps(rows[0]) + "\n")
        (d / "dev.jsonl").write_text(json.dumps(rows[-1]) + "\n")
    return root


def test_dev_guard_drops_every_record_that_is_in_a_realworld_dev_file(tmp_path):
    keys = R.realworld_dev_keys(_rw(tmp_path))
    assert keys == {"input": {"dev prompt text"}, "output": {"dev response text"}}
    recs = [{"text": "Dev prompt   TEXT!"}, {"text": "something else"}]
    kept, n = R.drop_dev_overlap(recs, "input", keys["input"])
    assert n == 1 and kept == [{"text": "something else"}]
    kept, n = R.drop_dev_overlap([_out("dev response text.", 0)], "output", keys["output"])
    assert n == 1 and kept == []
    bad = tmp_path / "realworld" / "prompts" / "aart" / "dev.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(DataError, match="dev.jsonl:1"):
        R.realworld_dev_keys(tmp_path)
    assert R.realworld_dev_keys(tmp_path / "missing") == {"input": set(), "output": set()}


def test_realworld_rows_never_land_in_dev():
    recs = [{"text": "a b", "source": "public/realworld_sap", "split": "dev"},
            {"text": "A  b!", "source": "synthetic/offline", "split": "dev"},
            {"text": "c", "source": "public/other", "split": "dev"},
            {"text": "d", "source": "public/realworld_sap", "split": "calib"}]
    out, counts = R.keep_realworld_out_of_dev(recs, input_key)
    assert counts == {"moved_to_train": 1, "dropped_from_dev": 1}
    assert [(r["text"], r["split"]) for r in out] == [("a b", "train"), ("c", "dev"), ("d", "calib")]


def test_realworld_importers_read_train_parts_only(tmp_path):
    root = _rw(tmp_path)
    inputs, outputs, rep = load_public(root, sets=["realworld_aart", "realworld_parden"])
    assert [r["text"] for r in inputs] == ["wrapped harmful request one"]
    assert inputs[0]["kind"] == "adversarial" and inputs[0]["source"] == "public/realworld_aart"
    assert [(r["response"], r["label"]) for r in outputs] == [("train response", 0)]
    assert rep["realworld_parden"]["rows_read"] == 1 and rep["realworld_aart"]["license"] == "CC-BY-4.0"
    assert {n for n in PUBLIC_SETS if n.startswith("realworld_")} >= {"realworld_aart", "realworld_parden"}


def test_wrapper_twins_cover_both_labels_with_the_same_families():
    rng = random.Random(0)
    benign = [{"text": f"how do I bake bread number {i} at home", "label": 0, "source": "public/hh",
               "augmentations": [], "kind": "real_user", "license": "MIT"} for i in range(50)]
    harmful = [{"text": f"placeholder harmful request {i} here", "label": 1, "category": "cbrne",
                "source": "public/advbench", "augmentations": [], "kind": "harmful", "license": "MIT"}
               for i in range(50)]
    rng.shuffle(benign)
    out = R.wrapped_inputs(benign + harmful, seed=1, n_benign=200, n_harmful=100)
    assert sum(r["label"] == 0 for r in out) == 200 and sum(r["label"] == 1 for r in out) == 100
    fam0 = {r["augmentations"][0] for r in out if r["label"] == 0}
    fam1 = {r["augmentations"][0] for r in out if r["label"] == 1}
    assert len(fam0) >= 10 and len(fam1) >= 8 and len(fam0 & fam1) >= 8
    for r in out:
        validate_record({**r, "id": "x"}, "input")
        assert ("bake bread" in r["text"]) == (r["label"] == 0)
        assert r["category"] == ("cbrne" if r["label"] else None)


def test_cap_synthetic_keeps_every_real_record():
    recs = [_out(f"r{i}", i % 2) for i in range(30)] + \
           [_out(f"s{i}", i % 2, source="synthetic/offline") for i in range(100)]
    out = R.cap_synthetic(recs, 20, seed=0)
    assert sum(r["source"] == "public/x" for r in out) == 30
    assert sum(r["source"] == "synthetic/offline" for r in out) == 20
    assert R.cap_synthetic(recs, None, 0) == recs
    summ = R.mix_summary(out)
    assert summ["real"] == 30 and summ["total"] == 50 and summ["real_share"] == 0.6


def test_eval_texts_are_disjoint_from_the_training_libraries():
    """The late-harm check and the shortcut audit must not score text the models trained on."""
    from guard_plugins.eval import realworld as E
    from guard_plugins.synth import contexts as C

    train = {normalise(s) for s in (*C.NEUTRAL_SENTENCES, *C.PREAMBLE_OPENERS, *C.PREAMBLE_TRANSITIONS)}
    held = {normalise(s) for s in (*E.BENIGN_SENTENCES, *E.REAL_OPENERS, *E.STOCK_CONNECTIVES)}
    assert held and not (train & held)


def test_splices_are_built_only_from_records_that_passed_the_dev_guard(tmp_path):
    root = _rw(tmp_path)  # dev response: "DEV response text"
    pub_out = [_out("DEV response text", 1), _out("another harmful placeholder answer", 1)]
    pub_in = [{"text": "DEV prompt text", "label": 1, "source": "public/x", "kind": "harmful",
               "augmentations": [], "license": "MIT", "category": None, "lookalike": False}]
    parts = {"syn_in": [], "pub_in": pub_in, "aug_in": [], "syn_out": [], "pub_out": pub_out,
             "aug_out": []}
    info: dict = {}
    aug_in, aug_out = R.guard_and_augment(parts, root, seed=0, info=info)
    assert [r["response"] for r in parts["pub_out"]] == ["another harmful placeholder answer"]
    assert parts["pub_in"] == []
    assert info["realworld_dev_overlap_dropped"]["pub_out"] == 1
    assert info["realworld_dev_overlap_dropped"]["pub_in"] == 1
    spliced = [r for r in aug_out if "preamble_splice" in r["augmentations"]]
    assert len(spliced) == 1 and spliced[0]["response"].endswith("another harmful placeholder answer")
    assert not any("dev response text" in normalise(r["response"]) for r in aug_out)


def test_dev_guard_also_drops_records_that_contain_a_long_dev_text():
    long_dev = normalise(" ".join(f"word{i}" for i in range(40)))  # > 150 characters
    keys = {long_dev, "short dev refusal"}
    recs = [_out("Intro. " + " ".join(f"word{i}" for i in range(40)) + " Outro.", 1),
            _out("I said: short dev refusal, and more.", 0),
            _out("unrelated", 0)]
    kept, n = R.drop_dev_overlap(recs, "output", keys)
    assert n == 1 and [r["response"] for r in kept] == ["I said: short dev refusal, and more.", "unrelated"]
