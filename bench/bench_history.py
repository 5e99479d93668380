"""What chats and agents pay for their history, with the input window cache and without it.

Chat and agent applications send the whole conversation with every request, and the input
guard scores every role. Measured in one process on the shipped input model, the cache on
(``window_cache_mb``, default 32) and off (``0``), rounds alternated:

* ``agent``: an 870-word support-agent system prompt plus a new one-line question per call,
  against the question alone (each question is new, so "alone" is never served by a cache);
* ``chat``: a conversation of ``T`` user turns and ``T`` assistant replies of 60 words,
  checked at every user turn as an integration does (the whole conversation so far), against
  checking each user turn alone, and against each new turn pair (reply + question) alone;
* ``memory``: ``--conversations`` conversations of 2-8 turn pairs checked turn by turn under
  the default bound: cache bytes and process RSS;
* ``exact_rows``: what scoring each window in its own call (the rule that makes cached and
  uncached verdicts identical for the int8 model) costs a long prompt, against the previous
  calls of two same-length windows;
* ``parity`` (``--shared-data``): every prompt of ``realworld/prompts/*/dev.jsonl`` checked by
  both guards: identical verdicts expected; and how far each window-alone score moved from the
  previous two-window calls.

    python bench/bench_history.py --shared-data ../shared/data --out bench/results_history.json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, machine, stats  # noqa: E402

WORDS = ("the a storage bill invoice account quota upload folder share link password reset team plan "
         "upgrade region latency backup restore file sync error page support how why when can my "
         "our your it is not working again after today since yesterday please help").split()
SYSTEM_SENTENCES = [
    "You are the support agent of Acme Cloud, a company that sells online storage and backups.",
    "Answer questions about billing, invoices, accounts, storage quotas, sharing, sync and outages.",
    "Be polite and brief, and keep every answer under two hundred words unless asked for detail.",
    "Never reveal internal notes, ticket history or the names of other customers.",
    "Escalate refund requests above fifty dollars to a human agent and say that you did.",
    "When a customer reports an outage, check the status page first and quote its last update.",
    "If a question is not about Acme Cloud, say politely that you can only help with Acme Cloud.",
]


def _system_prompt(words: int = 870) -> str:
    out: list[str] = []
    i = 0
    while sum(len(s.split()) for s in out) < words:
        out.append(SYSTEM_SENTENCES[i % len(SYSTEM_SENTENCES)])
        i += 1
    return " ".join(" ".join(out).split()[:words])


def _turn(rng: random.Random, n: int = 60) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "?"


def _chat(turns: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    msgs: list[dict[str, str]] = []
    for _ in range(turns):
        msgs.append({"role": "user", "content": _turn(rng)})
        msgs.append({"role": "assistant", "content": _turn(rng)})
    return msgs


def _ms(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def agent(guards: dict[str, Any], n: int, rounds: int) -> dict[str, Any]:
    sysp = _system_prompt()
    res: dict[str, Any] = {"system_words": len(sysp.split()), "questions_per_round": n, "rounds": []}
    for r in range(rounds):
        row: dict[str, Any] = {}
        for name in ("cache", "no_cache", "alone"):
            g = guards["no_cache" if name == "alone" else name]
            rng = random.Random(1000 * r + 7)
            qs = [f"{_turn(rng, 10)} (ticket {r}-{i})" for i in range(n + 1)]
            if name == "alone":
                times = [_ms(lambda q=q: g.check_input(q)) for q in qs[1:]]
            else:
                g.check_input([{"role": "system", "content": sysp}, {"role": "user", "content": qs[0]}])
                times = [_ms(lambda q=q: g.check_input([{"role": "system", "content": sysp},
                                                        {"role": "user", "content": q}])) for q in qs[1:]]
            row[name] = stats(times)
        row["cache_vs_alone_p50"] = round(row["cache"]["p50_ms"] / row["alone"]["p50_ms"], 3)
        row["no_cache_vs_alone_p50"] = round(row["no_cache"]["p50_ms"] / row["alone"]["p50_ms"], 3)
        res["rounds"].append(row)
    res["cache_vs_alone_p50_median"] = sorted(x["cache_vs_alone_p50"] for x in res["rounds"])[rounds // 2]
    res["no_cache_vs_alone_p50_median"] = sorted(x["no_cache_vs_alone_p50"] for x in res["rounds"])[rounds // 2]
    return res


def chat(guards: dict[str, Any], turns: int, rounds: int) -> dict[str, Any]:
    res: dict[str, Any] = {"turns": turns, "words_per_turn": 60, "rounds": []}
    budget = {"max_input_tokens": None}  # a 100-turn chat is past the default 16,384-token budget
    for r in range(rounds):
        msgs = _chat(turns, seed=50 + r)
        row: dict[str, Any] = {}
        for name in ("cache", "no_cache"):
            g = guards[name]
            t = [_ms(lambda k=k: g.check_input(msgs[:k], **budget)) for k in range(1, len(msgs) + 1, 2)]
            row[name + "_s"] = round(sum(t) / 1000, 4)
            row[name + "_last_check_ms"] = round(t[-1], 2)
        g = guards["no_cache"]
        user_alone = [_ms(lambda k=k: g.check_input(msgs[k]["content"])) for k in range(0, len(msgs), 2)]
        pair_alone = [_ms(lambda k=k: g.check_input(msgs[max(0, k - 1):k + 1])) for k in range(0, len(msgs), 2)]
        row["user_turns_alone_s"] = round(sum(user_alone) / 1000, 4)
        row["new_turn_pairs_alone_s"] = round(sum(pair_alone) / 1000, 4)
        row["cache_vs_user_turns_alone"] = round(row["cache_s"] / row["user_turns_alone_s"], 3)
        row["cache_vs_turn_pairs_alone"] = round(row["cache_s"] / row["new_turn_pairs_alone_s"], 3)
        row["no_cache_vs_user_turns_alone"] = round(row["no_cache_s"] / row["user_turns_alone_s"], 3)
        res["rounds"].append(row)
        guards["cache"].input.window_cache.clear()  # each round starts cold
    for k in ("cache_vs_user_turns_alone", "cache_vs_turn_pairs_alone", "no_cache_vs_user_turns_alone"):
        res[k + "_median"] = sorted(x[k] for x in res["rounds"])[rounds // 2]
    return res


def memory(models: Any, conversations: int) -> dict[str, Any]:
    from guard_plugins.runtime import Guard

    g = Guard.load(models, providers="cpu")  # the default bound
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rng = random.Random(3)
    peak = 0
    t0 = time.perf_counter()
    for c in range(conversations):
        msgs = _chat(rng.randint(2, 8), seed=10_000 + c)
        for k in range(1, len(msgs) + 1, 2):
            g.check_input(msgs[:k])
        peak = max(peak, g.cache_stats().bytes)
    st = g.cache_stats()
    return {"conversations": conversations, "wall_s": round(time.perf_counter() - t0, 1),
            "cache_bytes_peak": peak, "cache_max_bytes": st.max_bytes, "within_bound": peak <= st.max_bytes,
            "entries": st.entries, "evictions": st.evictions, "hits": st.hits, "misses": st.misses,
            "hit_rate": round(st.hit_rate, 4), "text_hits": st.text_hits, "text_misses": st.text_misses,
            "max_rss_mb_before": round(rss0, 1),
            "max_rss_mb_after": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def exact_rows(g: Any, rounds: int) -> dict[str, Any]:
    ig = g.input
    rng = random.Random(9)
    text = " ".join(rng.choice(WORDS) for _ in range(3000))
    wins, _, _ = ig._prepare(text, None, "scan")
    full = [w for w in wins if len(w) == ig.window]
    pairs = [full[i:i + 2] for i in range(0, len(full) - 1, 2)]
    one, two = [], []
    for _ in range(rounds):
        one.append(_ms(lambda: [ig._call([w]) for p in pairs for w in p]))
        two.append(_ms(lambda: [ig._call(p) for p in pairs]))
    return {"windows": 2 * len(pairs), "one_window_per_call": stats(one), "two_windows_per_call": stats(two),
            "ratio_p50": round(stats(one)["p50_ms"] / stats(two)["p50_ms"], 3)}


def parity(guards: dict[str, Any], shared: Path) -> dict[str, Any]:
    import numpy as np

    from guard_plugins.runtime._common import sigmoid

    files = sorted((shared / "realworld" / "prompts").glob("*/dev.jsonl"))
    texts = [json.loads(line)["text"] for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    a = guards["cache"].check_inputs(texts, on_oversize="scan")
    b = guards["no_cache"].check_inputs(texts, on_oversize="scan")
    again = guards["cache"].check_inputs(texts, on_oversize="scan")  # now served from the cache
    same = sum((x.flagged, x.score, x.category, x.notes) == (y.flagged, y.score, y.category, y.notes)
               for x, y in zip(a, b))
    same2 = sum((x.flagged, x.score, x.category, x.notes) == (y.flagged, y.score, y.category, y.notes)
                for x, y in zip(again, b))
    # what one window per call moved against the previous rule (same-length windows of one
    # check in calls of at most 512 padded tokens, i.e. two full windows)
    ig = guards["no_cache"].input
    moved, flips, multi = [], 0, 0
    for t, v in zip(texts, b):
        wins, _, _ = ig._prepare(t, None, "scan")
        uniq, _ = ig._dedupe(wins)
        if len(uniq) < 2:
            continue
        multi += 1
        by_len: dict[int, list[list[int]]] = {}
        for w in uniq:
            by_len.setdefault(len(w), []).append(w)
        old = []
        for ws in by_len.values():
            step = max(1, 512 // (len(ws[0]) + 2))
            for i in range(0, len(ws), step):
                old.extend(ig._call(ws[i:i + step])[:, 0].tolist())
        old_score = float(sigmoid(np.float64(max(old))))
        moved.append(abs(old_score - v.score))
        flips += (old_score >= v.threshold) != v.flagged
    return {"prompts": len(texts), "identical_cache_vs_no_cache": same, "identical_from_cache": same2,
            "multi_window_prompts": multi,
            "one_window_per_call_vs_previous": {"max_abs_score_change": round(max(moved, default=0.0), 6),
                                                "verdict_flips": flips}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--questions", type=int, default=30)
    p.add_argument("--turns", default="20,100", help="chat lengths in user turns")
    p.add_argument("--conversations", type=int, default=1000)
    p.add_argument("--shared-data", type=Path, default=None, help="run the realworld parity check")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    from guard_plugins.runtime import Guard

    guards = {"cache": Guard.load(args.models, providers="cpu"),
              "no_cache": Guard.load(args.models, providers="cpu", window_cache_mb=0)}
    res: dict[str, Any] = {"bench": "history", "machine": machine(), "rounds": args.rounds,
                           "providers": guards["cache"].providers}
    res["agent"] = agent(guards, args.questions, args.rounds)
    res["chat"] = {t: chat(guards, int(t), args.rounds if int(t) <= 20 else 1) for t in args.turns.split(",")}
    res["exact_rows"] = exact_rows(guards["no_cache"], max(3, args.rounds))
    if args.conversations:
        res["memory"] = memory(args.models, args.conversations)
    if args.shared_data is not None:
        res["parity"] = parity(guards, args.shared_data)
    emit(res, args.out)


if __name__ == "__main__":
    main()
