"""Streaming output guard: per-token incremental cost vs torch eager and vs re-encoding.

For each context length the stream is first fed that many response tokens; then one-token
``feed`` calls are timed, then (each in its own phase, ``_common.timed_phases``) a torch eager
incremental step at the same cache position and re-encoding the whole prefix (ONNX and
torch; every 4th step).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import timed_phases, stats

WORD = " go"  # one token per word for the MiniLM tokenizer


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
    out: dict[str, Any] = {"steps_per_measure": steps, "repeats": repeat, "contexts": {}}
    for ctx in contexts:
        # the cache position a stream is at after ctx response tokens (re-primed past max_len)
        pos = min(prefix_len + ctx, og.max_len - steps)
        ids = [go_id] * pos
        fns: dict[str, Callable[[], Any]] = {}
        state: dict[str, Any] = {}

        def feed() -> None:
            state["stream"].feed(WORD)

        fns["runtime_feed"] = feed
        fns["reencode_onnx_per_token"] = lambda: og.run(ids, 0, og.empty_past())
        every = {"reencode_onnx_per_token": 4}
        if torch_model is not None:
            import torch

            x = torch.tensor([ids])
            with torch.inference_mode():
                _, past = torch_model(x, attention_mask=torch.ones_like(x), use_cache=True)

            def step() -> None:
                with torch.inference_mode():
                    torch_model(torch.tensor([[go_id]]),
                                attention_mask=torch.ones(1, pos + 1, dtype=torch.long),
                                position_ids=torch.tensor([[pos]]), past_key_values=past,
                                use_cache=True)

            def reencode() -> None:
                with torch.inference_mode():
                    torch_model(x, attention_mask=torch.ones_like(x))

            fns["torch_eager_incremental"] = step
            fns["reencode_torch_per_token"] = reencode
            every["reencode_torch_per_token"] = 4
        ms: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(repeat):
            state["stream"] = guard.stream(prompt)
            state["stream"].feed(WORD * ctx)
            before = state["stream"].tokens
            got = timed_phases(fns, steps, warmup=0, every=every)
            assert state["stream"].tokens == before + steps
            for k, v in got.items():
                ms[k] += v
        r: dict[str, Any] = {k: stats(v) for k, v in ms.items()}
        r["cache_position"] = pos
        p50 = r["runtime_feed"]["p50_ms"]
        r["speedup_vs_reencode_onnx"] = round(r["reencode_onnx_per_token"]["p50_ms"] / p50, 1)
        if "torch_eager_incremental" in r:
            r["speedup_vs_torch_incremental"] = round(r["torch_eager_incremental"]["p50_ms"] / p50, 2)
            r["speedup_vs_reencode_torch"] = round(r["reencode_torch_per_token"]["p50_ms"] / p50, 1)
        r["overhead_pct_of_50tps_stream"] = round(float(np.mean(ms["runtime_feed"])) / 20.0 * 100.0, 2)
        out["contexts"][str(ctx)] = r
    return out
