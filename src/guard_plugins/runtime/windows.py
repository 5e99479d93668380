"""Windowing rules shared by training and the runtime (torch-free, pure Python).

Both classifiers are BERT-sized (512 positions). Long content must never be a bypass, so:

* **Input classifier**: the prompt's content tokens are cut into overlapping windows of
  ``window`` tokens with step ``stride``; each window is scored as ``[CLS] w [SEP]`` and the
  verdict is the maximum over windows. Training cuts long items with the same function.
  A conversation longer than one window is windowed per history segment
  (:func:`segment_windows`), so that its earlier turns keep their windows when a turn is
  appended and the input guard's window cache can serve them.

* **Streaming output classifier**: the causal model sees
  ``[CLS] prompt[-max_prompt:] [SEP] response...`` and emits a value for each response token.
  When the next token would exceed ``max_len`` positions, the context is *re-primed*:
  ``[CLS] prompt[-max_prompt:] [SEP] response[-carry:]`` is encoded afresh (positions restart at
  0), and streaming goes on from there. Carried tokens are context only: they were already
  scored. The running maximum is kept across re-primes, so scoring never stops. Training
  builds the same segments with :func:`output_segments`.
"""

from __future__ import annotations

from dataclasses import dataclass

# Defaults; the exported manifest records the values a model was trained with.
INPUT_WINDOW = 254          # content tokens per window (+ [CLS], [SEP] = 256 positions)
INPUT_STRIDE = 192          # step between windows (62 tokens of overlap)
OUTPUT_MAX_LEN = 512        # positions of the causal model
OUTPUT_MAX_PROMPT = 96      # prompt tokens kept (the last ones) as context for the response
OUTPUT_CARRY = 192          # response tokens carried into a re-primed window


def input_windows(ids: list[int], window: int = INPUT_WINDOW, stride: int = INPUT_STRIDE) -> list[list[int]]:
    """Overlapping windows covering every token; at least one (possibly empty) window."""
    if window <= 0 or stride <= 0 or stride > window:
        raise ValueError("need 0 < stride <= window")
    if len(ids) <= window:
        return [list(ids)]
    out = []
    start = 0
    while True:
        out.append(list(ids[start:start + window]))
        if start + window >= len(ids):
            break
        start += stride
    return out


def segment_windows(ids: list[int], starts: list[int], window: int = INPUT_WINDOW,
                    stride: int = INPUT_STRIDE, context: int | None = None) -> list[list[int]]:
    """Input windows laid out so that appending turns to a conversation keeps the old ones.

    ``starts``: token offsets where the history segments begin (``text.render_segments``).
    A prompt that fits one window is one window, exactly as :func:`input_windows` gives it.
    A longer one is windowed per segment: segment ``[s, e)`` gets
    ``input_windows(ids[s - c : e])`` with ``c = min(context, e - s)``: its own tokens plus as
    many tokens before it as it has, up to ``context`` (default ``window - stride``, the
    overlap consecutive windows already have). So a span across a segment boundary is seen
    whole when it is no longer than ``c``, and a segment's windows cost at most twice its own
    tokens (a short new question after a long system prompt stays cheap). Every
    token is in some window (nothing is truncated), and a segment's windows depend only on
    its own tokens and the ``context`` before it: a new turn adds windows, it never shifts
    the boundaries of the earlier ones. A single segment gives :func:`input_windows` exactly.
    """
    if context is None:
        context = window - stride
    if len(ids) <= window:
        return [list(ids)]
    bounds = sorted({s for s in starts if 0 < s < len(ids)})
    if not bounds:
        return input_windows(ids, window, stride)
    out: list[list[int]] = []
    edges = [0, *bounds, len(ids)]
    for s, e in zip(edges[:-1], edges[1:]):
        out.extend(input_windows(ids[max(0, s - min(context, e - s)):e], window, stride))
    return out


@dataclass(frozen=True)
class OutputSegment:
    """One encoder pass of the streaming model.

    ``input_ids`` is the full sequence of this pass (special tokens included);
    positions ``score_from ..`` hold response tokens ``response_start ..`` of the response and
    are the ones whose values count (and, in training, carry the loss).
    """

    input_ids: list[int]
    score_from: int
    response_start: int


def output_prefix(prompt_ids: list[int], cls_id: int, sep_id: int,
                  max_prompt: int = OUTPUT_MAX_PROMPT) -> list[int]:
    """``[CLS] prompt[-max_prompt:] [SEP]``: the context every window starts with."""
    kept = list(prompt_ids[-max_prompt:]) if max_prompt > 0 else []
    return [cls_id, *kept, sep_id]


def output_segments(prompt_ids: list[int], response_ids: list[int], cls_id: int, sep_id: int,
                    max_len: int = OUTPUT_MAX_LEN, max_prompt: int = OUTPUT_MAX_PROMPT,
                    carry: int = OUTPUT_CARRY) -> list[OutputSegment]:
    """Split a (prompt, response) pair into the passes the runtime stream would make."""
    prefix = output_prefix(prompt_ids, cls_id, sep_id, max_prompt)
    room = max_len - len(prefix)
    if room <= carry:
        raise ValueError("max_len must leave room for more than `carry` response tokens")
    segs: list[OutputSegment] = []
    n = len(response_ids)
    # first pass: no carried context
    end = min(n, room)
    segs.append(OutputSegment(prefix + list(response_ids[:end]), len(prefix), 0))
    pos = end
    while pos < n:
        ctx = list(response_ids[max(0, pos - carry):pos])
        take = min(n - pos, room - len(ctx))
        segs.append(OutputSegment(prefix + ctx + list(response_ids[pos:pos + take]),
                                  len(prefix) + len(ctx), pos))
        pos += take
    return segs
