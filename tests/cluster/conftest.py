"""Fixtures: a fake API server on loopback per test (stopped by its finalizer even on failure),
a kubeconfig pointing at it, and helpers to wait for watch results without sleeping blindly."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The helpers beside this file import by their own names, whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_mesh import bookinfo
from fakeapi import FakeApiServer, write_kubeconfig

from meshtui.cluster.source import ClusterSource, open_cluster


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    """The journal and any state go to this test's temp dir, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def api() -> Iterator[FakeApiServer]:
    srv = FakeApiServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def mesh_api(api: FakeApiServer) -> FakeApiServer:
    api.add_all(bookinfo())
    return api


@pytest.fixture
def kubeconfig(api: FakeApiServer, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", api.url, context="test-ctx")


@pytest.fixture
def source(mesh_api: FakeApiServer, kubeconfig: Path) -> Iterator[ClusterSource]:
    src = open_cluster(str(kubeconfig), None, None, timeout=5)
    try:
        yield src
    finally:
        src.close()
