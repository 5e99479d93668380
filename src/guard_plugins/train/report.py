"""Metrics (numpy only) and dev reports (JSON + markdown) written into a checkpoint folder."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics as M


def _clean(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


def binary_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall, F1, FPR, accuracy at ``score >= threshold``; counts."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    pred = s >= threshold
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    tn = int(np.sum(~pred & ~y))
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    fpr = fp / (fp + tn) if fp + tn else float("nan")
    return {"n": int(y.size), "pos": tp + fn, "neg": fp + tn, "precision": _clean(prec),
            "recall": _clean(rec), "f1": _clean(f1), "fpr": _clean(fpr),
            "accuracy": _clean((tp + tn) / y.size if y.size else float("nan"))}


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision (step-wise, ties grouped): :func:`guard_plugins.metrics.average_precision`,
    with this report's argument order; NaN when only one class is present."""
    y = np.asarray(labels).astype(bool)
    if not y.any() or y.all():
        return float("nan")
    return M.average_precision(y, scores)


def recall_at_fpr(scores: np.ndarray, labels: np.ndarray, fpr: float = 0.01) -> float:
    """Recall at the lowest threshold whose FPR on these items is <= ``fpr`` (oracle)."""
    from .calibrate import threshold_for_fpr

    y = np.asarray(labels).astype(bool)
    if y.all() or not y.any():
        return float("nan")
    return threshold_for_fpr(scores, labels, fpr).recall


def summary(scores: np.ndarray, labels: np.ndarray, threshold: float,
            fpr_points: Iterable[float] = (0.01,)) -> dict[str, Any]:
    out = binary_metrics(scores, labels, threshold)
    out["auprc"] = _clean(average_precision(scores, labels))
    for f in fpr_points:
        out[f"recall_at_{f:g}_fpr"] = _clean(recall_at_fpr(scores, labels, f))
    return out


def grouped(scores: np.ndarray, labels: np.ndarray, threshold: float, records: Sequence[dict],
            key: Callable[[dict], Iterable[str]], min_n: int = 1) -> dict[str, dict]:
    """:func:`binary_metrics` per group; ``key`` returns the groups a record belongs to."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        for g in key(r):
            groups[g].append(i)
    s = np.asarray(scores)
    y = np.asarray(labels)
    out = {}
    for g in sorted(groups):
        ix = np.array(groups[g])
        if ix.size >= min_n:
            out[g] = binary_metrics(s[ix], y[ix], threshold)
    return out


GROUP_KEYS: dict[str, Callable[[dict], Iterable[str]]] = {
    "category": lambda r: [str(r.get("category"))],
    "source": lambda r: [r["source"]],
    "kind": lambda r: [str(r.get("kind"))],
    "augmentation": lambda r: (r.get("augmentations") or ["none"]),
    "lookalike": lambda r: (["lookalike"] if r.get("lookalike") else []),
}


def breakdowns(scores: np.ndarray, labels: np.ndarray, threshold: float,
               records: Sequence[dict]) -> dict[str, dict]:
    return {name: grouped(scores, labels, threshold, records, fn)
            for name, fn in GROUP_KEYS.items()}


# ------------------------------------------------------------------------------- rendering
def _row(name: str, m: dict) -> str:
    def f(v: Any) -> str:
        return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
    return (f"| {name} | {m['n']} | {m['pos']} | {f(m['precision'])} | {f(m['recall'])} | "
            f"{f(m['f1'])} | {f(m['fpr'])} |")


def to_markdown(report: dict[str, Any]) -> str:
    """Human-readable dev report."""
    lines = [f"# Dev report: {report.get('kind', '?')} classifier", ""]
    for k in ("threshold", "target_fpr", "calibration", "n_dev", "train_seconds"):
        if k in report:
            lines.append(f"- **{k}**: `{json.dumps(report[k])}`")
    for name in ("overall", "streaming", "whole_response"):
        if name in report and isinstance(report[name], dict) and "f1" in report[name]:
            m = report[name]
            lines += ["", f"## {name}", "",
                      "| F1 | precision | recall | FPR | AUPRC | recall@1%FPR |", "|---|---|---|---|---|---|",
                      f"| {m['f1']} | {m['precision']} | {m['recall']} | {m['fpr']} | "
                      f"{m.get('auprc')} | {m.get('recall_at_0.01_fpr')} |"]
    if "halt" in report:
        lines += ["", "## Tokens seen before the halt (harmful responses flagged)", "",
                  f"`{json.dumps(report['halt'])}`"]
    if "category_accuracy" in report:
        lines += ["", f"Category accuracy on flagged harmful items: {report['category_accuracy']}"]
    for group, table in (report.get("breakdowns") or {}).items():
        if not table:
            continue
        lines += ["", f"## by {group}", "", "| group | n | pos | precision | recall | F1 | FPR |",
                  "|---|---|---|---|---|---|---|"]
        lines += [_row(g, m) for g, m in table.items()]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def write_report(ckpt_dir: str | Path, report: dict[str, Any]) -> None:
    """``dev_report.json`` and ``DEV_REPORT.md`` in the checkpoint folder."""
    d = Path(ckpt_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "dev_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (d / "DEV_REPORT.md").write_text(to_markdown(report))
