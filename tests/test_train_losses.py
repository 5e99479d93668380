"""guard-train: losses, schedule, calibration and numpy metrics against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from guard_plugins.train.calibrate import threshold_for_fpr  # noqa: E402
from guard_plugins.train.losses import input_loss, max_weight, streaming_loss  # noqa: E402
from guard_plugins.train.report import average_precision, binary_metrics  # noqa: E402


def train_sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def train_bce(y: float, q: float) -> float:
    return -(y * math.log(q) + (1 - y) * math.log(1 - q))


@pytest.mark.parametrize("w", [0.0, 0.3, 1.0])
def test_streaming_loss_matches_hand_computation(w: float) -> None:
    logits = [[0.5, -1.0, 2.0, 0.0], [-2.0, 1.0, 0.0, 0.0]]
    mask = [[1, 1, 1, 1], [1, 1, 0, 0]]
    labels = [1, 0]
    expected_items = []
    for row, m, y in zip(logits, mask, labels):
        n = sum(m)
        p = [train_sig(v) for v in row[:n]]
        run, terms = 0.0, []
        for t in range(n):
            run = max(run, p[t])
            q = (1 - w) * p[t] + w * run
            terms.append(train_bce(y, q))
        expected_items.append(sum(terms) / n)
    expected = sum(expected_items) / 2
    got = streaming_loss(torch.tensor(logits), torch.tensor(mask), torch.tensor(labels), w)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_streaming_loss_max_gradient_goes_to_argmax_only() -> None:
    """At w = 1 only the running-max positions get gradient: why the ramp starts dense."""
    x = torch.tensor([[3.0, -1.0, -2.0]], requires_grad=True)
    streaming_loss(x, torch.ones(1, 3), torch.tensor([0]), 1.0).backward()
    assert x.grad[0, 0] > 0 and x.grad[0, 1] == 0 and x.grad[0, 2] == 0
    y = torch.tensor([[3.0, -1.0, -2.0]], requires_grad=True)
    streaming_loss(y, torch.ones(1, 3), torch.tensor([0]), 0.0).backward()
    assert bool((y.grad[0] > 0).all())


def test_streaming_loss_ramp_in_downweights_early_harmful_positions() -> None:
    logits = torch.tensor([[-3.0, -3.0, -3.0, -3.0]])
    full = streaming_loss(logits, torch.ones(1, 4), torch.tensor([1]), 0.0)
    ramp = streaming_loss(logits, torch.ones(1, 4), torch.tensor([1]), 0.0, ramp_in=4)
    # equal per-token losses: the weighted mean is unchanged...
    assert ramp.item() == pytest.approx(full.item(), rel=1e-6)
    # ...but early positions count less
    logits2 = torch.tensor([[-3.0, 3.0, 3.0, 3.0]])
    assert streaming_loss(logits2, torch.ones(1, 4), torch.tensor([1]), 0.0, ramp_in=4).item() < \
        streaming_loss(logits2, torch.ones(1, 4), torch.tensor([1]), 0.0).item()
    # benign responses are not re-weighted
    neg = torch.tensor([[3.0, -3.0, -3.0, -3.0]])
    assert streaming_loss(neg, torch.ones(1, 4), torch.tensor([0]), 0.0, ramp_in=4).item() == \
        pytest.approx(streaming_loss(neg, torch.ones(1, 4), torch.tensor([0]), 0.0).item())


def test_max_weight_schedule_reaches_one_at_three_quarters() -> None:
    assert max_weight(0.0) == 0.0
    assert max_weight(0.375) == pytest.approx(0.5)
    assert max_weight(0.74) < 1.0
    assert max_weight(0.75) == 1.0
    assert max_weight(0.9) == 1.0 and max_weight(1.0) == 1.0
    steps = 200
    ws = [max_weight(s / steps) for s in range(steps)]
    assert ws == sorted(ws)
    assert ws.index(1.0) == 150


def test_input_loss_mil_and_benign_windows_by_hand() -> None:
    # item 0 harmful (category 1) with 2 windows; item 1 benign with 2 windows; 2 categories
    logits = torch.tensor([[-1.0, 0.2, -0.3], [2.0, 0.5, 1.0], [0.5, 0.0, 0.1], [-0.5, 0.3, -0.2]])
    owner = torch.tensor([0, 0, 1, 1])
    labels = torch.tensor([1, 0])
    cats = torch.tensor([1, -1])
    known = torch.tensor([True, False])
    loss, item_max = input_loss(logits, owner, labels, cats, known, category_weight=0.5)
    assert item_max.tolist() == pytest.approx([2.0, 0.5])
    harm = (train_bce(1, train_sig(2.0)) +
            (train_bce(0, train_sig(0.5)) + train_bce(0, train_sig(-0.5))) / 2) / 2
    cat_pos = (train_bce(0, train_sig(0.5)) + train_bce(1, train_sig(1.0))) / 2  # max window = 1
    cat_neg = ((train_bce(0, train_sig(0.0)) + train_bce(0, train_sig(0.1))) / 2 +
               (train_bce(0, train_sig(0.3)) + train_bce(0, train_sig(-0.2))) / 2) / 2
    assert loss.item() == pytest.approx(harm + 0.5 * (cat_pos + cat_neg) / 2, rel=1e-5)


def test_threshold_for_fpr_respects_target_and_ties() -> None:
    neg = np.linspace(0.0, 0.99, 100)
    pos = np.array([0.5, 0.985, 0.995, 1.0])
    s = np.r_[neg, pos]
    y = np.r_[np.zeros(100), np.ones(4)]
    cal = threshold_for_fpr(s, y, 0.01)
    assert cal.fpr <= 0.01 and cal.fpr == pytest.approx(0.01)
    assert np.sum(neg >= cal.threshold) == 1
    assert cal.recall == pytest.approx(0.75)  # 0.985, 0.995, 1.0 > 0.98 (2nd highest negative)
    tied = threshold_for_fpr(np.r_[np.full(100, 0.7), 0.9], np.r_[np.zeros(100), 1], 0.05)
    assert tied.fpr == 0.0 and tied.recall == 1.0


def test_metrics_by_hand() -> None:
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.2])
    y = np.array([1, 0, 1, 0, 0])
    # ranked: P(1/1) at r=.5, P(2/3) at r=1 -> AP = .5*1 + .5*2/3
    assert average_precision(s, y) == pytest.approx(0.5 + 0.5 * 2 / 3)
    m = binary_metrics(s, y, 0.65)
    assert (m["precision"], m["recall"], m["fpr"]) == (pytest.approx(2 / 3, abs=1e-4), 1.0,
                                                       pytest.approx(1 / 3, abs=1e-4))
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    s2, y2 = rng.random(300).round(2), rng.integers(0, 2, 300)
    assert average_precision(s2, y2) == pytest.approx(sk.average_precision_score(y2, s2))
