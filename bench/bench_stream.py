"""Streaming output guard: per-token incremental cost vs torch eager and vs re-encoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from _common import stats, timed

WORD = " go"  # one token per word for the MiniLM tokenizer


def _stream_at(guard: Any, context: int, prompt: str) -> Any:
    s = guard.stream(prompt)
    s.feed(WORD * context)
    return s


def run(guard: Any, ckpt: Path | None, contexts: list[int], steps: int, repeat: int,
        threads: int) -> dict[str, Any]:
    """Per-token cost of ``stream.feed`` at each context length (response tokens so far)."""
    og = guard.output
    assert len(og._tok.encode(WORD * 5)) == 5
    go_id = og._tok.encode(WORD)[0]
    prompt = "Please write a short story about a walk in the park."
    prefix_len = len(og.prompt_ids(prompt)[0][-og.max_prompt:]) + 2
    torch_model = None
    if ckpt is not None and (ckpt / "value_head.safetensors").is_file():
        import torch
        from guard_plugins.train.models import StreamingValueModel

        torch.set_num_threads(threads)
        torch_model = StreamingValueModel.load(ckpt).eval()
    out: dict[str, Any] = {"steps_per_measure": steps, "contexts": {}}
    for ctx in contexts:
        per_token: list[float] = []
        for _ in range(repeat):
            s = _stream_at(guard, ctx, prompt)
            before = s.tokens
            ms = timed(lambda: s.feed(WORD), steps, warmup=0)
            assert s.tokens == before + steps
            per_token += ms
        r: dict[str, Any] = {"runtime_feed": stats(per_token)}
        # the cache position the stream is at (re-primed past max_len)
        pos = min(prefix_len + ctx, og.max_len - steps)
        ids = [go_id] * pos
        full_ms = timed(lambda: og.run(ids, 0, og.empty_past()), max(5, repeat * 2))
        r["reencode_onnx_per_token"] = stats(full_ms)
        r["cache_position"] = pos
        if torch_model is not None:
            import torch

            with torch.inference_mode():
                x = torch.tensor([ids])
                _, past = torch_model(x, attention_mask=torch.ones_like(x), use_cache=True)

                def step() -> None:
                    t = torch.tensor([[go_id]])
                    torch_model(t, attention_mask=torch.ones(1, pos + 1, dtype=torch.long),
                                position_ids=torch.tensor([[pos]]), past_key_values=past,
                                use_cache=True)

                r["torch_eager_incremental"] = stats(timed(step, max(20, steps)))

                def reencode() -> None:
                    torch_model(x, attention_mask=torch.ones_like(x))

                r["reencode_torch_per_token"] = stats(timed(reencode, max(5, repeat * 2)))
        p50 = r["runtime_feed"]["p50_ms"]
        r["speedup_vs_reencode_onnx"] = round(r["reencode_onnx_per_token"]["p50_ms"] / p50, 1)
        if "torch_eager_incremental" in r:
            r["speedup_vs_torch_incremental"] = round(r["torch_eager_incremental"]["p50_ms"] / p50, 2)
            r["speedup_vs_reencode_torch"] = round(r["reencode_torch_per_token"]["p50_ms"] / p50, 1)
        r["overhead_pct_of_50tps_stream"] = round(float(np.mean(per_token)) / 20.0 * 100.0, 2)
        out["contexts"][str(ctx)] = r
    return out
