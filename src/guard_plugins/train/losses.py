"""Losses of the two classifiers, and the weight schedule of the streaming loss.

Input classifier (:func:`input_loss`)
    Multi-label BCE. Logit 0 = harmful. Items longer than one window are cut with
    ``runtime.windows.input_windows`` and the runtime verdict is the max over windows, so:

    * **benign** items: every window must look benign -> BCE(0) on *every* window (mean per
      item); a max-only loss would only push down the currently highest window.
    * **harmful** items: we do not know which window holds the harmful part (a harmful
      request after 3,000 benign tokens is the bypass we guard against), so labels are not
      copied onto every window (that would teach "this cooking recipe is harmful"). We use
      multiple-instance learning: BCE(1) on the *max over windows* of logit 0, exactly the
      quantity the runtime thresholds. A single-window item reduces to plain BCE.

    Category logits (``1 + i``): one-hot BCE on the window with the highest harmful logit for
    harmful items whose category is restricted; all-zero targets on every window of benign
    items (no restricted category applies); no category loss for harmful items with an
    unknown category (public data without our taxonomy).

Streaming output classifier (:func:`streaming_loss`)
    For response positions t of one response with whole-response label y::

        p_t = sigmoid(value_t),   m_t = max_{s <= t} p_s,   q_t = (1 - w) p_t + w m_t
        loss = mean_t BCE(y, q_t)       (mean over the response, then mean over responses)

    *Why the mixture and the ramp.* The deployed rule halts at the first t with
    ``p_t >= threshold``, i.e. it thresholds the running max m_t, so that is the quantity we
    finally want calibrated (w = 1). But the gradient of a max flows to a single position
    (the argmax): trained on m_t alone from the start, almost every token gets no signal and
    a random early spike becomes the one position that is ever pushed. Starting with w = 0
    gives a dense per-token gradient (every prefix learns to predict the full-response label:
    a value function), and ramping w to 1 by 75 % of training then trains the quantity the
    halt rule uses, e.g. pushes down the *highest* prefix value of benign responses, which is
    exactly what causes false alarms under the max rule.

    The paper sums over positions; we take the mean per response (then over responses) so a
    long response does not outweigh many short ones and the loss scale does not depend on the
    truncation length. Optional ``ramp_in`` down-weights the first tokens of *harmful*
    responses (weight min(1, (t+1)/ramp_in)): a harmful response that opens like a benign one
    ("Sure, here is...") otherwise pushes early prefixes up, which raises false alarms on
    benign responses with the same opening under the max rule.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-6


def max_weight(progress: float, reach_at: float = 0.75) -> float:
    """Weight w of the cumulative max: linear from 0 at progress 0 to 1 at ``reach_at``."""
    if reach_at <= 0:
        return 1.0
    return float(min(1.0, max(0.0, progress / reach_at)))


def streaming_loss(logits: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, w: float,
                   ramp_in: int = 0, targets: torch.Tensor | None = None) -> torch.Tensor:
    """Cumulative-max streaming loss (see module docstring).

    ``logits`` [B, T] pre-sigmoid values of the response positions of each response (in
    order, across re-primed segments), ``mask`` [B, T] 1 for real positions (a prefix of each
    row), ``labels`` [B] in {0, 1}. ``targets`` [B, T] (optional) replaces the broadcast label
    with per-token targets: where a harmful response is known to start after a benign
    preamble, its preamble tokens are 0 and the rest 1. Targets must be non-decreasing along
    each row (harm, once seen, stays seen), which keeps them consistent with the running max.
    Returns the scalar loss.
    """
    mask = mask.to(logits.dtype)
    p = torch.sigmoid(logits)
    # padding must not win the running max: real positions come first, so it never does,
    # but set it to 0 anyway for clarity
    p = p * mask
    m = torch.cummax(p, dim=1).values
    q = ((1.0 - w) * p + w * m).clamp(EPS, 1.0 - EPS)
    if targets is not None:
        y = targets.to(logits.dtype)
    else:
        y = labels.to(logits.dtype).unsqueeze(1).expand_as(q)
    bce = -(y * torch.log(q) + (1.0 - y) * torch.log1p(-q))
    weight = mask
    if ramp_in > 0:
        t = torch.arange(q.shape[1], device=q.device, dtype=q.dtype).unsqueeze(0)
        early = torch.clamp((t + 1.0) / float(ramp_in), max=1.0)
        pos = y > 0.5
        weight = torch.where(pos, mask * early, mask)
    per_item = (bce * weight).sum(1) / weight.sum(1).clamp_min(1e-9)
    return per_item.mean()


def input_loss(window_logits: torch.Tensor, window_item: torch.Tensor, labels: torch.Tensor,
               cat_targets: torch.Tensor, cat_known: torch.Tensor,
               category_weight: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Input-classifier loss (see module docstring).

    ``window_logits`` [W, 1+C] logits of all windows of the batch; ``window_item`` [W] index
    of the item each window belongs to (0..B-1, every item has >= 1 window); ``labels`` [B];
    ``cat_targets`` [B] category index or -1; ``cat_known`` [B] bool: harmful item with a
    restricted category. Returns ``(loss, item_logits)`` where ``item_logits`` [B] is the max
    over windows of logit 0 (the runtime verdict, before sigmoid).
    """
    n_items = labels.shape[0]
    harm = window_logits[:, 0]
    # max over windows per item, with the argmax window (for the category loss)
    item_max = torch.full((n_items,), float("-inf"), dtype=harm.dtype, device=harm.device)
    item_max = item_max.scatter_reduce(0, window_item, harm, reduce="amax", include_self=True)
    is_max = harm == item_max[window_item]
    # first window reaching the max, per item
    idx = torch.arange(harm.shape[0], device=harm.device)
    big = torch.full((n_items,), harm.shape[0], dtype=torch.long, device=harm.device)
    arg = big.scatter_reduce(0, window_item, torch.where(is_max, idx, big[window_item]),
                             reduce="amin", include_self=True)

    y = labels.to(harm.dtype)
    pos = y > 0.5
    # harmful: MIL on the max window
    pos_loss = F.binary_cross_entropy_with_logits(item_max, torch.ones_like(y), reduction="none")
    # benign: every window, mean per item
    neg_w = F.binary_cross_entropy_with_logits(harm, torch.zeros_like(harm), reduction="none")
    counts = torch.bincount(window_item, minlength=n_items).to(harm.dtype)
    neg_item = torch.zeros(n_items, dtype=harm.dtype, device=harm.device).index_add(
        0, window_item, neg_w) / counts.clamp_min(1)
    loss = torch.where(pos, pos_loss, neg_item).mean()

    n_cat = window_logits.shape[1] - 1
    if n_cat > 0 and category_weight > 0:
        cat_logits = window_logits[:, 1:]
        # benign items: all windows, all-zero targets
        neg_cat = F.binary_cross_entropy_with_logits(
            cat_logits, torch.zeros_like(cat_logits), reduction="none").mean(1)
        neg_cat_item = torch.zeros(n_items, dtype=harm.dtype, device=harm.device).index_add(
            0, window_item, neg_cat) / counts.clamp_min(1)
        # harmful items with a known category: one-hot on the max window
        safe_arg = arg.clamp(max=harm.shape[0] - 1)
        tgt = F.one_hot(cat_targets.clamp(min=0), n_cat).to(harm.dtype)
        pos_cat = F.binary_cross_entropy_with_logits(
            cat_logits[safe_arg], tgt, reduction="none").mean(1)
        use_pos = pos & cat_known
        cat_item = torch.where(use_pos, pos_cat, torch.where(pos, torch.zeros_like(y), neg_cat_item))
        loss = loss + category_weight * cat_item.mean()
    return loss, item_max
