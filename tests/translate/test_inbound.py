"""The inbound side of a sidecar as istiod builds it (listener_inbound.go, filterchain_options.go,
security/authn, security/authz): virtualInbound's chains per port and mTLS mode, port-level
modes, passthrough chains, the Sidecar's ingress ports, RBAC policy names and order, trust
domains from MeshConfig."""

from __future__ import annotations

from pathlib import Path

from meshtui.model.meshconfig import MeshConfig
from meshtui.model.snapshot import MeshSnapshot
from meshtui.sources.loader import load_sources
from meshtui.translate import translate
from meshtui.translate.inbound import (
    ALL_ISTIO_ALPN,
    MTLS_HTTP_ALPN,
    build_inbound,
    chain_options,
    compose_peer_authn,
)
from meshtui.translate.rbac import RbacAction, RbacRequest, first_match, widen_principals

REPO = Path(__file__).resolve().parents[2]
BOOKINFO = REPO / "fixtures" / "bookinfo"


def snap(tmp_path: Path, *docs: str) -> MeshSnapshot:
    files = []
    for i, d in enumerate(docs):
        p = tmp_path / f"o{i}.yaml"
        p.write_text(d)
        files.append(str(p))
    return load_sources([str(BOOKINFO), *files]).snapshot


def chains(s: MeshSnapshot, wl: str = "default/ratings-v1", port: int | None = 9080):
    ib = build_inbound(s, s.find_workload(wl))
    return [c for c in ib.listener.chains if c.destination_port == port]


PA = """apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: {name}, namespace: {ns}}}
spec:
{body}
"""


def test_permissive_by_default_one_tls_and_one_plaintext_chain_per_http_port(tmp_path):
    got = chains(snap(tmp_path))
    assert [(c.name, c.kind, c.transport, c.application_protocols, c.tls is not None) for c in got] == [
        ("0.0.0.0_9080", "http", "tls", ALL_ISTIO_ALPN, True),
        ("0.0.0.0_9080", "http", "raw_buffer", (), False),
    ]
    assert got[0].inbound.route_config.name == "inbound|9080||"
    assert got[0].inbound.route_config.virtual_hosts[0].name == "inbound|http|9080"


def test_strict_keeps_only_the_mtls_chain_and_disable_only_plaintext(tmp_path):
    strict = chains(snap(tmp_path, PA.format(name="s", ns="default", body="  mtls: {mode: STRICT}")))
    assert [(c.transport, c.tls is not None) for c in strict] == [("tls", True)]
    off = chains(snap(tmp_path, PA.format(name="d", ns="default", body="  mtls: {mode: DISABLE}")))
    assert [(c.transport, c.tls is not None) for c in off] == [("raw_buffer", False)]


def test_port_level_mode_overrides_the_workload_and_unset_inherits(tmp_path):
    body = ("  selector: {matchLabels: {app: ratings}}\n  mtls: {mode: STRICT}\n"
            "  portLevelMtls:\n    9080: {mode: DISABLE}\n    7070: {mode: UNSET}\n    8443: {mode: PERMISSIVE}")
    s = snap(tmp_path, PA.format(name="w", ns="default", body=body))
    authn = compose_peer_authn(s, "default", {"app": "ratings", "version": "v1"})
    assert authn.mode.mode == "STRICT"
    assert {p: d.mode for p, d in authn.per_port.items()} == {9080: "DISABLE", 7070: "STRICT", 8443: "PERMISSIVE"}
    assert [c.transport for c in chains(s)] == ["raw_buffer"]
    # ports no Service declares get passthrough chains of their own, with their own mode
    extra = chains(s, port=8443)
    assert {c.name for c in extra} == {"virtualInbound", "virtualInbound-catchall-http"}
    assert {c.tls is not None for c in extra} == {True, False}  # PERMISSIVE: both
    assert all(c.tcp.clusters[0].cluster == "InboundPassthroughCluster" for c in extra if c.tcp)


def test_namespace_policy_unset_inherits_the_mesh_and_the_oldest_namespace_policy_wins(tmp_path):
    mesh = PA.format(name="default", ns="istio-system", body="  mtls: {mode: STRICT}")
    unset = PA.format(name="a-unset", ns="default", body="  mtls: {mode: UNSET}").replace(
        "metadata: {name: a-unset, namespace: default}",
        "metadata: {name: a-unset, namespace: default, creationTimestamp: '2020-01-01T00:00:00Z'}")
    newer = PA.format(name="b-off", ns="default", body="  mtls: {mode: DISABLE}").replace(
        "metadata: {name: b-off, namespace: default}",
        "metadata: {name: b-off, namespace: default, creationTimestamp: '2021-01-01T00:00:00Z'}")
    s = snap(tmp_path, mesh, unset, newer)
    d = compose_peer_authn(s, "default", {"app": "ratings"})
    # istiod takes the oldest namespace-wide policy (UNSET), which inherits the mesh's STRICT
    assert d.mode.mode == "STRICT" and d.mode.ref is not None and d.mode.ref.namespace == "istio-system"


def test_passthrough_blackhole_and_clusters(tmp_path):
    s = snap(tmp_path)
    ib = build_inbound(s, s.find_workload("default/ratings-v1"))
    first = ib.listener.chains[0]
    assert (first.name, first.destination_port, first.tcp.clusters[0].cluster) == ("virtualInbound-blackhole", 15006, "BlackHoleCluster")
    assert list(ib.clusters) == ["inbound|9080||", "InboundPassthroughCluster"]
    assert all(c.type == "ORIGINAL_DST" and c.direction == "inbound" for c in ib.clusters.values())
    cfg = translate(s, "default/ratings-v1")
    assert cfg.listener_for("0.0.0.0", 15006) is ib.listener or cfg.listener_for("0.0.0.0", 15006).name == "virtualInbound"
    assert "inbound|9080||" in cfg.clusters


def test_chain_options_follow_istiod_per_protocol():
    assert [(o.http, o.transport, o.alpn, o.tls) for o in chain_options("STRICT", "AUTO")] == [
        (True, "tls", MTLS_HTTP_ALPN, True), (False, "tls", (), True)]
    assert len(chain_options("PERMISSIVE", "AUTO")) == 5 and len(chain_options("PERMISSIVE", "TCP")) == 3
    assert [(o.http, o.transport) for o in chain_options("DISABLE", "TCP")] == [(False, "raw_buffer")]


def test_sidecar_ingress_ports_replace_the_service_ports(tmp_path):
    sc = """apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ratings-ingress, namespace: default}
spec:
  workloadSelector: {labels: {app: ratings}}
  ingress:
  - port: {number: 3000, protocol: TCP, name: tcp}
    defaultEndpoint: 127.0.0.1:3000
"""
    s = snap(tmp_path, sc)
    assert chains(s) == []
    tcp = chains(s, port=3000)
    assert {c.kind for c in tcp} == {"tcp"} and tcp[0].ref.kind == "Sidecar"


def test_rbac_names_order_and_tcp_chains(tmp_path):
    ap = """apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: {name}, namespace: {ns}}}
spec:
{body}
"""
    s = snap(tmp_path,
             ap.format(name="z-allow", ns="default", body="  selector: {matchLabels: {app: ratings}}\n  rules:\n"
                       "  - to: [{operation: {methods: [GET]}}]\n  - from: [{source: {namespaces: [default]}}]"),
             ap.format(name="mesh-deny", ns="istio-system", body="  action: DENY\n  rules:\n  - to: [{operation: {paths: [/x]}}]"),
             ap.format(name="audit", ns="default", body="  action: AUDIT\n  rules:\n  - {}"))
    http = chains(s)[0].rbac
    assert [f.action for f in http] == [RbacAction.LOG, RbacAction.DENY, RbacAction.ALLOW]
    assert [p.name for p in http[2].policies] == ["ns[default]-policy[z-allow]-rule[0]", "ns[default]-policy[z-allow]-rule[1]"]
    assert http[1].policies[0].name == "ns[istio-system]-policy[mesh-deny]-rule[0]"
    # a TCP chain: the ALLOW rule on methods vanishes, the DENY on paths loses its HTTP field (denies all)
    tcp = next(c for c in build_inbound(s, s.find_workload("default/ratings-v1")).listener.chains
               if c.kind == "tcp" and c.rbac and c.name == "virtualInbound")
    allow = next(f for f in tcp.rbac if f.action is RbacAction.ALLOW)
    deny = next(f for f in tcp.rbac if f.action is RbacAction.DENY)
    assert [p.name for p in allow.policies] == ["ns[default]-policy[z-allow]-rule[1]"]
    anyone = RbacRequest("", "10.0.0.1", "10.1.0.1", 9999, {}, http=False)
    assert first_match(deny, anyone) is not None


def test_trust_domain_from_meshconfig_and_principal_widening(tmp_path):
    s = snap(tmp_path)
    s2 = MeshSnapshot(**{**s.__dict__, "mesh": MeshConfig(trust_domain="example.org", trust_domain_aliases=("old.org",))})
    ib = build_inbound(s2, s2.find_workload("default/ratings-v1"))
    tls = next(c.tls for c in ib.listener.chains if c.tls is not None)
    assert tls.trust_domains == ("example.org", "old.org")
    assert widen_principals(("cluster.local/ns/a/sa/b",), ("example.org", "old.org")) == (
        "example.org/ns/a/sa/b", "old.org/ns/a/sa/b")
    assert widen_principals(("other.org/ns/a/sa/b", "*"), ("example.org",)) == ("other.org/ns/a/sa/b", "*")


def test_trust_domain_is_read_from_a_meshconfig_file_and_names_the_peer(tmp_path):
    from meshtui.simulate import Request, simulate
    from meshtui.sources.meshconfig import read_mesh_config

    f = tmp_path / "mesh.yaml"
    f.write_text("trustDomain: example.org\ntrustDomainAliases: [cluster.local]\n")
    mesh = read_mesh_config(str(f), [])
    assert (mesh.trust_domain, mesh.trust_domain_aliases) == ("example.org", ("cluster.local",))
    s = snap(tmp_path)
    s = MeshSnapshot(**{**s.__dict__, "mesh": mesh})
    t = simulate(translate(s, "default/productpage-v1"), Request.parse("http://ratings:9080/ratings/1"))
    assert any("peer identity spiffe://example.org/ns/default/sa/bookinfo-productpage" in st.detail for st in t.steps)


def test_inbound_cluster_carries_the_services_connection_pool(tmp_path):
    # bookinfo's ratings DestinationRule: maxConnections 100, connectTimeout 2s (istiod sets them server side too)
    s = snap(tmp_path)
    c = build_inbound(s, s.find_workload("default/ratings-v1")).clusters["inbound|9080||"]
    assert c.connect_timeout == 2.0 and c.policy["connectionPool"]["tcp"]["maxConnections"] == 100
    assert c.destination_rule is not None and c.destination_rule.name == "ratings"
    from meshtui.translate.envoy_json import render

    j = next(x for x in render(translate(s, "default/ratings-v1"), {}).clusters if x["name"] == "inbound|9080||")
    assert j["circuit_breakers"]["thresholds"][0]["max_connections"] == 100 and j["connect_timeout"] == "2s"
    # details has no DestinationRule: the mesh's defaults
    d = build_inbound(s, s.find_workload("default/details-v1")).clusters["inbound|9080||"]
    assert d.policy == {} and d.connect_timeout == 10.0


def test_a_request_to_a_gateway_pod_does_not_enter_a_virtual_inbound(tmp_path):
    from meshtui.simulate import Request, simulate
    from meshtui.simulate.server import ServerOutcome

    s = snap(tmp_path)
    t = simulate(translate(s, "default/productpage-v1"), Request.parse("http://istio-ingressgateway.istio-system:80/"))
    gw = [v for v in t.server if "ingressgateway" in v.pod]
    assert gw and all(v.outcome is ServerOutcome.NO_SIDECAR and v.detail == "a gateway pod" for v in gw)


def test_client_mtls_follows_the_endpoint_tls_decision(tmp_path):
    """The renderer's auto-mTLS (transport socket matches, endpoint tlsMode) and the tracer's
    endpoint_tls are one decision: per DestinationRule mode and workload PeerAuthentication."""
    from meshtui.translate.client_tls import cluster_mtls, endpoint_gets_mtls
    from meshtui.translate.envoy_json import render
    from meshtui.translate.inbound_json import InboundRender

    def ratings(s: MeshSnapshot) -> tuple[dict, dict]:
        cfg = translate(s, "default/productpage-v1")
        res = render(cfg, {}, inbound=InboundRender(client_mtls=True))
        name = "outbound|9080|v1|ratings.default.svc.cluster.local"
        return (next(c for c in res.clusters if c["name"] == name), next(e for e in res.endpoints if e["cluster_name"] == name))

    auto, eps = ratings(snap(tmp_path))
    assert [m["name"] for m in auto["transport_socket_matches"]] == ["tlsMode-istio", "tlsMode-disabled"]
    tls = auto["transport_socket_matches"][0]["transport_socket"]["typed_config"]
    assert tls["sni"] == "outbound_.9080_.v1_.ratings.default.svc.cluster.local"
    assert tls["common_tls_context"]["alpn_protocols"] == ["istio-peer-exchange", "istio"]
    assert eps["endpoints"][0]["lb_endpoints"][0]["metadata"]["filter_metadata"]["envoy.transport_socket_match"] == {"tlsMode": "istio"}
    # the workload DISABLE on its port: the endpoint loses its tlsMode, plaintext (the cluster keeps the matches)
    off, eps = ratings(snap(tmp_path, PA.format(name="d", ns="default", body="  selector: {matchLabels: {app: ratings}}\n  mtls: {mode: DISABLE}")))
    assert "transport_socket_matches" in off and "metadata" not in eps["endpoints"][0]["lb_endpoints"][0]
    # the namespace DISABLE: no mTLS on the cluster at all
    ns_off, _ = ratings(snap(tmp_path, PA.format(name="n", ns="default", body="  mtls: {mode: DISABLE}")))
    assert "transport_socket_matches" not in ns_off and "transport_socket" not in ns_off
    s = snap(tmp_path)
    c = translate(s, "default/productpage-v1").clusters["outbound|9080||ratings.default.svc.cluster.local"]
    assert cluster_mtls(s, c) is not None and cluster_mtls(s, c).sans == ("spiffe://cluster.local/ns/default/sa/bookinfo-ratings",)
    assert all(endpoint_gets_mtls(s, e) for e in translate(s, "default/productpage-v1").endpoints[c.name])


DELEGATING_ROOT = """apiVersion: v1
kind: Service
metadata: {name: front, namespace: front}
spec:
  clusterIP: 10.96.7.7
  ports: [{name: http, port: 80}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: front, namespace: front}
spec:
  hosts: [front.front.svc.cluster.local]
  http:
  - delegate: {name: child, namespace: default}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: child, namespace: default}
spec:
  exportTo: [EXPORT]
  http:
  - route:
    - destination: {host: ratings}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ratings, namespace: default}
spec:
  workloadSelector: {labels: {app: ratings}}
  egress:
  - hosts: [front/front.front.svc.cluster.local]
"""


def test_inbound_cluster_takes_the_rule_of_a_service_a_delegate_brings_into_the_sidecar_scope(tmp_path):
    # tests/oracle/regressions/inbound-dr-via-delegate-in-scope.yaml: ratings' Sidecar imports only
    # front's host; front's VirtualService delegates to default/child, whose `ratings` (a short name
    # of the delegate's namespace: ratings.default) is the workload's own service. istiod merges the
    # delegate before collecting the scope's services, so ratings' rule (2s, 100 connections) applies
    s = snap(tmp_path, DELEGATING_ROOT.replace("EXPORT", '"*"'))
    c = build_inbound(s, s.find_workload("default/ratings-v1")).clusters["inbound|9080||"]
    assert c.destination_rule is not None and c.destination_rule.name == "ratings"
    assert c.connect_timeout == 2.0 and c.policy["connectionPool"]["tcp"]["maxConnections"] == 100
    assert "outbound|9080||ratings.default.svc.cluster.local" in translate(s, "default/ratings-v1").clusters
    # a delegate not exported to the root's namespace is not merged: ratings stays outside the scope
    s = snap(tmp_path, DELEGATING_ROOT.replace("EXPORT", '"."'))
    c = build_inbound(s, s.find_workload("default/ratings-v1")).clusters["inbound|9080||"]
    assert c.destination_rule is None and c.policy == {} and c.connect_timeout == 10.0
    assert "outbound|9080||ratings.default.svc.cluster.local" not in translate(s, "default/ratings-v1").clusters


def test_inbound_rule_through_a_delegate_in_the_oracle_regression_meshes():
    # the meshes istiod answered (tests/oracle/regressions/inbound-dr-via-delegate-in-scope.yaml):
    # beta/store's inbound|8000|| takes store-pool (3s, maxConnections 85) through alpha/front's delegate
    s = load_sources([str(REPO / "tests" / "oracle" / "regressions" / "inbound-dr-via-delegate-in-scope.yaml")]).snapshot
    c = build_inbound(s, s.find_workload("beta/store-v1-0")).clusters["inbound|8000||"]
    assert c.destination_rule is not None and c.destination_rule.name == "store-pool" and c.connect_timeout == 3.0
    assert c.policy["connectionPool"]["tcp"]["maxConnections"] == 85
    # the same mesh with the route naming store:9999 (inbound-dr-vs-destination-port-missing.yaml):
    # store is outside the scope and istiod leaves inbound|8000|| at the defaults
    s = load_sources([str(REPO / "tests" / "oracle" / "regressions" / "inbound-dr-vs-destination-port-missing.yaml")]).snapshot
    c = build_inbound(s, s.find_workload("beta/store-v1-0")).clusters["inbound|8000||"]
    assert c.destination_rule is None and c.policy == {} and c.connect_timeout == 10.0


def test_inbound_rule_needs_a_port_the_service_has_among_those_its_virtual_services_name(tmp_path):
    # istiod's serviceMatchingVirtualServicePorts (tests/oracle/regressions/
    # inbound-dr-vs-destination-port-missing.yaml): a destination naming only port 9999, which
    # ratings does not have, leaves ratings outside the scope; naming 9080 brings it in
    mesh = DELEGATING_ROOT.replace("EXPORT", '"*"')
    for port, timeout in ((9999, 10.0), (9080, 2.0)):
        s = snap(tmp_path, mesh.replace("{host: ratings}", f"{{host: ratings, port: {{number: {port}}}}}"))
        c = build_inbound(s, s.find_workload("default/ratings-v1")).clusters["inbound|9080||"]
        assert c.connect_timeout == timeout, port
        assert (c.destination_rule is not None) == (port == 9080)
    # an egress listener with a port takes the destination on that port whatever the route names
    s = snap(tmp_path, mesh.replace("{host: ratings}", "{host: ratings, port: {number: 9999}}").replace(
        "  egress:\n  - hosts:", "  egress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts:"))
    c = build_inbound(s, s.find_workload("default/ratings-v1")).clusters["inbound|9080||"]
    assert c.destination_rule is not None and c.connect_timeout == 2.0
