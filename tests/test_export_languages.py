"""``guard-export languages``: the input manifest's validated languages come from a suite run of
the same weights (rule applied to measured FPR / recall; refused at another threshold)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from shipped_models import models_dir

from guard_plugins.errors import GuardError
from guard_plugins.export.cli import main as export_main
from guard_plugins.export.languages import ENGLISH_ROW, languages_block
from guard_plugins.runtime import Guard


def _suite(threshold: float) -> dict:
    """A suite result as the suite writes it (only the fields the block reads)."""
    return {
        "command": "python -m guard_plugins.eval.suite --sections languages,realworld",
        "input_threshold": threshold,
        "rows": [{"set": ENGLISH_ROW, "kind": "input", "n": 400, "n_pos": 300, "n_neg": 100,
                  "recall": 0.9, "fpr": 0.02}],
        "languages": {
            "benign": {"languages": [{"lang": "de", "n": 200, "fpr": 0.03},
                                     {"lang": "fr", "n": 200, "fpr": 0.2},
                                     {"lang": "it", "n": 20, "fpr": 0.0}]},
            "recall": {"languages": {"en": {"n_pos": 50, "recall": 0.7},
                                     "de": {"n_pos": 120, "recall": 0.85},
                                     "fr": {"n_pos": 130, "recall": 0.95},
                                     "it": {"n_pos": 90, "recall": 0.9},
                                     "ja": {"n_pos": 9, "recall": 0.1}}},
            "ranking": {"languages": [{"lang": "de", "auroc": 0.97}]},
        },
    }


def test_rule_needs_both_measures_on_enough_rows() -> None:
    b = languages_block(_suite(0.9))
    # de: FPR 3 % and recall 0.85 -> validated; fr: FPR 20 %; it: 20 benign rows < 30; ja:
    # recall only (no benign rows), on 9 prompts
    assert b["validated"] == ["en", "de"]
    m = b["measured"]
    assert m["en"] == {"recall_multijail_xsafety": 0.7, "n_harmful_multijail_xsafety": 50,
                       "fpr": 0.02, "n_benign": 100, "recall": 0.9, "n_harmful": 300,
                       "validated": True}
    assert m["de"]["auroc_same_language"] == 0.97 and not m["fr"]["validated"]
    assert not m["it"]["validated"] and m["ja"] == {"recall": 0.1, "n_harmful": 9, "validated": False}
    assert languages_block(_suite(0.9), max_fpr=0.25)["validated"] == ["en", "de", "fr"]
    assert "FPR <= 5%" in b["rule"] and "recall >= 0.80" in b["rule"]
    bad = _suite(0.9)
    bad["rows"] = []
    with pytest.raises(GuardError, match="no row"):
        languages_block(bad)
    with pytest.raises(GuardError, match="no languages part"):
        languages_block({"rows": bad["rows"]})


def test_cli_writes_the_block_into_a_copy_of_the_shipped_input_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(models_dir() / "input", models / "input")
    thr = json.loads((models / "input" / "manifest.json").read_text())["threshold"]
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(_suite(thr + 0.01)))
    assert export_main(["languages", str(models), "--suite", str(stale)]) == 2  # other threshold
    assert json.loads((models / "input" / "manifest.json").read_text())["languages"]["validated"] == ["en"]
    good = tmp_path / "suite.json"
    good.write_text(json.dumps(_suite(thr)))
    assert export_main(["languages", str(models), "--suite", str(good)]) == 0
    block = json.loads((models / "input" / "manifest.json").read_text())["languages"]
    assert block["validated"] == ["en", "de"] and block["threshold"] == thr
    g = Guard.load(models, providers="cpu")
    assert g.input.validated_languages == frozenset({"en", "de"})
    assert export_main(["languages", str(models), "--suite", str(tmp_path / "missing.json")]) == 2
