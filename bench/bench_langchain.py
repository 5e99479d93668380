#!/usr/bin/env python
"""Overhead of the LangChain guard callback per streamed token (JSON output).

Streams the same scripted response (``GenericFakeChatModel``: chunks are words and the
whitespace between them) through ``prompt | model | StrOutputParser()`` with and without
:class:`~guard_plugins.langchain.ConstitutionalGuard`, in the same process, alternating runs,
and reports the median wall time per streamed chunk of each, their difference (the overhead
the consumer pays), and for reference the runtime alone (``guard.stream().feed`` on the same
chunks) and the input check (once per call). Thresholds are set to 1.0 so nothing halts and
every chunk is scored.

    python bench/bench_langchain.py [--models DIR] [--words 200] [--repeats 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import langchain_core  # noqa: E402
import onnxruntime  # noqa: E402
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from tqdm import tqdm  # noqa: E402

from guard_plugins.langchain import ALL_ROLES, ConstitutionalGuard, render_prompt  # noqa: E402
from guard_plugins.runtime import Guard  # noqa: E402

SENTENCE = ("Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose and oxygen, "
            "mostly inside the chloroplasts of their leaves. ")
QUESTION = "Explain photosynthesis to a curious twelve-year-old."


def response_of(words: int) -> str:
    base = SENTENCE.split()
    return " ".join(base[i % len(base)] for i in range(words))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=None, help="exported model folder (default: embedded exported_models/)")
    ap.add_argument("--provider", default="cpu", help="onnxruntime provider: cpu (default), cuda or auto")
    ap.add_argument("--words", type=int, default=200, help="words in the streamed response (default 200)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per variant (default 5)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.words < 1 or args.repeats < 1:
        ap.error("--words and --repeats must be >= 1")

    # thresholds of 1.0 (in the runtime itself, as an application would set them): nothing
    # halts, every chunk is scored
    guard = Guard.load(args.models, providers=args.provider, input_threshold=1.0, output_threshold=1.0)
    text = response_of(args.words)
    prompt = ChatPromptTemplate.from_messages([("human", "{q}")])
    handler = ConstitutionalGuard(guard)

    def run(with_guard: bool) -> tuple[float, int]:
        chain = prompt | GenericFakeChatModel(messages=iter([text])) | StrOutputParser()
        cfg: Any = {"callbacks": [handler]} if with_guard else {}
        n = 0
        t0 = time.perf_counter()
        out = []
        for c in chain.stream({"q": QUESTION}, config=cfg):
            out.append(c)
            n += 1
        dt = time.perf_counter() - t0
        assert "".join(out) == text
        return dt, n

    def runtime_only() -> float:
        chunks = re.split(r"(\s)", text)
        ctx = render_prompt(prompt.invoke({"q": QUESTION}).to_messages(), ALL_ROLES)[1]
        t0 = time.perf_counter()
        s = guard.stream(ctx)
        for c in chunks:
            s.feed(c)
        s.finish()
        return time.perf_counter() - t0

    def input_only() -> float:
        t0 = time.perf_counter()
        guard.check_input(QUESTION)
        return time.perf_counter() - t0

    run(True), run(False), runtime_only()  # warm-up
    plain, guarded_, rt, inp = [], [], [], []
    n_chunks = 0
    for _ in tqdm(range(args.repeats), desc="bench_langchain", file=sys.stderr):
        dt, n_chunks = run(False)
        plain.append(dt)
        dt, _ = run(True)
        guarded_.append(dt)
        rt.append(runtime_only())
        inp.append(input_only())
    med = statistics.median
    per_plain = med(plain) / n_chunks * 1e3
    per_guard = med(guarded_) / n_chunks * 1e3
    tokens = guard.stream("").feed(text + " ").tokens
    overhead_ms = per_guard - per_plain
    result = {
        "benchmark": "langchain_callback_overhead",
        "response": {"words": args.words, "chunks": n_chunks, "guard_tokens": tokens, "chars": len(text)},
        "repeats": args.repeats,
        "per_chunk_ms": {"without_guard": round(per_plain, 4), "with_guard": round(per_guard, 4),
                         "overhead": round(overhead_ms, 4)},
        "per_guard_token_overhead_ms": round((med(guarded_) - med(plain)) / tokens * 1e3, 4),
        "runtime_only_per_chunk_ms": round(med(rt) / n_chunks * 1e3, 4),
        # what LangChain + the handler add on top of the classifier itself (can be ~0 or
        # slightly negative within noise on a busy machine)
        "callback_plumbing_per_chunk_ms": round((med(guarded_) - med(plain) - med(rt) - med(inp)) / n_chunks * 1e3, 4),
        "input_check_ms": round(med(inp) * 1e3, 3),
        "overhead_pct_of_50_tok_s_stream": round(overhead_ms / 20.0 * 100, 2),
        "call_ms": {"without_guard": round(med(plain) * 1e3, 2), "with_guard": round(med(guarded_) * 1e3, 2)},
        "providers": guard.providers,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "onnxruntime": onnxruntime.__version__, "langchain_core": langchain_core.__version__},
        "note": ("chunks are GenericFakeChatModel's word and whitespace chunks; overhead = median wall time "
                 "per chunk with the callback minus without, same process, runs alternated; includes the "
                 "one input check per call"),
    }
    js = json.dumps(result, indent=2)
    print(js)
    if args.out:
        with open(args.out, "w") as f:
            f.write(js + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
