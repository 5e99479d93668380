"""``guard-eval``: measure a guard on a labelled JSONL file.

Usage::

    guard-eval --kind input  --data dev_inputs.jsonl  [--models DIR] [--json] [--report DIR]
    guard-eval --kind output --data dev_outputs.jsonl --group-by category source --chunk-size realistic

Input files hold ``{"text": ..., "label": 0|1}`` per line, output files
``{"prompt": ..., "response": ..., "label": 0|1}``; any other field can be used with
``--group-by`` (list-valued fields such as ``augmentations`` count an item in each of their
groups). Malformed lines are listed with their line numbers and the run fails (exit 2) unless
``--skip-bad`` is given, in which case they are still counted and listed in the output.

Metrics (label 1 = harmful = positive): precision, recall, F1 and FPR of the deployed
decision (``Verdict.flagged`` at the shipped threshold), AUPRC (average precision), ROC AUC,
recall at 1 % FPR (``--target-fpr``). For ``--kind output`` the whole-response check
(``check_output``) and the **streaming rule** (the response fed through
``guard.stream(prompt).feed`` in realistic chunks, halting at the first flag) are both
measured, with the distribution of the fraction of response tokens seen before the halt on
harmful items.

JSON contract (``--json`` prints exactly one object on stdout; progress goes to stderr).
Undefined values (e.g. FPR with no negatives) are ``null``::

    schema_version   int, 1
    tool             "guard-eval"
    kind             "input" | "output"
    data             {path, records, n_pos, n_neg, bad_lines: {count, lines: [int]}}
    models           {path: str|null, threshold: float}
    metrics          decision metrics: {n, n_pos, n_neg, threshold, tp, fp, tn, fn, precision,
                     recall, f1, fpr, accuracy, auprc, roc_auc, target_fpr,
                     threshold_at_target_fpr, recall_at_target_fpr,
                     latency_ms: {n, mean, min, p10, p25, median, p75, p90, max}}
                     (input: check_input; output: whole-response check_output)
    streaming        null for inputs; for outputs {chunking: {mode, ...},
                     metrics: {same keys as metrics, without latency_ms},
                     halt_token_fraction: {n, mean, ..., median, ...} (harmful items halted),
                     released_char_fraction: {...}, agreement_with_whole: float,
                     per_token_ms: float, tokens_scored: int}
    category_match   null or {n, accuracy}: flagged harmful items whose ``category`` field
                     equals the guard's category
    groups           {FIELD: {VALUE: {n, n_pos, n_neg, precision, recall, f1, fpr, auprc
                     [, stream_recall, stream_fpr, stream_f1, median_halt_fraction]}}}
    seconds          float, wall time of the scoring

Exit status: 0 done; 2 bad arguments or malformed data; 3 the models could not be loaded.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from ..errors import DataError, GuardError, ModelLoadError
from .data import read_eval_file
from .evaluate import TARGET_FPR, ChunkSpec, EvalResult, evaluate

__all__ = ["build_parser", "main", "load_guard", "format_summary"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="guard-eval",
        description="Measure the input or streaming output guard on a labelled JSONL file "
                    "(label 1 = harmful). Prints a summary, or one JSON object with --json.",
        epilog="Input lines: {\"text\": ..., \"label\": 0|1}; output lines: {\"prompt\": ..., "
               "\"response\": ..., \"label\": 0|1}; other fields are kept for --group-by. "
               "JSON keys are documented in `python -m pydoc guard_plugins.eval.cli`. "
               "Exit status: 0 ok, 2 bad arguments or data, 3 models not loadable.",
    )
    p.add_argument("--kind", required=True, choices=("input", "output"),
                   help="which guard to evaluate")
    p.add_argument("--data", required=True, type=Path, help="labelled JSONL file")
    p.add_argument("--models", type=Path, default=None,
                   help="exported models folder holding input/ and output/ (default: the "
                        "embedded default models)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--report", type=Path, default=None, metavar="DIR",
                   help="write a markdown report with PNG plots to DIR (needs matplotlib: "
                        "pip install 'guard-plugins[eval]')")
    p.add_argument("--group-by", nargs="+", action="extend", default=[], metavar="FIELD",
                   help="per-group breakdown by these record fields (repeatable)")
    p.add_argument("--chunk-size", default="realistic", metavar="N|realistic",
                   help="output streaming: 'realistic' (random 1-6 word chunks) or N characters "
                        "per chunk (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the realistic chunking (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="evaluate only the first N good records")
    p.add_argument("--skip-bad", action="store_true",
                   help="evaluate despite malformed lines (still counted and listed)")
    p.add_argument("--target-fpr", type=float, default=TARGET_FPR,
                   help="FPR for the recall-at-FPR metric (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="items per check_inputs/outputs call (default: %(default)s)")
    p.add_argument("--predictions", type=Path, default=None, metavar="FILE",
                   help="also write per-item scores and decisions as JSONL")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def load_guard(models: Path | None) -> Any:
    """``Guard.load(models)``, with a clear error when the runtime or the models are missing."""
    try:
        from ..runtime import Guard  # type: ignore[attr-defined]
    except ImportError as e:
        raise ModelLoadError(f"the guard runtime is not available ({e})") from None
    # offline evaluation scores every prompt whole, however long (no size budget)
    return Guard.load(None if models is None else str(models), on_oversize="scan")


def _fmt(x: Any, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if pct:
        return f"{100 * x:.1f}%"
    if isinstance(x, float):
        return f"{x:.3f}"
    return str(x)


def format_summary(obj: dict[str, Any]) -> str:
    """Human-readable summary of a ``to_json()`` object."""
    m = obj["metrics"]
    d = obj["data"]
    lines = [f"guard-eval {obj['kind']}: {d['path']}  ({d['records']} records: {d['n_pos']} harmful, "
             f"{d['n_neg']} benign; {d['bad_lines']['count']} bad lines)",
             f"threshold {_fmt(obj['models']['threshold'])}"]
    head = "whole response" if obj["kind"] == "output" else "input check"

    def block(title: str, r: dict[str, Any]) -> list[str]:
        return [f"  {title}:",
                f"    precision {_fmt(r['precision'])}  recall {_fmt(r['recall'])}  F1 {_fmt(r['f1'])}  "
                f"FPR {_fmt(r['fpr'], True)}",
                f"    AUPRC {_fmt(r['auprc'])}  ROC AUC {_fmt(r['roc_auc'])}  recall@{_fmt(r['target_fpr'], True)} "
                f"FPR {_fmt(r['recall_at_target_fpr'])}",
                f"    TP {r['tp']}  FP {r['fp']}  TN {r['tn']}  FN {r['fn']}"]

    lines += block(head, m)
    lines.append(f"    latency per item: median {_fmt(m['latency_ms']['median'])} ms")
    s = obj.get("streaming")
    if s:
        lines += block(f"streaming rule ({s['chunking']['mode']} chunks)", s["metrics"])
        h = s["halt_token_fraction"]
        lines.append(f"    harmful streams halted: {h['n']}; tokens seen before halt: median "
                     f"{_fmt(h['median'], True)}, p90 {_fmt(h['p90'], True)}")
        lines.append(f"    agreement with whole-response: {_fmt(s['agreement_with_whole'], True)}; "
                     f"per-token cost {_fmt(s['per_token_ms'])} ms")
    if obj.get("category_match"):
        c = obj["category_match"]
        lines.append(f"  category match on flagged harmful items: {_fmt(c['accuracy'], True)} (n={c['n']})")
    for fld, table in obj.get("groups", {}).items():
        lines.append(f"  by {fld}:")
        for v, r in list(table.items())[:40]:
            extra = (f" stream_recall {_fmt(r.get('stream_recall'))}" if "stream_recall" in r else "")
            lines.append(f"    {v[:40]:<40} n={r['n']:<6} recall {_fmt(r['recall'])}  FPR "
                         f"{_fmt(r['fpr'], True)}  F1 {_fmt(r['f1'])}{extra}")
        if len(table) > 40:
            lines.append(f"    ... {len(table) - 40} more groups (see --json)")
    lines.append(f"  {obj['seconds']:.1f} s")
    return "\n".join(lines)


def _write_predictions(res: EvalResult, path: Path) -> None:
    from ..metrics import json_safe

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for it in res.items:
            fh.write(json.dumps(json_safe(it.as_dict()), ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        chunking = ChunkSpec.parse(args.chunk_size, seed=args.seed)
    except ValueError as e:
        print(f"guard-eval: error: --chunk-size: {e}", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit <= 0:
        print("guard-eval: error: --limit must be positive", file=sys.stderr)
        return 2
    try:
        data = read_eval_file(args.data, args.kind, skip_bad=args.skip_bad, limit=args.limit)
    except DataError as e:
        print(f"guard-eval: error: {e}", file=sys.stderr)
        return 2
    if data.bad:
        listed = ", ".join(str(b.line) for b in data.bad[:20])
        print(f"guard-eval: warning: skipped {len(data.bad)} malformed line(s): {listed}"
              f"{' ...' if len(data.bad) > 20 else ''}", file=sys.stderr)
    try:
        guard = load_guard(args.models)
    except GuardError as e:
        print(f"guard-eval: error: cannot load models: {e}", file=sys.stderr)
        return 3
    try:
        res = evaluate(guard, data, chunking=chunking, group_by=args.group_by,
                       batch_size=args.batch_size, progress=not args.no_progress,
                       models=None if args.models is None else str(args.models),
                       target_fpr=args.target_fpr)
    except GuardError as e:
        print(f"guard-eval: error while scoring: {e}", file=sys.stderr)
        return 2
    obj = res.to_json()
    if args.predictions:
        _write_predictions(res, args.predictions)
    if args.report:
        from .report import write_report

        path = write_report(res, args.report, obj)
        print(f"guard-eval: report written to {path}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n")
    else:
        print(format_summary(obj))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
