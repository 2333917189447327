"""Differences the Istio oracle (make oracle, tests/oracle) found and meshtui fixed, kept as named
cases that run without Go: each asserts what istiod generates for the same fixture."""

from __future__ import annotations

from pathlib import Path

from meshtui.sources.loader import load_sources
from meshtui.translate import translate

REPO = Path(__file__).resolve().parents[2]


def _cfg(fixture: str, proxy: str):
    return translate(load_sources([str(REPO / "fixtures" / fixture)]).snapshot, proxy)


def test_port80_vhost_of_a_service_without_port_80_routes_to_the_listener_port():
    # istiod: route config 80 has details.default.svc.cluster.local:80, its default route to
    # outbound|80|v1|details (the per-port serviceRegistry has no details on port 80)
    rc = _cfg("bookinfo", "default/productpage-v1").route_configs["80"]
    vh = next(v for v in rc.virtual_hosts if v.name == "details.default.svc.cluster.local:80")
    assert vh.domains == ("details.default.svc.cluster.local",)
    assert vh.routes[-1].action.clusters[0].cluster == "outbound|80|v1|details.default.svc.cluster.local"


def test_tls_service_without_vip_falls_through_to_passthrough():
    # istiod: 0.0.0.0_443 matches api.external.example.com by SNI; any other SNI -> PassthroughCluster
    ls = next(x for x in _cfg("bookinfo", "default/productpage-v1").listeners if x.name == "0.0.0.0_443")
    assert all(c.server_names for c in ls.chains)
    assert ls.default_chain is not None and ls.default_chain.tcp.clusters[0].cluster == "PassthroughCluster"


def test_root_namespace_gateway_uses_the_root_namespace_destination_rule():
    # istiod: the ingress gateway in istio-system gets istio-system/api-defaults (RANDOM)
    c = _cfg("multi-namespace", "istio-system/istio-ingressgateway").clusters["outbound|8080||api.backend.svc.cluster.local"]
    assert c.lb_policy == "RANDOM"


def test_port_scoped_egress_listener_imports_one_port():
    # istiod: frontend/web's Sidecar sees backend/api through its 8080 egress listener only
    clusters = _cfg("multi-namespace", "frontend/web").clusters
    assert "outbound|8080||api.backend.svc.cluster.local" in clusters
    assert "outbound|9090||api.backend.svc.cluster.local" not in clusters


def test_destination_rules_with_different_export_to_are_kept_apart():
    # found by the hypothesis sweep (tests/oracle/regressions/dr-exportto-kept-apart.yaml): istiod
    # merges DestinationRules of one host and namespace only when their exportTo sets are equal;
    # a sidecar takes the last rule without a selector, here beta/b-public alone
    snap = load_sources([str(REPO / "tests" / "oracle" / "regressions" / "dr-exportto-kept-apart.yaml")]).snapshot
    clusters = translate(snap, "beta/client-0").clusters
    web = clusters["outbound|80||web.alpha.svc.cluster.local"]
    assert web.lb_policy == "LEAST_REQUEST" and "outlierDetection" not in web.policy
    assert web.destination_rule is not None and web.destination_rule.name == "b-public" and web.connect_timeout == 3.0
    assert "outbound|80|v2|web.alpha.svc.cluster.local" in clusters
    assert "outbound|80|v1|web.alpha.svc.cluster.local" not in clusters  # a-private's subset is not merged in
    # the root namespace: no exportTo and exportTo ["*"] are different sets as well
    assert clusters["outbound|9080||api.alpha.svc.cluster.local"].lb_policy == "ROUND_ROBIN"
