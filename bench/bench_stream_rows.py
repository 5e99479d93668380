"""Streaming output guard: what even-row calls cost, and what catching up with ``feed_many`` saves.

In one process, rounds alternated, with the same text (about 420 tokens, so a cache re-prime
is included):

1. **lone stream, 4-character chunks, one ``feed`` per chunk**: the runtime as shipped (calls
   of a block-wise int8 graph padded to an even number of rows) against the same graph with
   the padding off (``pair_rows=False``, the runtime before). Reported: wall and CPU ms per
   token, their ratio, and the largest difference in final score between the two.
2. **catch-up**: the same chunks fed ``k`` at a time with ``feed_many`` (k = 1, 2, 4, 8, 16,
   32), as the async integrations do when a stream's chunks pile up while the guard is busy.
   Reported: ms per token, its ratio to k = 1, and whether every verdict equals chunk-by-chunk
   feeding bit for bit (it must: ``exact`` is false otherwise and the exit status is 1).
3. **why even rows**: the largest per-token value difference between one token per call and
   random groupings, with and without even rows; and one graph call's cost by row count.

    python bench/bench_stream_rows.py --out bench/results_stream_rows.json
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine  # noqa: E402

TEXT = " ".join(f"Paragraph {i}: bread needs flour, water, salt and time to rise properly; "
                f"knead it, rest it and bake it hot." for i in range(24))
PROMPT = "Tell me about bread."


def _chunks() -> list[str]:
    return [TEXT[i:i + 4] for i in range(0, len(TEXT), 4)]


def _run(g, k: int) -> tuple[float, float, int, list[tuple]]:
    """Feed the chunks ``k`` at a time (k = 0: one ``feed`` each). Wall and CPU ms per token,
    tokens, and (score, flagged, tokens) after every chunk."""
    chunks = _chunks()
    t0, c0 = time.perf_counter(), time.process_time()
    s = g.stream(PROMPT)
    seen = []
    if k == 0:
        seen = [s.feed(c) for c in chunks]
    else:
        for i in range(0, len(chunks), k):
            seen += s.feed_many(chunks[i:i + k])
    final = s.finish()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    keys = [(v.score, v.flagged, v.tokens) for v in seen] + [(final.score, final.flagged, final.tokens)]
    return 1000 * wall / final.tokens, 1000 * cpu / final.tokens, final.tokens, keys


def _values(g, ids: list[int], groups: list[int]) -> list[float]:
    """Per-token values of ``ids`` pushed through the cache in calls of ``groups`` tokens."""
    out: list[float] = []
    cache, pos = None, 0
    for n in groups:
        logits, cache = g.run(ids[pos:pos + n], pos, cache)
        out += [float(x) for x in logits]
        pos += n
    return out


def _groupings(n: int, seed: int) -> list[int]:
    rng, out = random.Random(seed), []
    while sum(out) < n:
        out.append(min(n - sum(out), rng.choice([1, 1, 2, 3, 4, 5, 8])))
    return out


def chunking_effect(g, rounds: int) -> float:
    """Largest per-token value difference (logits) between one token per call and random
    groupings of the same tokens (the first 250 tokens of the text, after the prompt)."""
    ids = g._tok.encode(TEXT)[:250]
    one = _values(g, ids, [1] * len(ids))
    return max(abs(a - b) for seed in range(rounds) for a, b in zip(one, _values(g, ids, _groupings(len(ids), seed))))


def call_ms(g, rows: int, repeat: int = 30) -> float:
    """Median wall time of one graph call of ``rows`` tokens at position 64."""
    ids = g._tok.encode(TEXT)[:64 + rows]
    _, cache = g.run(ids[:64], 0, None)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        g.run(ids[64:64 + rows], 64, cache)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=None, help="exported models folder (default: embedded)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--intra-op-threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    from guard_plugins.runtime import OutputGuard, default_models_dir

    folder = (args.models or default_models_dir()) / "output"
    paired = OutputGuard.load(folder, "cpu", intra_op_threads=args.intra_op_threads)
    unpaired = OutputGuard.load(folder, "cpu", intra_op_threads=args.intra_op_threads)
    unpaired.pair_rows = False  # the runtime before even-row calls
    ks = [1, 2, 4, 8, 16, 32]
    lone: dict[str, list[tuple[float, float]]] = {"even_rows": [], "odd_rows_allowed": []}
    catch: dict[int, list[float]] = {k: [] for k in ks}
    finals: dict[str, float] = {}
    exact = True
    tokens = 0
    reference = None
    for r in range(args.rounds):
        for name, g in (("even_rows", paired), ("odd_rows_allowed", unpaired)):
            w, c, tokens, keys = _run(g, 0)
            lone[name].append((w, c))
            finals[name] = keys[-1][0]
            if name == "even_rows":
                reference = keys
        for k in ks:
            w, _, _, keys = _run(paired, k)
            catch[k].append(w)
            exact &= keys == reference
    med = lambda xs: round(statistics.median(xs), 4)  # noqa: E731
    base = med(catch[1])
    res = {
        "bench": "stream_rows",
        "response_tokens": tokens,
        "chunks": len(_chunks()),
        "rounds": args.rounds,
        "intra_op_threads": args.intra_op_threads,
        "machine": machine(),
        "lone_stream": {name: {"wall_ms_per_token_median": med([w for w, _ in v]),
                               "cpu_ms_per_token_median": med([c for _, c in v])} for name, v in lone.items()},
        "catch_up_feed_many": {str(k): {"wall_ms_per_token_median": med(v),
                                        "ratio_to_k1": round(med(v) / base, 3)} for k, v in catch.items()},
        "exact": exact,
        "final_score": finals,
        # per-token values (logits): largest difference from one token per call under random
        # groupings; 0 with even rows, what odd rows did before
        "chunking_effect_max_logit_diff": {"even_rows": chunking_effect(paired, args.rounds),
                                           "odd_rows_allowed": chunking_effect(unpaired, args.rounds)},
        # one graph call of n tokens (odd rows allowed: what the kernel costs per row count;
        # with even rows a 1-token call costs what a 2-token call does)
        "graph_call_ms_median": {str(n): round(call_ms(unpaired, n), 3) for n in (1, 2, 4, 8)},
    }
    e, o = res["lone_stream"]["even_rows"], res["lone_stream"]["odd_rows_allowed"]
    res["lone_stream"]["even_vs_odd_wall"] = round(e["wall_ms_per_token_median"] / o["wall_ms_per_token_median"], 3)
    res["lone_stream"]["final_score_difference"] = abs(finals["even_rows"] - finals["odd_rows_allowed"])
    emit(res, args.out)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
