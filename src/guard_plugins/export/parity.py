"""Parity checks run on every export; a failed check raises :class:`ExportError`.

* fp32: torch vs ONNX probabilities on real examples, max abs difference <= ``FP32_TOL``;
* int8 (when quantized): verdict agreement with fp32 >= ``INT8_MIN_AGREEMENT`` and, with
  labelled data, F1 within ``INT8_MAX_F1_DROP`` (0.5 points);
* output model: incremental (KV-cached, one token per step) vs full-pass ONNX values equal
  (fp32, <= ``FP32_TOL``), and the runtime stream's final score vs the full-pass score.

ONNX scores come from the runtime classes themselves (:mod:`guard_plugins.runtime`), so the
check covers the exact serving path (tokenisation, windows, re-priming).
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError, ExportError
from ..runtime import InputGuard, OutputGuard
from ..runtime.windows import output_prefix, output_segments

log = logging.getLogger(__name__)

FP32_TOL = 1e-4
INT8_MIN_AGREEMENT = 0.99
INT8_MAX_F1_DROP = 0.005
INT8_STREAM_TOL = 0.05   # int8: cached vs full pass (dynamic activation scales differ)

# Used when no labelled data is available (untrained/dev exports): neutral text only.
FALLBACK_PROMPTS = [
    "What is the capital of France?", "Summarise the plot of Hamlet in two sentences.",
    "How do I make a sourdough starter?", "Explain how vaccines train the immune system.",
    "Write a haiku about autumn rain.", "What are good practices for password storage?",
    "Translate 'good morning' into Spanish and German.", "Why is the sky blue?",
    "Give me a packing list for a weekend hike.", "How does public-key cryptography work?",
    "system: You are a helpful assistant.\nuser: Tell me a joke about cats.",
    "", "hello", "🙂 ¿Qué tal? 你好 — naïve café", "a" * 300, " ".join(["word"] * 700),
]
FALLBACK_RESPONSES = [
    "Paris is the capital of France.", "Sure. Step 1: [REDACTED]. Step 2: <step withheld>.",
    "I can't help with that, but here is some general safety information.",
    "Vaccines expose the immune system to a harmless piece of a pathogen. " * 12,
    "Autumn rain falls / on quiet streets / leaves listen", "Use a slow salted hash such as argon2.",
    "Buenos días; Guten Morgen.", "Rayleigh scattering favours short wavelengths. " * 60,
]


@dataclass
class ParityData:
    """Examples for the checks: texts (input) or (prompt, response) pairs, labels or None."""

    items: list[Any]
    labels: list[int] | None
    source: str


def load_parity_data(kind: str, path: Path | None, meta: dict[str, Any], limit: int,
                     seed: int = 0) -> ParityData:
    """``--parity-data`` JSONL, else the checkpoint's dev split, else built-in neutral text."""
    source = "builtin"
    if path is None:
        data_dir = (meta.get("data") or {}).get("path")
        cand = Path(data_dir) / f"{kind}s.dev.jsonl" if data_dir else None
        if cand is not None and cand.is_file():
            path = cand
        elif cand is not None:
            log.warning("dev split %s recorded in the checkpoint was not found: int8 F1 is not "
                        "checked (pass --parity-data)", cand)
            source = f"builtin (dev split {cand} not found)"
    if path is None:
        if kind == "input":
            return ParityData(list(FALLBACK_PROMPTS), None, source)
        return ParityData([(p, r) for p in FALLBACK_PROMPTS[:6] for r in FALLBACK_RESPONSES[:4]]
                          + [("", FALLBACK_RESPONSES[-1])], None, source)
    if not Path(path).is_file():
        raise DataError(f"{path}: parity data file not found")
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: invalid JSON ({e})") from e
    if limit and len(rows) > limit:
        rows = random.Random(seed).sample(rows, limit)
    try:
        if kind == "input":
            items = [r["text"] for r in rows]
        else:
            items = [(r["prompt"], r["response"]) for r in rows]
    except (KeyError, TypeError) as e:
        raise DataError(f"{path}: records need {'text' if kind == 'input' else 'prompt/response'} "
                        f"fields ({e})") from e
    labels = [int(r["label"]) for r in rows] if rows and all("label" in r for r in rows) else None
    return ParityData(items, labels, str(path))


def f1(pred: Sequence[bool], labels: Sequence[int]) -> float:
    """Binary F1 (0.0 when undefined)."""
    tp = sum(1 for p, y in zip(pred, labels) if p and y == 1)
    fp = sum(1 for p, y in zip(pred, labels) if p and y != 1)
    fn = sum(1 for p, y in zip(pred, labels) if not p and y == 1)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


# ------------------------------------------------------------------------------ input model
@torch.no_grad()
def input_torch_vs_onnx(model: torch.nn.Module, guard: InputGuard, texts: Sequence[str]) -> float:
    """Max abs difference of all probabilities (harm + categories) over every window."""
    worst = 0.0
    tok = guard._tok
    for text in texts:
        wins, _, _ = guard._prepare(text)
        onnx_logits = guard._run(wins)
        for w, ol in zip(wins, onnx_logits):
            ids = torch.tensor([[tok.cls_id, *w, tok.sep_id]])
            tl = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                       token_type_ids=torch.zeros_like(ids)).logits[0].numpy()
            worst = max(worst, float(np.abs(_sig(tl) - _sig(ol)).max()))
    return worst


def _verdict_stats(ref: Sequence[Any], cand: Sequence[Any], labels: list[int] | None) -> dict[str, Any]:
    agree = sum(a.flagged == b.flagged for a, b in zip(ref, cand)) / max(1, len(ref))
    stats: dict[str, Any] = {
        "n": len(ref), "agreement": round(agree, 6),
        "max_abs_score_diff": round(max((abs(a.score - b.score) for a, b in zip(ref, cand)), default=0.0), 6),
        "f1_fp32": None, "f1_int8": None,
    }
    if labels is not None:
        stats["f1_fp32"] = round(f1([v.flagged for v in ref], labels), 6)
        stats["f1_int8"] = round(f1([v.flagged for v in cand], labels), 6)
    return stats


def _check_int8(stats: dict[str, Any], what: str) -> None:
    if stats["agreement"] < INT8_MIN_AGREEMENT:
        raise ExportError(f"{what}: int8 verdict agreement {stats['agreement']:.4f} < "
                          f"{INT8_MIN_AGREEMENT} on {stats['n']} examples (parity failed; "
                          "export with --quantize none or inspect the model)")
    if stats["f1_fp32"] is not None and stats["f1_fp32"] - stats["f1_int8"] > INT8_MAX_F1_DROP:
        raise ExportError(f"{what}: int8 F1 {stats['f1_int8']:.4f} is more than 0.5 points below "
                          f"fp32 F1 {stats['f1_fp32']:.4f} (parity failed)")


def check_input(model: torch.nn.Module, fp32: InputGuard, int8: InputGuard | None,
                data: ParityData, torch_examples: int = 48, enforce_int8: bool = True) -> dict[str, Any]:
    """All input-model checks; returns the parity record for the manifest."""
    texts = data.items[:torch_examples]
    diff = input_torch_vs_onnx(model, fp32, texts)
    rec: dict[str, Any] = {"data": data.source, "fp32": {"n": len(texts), "max_abs_prob_diff": diff,
                                                         "tolerance": FP32_TOL, "passed": diff <= FP32_TOL}}
    if diff > FP32_TOL:
        raise ExportError(f"input: torch vs ONNX fp32 max abs probability difference {diff:.2e} > "
                          f"{FP32_TOL} (parity failed)")
    if int8 is not None:
        ref = fp32.check_many(data.items)
        cand = int8.check_many(data.items)
        stats = _verdict_stats(ref, cand, data.labels)
        stats["threshold"] = fp32.threshold
        stats["enforced"] = enforce_int8
        if enforce_int8:
            _check_int8(stats, "input")
        rec["int8"] = stats
    return rec


# ----------------------------------------------------------------------------- output model
@torch.no_grad()
def output_torch_vs_onnx(model: torch.nn.Module, guard: OutputGuard,
                         pairs: Sequence[tuple[str, str]]) -> float:
    """Max abs difference of per-token probabilities over every pass of every pair."""
    worst = 0.0
    tok = guard._tok
    for prompt, response in pairs:
        p_ids, _ = guard.prompt_ids(prompt)
        r_ids = tok.encode(response)
        if not r_ids:
            continue
        for seg in output_segments(p_ids, r_ids, tok.cls_id, tok.sep_id, guard.max_len,
                                   guard.max_prompt, guard.carry):
            ol, _ = guard.run(seg.input_ids, 0, guard.empty_past())
            ids = torch.tensor([seg.input_ids])
            tl, _ = model(ids, attention_mask=torch.ones_like(ids))
            worst = max(worst, float(np.abs(_sig(tl[0].numpy()) - _sig(ol)).max()))
    return worst


def cache_vs_full(guard: OutputGuard, pairs: Sequence[tuple[str, str]], max_tokens: int = 160
                  ) -> dict[str, float]:
    """Incremental (one token per step through the cache) vs full pass, per token; and the
    runtime stream's final score vs the full-pass ``check`` score."""
    tok = guard._tok
    worst_tok, worst_final = 0.0, 0.0
    for prompt, response in pairs:
        p_ids, _ = guard.prompt_ids(prompt)
        r_ids = tok.encode(response)[:max_tokens]
        if not r_ids:
            continue
        prefix = output_prefix(p_ids, tok.cls_id, tok.sep_id, guard.max_prompt)
        full, _ = guard.run(prefix + r_ids, 0, guard.empty_past())
        _, past = guard.run(prefix, 0, guard.empty_past())
        inc = []
        for j, t in enumerate(r_ids):
            v, past = guard.run([t], len(prefix) + j, past)
            inc.append(v[0])
        worst_tok = max(worst_tok, float(np.abs(_sig(np.array(inc)) - _sig(full[len(prefix):])).max()))
        s = guard.stream(prompt)
        s.feed(response)
        worst_final = max(worst_final, abs(s.finish().score - guard.check(prompt, response).score))
    return {"max_abs_token_prob_diff": worst_tok, "max_abs_final_score_diff": worst_final}


def check_output(model: torch.nn.Module, fp32: OutputGuard, int8: OutputGuard | None,
                 data: ParityData, torch_examples: int = 24, cache_examples: int = 6,
                 enforce_int8: bool = True) -> dict[str, Any]:
    """All output-model checks; returns the parity record for the manifest."""
    pairs = data.items[:torch_examples]
    diff = output_torch_vs_onnx(model, fp32, pairs)
    rec: dict[str, Any] = {"data": data.source, "fp32": {"n": len(pairs), "max_abs_prob_diff": diff,
                                                         "tolerance": FP32_TOL, "passed": diff <= FP32_TOL}}
    if diff > FP32_TOL:
        raise ExportError(f"output: torch vs ONNX fp32 max abs probability difference {diff:.2e} > "
                          f"{FP32_TOL} (parity failed)")
    # include a long pair so the stream re-primes at least once
    long_pair = ("Tell me about the history of bread.", "Bread has a long history. " * 150)
    cache_pairs = list(data.items[:cache_examples]) + [long_pair]
    cache = cache_vs_full(fp32, cache_pairs)
    rec["cache_vs_full_fp32"] = {**cache, "tolerance": FP32_TOL}
    if max(cache.values()) > FP32_TOL:
        raise ExportError(f"output: cached vs full-pass ONNX scores differ ({cache}) (parity failed)")
    if int8 is not None:
        c8 = cache_vs_full(int8, cache_pairs)
        rec["cache_vs_full_int8"] = {**c8, "tolerance": INT8_STREAM_TOL}
        if max(c8.values()) > INT8_STREAM_TOL:
            raise ExportError(f"output: int8 cached vs full-pass scores differ ({c8}) (parity failed)")
        ref = fp32.check_many(data.items)
        cand = int8.check_many(data.items)
        stats = _verdict_stats(ref, cand, data.labels)
        stats["threshold"] = fp32.threshold
        stats["enforced"] = enforce_int8
        if enforce_int8:
            _check_int8(stats, "output")
        rec["int8"] = stats
    if not math.isfinite(diff):
        raise ExportError("output: non-finite values in parity check")
    return rec
