"""One stream alone: feed latency and CPU per streamed token, the output session's default
(1 intra-op thread) against onnxruntime's own pool (``intra_op_threads=2`` on this 2-core
machine: a worker that spins between calls), in one process, rounds alternated.

Two pacings of the same 4-character chunks:

* ``back_to_back``: every chunk fed as soon as the last one is scored (a replay, a benchmark);
* ``paced_20ms``: a chunk every 20 ms, as an LLM streams at ~50 tokens/s. There the pool's
  worker spins through the gaps: CPU per token is the number to read.

``feed_ms_per_token`` counts the time inside ``feed`` only (the pauses excluded);
``cpu_ms_per_token`` is the process's CPU time over the whole stream, pauses included, so it
holds what spinning threads burn.

    python bench/bench_stream_threads.py --out bench/results_stream_threads.json
"""

from __future__ import annotations

import argparse
import sys
import statistics
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine  # noqa: E402

TEXT = " ".join(f"Paragraph {i}: bread needs flour, water, salt and time to rise properly." for i in range(8))
PACINGS = {"back_to_back": 0.0, "paced_20ms": 0.02}


def _one(g, pause: float) -> tuple[float, float]:
    warm = g.stream("Tell me about bread.")
    warm.feed(TEXT[:200])
    warm.close()
    inside = 0.0
    c0 = time.process_time()
    s = g.stream("Tell me about bread.")
    for i in range(0, len(TEXT), 4):
        t = time.perf_counter()
        s.feed(TEXT[i:i + 4])
        inside += time.perf_counter() - t
        if pause:
            time.sleep(pause)
    tokens = s.finish().tokens
    return 1000 * inside / tokens, 1000 * (time.process_time() - c0) / tokens


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    from guard_plugins.runtime import OutputGuard, default_models_dir
    from guard_plugins.runtime.output_guard import DEFAULT_INTRA_OP_THREADS

    folder = (args.models or default_models_dir()) / "output"
    guards = {"default": OutputGuard.load(folder, "cpu"),
              "onnxruntime_pool_2_threads": OutputGuard.load(folder, "cpu", intra_op_threads=2)}
    per = {pace: {k: [] for k in guards} for pace in PACINGS}
    for _ in range(args.rounds):
        for pace, pause in PACINGS.items():
            for name, g in guards.items():
                per[pace][name].append(_one(g, pause))
    med = lambda xs: round(statistics.median(xs), 3)  # noqa: E731
    res = {"bench": "stream_threads", "default_intra_op_threads": DEFAULT_INTRA_OP_THREADS,
           "rounds": args.rounds,
           "machine": machine(),
           "pacings": {pace: {name: {"feed_ms_per_token_median": med([f for f, _ in v]),
                                     "cpu_ms_per_token_median": med([c for _, c in v])}
                              for name, v in rows.items()} for pace, rows in per.items()}}
    for pace, rows in res["pacings"].items():
        d, t = rows["default"], rows["onnxruntime_pool_2_threads"]
        rows["pool_vs_default_feed"] = round(t["feed_ms_per_token_median"] / d["feed_ms_per_token_median"], 2)
        rows["pool_vs_default_cpu"] = round(t["cpu_ms_per_token_median"] / d["cpu_ms_per_token_median"], 2)
    emit(res, args.out)


if __name__ == "__main__":
    main()
