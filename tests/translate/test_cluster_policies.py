"""Cluster policies kept by value (translate/clusters.py, translate/policy.py): rules written alike
share one policy JSON and one set of derived fields, and every cluster still carries exactly the
effective policy of its own rule, port and subset; schema.to_json's per-type fast path."""

from __future__ import annotations

from tracer_kit import client, dr, mesh, svc

from meshtui.model.istio import DestinationRule
from meshtui.model.schema import to_json
from meshtui.translate import translate
from meshtui.translate.policy import DRIndex, effective_policy

_OUTLIER = """  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, maxEjectionPercent: 0, splitExternalLocalOriginErrors: false}
    tls: {mode: ISTIO_MUTUAL, sni: "", subjectAltNames: []}
"""
# a mapping inside (distribute.to): the policy cannot be a dict key, so it is converted each time
_LOCALITY = """  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
      localityLbSetting:
        enabled: true
        distribute: [{from: r1/z1/*, to: {"r1/z1/*": 80, "r1/z2/*": 20}}]
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, maxEjectionPercent: 0, splitExternalLocalOriginErrors: false}
"""
# the port and a subset change the policy: portLevelSettings at the top, a policy of v2's own
_LAYERED = """  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: RANDOM}
      connectionPool: {tcp: {connectTimeout: 3s}}
"""


def _mesh():
    text = client()
    for name, ns, extra in (("alpha", "a", _OUTLIER), ("beta", "b", _OUTLIER), ("gamma", "a", _LOCALITY),
                            ("delta", "b", _LOCALITY), ("eps", "a", _LAYERED)):
        text += svc(name, ns, versions=("v1", "v2"), extra_ports="\n  - {name: grpc, port: 7070, targetPort: 7070}")
        text += dr(name, f"{name}.{ns}.svc.cluster.local", ns, extra)
    # v2 of eps sets a policy of its own (over the top level, as Istio layers it)
    text = text.replace("  - {name: v2, labels: {version: v2}}\n  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n    portLevelSettings",
                        "  - {name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}}\n"
                        "  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n    portLevelSettings")
    # subsets of two labels each: both must match (v2's app label matches no pod)
    text += svc("theta", "b", versions=("v1", "v2"), extra_ports="\n  - {name: grpc, port: 7070, targetPort: 7070}")
    text += dr("theta", "theta.b.svc.cluster.local", "b").replace(
        "{name: v1, labels: {version: v1}}", "{name: v1, labels: {version: v1, app: theta}}").replace(
        "{name: v2, labels: {version: v2}}", "{name: v2, labels: {version: v2, app: other}}")
    return mesh(text)


def test_every_cluster_carries_its_own_rules_effective_policy():
    snap = _mesh()
    cfg = translate(snap, "default/client")
    drs = DRIndex(snap)
    seen = 0
    for name, c in cfg.clusters.items():
        if c.service is None or c.direction != "outbound":
            continue
        eff = drs.lookup(c.host, c.service.namespace, "default", {"app": "client"})
        tp = effective_policy(eff, c.port, c.subset)
        assert c.policy == (to_json(tp) if tp is not None else {}), name
        assert c.lb_policy == {"ROUND_ROBIN": "ROUND_ROBIN", "RANDOM": "RANDOM", "LEAST_REQUEST": "LEAST_REQUEST"}[
            tp.load_balancer.simple if tp is not None and tp.load_balancer is not None else "LEAST_REQUEST"], name
        seen += 1
    assert seen == 6 * 2 * 3  # six services, two ports, the default and two subsets
    # the layering reached the clusters: port 9080 takes the port-level policy, v2 its own balancer
    eps = "eps.a.svc.cluster.local"
    assert cfg.clusters[f"outbound|9080||{eps}"].lb_policy == "RANDOM"
    assert cfg.clusters[f"outbound|9080||{eps}"].connect_timeout == 3.0
    assert cfg.clusters[f"outbound|7070||{eps}"].lb_policy == "ROUND_ROBIN"
    assert cfg.clusters[f"outbound|7070|v2|{eps}"].lb_policy == "LEAST_REQUEST"
    assert cfg.clusters[f"outbound|9080|v1|{eps}"].subset_labels == {"version": "v1"}
    # a subset's clusters hold the endpoints its labels select, the default all of the port's
    assert [e.labels["version"] for e in cfg.endpoints[f"outbound|9080|v2|{eps}"]] == ["v2"]
    assert sorted(e.labels["version"] for e in cfg.endpoints[f"outbound|9080||{eps}"]) == ["v1", "v2"]
    theta = "theta.b.svc.cluster.local"
    assert [e.labels["version"] for e in cfg.endpoints[f"outbound|7070|v1|{theta}"]] == ["v1"]
    assert cfg.endpoints[f"outbound|7070|v2|{theta}"] == ()
    assert cfg.clusters[f"outbound|7070|v2|{theta}"].subset_labels == {"version": "v2", "app": "other"}


def test_rules_written_alike_share_one_json_and_a_mapping_is_converted_each_time():
    snap = _mesh()
    cfg = translate(snap, "default/client")
    alpha, beta = (cfg.clusters[f"outbound|9080||{h}"] for h in ("alpha.a.svc.cluster.local", "beta.b.svc.cluster.local"))
    gamma, delta = (cfg.clusters[f"outbound|9080||{h}"] for h in ("gamma.a.svc.cluster.local", "delta.b.svc.cluster.local"))
    a_rule, b_rule = (snap.get("DestinationRule", ns, n) for ns, n in (("a", "alpha"), ("b", "beta")))
    assert isinstance(a_rule, DestinationRule) and isinstance(b_rule, DestinationRule)
    assert a_rule.spec.traffic_policy is not b_rule.spec.traffic_policy  # two rules, equal policies
    assert alpha.policy is beta.policy  # converted once
    assert alpha.policy["tls"] == {"mode": "ISTIO_MUTUAL"}  # "" and [] are unset, left out
    assert alpha.policy["outlierDetection"] == {"consecutive5xxErrors": 5, "interval": "10s", "maxEjectionPercent": 0,
                                                "splitExternalLocalOriginErrors": False}
    assert gamma.policy == delta.policy and gamma.policy is not delta.policy
    assert gamma.policy["loadBalancer"]["localityLbSetting"]["distribute"] == [{"from": "r1/z1/*", "to": {"r1/z1/*": 80, "r1/z2/*": 20}}]
    # a second proxy gets the same clusters (kept per rule entry), and a fresh snapshot equal ones
    again = translate(snap, "default/client")
    assert again.clusters[f"outbound|9080||{'alpha.a.svc.cluster.local'}"] is alpha
    fresh = translate(_mesh(), "default/client")
    assert list(fresh.clusters.items()) == list(cfg.clusters.items())


def test_routes_take_the_hash_policy_of_their_port_however_the_cluster_was_made():
    """hash_policy answers from the default cluster built (first proxy), kept (a later proxy), or,
    when none was built yet (lazy), from the rule itself: the same each way."""
    from meshtui.translate.config import HashPolicy

    hashed = """  trafficPolicy:
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {consistentHash: {httpHeaderName: x-user}}
"""
    text = client() + client("other", "b") + svc("zeta", "a", versions=("v1", "v2"),
                                                  extra_ports="\n  - {name: grpc, port: 7070, targetPort: 7070}")
    text += dr("zeta", "zeta.a.svc.cluster.local", "a", hashed)
    snap = mesh(text)
    host = "zeta.a.svc.cluster.local"

    def hashes(cfg) -> dict[int, tuple]:
        out = {}
        for port in (9080, 7070):
            vh = next(v for v in cfg.route_configs[str(port)].virtual_hosts if v.name == f"{host}:{port}")
            out[port] = vh.routes[0].action.hash_policy
        return out

    want = {9080: (HashPolicy("header", "x-user"),), 7070: ()}
    assert hashes(translate(snap, "default/client")) == want
    assert hashes(translate(snap, "b/other")) == want  # the clusters kept from the first
    assert hashes(translate(mesh(text), "b/other", lazy=True)) == want  # no cluster built before the routes
    assert translate(snap, "b/other").clusters[f"outbound|9080||{host}"].lb_policy == "RING_HASH"
