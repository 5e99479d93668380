"""``python -m guard_plugins.demo`` (what ``make demo`` runs): the main job, end to end, offline.

On the embedded default models (or ``--models DIR``), with scripted models (no API key, no
network), it shows for **LangChain** (a ``prompt | model | parser`` chain with the
:class:`~guard_plugins.langchain.ConstitutionalGuard` callback, the texts of
``adapters/langchain/example.py``) and for the **real LiteLLM proxy** (started as a
subprocess with ``adapters/litellm/config.yaml``, stopped in a ``finally``):

1. a benign prompt answered, complete;
2. a harmful prompt blocked by the input guard, with its category;
3. a harmful answer streamed (as if a jailbreak got past the input guard) and halted mid-way
   by the streaming output guard, with how many stream tokens were released;

and the guard's overhead per streamed token. Needs no torch (``make demo`` installs only
``.[langchain,litellm]``). A missing piece (models not exported, an integration not
installed) stops it at once with a message naming what is missing.

Exit status: 0 every step behaved as expected; 1 a step did not; 2 something is missing.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

for _k, _v in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
               ("LITELLM_LOCAL_MODEL_COST_MAP", "True"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_k, _v)

REPO = Path(__file__).resolve().parents[2]
LANGCHAIN_EXAMPLE = REPO / "adapters" / "langchain" / "example.py"
LITELLM_CONFIG = REPO / "adapters" / "litellm" / "config.yaml"
STREAM_BUDGET_MS = 20.0  # one token at 50 tokens/s


class Missing(Exception):
    """A piece the demo needs is not there (the message says which and how to get it)."""


# --------------------------------------------------------------------------- console
_COLOR = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def _c(code: str, text: str) -> str:
    return f"\033[{code}m{text}\033[0m" if _COLOR else text


def header(text: str) -> None:
    print("\n" + _c("1", text) + "\n" + "-" * len(text), flush=True)


def step(n: int, text: str) -> None:
    print(_c("1", f"[{n}] ") + text, flush=True)


def say(text: str) -> None:
    print("    " + text, flush=True)


def result(ok: bool, text: str) -> bool:
    mark = _c("32", "OK  ") if ok else _c("31", "FAIL")
    print(f"    {mark} {text}", flush=True)
    return ok


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


# --------------------------------------------------------------------------- preflight
def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise Missing(f"cannot import {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_guard(models: str | None) -> Any:
    try:
        from .runtime import Guard  # type: ignore[attr-defined]
    except ImportError as e:
        raise Missing(f"the guard runtime (guard_plugins.runtime) cannot be imported: {e}") from None
    from .errors import ModelLoadError

    try:
        return Guard.load(models, providers="cpu")
    except ModelLoadError as e:
        where = models or "the embedded default models (exported_models/)"
        raise Missing(f"{where}: {e}\n  build them with `make data train export`, or pass "
                      f"--models DIR (a folder holding input/ and output/)") from None


def preflight(models: str | None, want_langchain: bool, want_litellm: bool) -> list[str]:
    """Every missing piece, as one line each (empty when all is there)."""
    missing: list[str] = []
    try:
        load_guard(models)
    except Missing as e:
        missing.append(str(e))
    if want_langchain:
        for mod, hint in (("langchain_core", "pip install 'guard-plugins[langchain]'"),
                          ("guard_plugins.langchain", "the LangChain integration")):
            try:
                importlib.import_module(mod)
            except ImportError as e:
                missing.append(f"{mod} cannot be imported ({e}): {hint}")
        if not LANGCHAIN_EXAMPLE.is_file():
            missing.append(f"{LANGCHAIN_EXAMPLE} is missing (run the demo from a source checkout)")
    if want_litellm:
        for mod, hint in (("litellm", "pip install 'guard-plugins[litellm]'"),
                          ("guard_plugins.litellm", "the LiteLLM integration"),
                          ("openai", "pip install openai (a litellm dependency)")):
            try:
                importlib.import_module(mod)
            except ImportError as e:
                missing.append(f"{mod} cannot be imported ({e}): {hint}")
        if not LITELLM_CONFIG.is_file():
            missing.append(f"{LITELLM_CONFIG} is missing (the proxy config of the LiteLLM integration)")
        if litellm_executable() is None:
            missing.append("the `litellm` proxy command is not installed: pip install 'litellm[proxy]'")
    return missing


def litellm_executable() -> str | None:
    cand = Path(sys.executable).with_name("litellm")
    if cand.is_file():
        return str(cand)
    return shutil.which("litellm")


# --------------------------------------------------------------------------- LangChain
@dataclass
class Texts:
    benign_q: str
    benign_a: str
    harmful_q: str
    harmful_a: str


def langchain_demo(guard: Any) -> bool:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from .langchain import ConstitutionalGuard, GuardrailViolation

    # LangChain logs every exception a raising callback throws; the demo prints its own lines
    logging.getLogger("langchain_core.callbacks.manager").setLevel(logging.CRITICAL)

    ex = _load_module(LANGCHAIN_EXAMPLE, "_guard_plugins_langchain_example")
    t = Texts(ex.BENIGN_Q, ex.BENIGN_A, ex.HARMFUL_Q, ex.HARMFUL_A)
    header("LangChain: prompt | model | parser, with config={'callbacks': [ConstitutionalGuard()]}")
    say("model: GenericFakeChatModel streaming a scripted answer word by word "
        "(texts from adapters/langchain/example.py)")
    prompt = ChatPromptTemplate.from_messages([("system", "You are a helpful assistant."),
                                               ("human", "{q}")])
    handler = ConstitutionalGuard(guard)
    ok = True

    def run(answer: str, q: str, h: Any) -> tuple[str, Any]:
        """Stream the chain; returns (text the caller received, GuardrailViolation or None)."""
        got: list[str] = []
        chain = prompt | ex.scripted(answer) | StrOutputParser()
        try:
            for piece in chain.stream({"q": q}, config={"callbacks": [h]}):
                got.append(piece)
        except GuardrailViolation as v:
            return "".join(got), v
        return "".join(got), None

    step(1, f"benign prompt: {_short(t.benign_q)!r}")
    got, v = run(t.benign_a, t.benign_q, handler)
    if v is None:
        say(f"answer: {_short(got)!r}")
        ok &= result(got == t.benign_a, f"answered, complete and untouched ({len(got)} characters)")
    else:
        ok &= result(False, f"wrongly blocked ({v.stage}): {_describe(v.verdict, v)}")

    step(2, f"harmful prompt: {_short(t.harmful_q)!r}")
    got, v = run(t.harmful_a, t.harmful_q, handler)
    if v is None:
        ok &= result(False, "NOT blocked: the input guard let it through")
    else:
        ok &= result(v.stage == "input" and not got,
                     f"blocked before the model was called: {_describe(v.verdict, v)}")

    step(3, "harmful answer streamed (input guard off, as if a jailbreak got past it)")
    out_only = ConstitutionalGuard(guard, scan_input=False)
    total_tokens = len(_fake_tokens(t.harmful_a))
    got, v = run(t.harmful_a, t.harmful_q, out_only)
    if v is None:
        ok &= result(False, "NOT halted: the output guard let the whole answer through")
    else:
        n_tok = len(_fake_tokens(got))
        say(f"caller saw: {_short(got, 120)!r}")
        ok &= result(v.stage == "output" and len(got) < len(t.harmful_a),
                     f"halted mid-way: {n_tok} of {total_tokens} stream tokens released "
                     f"({100 * n_tok / max(1, total_tokens):.0f} %); {_describe(v.verdict, v)}")

    step(4, "overhead of the guard per streamed token")
    per_tok = _langchain_overhead(prompt, ex, t, guard, ConstitutionalGuard, StrOutputParser)
    say(f"{per_tok:.3f} ms per stream token (median of 5 runs: output-guarded minus unguarded "
        f"stream of the benign answer) = {100 * per_tok / STREAM_BUDGET_MS:.1f} % of a 50 tokens/s "
        f"stream")
    return ok


def _describe(vd: Any, violation: Any = None) -> str:
    if vd is None:
        return f"guard error {getattr(violation, 'error', None)!r}"
    cat = f"category {vd.category!r}, " if vd.category else ""
    return f"{cat}score {vd.score:.3f} >= threshold {vd.threshold:.3f} after {vd.tokens} guard tokens"


def _fake_tokens(text: str) -> list[str]:
    """The pieces GenericFakeChatModel streams (it splits on whitespace, keeping it)."""
    import re

    return [p for p in re.split(r"(\s)", text) if p]


def _langchain_overhead(prompt: Any, ex: ModuleType, t: Texts, guard: Any, handler_cls: Any,
                        parser_cls: Any) -> float:
    def run(callbacks: list[Any]) -> float:
        chain = prompt | ex.scripted(t.benign_a) | parser_cls()
        t0 = time.perf_counter()
        for _ in chain.stream({"q": t.benign_q}, config={"callbacks": callbacks}):
            pass
        return (time.perf_counter() - t0) * 1000.0

    # streaming overhead only: the input check is a one-off per request, shown in step 1
    run([])  # warm-up
    run([handler_cls(guard, scan_input=False)])
    n = len(_fake_tokens(t.benign_a))
    diffs = [(run([handler_cls(guard, scan_input=False)]) - run([])) / n for _ in range(5)]
    return max(0.0, statistics.median(diffs))


# --------------------------------------------------------------------------- LiteLLM proxy
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_config() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(LITELLM_CONFIG.read_text(encoding="utf-8")) or {}


def _proxy_models(cfg: dict[str, Any]) -> tuple[str, str]:
    """(benign model name, harmful model name) of the config's scripted models."""
    benign = harmful = None
    for m in cfg.get("model_list") or []:
        params = m.get("litellm_params") or {}
        target = f"{params.get('model', '')} {m.get('model_name', '')}".lower()
        if harmful is None and "harmful" in target:
            harmful = m["model_name"]
        elif benign is None and ("benign" in target or "demo" == m.get("model_name")):
            benign = m["model_name"]
    if not benign or not harmful:
        raise Missing(f"{LITELLM_CONFIG}: expected a scripted benign model and a scripted harmful "
                      f"model in model_list (found {[m.get('model_name') for m in cfg.get('model_list') or []]})")
    return benign, harmful


def _master_key(cfg: dict[str, Any]) -> str:
    key = (cfg.get("general_settings") or {}).get("master_key")
    if isinstance(key, str) and key.startswith("os.environ/"):
        key = os.environ.get(key.split("/", 1)[1])
    return key or "sk-demo"


class Proxy:
    """``litellm --config ... --host 127.0.0.1 --port P`` as a subprocess; always stopped."""

    def __init__(self, config: Path, models: str | None, timeout_s: float):
        self.config, self.models, self.timeout_s = config, models, timeout_s
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="guard-demo-litellm-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Proxy":
        exe = litellm_executable()
        assert exe is not None
        env = dict(os.environ)
        if self.models:
            env["GUARD_PLUGINS_MODELS"] = str(Path(self.models).resolve())
        # the config's scripted provider module lives next to it
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.config.parent), env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [exe, "--config", str(self.config), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=str(self.config.parent),
            start_new_session=True)
        try:
            self._wait()
        except BaseException:  # __exit__ does not run when __enter__ fails: stop it here
            self.stop()
            raise
        return self

    def _wait(self) -> None:
        import httpx

        t0 = time.monotonic()
        while time.monotonic() - t0 < self.timeout_s:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the proxy exited with status {self.proc.returncode} during start-up:\n"
                                   + self.tail())
            try:
                r = httpx.get(f"{self.base_url}/health/liveliness", timeout=2.0)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the proxy did not answer /health/liveliness within {self.timeout_s:.0f} s:\n"
                           + self.tail())

    def tail(self, n: int = 25) -> str:
        try:
            lines = Path(self.log.name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    | " + ln for ln in lines[-n:])

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)  # its own session: uvicorn workers go too
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=5)
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def litellm_demo(guard: Any, models: str | None, timeout_s: float) -> bool:
    import openai

    from .langchain import GuardrailViolation  # noqa: F401  (import check only)

    cfg = _read_config()
    benign_model, harmful_model = _proxy_models(cfg)
    ex = _load_module(LANGCHAIN_EXAMPLE, "_guard_plugins_langchain_example")
    header("LiteLLM proxy: the real `litellm --config adapters/litellm/config.yaml` process")
    ok = True
    t0 = time.perf_counter()
    with Proxy(LITELLM_CONFIG, models, timeout_s) as proxy:
        say(f"proxy up at {proxy.base_url} in {time.perf_counter() - t0:.1f} s "
            f"(scripted models {benign_model!r} and {harmful_model!r})")
        client = openai.OpenAI(base_url=proxy.base_url + "/v1", api_key=_master_key(cfg),
                               max_retries=0, timeout=60)

        step(1, f"benign prompt to {benign_model!r}: {_short(ex.BENIGN_Q)!r}")
        try:
            r = client.chat.completions.create(model=benign_model,
                                               messages=[{"role": "user", "content": ex.BENIGN_Q}])
            text = r.choices[0].message.content or ""
            say(f"answer: {_short(text)!r}")
            ok &= result(bool(text) and r.choices[0].finish_reason == "stop",
                         f"answered (finish_reason={r.choices[0].finish_reason!r})")
        except openai.APIStatusError as e:
            ok &= result(False, f"wrongly rejected with HTTP {e.status_code}: {_short(str(e), 160)}")

        step(2, f"harmful prompt to {benign_model!r}: {_short(ex.HARMFUL_Q)!r}")
        try:
            client.chat.completions.create(model=benign_model,
                                           messages=[{"role": "user", "content": ex.HARMFUL_Q}])
            ok &= result(False, "NOT blocked: the proxy answered")
        except openai.APIStatusError as e:
            body = _error_body(e)
            ok &= result(e.status_code == 400 and bool(body),
                         f"rejected with HTTP {e.status_code}: category {body.get('category')!r}, "
                         f"score {_num(body.get('score'))} >= threshold {_num(body.get('threshold'))}")

        step(3, f"harmful answer streamed from {harmful_model!r} (the prompt itself passes)")
        stream_prompt = "Continue the text exactly as written."
        scripted = _script_text(cfg, harmful_model)
        script, size = scripted if scripted else (None, 4)
        chunks: list[str] = []
        finish = None
        t1 = time.perf_counter()
        try:
            stream = client.chat.completions.create(
                model=harmful_model, stream=True,
                messages=[{"role": "user", "content": stream_prompt}])
            for ch in stream:
                for choice in ch.choices:
                    if choice.delta and choice.delta.content:
                        chunks.append(choice.delta.content)
                    if choice.finish_reason:
                        finish = choice.finish_reason
            released = "".join(chunks)
            total = _n_chunks(script, size) if script else None
            say(f"client saw: {_short(released, 120)!r}")
            of = f" of {total}" if total else ""
            pct = f" ({100 * len(chunks) / total:.0f} %)" if total else ""
            if finish == "content_filter":
                ok &= result(script is None or len(released) < len(script),
                             f"halted mid-way with finish_reason='content_filter': {len(chunks)}{of} "
                             f"stream tokens released{pct}, {len(released)} characters, "
                             f"{1000 * (time.perf_counter() - t1):.0f} ms end to end")
            else:
                ok &= result(False, f"NOT halted (finish_reason={finish!r}): {len(chunks)}{of} stream "
                                    f"tokens released")
        except openai.APIStatusError as e:
            ok &= result(False, f"the prompt was rejected (HTTP {e.status_code}) before streaming: "
                                f"{_short(str(e), 160)}")

        step(4, "overhead of the guard per streamed token")
        per_tok = _guard_cost_per_token(guard, stream_prompt, ex.BENIGN_A, chunk=size)
        say(f"{per_tok:.3f} ms per token: the output guard's incremental cost on a {size}-character-"
            f"chunk stream (what the proxy feeds it), in this process = "
            f"{100 * per_tok / STREAM_BUDGET_MS:.1f} % of a 50 tokens/s stream")
    say("proxy stopped")
    return ok


def _error_body(e: Any) -> dict[str, Any]:
    """The guard's ``{"category", "score", ...}`` dict wherever the proxy nested it."""
    import ast
    import json

    def find(x: Any, depth: int = 0) -> dict[str, Any] | None:
        if depth > 6:
            return None
        if isinstance(x, str) and x.lstrip()[:1] in "{[":
            for parse in (json.loads, ast.literal_eval):
                try:
                    return find(parse(x), depth + 1)
                except (ValueError, SyntaxError):
                    continue
            return None
        if isinstance(x, dict):
            if "category" in x and "score" in x:
                return x
            for v in x.values():
                if (hit := find(v, depth + 1)) is not None:
                    return hit
        if isinstance(x, list):
            for v in x:
                if (hit := find(v, depth + 1)) is not None:
                    return hit
        return None

    return find(getattr(e, "body", None)) or {}


def _num(x: Any) -> str:
    try:
        return f"{float(x):.3f}"
    except (TypeError, ValueError):
        return "n/a"


def _script_text(cfg: dict[str, Any], model_name: str) -> tuple[str, int] | None:
    """The scripted text behind a config model and the chunk size it streams in
    (``mock_response``: LiteLLM streams 3 characters a chunk; ``scripted/<name>``:
    ``$GUARD_SCRIPTED_LLM_CHUNK``, default 4)."""
    for m in cfg.get("model_list") or []:
        if m.get("model_name") != model_name:
            continue
        params = m.get("litellm_params") or {}
        if isinstance(params.get("mock_response"), str):
            return params["mock_response"], 3
        model = str(params.get("model", ""))
        if model.startswith("scripted/"):
            try:
                mod = _load_module(LITELLM_CONFIG.parent / "scripted_llm.py", "_guard_plugins_scripted_llm")
                text = mod.scripts().get(model.split("/", 1)[1])
                size = max(1, int(os.environ.get("GUARD_SCRIPTED_LLM_CHUNK", "4")))
                return (text, size) if isinstance(text, str) else None
            except (Missing, OSError, AttributeError, ValueError, ImportError):
                return None
    return None


def _n_chunks(text: str, size: int) -> int:
    return (len(text) + size - 1) // size


def _guard_cost_per_token(guard: Any, prompt: str, text: str, chunk: int) -> float:
    runs = []
    for _ in range(5):
        s = guard.stream(prompt)
        t0 = time.perf_counter()
        for i in range(0, len(text), chunk):
            s.feed(text[i:i + chunk])
        v = s.finish()
        runs.append((time.perf_counter() - t0) * 1000.0 / max(1, v.tokens))
    return statistics.median(runs)


# --------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m guard_plugins.demo",
        description="Show the guards at work in a LangChain chain and behind the real LiteLLM "
                    "proxy, with scripted models (offline, no API key).",
        epilog="Exit status: 0 every step behaved as expected, 1 a step did not, 2 a piece is "
               "missing.")
    p.add_argument("--models", default=None, metavar="DIR",
                   help="exported models folder holding input/ and output/ (default: the "
                        "embedded default models)")
    p.add_argument("--skip-langchain", action="store_true", help="skip the LangChain part")
    p.add_argument("--skip-litellm", action="store_true", help="skip the LiteLLM proxy part")
    p.add_argument("--proxy-timeout", type=float, default=150.0, metavar="S",
                   help="seconds to wait for the proxy to come up (default: %(default)s)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    print(_c("1", "guard-plugins demo") + ": Constitutional Classifiers as LLM middleware "
          "(scripted models, offline; harmful texts are redacted placeholders)", flush=True)
    missing = preflight(args.models, not args.skip_langchain, not args.skip_litellm)
    if missing:
        print("\nThe demo cannot run; missing:", file=sys.stderr)
        for m in missing:
            print(f"  - {m}", file=sys.stderr)
        return 2
    guard = load_guard(args.models)
    inp, out = guard.input, guard.output
    say(f"models: {args.models or 'embedded defaults'}; input threshold {inp.threshold:.3f}, "
        f"output threshold {out.threshold:.3f}; providers {guard.providers}")
    ok = True
    if not args.skip_langchain:
        ok &= langchain_demo(guard)
    if not args.skip_litellm:
        try:
            ok &= litellm_demo(guard, args.models, args.proxy_timeout)
        except (RuntimeError, Missing) as e:
            print(f"\nLiteLLM part failed: {e}", file=sys.stderr)
            ok = False
    print()
    msg = f"done in {time.perf_counter() - t0:.0f} s: "
    print(_c("1", msg + ("every step behaved as expected" if ok else "SOME STEP DID NOT BEHAVE AS EXPECTED")))
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
