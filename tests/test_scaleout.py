"""Scale-out: two real LiteLLM proxy processes with the guardrail behind a round-robin balancer.

``adapters/litellm/roundrobin.py`` forwards each client connection to the next proxy, the way
any L4 balancer does. Every request, a streamed one included, is served whole by one process,
and the guardrail keeps no state between requests (per-request verdicts and stream caches,
read-only models), so two replicas must answer exactly like one: same texts, same halts, same
rejections, with both replicas serving. Only the LLM is scripted.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_litellm import HARMFUL_PROMPT, Models, resolve_models, user
from test_litellm_proxy import HTTP_TIMEOUT, KEY, _stream_once, free_port, launch_proxy

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]


def _roundrobin_module() -> Any:
    spec = importlib.util.spec_from_file_location("roundrobin", REPO / "adapters" / "litellm" / "roundrobin.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, str]]:
    """(balancer url, balancer, url of replica 0) over two proxy processes."""
    models: Models = resolve_models()
    with launch_proxy(models, tmp_path_factory.mktemp("replica0")) as a, \
            launch_proxy(models, tmp_path_factory.mktemp("replica1")) as b:
        rr = _roundrobin_module().RoundRobin([("127.0.0.1", int(p.url.rsplit(":", 1)[1])) for p in (a, b)])
        port = free_port()
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def serve() -> None:
            server = await rr.serve("127.0.0.1", port)
            ready.set()
            async with server:
                await server.serve_forever()

        def run() -> None:
            try:
                loop.run_until_complete(serve())
            except asyncio.CancelledError:
                pass  # teardown

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert ready.wait(10)
        try:
            yield f"http://127.0.0.1:{port}", rr, a.url
        finally:
            loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
            thread.join(10)


async def _prompt_status(http: httpx.AsyncClient) -> int:
    r = await http.post("/v1/chat/completions", json={"model": "g-benign", "messages": user(HARMFUL_PROMPT)})
    return r.status_code


def test_two_replicas_answer_like_one(replicas: tuple[str, Any, str]) -> None:
    url, rr, single = replicas
    plan = ["g-benign", "g-harmful"] * 6
    headers = {"Authorization": f"Bearer {KEY}"}

    async def main() -> tuple[dict[str, Any], list[Any], list[int]]:
        async with httpx.AsyncClient(base_url=single, headers=headers, timeout=HTTP_TIMEOUT) as one:
            expected = {m: await _stream_once(one, m) for m in set(plan)}
        # a new connection per request, so the balancer alternates between the replicas
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=HTTP_TIMEOUT, limits=limits) as http:
            got = await asyncio.gather(*(_stream_once(http, m) for m in plan))
            codes = await asyncio.gather(*(_prompt_status(http) for _ in range(4)))
        return expected, list(got), list(codes)

    expected, got, codes = asyncio.run(asyncio.wait_for(main(), timeout=300))
    assert got == [expected[m] for m in plan]
    assert expected["g-harmful"][1] == ("content_filter",) and expected["g-benign"][1] == ("stop",)
    assert codes == [400] * 4
    assert len(rr.connections) == 2 and min(rr.connections.values()) >= 4, rr.connections
