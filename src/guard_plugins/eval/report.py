"""Markdown report with PNG plots for ``guard-eval --report DIR``.

Writes ``DIR/report.md`` and next to it ``pr_curve.png`` (PR curves; for outputs both the
whole-response and the streaming score), ``score_hist.png`` (score histograms per class with
the threshold), ``halt_hist.png`` (outputs: fraction of response tokens seen before the halt
on harmful items) and a per-group table. matplotlib is imported here only (``pip install
'guard-plugins[eval]'``), with the non-interactive Agg backend.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics as M
from ..errors import GuardError
from .evaluate import EvalResult

__all__ = ["write_report", "markdown_table"]


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise GuardError("--report needs matplotlib: pip install 'guard-plugins[eval]'") from None
    return plt


def _f(x: Any, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if pct:
        return f"{100 * x:.1f} %"
    if isinstance(x, float):
        return f"{x:.3f}"
    return str(x)


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub markdown table (values already formatted or formatted with :func:`_f`)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(v if isinstance(v, str) else _f(v) for v in r) + " |")
    return "\n".join(out)


def _pr_plot(res: EvalResult, path: Path) -> bool:
    plt = _plt()
    y = res.labels
    if y.sum() == 0:
        return False
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    series = [("whole response" if res.kind == "output" else "input", res.scores, res.flagged)]
    if res.kind == "output":
        series.append(("streaming rule", res.stream_scores, res.stream_flagged))
    for name, s, flagged in series:
        p, r, _ = M.precision_recall_curve(y, s)
        ap = M.average_precision(y, s)
        ax.step(np.r_[0, r], np.r_[p[0], p], where="pre", label=f"{name} (AP {ap:.3f})")
        c = M.confusion(y, flagged=flagged)
        if not math.isnan(c.precision):
            ax.plot([c.recall], [c.precision], "o", color=ax.lines[-1].get_color())
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_title("Precision-recall (dot: shipped threshold)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _hist_plot(res: EvalResult, path: Path) -> None:
    plt = _plt()
    y = res.labels
    s = res.scores
    bins = np.linspace(0, 1, 41)
    fig, ax = plt.subplots(figsize=(6, 4))
    for lab, name, color in ((0, "benign (0)", "tab:blue"), (1, "harmful (1)", "tab:red")):
        vals = s[y == lab]
        if vals.size:
            ax.hist(vals, bins=bins, alpha=0.55, color=color, label=f"{name}, n={vals.size}")
    if not math.isnan(res.threshold):
        ax.axvline(res.threshold, color="k", ls="--", lw=1, label=f"threshold {res.threshold:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("score" + (" (whole response)" if res.kind == "output" else ""))
    ax.set_ylabel("items (log)")
    ax.set_title("Score distribution per class")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _halt_plot(res: EvalResult, path: Path) -> bool:
    fr = res.halt_fractions(1)
    if not fr:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(fr, bins=np.linspace(0, 1, 21), color="tab:red", alpha=0.7)
    med = float(np.median(fr))
    ax.axvline(med, color="k", ls="--", lw=1, label=f"median {100 * med:.0f} %")
    ax.set_xlabel("fraction of response tokens seen before the halt")
    ax.set_ylabel("harmful responses")
    ax.set_title(f"Streaming halt point (n={len(fr)} halted harmful streams)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _metric_rows(obj: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    blocks = [("whole response" if obj["kind"] == "output" else "input check", obj["metrics"])]
    if obj.get("streaming"):
        blocks.append(("streaming rule", obj["streaming"]["metrics"]))
    for name, m in blocks:
        rows.append([name, _f(m["precision"]), _f(m["recall"]), _f(m["f1"]), _f(m["fpr"], True),
                     _f(m["auprc"]), _f(m["roc_auc"]), _f(m["recall_at_target_fpr"])])
    return rows


def write_report(res: EvalResult, out_dir: str | Path, obj: dict[str, Any] | None = None) -> Path:
    """Write ``report.md`` and its PNG plots into ``out_dir``; returns the markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    obj = obj or res.to_json()
    d = obj["data"]
    tfpr = obj["metrics"]["target_fpr"]
    md: list[str] = [f"# guard-eval report: {res.kind} guard", "",
                     f"- data: `{d['path']}` ({d['records']} records: {d['n_pos']} harmful, "
                     f"{d['n_neg']} benign; {d['bad_lines']['count']} malformed lines skipped)",
                     f"- models: `{obj['models']['path'] or 'embedded defaults'}`, threshold "
                     f"{_f(obj['models']['threshold'])}",
                     f"- scoring time: {obj['seconds']:.1f} s", ""]
    if d["bad_lines"]["count"]:
        md += [f"Malformed lines (first 100): {', '.join(map(str, d['bad_lines']['lines']))}", ""]
    md += ["## Metrics", "",
           markdown_table(["decision", "precision", "recall", "F1", "FPR", "AUPRC", "ROC AUC",
                           f"recall @ {100 * tfpr:g} % FPR"], _metric_rows(obj)), ""]
    s = obj.get("streaming")
    if s:
        h = s["halt_token_fraction"]
        ch = s["chunking"]
        desc = (f"random {ch['min_words']}-{ch['max_words']} word chunks (seed {ch['seed']})"
                if ch["mode"] == "realistic" else f"{ch['size']}-character chunks")
        md += [f"Streaming: responses fed through `guard.stream(prompt).feed` in {desc}; the "
               f"stream halts at the first flagged chunk. Agreement with whole-response "
               f"decisions: {_f(s['agreement_with_whole'], True)}; per-token cost "
               f"{_f(s['per_token_ms'])} ms.", "",
               f"Harmful responses halted: {h['n']}. Fraction of response tokens seen before the "
               f"halt: median {_f(h['median'], True)}, p25 {_f(h['p25'], True)}, p75 "
               f"{_f(h['p75'], True)}, p90 {_f(h['p90'], True)}.", ""]
    if obj.get("category_match"):
        c = obj["category_match"]
        md += [f"Category agreement on flagged harmful items: {_f(c['accuracy'], True)} "
               f"(n = {c['n']}).", ""]
    md += ["## Plots", ""]
    if _pr_plot(res, out / "pr_curve.png"):
        md += ["![precision-recall curve](pr_curve.png)", ""]
    _hist_plot(res, out / "score_hist.png")
    md += ["![score histograms per class](score_hist.png)", ""]
    if res.kind == "output" and _halt_plot(res, out / "halt_hist.png"):
        md += ["![tokens seen before the halt](halt_hist.png)", ""]
    for fld, table in obj.get("groups", {}).items():
        md += [f"## By `{fld}`", ""]
        header = ["value", "n", "harmful", "benign", "precision", "recall", "F1", "FPR", "AUPRC"]
        stream = res.kind == "output"
        if stream:
            header += ["stream recall", "stream FPR", "median halt"]
        rows = []
        for v, r in table.items():
            row = [f"`{v}`", str(r["n"]), str(r["n_pos"]), str(r["n_neg"]), _f(r["precision"]),
                   _f(r["recall"]), _f(r["f1"]), _f(r["fpr"], True), _f(r["auprc"])]
            if stream:
                row += [_f(r["stream_recall"]), _f(r["stream_fpr"], True),
                        _f(r["median_halt_fraction"], True)]
            rows.append(row)
        md += [markdown_table(header, rows), ""]
    path = out / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path
