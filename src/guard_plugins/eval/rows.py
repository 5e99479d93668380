"""Pieces the suite's parts share: stratified sampling and the suite row.

Kept apart from :mod:`guard_plugins.eval.suite` so that the part modules
(:mod:`~guard_plugins.eval.realworld`, :mod:`~guard_plugins.eval.unseen`,
:mod:`~guard_plugins.eval.languages`) can build rows without importing the suite, which
imports them (no import circle).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import metrics as M
from ..errors import DataError
from .data import EvalData, EvalRecord, Kind, read_eval_file
from .evaluate import ChunkSpec, EvalResult, GuardLike, ItemResult, evaluate

__all__ = ["SetFile", "SuiteRow", "sample_records", "suite_row", "LOW_FPR", "HIGH_FPR", "find_split_files",
           "select_sets", "score_set_file", "pool_items", "fmt", "fmt_pct"]

SuiteRow = dict[str, Any]

#: The two FPR points every row reports recall at (``recall_at_1pct_fpr``,
#: ``recall_at_5pct_fpr``).
LOW_FPR = 0.01
HIGH_FPR = 0.05


@dataclass(frozen=True)
class SetFile:
    """One labelled set file: ``name`` (its folder), ``kind`` (``input`` for ``prompts/``,
    ``output`` for ``responses/``) and ``path``."""

    name: str
    kind: Kind
    path: Path


def find_split_files(root: str | Path, filename: str, what: str, why: str,
                     hint: str = "") -> list[SetFile]:
    """A :class:`SetFile` for every ``prompts/<set>/<filename>`` (input) and
    ``responses/<set>/<filename>`` (output) under ``root``, sorted by set name.

    Raises :class:`DataError` when ``root`` is not a folder, holds neither ``prompts/`` nor
    ``responses/``, or a set folder has no ``filename`` (``why`` says why it must).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: {what} folder not found")
    out: list[SetFile] = []
    found_any = False
    for sub, kind in (("prompts", "input"), ("responses", "output")):
        d = root / sub
        if not d.is_dir():
            continue
        found_any = True
        for set_dir in sorted(p for p in d.iterdir() if p.is_dir()):
            f = set_dir / filename
            if not f.is_file():
                raise DataError(f"{f}: file not found ({why})")
            out.append(SetFile(set_dir.name, kind, f))  # type: ignore[arg-type]
    if not found_any:
        raise DataError(f"{root}: expected prompts/<set>/{filename} and/or "
                        f"responses/<set>/{filename}{hint}")
    return out


def score_set_file(guard: GuardLike, s: SetFile, *, max_per_set: int | None, seed: int,
                   chunking: ChunkSpec, progress: bool, models: str | None,
                   prepare: Callable[[list[EvalRecord]], list[EvalRecord]] | None = None,
                   ) -> tuple[EvalData, EvalResult, int]:
    """Read one set file, sample it (stratified, ``seed``), optionally ``prepare`` its records,
    and score it: ``(scored data, result, rows in the file)``."""
    d = read_eval_file(s.path, s.kind)
    total = len(d.records)
    recs = sample_records(d.records, max_per_set, seed)
    if prepare is not None:
        recs = prepare(recs)
    d = EvalData(path=str(s.path), kind=s.kind, records=recs, bad=d.bad)
    return d, evaluate(guard, d, chunking=chunking, progress=progress, models=models), total


def select_sets(found: Sequence[Any], sets: Sequence[str] | None, root: str | Path, what: str) -> list[Any]:
    """The sets of ``found`` (objects with ``.name``) named in ``sets`` (``None``: all); an
    unknown name is a :class:`DataError` listing the known ones."""
    if sets is None:
        return list(found)
    names = {s.name for s in found}
    unknown = sorted(set(sets) - names)
    if unknown:
        raise DataError(f"{root}: unknown {what} set(s) {unknown}; known: {sorted(names)}")
    return [s for s in found if s.name in set(sets)]


def pool_items(name: str, results: Sequence[EvalResult],
               keep: Callable[[ItemResult], bool] | None = None) -> EvalResult | None:
    """One :class:`EvalResult` over the items of several (those ``keep(item)`` accepts);
    ``None`` when nothing is left."""
    items = [it for res in results for it in res.items if keep is None or keep(it)]
    if not items:
        return None
    first = results[0]
    return EvalResult(kind=first.kind, data_path=name, items=items, bad_lines=[],
                      threshold=first.threshold, models=first.models, chunking=first.chunking,
                      group_by=[], seconds=sum(r.seconds for r in results),
                      target_fpr=first.target_fpr, meta=dict(first.meta))


def fmt(x: Any, pct: bool = False) -> str:
    """A metric for a markdown table: 3 decimals, or a percentage with 1 (``n/a`` for None/NaN)."""
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return f"{100 * x:.1f}" if pct else f"{x:.3f}"


def fmt_pct(x: Any) -> str:
    """:func:`fmt` as a percentage with its sign."""
    v = fmt(x, True)
    return v if v == "n/a" else v + " %"


def sample_records(records: list[EvalRecord], n: int | None, seed: int) -> list[EvalRecord]:
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


def suite_row(name: str, res: EvalResult, extra: dict[str, Any]) -> SuiteRow:
    """One suite row of an :class:`EvalResult`: the decision metrics at the shipped threshold,
    AUPRC, ROC AUC, recall at 1 % and 5 % FPR (threshold-free: from the scores); for outputs
    the same under the streaming rule (``stream_*``) and the median share of tokens seen
    before the halt; ``points``: precision, recall, F1 and FPR at each named operating point
    of the model (outputs: the whole-response score, i.e. the streaming rule's running maximum
    over every prefix). ``extra`` is merged in last."""
    obj = res.to_json()
    m = obj["metrics"]
    y = res.labels
    row: SuiteRow = {"set": name, "kind": res.kind, "n": m["n"], "n_pos": m["n_pos"],
                     "n_neg": m["n_neg"], "precision": m["precision"], "recall": m["recall"],
                     "f1": m["f1"], "fpr": m["fpr"], "auprc": m["auprc"], "roc_auc": m["roc_auc"],
                     "recall_at_1pct_fpr": M.recall_at_fpr(y, res.scores, LOW_FPR) if len(y) else None,
                     "recall_at_5pct_fpr": M.recall_at_fpr(y, res.scores, HIGH_FPR) if len(y) else None,
                     "seconds": obj["seconds"], **extra}
    if obj["streaming"]:
        s = obj["streaming"]
        sm = s["metrics"]
        ss = res.stream_scores
        row.update(stream_precision=sm["precision"], stream_recall=sm["recall"],
                   stream_fpr=sm["fpr"], stream_f1=sm["f1"], stream_auprc=sm["auprc"],
                   stream_recall_at_1pct_fpr=M.recall_at_fpr(y, ss, LOW_FPR),
                   stream_recall_at_5pct_fpr=M.recall_at_fpr(y, ss, HIGH_FPR),
                   stream_agreement=s["agreement_with_whole"],
                   median_halt=s["halt_token_fraction"]["median"])
    points = res.meta.get("operating_points") or {}
    if points and len(y):
        # whole-response scores for outputs: the streamed run stopped at the loaded threshold's
        # halt, so its running max understates any higher point; check() gives the max over
        # every prefix, which is what a stream at that point would have reached (bit for bit)
        row["points"] = {name: {"threshold": t, **_at(y, res.scores, t)} for name, t in points.items()}
    return M.json_safe(row)


def _at(y: Any, scores: Any, threshold: float) -> dict[str, Any]:
    c = M.confusion(y, scores, threshold)
    return {"precision": c.precision, "recall": c.recall, "f1": c.f1, "fpr": c.fpr}
