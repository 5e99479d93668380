"""Concurrent streams in one process: shared calls (``runtime.batcher``, the default) against
every stream on its own calls (``batch_streams=False``, the runtime before), same process,
phases alternated round by round.

Each stream is a thread that feeds a ~200-token response in 4-character chunks, one chunk
every ``--delay-ms`` (as an LLM streams; 0: back to back). Per level and mode:

* ``cpu_ms_per_token``: the process's CPU time over the phase per scored token (what the guard
  costs the machine; pauses included);
* ``feed_ms``: wall time inside ``feed`` per chunk (what a client waits for, added to the
  LLM's own pace), p50 / p95 over all chunks;
* ``wall_ratio``: the phase's wall time against the paced ideal (chunks x delay);
* ``rss_mb_peak``: the process's peak resident memory during the phase (sampled every 20 ms;
  it includes what earlier phases keep, such as the shared calls' KV pool, which keeps its
  peak size: not a comparison between the modes);
* ``batcher``: rows per decode call and calls per token (shared calls only);
* ``verdicts``: final flags that differ between the two modes, and the largest final-score
  difference in logits (the one-token attention path rounds differently, see
  ``runtime/batcher.py``).

    python bench/bench_stream_batch.py --out bench/results_stream_batch.json
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine, stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ["bread", "rivers", "compilers", "tides", "bees", "glass", "trains", "clouds"]


def _text(i: int) -> str:
    t = TOPICS[i % len(TOPICS)]
    return " ".join(f"Note {k} on {t}: the {t} example {i} shows how small steps add up over time, "
                    f"and why patience matters." for k in range(8))


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _phase(og, n: int, delay: float, chunk: int) -> dict:
    texts = [_text(i) for i in range(n)]
    feed_ms: list[list[float]] = [[] for _ in range(n)]
    finals: list = [None] * n
    errors: list = []
    start = threading.Barrier(n + 1)

    def work(i: int) -> None:
        try:
            s = og.stream(f"Tell me about {TOPICS[i % len(TOPICS)]}.")
            start.wait()
            text = texts[i]
            nxt = time.perf_counter()
            for k in range(0, len(text), chunk):
                t0 = time.perf_counter()
                s.feed(text[k:k + chunk])
                feed_ms[i].append((time.perf_counter() - t0) * 1000.0)
                if delay:
                    nxt += delay
                    pause = nxt - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
            finals[i] = s.finish()
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))
            try:
                start.abort()
            except threading.BrokenBarrierError:
                pass

    peak = [_rss_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    before = dict(og.batcher.stats) if og.batcher else None
    start.wait()
    c0, w0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0
    stop.set()
    sampler.join()
    tokens = sum(f.tokens for f in finals if f is not None)
    chunks = max(len(f) for f in feed_ms)
    all_ms = [x for f in feed_ms for x in f]
    out = {"streams": n, "tokens": tokens, "errors": len(errors), "wall_s": round(wall, 3),
           "cpu_ms_per_token": round(cpu * 1000.0 / max(tokens, 1), 4),
           "feed_ms": stats(all_ms), "rss_mb_peak": round(peak[0], 1)}
    if delay:
        out["wall_ratio"] = round(wall / (chunks * delay), 3)
    if og.batcher is not None:
        after = og.batcher.stats
        calls = after["calls"] - before["calls"]
        out["batcher"] = {"rows_per_call": round((after["rows"] - before["rows"]) / max(calls, 1), 2),
                          "calls_per_token": round(calls / max(tokens, 1), 3),
                          "pool_rows": after["pool_rows"]}
    if errors:
        out["first_error"] = errors[0]
    return out, finals


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=str(ROOT / "exported_models"))
    ap.add_argument("--providers", default=None, help="onnxruntime providers: cpu | cuda (default: auto)")
    ap.add_argument("--streams", default="1,10,50,200")
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--chunk-chars", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-rows", type=int, default=32, help="most rows per shared call")
    ap.add_argument("--workers", type=int, default=None, help="shared calls at once (default: per core)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    from guard_plugins.runtime.output_guard import OutputGuard

    levels = [int(x) for x in a.streams.split(",")]
    cap = max(levels)
    guards = {"shared_calls": OutputGuard.load(Path(a.models) / "output", a.providers, max_streams=cap,
                                               batch_streams=True, batch_rows=a.batch_rows,
                                               batch_workers=a.workers),
              "own_calls": OutputGuard.load(Path(a.models) / "output", a.providers, max_streams=cap,
                                            batch_streams=False)}
    assert guards["shared_calls"].batcher is not None, "this model cannot batch (tools/relax_batch_dim.py)"
    for g in guards.values():  # warm-up
        s = g.stream("warm")
        s.feed(_text(0)[:200])
        s.finish()
    delay = a.delay_ms / 1000.0
    result: dict = {"machine": machine(), "delay_ms": a.delay_ms, "chunk_chars": a.chunk_chars,
                    "batch_rows": a.batch_rows, "workers": guards["shared_calls"].batcher.workers,
                    "providers": guards["shared_calls"].providers,
                    "rounds": a.rounds, "levels": []}
    for n in levels:
        runs: dict[str, list] = {m: [] for m in guards}
        finals: dict[str, list] = {}
        for r in range(a.rounds):
            order = list(guards) if r % 2 == 0 else list(reversed(guards))
            for m in order:
                res, fin = _phase(guards[m], n, delay, a.chunk_chars)
                runs[m].append(res)
                finals[m] = fin
                print(f"{n} streams, {m}: {res['cpu_ms_per_token']} ms CPU/token, feed p50 "
                      f"{res['feed_ms']['p50_ms']} ms, wall ratio {res.get('wall_ratio')}", file=sys.stderr)
        level: dict = {"streams": n}
        for m, rs in runs.items():
            level[m] = {"rounds": rs,
                        "cpu_ms_per_token_median": round(statistics.median(x["cpu_ms_per_token"] for x in rs), 4),
                        "feed_ms_p50_median": round(statistics.median(x["feed_ms"]["p50_ms"] for x in rs), 4),
                        "feed_ms_p95_median": round(statistics.median(x["feed_ms"]["p95_ms"] for x in rs), 4)}
            if delay:
                level[m]["wall_ratio_median"] = round(statistics.median(x["wall_ratio"] for x in rs), 3)
        level["cpu_ratio_shared_vs_own"] = round(level["shared_calls"]["cpu_ms_per_token_median"]
                                                 / level["own_calls"]["cpu_ms_per_token_median"], 3)
        pairs = [(x, y) for x, y in zip(finals["shared_calls"], finals["own_calls"]) if x and y]
        level["verdicts"] = {"flag_diffs": sum(x.flagged != y.flagged for x, y in pairs),
                             "flagged": sum(x.flagged for x, _ in pairs),
                             "max_logit_diff": round(max(abs(_logit(x.score) - _logit(y.score))
                                                         for x, y in pairs), 5)}
        result["levels"].append(level)
    emit(result, a.out)


if __name__ == "__main__":
    main()
