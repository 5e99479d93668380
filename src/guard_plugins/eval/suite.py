"""The results suite: the models on the dev splits and on every labelled public set.

    python -m guard_plugins.eval.suite --shared-data ../shared/data --data data/default \\
        --out reports/suite.md [--models DIR] [--max-per-set 400] [--sets NAME ...]

* **dev splits**: ``DATA/inputs.dev.jsonl`` and ``DATA/outputs.dev.jsonl`` (``guard-synth``
  output): every input row (or ``--max-dev``), 1,000 sampled output rows
  (``--max-dev-outputs``; streaming is scored token by token);
* **public sets**: every set :func:`guard_plugins.synth.public.load_public` imports from the
  shared data folder (label policy there), one row per set. The public sets also feed
  ``guard-synth``'s training mix, so rows whose normalised text (input) or prompt (output)
  is in ``DATA``'s **train or calib** split are dropped first: only unseen rows are scored
  (the table says how many were dropped). Each set is sampled down to ``--max-per-set`` rows
  (``--max-per-output-set`` for output sets; fixed seed, class ratio kept) to bound the run
  time.

Output sets are scored whole (``check_output``) and with the streaming rule (realistic
chunks through ``stream.feed``). Sets with one class only get recall (harmful-only) or FPR
(benign-only); the other columns read ``n/a``.

Writes a markdown table (``--out``, for the README, with the command that made it) and the
same numbers as JSON next to it (``.json``).
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import metrics as M
from ..errors import DataError, GuardError
from .data import EvalData, EvalRecord, Kind, parse_eval_record, read_eval_file
from .evaluate import ChunkSpec, EvalResult, evaluate

__all__ = ["SuiteRow", "run_suite", "render_suite", "main"]

SuiteRow = dict[str, Any]


def _sample(records: list[EvalRecord], n: int | None, seed: int) -> list[EvalRecord]:
    """At most ``n`` records, stratified by label (fixed seed), in their original order."""
    if n is None or len(records) <= n:
        return records
    rng = random.Random(seed)
    by = defaultdict(list)
    for i, r in enumerate(records):
        by[r.label].append(i)
    keep: list[int] = []
    for lab, idx in sorted(by.items()):
        k = max(1, round(n * len(idx) / len(records)))
        keep += rng.sample(idx, min(k, len(idx)))
    return [records[i] for i in sorted(keep)[:n]]


def _seen_keys(data_dir: Path | None) -> dict[Kind, set[str]]:
    """Normalised keys of the train + calib splits (rows the models were fit or calibrated on)."""
    from ..synth.split import normalise

    seen: dict[Kind, set[str]] = {"input": set(), "output": set()}
    if data_dir is None:
        return seen
    for kind, stem in (("input", "inputs"), ("output", "outputs")):
        for split in ("train", "calib"):
            p = data_dir / f"{stem}.{split}.jsonl"
            if not p.is_file():
                continue
            with p.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    seen[kind].add(normalise(_key(rec, kind)))
    return seen


def _key(rec: dict[str, Any], kind: Kind) -> str:
    if kind == "input":
        return str(rec.get("text", ""))
    prompt = str(rec.get("prompt") or "")
    return prompt if prompt.strip() else str(rec.get("response", ""))


def _row(name: str, res: EvalResult, extra: dict[str, Any]) -> SuiteRow:
    obj = res.to_json()
    m = obj["metrics"]
    row: SuiteRow = {"set": name, "kind": res.kind, "n": m["n"], "n_pos": m["n_pos"],
                     "n_neg": m["n_neg"], "precision": m["precision"], "recall": m["recall"],
                     "f1": m["f1"], "fpr": m["fpr"], "auprc": m["auprc"], "roc_auc": m["roc_auc"],
                     "recall_at_1pct_fpr": m["recall_at_target_fpr"], "seconds": obj["seconds"], **extra}
    if obj["streaming"]:
        s = obj["streaming"]
        row.update(stream_recall=s["metrics"]["recall"], stream_fpr=s["metrics"]["fpr"],
                   stream_f1=s["metrics"]["f1"], median_halt=s["halt_token_fraction"]["median"])
    return row


def run_suite(guard: Any, *, data_dir: Path | None, shared_data: Path | None,
              sets: Sequence[str] | None = None, max_per_set: int | None = 400,
              max_per_output_set: int | None = 150, max_dev: int | None = None,
              max_dev_outputs: int | None = 1000, seed: int = 0, progress: bool = True,
              models: str | None = None,
              kinds: Sequence[str] = ("input", "output")) -> dict[str, Any]:
    """Evaluate on the dev splits and public sets; returns ``{"rows": [...], "notes": [...]}``."""
    rows: list[SuiteRow] = []
    notes: list[str] = []
    chunking = ChunkSpec(seed=seed)
    if data_dir is not None:
        for kind, stem in (("input", "inputs"), ("output", "outputs")):
            if kind not in kinds:
                continue
            p = data_dir / f"{stem}.dev.jsonl"
            if not p.is_file():
                notes.append(f"{p}: not found, dev {kind} split skipped")
                continue
            d = read_eval_file(p, kind)  # type: ignore[arg-type]
            d.records = _sample(d.records, max_dev if kind == "input" else max_dev_outputs, seed)
            res = evaluate(guard, d, chunking=chunking, progress=progress, models=models)
            rows.append(_row(f"dev ({stem}.dev.jsonl)", res, {"group": "dev", "dropped_seen": 0}))
    if shared_data is not None:
        try:
            from ..synth.public import load_public
        except ImportError as e:
            raise GuardError(f"guard_plugins.synth.public is not available ({e})") from None
        inputs, outputs, report = load_public(Path(shared_data), sets=list(sets) if sets else None,
                                              progress=progress)
        seen = _seen_keys(data_dir)
        if data_dir is None:
            notes.append("no --data: public rows seen in training could not be dropped")
        from ..synth.split import normalise

        for kind, recs in (("input", inputs), ("output", outputs)):
            if kind not in kinds:
                continue
            by_set: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in recs:
                by_set[str(r.get("source", "public/?")).removeprefix("public/")].append(r)
            for name in sorted(by_set):
                good: list[EvalRecord] = []
                dropped = invalid = 0
                for i, r in enumerate(by_set[name], 1):
                    if normalise(_key(r, kind)) in seen[kind]:  # type: ignore[index]
                        dropped += 1
                        continue
                    try:
                        good.append(parse_eval_record(r, kind, i))  # type: ignore[arg-type]
                    except ValueError as e:
                        invalid += 1
                        if invalid == 1:
                            notes.append(f"{name} ({kind}) row {i}: {e}")
                if invalid:
                    notes.append(f"{name} ({kind}): {invalid} rows not scorable (not counted)")
                if not good:
                    notes.append(f"{name} ({kind}): every row is in the train/calib split")
                    continue
                kept = _sample(good, max_per_set if kind == "input" else max_per_output_set, seed)
                d = EvalData(path=f"public/{name}", kind=kind, records=kept, bad=[])  # type: ignore[arg-type]
                res = evaluate(guard, d, chunking=chunking, progress=progress, models=models)
                rows.append(_row(name, res, {"group": "public", "dropped_seen": dropped,
                                             "unseen": len(good),
                                             "license": report.get(name, {}).get("license")}))
        for name, entry in report.items():
            if entry.get("missing"):
                notes.append(f"{name}: files missing ({', '.join(entry['missing'])})")
    return {"rows": rows, "notes": notes}


def _f(x: Any, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return f"{100 * x:.1f}" if pct else f"{x:.3f}"


def _pct(x: Any) -> str:
    v = _f(x, True)
    return v if v == "n/a" else v + " %"


def _two_class(r: SuiteRow, key: str) -> Any:
    """A metric that needs both classes (precision, F1, AUPRC, ...): None on one-class sets."""
    return r.get(key) if r["n_pos"] and r["n_neg"] else None


def render_suite(result: dict[str, Any], command: str, meta: dict[str, Any]) -> str:
    """Markdown tables (inputs, then outputs) with the command that made them."""
    lines = ["# Results suite", "",
             f"Made with: `{command}`", "",
             f"Models: `{meta.get('models') or 'embedded defaults'}` (input threshold "
             f"{_f(meta.get('input_threshold'))}, output threshold {_f(meta.get('output_threshold'))}); "
             f"{meta.get('seconds', 0):.0f} s on {meta.get('machine', 'this machine')}.", "",
             "Label 1 = harmful. Precision, recall, F1 and FPR at the shipped threshold; AUPRC; "
             "recall at 1 % FPR. Public rows whose text is in the training or calibration split "
             "were dropped (`seen`), the rest sampled to at most the `n` shown (class ratio "
             "kept). One-class sets: only recall (harmful) or FPR (benign) applies.", ""]
    rows = result["rows"]
    ins = [r for r in rows if r["kind"] == "input"]
    outs = [r for r in rows if r["kind"] == "output"]
    if ins:
        lines += ["## Input guard", "",
                  "| set | n | harmful | seen (dropped) | precision | recall | F1 | FPR % | AUPRC | recall @ 1 % FPR |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in ins:
            lines.append(f"| {r['set']} | {r['n']} | {r['n_pos']} | {r.get('dropped_seen', 0)} | "
                         f"{_f(_two_class(r, 'precision'))} | {_f(r['recall'])} | "
                         f"{_f(_two_class(r, 'f1'))} | {_f(r['fpr'], True)} | "
                         f"{_f(_two_class(r, 'auprc'))} | {_f(r['recall_at_1pct_fpr'])} |")
        lines.append("")
    if outs:
        lines += ["## Output guard (whole response / streaming rule)", "",
                  "| set | n | harmful | seen (dropped) | F1 | recall | FPR % | AUPRC | stream F1 | stream recall | stream FPR % | median tokens before halt |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in outs:
            lines.append(f"| {r['set']} | {r['n']} | {r['n_pos']} | {r.get('dropped_seen', 0)} | "
                         f"{_f(_two_class(r, 'f1'))} | {_f(r['recall'])} | {_f(r['fpr'], True)} | "
                         f"{_f(_two_class(r, 'auprc'))} | {_f(_two_class(r, 'stream_f1'))} | "
                         f"{_f(r.get('stream_recall'))} | {_f(r.get('stream_fpr'), True)} | "
                         f"{_pct(r.get('median_halt'))} |")
        lines.append("")
    if result["notes"]:
        lines += ["Notes:", ""] + [f"- {n}" for n in result["notes"]] + [""]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m guard_plugins.eval.suite",
        description="Evaluate the models on the dev splits and every labelled public set; "
                    "write a markdown results table (and JSON next to it).")
    p.add_argument("--shared-data", type=Path, default=None,
                   help="public data folder (e.g. ../shared/data); omit to skip public sets")
    p.add_argument("--data", type=Path, default=None,
                   help="guard-synth output folder (dev splits; train/calib rows are dropped "
                        "from the public sets)")
    p.add_argument("--out", type=Path, required=True, help="markdown file to write")
    p.add_argument("--models", type=Path, default=None,
                   help="exported models folder (default: the embedded default models)")
    p.add_argument("--sets", nargs="+", default=None, metavar="NAME",
                   help="only these public sets (default: every default set)")
    p.add_argument("--max-per-set", type=int, default=400,
                   help="rows sampled per public set (default: %(default)s; 0 = all)")
    p.add_argument("--max-per-output-set", type=int, default=150,
                   help="rows sampled per public output set (streaming is scored token by "
                        "token; default: %(default)s; 0 = all)")
    p.add_argument("--max-dev", type=int, default=0,
                   help="rows sampled from the dev input split (default: 0 = all)")
    p.add_argument("--max-dev-outputs", type=int, default=1000,
                   help="rows sampled from the dev output split (default: %(default)s; 0 = all)")
    p.add_argument("--kinds", nargs="+", choices=("input", "output"), default=["input", "output"],
                   help="which guards to evaluate (default: both)")
    p.add_argument("--seed", type=int, default=0, help="sampling and chunking seed (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.shared_data is None and args.data is None:
        print("suite: error: pass --data and/or --shared-data", file=sys.stderr)
        return 2
    from .cli import load_guard

    try:
        guard = load_guard(args.models)
    except GuardError as e:
        print(f"suite: error: cannot load models: {e}", file=sys.stderr)
        return 3
    t0 = time.perf_counter()
    try:
        result = run_suite(guard, data_dir=args.data, shared_data=args.shared_data, sets=args.sets,
                           max_per_set=args.max_per_set or None,
                           max_per_output_set=args.max_per_output_set or None,
                           max_dev=args.max_dev or None,
                           max_dev_outputs=args.max_dev_outputs or None,
                           seed=args.seed, progress=not args.no_progress, kinds=args.kinds,
                           models=None if args.models is None else str(args.models))
    except (DataError, GuardError) as e:
        print(f"suite: error: {e}", file=sys.stderr)
        return 2
    import os
    import platform

    meta = {"models": None if args.models is None else str(args.models),
            "input_threshold": getattr(getattr(guard, "input", None), "threshold", None),
            "output_threshold": getattr(getattr(guard, "output", None), "threshold", None),
            "seconds": time.perf_counter() - t0,
            "machine": f"{os.cpu_count()} CPU cores ({platform.machine()})"}
    argv_s = argv if argv is not None else sys.argv[1:]
    command = "python -m guard_plugins.eval.suite " + " ".join(shlex.quote(a) for a in argv_s)
    md = render_suite(result, command, meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md, encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps(M.json_safe({"command": command, **meta, **result}), indent=2) + "\n",
        encoding="utf-8")
    print(md)
    print(f"suite: wrote {args.out} and {args.out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
