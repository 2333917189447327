"""Golden traces: what matters in each case's trace JSON must equal the reviewed file in expected/.

What matters (`essentials`): where the request went and why — listener, route config, virtual
host, VirtualService, route, outcome and status, every destination with its policy and pods, the
route's timeout, retries, fault, redirect and rewrite, and the steps as stage, verdict and the
object and field each came from. Step wording, file lines and fields added to the trace later
are not compared, so they do not rewrite every golden.

Sources are the project's own scenario meshes (fixtures/scenarios: the bookinfo shop with one
networking file at a time, httpbin, helloworld, an egress case), so the goldens run on a fresh clone. Regenerate with MESHTUI_UPDATE_GOLDEN=1 and review the diff before committing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from meshtui.cli.trace_cmd import build_trace
from meshtui.sources.loader import load_sources

REPO = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).parent / "expected"

SC = "fixtures/scenarios/"
KUBE = SC + "bookinfo/app.yaml"
NET = SC + "bookinfo/"
DRS = NET + "subsets.yaml"
PP = "default/productpage-v1"
BI = "fixtures/bookinfo"
SEC = "fixtures/security/"
BPP = "default/productpage-v1"
RV = "default/reviews-v2"
GWAPI = "fixtures/gatewayapi/mesh"
GWPROXY = "infra/public-istio"  # the proxy istiod deploys for Gateway infra/public

# name: (sources, --from or None, --gateway or None, method, headers, url)
CASES: dict[str, tuple[list[str], str | None, str | None, str, list[str], str]] = {
    "all-v1-reviews": ([KUBE, DRS, NET + "route-all-v1.yaml"], PP, None, "GET", [], "http://reviews:9080/reviews/0"),
    "all-v1-ratings-from-reviews": ([KUBE, DRS, NET + "route-all-v1.yaml"], RV, None, "GET", [], "http://ratings:9080/ratings/0"),
    "no-vs-default-route": ([KUBE], PP, None, "GET", [], "http://details:9080/details/0"),
    "jason-v2": ([KUBE, DRS, NET + "reviews-jason-v2-else-v3.yaml"], PP, None, "GET", ["end-user: jason"], "http://reviews:9080/reviews/0"),
    "jason-rule-skipped": ([KUBE, DRS, NET + "reviews-jason-v2-else-v3.yaml"], PP, None, "GET", ["end-user: bob"], "http://reviews:9080/reviews/0"),
    "test-v2-default-v1": ([KUBE, DRS, NET + "reviews-jason-v2-else-v1.yaml"], PP, None, "GET", [], "http://reviews.default.svc.cluster.local:9080/"),
    "weights-90-10": ([KUBE, DRS, NET + "reviews-v1-90-v2-10.yaml"], PP, None, "GET", [], "http://reviews:9080/reviews/1"),
    "weights-80-20": ([KUBE, DRS, NET + "reviews-v1-80-v2-20.yaml"], PP, None, "GET", [], "http://reviews:9080/"),
    "weights-50-v3": ([KUBE, DRS, NET + "reviews-v1-50-v3-50.yaml"], PP, None, "GET", [], "http://reviews:9080/"),
    "v2-v3": ([KUBE, DRS, NET + "reviews-v2-50-v3-50.yaml"], PP, None, "GET", [], "http://reviews:9080/"),
    "ratings-abort-jason": ([KUBE, DRS, NET + "ratings-abort-for-jason.yaml"], RV, None, "GET", ["end-user: jason"], "http://ratings:9080/ratings/0"),
    "ratings-abort-others": ([KUBE, DRS, NET + "ratings-abort-for-jason.yaml"], RV, None, "GET", [], "http://ratings:9080/ratings/0"),
    "ratings-delay-jason": ([KUBE, DRS, NET + "ratings-delay-for-jason.yaml"], RV, None, "GET", ["end-user: jason"], "http://ratings:9080/ratings/0"),
    "details-v2-no-pods": ([KUBE, DRS, NET + "details-v2-route.yaml"], PP, None, "GET", [], "http://details:9080/details/0"),
    "details-v2-with-v2": ([KUBE, NET + "details-v2.yaml", DRS, NET + "details-v2-route.yaml"], PP, None, "GET", [], "http://details:9080/details/0"),
    "details-fault-555": ([KUBE, NET + "details-abort-555.yaml"], PP, None, "GET", [], "http://details:9080/details/0"),
    "subset-missing-nc": ([KUBE, NET + "route-all-v1.yaml"], PP, None, "GET", [], "http://reviews:9080/"),
    "ratings-db-v2-no-endpoints": ([KUBE, DRS, NET + "ratings-v2-route.yaml"], RV, None, "GET", [], "http://ratings:9080/ratings/0"),
    "gateway-productpage": ([KUBE, NET + "gateway.yaml", "tests/golden/data/ingress-gateway.yaml"], None, "istio-system/istio-ingressgateway", "GET", [], "http://bookinfo.example.com/productpage"),
    "gateway-static-prefix": ([KUBE, NET + "gateway.yaml", "tests/golden/data/ingress-gateway.yaml"], None, "istio-system/istio-ingressgateway", "GET", [], "http://bookinfo.example.com/static/css/x.css?v=1"),
    "gateway-no-route-404": ([KUBE, NET + "gateway.yaml", "tests/golden/data/ingress-gateway.yaml"], None, "istio-system/istio-ingressgateway", "POST", [], "http://bookinfo.example.com:8080/admin"),
    "egress-googleapis-port-rewrite": ([SC + "clients/sleep.yaml", NET + "egress-googleapis.yaml"], "default/sleep", None, "GET", [], "http://www.googleapis.com:80/books/v1/volumes"),
    "gateway-pod-port": ([KUBE, NET + "gateway.yaml", "tests/golden/data/ingress-gateway.yaml"], None, "istio-system/istio-ingressgateway", "GET", [], "http://bookinfo.example.com:8080/login"),
    "unknown-host-passthrough": ([KUBE], PP, None, "GET", [], "http://example.org/"),
    "helloworld-default": ([SC + "helloworld/helloworld.yaml", SC + "clients/curl.yaml"], "default/curl", None, "GET", [], "http://helloworld:5000/hello"),
    "httpbin-gateway-status": ([SC + "httpbin/httpbin.yaml", SC + "httpbin/gateway.yaml", "tests/golden/data/ingress-gateway.yaml"], None, "istio-system/istio-ingressgateway", "GET", [], "http://httpbin.example.com/status/418"),
    # the server side (fixtures/security over fixtures/bookinfo): one case per verdict
    "server-strict-auto-mtls": ([BI, SEC + "strict-mesh.yaml"], BPP, None, "GET", ["end-user: jason"], "http://reviews:9080/"),
    "server-strict-plaintext-refused": ([BI, SEC + "strict-plaintext-client.yaml"], BPP, None, "GET", ["end-user: jason"], "http://reviews:9080/"),
    "server-deny-jason": ([BI, SEC + "deny-jason.yaml"], BPP, None, "GET", ["end-user: jason"], "http://reviews:9080/"),
    "server-allow-principal-denied": ([BI, SEC + "ratings-allow-reviews.yaml"], BPP, None, "GET", [], "http://ratings:9080/ratings/1"),
    "server-allow-principal-allowed": ([BI, SEC + "ratings-allow-reviews.yaml"], "default/reviews-v2", None, "GET", [], "http://ratings:9080/ratings/1"),
    "server-allow-nothing": ([BI, SEC + "details-allow-nothing.yaml"], BPP, None, "GET", [], "http://details:9080/details/1"),
    "server-deny-one-share": ([BI, SEC + "deny-reviews-v3.yaml"], BPP, None, "GET", [], "http://reviews:9080/"),
    "server-plaintext-no-identity": ([BI, SEC + "permissive-principal.yaml"], BPP, None, "GET", [], "http://ratings:9080/ratings/1"),
    # the Kubernetes Gateway API (fixtures/gatewayapi/mesh): istiod's conversion, then the one translation
    "gwapi-ingress-split": ([GWAPI], None, GWPROXY, "GET", [], "http://shop.example.com/api/users"),
    "gwapi-ingress-canary-header": ([GWAPI], None, GWPROXY, "GET", ["x-canary: true"], "http://shop.example.com/api/users"),
    "gwapi-path-prefix-segment": ([GWAPI], None, GWPROXY, "GET", [], "http://shop.example.com/apix"),
    "gwapi-redirect": ([GWAPI], None, GWPROXY, "GET", [], "http://shop.example.com/old"),
    "gwapi-rewrite-mirror": ([GWAPI], None, GWPROXY, "GET", ["x-debug: 1"], "http://shop.example.com/static/app.css?v=2"),
    "gwapi-https-granted": ([GWAPI], None, GWPROXY, "GET", [], "https://shop.example.com/checkout/42"),
    "gwapi-ref-not-permitted-500": ([GWAPI], None, GWPROXY, "GET", [], "http://legacy.example.com/"),
    # the same cross-namespace backendRef, granted, on the HTTP listener (Envoy replays it: tests/envoy/test_goldens.py)
    "gwapi-cross-ns-granted": ([GWAPI, "tests/golden/data/gwapi-cross-namespace-http.yaml"], None, GWPROXY, "GET", [],
                               "http://pay.example.com/pay/7"),
    "gwapi-no-route-404": ([GWAPI], None, GWPROXY, "GET", [], "http://other.example.com/"),
    "gwapi-grpc-method": ([GWAPI], None, GWPROXY, "POST", ["content-type: application/grpc"], "http://grpc.example.com/shop.Catalog/List"),
    "gwapi-grpc-zero-weight-500": ([GWAPI], None, GWPROXY, "POST", ["content-type: application/grpc"], "http://grpc.example.com/shop.Catalog/Get"),
    "gwapi-tls-passthrough": ([GWAPI], None, GWPROXY, "GET", [], "https://secure.example.com:8443/"),
    "gwapi-mesh-weights": ([GWAPI], "shop/client", None, "GET", [], "http://reviews.shop:9080/reviews/1"),
    "gwapi-mesh-jason": ([GWAPI], "shop/client", None, "GET", ["end-user: jason"], "http://reviews.shop:9080/reviews/1"),
    "gwapi-backend-not-found-500": ([GWAPI, "fixtures/gatewayapi/status/backend-not-found.yaml"], None, GWPROXY, "GET", [],
                                    "http://missing.example.com/"),
}


def _resolve(p: str) -> str:
    return str(REPO / p)


def _normalise(obj):
    """File paths relative to the repo, so the goldens do not depend on the checkout."""
    if isinstance(obj, dict):
        return {k: _normalise(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_normalise(v) for v in obj]
    if isinstance(obj, str):
        return obj.replace(str(REPO) + "/", "")
    return obj


KEPT = ("listener", "routeConfig", "virtualHost", "route", "outcome", "status", "responseFlags", "timeout", "retries",
        "fault", "redirect", "directResponse", "rewrite", "requestHeaders", "responseHeaders", "mirrors")
DEST_KEPT = ("host", "subset", "port", "weight", "probability", "cluster", "clusterFound", "destinationRule",
             "trafficPolicy", "loadBalancer")


SERVER_KEPT = ("pod", "cluster", "outcome", "status", "mtlsMode", "clientTls", "rule", "filterChain", "rbacPolicy")


def _ref_text(ref: dict | None) -> str:
    if not ref:
        return ""
    return f" {ref['kind']} {ref['namespace']}/{ref['name']}" + (f" {ref['path']}" if ref.get("path") else "")


def essentials(j: dict) -> dict:
    """The fields of a trace a golden pins (see the module docstring)."""
    out = {k: j.get(k) for k in KEPT}
    vs = j.get("virtualService")
    out["virtualService"] = f"{vs['namespace']}/{vs['name']}" if vs else None
    out["destinations"] = [{**{k: d.get(k) for k in DEST_KEPT},
                            "pods": sorted(e.get("pod") or f"{e['address']}:{e['port']}" for e in d.get("endpoints", []))}
                           for d in j.get("destinations", [])]
    out["steps"] = [f"{s['stage']} {s['verdict']}{_ref_text(s.get('ref'))}" for s in j.get("steps", [])]
    # the server sidecar's verdict per destination, when a server side was walked
    if j.get("grpcStatus") is not None:  # only a gRPC request's local reply has one
        out["grpcStatus"] = j["grpcStatus"]
    server = [{k: v.get(k) for k in SERVER_KEPT} | {"policy": _ref_text(v.get("policy")).strip()} for v in j.get("server") or []]
    if server:
        out["server"] = server
    return out


def run_case(name: str) -> dict:
    return essentials(_raw(name))


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    got = run_case(name)
    path = EXPECTED / f"{name}.json"
    if os.environ.get("MESHTUI_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    assert got == expected


def test_essentials_ignore_wording_and_new_fields_but_not_decisions() -> None:
    j = _raw("jason-v2")
    base = essentials(j)
    reworded = json.loads(json.dumps(j))
    reworded["steps"][0]["detail"] = "said differently"
    reworded["aNewField"] = {"x": 1}
    assert essentials(reworded) == base
    rerouted = json.loads(json.dumps(j))
    rerouted["destinations"][0]["subset"] = "v3"
    assert essentials(rerouted) != base
    reordered = json.loads(json.dumps(j))
    reordered["steps"].reverse()
    assert essentials(reordered) != base


def _raw(name: str) -> dict:
    sources, src, gw, method, headers, url = CASES[name]
    trace = build_trace(load_sources([_resolve(s) for s in sources]).snapshot, src, gw, method, headers, url)
    return _normalise(trace.to_json())
