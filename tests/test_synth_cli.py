"""``guard-synth`` end to end (guard_plugins.synth.cli), on tiny scales.

Runs the real pipeline (offline generator, augmentation, public importers, dedupe, splits,
card). Only the LLM is scripted, for the ``--model`` path (a litellm CustomLLM provider).
"""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import litellm
import pytest
from litellm import CustomLLM

from guard_plugins.constitution import load_constitution
from guard_plugins.synth import cli
from guard_plugins.synth.schema import SPLITS, data_file, read_jsonl
from guard_plugins.synth.split import normalise

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GUARD_SHARED_DATA") or REPO.parent / "shared" / "data")
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared data folder at {SHARED}")


def _load(out: Path) -> tuple[dict[str, list[dict]], dict[str, list[dict]], dict]:
    ins = {s: read_jsonl(data_file(out, "input", s), "input") for s in SPLITS}
    outs = {s: read_jsonl(data_file(out, "output", s), "output") for s in SPLITS}
    card = json.loads((out / "dataset_card.json").read_text(encoding="utf-8"))
    return ins, outs, card


def _check_folder(out: Path) -> tuple[dict, dict, dict]:
    """Checks every generated folder must pass: schema, splits, no leaks, card == files."""
    ins, outs, card = _load(out)
    assert (out / "DATASET_CARD.md").is_file()
    for s in SPLITS:
        assert ins[s] and outs[s], f"empty split {s}"
        assert all(r["split"] == s for r in ins[s] + outs[s])
        assert card["inputs"]["per_split"][s]["total"] == len(ins[s])
        assert card["outputs"]["per_split"][s]["total"] == len(outs[s])
        assert card["inputs"]["per_split"][s]["label_1"] == sum(r["label"] for r in ins[s])
    all_ids = [r["id"] for s in SPLITS for r in ins[s]]
    assert len(all_ids) == len(set(all_ids))
    # leak check, recomputed independently: no normalised text in two splits
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not ({normalise(r["text"]) for r in ins[a]} & {normalise(r["text"]) for r in ins[b]})
                assert not ({normalise(r["prompt"]) for r in outs[a]}
                            & {normalise(r["prompt"]) for r in outs[b]})
    # no duplicates within the folder either
    texts = [normalise(r["text"]) for s in SPLITS for r in ins[s]]
    assert len(texts) == len(set(texts))
    # rough 80 / 10 / 10
    n = sum(len(ins[s]) for s in SPLITS)
    assert 0.65 < len(ins["train"]) / n < 0.92
    # the card: constitution identity, leak check, rows that add up
    con = load_constitution()
    assert card["constitution"]["hash"] == con.content_hash()
    assert card["constitution"]["name"] == con.name
    assert card["leak_check"]["ok"] is True
    assert all(v == 0 for v in card["leak_check"]["inputs.text"].values())
    assert sum(r["n"] for r in card["inputs"]["rows"]) == n
    src = Counter(r["source"] for s in SPLITS for r in ins[s] + outs[s])
    assert set(card["licences"]) == set(src)
    # augmented variants are in the data and counted
    n_aug = sum(1 for s in SPLITS for r in ins[s] if r["augmentations"])
    assert n_aug > 0 and card["inputs"]["augmented"]["records"] == n_aug
    # synthetic harmful responses are redacted structures
    compliant = [r for s in SPLITS for r in outs[s] if r["kind"] == "compliant"]
    assert compliant and all(r["label"] == 1 for r in compliant)
    return ins, outs, card


@needs_shared
def test_offline_with_public_subset(tmp_path, capsys):
    from guard_plugins.synth import public

    sets = _small_public_sets(public)
    out = tmp_path / "data"
    rc = cli.main(["--offline", "--scale", "0.05", "--shared-data", str(SHARED),
                   "--public-sets", ",".join(sets), "--out", str(out), "--quiet"])
    assert rc == 0
    ins, outs, card = _check_folder(out)
    sources = set(card["licences"])
    assert "synthetic/offline" in sources
    pub = {s for s in sources if s.startswith("public/")}
    assert pub, f"no public records imported from {sets}"
    for s in pub:                                       # every public source has a licence
        assert card["licences"][s] and all(lic and lic != "None" for lic in card["licences"][s])
    assert card["public"] is not None and card["dedupe"]["inputs"]["total"] >= card["dedupe"]["inputs"]["kept"]
    assert card["params"]["public"]["sets"] == ",".join(sets)
    md = (out / "DATASET_CARD.md").read_text(encoding="utf-8")
    assert "Leak check" in md and "**pass**" in md and card["constitution"]["hash"] in md
    printed = capsys.readouterr().out
    assert "leak check: pass" in printed and "synthetic/offline" in printed


def _small_public_sets(public) -> list[str]:
    """Two small public sets (one prompt set, one response set) by the importer's own names."""
    names = list(getattr(public, "PUBLIC_SETS", None) or getattr(public, "SETS", None) or [])
    assert names, "guard_plugins.synth.public exposes no set registry"
    prefer = ["advbench", "dro_safeguard", "do_not_answer_responses",
              "malicious_instruct", "do_not_answer"]
    chosen = [n for n in prefer if n in names][:2]
    return chosen or names[:1]


def test_offline_no_public_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert cli.main(["--offline", "--no-public", "--scale", "0.02", "--augment-rate", "0.3",
                         "--shared-data", str(tmp_path / "absent"), "--out", str(out), "--quiet"]) == 0
    ins, outs, card = _check_folder(a)
    assert set(card["licences"]) == {"synthetic/offline"}
    assert card["params"]["public"] is None and card["params"]["jailbreak_templates"] == 0
    for s in SPLITS:   # same seed -> byte-identical data
        assert data_file(a, "input", s).read_bytes() == data_file(b, "input", s).read_bytes()
        assert data_file(a, "output", s).read_bytes() == data_file(b, "output", s).read_bytes()
    # augmented variants share their seed's split (group), so no near-duplicate leaks
    seed_split = {}
    for s in SPLITS:
        for r in ins[s]:
            if not r["augmentations"]:
                seed_split[r.get("group")] = s
    moved = [r for s in SPLITS for r in ins[s]
             if r["augmentations"] and r.get("group") in seed_split and seed_split[r["group"]] != s]
    assert not moved


class _Scripted(CustomLLM):
    def __init__(self):
        super().__init__()
        self.calls = 0

    async def acompletion(self, *args, **kwargs):
        self.calls += 1
        msgs = kwargs["messages"]
        system, user = msgs[0]["content"], msgs[-1]["content"]
        if "realistic user messages" in system:
            k = int(re.search(r"Write (\d+) new", user).group(1))
            cat = user.split("Category: ")[1].split(" (")[0]
            answer = json.dumps([f"request {i} about {cat} ({len(user)})" for i in range(k)])
        elif "MOCK" in system:
            answer = "Sure. Step 1: [REDACTED]. Step 2: [REDACTED]."
        elif "must not help" in system:
            answer = "I can't help with that."
        else:
            answer = "Here is a helpful, accurate answer about that topic."
        return await litellm.acompletion(model="openai/scripted", messages=msgs, mock_response=answer)


def test_llm_mode_through_the_cli(tmp_path, monkeypatch, capsys):
    handler = _Scripted()
    monkeypatch.setattr(litellm, "custom_provider_map", [{"provider": "scripted", "custom_handler": handler}])
    args = ["--model", "scripted/demo", "--no-public", "--requests-per-category", "2",
            "--shared-data", str(tmp_path / "absent"), "--cache-dir", str(tmp_path / "cache"),
            "--augment-rate", "1", "--out", str(tmp_path / "d"), "--quiet"]
    assert cli.main(args) == 0
    con = load_constitution()
    n_cat, n_res = len(con.categories), len(con.restricted)
    assert handler.calls == n_cat + 2 * (2 * n_res + (n_cat - n_res))
    card = json.loads((tmp_path / "d" / "dataset_card.json").read_text())
    assert card["generation"]["calls"] == handler.calls
    assert set(card["licences"]) == {"synthetic/llm:scripted/demo"}
    assert card["params"]["generator"] == "llm" and card["params"]["model"] == "scripted/demo"
    assert card["params"]["synthetic"] == {"inputs": 2 * n_cat, "outputs": 2 * (2 * n_res + n_cat - n_res)}
    assert card["leak_check"]["ok"]
    assert f"llm scripted/demo: {handler.calls} calls, 0 cache hits" in capsys.readouterr().out
    # a rerun is served from the cache
    before = handler.calls
    assert cli.main(args[:-3] + ["--out", str(tmp_path / "d2"), "--quiet"]) == 0
    assert handler.calls == before
    assert f"0 calls, {before} cache hits" in capsys.readouterr().out
    for s in SPLITS:
        assert (data_file(tmp_path / "d", "input", s).read_bytes()
                == data_file(tmp_path / "d2", "input", s).read_bytes())


def test_bad_constitution_path_exits_2_naming_the_file(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    rc = cli.main(["--constitution", str(missing), "--offline", "--no-public", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("guard-synth: error: ") and str(missing) in err and "not found" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nprinciples: p\nrestricted: []\npermitted: []\n", encoding="utf-8")
    rc = cli.main(["--constitution", str(bad), "--offline", "--no-public", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and str(bad) in err and "restricted" in err


def test_missing_shared_data_suggests_no_public(tmp_path, capsys):
    rc = cli.main(["--offline", "--shared-data", str(tmp_path / "absent"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "absent" in err and "--no-public" in err


@pytest.mark.parametrize("argv", [
    ["--out", "x"],                                      # neither --offline nor --model
    ["--offline", "--model", "m", "--out", "x"],         # both
    ["--offline"],                                       # no --out
    ["--offline", "--out", "x", "--scale", "0"],
    ["--offline", "--out", "x", "--no-public", "--public-sets", "a"],
])
def test_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as ei:
        cli.main(argv)
    assert ei.value.code == 2
    assert "usage: guard-synth" in capsys.readouterr().err


def test_console_script_help():
    exe = Path(sys.executable).with_name("guard-synth")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "guard_plugins.synth.cli"]
    res = subprocess.run(cmd + ["--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    for opt in ("--offline", "--model", "--out", "--shared-data", "--no-public", "--public-sets",
                "--augment-rate", "--seed", "--scale", "--requests-per-category", "--concurrency",
                "--cache-dir", "--quiet", "--max-source-share", "--multilingual-twins", "--source-cap-by-label"):
        assert opt in res.stdout


def _rec(split, text, label=0, **kw):
    return {"id": f"{split}-{text}", "text": text, "label": label, "category": None,
            "source": kw.pop("source", "public/x"), "kind": "k", "augmentations": kw.pop("aug", []),
            "lookalike": False, "license": kw.pop("license", "MIT"), "split": split, **kw}


def _orec(split, prompt, response, label=0):
    return {"id": f"{split}-{prompt}-{response}", "prompt": prompt, "response": response,
            "label": label, "category": None, "source": "public/y", "kind": "public",
            "augmentations": [], "license": "CC-BY-NC-4.0", "split": split}


def test_card_leak_check_and_licences(tmp_path):
    from guard_plugins.errors import DataError
    from guard_plugins.synth.card import leak_report, write_dataset_card

    con = load_constitution()
    ins = [_rec("train", "How do I bake bread?"), _rec("dev", "how do i  BAKE bread"),
           _rec("calib", "Tell me a joke", 1, aug=["base64"]), _rec("train", "other", source="public/z",
                                                                     license="GPL-3.0")]
    outs = [_orec("train", "p1", "I can't help."), _orec("dev", "p2", "I can't help."),
            _orec("calib", "p3", "Sure: [REDACTED]", 1)]
    leak = leak_report(ins, outs)
    assert leak["ok"] is False and leak["inputs.text"]["train|dev"] == 1
    assert leak["outputs.prompt"] == {"train|dev": 0, "train|calib": 0, "dev|calib": 0}
    assert leak["outputs.response"]["train|dev"] == 1          # informative only

    card = write_dataset_card(tmp_path, constitution=con, inputs=ins, outputs=outs,
                              public_report={"x": {"kind": "inputs", "license": "MIT", "rows_read": 3,
                                                   "kept": 2, "labels": {"0": 2, "1": 0}}},
                              params={"generator": "test"})
    assert card["inputs"]["per_split"]["train"] == {"total": 2, "label_0": 2, "label_1": 0}
    assert card["inputs"]["augmented"] == {"records": 1, "per_split": {"calib": 1},
                                           "per_augmentation": {"base64": 1}}
    assert card["licences"] == {"public/x": ["MIT"], "public/y": ["CC-BY-NC-4.0"], "public/z": ["GPL-3.0"]}
    assert set(card["restricted_licences"]) == {"public/y", "public/z"}
    assert {"split": "calib", "label": 1, "category": None, "source": "public/x", "kind": "k",
            "n": 1} in card["inputs"]["rows"]
    on_disk = json.loads((tmp_path / "dataset_card.json").read_text())
    assert on_disk["leak_check"]["ok"] is False and on_disk["constitution"]["hash"] == con.content_hash()
    md = (tmp_path / "DATASET_CARD.md").read_text()
    assert "**FAIL**" in md and "(restricts use)" in md and "| x | inputs | MIT | 3 | 2 |" in md

    with pytest.raises(DataError, match="no valid split"):
        write_dataset_card(tmp_path, constitution=con, inputs=[{**ins[0], "split": None}], outputs=outs,
                           public_report=None, params={})
