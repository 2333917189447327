"""`meshtui serve` as a process: the JSON line, edits validated against the sources, TLS for
the control API, the refusal to listen off loopback without TLS, clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui.cli import main

REPO = Path(__file__).resolve().parents[2]
MESH = REPO / "meshtui/demo/mesh"


def serve(state: Path, *args: str) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "meshtui", "serve", "-f", str(MESH), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read()
        proc.wait(5)
        return proc, {"error": err}
    return proc, json.loads(line)


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            return -9
    return proc.returncode


def test_serve_validates_edits_against_the_sources(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the CLI reads the server's token there
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0", "--proxy", "default/productpage-v1-6f9c7d5b8-pp01")
    try:
        addr = info["server"]
        assert main(["fault", "add", "--server", addr, "--virtual-service", "default/reviews", "--rule", "1",
                     "--delay", "1s", "--percent", "10"]) == 0
        capsys.readouterr()
        assert main(["fault", "add", "--server", addr, "--virtual-service", "default/nope", "--abort", "503",
                     "--percent", "10"]) == 2
        assert "no such VirtualService" in capsys.readouterr().err
        assert main(["fault", "add", "--server", addr, "--virtual-service", "default/reviews", "--rule", "7",
                     "--abort", "503", "--percent", "10"]) == 2
        assert "2 http rule(s)" in capsys.readouterr().err
        assert main(["fault", "add", "--server", addr, "--host", "reviews", "--abort", "503", "--percent", "10"]) == 2
        assert "did you mean reviews.default.svc.cluster.local" in capsys.readouterr().err
        assert main(["fault", "add", "--server", addr, "--host", "reviews.default.svc.cluster.local",
                     "--subset", "v9", "--abort", "503", "--percent", "10"]) == 2
        assert "subsets: v1, v2, v3" in capsys.readouterr().err
        assert main(["fault", "list", "--server", addr, "-o", "json"]) == 0
        assert len(json.loads(capsys.readouterr().out)["edits"]) == 1
    finally:
        assert stop(proc) == 0
    err = proc.stderr.read()
    assert "serving xDS and the control API" in err and "Traceback" not in err


def test_serve_refuses_a_network_address_without_tls(tmp_path):
    proc, info = serve(tmp_path, "--listen", "0.0.0.0:0")
    assert proc.wait(10) == 2
    assert "--tls-cert" in info["error"] and "Traceback" not in info["error"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")
def test_control_api_over_tls(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=meshtui-test",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        addr = info["server"]
        assert main(["fault", "list", "--server", addr, "--tls-ca", str(cert), "-o", "json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"edits": []}
        # plaintext against a TLS server does not get through
        assert main(["fault", "list", "--server", addr, "--timeout", "2"]) == 69
    finally:
        assert stop(proc) == 0


def test_serve_follows_the_cluster(tmp_path):
    """serve --cluster: proxies are re-translated when the cluster changes (the fake API server
    of the cluster tests stands in for Kubernetes)."""
    sys.path.insert(0, str(REPO / "tests" / "cluster"))
    try:
        from cluster_mesh import bookinfo
        from fakeapi import FakeApiServer, write_kubeconfig
    except ImportError:
        pytest.skip("the cluster tests' fake API server is not available")
    api = FakeApiServer().start()
    try:
        api.add_all(bookinfo())
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, context="test-ctx")
        env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
        proxy = next(o for o in bookinfo() if o["kind"] == "Pod" and o["metadata"]["name"].startswith("productpage"))
        proxy_ref = f"{proxy['metadata']['namespace']}/{proxy['metadata']['name']}"
        proc = subprocess.Popen([sys.executable, "-m", "meshtui", "serve", "--cluster", "--kubeconfig", str(kubeconfig),
                                 "--listen", "127.0.0.1:0", "--proxy", proxy_ref],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        try:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            addr = json.loads(line)["server"]

            def rds_version() -> str:
                from meshtui.xds.control_api import ControlClient

                with ControlClient(addr, token_file=str(tmp_path / "meshtui" / "token")) as c:
                    return c.call("ListProxies")["proxies"][0]["versions"]["RDS"]

            before = rds_version()
            vs = next(o for o in bookinfo() if o["kind"] == "VirtualService" and o["metadata"]["name"] == "ratings")
            vs["spec"]["http"][0]["timeout"] = "3s"
            api.add(vs)
            from xds_kit import wait_until

            wait_until(lambda: rds_version() != before, timeout=15, what="re-translation after a cluster change")
        finally:
            assert stop(proc) == 0
        assert "proxies re-translated" in proc.stderr.read()
    finally:
        api.stop()
        sys.path.remove(str(REPO / "tests" / "cluster"))
