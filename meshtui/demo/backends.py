"""Tiny asyncio HTTP/1.1 servers that answer every request with who they are, as JSON.

Each demo pod is one of these on its own loopback address (127.x.y.z), so a request that went
through Envoy shows exactly which service, version and pod answered it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
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

    async def start(self) -> Backend:
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
            except (TimeoutError, Exception):  # noqa: BLE001 - shutting down anyway
                pass
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def answer(req: HttpRequest) -> dict:
            self.requests += 1
            return self.identity.answer(req.method, req.path, req.headers)

        await serve_connection(reader, writer, answer, self._writers)


@dataclass
class HttpRequest:
    method: str
    path: str
    proto: str
    headers: dict[str, str]  # lower-case names; a repeated header's values joined with ","

    @property
    def close(self) -> bool:
        return self.headers.get("connection", "").lower() == "close" or self.proto == "HTTP/1.0"


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """One HTTP/1.1 request (its body read and dropped), or None when the connection ends or
    the request is malformed or too large."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    if len(head) > MAX_HEADER_BYTES:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if sep:
            key = k.strip().lower()
            headers[key] = f"{headers[key]},{v.strip()}" if key in headers else v.strip()
    try:
        length = int(headers.get("content-length", "0") or 0)
    except ValueError:
        return None
    if length > MAX_BODY_BYTES:
        return None
    if length:
        await reader.readexactly(length)
    return HttpRequest(parts[0], parts[1], parts[2], headers)


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           answer: Callable[[HttpRequest], dict], writers: set, extra_headers: bytes = b"",
                           max_requests: int = 100_000) -> None:
    """Answer every request on one keep-alive connection with 200 and `answer(request)` as JSON
    (bounded: one connection never serves more than `max_requests`)."""
    writers.add(writer)
    try:
        for _ in range(max_requests):
            req = await read_request(reader)
            if req is None:
                return
            body = json.dumps(answer(req)).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" + extra_headers
                         + f"content-length: {len(body)}\r\n".encode()
                         + (b"connection: close\r\n" if req.close else b"") + b"\r\n" + body)
            await writer.drain()
            if req.close:
                return
    except (ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
        return
    finally:
        writers.discard(writer)
        writer.close()
