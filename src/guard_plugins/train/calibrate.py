"""Thresholds for a target false-positive rate (numpy only).

A score is flagged when ``score >= threshold``. :func:`threshold_for_fpr` returns the lowest
threshold whose false-positive rate on the calibration negatives is at most the target
(ties never push it over), with the achieved FPR and recall on that same split.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import DataError


@dataclass(frozen=True)
class Calibration:
    threshold: float
    target_fpr: float
    fpr: float
    recall: float
    n_pos: int
    n_neg: int

    def as_dict(self) -> dict:
        return asdict(self)


def threshold_for_fpr(scores: np.ndarray, labels: np.ndarray, target_fpr: float) -> Calibration:
    """Lowest threshold with ``FPR <= target_fpr`` on (``scores``, ``labels``).

    With k = floor(target * n_neg) negatives allowed above the threshold, the threshold is
    placed just above the (k+1)-th highest negative score. Needs at least one negative.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError("target_fpr must be in [0, 1)")
    neg = np.sort(s[~y])[::-1]
    if neg.size == 0:
        raise DataError("calibration split has no negative (label 0) items")
    k = int(np.floor(target_fpr * neg.size + 1e-9))
    if k >= neg.size:
        thr = float(neg[-1])
    else:
        thr = float(np.nextafter(neg[k], np.inf))
    thr = min(thr, 1.0) if s.max() <= 1.0 else thr
    fpr = float(np.mean(neg >= thr))
    pos = s[y]
    recall = float(np.mean(pos >= thr)) if pos.size else float("nan")
    return Calibration(thr, float(target_fpr), fpr, recall, int(pos.size), int(neg.size))
