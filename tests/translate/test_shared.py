"""What proxies share (issue 15): rule templates, clusters under a DestinationRule entry and
virtual hosts kept per snapshot with the proxy answers they were built from. A proxy translated
after others (reusing what they left) gets exactly what it gets translated first on a snapshot of
its own, in either order, over every fixture mesh; and the answers that differ between proxies
(a client-namespace DestinationRule's hash policy, sourceLabels, a service visible from one
namespace only) keep their parts apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tracer_kit import dr, vs

from meshtui.model.snapshot import MeshSnapshot, Workload
from meshtui.sources.loader import load_sources
from meshtui.translate import ProxyConfig, translate

REPO = Path(__file__).resolve().parents[2]
MESHES = sorted([p for p in (REPO / "fixtures").iterdir() if p.is_dir() and p.name not in ("scenarios", "broken", "analyze")]
                + [p for p in (REPO / "fixtures" / "scenarios").iterdir() if p.is_dir()]
                + [REPO / "meshtui" / "demo" / "mesh"])


def _vh(vh) -> tuple:
    return (vh.name, vh.domains, vh.routes, vh.require_tls, vh.kind, vh.service, vh.ref, vh.notes, vh.dropped)


def _whole(cfg: ProxyConfig) -> tuple:
    """Everything a translation gives: listeners, virtual hosts, clusters, endpoints, notes, the
    DestinationRule each host uses, and the Envoy JSON."""
    effective = [cfg.drs.lookup(h, ns, cfg.proxy.namespace, cfg.proxy.labels) for h, ns in sorted(cfg.service_namespaces.items())] \
        if cfg.drs is not None else []
    return (cfg.listeners, {n: [_vh(v) for v in rc.virtual_hosts] for n, rc in cfg.route_configs.items()},
            list(cfg.clusters.items()), list(cfg.endpoints.items()), cfg.notes,
            [(e.host, e.tier, e.rules, e.shadowed, e.subsets) if e is not None else None for e in effective],
            [cfg.dr_choice(h) for h in sorted(cfg.service_namespaces)],
            json.dumps(cfg.envoy_resources().__dict__, sort_keys=True, default=str))


def _alone(load, wl: Workload) -> tuple:
    """`wl` translated first thing on a snapshot of its own."""
    snap: MeshSnapshot = load()
    found = next((w for w in snap.workloads if w.ref == wl.ref and w.kind == wl.kind), wl)
    return _whole(translate(snap, found))


def _check_orders(load) -> int:
    snap = load()
    proxies = [Workload("Pod", "default", "(any)", {}), *snap.workloads]
    alone = {(w.kind, w.ref): _alone(load, w) for w in proxies}
    for order in (proxies, proxies[::-1]):
        snap = load()
        mine = {(w.kind, w.ref): w for w in snap.workloads}
        for w in order:
            got = _whole(translate(snap, mine.get((w.kind, w.ref), w)))
            assert got == alone[(w.kind, w.ref)], w.ref
    return len(proxies)


@pytest.mark.parametrize("mesh", MESHES, ids=lambda p: p.name)
def test_a_proxy_after_others_gets_what_it_gets_alone(mesh):
    assert _check_orders(lambda: load_sources([str(mesh)]).snapshot)


_PROXY_DEPENDENT = """
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.0.0.10
  selector: {app: api}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: legacy, annotations: {networking.istio.io/exportTo: "."}}
spec:
  clusterIP: 10.0.0.11
  selector: {app: api}
  ports: [{name: http, port: 8080}]
""" + vs("api", """
  hosts: [api.shop.svc.cluster.local]
  http:
  - match: [{sourceLabels: {tier: front}}]
    route: [{destination: {host: api.shop.svc.cluster.local, subset: v2}}]
  - route: [{destination: {host: api.shop.svc.cluster.local, subset: v1}}]""", "shop") \
    + dr("api", "api.shop.svc.cluster.local", "shop") \
    + dr("api-sticky", "api.shop.svc.cluster.local", "front",
         "  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}") \
    + vs("legacy", """
  hosts: [api.legacy.svc.cluster.local]
  http:
  - route: [{destination: {host: api}}]""", "legacy")

_PODS = {("front", "web-0"): {"app": "web", "tier": "front"}, ("front", "batch-0"): {"app": "batch"},
         ("back", "job-0"): {"app": "job", "tier": "front"}, ("back", "job-1"): {"app": "job", "tier": "front"},
         ("legacy", "old-0"): {"app": "old"},
         ("shop", "api-0"): {"app": "api", "version": "v1"}}


def _pods() -> str:
    return "".join(f"""---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {json.dumps(labels)}}}
status: {{podIP: 10.1.0.{i}, phase: Running, conditions: [{{type: Ready, status: "True"}}]}}
""" for i, ((ns, name), labels) in enumerate(_PODS.items(), start=1))


def test_answers_that_differ_between_proxies_keep_their_parts_apart(tmp_path):
    (tmp_path / "mesh.yaml").write_text(_PROXY_DEPENDENT + _pods())
    load = lambda: load_sources([str(tmp_path)]).snapshot  # noqa: E731
    assert _check_orders(load) == len(_PODS) + 1
    snap = load()
    by_name = {w.name: w for w in snap.workloads}
    web, batch, job = (translate(snap, by_name[n]) for n in ("web-0", "batch-0", "job-0"))

    def api_routes(cfg: ProxyConfig) -> tuple:
        vh = next(v for v in cfg.route_configs["8080"].virtual_hosts if v.name == "api.shop.svc.cluster.local:8080")
        return vh.routes

    # sourceLabels: web and job (tier=front) get the v2 rule (a catch-all for them: the last route), batch does not
    assert [r.action.clusters[0].subset for r in api_routes(web)] == ["v2"]
    assert [r.action.clusters[0].subset for r in api_routes(job)] == ["v2"]
    assert [r.action.clusters[0].subset for r in api_routes(batch)] == ["v1"]
    # front's own DestinationRule: a header hash policy for front's proxies only
    assert api_routes(web)[0].action.hash_policy and api_routes(batch)[0].action.hash_policy
    assert not api_routes(job)[0].action.hash_policy
    # the short name `api` in legacy's VirtualService is legacy's own service (exported to legacy only)
    old = translate(snap, by_name["old-0"])
    legacy = next(v for v in old.route_configs["8080"].virtual_hosts if v.name == "api.legacy.svc.cluster.local:8080")
    assert legacy.routes[0].action.clusters[0].host == "api.legacy.svc.cluster.local"


def test_proxies_share_what_they_see_alike(tmp_path):
    """The sharing is there: two proxies with the same answers get the same Route and Cluster objects."""
    (tmp_path / "mesh.yaml").write_text(_PROXY_DEPENDENT + _pods())
    snap = load_sources([str(tmp_path)]).snapshot
    by_name = {w.name: w for w in snap.workloads}
    web, job = translate(snap, by_name["web-0"]), translate(snap, by_name["job-0"])

    def vh(cfg: ProxyConfig, name: str):
        return next(v for v in cfg.route_configs["8080"].virtual_hosts if v.name == name)

    api = "api.shop.svc.cluster.local:8080"
    # two pods of one workload see everything alike: the same route objects
    twin = translate(snap, by_name["job-1"])
    assert vh(twin, api).routes is vh(job, api).routes and vh(twin, api).routes[0] is vh(job, api).routes[0]
    assert vh(twin, api) is not vh(job, api)  # each proxy has virtual hosts of its own (their domains are its)
    # web (front) and job (back) differ on the hash policy of api.shop: nothing of it is shared
    assert vh(web, api).routes is not vh(job, api).routes
    # clusters under shop's DestinationRule (as shop exports it) are the same objects for back's and
    # legacy's proxies; front's use front's rule
    old = translate(snap, by_name["old-0"])
    assert job.clusters["outbound|8080|v1|api.shop.svc.cluster.local"] is old.clusters["outbound|8080|v1|api.shop.svc.cluster.local"]
    assert web.clusters["outbound|8080|v1|api.shop.svc.cluster.local"] is not job.clusters["outbound|8080|v1|api.shop.svc.cluster.local"]
    assert web.clusters["outbound|8080|v1|api.shop.svc.cluster.local"].policy != job.clusters["outbound|8080|v1|api.shop.svc.cluster.local"].policy


@pytest.mark.parametrize("name", ["bookinfo", "multi-namespace", "whatif"])
def test_an_edit_after_translations_gets_what_a_fresh_build_gets(name):
    """A what-if edit remakes the routing fields only (model.snapshot.rebuild) and the new
    snapshot keeps the memos whose inputs it shares: translated after every proxy of the old one,
    each proxy gets what it gets from a full build of the edited objects."""
    from meshtui.model.snapshot import ROUTING_FIELDS, build, rebuild

    snap = load_sources([str(REPO / "fixtures" / name)]).snapshot
    for wl in [Workload("Pod", "default", "(any)", {}), *snap.workloads]:
        translate(snap, wl)  # what proxies share is now kept with snap's index
    objects = list(snap.by_key.values())
    routing = [o for o in objects if o.kind in ROUTING_FIELDS]
    assert routing
    compared = 0
    for o in routing[:5]:
        for variant in ([x for x in objects if x is not o], [x for x in objects if x is not o] + [o]):
            raw = {k: v for k, v in snap.raw.items() if k in {x.key for x in variant}}
            got = rebuild(snap, {x.key: x for x in variant}, list(snap.diagnostics), raw)
            want = build(variant, list(snap.diagnostics), snap.mesh, raw)
            if o.kind == "VirtualService":  # the DestinationRules are the same objects: their kept entries (and clusters) are reused
                assert got.index.memo("dr_consolidated_by_ns", (got.destination_rules, got.mesh), dict) \
                    is snap.index.memo("dr_consolidated_by_ns", (snap.destination_rules, snap.mesh), dict)
            for wg, ww in zip([Workload("Pod", "default", "(any)", {}), *got.workloads],
                              [Workload("Pod", "default", "(any)", {}), *want.workloads], strict=True):
                assert _whole(translate(got, wg)) == _whole(translate(want, ww)), (o.key, wg.ref)
                compared += 1
    assert compared


def test_a_port_level_consistent_hash_alone_still_gives_routes_their_hash_policy(tmp_path):
    """A proxy skips working out routes' hash policies when no DestinationRule of the snapshot
    hashes; one that hashes only at port level must still count (policy.consistent_hashing)."""
    mesh = _pods() + """---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.0.0.10
  selector: {app: api}
  ports: [{name: http, port: 8080}]
""" + vs("api", """
  hosts: [api.shop.svc.cluster.local]
  http:
  - route: [{destination: {host: api.shop.svc.cluster.local, subset: v1}}]""", "shop")
    hashing = dr("api", "api.shop.svc.cluster.local", "shop",
                 "  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 8080}\n"
                 "      loadBalancer: {consistentHash: {httpHeaderName: x-user}}")
    for extra, want in (("", ()), (hashing, ("x-user",))):
        (tmp_path / "mesh.yaml").write_text(mesh + extra)
        cfg = translate(load_sources([str(tmp_path)]).snapshot, "shop/api-0")
        vh = next(v for v in cfg.route_configs["8080"].virtual_hosts if v.name == "api.shop.svc.cluster.local:8080")
        assert tuple(h.name for h in vh.routes[0].action.hash_policy) == want
