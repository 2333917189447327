"""The Gateway API through the command line, as a user runs it: trace through the managed
gateway and through a mesh HTTPRoute (steps name the route rule at its file and line),
proxy-config showing istiod's Gateway semantics, analyze reporting the status istiod writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MESH = "fixtures/gatewayapi/mesh"
STATUS = "fixtures/gatewayapi/status"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "meshtui", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _line_of(path: str, text: str, after: int = 0) -> int:
    lines = (REPO / path).read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if i + 1 > after and text in line)


def _trace(*args: str) -> dict:
    p = _run("trace", "-f", MESH, *args, "-o", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_trace_through_the_gateway_names_the_rule_and_line() -> None:
    t = _trace("--gateway", "infra/public-istio", "-H", "x-canary: true", "http://shop.example.com/api/orders")
    assert t["outcome"] == "routed" and [d["cluster"] for d in t["destinations"]] == ["outbound|8080||api-v2.shop.svc.cluster.local"]
    assert t["virtualService"]["name"] == "storefront" and t["virtualService"]["file"].endswith("routes.yaml")
    chosen = [s for s in t["steps"] if s["stage"] == "route" and s["verdict"] == "selected"]
    ref = chosen[0]["ref"]
    # rule 2's match, written at the `- path:` under the third `- matches:` of storefront
    match_line = _line_of(MESH + "/routes.yaml", "- path:", after=_line_of(MESH + "/routes.yaml", "x-canary") - 6)
    assert (ref["kind"], ref["name"], ref["path"], ref["line"]) == ("HTTPRoute", "storefront", "spec.rules[2].matches[0]", match_line)
    listener = next(s for s in t["steps"] if s["stage"] == "listener")["ref"]
    assert (listener["kind"], listener["name"], listener["path"]) == ("KubernetesGateway", "public", "spec.listeners[0]")
    assert listener["line"] == _line_of(MESH + "/gateway.yaml", "- name: http")


def test_path_prefix_is_a_path_segment_and_refused_backend_is_500() -> None:
    t = _trace("--gateway", "infra/public-istio", "http://shop.example.com/apiary")
    assert t["virtualService"]["name"] == "storefront" and t["route"]["name"] == "shop.storefront.0"  # the catch-all, not /api
    t = _trace("--gateway", "infra/public-istio", "http://legacy.example.com/")
    assert (t["outcome"], t["status"]) == ("cluster-not-found", 500)


def test_trace_through_a_mesh_httproute() -> None:
    t = _trace("--from", "shop/client", "http://reviews.shop:9080/")
    assert {d["cluster"]: d["weight"] for d in t["destinations"]} == {
        "outbound|9080||reviews-v1.shop.svc.cluster.local": 80, "outbound|9080||reviews-v2.shop.svc.cluster.local": 20}
    owner = next(s for s in t["steps"] if s["stage"] == "virtual-service")
    assert owner["detail"] == "HTTPRoute shop/reviews owns this host"


def test_proxy_config_renders_istiods_gateway_semantics() -> None:
    p = _run("proxy-config", "routes", "-f", MESH, "--proxy", "infra/public-istio", "-o", "json")
    assert p.returncode == 0, p.stderr
    text = p.stdout
    assert '"path_separated_prefix": "/api"' in text and '"cluster_not_found_response_code": "INTERNAL_SERVER_ERROR"' in text
    listeners = _run("proxy-config", "listeners", "-f", MESH, "--proxy", "infra/public-istio")
    rows = {tuple(line.split()[:2]) for line in listeners.stdout.splitlines()[1:]}
    assert listeners.returncode == 0 and rows == {("0.0.0.0", p) for p in ("80", "443", "5432", "8443")}
    assert "Cluster: outbound|5432||db.shop.svc.cluster.local" in listeners.stdout  # the TCPRoute


def test_analyze_reports_istiods_route_and_listener_conditions() -> None:
    p = _run("analyze", "-f", MESH, "-f", STATUS, "-o", "json")
    assert p.returncode == 79, p.stderr  # errors found
    got = {(m["code"], m["name"], m["message"].split("reason ")[1].split(":")[0] if "reason " in m["message"] else "")
           for m in json.loads(p.stdout)}
    assert got == {
        ("MT0301", "legacy-https", "NotAllowedByListeners"), ("MT0301", "other-host", "NoMatchingListenerHostname"),
        ("MT0301", "orphan", "NoMatchingParent"), ("MT0302", "legacy-bridge", "RefNotPermitted"),
        ("MT0302", "missing-backend", "BackendNotFound"), ("MT0302", "configmap-backend", "InvalidKind"),
        ("MT0303", "orphan", ""), ("MT0304", "clashing", "ProtocolConflict"), ("MT0304", "clashing", "HostnameConflict"),
    }
    # Istio's own checks do not run on what istiod derives (no IST0101/IST0165 on generated names)
    clean = _run("analyze", "-f", MESH, "-o", "json")
    assert [m["code"] for m in json.loads(clean.stdout)] == ["MT0302"]
