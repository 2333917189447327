"""A misbehaving API server cannot hang meshtui or make it lie (issue 12), through the real
`meshtui trace --cluster` against the loopback stand-in: a server that trickles a list's bytes
or never ends its `continue` chain stops at --request-timeout (exit 69, naming the list); a list
whose `items` is not a list is an error, not an empty list; an item whose metadata is not a map
is reported on that object and left out, never an internal error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_mesh import bookinfo
from fakeapi import FakeApiServer, write_kubeconfig

from meshtui.errors import EXIT_UNREACHABLE

REPO = Path(__file__).resolve().parents[2]


def trace(kc: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "KUBECONFIG": str(kc)}
    # the subprocess timeout only catches a hang (the bug); the tests assert on what meshtui says
    return subprocess.run([sys.executable, "-m", "meshtui", "trace", "--cluster", "--request-timeout", "2", *extra,
                           "http://reviews.default.svc.cluster.local:9080/"],
                          capture_output=True, text=True, timeout=90, cwd=str(REPO), env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def api(tmp_path):
    with FakeApiServer() as srv:
        srv.add_all(bookinfo())
        yield srv, write_kubeconfig(tmp_path / "kc", srv.url)


def test_a_trickling_list_stops_at_the_request_timeout(api):
    srv, kc = api
    srv.trickle = 0.05  # a byte every 50 ms: each read returns, so the socket timeout never fires
    proc = trace(kc)
    assert proc.returncode == EXIT_UNREACHABLE, proc.stderr
    assert "did not finish answering within --request-timeout (2s)" in proc.stderr
    assert "when asked to list" in proc.stderr and "Traceback" not in proc.stderr


def test_an_endless_continue_chain_stops(api):
    srv, kc = api
    srv.endless_continue = True  # every page says there is more
    proc = trace(kc)
    assert proc.returncode == EXIT_UNREACHABLE, proc.stderr
    assert ("did not finish answering within --request-timeout" in proc.stderr
            or "its list never ends" in proc.stderr), proc.stderr
    assert "pages" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("items, says", [
    ({"a": 1}, "'items' is object, not a list"),
    ("none", "'items' is string, not a list"),
    ([{"metadata": {"name": "x"}}, 7], "item 1 is integer, not an object"),
])
def test_items_that_are_not_a_list_are_an_error(api, items, says):
    srv, kc = api
    srv.list_bodies["services"] = json.dumps({"kind": "ServiceList", "apiVersion": "v1",
                                              "metadata": {"resourceVersion": "1"}, "items": items}).encode()
    proc = trace(kc)
    assert proc.returncode == EXIT_UNREACHABLE, proc.stdout  # before: no Services at all, and a confident trace
    assert says in proc.stderr and "list services" in proc.stderr and "Refusing to treat it as empty" in proc.stderr
    assert proc.stdout == ""


def test_an_item_whose_metadata_is_not_a_map_is_reported_and_left_out(api):
    srv, kc = api
    good = [o for o in bookinfo() if o["kind"] == "Service"]
    body = {"kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
            "items": [*good, {"metadata": "oops", "spec": {"ports": [{"port": 80}]}}]}
    srv.list_bodies["services"] = json.dumps(body).encode()
    proc = trace(kc)
    assert proc.returncode == 0, proc.stderr  # before: an internal error (exit 1)
    assert "metadata must be a map, got string" in proc.stderr and "Traceback" not in proc.stderr
    assert "reviews.default.svc.cluster.local" in proc.stdout
