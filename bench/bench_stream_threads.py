"""One stream alone: wall and CPU time per streamed token, onnxruntime's default intra-op
threads against ``intra_op_threads=1``, in one process (rounds alternated).

What it is for: under many concurrent streams (``bench_litellm.py --intra-op-threads 1``) one
thread per call halves the guard's CPU per token; this measures what it costs a lone stream.

    python bench/bench_stream_threads.py --out bench/results_stream_threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

TEXT = " ".join(f"Paragraph {i}: bread needs flour, water, salt and time to rise properly." for i in range(40))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    from guard_plugins.runtime import OutputGuard, default_models_dir

    folder = (args.models or default_models_dir()) / "output"
    guards = {"default": OutputGuard.load(folder, "cpu"), "intra_op_threads_1": OutputGuard.load(folder, "cpu", intra_op_threads=1)}
    per: dict[str, list[tuple[float, float]]] = {k: [] for k in guards}
    tokens = 0
    for _ in range(args.rounds):
        for name, g in guards.items():
            warm = g.stream("Tell me about bread.")
            warm.feed(TEXT[:200])
            warm.close()
            t0, c0 = time.perf_counter(), time.process_time()
            s = g.stream("Tell me about bread.")
            for i in range(0, len(TEXT), 4):  # 4-character chunks, as an LLM streams
                s.feed(TEXT[i:i + 4])
            tokens = s.finish().tokens
            per[name].append((1000 * (time.perf_counter() - t0) / tokens, 1000 * (time.process_time() - c0) / tokens))
    res = {"bench": "stream_threads", "response_tokens": tokens, "rounds": args.rounds,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "configs": {name: {"wall_ms_per_token_median": round(statistics.median(w for w, _ in v), 3),
                              "cpu_ms_per_token_median": round(statistics.median(c for _, c in v), 3),
                              "wall_ms_per_token": [round(w, 3) for w, _ in v]} for name, v in per.items()}}
    d, t = res["configs"]["default"], res["configs"]["intra_op_threads_1"]
    res["one_thread_vs_default_wall"] = round(t["wall_ms_per_token_median"] / d["wall_ms_per_token_median"], 2)
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
