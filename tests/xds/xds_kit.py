"""Helpers for the xDS tests (a module of its own name: several test folders have a conftest.py,
and `from conftest import` would find whichever was imported last)."""

from __future__ import annotations

import http.client
import json
import socket
import time

from meshtui.xds.envoy_process import EnvoyError, find_envoy


def envoy_available() -> bool:
    try:
        find_envoy()
        return True
    except EnvoyError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Http:
    """Keep-alive HTTP/1.1 client to one address; reconnects when the server closes."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str = "/", headers: dict | None = None) -> tuple[int, bytes, float]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            t0 = time.monotonic()
            try:
                self.conn.request("GET", path, headers=headers or {})
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return r.status, body, time.monotonic() - t0
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, path: str = "/", headers: dict | None = None) -> tuple[int, dict | bytes]:
        status, body, _ = self.get(path, headers)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def wait_until(pred, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
