"""Helpers shared by the input and output guards (private)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import windows as W

# manifest "windowing" keys (lower-case names of the runtime.windows constants)
WINDOW_DEFAULTS = {
    "input_window": W.INPUT_WINDOW,
    "input_stride": W.INPUT_STRIDE,
    "output_max_len": W.OUTPUT_MAX_LEN,
    "output_max_prompt": W.OUTPUT_MAX_PROMPT,
    "output_carry": W.OUTPUT_CARRY,
}


def windowing(manifest: dict[str, Any]) -> dict[str, int]:
    """The manifest's windowing constants (accepts lower- or upper-case keys), defaults filled."""
    raw = manifest.get("windowing") or {}
    out = {}
    for key, default in WINDOW_DEFAULTS.items():
        val = raw.get(key, raw.get(key.upper(), default))
        out[key] = int(val)
    return out


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    """Numerically stable logistic function."""
    if isinstance(x, np.ndarray):
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))),
                        np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def check_threshold(value: Any, what: str) -> float:
    """A probability threshold in [0, 1]."""
    from ..errors import ModelLoadError

    try:
        t = float(value)
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"{what}: threshold must be a number, got {value!r}") from e
    if not 0.0 <= t <= 1.0 or math.isnan(t):
        raise ModelLoadError(f"{what}: threshold must be in [0, 1], got {t}")
    return t


def even_rows(ids: Any, start: int, pad: tuple[int, int] | None) -> tuple[list[int], list[int]]:
    """Token ids and positions of one call of several tokens at ``start..``, with one padding
    token added when the count is odd and ``pad=(token id, highest position id)`` is given
    (block-wise int8 graphs compute rows in pairs: ``output_guard``'s module docstring)."""
    ids_l = list(ids)
    pos_l = list(range(start, start + len(ids_l)))
    if pad is not None and len(ids_l) % 2:
        ids_l.append(pad[0])
        pos_l.append(min(start + len(pos_l), pad[1]))
    return ids_l, pos_l
