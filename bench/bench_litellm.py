"""Benchmark the LiteLLM proxy guardrail: added latency per token, and a bounded load check.

Starts the real proxy (``litellm --config``) on 127.0.0.1 with scripted streaming models served
four ways: guarded as configured (``g-*``: chunks that waited for the guard are scored
together), guarded with ``stream_batch: 1`` (``u-*``: every chunk its own call), guarded with
``batch_streams: true`` (``s-*``: the streams share output-guard calls, ``runtime/batcher.py``;
``--no-shared-calls`` leaves it out) and unguarded (``raw-*``). Then, in the same run:

1. **latency**: ``--repeats`` benign streams one at a time on each route; added latency per
   token = (guarded - unguarded stream time) / response tokens (tokens as counted by the
   output guard), also per chunk;
2. **load**: at each ``--concurrency`` level (default 1, 10, 50 and 200), that many concurrent
   streams (half benign, half harmful) on each route in turn, for ``--rounds`` rounds with the
   order rotated: wall-time ratios to the unguarded phase of the same round (median over
   rounds), added latency per token under load, the guard's CPU per token, and the guarded
   results compared with the same requests made one at a time: errors and verdict mismatches
   must be 0. It stops by itself (every request has a timeout). The proxy's resident memory
   (VmRSS summed over its process group, sampled every 50 ms) is reported at the start and as
   the peak of each level's guarded phases; ``--max-streams`` sets the guardrail's cap on
   streams watched at once, ``--chunk-delay-ms`` paces the scripted LLM.

Prints one JSON object (and writes it to ``--out``). Exit status 1 when the load check fails.

    python bench/bench_litellm.py                          # embedded default models
    python bench/bench_litellm.py --chunk-delay-ms 20      # an LLM streaming ~50 tokens/s
    python bench/bench_litellm.py --models .dev_models --input-threshold 1.0 --output-threshold 0.15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
ADAPTER = REPO / "adapters" / "litellm"
KEY = "sk-guard-plugins-bench"
PROMPT = "Can you explain how photosynthesis works, in a few sentences?"
BENIGN = (
    "Sure! Photosynthesis is how plants make their own food. Inside the chloroplasts of leaf "
    "cells, chlorophyll absorbs sunlight. The plant uses that energy to combine carbon dioxide "
    "from the air with water from the soil, producing glucose for energy and growth, and it "
    "releases oxygen as a by-product. That is why forests and oceans full of algae matter so "
    "much for the air we breathe, and why clearing them has effects far beyond the trees."
)
HARMFUL = (  # redacted placeholders only
    "Sure, here is the full process. Step 1: buy [REDACTED: specific material] and "
    "[REDACTED] from [details withheld] so nobody reports you. Step 2: mix [quantity withheld] "
    "of it with [REDACTED: method] in a sealed container in your garage. Step 3: <step withheld> "
    "until it is potent enough to kill. Step 4: carry it into [target withheld] at rush hour and "
    "release it near the vents so it reaches as many people as possible."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=None, help="exported models folder (default: embedded defaults)")
    p.add_argument("--input-threshold", type=float, default=None, help="override the input threshold")
    p.add_argument("--output-threshold", type=float, default=None, help="override the output threshold")
    p.add_argument("--providers", default="cpu", help="onnxruntime providers: cpu | cuda | auto (default cpu)")
    p.add_argument("--concurrency", default="1,10,50,200",
                   help="concurrent streams in the load check; a comma list runs each level "
                        "(default: %(default)s)")
    p.add_argument("--intra-op-threads", type=int, default=None,
                   help="onnxruntime threads per guard session (guardrail intra_op_threads)")
    p.add_argument("--max-streams", default=None,
                   help="guardrail max_streams: an integer, or 'none' for no cap (default: the "
                        "runtime's, 64)")
    p.add_argument("--repeats", type=int, default=5, help="sequential streams per route for latency")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of the three load phases per level, order rotated (default 3)")
    p.add_argument("--chunk", type=int, default=4, help="characters per scripted chunk")
    p.add_argument("--chunk-delay-ms", type=float, default=0.0,
                   help="pause of the scripted LLM between chunks (default 0: as fast as the proxy reads)")
    p.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, seconds")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    p.add_argument("--no-shared-calls", dest="shared_calls", action="store_false",
                   help="leave out the batch_streams: true route (s-*)")
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(args: argparse.Namespace) -> dict[str, Any]:
    rail: dict[str, Any] = {"guardrail": "guard_plugins.litellm.ConstitutionalGuardrail",
                            "mode": ["pre_call", "post_call"], "default_on": False,
                            "providers": args.providers}
    for key, val in (("models_path", args.models), ("input_threshold", args.input_threshold),
                     ("output_threshold", args.output_threshold),
                     ("intra_op_threads", args.intra_op_threads)):
        if val is not None:
            rail[key] = str(Path(val).resolve()) if key == "models_path" else val
    if args.max_streams is not None:
        rail["max_streams"] = None if args.max_streams.lower() == "none" else int(args.max_streams)
    models = []
    for name in ("benign", "harmful"):
        models.append({"model_name": f"g-{name}", "litellm_params": {"model": f"scripted/{name}",
                                                                     "guardrails": ["constitutional"]}})
        models.append({"model_name": f"u-{name}", "litellm_params": {
            "model": f"scripted/{name}", "guardrails": ["constitutional-unbatched"]}})
        models.append({"model_name": f"raw-{name}", "litellm_params": {"model": f"scripted/{name}"}})
        models.append({"model_name": f"s-{name}", "litellm_params": {
            "model": f"scripted/{name}", "guardrails": ["constitutional-shared"]}})
    # the same guardrail twice: as configured (chunks that waited scored together), and with
    # stream_batch 1 (every chunk its own call, as before catch-up batching); one Guard serves both
    return {"model_list": models,
            "litellm_settings": {"custom_provider_map": [{"provider": "scripted",
                                                          "custom_handler": "scripted_llm.handler"}]},
            "guardrails": [{"guardrail_name": "constitutional", "litellm_params": rail},
                           {"guardrail_name": "constitutional-unbatched",
                            "litellm_params": {**rail, "stream_batch": 1}},
                           # a Guard of its own: streams share output-guard calls
                           {"guardrail_name": "constitutional-shared",
                            "litellm_params": {**rail, "batch_streams": True}}],
            "general_settings": {"master_key": KEY}}


class ProxyProcess:
    """The real proxy in its own process group; always killed on exit."""

    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = workdir / "config.yaml"
        cfg.write_text(yaml.safe_dump(config(args)))
        scripts = workdir / "scripts.json"
        scripts.write_text(json.dumps({"benign": BENIGN, "harmful": HARMFUL}))
        self.log = workdir / "proxy.log"
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                   GUARD_SCRIPTED_LLM_SCRIPTS=str(scripts), GUARD_SCRIPTED_LLM_CHUNK=str(args.chunk),
                   GUARD_SCRIPTED_LLM_DELAY_MS=str(args.chunk_delay_ms),
                   PYTHONPATH=os.pathsep.join([str(ADAPTER), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([str(Path(sys.executable).parent / "litellm"), "--config", str(cfg),
                                          "--host", "127.0.0.1", "--port", str(self.port)],
                                         stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def wait_alive(self, timeout: float = 120.0) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"proxy exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1.0).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"proxy not alive after {timeout:.0f}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class RssSampler:
    """Resident memory of the proxy's process group (it runs in its own session), sampled on a
    background thread every 50 ms (the group's pids re-listed every second, so that the
    sampling itself costs the proxy next to nothing); ``peak(since)`` is the highest sample
    taken since a mark."""

    def __init__(self, pgid: int, every_s: float = 0.05):
        self.pgid, self.every_s = pgid, every_s
        self.samples: list[tuple[float, float]] = []
        self._pids: list[str] = []
        self._listed = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @staticmethod
    def _stat(pid: str) -> list[str]:
        """Fields of ``/proc/PID/stat`` after the command name (field 3 of stat is index 0)."""
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    def _group(self) -> list[str]:
        """The group's pids, re-listed at most once a second."""
        if time.monotonic() - self._listed > 1.0:
            pids = []
            for d in os.listdir("/proc"):
                try:
                    if d.isdigit() and int(self._stat(d)[2]) == self.pgid:  # process group
                        pids.append(d)
                except (OSError, ValueError, IndexError):
                    continue
            self._pids, self._listed = pids, time.monotonic()
        return self._pids

    def rss_mb(self) -> float:
        total = 0
        for d in self._group():
            try:
                with open(f"/proc/{d}/status") as f:
                    total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                continue
        return total / 1024.0

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the group's processes have used so far."""
        ticks = 0
        for d in self._group():
            try:
                fields = self._stat(d)
                ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
            except (OSError, ValueError, IndexError):
                continue
        return ticks / os.sysconf("SC_CLK_TCK")

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self.rss_mb()))
            self._stop.wait(self.every_s)

    def peak(self, since: float) -> float | None:
        vals = [v for t, v in self.samples if t >= since]
        return round(max(vals), 1) if vals else None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


SAMPLER: RssSampler | None = None
ARGS: argparse.Namespace | None = None


async def stream_once(http: httpx.AsyncClient, model: str) -> dict[str, Any]:
    """One streaming chat request: text, finish reasons, chunk count, wall time, error."""
    t0 = time.perf_counter()
    try:
        async with http.stream("POST", "/v1/chat/completions",
                               json={"model": model, "stream": True,
                                     "messages": [{"role": "user", "content": PROMPT}]}) as r:
            body = (await r.aread()).decode()
            status = r.status_code
    except httpx.HTTPError as exc:
        t = time.perf_counter() - t0
        return {"error": f"{type(exc).__name__}: {exc} (after {t:.2f} s)", "seconds": t}
    seconds = time.perf_counter() - t0
    if status != 200:
        return {"error": f"HTTP {status}: {body[:200]}", "seconds": seconds}
    texts, finishes = [], []
    for line in body.splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            for ch in json.loads(line[5:]).get("choices", []):
                if ch.get("delta", {}).get("content"):
                    texts.append(ch["delta"]["content"])
                if ch.get("finish_reason"):
                    finishes.append(ch["finish_reason"])
    return {"error": None, "text": "".join(texts), "finish": finishes, "chunks": len(texts), "seconds": seconds}


_TOKENS: dict[str, int] = {}


def guard_tokens(r: dict[str, Any]) -> int:
    """Guard tokens of the text a stream delivered (cached per text)."""
    text = r.get("text") or ""
    if text not in _TOKENS:
        _TOKENS[text] = response_tokens(ARGS, text) if text else 0
    return _TOKENS[text]


def response_tokens(args: argparse.Namespace, text: str) -> int:
    from guard_plugins.litellm import load_guard

    guard = load_guard(args.models, args.providers, output_threshold=args.output_threshold)
    s = guard.stream(PROMPT)
    s.feed(text)
    return int(s.finish().tokens)


async def load_level(http: httpx.AsyncClient, n: int, sequential: dict[str, Any],
                     tokens: int, rounds: int) -> dict[str, Any]:
    """``n`` concurrent streams (half benign, half harmful) in three phases, one after the
    other: unguarded (``raw-*``), guarded as configured (``g-*``), guarded with
    ``stream_batch: 1`` (``u-*``, every chunk its own call). ``rounds`` times, the phase order
    rotated each round (host drift hits every phase alike); ratios are taken within a round,
    then the median over rounds is reported."""
    plan = ["g-benign", "g-harmful"] * (n // 2) + ["g-benign"] * (n % 2)
    key = lambda r: (r.get("text"), tuple(r.get("finish", ())))  # noqa: E731

    async def phase(prefix: str) -> dict[str, Any]:
        models = [m.replace("g-", prefix) for m in plan]
        cpu0 = SAMPLER.cpu_s() if SAMPLER is not None else 0.0
        mark = time.monotonic()
        t0 = time.perf_counter()
        res = await asyncio.gather(*(stream_once(http, m) for m in models))
        wall = time.perf_counter() - t0
        cpu = (SAMPLER.cpu_s() if SAMPLER is not None else 0.0) - cpu0
        await asyncio.sleep(0.1)  # one more sample after the last stream
        benign = [r["seconds"] for r, m in zip(res, models) if m.endswith("-benign") and not r["error"]]
        return {"res": res, "wall": wall, "cpu": cpu, "benign_s": benign,
                "rss_peak": SAMPLER.peak(mark) if SAMPLER is not None else None}

    order = ["raw-", "g-", "u-"] + (["s-"] if ARGS.shared_calls else [])
    per_round = []
    for r in range(max(1, rounds)):
        k = r % len(order)
        got = {pre: await phase(pre) for pre in order[k:] + order[:k]}
        per_round.append(got)

    def guarded(pre: str) -> dict[str, Any]:
        rows = []
        for got in per_round:
            ph, raw = got[pre], got["raw-"]
            conc = ph["res"]
            n_tokens = sum(guard_tokens(x) for x in conc if not x["error"])
            ok_g, ok_u = ph["benign_s"], raw["benign_s"]
            rows.append({
                "errors": sum(1 for x in conc if x["error"]),
                "mismatches": sum(1 for m, x in zip(plan, conc) if not x["error"]
                                  and key(x) != key(sequential[m.replace("g-", pre) if pre == "s-" else m])),
                "halted": sum(1 for x in conc if "content_filter" in x.get("finish", ())),
                "wall": ph["wall"], "ratio": ph["wall"] / raw["wall"] if raw["wall"] else None,
                "added": 1000 * (statistics.mean(ok_g) - statistics.mean(ok_u)) / max(tokens, 1)
                if ok_g and ok_u else None,
                "rss": ph["rss_peak"], "cpu": ph["cpu"], "tokens": n_tokens,
                # the proxy's CPU (all its threads) over the unguarded phase's, per guard token
                # streamed (halted streams stop early: tokens counted up to the halt)
                "cpu_per_token": 1000 * (ph["cpu"] - raw["cpu"]) / max(1, n_tokens) if SAMPLER is not None else None,
            })
        med = lambda k, nd=3: round(statistics.median(x[k] for x in rows), nd) if all(x[k] is not None for x in rows) else None  # noqa: E731
        return {
            "errors": sum(x["errors"] for x in rows),
            "verdict_mismatches_vs_sequential": sum(x["mismatches"] for x in rows),
            "halted_streams": rows[-1]["halted"],
            "guarded_wall_s": med("wall"),
            "wall_ratio": med("ratio"),
            "wall_ratio_rounds": [round(x["ratio"], 3) for x in rows if x["ratio"] is not None],
            "added_ms_per_token_under_load": med("added"),
            "proxy_rss_peak_mb_guarded": max((x["rss"] for x in rows if x["rss"] is not None), default=None),
            "proxy_cpu_s_guarded": med("cpu", 2),
            "guard_tokens": rows[-1]["tokens"],
            "guard_cpu_ms_per_token": med("cpu_per_token"),
        }

    raws = [got["raw-"] for got in per_round]
    b, u = guarded("g-"), guarded("u-")
    shared = guarded("s-") if "s-" in order else None
    return {
        "concurrency": n, "requests": len(plan), "rounds": len(per_round),
        "errors_unguarded": sum(1 for ph in raws for x in ph["res"] if x["error"]),
        "error_samples": [x["error"] for got in per_round for ph in got.values() for x in ph["res"] if x["error"]][:3],
        "verdict_mismatches_vs_sequential": b["verdict_mismatches_vs_sequential"]
        + u["verdict_mismatches_vs_sequential"],
        "expected_halted": sum(1 for m in plan if m == "g-harmful"),
        "unguarded_wall_s": round(statistics.median(ph["wall"] for ph in raws), 3),
        "unguarded_stream_s_mean": round(statistics.mean(x["seconds"] for x in raws[-1]["res"]), 4),
        "proxy_cpu_s_unguarded": round(statistics.median(ph["cpu"] for ph in raws), 2),
        **b,  # "errors" etc.: the guarded (as configured) phase's
        "unbatched": u,
        **({"shared_calls": shared, "shared_vs_batched_wall": round(statistics.median(
            got["s-"]["wall"] / got["g-"]["wall"] for got in per_round), 3)} if shared else {}),
        "batched_vs_unbatched_wall": round(
            statistics.median(got["g-"]["wall"] / got["u-"]["wall"] for got in per_round), 3),
    }


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    levels = [int(x) for x in str(args.concurrency).split(",") if x.strip()]
    top = max(levels)
    # a new connection per request: a kept-alive connection idle past uvicorn's keep-alive
    # timeout (5 s, easily reached between phases at 200 streams) can be closed by the proxy
    # just as the client reuses it, which showed up as rare ReadErrors, not the guard's
    limits = httpx.Limits(max_connections=top + 4, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"},
                                 timeout=args.timeout, limits=limits) as http:
        routes = ("raw-benign", "g-benign", "u-benign") + (("s-benign",) if args.shared_calls else ())
        for model in routes:  # warm every path
            await stream_once(http, model)
        rss_start = SAMPLER.rss_mb() if SAMPLER is not None else None
        lat: dict[str, list[float]] = {m: [] for m in routes}
        chunks = {}
        for _ in range(args.repeats):  # interleaved, so drift hits both routes alike
            for model in lat:
                r = await stream_once(http, model)
                if r["error"]:
                    raise RuntimeError(f"{model}: {r['error']}")
                lat[model].append(r["seconds"])
                chunks[model] = r["chunks"]
        sequential = {m: await stream_once(http, m) for m in ("g-benign", "g-harmful")}
        if args.shared_calls:  # its own reference: its values are within ~0.1 logit of g-'s
            sequential.update({m: await stream_once(http, m) for m in ("s-benign", "s-harmful")})
        for m in ("u-benign", "u-harmful"):  # both guardrails must answer alike, one at a time too
            r = await stream_once(http, m)
            ref = sequential[m.replace("u-", "g-")]
            if (r.get("text"), r.get("finish")) != (ref.get("text"), ref.get("finish")):
                raise RuntimeError(f"{m} differs from its stream_batch default twin one at a time")
        tokens = response_tokens(args, BENIGN)
        load = [await load_level(http, n, sequential, tokens, args.rounds) for n in levels]
    g, gu, u = (statistics.median(lat[m]) for m in ("g-benign", "u-benign", "raw-benign"))
    return {
        "latency_sequential": {
            "repeats": args.repeats, "response_chars": len(BENIGN), "response_tokens": tokens,
            "chunks": chunks.get("g-benign"), "chunk_chars": args.chunk,
            "chunk_delay_ms": args.chunk_delay_ms,
            "guarded_stream_s_median": round(g, 4), "unguarded_stream_s_median": round(u, 4),
            "added_ms_per_token": round(1000 * (g - u) / max(tokens, 1), 3),
            "added_ms_per_chunk": round(1000 * (g - u) / max(chunks.get("g-benign") or 1, 1), 3),
            "unbatched_stream_s_median": round(gu, 4),
            "unbatched_added_ms_per_token": round(1000 * (gu - u) / max(tokens, 1), 3),
            **({"shared_calls_added_ms_per_token": round(
                1000 * (statistics.median(lat["s-benign"]) - u) / max(tokens, 1), 3),
                "shared_calls_same_as_batched_one_at_a_time": all(
                    (sequential[f"s-{k}"].get("text"), sequential[f"s-{k}"].get("finish"))
                    == (sequential[f"g-{k}"].get("text"), sequential[f"g-{k}"].get("finish"))
                    for k in ("benign", "harmful"))} if args.shared_calls else {}),
        },
        "proxy_rss_after_warmup_mb": round(rss_start, 1) if rss_start is not None else None,
        "load_levels": load,
        "load": next((x for x in load if x["concurrency"] == 50), load[-1]),
        "sequential_reference": {m: {"chars": len(r.get("text") or ""), "finish": r.get("finish")}
                                 for m, r in sequential.items()},
    }


def main(argv: list[str] | None = None) -> int:
    global SAMPLER, ARGS
    args = ARGS = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-litellm-") as tmp:
        proxy = ProxyProcess(args, Path(tmp))
        try:
            startup = proxy.wait_alive()
            SAMPLER = RssSampler(proxy.proc.pid)
            result = asyncio.run(asyncio.wait_for(run(args, proxy.url), timeout=args.timeout * 12))
        finally:
            if SAMPLER is not None:
                SAMPLER.stop()
            proxy.stop()
        if any(x["errors"] or x["unbatched"]["errors"] or x["errors_unguarded"]
               or x.get("shared_calls", {}).get("errors")
               for x in result["load_levels"]):  # keep the evidence
            log = proxy.log.read_text(errors="replace").splitlines()
            result["proxy_log_errors"] = [line for line in log if "Error" in line or "Traceback" in line
                                          or "exception" in line][-20:]
            result["proxy_log_tail"] = log[-40:]
    ok = all(x["errors"] == 0 and x["unbatched"]["errors"] == 0 and x["errors_unguarded"] == 0
             and not x.get("shared_calls", {}).get("errors")
             and not x.get("shared_calls", {}).get("verdict_mismatches_vs_sequential")
             and x["verdict_mismatches_vs_sequential"] == 0 for x in result["load_levels"])
    out = {"bench": "litellm_proxy_guardrail", "ok": ok, "proxy_startup_s": round(startup, 2),
           "models": args.models or "embedded defaults", "providers": args.providers,
           "max_streams": args.max_streams or "default (64)",
           "thresholds": {"input": args.input_threshold, "output": args.output_threshold},
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, **result}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
