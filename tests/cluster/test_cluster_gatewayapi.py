"""Cluster mode and the Gateway API (and Istio's security kinds): read at the versions istiod
watches when their CRDs are served, skipped with a note when they are not, kept apart from Istio's
own Gateway of the same name, watched, and traced exactly as the same objects from files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from fakeapi import GATEWAY, GATEWAY_V16, SECURITY, SECURITY_ALL, FakeApiServer, res_of
from waiting import wait_for

from meshtui.cli.trace_cmd import build_trace
from meshtui.cluster.source import ClusterUpdate, open_cluster
from meshtui.model.source import ERROR, INFO, WARNING
from meshtui.sources.loader import load_sources, read_docs

REPO = Path(__file__).resolve().parents[2]
GWAPI = REPO / "fixtures" / "gatewayapi" / "mesh"
GOLDEN = REPO / "tests" / "golden" / "expected"
GWPROXY = "infra/public-istio"


def gwapi_objects() -> list[dict]:
    """fixtures/gatewayapi/mesh as plain objects, those an API server would hold for meshtui
    (not the Secret: meshtui never reads Secrets)."""
    out = []
    for f in sorted(GWAPI.glob("*.yaml")):
        for d in read_docs(str(f), f.read_text()):
            obj = json.loads(json.dumps(d.data))
            if isinstance(obj, dict) and res_of(obj) is not None and obj["kind"] != "Secret":
                out.append(obj)
    return out


def cluster_diags(result, level: str | None = None) -> list[str]:
    return [d.message for d in result.diagnostics if d.code == "MT0601" and (level is None or d.level == level)]


@pytest.fixture
def gw_api(api: FakeApiServer) -> FakeApiServer:
    api.serve_group(GATEWAY, GATEWAY_V16)
    api.serve_group(SECURITY, SECURITY_ALL)
    api.add_all(gwapi_objects())
    return api


def test_without_the_crds_the_read_goes_on_with_a_note(api, kubeconfig):
    """No gateway.networking.k8s.io or security.istio.io group: nothing listed there, no error,
    and an INFO note (not a warning) for each group, naming what is not read."""
    api.optional.clear()
    api.add_all([o for o in gwapi_objects() if o["apiVersion"] in ("v1", "apps/v1")])
    with open_cluster(str(kubeconfig)) as src:
        result = src.load()
    notes = cluster_diags(result, INFO)
    assert any("serves no gateway.networking.k8s.io API group" in n and "HTTPRoute, " in n for n in notes), notes
    assert any("serves no security.istio.io API group" in n and "AuthorizationPolicy" in n for n in notes), notes
    assert not cluster_diags(result, WARNING) and not result.errors
    # the group's discovery answered 404: nothing under it was asked for
    assert not [p for _, p, _ in api.requests if p.startswith(("/apis/gateway.networking.k8s.io/",
                                                             "/apis/security.istio.io/"))]
    assert result.loaded and not any(o.kind in ("HTTPRoute", "KubernetesGateway") for o in result.snapshot.all_resources())


def test_read_at_the_versions_istiod_watches(gw_api, kubeconfig):
    """v1 for each kind, ReferenceGrant at v1beta1 (istiod's version, though v1 is served too);
    GatewayClass (cluster-scoped) listed once even with -n over several namespaces."""
    with open_cluster(str(kubeconfig), namespaces="infra,shop,payments,legacy") as src:
        result = src.load()
        versions = {k.kind: k.api_version for k in src.kinds if k.group == GATEWAY}
    assert versions == {
        "GatewayClass": "gateway.networking.k8s.io/v1", "Gateway": "gateway.networking.k8s.io/v1",
        "HTTPRoute": "gateway.networking.k8s.io/v1", "GRPCRoute": "gateway.networking.k8s.io/v1",
        "TCPRoute": "gateway.networking.k8s.io/v1", "TLSRoute": "gateway.networking.k8s.io/v1",
        "ReferenceGrant": "gateway.networking.k8s.io/v1beta1",
    }
    # discovery asks for the versions read, not every version served (v1alpha2 has nothing to give)
    asked = sorted({p for _, p, _ in gw_api.requests if p.count("/") == 3 and p.startswith(f"/apis/{GATEWAY}/")})
    assert asked == [f"/apis/{GATEWAY}/v1", f"/apis/{GATEWAY}/v1beta1"]
    lists = [(m, p) for m, p, q in gw_api.requests if m == "GET" and "watch" not in q and GATEWAY in p]
    assert [p for _, p in lists if p.endswith("/gatewayclasses")] == ["/apis/gateway.networking.k8s.io/v1/gatewayclasses"]
    assert any(p == "/apis/gateway.networking.k8s.io/v1beta1/namespaces/payments/referencegrants" for _, p in lists)
    kinds = sorted({o.kind for o in result.snapshot.all_resources() if o.kind in (
        "GatewayClass", "KubernetesGateway", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "ReferenceGrant")})
    assert kinds == ["GRPCRoute", "GatewayClass", "HTTPRoute", "KubernetesGateway", "ReferenceGrant", "TCPRoute", "TLSRoute"]
    assert not result.errors and not cluster_diags(result, WARNING)


def test_cluster_and_its_dump_give_identical_snapshots(gw_api, kubeconfig, tmp_path):
    with open_cluster(str(kubeconfig)) as src:
        cluster = src.load()
        docs = src.list()
    (tmp_path / "all.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [d.data for d in docs]}))
    folder = load_sources([str(tmp_path)])
    a = dataclasses.replace(cluster.snapshot, diagnostics=())
    b = dataclasses.replace(folder.snapshot, diagnostics=())
    assert a.by_key.keys() == b.by_key.keys() and a == b
    assert cluster.loaded == folder.loaded and cluster.left_out == folder.left_out == 0


# the goldens of the Gateway API outcomes, traced from the cluster instead of the files
GOLDEN_CASES = {
    "gwapi-ingress-split": (None, GWPROXY, [], "http://shop.example.com/api/users"),
    "gwapi-https-granted": (None, GWPROXY, [], "https://shop.example.com/checkout/42"),
    "gwapi-ref-not-permitted-500": (None, GWPROXY, [], "http://legacy.example.com/"),
    "gwapi-mesh-weights": ("shop/client", None, [], "http://reviews.shop:9080/reviews/1"),
    "gwapi-tls-passthrough": (None, GWPROXY, [], "https://secure.example.com:8443/"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_traces_from_the_cluster_match_the_goldens(gw_api, kubeconfig, name):
    from golden.test_golden import essentials  # the goldens' own notion of what matters

    src_pod, gw, headers, url = GOLDEN_CASES[name]
    with open_cluster(str(kubeconfig)) as src:
        snap = src.load().snapshot
    got = essentials(json.loads(json.dumps(build_trace(snap, src_pod, gw, "GET", headers, url).to_json())))
    assert got == json.loads((GOLDEN / f"{name}.json").read_text())


def test_istio_gateway_and_kubernetes_gateway_of_one_name_are_both_kept(gw_api, kubeconfig):
    """networking.istio.io Gateway infra/public beside gateway.networking.k8s.io Gateway
    infra/public: two objects (keyed Gateway and KubernetesGateway), neither replacing the other."""
    gw_api.add({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
                "metadata": {"name": "public", "namespace": "infra"},
                "spec": {"selector": {"istio": "ingressgateway"},
                         "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}})
    with open_cluster(str(kubeconfig)) as src:
        docs = src.list()
        result = src.build(docs)
    held = sorted((d.data["apiVersion"], d.data["kind"]) for d in docs if d.data["metadata"]["name"] == "public")
    assert held == [("gateway.networking.k8s.io/v1", "Gateway"), ("networking.istio.io/v1", "Gateway")]
    keys = {o.key for o in result.snapshot.all_resources() if o.name == "public"}
    assert {k[0] for k in keys} == {"Gateway", "KubernetesGateway"}


def test_a_kind_served_only_at_an_older_version_is_not_read(api, kubeconfig):
    """HTTPRoute served only at v1beta1 (an old CRD bundle): istiod watches v1 and reads none, so
    meshtui reads none either, and warns naming the versions; the other kinds are read."""
    old = {v: tuple(p for p in plurals if p != "httproutes") for v, plurals in GATEWAY_V16.items()}
    old["v1beta1"] = (*old["v1beta1"], "httproutes")
    api.serve_group(GATEWAY, old)
    api.add_all(gwapi_objects())
    with open_cluster(str(kubeconfig)) as src:
        result = src.load()
        kinds = {k.kind for k in src.kinds if k.group == GATEWAY}
    assert "HTTPRoute" not in kinds and {"Gateway", "GRPCRoute", "ReferenceGrant"} <= kinds
    [warning] = cluster_diags(result, WARNING)
    assert "serves HTTPRoute (httproutes.gateway.networking.k8s.io) only at v1beta1" in warning
    assert "istiod watches it at v1" in warning
    assert not any(o.kind == "HTTPRoute" for o in result.snapshot.all_resources())
    assert any(o.kind == "GRPCRoute" for o in result.snapshot.all_resources())


def test_the_standard_channel_without_tcp_and_tls_routes(api, kubeconfig):
    """The standard-channel bundle has no TCPRoute/TLSRoute CRDs: a note, not a warning."""
    api.serve_group(GATEWAY, {v: tuple(p for p in plurals if p not in ("tcproutes", "tlsroutes"))
                              for v, plurals in GATEWAY_V16.items()})
    api.add_all([o for o in gwapi_objects() if o["kind"] not in ("TCPRoute", "TLSRoute")])
    with open_cluster(str(kubeconfig)) as src:
        result = src.load()
    assert not cluster_diags(result, WARNING) and not result.errors
    assert any("serves no tcproutes.gateway.networking.k8s.io, tlsroutes.gateway.networking.k8s.io" in n
               for n in cluster_diags(result, INFO))
    assert any(o.kind == "HTTPRoute" for o in result.snapshot.all_resources())


def test_not_allowed_to_list_routes_warns_and_reads_the_rest(gw_api, kubeconfig):
    """A role written before meshtui read the Gateway API: the 403 is a warning naming the
    resource to grant, not a failed read."""
    gw_api.forbidden.add(("list", "httproutes.gateway.networking.k8s.io"))
    with open_cluster(str(kubeconfig)) as src:
        result = src.load()
    [warning] = cluster_diags(result, WARNING)
    assert "not allowed to list httproutes.gateway.networking.k8s.io" in warning
    assert any(o.kind == "KubernetesGateway" for o in result.snapshot.all_resources())
    assert not any(o.kind == "HTTPRoute" for o in result.snapshot.all_resources())


def test_security_kinds_are_read(gw_api, kubeconfig):
    gw_api.add({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                "metadata": {"name": "default", "namespace": "shop"}, "spec": {"mtls": {"mode": "STRICT"}}})
    gw_api.add({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                "metadata": {"name": "deny-all", "namespace": "payments"}, "spec": {}})
    with open_cluster(str(kubeconfig)) as src:
        result = src.load()
    kinds = {(o.kind, o.namespace, o.name) for o in result.snapshot.all_resources()}
    assert {("PeerAuthentication", "shop", "default"), ("AuthorizationPolicy", "payments", "deny-all")} <= kinds


def test_watch_follows_gateway_api_changes(gw_api, kubeconfig):
    """A weight change on the mesh HTTPRoute and a new listener on the Kubernetes Gateway reach
    the callback as HTTPRoute/KubernetesGateway changes, and the next load routes by them."""
    updates: list[ClusterUpdate] = []
    with open_cluster(str(kubeconfig)) as src:
        src.list()
        src.watch(updates.append)
        route = gw_api.get("HTTPRoute", "shop", "reviews", group=GATEWAY)
        assert route is not None
        rules = route["spec"]["rules"]
        for ref in rules[-1]["backendRefs"]:
            ref["weight"] = 0 if ref["name"] == "reviews-v1" else 1
        gw_api.add(route)
        u = wait_for(lambda: next((u for u in updates if any(c.kind == "HTTPRoute" for c in u.changes)), None),
                     what="the HTTPRoute change")
        assert ("MODIFIED", "HTTPRoute", "shop", "reviews") in {(c.type, c.kind, c.namespace, c.name) for c in u.changes}
        snap = u.load().snapshot
        trace = build_trace(snap, "shop/client", None, "GET", [], "http://reviews.shop:9080/reviews/1").to_json()
        assert [(d["host"], d["weight"]) for d in trace["destinations"]] == [("reviews-v2.shop.svc.cluster.local", 100)]

        gw = gw_api.get("Gateway", "infra", "public", group=GATEWAY)
        assert gw is not None
        gw_api.delete("Gateway", "infra", "public", group=GATEWAY)
        u = wait_for(lambda: next((u for u in updates if any(c.kind == "KubernetesGateway" for c in u.changes)), None),
                     what="the Gateway's deletion")
        assert ("DELETED", "KubernetesGateway", "infra", "public") in {(c.type, c.kind, c.namespace, c.name) for c in u.changes}
        assert not any(o.kind == "KubernetesGateway" for o in u.load().snapshot.all_resources())
        assert not any(d.data["kind"] == "Gateway" for d in src.store.docs())


def test_file_overlay_replaces_a_cluster_route_by_group(gw_api, kubeconfig, tmp_path):
    """-f over --cluster: a file's HTTPRoute replaces the cluster's of the same name; a file's Istio
    Gateway named like the Kubernetes Gateway is added beside it, not over it."""
    route = gw_api.get("HTTPRoute", "shop", "reviews", group=GATEWAY)
    assert route is not None
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "reviews", "namespace": "shop"}, "spec": route["spec"]}
    route["spec"]["rules"] = route["spec"]["rules"][-1:]
    istio_gw = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "infra"},
                "spec": {"selector": {"istio": "ingressgateway"},
                         "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}
    f = tmp_path / "over.yaml"
    f.write_text(yaml.safe_dump_all([route, istio_gw]))
    from meshtui.cluster.source import read_overlay_docs

    with open_cluster(str(kubeconfig)) as src:
        result = src.load(read_overlay_docs([str(f)]))
    notes = [d.message for d in result.diagnostics if d.code == "MT0602"]
    assert "-f replaces the cluster's HTTPRoute shop/reviews" in notes
    assert "-f adds Gateway infra/public" in notes
    assert not result.errors
    assert sum(1 for d in result.diagnostics if d.level == ERROR) == 0
