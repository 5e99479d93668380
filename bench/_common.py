"""Shared helpers of the benchmarks: timing statistics, machine and version info."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> list[float]:
    """Wall times of ``repeat`` calls of ``fn`` in milliseconds (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def timed_phases(fns: dict[str, Callable[[], Any]], repeat: int, warmup: int = 2,
                 every: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Time each function ``repeat`` times in its own phase, one after the other;
    ``every[name] = k`` times ``name`` only every k-th call (slow baselines). Alternating
    runtimes call by call, as an earlier version did, measured with several intra-op threads
    the hand-over between onnxruntime's and torch's spinning thread pools (each stealing the
    other's cores: feed p95 5 ms instead of 1 ms), not the models. Returns milliseconds per
    function."""
    every = every or {}
    out: dict[str, list[float]] = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        out[name] = []
        for i in range(0, repeat, every.get(name, 1)):
            t0 = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t0) * 1000.0)
    return out


def stats(ms: list[float]) -> dict[str, float]:
    """p50 / p95 / mean / min of a list of milliseconds."""
    s = sorted(ms)
    p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
    return {"p50_ms": round(statistics.median(s), 4), "p95_ms": round(p95, 4),
            "mean_ms": round(statistics.fmean(s), 4), "min_ms": round(s[0], 4), "n": len(s)}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Cores, CPU model, OS, Python, load average and GPU presence."""
    info: dict[str, Any] = {"cpu_model": cpu_model(), "logical_cores": os.cpu_count(),
                            "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                            "platform": platform.platform(), "python": platform.python_version()}
    try:
        info["load_average_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    try:
        import subprocess

        r = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode == 0:
            info["gpus"] = [x.strip() for x in r.stdout.splitlines() if x.strip()]
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def versions() -> dict[str, str | None]:
    """Versions of the libraries that matter for the numbers."""
    out: dict[str, str | None] = {}
    for mod in ("onnxruntime", "numpy", "tokenizers", "torch", "transformers"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except ImportError:
            out[mod] = None
    try:
        import guard_plugins

        out["guard_plugins"] = guard_plugins.__version__
    except ImportError:
        out["guard_plugins"] = None
    return out


def emit(result: dict[str, Any], out: Any = None) -> None:
    """Print a benchmark's JSON result, and write it to ``out`` (a path) when given."""
    import json

    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")
