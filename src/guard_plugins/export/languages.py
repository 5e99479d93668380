"""``guard-export languages MODELS --suite SUITE.json``: the input manifest's ``languages`` block.

The runtime reports whether the language of what it scored was validated for the release
(``Verdict.language_validated``), and the ``unvalidated_language`` option decides what happens
otherwise; the list comes from the manifest's ``languages`` block. This command derives the
block from a results-suite JSON of *these* weights (``python -m guard_plugins.eval.suite
--sections languages,realworld``), so the list is measured, never typed:

* English: the suite row ``realworld inputs pooled (English)`` (FPR on its benign rows, recall on
  its harmful rows) and, apart, recall on the English rows of ``multijail`` / ``xsafety``;
* every other language: FPR on the benign multilingual dev split and recall on the
  ``multijail`` + ``xsafety_multilingual`` dev splits (the suite's languages part), and, where
  the suite measured it, the AUROC of harmful against benign prompts of that language.

A language is validated when its benign FPR is at most ``--max-fpr`` and its recall at least
``--min-recall``, each measured on at least ``--min-rows`` prompts at the threshold the suite
ran with. The suite must have run with the manifest's current threshold (checked), and the
model's sha256 is recorded, so a block cannot outlive the weights it describes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import GuardError
from .manifest import model_sha256, rewrite_manifest

ENGLISH_ROW = "realworld inputs pooled (English)"
LANGUAGE_ID = ("py3langid (ISO 639-1 codes); the runtime identifies sentences/lines of >= 16 bytes "
               "of letters (runtime/language.py) and reports the unvalidated language with the "
               "most letters if any chunk is in one")


def rule_text(max_fpr: float, min_recall: float, min_rows: int) -> str:
    return (f"validated: benign FPR <= {max_fpr:.0%} and harmful recall >= {min_recall:.2f} at the "
            f"shipped threshold, each measured on >= {min_rows} prompts in that language. English: "
            f"the English rows of the pooled real-world input dev splits (suite row '{ENGLISH_ROW}'; "
            "they include the English rows of multijail and xsafety, whose recall alone is "
            "recall_multijail_xsafety). Other languages: FPR on the benign multilingual dev split, "
            "recall on the multijail and xsafety_multilingual dev splits (the suite's languages "
            "part). A language with no measurement is not validated.")


def _r(x: Any) -> float | None:
    return None if x is None else round(float(x), 4)


def languages_block(suite: Mapping[str, Any], *, max_fpr: float = 0.05, min_recall: float = 0.80,
                    min_rows: int = 30) -> dict[str, Any]:
    """The ``languages`` block from a suite result (see the module docstring)."""
    lang = suite.get("languages") or {}
    ben, rec = lang.get("benign"), lang.get("recall")
    if not ben or not rec:
        raise GuardError("the suite JSON has no languages part with both benign FPR and recall "
                         "(run the suite with --sections languages,realworld and the shared data)")
    rows = {r.get("set"): r for r in suite.get("rows") or []}
    en_row = rows.get(ENGLISH_ROW)
    if en_row is None:
        raise GuardError(f"the suite JSON has no row {ENGLISH_ROW!r} (run it with the realworld section)")
    ranking = {e["lang"]: e for e in ((lang.get("ranking") or {}).get("languages") or [])}
    measured: dict[str, dict[str, Any]] = {}
    for e in ben["languages"]:
        measured.setdefault(e["lang"], {}).update(fpr=_r(e["fpr"]), n_benign=e["n"])
    for code, e in rec["languages"].items():
        if code == "?":
            continue
        key = "recall_multijail_xsafety" if code == "en" else "recall"
        nkey = "n_harmful_multijail_xsafety" if code == "en" else "n_harmful"
        measured.setdefault(code, {}).update({key: _r(e["recall"]), nkey: e["n_pos"]})
    measured.setdefault("en", {}).update(fpr=_r(en_row["fpr"]), n_benign=en_row["n_neg"],
                                         recall=_r(en_row["recall"]), n_harmful=en_row["n_pos"])
    for code, e in ranking.items():
        if code in measured:
            measured[code]["auroc_same_language"] = _r(e["auroc"])

    def ok(m: Mapping[str, Any]) -> bool:
        return (m.get("fpr") is not None and m.get("n_benign", 0) >= min_rows and m["fpr"] <= max_fpr
                and m.get("recall") is not None and m.get("n_harmful", 0) >= min_rows
                and m["recall"] >= min_recall)

    for m in measured.values():
        m["validated"] = ok(m)
    order = sorted(measured, key=lambda c: (c != "en", c))
    return {"validated": [c for c in order if measured[c]["validated"]],
            "rule": rule_text(max_fpr, min_recall, min_rows),
            "source": {"suite": suite.get("command")},
            "language_id": LANGUAGE_ID,
            "measured": {c: measured[c] for c in order}}


def write_block(folder: Path, suite: Mapping[str, Any], block: dict[str, Any]) -> None:
    """Write ``block`` into ``folder/manifest.json`` (an input model) after checking that the
    suite scored these weights at the manifest's threshold."""
    from ..runtime.manifest import load_manifest

    manifest = load_manifest(folder, kind="input")
    thr = suite.get("input_threshold")
    if thr is None or abs(float(thr) - float(manifest["threshold"])) > 1e-9:
        raise GuardError(f"{folder}: the suite ran at input threshold {thr}, the manifest's is "
                         f"{manifest['threshold']}: run the suite on this model as it is now")
    manifest["languages"] = {**block, "model_sha256": model_sha256(manifest),
                             "threshold": manifest["threshold"]}
    rewrite_manifest(folder, "input", manifest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="guard-export languages",
        description="Write the input manifest's languages block (validated languages with their "
                    "measured FPR and recall) from a results-suite JSON of this model.")
    p.add_argument("models", type=Path, help="exported models folder holding input/")
    p.add_argument("--suite", type=Path, required=True,
                   help="suite JSON (python -m guard_plugins.eval.suite --sections languages,realworld --out X.md writes X.json)")
    p.add_argument("--max-fpr", type=float, default=0.05, help="highest benign FPR (default: %(default)s)")
    p.add_argument("--min-recall", type=float, default=0.80, help="lowest recall (default: %(default)s)")
    p.add_argument("--min-rows", type=int, default=30, help="fewest prompts per class (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="print the block, do not write it")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        try:
            suite = json.loads(args.suite.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise GuardError(f"--suite {args.suite}: unreadable ({e})") from None
        if not isinstance(suite, dict):
            raise GuardError(f"--suite {args.suite}: not a suite JSON")
        block = languages_block(suite, max_fpr=args.max_fpr, min_recall=args.min_recall,
                                min_rows=args.min_rows)
        if not args.dry_run:
            write_block(args.models / "input", suite, block)
    except GuardError as e:
        print(f"guard-export languages: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(block, indent=2))
    return 0
