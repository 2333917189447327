"""Tiny asyncio HTTP/1.1 servers that answer every request with who they are, as JSON.

Each demo pod is one of these on its own loopback address (127.x.y.z), so a request that went
through Envoy shows exactly which service, version and pod answered it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Identity:
    service: str
    version: str
    pod: str
    namespace: str = "default"

    def answer(self, method: str, path: str, headers: dict[str, str]) -> dict:
        return {
            "service": self.service,
            "version": self.version,
            "pod": self.pod,
            "namespace": self.namespace,
            "method": method,
            "path": path,
            "host": headers.get("host", ""),
        }


@dataclass
class Backend:
    identity: Identity
    host: str
    port: int
    server: asyncio.base_events.Server | None = None
    requests: int = 0
    _writers: set = field(default_factory=set)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> "Backend":
        self.server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for w in list(self._writers):
                w.close()
            try:
                await asyncio.wait_for(self.server.wait_closed(), 2.0)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - shutting down anyway
                pass
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                if len(head) > MAX_HEADER_BYTES:
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                method, path, proto = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    k, sep, v = line.partition(":")
                    if sep:
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length > MAX_BODY_BYTES:
                    return
                if length:
                    await reader.readexactly(length)
                self.requests += 1
                body = json.dumps(self.identity.answer(method, path, headers)).encode()
                close = headers.get("connection", "").lower() == "close" or proto == "HTTP/1.0"
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n".encode()
                    + (b"connection: close\r\n" if close else b"")
                    + b"\r\n" + body
                )
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()
