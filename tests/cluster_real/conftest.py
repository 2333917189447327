"""Session fixture: one real kube-apiserver + etcd on loopback (see realapi.py), stopped by PID.
Without the binaries (no Go, or `make apiserver` not run) the test module skips, with one line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realapi import RealCluster, missing


@pytest.fixture(scope="session")
def real_api(tmp_path_factory) -> Iterator[RealCluster]:
    why = missing()
    if why:
        pytest.skip(why)
    cluster = RealCluster(tmp_path_factory.mktemp("apiserver")).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    """The journal and any state go to this test's temp dir, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def kubeconfig(real_api: RealCluster, tmp_path: Path) -> Path:
    return real_api.kubeconfig(tmp_path / "kubeconfig")
