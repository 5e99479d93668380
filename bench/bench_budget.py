"""Bounded cost per input check (issue 13): cost against length, and fairness in the proxy.

Two parts, one JSON object (``--out``):

1. **cost** (in process): one input check at 16 tokens up to the default limit and past it,
   under ``on_oversize="reject"`` and ``"scan"``, plus hostile inputs (400k characters of
   ``"a "``, 5,000 random code points, 10 MB of one character). Every row gives p50/p95 and
   its ratio to a 512-token check; the hostile rows are also run on the pre-budget path
   (every window of the prompt scored in batches of 16, no budget, no dedupe) in the same
   process as the baseline.
2. **fairness in process**: p50/p95 of 64-token checks alone and while another thread checks
   a max-size prompt back to back, with and without the scheduler.
3. **proxy** (the real ``litellm`` proxy on 127.0.0.1, scripted LLM): p50/p95 of 64-token
   requests alone, then while a max-size (just under the limit, no repeated windows) request
   is being checked back to back; once with the guardrail's fair scheduler (default) and once
   with ``batching: false`` (every check in its own thread, as before), each its own proxy.

    python bench/bench_budget.py --out bench/results_budget.json [--quick] [--skip-proxy]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import machine, stats, timed, versions  # noqa: E402

SMALL_WORDS = ("the weather is nice today and we walk to the park after lunch with friends").split()


def text_of_tokens(guard: Any, n: int, seed: int = 0) -> str:
    """Varied benign text of about ``n`` guard tokens (no two windows alike)."""
    rng = random.Random(seed)
    parts, count = [], 0
    while count < n:
        w = f"{rng.choice(SMALL_WORDS)} {rng.randint(0, 99999)}"
        parts.append(w)
        count += 3
    text = " ".join(parts)
    ids = guard.input._tok.encode(text)
    while len(ids) > n:  # trim to exactly n tokens or just under
        parts = parts[: max(1, int(len(parts) * n / len(ids)) - 1)]
        text = " ".join(parts)
        ids = guard.input._tok.encode(text)
    return text


def _try(fn: Any) -> Any:
    def call() -> str:
        try:
            fn()
            return "verdict"
        except Exception as e:  # noqa: BLE001 - recorded
            return type(e).__name__
    return call


def cost(models: Any, quick: bool) -> dict[str, Any]:
    from guard_plugins.runtime import DEFAULT_MAX_INPUT_TOKENS, Guard

    guard = Guard.load(models, providers="cpu")
    old = Guard.load(models, providers="cpu", batching=False, max_input_tokens=None)
    limit = DEFAULT_MAX_INPUT_TOKENS
    lengths = [16, 64, 512, 2048, 8192, limit] if not quick else [16, 512, 2048]
    rows: dict[str, Any] = {}
    ref = text_of_tokens(guard, 512)
    base = stats(timed(lambda: guard.check_input(ref), 5 if quick else 15))
    for n in lengths:
        text = text_of_tokens(guard, n, seed=n)
        rep = 3 if n >= 8192 else (5 if quick else 15)
        s = stats(timed(lambda: guard.check_input(text), rep, warmup=1))
        rows[f"{n}_tokens"] = {**s, "x_512": round(s["p50_ms"] / base["p50_ms"], 2), "outcome": "verdict"}
    # the worst case the decoders allow: look-alike letters and leetspeak in every window, so
    # every decoded variant is new text (the variants' cap bounds it at twice the prompt)
    if not quick:
        table = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e"})
        words = text_of_tokens(guard, limit // 3, seed=3).split(" ")
        hostile = " ".join(f"h4ck3d {w.translate(table)}" for w in words)
        ids = guard.input._tok.encode(hostile)
        while len(ids) > limit:
            hostile = hostile[: int(len(hostile) * limit / len(ids)) - 10]
            ids = guard.input._tok.encode(hostile)
        s = stats(timed(lambda: guard.check_input(hostile), 3, warmup=1))
        v = guard.check_input(hostile)
        rows["limit_every_decoder_firing"] = {**s, "x_512": round(s["p50_ms"] / base["p50_ms"], 2),
                                              "outcome": "verdict", "tokens": len(ids),
                                              "notes": [n for n in v.notes if "variant" in n]}
    over = [2 * limit, 8 * limit] if not quick else [2 * limit]
    for n in over:
        text = text_of_tokens(guard, n, seed=n)
        for policy in ("reject", "scan"):
            if policy == "scan" and n > 2 * limit:
                continue
            call = _try(lambda: guard.check_input(text, on_oversize=policy))
            outcome = call()
            s = stats(timed(call, 3 if policy == "scan" else 10, warmup=0))
            rows[f"{n}_tokens_{policy}"] = {**s, "x_512": round(s["p50_ms"] / base["p50_ms"], 2),
                                            "outcome": outcome}
    rng = random.Random(1)
    hostile = {"400k_chars_a_space": "a " * 200_000,
               "5000_random_code_points": "".join(chr(rng.randint(32, 0x10FFFF)) for _ in range(5000)),
               "10MB_one_char": "x" * 10_000_000}
    for name, text in hostile.items():
        call = _try(lambda: guard.check_input(text))
        outcome = call()
        s = stats(timed(call, 3, warmup=0))
        row: dict[str, Any] = {**s, "x_512": round(s["p50_ms"] / base["p50_ms"], 2), "outcome": outcome}
        if not quick and name != "10MB_one_char":  # the pre-budget path: minutes for 10 MB
            # what check_input did before the budget: every window scored, batches of 16
            old_call = _try(lambda: old.input._run_direct(old.input._prepare(text)[0]))
            row["before"] = {**stats(timed(old_call, 1, warmup=0)), "outcome": old_call()}
            row["before"]["x_512"] = round(row["before"]["p50_ms"] / base["p50_ms"], 2)
        rows[name] = row
    return {"limit_tokens": limit, "ref_512_tokens": base, "rows": rows,
            "providers": guard.providers["input"]}


# ------------------------------------------------------------------ fairness in process
def fairness(models: Any, quick: bool) -> dict[str, Any]:
    """p50/p95 of 64-token checks alone and while another thread checks a max-size prompt
    back to back: with the scheduler (default) and without (``batching=False``)."""
    import threading

    from guard_plugins.runtime import DEFAULT_MAX_INPUT_TOKENS, Guard

    out: dict[str, Any] = {}
    n = 10 if quick else 40
    for label, kw in (("fair_scheduler", {}), ("no_scheduler", {"batching": False})):
        guard = Guard.load(models, providers="cpu", **kw)
        small = text_of_tokens(guard, 64, seed=7)
        big = text_of_tokens(guard, DEFAULT_MAX_INPUT_TOKENS - 16, seed=8)
        alone = stats(timed(lambda: guard.check_input(small), n, warmup=5))
        stop = threading.Event()
        big_s: list[float] = []

        def hammer() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                guard.check_input(big)
                big_s.append(time.perf_counter() - t0)

        t = threading.Thread(target=hammer)
        t.start()
        time.sleep(0.2)
        loaded = stats(timed(lambda: guard.check_input(small), n, warmup=0))
        stop.set()
        t.join()
        out[label] = {"alone": alone, "with_max_size_check": loaded,
                      "p95_ratio": round(loaded["p95_ms"] / alone["p95_ms"], 2),
                      "max_size_check_s": [round(x, 2) for x in big_s]}
    return out


# ------------------------------------------------------------------ proxy fairness
async def _latencies(http: httpx.AsyncClient, prompt: str, n: int) -> tuple[list[float], list[int]]:
    out, codes = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        r = await http.post("/v1/chat/completions", json={
            "model": "g-benign", "messages": [{"role": "user", "content": prompt}]})
        out.append((time.perf_counter() - t0) * 1000.0)
        codes.append(r.status_code)
    return out, codes


async def _proxy_run(url: str, key: str, small: str, big: str, n: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=httpx.Timeout(300.0, connect=5.0)) as http:
        await _latencies(http, small, 5)  # warm up
        alone, codes_alone = await _latencies(http, small, n)
        stop = asyncio.Event()
        big_ms: list[float] = []

        async def hammer() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                r = await http.post("/v1/chat/completions", json={
                    "model": "g-benign", "messages": [{"role": "user", "content": big}]})
                big_ms.append((time.perf_counter() - t0) * 1000.0)
                assert r.status_code == 200, r.text[:300]

        task = asyncio.create_task(hammer())
        await asyncio.sleep(0.3)  # the first max-size check is under way
        loaded, codes_loaded = await _latencies(http, small, n)
        stop.set()
        await task
    a, b = stats(alone), stats(loaded)
    return {"alone": a, "with_max_size_check": b, "p95_ratio": round(b["p95_ms"] / a["p95_ms"], 2),
            "p50_ratio": round(b["p50_ms"] / a["p50_ms"], 2), "max_size_request": stats(big_ms),
            "errors": sum(c != 200 for c in codes_alone + codes_loaded)}


def proxy(models: Any, quick: bool) -> dict[str, Any]:
    import bench_litellm as BL
    from guard_plugins.runtime import DEFAULT_MAX_INPUT_TOKENS, Guard

    guard = Guard.load(models, providers="cpu")
    small = text_of_tokens(guard, 64, seed=7)
    big = text_of_tokens(guard, DEFAULT_MAX_INPUT_TOKENS - 16, seed=8)
    out: dict[str, Any] = {"small_tokens": 64, "big_tokens": len(guard.input._tok.encode(big))}
    n = 10 if quick else 40
    for label, batching in (("fair_scheduler", True), ("no_scheduler", False)):
        args = BL.parse_args(["--providers", "cpu"] + (["--models", str(models)] if models else []))
        orig = BL.config

        def cfg(a: argparse.Namespace, batching: bool = batching) -> dict[str, Any]:
            c = orig(a)
            c["guardrails"][0]["litellm_params"]["batching"] = batching
            return c

        BL.config = cfg
        try:
            with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
                px = BL.ProxyProcess(args, Path(tmp))
                try:
                    px.wait_alive()
                    out[label] = asyncio.run(_proxy_run(px.url, BL.KEY, small, big, n))
                finally:
                    px.stop()
        finally:
            BL.config = orig
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--skip-proxy", action="store_true")
    args = p.parse_args(argv)
    t0 = time.time()
    result: dict[str, Any] = {"bench": "input_budget", "machine": machine(), "versions": versions(),
                              "cost": cost(args.models, args.quick),
                              "fairness_in_process": fairness(args.models, args.quick)}
    if not args.skip_proxy:
        result["proxy"] = proxy(args.models, args.quick)
    result["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
