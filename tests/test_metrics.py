"""guard_plugins.metrics against hand-computed values (tiny arrays, ties, one-class edge cases)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from guard_plugins import metrics as M


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-12)


# labels / scores of the classic 4-point example: sorted by score 0.8(+) 0.4(-) 0.35(+) 0.1(-)
Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_confusion_at_threshold_and_rates() -> None:
    c = M.confusion(Y, S, 0.35)  # flags 0.4, 0.35, 0.8
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 1, 0)
    assert c.precision == approx(2 / 3)
    assert c.recall == approx(1.0)
    assert c.fpr == approx(0.5)
    assert c.f1 == approx(0.8)  # 2*2 / (2*2 + 1 + 0)
    assert c.accuracy == approx(0.75)


def test_threshold_is_inclusive() -> None:
    assert M.confusion([1], [0.5], 0.5).tp == 1
    assert M.confusion([1], [0.4999], 0.5).fn == 1


def test_confusion_from_flagged_decisions() -> None:
    c = M.confusion([1, 1, 0, 0], flagged=[True, False, True, False])
    assert (c.tp, c.fp, c.tn, c.fn) == (1, 1, 1, 1)


def test_undefined_rates_are_nan_not_zero() -> None:
    nothing_flagged = M.confusion([0, 1], [0.1, 0.2], 0.9)
    assert math.isnan(nothing_flagged.precision)
    assert nothing_flagged.recall == 0.0
    no_negatives = M.confusion([1, 1], [0.1, 0.9], 0.5)
    assert math.isnan(no_negatives.fpr)
    no_positives = M.confusion([0, 0], [0.1, 0.2], 0.9)
    assert math.isnan(no_positives.recall) and math.isnan(no_positives.f1)


def test_average_precision_hand_computed() -> None:
    # thresholds 0.8: P=1 R=.5 | 0.4: P=.5 R=.5 | 0.35: P=2/3 R=1 | 0.1: P=.5 R=1
    # AP = .5*1 + 0*.5 + .5*(2/3) + 0*.5
    assert M.average_precision(Y, S) == approx(0.5 + 1 / 3)
    p, r, t = M.precision_recall_curve(Y, S)
    np.testing.assert_allclose(p, [1, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(r, [0.5, 0.5, 1, 1])
    np.testing.assert_allclose(t, [0.8, 0.4, 0.35, 0.1])


def test_roc_auc_hand_computed() -> None:
    # pairs (pos, neg): (.35,.1)=1 (.35,.4)=0 (.8,.1)=1 (.8,.4)=1 -> 3/4
    assert M.roc_auc(Y, S) == approx(0.75)
    fpr, tpr, thr = M.roc_curve(Y, S)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    assert thr[0] == np.inf
    # trapezoidal area of the curve equals the rank statistic
    assert np.trapezoid(tpr, fpr) == approx(0.75)


def test_ties_move_in_one_step() -> None:
    y = [1, 0, 1, 0]
    s = [0.5, 0.5, 0.9, 0.1]
    # pairs: (.5,.5) tie=1/2, (.5,.1)=1, (.9,.5)=1, (.9,.1)=1 -> 3.5/4
    assert M.roc_auc(y, s) == approx(0.875)
    # thresholds .9: P=1 R=.5 | .5: P=2/3 R=1 | .1: P=.5 R=1
    assert M.average_precision(y, s) == approx(0.5 + 0.5 * 2 / 3)
    p, r, t = M.precision_recall_curve(y, s)
    assert t.tolist() == [0.9, 0.5, 0.1]  # the tied 0.5 pair is one point
    # all scores tied: AUC 1/2, AP = prevalence
    assert M.roc_auc([0, 1, 1], [0.3, 0.3, 0.3]) == approx(0.5)
    assert M.average_precision([0, 1, 1], [0.3, 0.3, 0.3]) == approx(2 / 3)


def test_threshold_and_recall_at_fpr_never_split_ties() -> None:
    y = [1, 0, 1, 0]
    s = [0.5, 0.5, 0.9, 0.1]
    assert M.threshold_at_fpr(y, s, 0.0) == 0.9       # 0.5 would flag a negative
    assert M.recall_at_fpr(y, s, 0.0) == approx(0.5)
    assert M.threshold_at_fpr(y, s, 0.5) == 0.5
    assert M.recall_at_fpr(y, s, 0.5) == approx(1.0)
    assert M.threshold_at_fpr(y, s, 1.0) == 0.1


def test_threshold_above_all_scores_when_top_score_is_negative() -> None:
    y = [0, 1, 0]
    s = [0.9, 0.5, 0.1]
    t = M.threshold_at_fpr(y, s, 0.01)
    assert t > 0.9 and M.confusion(y, s, t).tp + M.confusion(y, s, t).fp == 0
    assert M.recall_at_fpr(y, s, 0.01) == 0.0


def test_recall_at_one_percent_fpr_on_larger_sample() -> None:
    # 200 negatives at 0..199/1000, 10 positives: 5 above every negative, 5 below the top 3
    neg = np.arange(200) / 1000.0
    pos = np.r_[np.full(5, 0.5), np.full(5, 0.1965)]
    y = np.r_[np.zeros(200, int), np.ones(10, int)]
    s = np.r_[neg, pos]
    # FPR <= 1% allows 2 false positives: threshold = 0.198 (negatives .198 and .199 flagged)
    assert M.threshold_at_fpr(y, s, 0.01) == pytest.approx(0.198)
    assert M.recall_at_fpr(y, s, 0.01) == approx(0.5)
    assert M.threshold_at_fpr(y, s, 0.015) == 0.1965  # 3 FPs allowed
    assert M.recall_at_fpr(y, s, 0.015) == approx(1.0)


def test_one_class_edge_cases() -> None:
    ones = [1, 1, 1]
    assert math.isnan(M.roc_auc(ones, [0.1, 0.2, 0.3]))
    assert M.average_precision(ones, [0.1, 0.2, 0.3]) == approx(1.0)
    assert math.isnan(M.threshold_at_fpr(ones, [0.1, 0.2, 0.3]))
    assert math.isnan(M.recall_at_fpr(ones, [0.1, 0.2, 0.3]))
    zeros = [0, 0]
    assert math.isnan(M.roc_auc(zeros, [0.1, 0.2]))
    assert math.isnan(M.average_precision(zeros, [0.1, 0.2]))
    assert M.precision_recall_curve(zeros, [0.1, 0.2])[0].size == 0
    assert math.isnan(M.recall_at_fpr(zeros, [0.1, 0.2]))
    fpr, tpr, _ = M.roc_curve(zeros, [0.1, 0.2])
    assert np.isnan(tpr).all() and fpr[-1] == 1.0


def test_binary_report_is_json_safe() -> None:
    r = M.binary_report(Y, S, 0.5)
    assert (r["n"], r["n_pos"], r["n_neg"]) == (4, 2, 2)
    assert (r["precision"], r["recall"], r["fpr"]) == (1.0, 0.5, 0.0)
    assert r["f1"] == approx(2 / 3)
    assert r["auprc"] == approx(0.5 + 1 / 3)
    assert r["roc_auc"] == approx(0.75)
    one_class = M.json_safe(M.binary_report([1, 1], [0.2, 0.9], 0.5))
    text = json.dumps(one_class, allow_nan=False)  # NaN became null
    assert json.loads(text)["fpr"] is None and json.loads(text)["roc_auc"] is None


def test_summarize_and_input_validation() -> None:
    s = M.summarize([0.1, 0.2, 0.3, 0.4, 1.0])
    assert s["n"] == 5 and s["median"] == approx(0.3) and s["mean"] == approx(0.4)
    assert M.summarize([])["n"] == 0 and math.isnan(M.summarize([])["median"])
    with pytest.raises(ValueError, match="0 or 1"):
        M.roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="shape"):
        M.average_precision([0, 1], [0.1])
    with pytest.raises(ValueError, match="NaN"):
        M.roc_auc([0, 1], [0.1, float("nan")])
