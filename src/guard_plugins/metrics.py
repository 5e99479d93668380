"""Binary-classification metrics for guards (numpy only, torch-free).

Shared by ``guard-eval``, ``guard-redteam`` and the training dev report, so that every number
the project prints is computed one way. Conventions:

* ``labels`` are 0/1 (1 = harmful, the positive class); ``scores`` are higher-is-more-harmful.
* A score **flags** at threshold ``t`` when ``score >= t`` (the runtime's rule).
* A metric that is undefined on the given data (e.g. precision with nothing flagged, FPR with
  no negatives, AUPRC with no positives) is ``float('nan')``, never a silent 0 or 1:
  :func:`json_safe` turns NaN into ``null`` for JSON output.
* Ties are handled exactly: the curves move through tied scores in one step (like
  scikit-learn), ROC AUC counts a tied positive/negative pair as one half.

Example::

    >>> from guard_plugins.metrics import binary_report
    >>> r = binary_report([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], threshold=0.5)
    >>> r["precision"], r["recall"], r["roc_auc"]
    (1.0, 0.5, 0.75)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Confusion",
    "confusion",
    "precision_recall_curve",
    "average_precision",
    "roc_curve",
    "roc_auc",
    "threshold_at_fpr",
    "recall_at_fpr",
    "binary_report",
    "summarize",
    "json_safe",
]

NAN = float("nan")


def _div(num: float, den: float) -> float:
    return float(num) / float(den) if den else NAN


def _as_arrays(labels: ArrayLike, scores: ArrayLike | None = None) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    if y.size and not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))][:3].tolist()
        raise ValueError(f"labels must be 0 or 1, got e.g. {bad}")
    y = y.astype(np.int8)
    if scores is None:
        return y, np.zeros(0)
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != y.shape:
        raise ValueError(f"labels and scores differ in shape: {y.shape} vs {s.shape}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y, s


@dataclass(frozen=True)
class Confusion:
    """Confusion counts of a binary decision, with the usual rates as properties."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def precision(self) -> float:
        """TP / (TP + FP); NaN when nothing was flagged."""
        return _div(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """TP / (TP + FN) (true-positive rate); NaN without positives."""
        return _div(self.tp, self.tp + self.fn)

    @property
    def fpr(self) -> float:
        """FP / (FP + TN); NaN without negatives."""
        return _div(self.fp, self.fp + self.tn)

    @property
    def f1(self) -> float:
        """2 TP / (2 TP + FP + FN); NaN when there are no positives and nothing was flagged."""
        return _div(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float:
        return _div(self.tp + self.tn, self.n)

    def as_dict(self) -> dict[str, float | int]:
        d: dict[str, float | int] = dict(asdict(self))
        d.update(precision=self.precision, recall=self.recall, f1=self.f1, fpr=self.fpr,
                 accuracy=self.accuracy)
        return d


def confusion(labels: ArrayLike, scores: ArrayLike | None = None, threshold: float | None = None,
              *, flagged: ArrayLike | None = None) -> Confusion:
    """Confusion counts, from ``scores >= threshold`` or from given boolean ``flagged``.

    Pass ``flagged`` to count a deployed decision that is not a plain threshold on one score
    (per-category thresholds, the streaming halt rule).
    """
    y, _ = _as_arrays(labels)
    if flagged is not None:
        f = np.asarray(flagged, dtype=bool)
        if f.shape != y.shape:
            raise ValueError(f"labels and flagged differ in shape: {y.shape} vs {f.shape}")
    else:
        if scores is None or threshold is None:
            raise ValueError("pass scores and threshold, or flagged")
        _, s = _as_arrays(labels, scores)
        f = s >= threshold
    pos = y == 1
    return Confusion(tp=int((f & pos).sum()), fp=int((f & ~pos).sum()),
                     tn=int((~f & ~pos).sum()), fn=int((~f & pos).sum()))


def _counts_by_threshold(y: NDArray[np.int8], s: NDArray[np.float64]
                         ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Distinct thresholds (descending) and cumulative TP / FP counts at ``score >= t``."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # last index of each run of tied scores
    distinct = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[distinct]
    fps = (distinct + 1) - tps
    return s_sorted[distinct], tps.astype(np.int64), fps.astype(np.int64)


def precision_recall_curve(labels: ArrayLike, scores: ArrayLike
                           ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(precision, recall, thresholds)`` at every distinct score, thresholds descending.

    Points are in order of increasing recall. Undefined precision cannot occur (every
    threshold flags at least one item). Empty arrays when there are no positives.
    """
    y, s = _as_arrays(labels, scores)
    n_pos = int(y.sum())
    if s.size == 0 or n_pos == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    thr, tps, fps = _counts_by_threshold(y, s)
    return tps / (tps + fps), tps / n_pos, thr


def average_precision(labels: ArrayLike, scores: ArrayLike) -> float:
    """AUPRC as average precision: ``sum_k (R_k - R_{k-1}) * P_k`` over distinct thresholds.

    The step-wise (non-interpolated) estimator scikit-learn uses; NaN without positives.
    """
    precision, recall, _ = precision_recall_curve(labels, scores)
    if recall.size == 0:
        return NAN
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_curve(labels: ArrayLike, scores: ArrayLike
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(fpr, tpr, thresholds)`` starting at ``(0, 0)`` (threshold +inf), thresholds descending.

    FPR (TPR) is NaN throughout when there are no negatives (positives).
    """
    y, s = _as_arrays(labels, scores)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if s.size == 0:
        return np.array([0.0]), np.array([0.0]), np.array([np.inf])
    thr, tps, fps = _counts_by_threshold(y, s)
    fpr = np.r_[0, fps] / n_neg if n_neg else np.full(thr.size + 1, NAN)
    tpr = np.r_[0, tps] / n_pos if n_pos else np.full(thr.size + 1, NAN)
    return fpr.astype(np.float64), tpr.astype(np.float64), np.r_[np.inf, thr]


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve = P(score of a random positive > a random negative).

    Tied pairs count one half (Mann-Whitney U with average ranks). NaN for one class only.
    """
    y, s = _as_arrays(labels, scores)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return NAN
    # average ranks (1-based) with ties
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    boundaries = np.r_[0, np.nonzero(np.diff(s_sorted))[0] + 1, s.size]
    for a, b in zip(boundaries[:-1], boundaries[1:]):
        ranks[order[a:b]] = (a + 1 + b) / 2.0
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def threshold_at_fpr(labels: ArrayLike, scores: ArrayLike, target_fpr: float = 0.01) -> float:
    """Lowest threshold whose FPR (``score >= t`` on negatives) is at most ``target_fpr``.

    Only the data's own scores are candidates, so ties are never split. When even the highest
    score gives too many false positives, returns the next float above it (nothing flagged).
    NaN when there are no negatives.
    """
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError(f"target_fpr must be in [0, 1], got {target_fpr}")
    y, s = _as_arrays(labels, scores)
    n_neg = int(y.size - y.sum())
    if n_neg == 0:
        return NAN
    thr, _, fps = _counts_by_threshold(y, s)
    ok = np.nonzero(fps / n_neg <= target_fpr + 1e-12)[0]
    if ok.size == 0:
        return float(np.nextafter(thr[0], np.inf))
    return float(thr[ok[-1]])


def recall_at_fpr(labels: ArrayLike, scores: ArrayLike, target_fpr: float = 0.01) -> float:
    """Recall at :func:`threshold_at_fpr` (the best recall with FPR <= target)."""
    y, s = _as_arrays(labels, scores)
    t = threshold_at_fpr(y, s, target_fpr)
    if math.isnan(t) or int(y.sum()) == 0:
        return NAN
    return confusion(y, s, t).recall


def binary_report(labels: ArrayLike, scores: ArrayLike, threshold: float | None = None, *,
                  flagged: ArrayLike | None = None, target_fpr: float = 0.01) -> dict[str, Any]:
    """All headline metrics in one flat dict.

    Keys: ``n, n_pos, n_neg, threshold, tp, fp, tn, fn, precision, recall, f1, fpr, accuracy``
    (at ``threshold``, or of the given ``flagged`` decisions), ``auprc``, ``roc_auc``,
    ``target_fpr``, ``threshold_at_target_fpr``, ``recall_at_target_fpr``.
    """
    y, s = _as_arrays(labels, scores)
    if flagged is None and threshold is None:
        raise ValueError("pass threshold or flagged")
    c = confusion(y, s, threshold, flagged=flagged)
    out: dict[str, Any] = {"n": int(y.size), "n_pos": int(y.sum()), "n_neg": int(y.size - y.sum()),
                           "threshold": NAN if threshold is None else float(threshold)}
    out.update(c.as_dict())
    out.update(auprc=average_precision(y, s), roc_auc=roc_auc(y, s), target_fpr=float(target_fpr),
               threshold_at_target_fpr=threshold_at_fpr(y, s, target_fpr),
               recall_at_target_fpr=recall_at_fpr(y, s, target_fpr))
    return out


def summarize(values: Sequence[float] | ArrayLike) -> dict[str, float | int]:
    """``n, mean, min, p10, p25, median, p75, p90, max`` of a sample (NaN when empty)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"n": 0, **{k: NAN for k in ("mean", "min", "p10", "p25", "median", "p75", "p90", "max")}}
    q = np.percentile(v, [0, 10, 25, 50, 75, 90, 100])
    return {"n": int(v.size), "mean": float(v.mean()), "min": float(q[0]), "p10": float(q[1]),
            "p25": float(q[2]), "median": float(q[3]), "p75": float(q[4]), "p90": float(q[5]),
            "max": float(q[6])}


def json_safe(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays to Python and NaN/inf to ``None`` for JSON."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
