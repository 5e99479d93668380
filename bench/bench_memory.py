"""Peak RSS of a fresh process that imports only the runtime and loads both models."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

CHILD = textwrap.dedent("""
    import json, resource, sys
    def rss_mb():
        # VmHWM (peak RSS of this program image): ru_maxrss would include the parent's peak
        # when the parent was bigger (it survives fork + exec on Linux)
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    base = rss_mb()
    from guard_plugins.runtime import Guard
    imported = rss_mb()
    g = Guard.load(sys.argv[1], providers=sys.argv[2])
    loaded = rss_mb()
    g.check_input("hello " * 300)
    s = g.stream("hi"); s.feed(" go" * 600); s.finish()
    used = rss_mb()
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers", "optimum"))
    print(json.dumps({"python_mb": base, "after_import_mb": imported, "after_load_mb": loaded,
                      "after_use_mb": used, "heavy_modules_imported": heavy,
                      "providers": g.providers}))
""")


def run(models: Path, provider: str) -> dict[str, Any]:
    """Peak RSS (MB) at each stage and model file sizes (bytes)."""
    r = subprocess.run([sys.executable, "-c", CHILD, str(models), provider],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"memory child failed: {r.stderr[-2000:]}")
    out: dict[str, Any] = {"peak_rss": {k: (round(v, 1) if isinstance(v, float) else v)
                                        for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}}
    sizes = {}
    for kind in ("input", "output"):
        m = models / kind / "manifest.json"
        if m.is_file():
            man = json.loads(m.read_text())
            sizes[kind] = {"model_onnx_bytes": man["files"]["model.onnx"]["bytes"],
                           "folder_bytes": sum(f["bytes"] for f in man["files"].values()),
                           "quantization": man["onnx"].get("quantization")}
    out["model_sizes"] = sizes
    return out


STREAMS_CHILD = textwrap.dedent("""
    import json, sys
    def rss_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    from guard_plugins.runtime import Guard
    import guard_plugins.runtime.output_guard as og
    og.INITIAL_CAPACITY = int(sys.argv[3])
    g = Guard.load(sys.argv[1], providers="cpu", max_streams=None)  # all held open at once: no cap
    n, words = int(sys.argv[2]), int(sys.argv[4])
    text = " ".join(f"word{i % 50}" for i in range(words))
    warm = g.stream("hi"); warm.feed(text); warm.finish()
    before = rss_mb()
    streams = [g.stream("Tell me about bread.") for _ in range(n)]
    for k in range(0, len(text), 4):   # all streams open at once, fed in 4-character chunks
        for s in streams:
            s.feed(text[k:k + 4])
    held = rss_mb()
    tokens = streams[0].tokens
    print(json.dumps({"streams": n, "response_tokens": tokens, "initial_capacity": og.INITIAL_CAPACITY,
                      "rss_before_mb": round(before, 1), "rss_with_streams_mb": round(held, 1),
                      "mb_per_stream": round((held - before) / n, 2)}))
""")


CONCURRENT_CHILD = textwrap.dedent("""
    import asyncio, json, sys, time
    def status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    from guard_plugins.runtime import Guard
    cap = None if sys.argv[3] == "none" else int(sys.argv[3])
    g = Guard.load(sys.argv[1], providers="cpu", max_streams=cap, stream_wait_s=600)
    n, words = int(sys.argv[2]), int(sys.argv[4])
    text = " ".join(f"word{i % 50}" for i in range(words))
    alone = g.stream("Tell me about bread."); alone.feed(text); ref = alone.finish().score
    before = status("VmRSS")
    peak = [before]

    async def one(i):
        s = await g.astream("Tell me about bread.")
        for k in range(0, len(text), 4):     # an LLM's pace: a chunk every ~2 ms
            await asyncio.sleep(0.002)
            s.feed(text[k:k + 4])
        return s.finish().score

    async def sample():
        while True:
            peak[0] = max(peak[0], status("VmRSS"))
            await asyncio.sleep(0.02)

    async def main():
        t = asyncio.create_task(sample())
        t0 = time.perf_counter()
        scores = await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
        t.cancel()
        return scores, wall

    scores, wall = asyncio.run(main())
    print(json.dumps({"streams": n, "max_streams": cap, "response_tokens": alone.tokens,
                      "rss_before_mb": round(before, 1), "rss_peak_mb": round(peak[0], 1),
                      "added_mb": round(peak[0] - before, 1), "wall_s": round(wall, 2),
                      "waited": g.output.slots.waited, "peak_open_streams": g.output.slots.peak,
                      "score_differences_vs_alone": sum(1 for x in scores if x != ref)}))
""")


def concurrent(models: Path, levels: tuple[int, ...] = (50, 200), caps: tuple[str, ...] = ("64", "none"),
               words: int = 60) -> list[dict[str, Any]]:
    """Peak RSS of a fresh process serving N concurrent streams that arrive together (asyncio
    tasks, a 4-character chunk every ~2 ms each), with the default ``max_streams`` cap (64;
    the rest wait for a slot) and without a cap; scores compared with the same text alone."""
    out = []
    for n in levels:
        for cap in caps:
            r = subprocess.run([sys.executable, "-c", CONCURRENT_CHILD, str(models), str(n), cap, str(words)],
                               capture_output=True, text=True, timeout=1200)
            if r.returncode != 0:
                raise RuntimeError(f"concurrent child failed: {r.stderr[-2000:]}")
            out.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return out


def streams(models: Path, levels: tuple[int, ...] = (50, 200), words: int = 60) -> list[dict[str, Any]]:
    """RSS of a fresh process holding N concurrent streams (each ~``words`` x 2 tokens), with
    the growing KV cache (starts at 128 positions) and with the old fixed 512-position one."""
    out = []
    for n in levels:
        for cap in (128, 512):
            r = subprocess.run([sys.executable, "-c", STREAMS_CHILD, str(models), str(n), str(cap), str(words)],
                               capture_output=True, text=True, timeout=1200)
            if r.returncode != 0:
                raise RuntimeError(f"streams child failed: {r.stderr[-2000:]}")
            out.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return out


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="RSS of N concurrent output streams (fresh processes): "
                                            "all held open at once, and arriving together under the "
                                            "max_streams cap")
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    from guard_plugins.runtime import default_models_dir

    models = args.models or default_models_dir()
    res = {"bench": "stream_memory", "streams": streams(models), "concurrent_capped": concurrent(models)}
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
