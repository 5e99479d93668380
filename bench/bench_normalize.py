"""Streaming output guard: what the normaliser and an open decoder stream cost per token.

In one process, rounds alternated, each text streamed in 4-character chunks (one ``feed`` per
chunk, as an LLM's deltas arrive), the same text through two output guards on the same model:

* ``off``: ``normalize_outputs=False, decode_outputs=False`` (the runtime before issue 25);
* ``on``: the defaults (streaming normaliser in front of the tokenizer, decoders watching).

Texts: ``plain`` (an ordinary answer of about 670 tokens: the normaliser runs, no decoder
opens), and the same answer as ``rot13`` and ``base64`` (one decoder stream open for almost all
of it, scoring the decoded text next to the encoded one). Per text and guard: wall and CPU
milliseconds per token the stream scored (``tokens`` of the final verdict, the same for both
guards) and per chunk, medians over rounds. Ratios:

* ``ratio_on_off``: ``on / off`` for the same text (what the normaliser and the decoder add
  to a stream of that text);
* ``ratio_per_token_vs_off_plain`` / ``ratio_per_chunk_vs_off_plain``: ``on`` on this text
  against ``off`` on the plain answer (today's cost of a token, of a chunk). For base64 the
  per-token one means little: the encoded line is one over-long word, a few ``[UNK]`` tokens
  to the model, so per chunk is the fair unit there.

Also the decoders that opened, and whether ``on``'s final verdict equals its ``check`` (it
must: ``exact`` false gives exit 1).

    python bench/bench_normalize.py --out bench/results_normalize.json
"""

from __future__ import annotations

import argparse
import base64
import codecs
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine  # noqa: E402

PLAIN = " ".join(f"Paragraph {i}: bread needs flour, water, salt and time to rise properly; "
                 f"knead it, rest it and bake it hot." for i in range(24))
PROMPT = "Tell me about bread."
TEXTS = {
    "plain": PLAIN,
    "rot13": codecs.encode(PLAIN, "rot13"),
    "base64": base64.b64encode(PLAIN.encode("utf-8")).decode("ascii"),
}


def _run(g, text: str) -> tuple[float, float, object]:  # noqa: ANN001
    chunks = [text[i:i + 4] for i in range(0, len(text), 4)]
    w0, c0 = time.perf_counter(), time.process_time()
    s = g.stream(PROMPT)
    for c in chunks:
        s.feed(c)
    v = s.finish()
    return (time.perf_counter() - w0) * 1000.0, (time.process_time() - c0) * 1000.0, v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=None, help="exported models folder (default: embedded)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--texts", nargs="+", default=list(TEXTS), choices=list(TEXTS))
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    from guard_plugins.runtime import OutputGuard, default_models_dir

    folder = (args.models or default_models_dir()) / "output"
    guards = {"off": OutputGuard.load(folder, "cpu", normalize_outputs=False, decode_outputs=False),
              "on": OutputGuard.load(folder, "cpu")}
    for g in guards.values():  # warm up (first calls allocate)
        _run(g, PLAIN[:400])
    # per text and guard: (wall ms, cpu ms) totals per round
    times: dict[str, dict[str, list[tuple[float, float]]]] = {t: {k: [] for k in guards} for t in args.texts}
    finals: dict[str, dict[str, object]] = {t: {} for t in args.texts}
    for _ in range(args.rounds):
        for t in args.texts:
            for k, g in guards.items():
                w, c, v = _run(g, TEXTS[t])
                times[t][k].append((w, c))
                finals[t][k] = v
    med = lambda xs: statistics.median(xs)  # noqa: E731
    exact = True
    rows = {}
    for t in args.texts:
        on = finals[t]["on"]
        whole = guards["on"].check(PROMPT, TEXTS[t])
        same = (on.score, on.flagged, on.tokens) == (whole.score, whole.flagged, whole.tokens)
        exact &= same
        n_tok, n_chunks = max(1, on.tokens), len(range(0, len(TEXTS[t]), 4))
        row = {"tokens": on.tokens, "chunks": n_chunks,
               "decoders_opened": [n.split("-decoded")[0] for n in on.notes if "-decoded text scored" in n],
               "final_equals_check": same}
        for k, v in times[t].items():
            w, c = med([x for x, _ in v]), med([y for _, y in v])
            row[k] = {"wall_ms_per_token": round(w / n_tok, 4), "cpu_ms_per_token": round(c / n_tok, 4),
                      "wall_ms_per_chunk": round(w / n_chunks, 4), "cpu_ms_per_chunk": round(c / n_chunks, 4)}
        row["ratio_on_off"] = {u: round(row["on"][f"{u}_ms_per_token"] / row["off"][f"{u}_ms_per_token"], 3)
                               for u in ("wall", "cpu")}
        rows[t] = row
    base = rows.get("plain")
    if base is not None:
        for t, row in rows.items():
            row["ratio_per_token_vs_off_plain"] = {
                u: round(row["on"][f"{u}_ms_per_token"] / base["off"][f"{u}_ms_per_token"], 3) for u in ("wall", "cpu")}
            row["ratio_per_chunk_vs_off_plain"] = {
                u: round(row["on"][f"{u}_ms_per_chunk"] / base["off"][f"{u}_ms_per_chunk"], 3) for u in ("wall", "cpu")}
    res = {"bench": "normalize", "chunk_chars": 4, "rounds": args.rounds, "machine": machine(),
           "texts": rows, "exact": exact,
           "goals": {"plain_ratio_max": 1.2, "one_decoder_ratio_max": 2.2}}
    emit(res, args.out)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
