"""Tests for guard_plugins.synth.public on the real shared data folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from guard_plugins.errors import DataError
from guard_plugins.synth import public as P
from guard_plugins.synth.schema import validate_record

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MANIFEST = Path(P.__file__).resolve().parents[1] / "data" / "public_sources.json"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data folder {DATA} not present")

RESTRICTED = {"violent_crimes", "nonviolent_crimes", "sex_crimes", "child_exploitation", "cbrne",
              "self_harm", "hate", "harassment", "privacy", "specialized_advice",
              "sexual_content", "cyber_attacks", "jailbreak_extraction"}

# rows the README table announces per set (rows our importer reads must match)
README_ROWS = {
    "advbench": 520, "advbench_strings": 574, "harmbench": 400 + 400 + 110 + 50 + 100,
    "malicious_instruct": 100, "do_not_answer": 939, "declare_lab": 550 + 1960 + 200 + 500,
    "ailuminate_demo": 1200, "forbidden_questions": 390, "refusal_direction": 260 + 39 + 572,
    "alpaca_instructions": 18793 + 6264 + 6266, "chat_benchmarks": 160, "alpaca_seed_tasks": 175,
    "hh_rlhf_helpful_first_turns": 6240, "hh_rlhf_helpful_multi_turn": 2354, "arena_hard": 1250,
    "oasst": 350, "nq_open": 3610 + 1800 + 1769, "truthfulqa": 817, "dolly_safety": 387,
    "phtest": 3260, "oktest": 350, "coconot_contrast": 379, "coconot_eval": 1001,
    "coconot_pref": 927, "dro_safeguard": 300, "xstest_style_extension": 380,
    "guardreasoner": 5000, "jailbreaks_in_the_wild": 666, "do_not_answer_responses": 5634,
    "gptfuzz": 6160 + 1540, "refusal_direction_completions": 2500, "latent_jailbreak": 2880,
    "benign_chat_alpaca_eval": 805, "benign_chat_arena": 1000, "diasafety": 9017 + 1097 + 1095,
    "phtest_responses": 2 * 3260, "safety_tuned_llamas_answers": 2483,
    "xstest_completions": 380, "medical_queries": 1417 + 1499, "medical_safety": 3 * 1417,
    "multilingual_benign": 22240,
}


@pytest.fixture(scope="module")
def loaded():
    if not DATA.is_dir():
        pytest.skip(f"shared data folder {DATA} not present")
    return P.load_public(DATA, sets=list(P.PUBLIC_SETS))


def by_source(records, name):
    return [r for r in records if r["source"] == f"public/{name}"]


def test_every_set_has_an_importer_and_counts_match_readme(loaded):
    _, _, report = loaded
    assert set(report) == set(P.PUBLIC_SETS)
    for name, rows in README_ROWS.items():
        assert report[name]["rows_read"] == rows, (name, report[name]["rows_read"], rows)
    # safety-tuned llamas: eval files 40-178 rows each plus 2,483 harmful instructions
    assert report["safety_tuned_llamas"]["rows_read"] == 668 + 2483
    for name, entry in report.items():
        assert entry["kept"] > 0, name
        assert entry["kept"] + sum(entry["skipped"].values()) == entry["rows_read"], name


def test_every_data_file_is_accounted_for():
    if not DATA.is_dir():
        pytest.skip(f"shared data folder {DATA} not present")
    covered = {p for s in P.PUBLIC_SETS.values() for p in s.paths} | set(P.UNUSED_FILES)
    covered.add("jailbreaks/gptfuzzer_templates/GPTFuzzer.csv")
    data_files = {str(p.relative_to(DATA)) for p in DATA.rglob("*")
                  if p.is_file() and p.suffix in {".csv", ".json", ".jsonl", ".txt"}
                  and "LICENSE" not in p.name}
    # unseen/ is evaluation data (guard_plugins.eval): no importer and no manifest entry
    assert not {p for p in covered if p.startswith("unseen/")}
    assert {p for p in data_files - covered if not p.startswith("unseen/")} == set()


def test_evaluation_only_files_are_never_imported():
    """unseen/ and the multilingual dev split are evaluation data: no set reads them."""
    paths = [p for s in P.PUBLIC_SETS.values() for p in s.paths]
    assert not [p for p in paths if p.startswith("unseen/") or p == P.MULTILINGUAL_DEV
                or (p.startswith("realworld/") and p.endswith("/dev.jsonl"))]
    assert P.MULTILINGUAL_DEV in P.UNUSED_FILES and P.MULTILINGUAL_TRAIN in P.PUBLIC_SETS["multilingual_benign"].paths


def test_records_valid_labels_licence_and_categories(loaded):
    inputs, outputs, _ = loaded
    for r in inputs:
        validate_record({**r, "id": "x"}, "input")
    for r in outputs:
        validate_record({**r, "id": "x"}, "output")
    for r in inputs + outputs:
        assert r["label"] in (0, 1) and r["license"]
        assert r["source"].startswith("public/")
        assert r["category"] is None or r["category"] in RESTRICTED
        if r["label"] == 0:
            assert r["category"] is None
    # categories are only set where a set field maps reliably, and several sets do map
    cats = {r["category"] for r in inputs if r["category"]}
    assert {"cbrne", "cyber_attacks", "hate", "privacy", "self_harm", "child_exploitation"} <= cats


def test_category_mapping_examples(loaded):
    inputs, _, report = loaded
    ail = by_source(inputs, "ailuminate_demo")
    assert {r["category"] for r in ail} >= {"violent_crimes", "cbrne", "child_exploitation"}
    assert "hazard 'ipv' (intellectual property) not in the default constitution" in \
        report["ailuminate_demo"]["skipped"]
    hb = by_source(inputs, "harmbench")
    assert all(r["label"] == 1 for r in hb)
    assert sum(v for k, v in report["harmbench"]["skipped"].items() if "copyright" in k) == 200
    with pytest.raises(DataError, match="CATEGORY_MAP"):
        P.map_category("harmbench", "a_new_upstream_label")


def test_mixed_sets_labelled_as_documented(loaded):
    inputs, outputs, report = loaded
    coco = by_source(inputs, "coconot_eval")
    assert {r["label"] for r in coco if r["kind"] == "harmful"} == {1}
    assert all(r["kind"].startswith("noncompliance:") for r in coco if r["label"] == 0)
    assert 200 < sum(r["label"] for r in coco) < 400
    assert {r["label"] for r in by_source(inputs, "coconot_contrast")} == {0}
    ph = by_source(inputs, "phtest")
    assert len(ph) == 2069 and all(r["label"] == 0 and r["lookalike"] for r in ph)
    assert report["phtest"]["skipped"] == {
        "controversial (debatable by construction; excluded, not relabelled)": 1191}
    dro = by_source(inputs, "dro_safeguard")
    assert sum(r["label"] for r in dro) == 100 and sum(r["lookalike"] for r in dro) == 200
    pairs = {}
    for r in dro:
        if "group" in r:
            pairs.setdefault(r["group"], set()).add(r["label"])
    assert len(pairs) == 100 and all(v == {0, 1} for v in pairs.values())
    xs = by_source(inputs, "xstest_style_extension")
    assert sum(r["label"] == 0 for r in xs) == 250 and 80 < sum(r["label"] for r in xs) <= 130
    gr = by_source(inputs, "guardreasoner")
    assert sum(r["label"] for r in gr) == 2500
    for name in ("oktest", "hh_rlhf_helpful_first_turns", "oasst", "alpaca_instructions",
                 "nq_open", "medical_queries"):
        assert {r["label"] for r in by_source(inputs, name)} == {0}, name
    assert all(r["lookalike"] for r in by_source(inputs, "oktest"))
    assert not any(r["lookalike"] for r in by_source(inputs, "hh_rlhf_helpful_first_turns"))
    stl = by_source(inputs, "safety_tuned_llamas")
    assert {r["label"] for r in stl if r["lookalike"]} == {0}
    assert report["safety_tuned_llamas"]["skipped"] == {
        "Q-Harm mixes benign and harmful questions without labels": 100}
    mt = by_source(inputs, "hh_rlhf_helpful_multi_turn")
    assert mt and all(r["text"].startswith("user: ") and "\nassistant: " in r["text"] for r in mt)


def test_output_sets_use_harm_labels_only(loaded):
    _, outputs, report = loaded
    dna = by_source(outputs, "do_not_answer_responses")
    assert len(dna) == 5634 and sum(r["label"] for r in dna) == 193
    gf = by_source(outputs, "gptfuzz")
    assert sum(r["label"] for r in gf) == 1694 + 545
    assert all(r["prompt"] for r in gf)
    for name in ("phtest_responses", "xstest_completions", "benign_chat_alpaca_eval",
                 "benign_chat_arena", "safety_tuned_llamas_answers"):
        assert {r["label"] for r in by_source(outputs, name)} == {0}, name
    ph = by_source(outputs, "phtest_responses")
    assert {r["kind"] for r in ph} == {"benign", "refusal"}  # compliance to harmless = label 0
    lj = by_source(outputs, "latent_jailbreak")
    assert sum(r["label"] for r in lj) == 840 + 584
    med = by_source(outputs, "medical_safety")
    assert 0 < sum(r["label"] for r in med) < len(med) / 5
    assert all(r["category"] == "specialized_advice" for r in med if r["label"])
    strings = by_source(outputs, "advbench_strings")
    assert all(r["prompt"] == "" and r["label"] == 1 for r in strings)


@needs_data
def test_default_sets_exclude_opt_in_ones():
    inputs, outputs, report = P.load_public(DATA, sets=None)
    assert "jailbreaks_in_the_wild" not in report and "diasafety" not in report
    assert not by_source(inputs, "jailbreaks_in_the_wild")
    assert set(report) == {n for n, s in P.PUBLIC_SETS.items() if s.default}


def test_missing_paths_raise_or_are_reported(tmp_path):
    with pytest.raises(DataError, match="not found"):
        P.load_public(tmp_path / "nope")
    with pytest.raises(DataError, match="unknown public set"):
        P.load_public(tmp_path, sets=["no_such_set"])
    # an explicitly requested set whose file is missing raises, naming the file
    with pytest.raises(DataError, match="harmful_behaviors.csv"):
        P.load_public(tmp_path, sets=["advbench"])
    # with default sets, a missing file is reported, not fatal
    inputs, outputs, report = P.load_public(tmp_path)
    assert inputs == [] and outputs == []
    assert report["advbench"]["missing"] == ["prompts_harmful/advbench/harmful_behaviors.csv"]
    assert report["advbench"]["skipped"] == {"file missing": 1}


@needs_data
def test_partial_copy_and_bad_columns(tmp_path):
    rel = "prompts_harmful/advbench/harmful_behaviors.csv"
    (tmp_path / rel).parent.mkdir(parents=True)
    shutil.copy(DATA / rel, tmp_path / rel)
    inputs, _, report = P.load_public(tmp_path)
    assert len(inputs) == 520 and report["advbench"]["kept"] == 520
    (tmp_path / rel).write_text("wrong,columns\na,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        P.load_public(tmp_path, sets=["advbench"])


@needs_data
def test_committed_manifest_matches_data(tmp_path):
    out = tmp_path / "m.json"
    fresh = P.write_sources_manifest(DATA, out)
    committed = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert committed["files"] == json.loads(out.read_text(encoding="utf-8"))["files"]
    for e in fresh:
        assert len(e["sha256"]) == 64 and e["license"] and e["url"].startswith("https://")
        assert e["rows"] > 0
    assert len({(e["name"], e["path"]) for e in fresh}) == len(fresh)
    assert {e["name"] for e in fresh if e["used"]} == set(P.PUBLIC_SETS)


def test_multilingual_benign_rows_keep_language_source_and_licence(loaded):
    """The benign multilingual train split: label 0, ``language`` from ``lang``, one source and
    the row's own licence per upstream set (restrictive ones flagged by the card's rule)."""
    from guard_plugins.synth.card import _is_restrictive

    inputs, _, report = loaded
    ml = [r for r in inputs if r["source"].startswith(P.MULTILINGUAL_SOURCE_PREFIX)]
    assert len(ml) == report["multilingual_benign"]["kept"] == 22240
    assert {r["label"] for r in ml} == {0} and all(r["category"] is None for r in ml)
    assert len({r["language"] for r in ml}) == 24 and "en" not in {r["language"] for r in ml}
    assert len({r["source"] for r in ml}) == 25
    lic = {r["source"].removeprefix(P.MULTILINGUAL_SOURCE_PREFIX): r["license"] for r in ml}
    assert {s for s, v in lic.items() if _is_restrictive(v)} == {
        "llmzoo_ml100", "hplt_oasst_test", "zno_geography", "gpt4vn_alpaca_vi", "persianqa", "poquad"}
    assert lic["tatoeba_laser"] == "CC-BY-2.0-FR"
    assert {r["kind"] for r in ml} == {"question", "instruction", "utterance", "sentence"}
    # xsafety writes Spanish as "sp": imported as ISO 639-1 "es"
    xs = by_source(inputs, "realworld_xsafety_multilingual")
    assert "es" in {r.get("language") for r in xs} and "sp" not in {r.get("language") for r in xs}


def test_multilingual_loader_rejects_bad_rows(tmp_path):
    d = tmp_path / "prompts_benign" / "multilingual"
    d.mkdir(parents=True)
    good = {"text": "¿Dónde está la biblioteca?", "label": 0, "lang": "es", "source": "tatoeba_laser",
            "kind": "question", "licence": "CC-BY-2.0-FR"}
    for bad, match in (({"label": 1}, "benign only"), ({"licence": " "}, "no licence"),
                       ({"source": "Bad Name"}, "lower-case set name"), ({"kind": "poem"}, "kind")):
        (d / "train.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, **bad}) + "\n")
        with pytest.raises(DataError, match=match):
            P.load_public(tmp_path, sets=["multilingual_benign"])
    (d / "train.jsonl").write_text(json.dumps(good) + "\n")
    inputs, _, _ = P.load_public(tmp_path, sets=["multilingual_benign"])
    assert inputs == [{"text": good["text"], "label": 0, "category": None,
                       "source": "public/multilingual/tatoeba_laser", "kind": "question",
                       "augmentations": [], "lookalike": False, "license": "CC-BY-2.0-FR",
                       "language": "es"}]
