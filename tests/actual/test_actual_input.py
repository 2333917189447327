"""Bad input for what-Envoy-holds: every case is a clear message with its exit code, never a
traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui.actual.dump import DumpError, read_dump

REPO = Path(__file__).resolve().parents[2]
BOOKINFO = str(REPO / "fixtures" / "bookinfo")


def trace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshtui", "trace", "-f", BOOKINFO, "--from", "default/productpage-v1",
                           *args, "http://reviews:9080/"], capture_output=True, text=True, timeout=60, cwd=REPO)


def test_a_dump_that_is_not_json_names_file_line_and_column(tmp_path):
    bad = tmp_path / "dump.json"
    bad.write_text('{"configs": [\n  {"@type": oops}\n]}')
    p = trace("--config-dump", str(bad), "--actual")
    assert p.returncode == 2
    assert f"{bad}:2:" in p.stderr and "not JSON" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("doc, where", [
    ({"configs": "x"}, "configs: expected a list"),
    ({}, "no configs"),
    ({"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump", "dynamic_route_configs": [
        {"route_config": []}]}]}, "configs[0] (RoutesConfigDump).dynamic_route_configs[0].route_config: expected an object"),
])
def test_a_document_that_is_not_a_config_dump_says_where(doc, where):
    with pytest.raises(DumpError, match=None) as e:
        read_dump(doc, "d.json")
    assert where in str(e.value) and str(e.value).startswith("d.json: ")


def test_camel_case_dumps_read_like_the_admins_snake_case():
    doc = {"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump", "dynamicActiveClusters": [
        {"cluster": {"name": "outbound|9080||a.b.svc.cluster.local", "type": "EDS", "lbPolicy": "RANDOM"}}]}]}
    d = read_dump(doc, "x")
    assert d.clusters["outbound|9080||a.b.svc.cluster.local"]["lb_policy"] == "RANDOM"


def test_the_admin_endpoint_must_be_loopback_and_reachable():
    p = trace("--envoy-admin", "http://envoy.example:15000", "--actual")
    assert p.returncode == 2 and "only a loopback address" in p.stderr
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = trace("--envoy-admin", f"http://127.0.0.1:{port}", "--actual")
    assert p.returncode == 69 and "cannot reach Envoy's admin endpoint" in p.stderr and "Traceback" not in p.stderr


def test_actual_without_a_source_says_which_flags_give_one():
    p = trace("--actual")
    assert p.returncode == 2 and "--config-dump FILE, --envoy-admin URL" in p.stderr
