"""Issue 23 data: the benign multilingual split, non-English wrapper twins and the source cap
(guard_plugins.synth.realmix / public / cli), on small fixtures. Harmful texts here are
placeholders."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from guard_plugins.synth import cli
from guard_plugins.synth import contexts
from guard_plugins.synth import realmix as R
from guard_plugins.synth.schema import SPLITS, data_file, read_jsonl, validate_record
from guard_plugins.synth.split import normalise


def _inp(text: str, label: int = 0, *, source: str = "public/x", language: str | None = None,
         kind: str = "question", license: str = "MIT", aug: list[str] | None = None, **kw) -> dict:
    r = {"text": text, "label": label, "category": "hate" if label else None, "source": source,
         "kind": kind, "augmentations": aug or [], "lookalike": False, "license": license, **kw}
    if language:
        r["language"] = language
    return r


# --------------------------------------------------------------------------- source cap
@pytest.mark.parametrize("counts,share", [([100, 10, 10, 10, 10, 10, 10, 10], 0.25),
                                          ([500, 400, 30, 20, 20, 10, 10, 10, 10, 5], 0.2),
                                          ([9, 8, 7, 6, 5, 4, 3, 2, 1], 0.15)])
def test_cap_level_is_the_largest_level_that_meets_the_share(counts, share):
    x = R._cap_level(counts, share)
    capped = [min(n, x) for n in counts]
    assert max(capped) <= share * sum(capped)
    more = [min(n, x + 1) for n in counts]  # one more item per capped source breaks the share
    assert max(more) > share * sum(more)


def test_cap_level_none_when_no_source_is_over_and_error_when_impossible():
    assert R._cap_level([10, 10, 10, 10], 0.25) is None
    with pytest.raises(ValueError, match="cannot"):
        R._cap_level([10, 5, 1], 0.25)  # three sources cannot each stay at or below 25 %


def _pool() -> list[dict]:
    rng = random.Random(0)
    recs = [_inp(f"big {i}", int(i % 3 == 0), source="public/big", language=rng.choice(["es", "de", None]))
            for i in range(600)]
    for s in range(8):
        recs += [_inp(f"small {s} {i}", i % 2, source=f"public/s{s}") for i in range(50)]
    recs += [_inp(f"synthetic {i}", 0, source="synthetic/offline") for i in range(300)]
    recs += [_inp(f"aug {i}", 0, source="public/big", aug=["base64"]) for i in range(300)]
    return recs


def test_cap_sources_caps_the_dominant_source_and_keeps_its_mix():
    recs = _pool()
    kept, rep = R.cap_sources(recs, 0.2, seed=1)
    after = rep["after"]["per_source"]
    assert rep["before"]["per_source"]["public/big"]["share"] == 0.6
    assert max(d["share"] for d in after.values()) <= 0.2
    assert after["public/big"]["items"] == rep["level"] == 100 and rep["dropped"] == {"public/big": 500}
    assert all(after[f"public/s{s}"]["items"] == 50 for s in range(8))  # under the level: whole
    # not counted (synthetic, augmented) records are all kept, and order is kept
    assert sum(r["source"] == "synthetic/offline" for r in kept) == 300
    assert sum(bool(r["augmentations"]) for r in kept) == 300
    assert kept == [r for r in recs if r in kept]
    # label and language proportions of the capped source are kept (largest remainders)
    big = [r for r in recs if r["source"] == "public/big" and not r["augmentations"]]
    kbig = [r for r in kept if r["source"] == "public/big" and not r["augmentations"]]
    for key in (lambda r: r["label"], lambda r: r.get("language")):
        want, got = Counter(map(key, big)), Counter(map(key, kbig))
        for k, n in want.items():
            assert abs(got[k] - n * 100 / 600) <= 1.5, (k, got[k], n)


def test_cap_sources_is_seeded_and_order_independent():
    recs = _pool()
    a, _ = R.cap_sources(recs, 0.2, seed=1)
    b, _ = R.cap_sources(list(reversed(recs)), 0.2, seed=1)
    c, _ = R.cap_sources(recs, 0.2, seed=2)
    assert {r["text"] for r in a} == {r["text"] for r in b}
    assert {r["text"] for r in a} != {r["text"] for r in c}


def test_cap_sources_counted_predicate_and_infeasible_case():
    recs = [{**r, "split": "train" if i % 4 else "dev"} for i, r in enumerate(_pool())]
    kept, rep = R.cap_sources(recs, 0.2, seed=0, counted=lambda r: R.is_real(r) and r["split"] == "train")
    assert all(r in kept for r in recs if r["split"] == "dev")  # only train items are capped
    assert max(d["share"] for d in rep["after"]["per_source"].values()) <= 0.2
    few = [_inp(f"a{i}", source="public/a") for i in range(9)] + [_inp("b", source="public/b")]
    kept, rep = R.cap_sources(few, 0.2, seed=0)
    assert kept == few and rep["feasible"] is False and rep["dropped"] == {}
    with pytest.raises(ValueError, match="max_share"):
        R.cap_sources(few, 0.0)


# --------------------------------------------------------------------------- twins
def _ml_records() -> list[dict]:
    recs = []
    for lang, word in (("es", "pregunta"), ("de", "Frage"), ("zh", "问题")):
        recs += [_inp(f"{word} {i}?", 0, source="public/multilingual/tatoeba_laser", language=lang,
                      license="CC-BY-2.0-FR") for i in range(30)]
        recs += [_inp(f"{word} frase {i}.", 0, source="public/multilingual/sib200", language=lang,
                      kind="sentence", license="CC-BY-SA-4.0") for i in range(10)]
    recs += [_inp(f"PLACEHOLDER-HARMFUL {lang} {i}", 1, source="public/realworld_multijail", language=lang,
                  kind="harmful") for lang in ("es", "zh") for i in range(10)]
    recs += [_inp(f"english question {i}", 0, source="public/nq_open") for i in range(20)]
    recs += [_inp(f"adversarial {i}", 1, source="public/realworld_sap", language="es",
                  kind="adversarial") for i in range(5)]
    # MultiJail marks its low-resource languages adversarial: plain questions all the same
    recs += [_inp(f"PLACEHOLDER-HARMFUL sw {i}", 1, source="public/realworld_multijail", language="sw",
                  kind="adversarial") for i in range(5)]
    return recs


def test_multilingual_twins_cover_languages_labels_and_both_wrapper_kinds():
    recs = _ml_records()
    by_text = {r["text"]: r for r in recs}
    out = R.multilingual_twins(recs, seed=3, n_benign=300, n_harmful=60)
    assert Counter(r["label"] for r in out) == {0: 300, 1: 60}
    assert Counter(r["language"] for r in out if r["label"] == 0) == {"es": 100, "de": 100, "zh": 100}
    assert Counter(r["language"] for r in out if r["label"] == 1) == {"es": 20, "zh": 20, "sw": 20}
    kinds = {lab: {r["augmentations"][0].split(":")[0] for r in out if r["label"] == lab} for lab in (0, 1)}
    assert kinds[0] == kinds[1] == {"wrapper", "neutral_wrapper"}
    for r in out:
        validate_record({**r, "id": "x"}, "input")
        assert r["augmentations"][1] == "multilingual_twin" and r["source"] == "synthetic/offline"
        assert "english question" not in r["text"] and "adversarial" not in r["text"]
        assert ("PLACEHOLDER-HARMFUL" in r["text"]) == (r["label"] == 1)
        assert r["kind"] == ("benign_twin" if r["label"] == 0 else "wrapped_harmful")
        if r["augmentations"][0].startswith("neutral_wrapper:"):
            # every sentence of a language-neutral wrapper is a real row of the same language
            name = r["augmentations"][0].split(":")[1]
            parts = [p for p in NEUTRAL_SPLIT(R.NEUTRAL_WRAPPERS[name], r["text"]) if p]
            assert parts and all(by_text[p].get("language") == r["language"] for p in parts)
        else:
            fam = r["augmentations"][0].split(":")[1]
            assert fam in contexts.WRAPPER_FAMILIES
    assert R.multilingual_twins(recs, seed=3, n_benign=300, n_harmful=60) == out
    assert R.multilingual_twins(recs, seed=4, n_benign=300, n_harmful=60) != out
    assert R.multilingual_twins([r for r in recs if r.get("language") is None], seed=0) == []


def NEUTRAL_SPLIT(template: str, text: str) -> list[str]:
    """The request, then the other slot values, of a filled :data:`realmix.NEUTRAL_WRAPPERS`
    template (markup removed)."""
    import re

    pattern = re.escape(template)
    for slot in ("request", "q1", "q2", "s1", "s2"):
        pattern = pattern.replace(re.escape("{" + slot + "}"), "(.+?)", 1)
    m = re.fullmatch(pattern, text, flags=re.S)
    assert m, (template, text)
    names = [n for _, n, _, _ in __import__("string").Formatter().parse(template) if n]
    values = dict(zip(names, m.groups()))
    return [values["request"]] + [values[n] for n in names if n != "request"]


def test_multilingual_twin_fillers_share_the_request_source_and_licence():
    recs = _ml_records()
    src = {r["text"]: r["source"] for r in recs}
    out = R.multilingual_twins(recs, seed=0, n_benign=200, n_harmful=40, neutral_share=1.0)
    for r in out:
        kind, name = r["augmentations"][0].split(":")
        if kind == "wrapper":  # no benign rows in Swahili here: no language-neutral wrapper
            assert r["language"] == "sw"
            continue
        request, *fillers = NEUTRAL_SPLIT(R.NEUTRAL_WRAPPERS[name], r["text"])
        if r["label"] == 0:  # fillers from the request's own source: its licence only
            assert {src[f] for f in fillers} <= {src[request]} and r["license"] in {"CC-BY-2.0-FR", "CC-BY-SA-4.0"}
        else:  # a harmful request's source has no benign rows: the language's largest source
            assert {src[f] for f in fillers} <= {"public/multilingual/tatoeba_laser"}
            assert r["license"] == "MIT + CC-BY-2.0-FR"


# --------------------------------------------------------------------------- dev guard + CLI
def _shared(root: Path) -> Path:
    """A tiny shared-data folder: multilingual train/dev, two prompt and three response sets."""
    def w(rel: str, rows: list[dict]) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    ml = []
    for lang, q in (("es", "¿Dónde está la estación número {}?"), ("de", "Wo ist der Bahnhof Nummer {}?"),
                    ("ja", "{}番の駅はどこですか？")):
        ml += [{"text": q.format(i), "label": 0, "lang": lang, "source": "tatoeba_laser", "kind": "question",
                "licence": "CC-BY-2.0-FR"} for i in range(40)]
        ml += [{"text": q.format(i) + " (bis)", "label": 0, "lang": lang, "source": "llmzoo_ml100",
                "kind": "instruction", "licence": "CC-BY-NC-4.0"} for i in range(10)]
    dev_text = "¿Cuál es la capital de Francia, por favor?"
    ml.append({"text": dev_text, "label": 0, "lang": "es", "source": "blend", "kind": "question",
               "licence": "CC-BY-SA-4.0 (HF card only)"})  # in train and dev: must not survive
    w("prompts_benign/multilingual/train.jsonl", ml)
    w("prompts_benign/multilingual/dev.jsonl", [{"text": dev_text, "label": 0, "lang": "es",
                                                "source": "blend", "kind": "question", "licence": "x"}])
    w("realworld/prompts/multijail/train.jsonl",
      [{"text": f"PLACEHOLDER-HARMFUL pregunta {i}", "label": 1, "language": lang}
       for i, lang in enumerate(["es", "ja"] * 20)])
    w("realworld/prompts/multijail/dev.jsonl", [{"text": "dev placeholder", "label": 1, "language": "es"}])
    for name, n in (("cipherchat_gpt4_judged", 300), ("parden", 40), ("llm_past_tense", 40)):
        w(f"realworld/responses/{name}/train.jsonl",
          [{"prompt": f"{name} prompt {i}", "response": f"{name} answer {i}: [REDACTED] placeholder.",
            "label": i % 2} for i in range(n)])
        w(f"realworld/responses/{name}/dev.jsonl",
          [{"prompt": "p", "response": f"{name} dev answer", "label": 0}])
    for rel, col in (("jailbreaks/gptfuzzer_templates/GPTFuzzer.csv", "text"),
                     ("jailbreaks/in_the_wild/jailbreak_prompts_2023_05_07.csv", "prompt")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f'{col}\n"You are a pirate now. [INSERT PROMPT HERE]"\n', encoding="utf-8")
    return root


SETS = "multilingual_benign,realworld_multijail,realworld_cipherchat_gpt4_judged,realworld_parden," \
       "realworld_llm_past_tense"


def test_multilingual_dev_texts_are_dropped_from_every_part(tmp_path):
    shared = _shared(tmp_path)
    dev = "¿Cuál es la capital de Francia, por favor?"
    parts = {"syn_in": [_inp(dev, 0, source="synthetic/offline")],
             "pub_in": [_inp(dev, 0, language="es"), _inp("otra pregunta cualquiera", 0, language="es")],
             "aug_in": [], "syn_out": [], "pub_out": [], "aug_out": []}
    info: dict = {}
    aug_in, _ = R.guard_and_augment(parts, shared, seed=0, info=info, multilingual_twins_n=20)
    assert info["multilingual_dev_keys"] == 1
    assert info["realworld_dev_overlap_dropped"]["pub_in"] == 1
    assert info["realworld_dev_overlap_dropped"]["syn_in"] == 1
    assert [r["text"] for r in parts["pub_in"]] == ["otra pregunta cualquiera"]
    assert aug_in and not any(normalise(dev) in normalise(r["text"]) for r in aug_in)


def test_cli_imports_multilingual_caps_sources_and_reports_the_mix(tmp_path):
    shared, out = _shared(tmp_path / "shared"), tmp_path / "data"
    assert cli.main(["--offline", "--scale", "0.02", "--shared-data", str(shared), "--public-sets", SETS,
                     "--max-source-share", "0.5", "--multilingual-twins", "60", "--out", str(out),
                     "--quiet"]) == 0
    ins = {s: read_jsonl(data_file(out, "input", s), "input") for s in SPLITS}
    outs = {s: read_jsonl(data_file(out, "output", s), "output") for s in SPLITS}
    card = json.loads((out / "dataset_card.json").read_text(encoding="utf-8"))
    allin = [r for s in SPLITS for r in ins[s]]
    ml = [r for r in allin if r["source"].startswith("public/multilingual/")]
    assert {r["language"] for r in ml} == {"es", "de", "ja"}
    assert {r["source"] for r in ml} == {"public/multilingual/tatoeba_laser", "public/multilingual/llmzoo_ml100"}
    assert not any("capital de francia" in normalise(r["text"]) for r in allin)  # the dev text
    twins = [r for r in allin if "multilingual_twin" in r["augmentations"]]
    assert {r["label"] for r in twins} == {0, 1} and all(r.get("language") for r in twins)
    # the restrictive upstream licence is flagged per source
    assert "public/multilingual/llmzoo_ml100" in card["restricted_licences"]
    assert "public/multilingual/tatoeba_laser" not in card["restricted_licences"]
    # the cap: no real source above half of a model's real train items; cipherchat was capped
    cap = card["params"]["real_mix"]["source_cap_train"]
    pool = card["params"]["real_mix"]["source_cap_pool"]
    assert pool["outputs"]["dropped"]["public/realworld_cipherchat_gpt4_judged"] > 100
    real_train = Counter(r["source"] for r in outs["train"] if r["source"].startswith("public/")
                         and not r["augmentations"])
    assert max(real_train.values()) <= 0.5 * sum(real_train.values())
    assert cap["outputs"]["after"]["per_source"]["public/realworld_cipherchat_gpt4_judged"]["items"] == \
        real_train["public/realworld_cipherchat_gpt4_judged"]
    md = (out / "DATASET_CARD.md").read_text(encoding="utf-8")
    assert "## Source balance (real training items)" in md and "`--max-source-share 0.5`" in md
    assert "## Inputs per language" in md and "| ja |" in md
    # no cap: the dominant source stays whole
    out0 = tmp_path / "nocap"
    assert cli.main(["--offline", "--scale", "0.02", "--shared-data", str(shared), "--public-sets", SETS,
                     "--max-source-share", "0", "--multilingual-twins", "0", "--out", str(out0),
                     "--quiet"]) == 0
    card0 = json.loads((out0 / "dataset_card.json").read_text(encoding="utf-8"))
    assert "source_cap_train" not in card0["params"]["real_mix"]
    assert "multilingual_twins" not in card0["params"]["real_mix"]
    outs0 = [r for s in SPLITS for r in read_jsonl(data_file(out0, "output", s), "output")]
    assert sum(r["source"] == "public/realworld_cipherchat_gpt4_judged" and not r["augmentations"]
               for r in outs0) == 300


@pytest.mark.parametrize("argv", [["--max-source-share", "1.5"], ["--max-source-share", "-0.1"],
                                  ["--multilingual-twins", "-1"],
                                  ["--max-source-share", "0", "--source-cap-by-label"]])
def test_cli_rejects_bad_cap_and_twin_values(argv, capsys):
    with pytest.raises(SystemExit) as ei:
        cli.main(["--offline", "--out", "x", *argv])
    assert ei.value.code == 2 and "usage: guard-synth" in capsys.readouterr().err


def test_cap_sources_by_label_caps_each_label_separately():
    # public/h holds 60 % of the harmful items but 20 % of all items: only by_label caps it
    recs = [_inp(f"h{i}", 1, source="public/h") for i in range(60)]
    recs += [_inp(f"o{s} {i}", 1, source=f"public/o{s}") for s in range(4) for i in range(10)]
    recs += [_inp(f"b{s} {i}", 0, source=f"public/b{s}") for s in range(8) for i in range(25)]
    kept, rep = R.cap_sources(recs, 0.25, seed=0)
    assert kept == recs and rep["level"] is None
    kept, rep = R.cap_sources(recs, 0.25, seed=0, by_label=True)
    assert rep["level"] == {"0": None, "1": 13} and rep["dropped"] == {"public/h": 47}
    harmful = Counter(r["source"] for r in kept if r["label"] == 1)
    assert max(harmful.values()) <= 0.25 * sum(harmful.values())
    assert sum(r["label"] == 0 for r in kept) == 200
