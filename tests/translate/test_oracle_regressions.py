"""Differences the Istio oracle (make oracle, tests/oracle) found and meshtui fixed, kept as named
cases that run without Go: each asserts what istiod generates for the same fixture."""

from __future__ import annotations

from pathlib import Path

from meshtui.sources.loader import load_sources
from meshtui.translate import translate

REPO = Path(__file__).resolve().parents[2]
REGRESSIONS = REPO / "tests" / "oracle" / "regressions"  # the sweep's finds, one mesh each


def _cfg(fixture: str, proxy: str):
    return translate(load_sources([str(REPO / "fixtures" / fixture)]).snapshot, proxy)


def _regression(name: str):
    return load_sources([str(REGRESSIONS / f"{name}.yaml")]).snapshot


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
    clusters = translate(_regression("dr-exportto-kept-apart"), "beta/client-0").clusters
    web = clusters["outbound|80||web.alpha.svc.cluster.local"]
    assert web.lb_policy == "LEAST_REQUEST" and "outlierDetection" not in web.policy
    assert web.destination_rule is not None and web.destination_rule.name == "b-public" and web.connect_timeout == 3.0
    assert "outbound|80|v2|web.alpha.svc.cluster.local" in clusters
    assert "outbound|80|v1|web.alpha.svc.cluster.local" not in clusters  # a-private's subset is not merged in
    # the root namespace: no exportTo and exportTo ["*"] are different sets as well
    assert clusters["outbound|9080||api.alpha.svc.cluster.local"].lb_policy == "ROUND_ROBIN"


def test_gateway_virtual_service_without_a_rule_on_the_port_adds_no_virtual_host():
    # found by the sweep (813f2ff): the VS's only rule is limited to port 443, the server is on 80;
    # istiod: "no routes matched", so http.8080 holds only its blackhole virtual host
    rc = translate(_regression("gateway-vs-no-rule-on-port"), "istio-system/istio-ingressgateway-0").route_configs["http.8080"]
    assert [v.name for v in rc.virtual_hosts] == ["blackhole:80"]


def test_inbound_cluster_takes_no_destination_rule_outside_the_sidecar_scope(tmp_path):
    # found by the sweep: alpha's Sidecar imports beta/* only, so web's own service is outside its
    # SidecarScope and istiod gives inbound|80|| no DestinationRule (defaults: 10s, no limits)
    c = translate(_regression("inbound-dr-outside-sidecar-scope"), "alpha/web-v1-0").clusters["inbound|80||"]
    assert c.destination_rule is None and c.policy == {} and c.connect_timeout == 10.0
    # without the Sidecar the service is in the default scope and the rule's pool applies
    text = (REGRESSIONS / "inbound-dr-outside-sidecar-scope.yaml").read_text()
    (tmp_path / "mesh.yaml").write_text("---\n".join(d for d in text.split("---\n") if "kind: Sidecar" not in d))
    c = translate(load_sources([str(tmp_path / "mesh.yaml")]).snapshot, "alpha/web-v1-0").clusters["inbound|80||"]
    assert c.destination_rule is not None and c.destination_rule.name == "web-pool" and c.connect_timeout == 3.0


def test_gateway_pod_without_the_tls_mode_label_is_sent_plaintext():
    # found by the sweep: istio-proxy runs in the ingress gateway's pod, but it has no
    # security.istio.io/tlsMode label and no Gateway selects it; istiod's auto-mTLS sends plaintext
    from meshtui.model.k8s import Pod
    from meshtui.translate.client_tls import endpoint_tls

    snap = _regression("gateway-pod-without-gateway-plaintext")
    cfg = translate(snap, "alpha/web-v1-0")
    pod = snap.get("Pod", "istio-system", "istio-ingressgateway-0")
    assert isinstance(pod, Pod)
    sent, why = endpoint_tls(snap, cfg.clusters["outbound|80||istio-ingressgateway.istio-system.svc.cluster.local"], pod, 8080)
    assert sent == "plaintext", why


def test_endpoint_tls_metadata_follows_the_endpoint_not_the_destination_rule():
    # the oracle's mTLS comparison: frontend's ISTIO_MUTUAL rule for api does not mark api's pods
    # (no tlsMode label) for mTLS; billing's WorkloadEntries name a service account, so they are
    # istio; corners' headless db (a pod without sidecar) gets no Istio mTLS on the gateway
    from meshtui.translate.client_tls import cluster_mtls, endpoint_gets_mtls

    mn = load_sources([str(REPO / "fixtures" / "multi-namespace")]).snapshot
    cfg = translate(mn, "frontend/checkout")
    api = cfg.clusters["outbound|8080||api.backend.svc.cluster.local"]
    assert not any(endpoint_gets_mtls(mn, e, api) for e in cfg.endpoints[api.name])
    billing = cfg.clusters["outbound|8080||billing.internal.example.com"]
    assert cfg.endpoints[billing.name] and all(endpoint_gets_mtls(mn, e, billing) for e in cfg.endpoints[billing.name])
    corners = load_sources([str(REPO / "tests" / "envoy" / "meshes" / "corners")]).snapshot
    gw = translate(corners, "istio-system/corners-gateway-0")
    assert cluster_mtls(corners, gw.clusters["outbound|8000||db.corners.svc.cluster.local"]) is None


def test_virtual_service_destination_comes_on_the_ports_it_names():
    # found by the sweep: alpha's Sidecar imports beta/store only; store's VS mirrors to web:80, so
    # istiod's SidecarScope holds web on port 80 alone (serviceMatchingVirtualServicePorts)
    for lazy in (False, True):
        clusters = translate(_regression("vs-destination-ports-only"), "alpha/web-v1-0", lazy=lazy).clusters
        assert "outbound|80||web.alpha.svc.cluster.local" in clusters
        assert not any(name.startswith("outbound|8080|") for name in clusters)


def test_virtual_service_without_a_rule_on_the_port_leaves_the_host_to_the_next_one():
    # found by the sweep: alpha/store-alpha (first for alpha) has a rule on port 8080 only, so on
    # 8000 and on 80 istiod builds store's virtual host from beta/store-beta
    for lazy in (False, True):
        cfg = translate(_regression("vs-without-rule-on-port-falls-through"), "alpha/web-v1-0", lazy=lazy)
        vh = next(v for v in cfg.route_configs["8000"].virtual_hosts if v.name == "store.beta.svc.cluster.local:8000")
        assert [r.name for r in vh.routes] == ["q-answer"] and vh.routes[0].virtual_service == ("beta", "store-beta")
        vh80 = next(v for v in cfg.route_configs["80"].virtual_hosts if v.name == "store.beta.svc.cluster.local:80")
        assert [r.name for r in vh80.routes] == ["q-answer"]


def test_delegate_rule_without_a_uri_inherits_the_root_match():
    # found by the sweep once it generated delegates: istiod's stringMatchConflict sees no conflict
    # when either side leaves a field unset, and the merged match takes the root's uri (and headers
    # by key); a child regex under a root prefix conflicts and is dropped
    for lazy in (False, True):
        rc = translate(_regression("delegate-inherits-root-match"), "alpha/web-v1-0", lazy=lazy).route_configs["80"]
        vh = next(v for v in rc.virtual_hosts if v.name == "web.alpha.svc.cluster.local:80")
        names = [r.name for r in vh.routes]
        assert names[:2] == ["to-child-r1", "to-child-r3"] and "to-child-r4" not in names, names
        r1 = vh.routes[0]
        assert (r1.match.path_kind, r1.match.path) == ("prefix", "/api")
        assert {h.name for h in r1.match.headers} >= {"x-user", "x-env", ":method"}


def test_delegate_destinations_come_into_the_sidecar_scope():
    # found by the sweep: istiod reads a VirtualService's destinations after merging its delegates,
    # so beta/child's route to store (a short name: the delegate's namespace) brings store into
    # alpha's Sidecar scope (./* only) on every port
    for lazy in (False, True):
        clusters = translate(_regression("delegate-destinations-in-scope"), "alpha/web-v1-0", lazy=lazy).clusters
        assert {"outbound|8000||store.beta.svc.cluster.local", "outbound|5432||store.beta.svc.cluster.local"} <= set(clusters)
