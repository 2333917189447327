"""Issue 12, authentication: the control API and the ADS stream refuse callers without the
server's credential (a 0600 token file, or a client certificate when --tls-client-ca is set),
the bootstraps meshtui prints carry it, and made-up node names leave nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time

import grpc
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from test_xds_demo_process import Demo
from test_xds_serve_process import REPO, serve, stop
from xds_kit import wait_until

from meshtui.xds.control_api import SERVICE
from meshtui.xds.resources import CLUSTER

SIDECAR = "default/productpage-v1-6f9c7d5b8-pp01"
REVIEWS = "reviews.default.svc.cluster.local"


def meshtui(state, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONPATH": str(REPO)}
    env.pop("MESHTUI_TOKEN_FILE", None)
    return subprocess.run([sys.executable, "-m", "meshtui", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=60)


def raw_call(addr: str, method: str, metadata=()) -> grpc.StatusCode | dict:
    with grpc.insecure_channel(addr) as ch:
        fn = ch.unary_unary(f"/{SERVICE}/{method}", request_serializer=lambda d: json.dumps(d).encode(),
                            response_deserializer=json.loads)
        try:
            return fn({}, timeout=5, metadata=metadata)
        except grpc.RpcError as exc:
            return exc.code()


def ads_attempt(addr: str, node_id: str, metadata=()) -> tuple[grpc.StatusCode | None, str]:
    """One ADS request as a (fake) Envoy would send it: the status the server ends the stream with."""
    req = discovery_pb2.DiscoveryRequest(type_url=CLUSTER, node=base_pb2.Node(id=node_id))
    with grpc.insecure_channel(addr) as ch:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(ch)
        call = stub.StreamAggregatedResources(iter([req]), timeout=5, metadata=metadata)
        try:
            for resp in call:
                return None, resp.type_url  # the server answered: served
        except grpc.RpcError as exc:
            return exc.code(), exc.details() or ""
    return None, ""


def test_control_api_and_ads_need_the_token(tmp_path):
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0", "--proxy", SIDECAR)
    try:
        addr = info["server"]
        token_file = tmp_path / "meshtui" / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        good = (("authorization", f"Bearer {token}"),)

        # the CLI as the same user works; another user (another state dir, no token) is refused
        assert meshtui(tmp_path, "fault", "add", "--server", addr, "--host", REVIEWS, "--abort", "503",
                       "--percent", "10").returncode == 0
        other = tmp_path / "someone-else"
        for args in (["fault", "clear"], ["fault", "list"], ["scope", "list"]):
            r = meshtui(other, *args, "--server", addr)
            assert r.returncode == 69 and "refused the credentials" in r.stderr, r.stderr
        for method in ("ClearFaults", "Journal", "ListProxies", "AddFault"):
            assert raw_call(addr, method) == grpc.StatusCode.UNAUTHENTICATED
            assert raw_call(addr, method, (("authorization", "Bearer " + "x" * len(token)),)) == \
                grpc.StatusCode.UNAUTHENTICATED
        assert isinstance(raw_call(addr, "ListProxies", good), dict)
        assert len(json.loads(meshtui(tmp_path, "fault", "list", "--server", addr, "-o", "json").stdout)["edits"]) == 1

        # ADS: no token, no stream, even under the real proxy's name (so no NACK in its name)
        code, _ = ads_attempt(addr, SIDECAR)
        assert code == grpc.StatusCode.UNAUTHENTICATED
        assert ads_attempt(addr, SIDECAR, good) == (None, CLUSTER)
        # with the token, a made-up node name is refused and not kept
        for i in range(50):
            code, why = ads_attempt(addr, f"default/ghost-{i}", good)
            assert code == grpc.StatusCode.NOT_FOUND and "no config for proxy" in why
        names = [p["proxy"] for p in raw_call(addr, "ListProxies", good)["proxies"]]
        assert names == [SIDECAR]
    finally:
        assert stop(proc) == 0


def test_printed_bootstrap_carries_the_token(tmp_path):
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0")
    try:
        r = meshtui(tmp_path, "envoy-bootstrap", "--server", info["server"], "--proxy", SIDECAR)
        boot = json.loads(r.stdout)
        token = (tmp_path / "meshtui" / "token").read_text().strip()
        svc = boot["dynamic_resources"]["ads_config"]["grpc_services"][0]
        assert svc["initial_metadata"] == [{"key": "authorization", "value": f"Bearer {token}"}]
    finally:
        assert stop(proc) == 0


@pytest.mark.envoy
def test_an_envoy_without_the_token_is_refused_and_one_with_it_syncs(tmp_path, envoys, monkeypatch):
    """The demo's own Envoy connects with the token its bootstrap carries; an Envoy with meshtui's
    bootstrap minus the token never gets a stream, so it cannot NACK in the sidecar's name."""
    d = Demo(tmp_path / "state")
    try:
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        from meshtui.xds.control_api import ControlClient

        with ControlClient(d.info["server"]) as c:
            def streams() -> list:
                return next(p for p in c.call("ListProxies")["proxies"] if p["proxy"] == SIDECAR)["streams"]

            wait_until(lambda: len(streams()) == 1, what="the demo's Envoy on its stream")
            intruder = envoys(d.info["server"], SIDECAR, name="intruder", wait_ready=False)
            wait_until(lambda: intruder.stats("control_plane.connected_state").get(
                "control_plane.connected_state") == "0", what="intruder stats")
            time.sleep(1.0)  # Envoy retries; every attempt must be refused
            assert len(streams()) == 1
            assert intruder.stats("control_plane.connected_state")["control_plane.connected_state"] == "0"
            active = intruder.stats("listener_manager.total_listeners_active$")
            assert active.get("listener_manager.total_listeners_active", "0") == "0"  # it got no config
    finally:
        d.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make test certificates")
def test_mtls_identity_is_the_credential_and_the_owner(tmp_path):
    def ossl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca = tmp_path / "ca.key", tmp_path / "ca.pem"
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(ca_key),
         "-out", str(ca), "-days", "1", "-subj", "/CN=meshtui-test-ca")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("alice", "subjectAltName=DNS:alice")):
        key, csr, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.csr", tmp_path / f"{name}.pem"
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
             "-out", str(csr), "-subj", f"/CN={name}")
        extfile = tmp_path / f"{name}.ext"
        extfile.write_text(ext + "\n")
        ossl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(crt),
             "-days", "1", "-extfile", str(extfile))
    proc, info = serve(tmp_path, "--listen", "127.0.0.1:0", "--proxy", SIDECAR, "--tls-cert",
                       str(tmp_path / "server.pem"), "--tls-key", str(tmp_path / "server.key"),
                       "--tls-client-ca", str(ca))
    try:
        addr = info["server"]
        tls = ["--tls-ca", str(ca), "--tls-cert", str(tmp_path / "alice.pem"), "--tls-key", str(tmp_path / "alice.key")]
        stranger = tmp_path / "stranger"  # no token: the certificate alone is the credential
        r = meshtui(stranger, "fault", "add", "--server", addr, *tls, "--host", REVIEWS, "--abort", "503",
                    "--percent", "10", "-o", "json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["owner"] == "alice"
        r = meshtui(stranger, "fault", "list", "--server", addr, "--tls-ca", str(ca), "--timeout", "3")
        assert r.returncode == 69  # no client certificate: the TLS handshake itself fails
    finally:
        assert stop(proc) == 0
