"""The same objects served by the API server and written as a folder give identical snapshots
and identical traces; and the real CLI in cluster mode (exit codes, messages)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cluster_mesh import NS, bookinfo
from fakeapi import BY_KIND, FakeApiServer, write_kubeconfig

from meshtui.cli import main as cli_main
from meshtui.cluster.source import open_cluster
from meshtui.sources.loader import load_sources, read_docs

REPO = Path(__file__).resolve().parents[2]
DEMO_MESH = REPO / "meshtui" / "demo" / "mesh"


def _demo_objects() -> list[dict]:
    docs = []
    for f in sorted(DEMO_MESH.glob("*.yaml")):
        docs += read_docs(str(f), f.read_text())
    return [json.loads(json.dumps(d.data)) for d in docs if isinstance(d.data, dict) and d.data.get("kind") in BY_KIND]


def _write_folder(folder: Path, objs: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, o in enumerate(objs):
        (folder / f"{i:03d}-{o['kind'].lower()}-{o['metadata']['name']}.yaml").write_text(yaml.safe_dump(o))
    return folder


def _strip_places(x):
    """Traces name files and lines; those differ between cluster and folder by design."""
    if isinstance(x, dict):
        return {k: _strip_places(v) for k, v in x.items() if k not in ("file", "line")}
    if isinstance(x, list):
        return [_strip_places(v) for v in x]
    return x


MESHES = {"bookinfo": bookinfo, "demo": _demo_objects}


@pytest.mark.parametrize("mesh", sorted(MESHES))
def test_cluster_and_its_dump_give_identical_snapshots(api, kubeconfig, tmp_path, mesh):
    if mesh == "demo" and not DEMO_MESH.is_dir():
        pytest.skip("no demo mesh in this tree")
    api.add_all([o for o in MESHES[mesh]() if o["kind"] in BY_KIND])
    with open_cluster(str(kubeconfig)) as src:
        cluster = src.load()
        docs = src.list()
    dump = tmp_path / "dump"
    dump.mkdir()
    # as `kubectl get ... -o yaml` would write it: one List
    (dump / "all.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [d.data for d in docs]}))
    folder = load_sources([str(dump)])
    a = dataclasses.replace(cluster.snapshot, diagnostics=())
    b = dataclasses.replace(folder.snapshot, diagnostics=())
    assert a.by_key.keys() == b.by_key.keys()
    assert a == b
    assert cluster.loaded == folder.loaded and cluster.left_out == folder.left_out == 0


REQUESTS = [
    ["--from", f"{NS}/productpage-v1", "-H", "end-user: jason", "http://reviews:9080/reviews/1"],
    ["--from", f"{NS}/productpage-v1", "http://reviews:9080/reviews/1"],
    ["--from", f"{NS}/productpage-v1", "http://ratings:9080/ratings/0"],
    ["--from", f"{NS}/productpage-v1", "http://details:9080/details/0"],
    ["--from", f"{NS}/reviews-v2", "http://httpbin.org/get"],
    ["http://nowhere.example:8080/"],
]


def _trace(capsys, argv: list[str]) -> dict:
    code = cli_main(["trace", *argv, "-o", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_traces_agree_between_cluster_and_folder(mesh_api, kubeconfig, tmp_path, capsys):
    folder = _write_folder(tmp_path / "mesh", bookinfo())
    for req in REQUESTS:
        from_cluster = _trace(capsys, ["--cluster", "--kubeconfig", str(kubeconfig), *req])
        from_folder = _trace(capsys, ["-f", str(folder), *req])
        assert _strip_places(from_cluster) == _strip_places(from_folder), req
    jason = _trace(capsys, ["--cluster", "--kubeconfig", str(kubeconfig), *REQUESTS[0]])
    assert jason["virtualService"]["name"] == "reviews" and jason["virtualService"]["file"] == "cluster:test-ctx"
    assert [d["subset"] for d in jason["destinations"]] == ["v2"]


def test_trace_with_a_file_layered_over_the_cluster(mesh_api, kubeconfig, tmp_path, capsys):
    f = tmp_path / "reviews-v3.yaml"
    f.write_text(yaml.safe_dump({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                                 "metadata": {"name": "reviews", "namespace": NS},
                                 "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews", "subset": "v3"}}]}]}}))
    t = _trace(capsys, ["--cluster", "--kubeconfig", str(kubeconfig), "-f", str(f), *REQUESTS[0]])
    assert [d["subset"] for d in t["destinations"]] == ["v3"]
    assert t["virtualService"]["file"] == str(f)


def _run_cli(args: list[str], env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    env.pop("MESHTUI_DEBUG", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "meshtui", *args], capture_output=True, text=True,
                          timeout=120, cwd=str(REPO), env=env, stdin=subprocess.DEVNULL)


def test_cli_unreachable_server_exits_69(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    kc = write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{port}", context="prod-eu")
    p = _run_cli(["trace", "--cluster", "--kubeconfig", str(kc), "http://reviews:9080/"])
    assert p.returncode == 69, p.stderr
    assert f"http://127.0.0.1:{port}" in p.stderr and "'prod-eu'" in p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_cli_forbidden_exits_69_with_the_rule(tmp_path):
    with FakeApiServer() as srv:
        srv.add_all(bookinfo())
        srv.forbidden.add(("list", "pods"))
        kc = write_kubeconfig(tmp_path / "kc", srv.url, context="ro")
        p = _run_cli(["trace", "--context", "ro", "--kubeconfig", str(kc), "http://reviews:9080/"])
    assert p.returncode == 69, p.stderr
    assert "refused to list pods" in p.stderr and 'resources: ["pods"]' in p.stderr
    assert "Traceback" not in p.stderr


def test_cli_missing_crds_warns_and_traces(tmp_path):
    with FakeApiServer(istio_versions=()) as srv:
        srv.add_all([o for o in bookinfo() if not o["apiVersion"].startswith("networking.istio.io")])
        kc = write_kubeconfig(tmp_path / "kc", srv.url)
        p = _run_cli(["trace", "--cluster", "--kubeconfig", str(kc), "-o", "json", f"http://reviews.{NS}:9080/"])
    assert p.returncode == 0, p.stderr
    assert "Istio CRDs are not installed" in p.stderr
    assert json.loads(p.stdout)["kind"] == "Trace"


def test_cli_bad_kubeconfig_is_a_usage_error(tmp_path):
    p = _run_cli(["trace", "--cluster", "--kubeconfig", str(tmp_path / "nope"), "http://reviews:9080/"])
    assert p.returncode == 2 and "no kubeconfig" in p.stderr and "Traceback" not in p.stderr
