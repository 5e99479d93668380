"""CPU that onnxruntime's thread pool burns between calls, for both guards' sessions.

onnxruntime's intra-op pool keeps its workers spinning for a while after each call, waiting for
more work. For a guard that is called now and then (an input check per request, a streamed
token every 20 ms) that spinning is CPU taken from the application, so the runtime turns it
off. Measured in one process, for both sessions as loaded by default (output: 1 thread; input:
onnxruntime's thread count, no spinning), with ``intra_op_threads=1``, and with onnxruntime's
spinning left on (``runtime.session.ALLOW_SPINNING``, the behaviour before):

* ``idle_cpu_ms``: process CPU time during a sleep of ``gap`` ms right after one call (5, 20,
  100, 500 ms; median of ``--rounds``): what the pool burns when nothing is asked of it;
* ``input_paced``: ``check_input`` on a 16-word and a 64-word prompt, one check every 50 ms:
  p50 latency and CPU per check, sleep included.

    python bench/bench_idle_spin.py --out bench/results_idle_spin.json
"""

from __future__ import annotations

import argparse
import sys
import statistics
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine  # noqa: E402

GAPS_MS = (5, 20, 100, 500)
WORDS = "please explain how the water cycle works and why clouds form over the ocean in summer ".split()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    from guard_plugins.runtime import Guard, session

    guards = {"default": Guard.load(args.models, providers="cpu"),
              "intra_op_threads_1": Guard.load(args.models, providers="cpu", intra_op_threads=1)}
    session.ALLOW_SPINNING = True  # onnxruntime's default behaviour (the runtime's before this change)
    guards["onnxruntime_spinning"] = Guard.load(args.models, providers="cpu", intra_op_threads=0)
    session.ALLOW_SPINNING = False
    res: dict = {"bench": "idle_spin", "rounds": args.rounds,
                 "machine": machine(),
                 "threads": {name: {"input": g.input._session.get_session_options().intra_op_num_threads,
                                    "output": g.output._session.get_session_options().intra_op_num_threads}
                             for name, g in guards.items()},
                 "idle_cpu_ms": {}, "input_paced": {}}
    for name, g in guards.items():
        rows: dict = {}
        for which in ("input", "output"):
            for gap in GAPS_MS:
                burnt = []
                for _ in range(args.rounds):
                    if which == "input":
                        g.check_input("hello, how are you today?")
                    else:
                        s = g.stream("q")
                        s.feed("hello there my friend ")
                        s.close()
                    c0 = time.process_time()
                    time.sleep(gap / 1000)
                    burnt.append(1000 * (time.process_time() - c0))
                rows[f"after_{which}_call_gap_{gap}ms"] = round(statistics.median(burnt), 1)
        res["idle_cpu_ms"][name] = rows
        paced: dict = {}
        for n in (16, 64):
            text = " ".join((WORDS * 8)[:n])
            g.check_input(text)
            lat = []
            c0 = time.process_time()
            for _ in range(10 * args.rounds):
                t = time.perf_counter()
                g.check_input(text)
                lat.append(time.perf_counter() - t)
                time.sleep(0.05)
            paced[f"{n}_words"] = {"p50_ms": round(1000 * statistics.median(lat), 2),
                                   "cpu_ms_per_check": round(1000 * (time.process_time() - c0) / len(lat), 2)}
        res["input_paced"][name] = paced
    emit(res, args.out)


if __name__ == "__main__":
    main()
