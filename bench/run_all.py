"""Run every runtime benchmark in one process on one machine and write JSON.

    python bench/run_all.py --out bench/results.json [--models exported_models]
        [--checkpoints checkpoints] [--provider cpu|cuda] [--quick]

``--checkpoints`` (a folder with ``input/`` and ``output/`` guard-train checkpoints) enables
the torch eager comparisons with the same weights; without torch installed or checkpoints
they are skipped and say so. Memory is measured in a fresh subprocess importing only the
runtime. Records the providers that actually ran, the machine and library versions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_input  # noqa: E402
import bench_memory  # noqa: E402
import bench_stream  # noqa: E402
from _common import machine, versions  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    p.add_argument("--models", type=Path, default=None,
                   help="folder with input/ and output/ exported models (default: embedded)")
    p.add_argument("--checkpoints", type=Path, default=None,
                   help="folder with input/ and output/ checkpoints for the torch eager baselines")
    p.add_argument("--provider", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=None,
                   help="intra-op threads for onnxruntime and torch (default: all cores)")
    p.add_argument("--quick", action="store_true", help="tiny settings (smoke test)")
    p.add_argument("--skip-torch", action="store_true", help="no torch eager baselines")
    args = p.parse_args(argv)

    from guard_plugins.runtime import Guard, default_models_dir

    models = args.models or default_models_dir()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = args.threads or cores
    guard = Guard.load(models, providers=args.provider, intra_op_threads=args.threads)
    if args.provider == "cuda" and "CUDAExecutionProvider" not in guard.providers["input"]:
        print("warning: CUDA requested but not available; running on", guard.providers, file=sys.stderr)
    ck = None if args.skip_torch else args.checkpoints
    if ck is not None:
        try:
            import torch  # noqa: F401
        except ImportError:
            ck = None
    q = args.quick
    t0 = time.time()
    results = {
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(), "versions": versions(),
        "requested_provider": args.provider, "providers": guard.providers, "threads": threads,
        "models": {k: {"folder": str(models / k),
                       "name": getattr(guard, k).manifest.get("name"),
                       "quantization": getattr(guard, k).manifest["onnx"].get("quantization")}
                   for k in ("input", "output") if getattr(guard, k)},
        "torch_baselines": ck is not None,
    }
    print("input ...", file=sys.stderr, flush=True)
    results["input"] = bench_input.run(
        guard, ck / "input" if ck else None, [16, 64] if q else [16, 64, 512, 4000],
        repeat=5 if q else 100, batch=8 if q else 64, threads=threads)
    print("streaming ...", file=sys.stderr, flush=True)
    results["streaming"] = bench_stream.run(
        guard, ck / "output" if ck else None, [16, 64] if q else [64, 256, 512, 1000],
        steps=8 if q else 64, repeat=1 if q else 5, threads=threads)
    print("memory ...", file=sys.stderr, flush=True)
    results["memory"] = bench_memory.run(models, args.provider)
    results["seconds"] = round(time.time() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({"out": str(args.out), "seconds": results["seconds"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
