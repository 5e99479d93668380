"""End to end: the REAL LiteLLM proxy process with the constitutional guardrail.

One ``litellm --config ... --host 127.0.0.1 --port <free>`` process per module (started once,
killed in teardown), clients are the ``openai`` SDK and raw HTTP (httpx). Only the LLM is
scripted: ``mock_response`` models for chat, and the scripted provider of
``adapters/litellm/scripted_llm.py`` (real token streams, so ``/v1/messages`` and
``/v1/responses`` streams are real too). Every model is served twice: ``g-*`` with the guardrail
attached, ``raw-*`` without, to compare guarded and unguarded streams byte for byte.

Expected halting points come from replaying the same chunks through a runtime stream session in
the test process (same models, same thresholds), so the proxy must cut the stream exactly there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from test_litellm import (
    BENIGN_PROMPT,
    BENIGN_RESPONSE,
    HARMFUL_PROMPT,
    HARMFUL_RESPONSE,
    Models,
    expected_halt,
    mock_pieces,
    resolve_models,
    user,
)

REPO = Path(__file__).resolve().parents[1]
ADAPTER = REPO / "adapters" / "litellm"
LITELLM_BIN = Path(sys.executable).parent / "litellm"
KEY = "sk-guard-plugins-test"
CHUNK = 4            # characters per scripted chunk
STARTUP_S = 90.0
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
pytestmark = pytest.mark.timeout(300)


def pieces(text: str) -> list[str]:
    """How the scripted provider chunks ``text``."""
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proxy:
    url: str
    log: Path
    models: Models

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEY}"}

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:]


def _has_points(models: Models) -> bool:
    from guard_plugins.runtime.manifest import default_models_dir

    root = Path(models.path) if models.path is not None else default_models_dir()
    return all("standard" in json.loads((root / k / "manifest.json").read_text()).get("operating_points", {})
               for k in ("input", "output"))


def proxy_config(models: Models) -> dict[str, Any]:
    rail: dict[str, Any] = {"guardrail": "guard_plugins.litellm.ConstitutionalGuardrail",
                            "mode": ["pre_call", "post_call"], "default_on": False,
                            "fail_closed": True, "providers": "cpu",
                            # few stream slots, so that the concurrency test exercises back-pressure
                            "max_streams": 2}
    if models.path is not None:
        rail["models_path"] = str(models.path)
    if models.input_threshold is None and models.output_threshold is None and _has_points(models):
        rail["operating_point"] = "standard"  # the default named point, read from config.yaml like any option
    if models.input_threshold is not None:
        rail["input_threshold"] = models.input_threshold
    if models.output_threshold is not None:
        rail["output_threshold"] = models.output_threshold
    model_list = []
    for name, text in (("benign", BENIGN_RESPONSE), ("harmful", HARMFUL_RESPONSE)):
        for guarded in (True, False):
            prefix = "g" if guarded else "raw"
            extra = {"guardrails": ["constitutional"]} if guarded else {}
            model_list.append({"model_name": f"{prefix}-{name}",
                               "litellm_params": {"model": f"scripted/{name}", **extra}})
            model_list.append({"model_name": f"{prefix}-mock-{name}",
                               "litellm_params": {"model": f"openai/mock-{name}", "api_key": "unused",
                                                  "mock_response": text, **extra}})
    return {
        "model_list": model_list,
        "litellm_settings": {"custom_provider_map": [
            {"provider": "scripted", "custom_handler": "scripted_llm.handler"}]},
        "guardrails": [{"guardrail_name": "constitutional", "litellm_params": rail}],
        "general_settings": {"master_key": KEY},
    }


@pytest.fixture(scope="module")
def models() -> Models:
    return resolve_models()


@contextlib.contextmanager
def launch_proxy(models: Models, tmp: Path) -> Iterator[Proxy]:
    """One real ``litellm --config`` process on a free 127.0.0.1 port (killed on exit)."""
    if not LITELLM_BIN.exists():
        pytest.skip(f"litellm proxy CLI not installed at {LITELLM_BIN}")
    cfg = tmp / "config.yaml"
    cfg.write_text(yaml.safe_dump(proxy_config(models)))
    scripts = tmp / "scripts.json"
    scripts.write_text(json.dumps({"benign": BENIGN_RESPONSE, "harmful": HARMFUL_RESPONSE}))
    log = tmp / "proxy.log"
    port = free_port()
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               GUARD_SCRIPTED_LLM_SCRIPTS=str(scripts), GUARD_SCRIPTED_LLM_CHUNK=str(CHUNK),
               PYTHONPATH=os.pathsep.join([str(ADAPTER), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    with log.open("wb") as out:
        proc = subprocess.Popen([str(LITELLM_BIN), "--config", str(cfg), "--host", "127.0.0.1",
                                 "--port", str(port), "--num_workers", "1"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    px = Proxy(f"http://127.0.0.1:{port}", log, models)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"proxy exited with {proc.returncode} during startup:\n{px.log_tail()}")
            try:
                if httpx.get(f"{px.url}/health/liveliness", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"proxy not alive after {STARTUP_S:.0f}s:\n{px.log_tail()}")
            time.sleep(0.25)
        yield px
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def proxy(models: Models, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    with launch_proxy(models, tmp_path_factory.mktemp("litellm-proxy")) as px:
        yield px


@pytest.fixture(scope="module")
def client(proxy: Proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=KEY, timeout=30.0, max_retries=0)


@pytest.fixture(scope="module")
def halt_at(models: Models) -> dict[str, int]:
    """Chunk index where each harmful stream must be cut (real scores, same thresholds)."""
    guard = models.guard()
    out = {}
    for name, chunks in (("scripted", pieces(HARMFUL_RESPONSE)), ("mock", mock_pieces(HARMFUL_RESPONSE))):
        k = expected_halt(guard, BENIGN_PROMPT, chunks)
        assert k is not None and k < len(chunks), f"{name}: the harmful script must be flagged mid-stream"
        out[name] = k
    return out


# ---------------------------------------------------------------------------- helpers
def post(proxy: Proxy, route: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{proxy.url}{route}", json=body, headers=proxy.headers(), timeout=HTTP_TIMEOUT)


def sse(proxy: Proxy, route: str, body: dict[str, Any]) -> tuple[bytes, list[tuple[str | None, Any]]]:
    """Raw body bytes and ``(event, data)`` pairs of a streaming request (data JSON-decoded)."""
    with httpx.stream("POST", f"{proxy.url}{route}", json={**body, "stream": True},
                      headers=proxy.headers(), timeout=HTTP_TIMEOUT) as r:
        assert r.status_code == 200, r.read()
        raw = r.read()
    events: list[tuple[str | None, Any]] = []
    for frame in raw.decode().split("\n\n"):
        if not frame.strip():
            continue
        event = None
        data_lines = []
        for line in frame.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data_lines.append(line[5:].strip())
        data = "\n".join(data_lines)
        events.append((event, data if data == "[DONE]" else json.loads(data)))
    return raw, events


VOLATILE = {"id", "created", "created_at", "model", "item_id", "system_fingerprint"}


def normalise(obj: Any) -> Any:
    """Drop per-request ids, timestamps and the model alias (the only legit differences)."""
    if isinstance(obj, dict):
        return {k: normalise(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [normalise(v) for v in obj]
    return obj


def chat_stream(events: list[tuple[str | None, Any]]) -> tuple[list[str], list[str]]:
    texts, finishes = [], []
    for _, d in events:
        if d == "[DONE]":
            continue
        for ch in d.get("choices", []):
            if ch.get("delta", {}).get("content"):
                texts.append(ch["delta"]["content"])
            if ch.get("text"):
                texts.append(ch["text"])
            if ch.get("finish_reason"):
                finishes.append(ch["finish_reason"])
    return texts, finishes


# ---------------------------------------------------------------------------- chat completions
def test_benign_prompt_passes(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="g-mock-benign", messages=user(BENIGN_PROMPT))
    assert r.choices[0].message.content == BENIGN_RESPONSE and r.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
def test_harmful_prompt_rejected(proxy: Proxy, models: Models, route: str) -> None:
    models.need_input()
    verdict = models.guard().check_input(HARMFUL_PROMPT)
    body: dict[str, Any] = {"model": "g-benign"}
    if route == "/v1/responses":
        body["input"] = HARMFUL_PROMPT
    else:
        body["messages"] = user(HARMFUL_PROMPT)
        body["max_tokens"] = 64
    r = post(proxy, route, body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert "guard-plugins blocked the prompt" in err["message"]
    assert f"score {verdict.score:.3f}" in err["message"]
    if verdict.category:
        assert verdict.category in err["message"]
    guard = err["provider_specific_fields"]["error"]["guard"]
    assert guard["stage"] == "input" and guard["category"] == verdict.category
    assert guard["score"] == pytest.approx(verdict.score, abs=1e-5)


def test_harmful_prompt_rejected_openai_client(client: openai.OpenAI, models: Models) -> None:
    models.need_input()
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="g-mock-benign", messages=user(HARMFUL_PROMPT))
    assert info.value.status_code == 400 and "guard-plugins blocked the prompt" in str(info.value)


def test_harmful_stream_halts_openai_client(client: openai.OpenAI, halt_at: dict[str, int]) -> None:
    expected = mock_pieces(HARMFUL_RESPONSE)[:halt_at["mock"]]
    texts, finishes = [], []
    with client.chat.completions.create(model="g-mock-harmful", messages=user(BENIGN_PROMPT),
                                        stream=True) as stream:
        for chunk in stream:
            for ch in chunk.choices:
                assert not finishes, "nothing may follow the content_filter chunk"
                if ch.delta.content:
                    texts.append(ch.delta.content)
                if ch.finish_reason:
                    finishes.append(ch.finish_reason)
    assert texts == expected and finishes == ["content_filter"]


def test_harmful_stream_halts_raw_http(proxy: Proxy, halt_at: dict[str, int]) -> None:
    _, events = sse(proxy, "/v1/chat/completions", {"model": "g-harmful", "messages": user(BENIGN_PROMPT)})
    texts, finishes = chat_stream(events)
    assert texts == pieces(HARMFUL_RESPONSE)[:halt_at["scripted"]]
    assert finishes == ["content_filter"]
    last = [d for _, d in events if d != "[DONE]"][-1]
    assert last["choices"][0]["finish_reason"] == "content_filter"
    assert events[-1][1] == "[DONE]"


@pytest.mark.parametrize("model", ["benign", "mock-benign"])
def test_benign_stream_identical_to_unguarded(proxy: Proxy, model: str) -> None:
    body = {"messages": user(BENIGN_PROMPT)}
    raw_g, ev_g = sse(proxy, "/v1/chat/completions", {**body, "model": f"g-{model}"})
    raw_u, ev_u = sse(proxy, "/v1/chat/completions", {**body, "model": f"raw-{model}"})
    assert "".join(chat_stream(ev_g)[0]) == BENIGN_RESPONSE
    assert [normalise(d) for _, d in ev_g] == [normalise(d) for _, d in ev_u]
    # byte-identical once the per-request id and the model alias are aligned
    ids_g = {d["id"] for _, d in ev_g if isinstance(d, dict)}
    ids_u = {d["id"] for _, d in ev_u if isinstance(d, dict)}
    assert len(ids_g) == len(ids_u) == 1
    aligned = raw_g.replace(ids_g.pop().encode(), ids_u.pop().encode()).replace(
        f'"g-{model}"'.encode(), f'"raw-{model}"'.encode())
    created = {d["created"] for _, d in ev_u if isinstance(d, dict)} | {d["created"] for _, d in ev_g if isinstance(d, dict)}
    for c in created:
        aligned, raw_u = aligned.replace(str(c).encode(), b"T"), raw_u.replace(str(c).encode(), b"T")
    assert aligned == raw_u


def test_text_completions_stream_halts(proxy: Proxy, halt_at: dict[str, int]) -> None:
    _, events = sse(proxy, "/v1/completions", {"model": "g-harmful", "prompt": BENIGN_PROMPT})
    texts, finishes = chat_stream(events)
    assert texts == pieces(HARMFUL_RESPONSE)[:halt_at["scripted"]] and finishes == ["content_filter"]


@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/responses"])
def test_non_streaming_harmful_response_withheld(proxy: Proxy, route: str) -> None:
    body: dict[str, Any] = {"model": "g-harmful"}
    if route == "/v1/responses":
        body["input"] = BENIGN_PROMPT
    elif route == "/v1/completions":
        body["prompt"] = BENIGN_PROMPT
    else:
        body.update(messages=user(BENIGN_PROMPT), max_tokens=64)
    r = post(proxy, route, body)
    assert r.status_code == 200, r.text
    assert "REDACTED" not in r.text and "withheld>" not in r.text
    d = r.json()
    if route in ("/v1/chat/completions", "/v1/completions"):
        assert d["choices"][0]["finish_reason"] == "content_filter"
    elif route == "/v1/messages":
        assert d["stop_reason"] == "refusal"
    else:
        assert d["status"] == "incomplete" and d["incomplete_details"]["reason"] == "content_filter"
    benign = post(proxy, route, {**body, "model": "g-benign"})
    assert benign.status_code == 200 and "chlorophyll" in benign.text


# ---------------------------------------------------------------------------- /v1/messages
def anthropic_texts(events: list[tuple[str | None, Any]]) -> list[str]:
    return [d["delta"]["text"] for e, d in events
            if e == "content_block_delta" and d["delta"].get("type") == "text_delta"]


def test_anthropic_messages_stream(proxy: Proxy, halt_at: dict[str, int]) -> None:
    body = {"messages": user(BENIGN_PROMPT), "max_tokens": 256}
    _, events = sse(proxy, "/v1/messages", {**body, "model": "g-harmful"})
    assert anthropic_texts(events) == pieces(HARMFUL_RESPONSE)[:halt_at["scripted"]]
    tail = [e for e, _ in events[-3:]]
    assert tail == ["content_block_stop", "message_delta", "message_stop"]
    assert events[-2][1]["delta"]["stop_reason"] == "refusal"
    _, ev_g = sse(proxy, "/v1/messages", {**body, "model": "g-benign"})
    _, ev_u = sse(proxy, "/v1/messages", {**body, "model": "raw-benign"})
    assert "".join(anthropic_texts(ev_g)) == BENIGN_RESPONSE
    assert [(e, normalise(d)) for e, d in ev_g] == [(e, normalise(d)) for e, d in ev_u]


def test_mock_response_bypasses_the_stream_hook_on_messages(proxy: Proxy) -> None:
    """litellm 1.108.7: a ``mock_response`` model answers a *streaming* /v1/messages request with a
    non-streaming body, so the streaming hook never runs. The post_call hook still sees the whole
    response and withholds it; the guardrail logs the bypass."""
    r = post(proxy, "/v1/messages", {"model": "g-mock-harmful", "max_tokens": 64, "stream": True,
                                     "messages": user(BENIGN_PROMPT)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["stop_reason"] == "refusal" and "REDACTED" not in r.text
    deadline = time.monotonic() + 10
    while "bypassing the streaming hook" not in proxy.log_tail(200_000):
        assert time.monotonic() < deadline, "the bypass must be logged by the guardrail"
        time.sleep(0.2)


# ---------------------------------------------------------------------------- /v1/responses
def responses_texts(events: list[tuple[str | None, Any]]) -> list[str]:
    return [d["delta"] for _, d in events if isinstance(d, dict) and d.get("type") == "response.output_text.delta"]


def test_responses_stream(proxy: Proxy, halt_at: dict[str, int]) -> None:
    _, events = sse(proxy, "/v1/responses", {"model": "g-harmful", "input": BENIGN_PROMPT})
    assert responses_texts(events) == pieces(HARMFUL_RESPONSE)[:halt_at["scripted"]]
    data = [d for _, d in events if isinstance(d, dict)]
    assert data[-1]["type"] == "response.incomplete"
    assert data[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}
    assert data[-1]["response"]["output"] == []
    assert not any(d["type"] in ("response.output_text.done", "response.completed") for d in data)
    _, ev_g = sse(proxy, "/v1/responses", {"model": "g-benign", "input": BENIGN_PROMPT})
    _, ev_u = sse(proxy, "/v1/responses", {"model": "raw-benign", "input": BENIGN_PROMPT})
    assert "".join(responses_texts(ev_g)) == BENIGN_RESPONSE
    strip = lambda d: normalise({k: v for k, v in d.items() if k != "response"}) if isinstance(d, dict) else d  # noqa: E731
    assert [strip(d) for _, d in ev_g] == [strip(d) for _, d in ev_u]


# ---------------------------------------------------------------------------- load
async def _stream_once(http: httpx.AsyncClient, model: str) -> tuple[str, tuple[str, ...]]:
    async with http.stream("POST", "/v1/chat/completions",
                           json={"model": model, "messages": user(BENIGN_PROMPT), "stream": True}) as r:
        if r.status_code != 200:
            return f"HTTP {r.status_code}", ()
        body = (await r.aread()).decode()
    texts, finishes = [], []
    for line in body.splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            for ch in json.loads(line[5:]).get("choices", []):
                texts.append(ch.get("delta", {}).get("content") or "")
                if ch.get("finish_reason"):
                    finishes.append(ch["finish_reason"])
    return "".join(texts), tuple(finishes)


def test_concurrent_streams_same_verdicts(proxy: Proxy) -> None:
    """10 concurrent streams (bounded, loopback) give 0 errors and exactly the results of the
    same requests made one at a time, through 2 stream slots (the rest wait their turn)."""
    plan = ["g-benign", "g-harmful"] * 5

    async def main() -> tuple[list[Any], list[Any]]:
        async with httpx.AsyncClient(base_url=proxy.url, headers=proxy.headers(), timeout=HTTP_TIMEOUT) as http:
            sequential = {m: await _stream_once(http, m) for m in set(plan)}
            concurrent = await asyncio.gather(*(_stream_once(http, m) for m in plan))
        return [sequential[m] for m in plan], list(concurrent)

    expected, got = asyncio.run(asyncio.wait_for(main(), timeout=120))
    assert got == expected
    assert all(not text.startswith("HTTP") for text, _ in got)
    assert {f for _, fin in got for f in fin} == {"stop", "content_filter"}
    # max_streams: 2 in this proxy's config: streams past it waited for a slot (no thread held)
    assert "waited" in proxy.log_tail(200_000) and "output-stream slot" in proxy.log_tail(200_000)


def test_oversize_prompt_rejected_fast_and_long_prompt_scored_whole(proxy: Proxy, models: Models) -> None:
    """Default budget (16,384 guard tokens, on_oversize="reject"): a prompt over it gets HTTP 400
    with code "input_too_large" naming size and limit; a long prompt under it is scored whole,
    so a harmful request at its very end is still blocked."""
    from guard_plugins.runtime import DEFAULT_MAX_INPUT_TOKENS

    filler = "The committee reviewed the library renovation schedule and the spring fair rota. "
    guard = models.guard()
    per = len(guard.input._tok.encode(filler))
    over = filler * (DEFAULT_MAX_INPUT_TOKENS // per + 20)
    r = post(proxy, "/v1/chat/completions", {"model": "g-mock-benign", "messages": user(over)})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    guard_info = err["provider_specific_fields"]["error"]
    assert guard_info["code"] == "input_too_large" and guard_info["guard"]["reason"] == "too_large"
    assert f"limit of {DEFAULT_MAX_INPUT_TOKENS} tokens" in err["message"]
    models.need_input()
    # varied text (no repeated windows) of about 6,000 tokens, the harmful request last
    long_ok = " ".join(f"Entry {i} of the minutes: item {i * 37 % 1000} was approved." for i in range(500))
    assert guard.check_input(long_ok).flagged is False
    r = post(proxy, "/v1/chat/completions", {"model": "g-mock-benign",
                                              "messages": user(long_ok + "\n\n" + HARMFUL_PROMPT)})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["provider_specific_fields"]["error"]["code"] == "content_filter"
