"""Echo backends for the Envoy oracle: asyncio HTTP/1.1 servers on 127.0.0.1 (ports from the OS),
each standing for one (cluster, endpoint) pair, answering 200 with JSON
{cluster, pod, method, path, host, headers} so a response that went through Envoy says exactly
which cluster and pod Envoy picked.

The servers run on one asyncio loop in a background thread; the tests stay synchronous."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from meshtui.demo.backends import HttpRequest, serve_connection


@dataclass(frozen=True)
class Identity:
    cluster: str
    pod: str


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="oracle-echo", daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.loop.is_running():
            self.loop.close()


def _answerer(ident: Identity, hits: list[str]):
    def answer(req: HttpRequest) -> dict:
        hits.append(req.headers.get("host", ""))
        return {"cluster": ident.cluster, "pod": ident.pod, "method": req.method, "path": req.path,
                "host": req.headers.get("host", ""), "headers": req.headers}

    return answer


class EchoPool:
    """Many echo servers on 127.0.0.1; `add(identity)` returns the port of a new one."""

    def __init__(self) -> None:
        self._loop = _Loop()
        self._servers: list[asyncio.base_events.Server] = []
        self._writers: set = set()
        self.identities: dict[int, Identity] = {}
        self.hits: dict[Identity, list[str]] = {}  # the Host of every request each backend answered

    def hosts_seen(self, cluster: str) -> list[str]:
        """The Host headers every backend of `cluster` received, in no particular order."""
        return [h for ident, hs in list(self.hits.items()) if ident.cluster == cluster for h in list(hs)]

    def add(self, ident: Identity) -> int:
        async def start() -> int:
            hits = self.hits.setdefault(ident, [])
            answer = _answerer(ident, hits)
            srv = await asyncio.start_server(
                lambda r, w: serve_connection(r, w, answer, self._writers, b"x-oracle-backend: 1\r\n"), "127.0.0.1", 0)
            self._servers.append(srv)
            return srv.sockets[0].getsockname()[1]

        port = self._loop.run(start())
        self.identities[port] = ident
        return port

    def close(self) -> None:
        async def stop() -> None:
            for s in self._servers:
                s.close()
            for w in list(self._writers):
                w.close()
            for s in self._servers:
                try:
                    await asyncio.wait_for(s.wait_closed(), 2.0)
                except (TimeoutError, Exception):  # noqa: BLE001 - shutting down anyway
                    pass

        try:
            self._loop.run(stop(), timeout=10)
        finally:
            self._loop.close()
