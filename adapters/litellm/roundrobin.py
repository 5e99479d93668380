"""A minimal TCP round-robin balancer for trying N guarded proxy replicas on one machine.

    python adapters/litellm/roundrobin.py --listen 127.0.0.1:4000 \\
        --backend 127.0.0.1:4001 --backend 127.0.0.1:4002

Each client connection goes to the next backend and stays there: an HTTP request, and so a
whole streamed response (SSE), is served by one proxy process from start to end. That is all
the guardrail needs. Its per-request state (the input verdict, the output stream's KV cache and
running maximum) lives in that process for the life of the request, the models are read-only
copies loaded by every replica, and a decision depends only on the request's content, so
replicas share nothing. In production put any L4/L7 balancer here (nginx ``upstream``, a
Kubernetes Service); this script exists for the test and for trying it locally.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections import Counter


class RoundRobin:
    """Forward each accepted connection to the next backend; count connections per backend."""

    def __init__(self, backends: list[tuple[str, int]]):
        if not backends:
            raise ValueError("need at least one backend")
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.connections: Counter[int] = Counter()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        i = next(self._next)
        self.connections[i] += 1
        host, port = self.backends[i]
        try:
            up_r, up_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, up_w), self._pipe(up_r, client_w))

    async def serve(self, host: str, port: int) -> asyncio.AbstractServer:
        return await asyncio.start_server(self.handle, host, port)


def _addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1:4000")
    p.add_argument("--backend", action="append", required=True, help="host:port (repeat)")
    args = p.parse_args(argv)
    rr = RoundRobin([_addr(b) for b in args.backend])

    async def run() -> None:
        server = await rr.serve(*_addr(args.listen))
        async with server:
            await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
