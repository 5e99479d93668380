"""Input guard latency and throughput: runtime (onnxruntime) vs the same weights in torch eager.

The runtime and torch calls are timed in separate phases of the same process
(see ``_common.timed_phases``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import timed_phases, stats, timed


def text_of_tokens(guard: Any, n: int) -> str:
    """A benign text of exactly ``n`` content tokens for this tokenizer."""
    words = ["the", "weather", "is", "nice", "today", "and", "we", "walk", "to", "the", "park"]
    text = " ".join(words[i % len(words)] for i in range(n))
    assert len(guard.input._tok.encode(text)) == n
    return text


def _torch_call(torch_model: Any, ig: Any, text: str) -> Callable[[], None]:
    import torch

    wins, _, _ = ig._prepare(text)
    tok = ig._tok
    width = max(len(w) for w in wins) + 2
    ids = torch.full((len(wins), width), tok.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, w in enumerate(wins):
        row = [tok.cls_id, *w, tok.sep_id]
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1

    def eager() -> None:
        ig._tok.encode(text)  # tokenisation included, as in the runtime call
        with torch.inference_mode():
            torch_model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))

    return eager


def run(guard: Any, ckpt: Path | None, lengths: list[int], repeat: int, batch: int,
        threads: int) -> dict[str, Any]:
    """p50/p95 per length, torch eager ratio (when a checkpoint is given), batch throughput."""
    out: dict[str, Any] = {"lengths": {}}
    torch_model = None
    if ckpt is not None and (ckpt / "config.json").is_file():
        import torch
        from guard_plugins.train.models import InputClassifier

        torch.set_num_threads(threads)
        torch_model = InputClassifier.load(ckpt).eval()
    ig = guard.input
    for n in lengths:
        text = text_of_tokens(guard, n)
        rep = max(3, repeat // 4) if n > 1000 else repeat
        fns: dict[str, Callable[[], Any]] = {"onnx": lambda: guard.check_input(text)}
        if torch_model is not None:
            fns["torch_eager"] = _torch_call(torch_model, ig, text)
        ms = timed_phases(fns, rep)
        r: dict[str, Any] = {"windows": len(ig._prepare(text)[0])}
        r.update({k: stats(v) for k, v in ms.items()})
        if "torch_eager" in r:
            r["speedup_vs_torch_p50"] = round(r["torch_eager"]["p50_ms"] / r["onnx"]["p50_ms"], 2)
        out["lengths"][str(n)] = r
    prompts = [text_of_tokens(guard, 64) + f" {i}" for i in range(batch)]
    ms = timed(lambda: guard.check_inputs(prompts), max(3, repeat // 10), warmup=1)
    out["batch"] = {"prompts": batch, "tokens_each": 64, **stats(ms),
                    "prompts_per_s": round(batch / (sorted(ms)[len(ms) // 2] / 1000.0), 1)}
    return out
