"""Proxies of one sharing class (namespace, cluster, the labels outbound config reads) share one
translation in MeshTranslator, and each still gets exactly what its own full translation gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit
from meshtui.sources.loader import load_sources
from meshtui.xds.translator import MeshTranslator, outbound_label_keys, share_key

REPO = Path(__file__).resolve().parents[2]

MESHES = ["meshtui/demo/mesh", "fixtures/bookinfo", "fixtures/multi-namespace", "fixtures/scenarios",
          "fixtures/gatewayapi/mesh"]


def by_name(res) -> str:
    """Resources keyed by name: sharing may list them in another order, xDS does not care."""
    def keyed(items, key="name"):
        return {x[key]: x for x in items}
    return json.dumps({"l": keyed(res.listeners), "r": keyed(res.routes), "c": keyed(res.clusters),
                       "e": keyed(res.endpoints, "cluster_name"), "rt": res.runtime}, sort_keys=True)


def edits_for(snap) -> list[list]:
    vs = next(iter(snap.virtual_services), None)
    svc = next((s for s in snap.registry if s.origin == "k8s"), None)
    out: list[list] = [[]]
    if svc is not None:
        out.append([FaultEdit(id="f1", target=FaultTarget(host=svc.hostname), percent=50, abort_status=503,
                              ttl_seconds=600, created_at=1000.0)])
    if vs is not None:
        out.append([FaultEdit(id="f2", target=FaultTarget(virtual_service=f"{vs.namespace}/{vs.name}"), percent=10,
                              delay_seconds=0.5, ttl_seconds=600, created_at=1000.0)])
    ns = snap.workloads[0].namespace if snap.workloads else "default"
    out.append([ScopeEdit(id="s1", namespace=ns, egress_hosts=("./*",), outbound_traffic_policy="REGISTRY_ONLY",
                          created_at=1000.0), *out[-1]])
    return out


@pytest.mark.parametrize("mesh", MESHES)
def test_shared_translation_equals_each_proxys_own(mesh):
    snap = load_sources([str(REPO / mesh)]).snapshot
    proxies = sorted({w.ref for w in snap.workloads})
    assert proxies, mesh
    shared = MeshTranslator(snap)
    own = MeshTranslator(snap, fast=False)
    for edits in edits_for(snap):
        for proxy in proxies:
            assert by_name(shared.resources(proxy, edits, 1001.0)) == by_name(own.resources(proxy, edits, 1001.0)), (
                mesh, proxy, [e.id for e in edits])
    # fewer translations than proxies wherever two of them share a class
    keys = outbound_label_keys(snap)
    classes = {share_key(snap, w, keys) or w.ref for w in snap.workloads}
    assert shared.translations <= len(classes) * len(edits_for(snap))


def write_mesh(folder: Path) -> None:
    """Two namespaces; in `shop`, six pods of three apps, and a VirtualService whose rule only
    pods labelled tier=web see (sourceLabels): tier splits the namespace in two classes."""
    docs = []
    for ns, apps in (("shop", ("cart", "pay", "web")), ("ops", ("mon",))):
        for app in apps:
            docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: {app}, namespace: {ns}}}
spec:
  selector: {{app: {app}}}
  ports: [{{name: http, port: 8080}}]""")
            for v in ("v1", "v2"):
                tier = "web" if app == "web" else "back"
                docs.append(f"""apiVersion: v1
kind: Pod
metadata: {{name: {app}-{v}, namespace: {ns}, labels: {{app: {app}, version: {v}, tier: {tier}}}}}
spec: {{containers: [{{name: c, ports: [{{containerPort: 8080}}]}}]}}
status: {{podIP: 10.0.{len(docs)}.1, phase: Running, conditions: [{{type: Ready, status: "True"}}]}}""")
    docs.append("""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: pay, namespace: shop}
spec:
  hosts: [pay]
  http:
  - match: [{sourceLabels: {tier: web}}]
    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
    route: [{destination: {host: pay}}]
  - route: [{destination: {host: pay}}]""")
    (folder / "mesh.yaml").write_text("\n---\n".join(docs) + "\n")


def test_proxies_of_one_scope_share_one_translation(tmp_path):
    write_mesh(tmp_path)
    snap = load_sources([str(tmp_path)]).snapshot
    tr = MeshTranslator(snap)
    proxies = sorted(w.ref for w in snap.workloads)
    assert len(proxies) == 8
    first = {p: tr.resources(p, [], 1001.0) for p in proxies}
    # shop: tier=web (web-v1, web-v2) and tier=back (cart, pay: 4 pods); ops: mon (2 pods)
    assert tr.translations == 3
    # one rendering per class: the route configs are the very same objects within a class
    assert first["shop/cart-v1"].routes is first["shop/pay-v2"].routes
    assert first["shop/web-v1"].routes is first["shop/web-v2"].routes
    assert first["shop/web-v1"].routes is not first["shop/cart-v1"].routes
    # and each pod keeps its own inbound side
    inbound = {p: [c for c in r.clusters if c["name"].startswith("inbound|")] for p, r in first.items()}
    assert [c["name"] for c in inbound["shop/cart-v1"]] == ["inbound|8080||"]
    assert inbound["shop/cart-v1"][0] is not inbound["shop/pay-v1"][0]  # rendered per pod, not shared
    own = MeshTranslator(snap, fast=False)
    for p in proxies:
        assert by_name(first[p]) == by_name(own.resources(p, [], 1001.0)), p
    # a fault push re-translates nothing: each class merges the fault once
    f = FaultEdit(id="f", target=FaultTarget(host="cart.shop.svc.cluster.local"), percent=100, abort_status=503,
                  ttl_seconds=600, created_at=1000.0)
    for p in proxies:
        assert tr.resources(p, [f], 1001.0).runtime
    assert tr.translations == 3
    # a scope edit in shop: shop's two classes translate again, ops keeps its translation
    s = ScopeEdit(id="s", namespace="shop", egress_hosts=("./*",), created_at=1000.0)
    for p in proxies:
        assert by_name(tr.resources(p, [s], 1001.0)) == by_name(own.resources(p, [s], 1001.0)), p
    assert tr.translations == 3 + 3  # a new snapshot version (the edited one): each class once again


def test_joined_lists_pack_as_their_content(tmp_path):
    """The packer packs a Joined list's shared part once (the very same TypeResources for every
    proxy that shares it), and a Joined list holds exactly the resources of the plain list."""
    from meshtui.xds.resources import CLUSTER, Joined, Packer, ResourceError

    write_mesh(tmp_path)
    snap = load_sources([str(tmp_path)]).snapshot
    tr = MeshTranslator(snap)
    a, b = tr.resources("shop/cart-v1", [], 1001.0), tr.resources("shop/pay-v1", [], 1001.0)
    assert isinstance(a.clusters, Joined) and a.clusters.shared is b.clusters.shared
    packer = Packer()
    pa, pb = packer.pack_all(CLUSTER, a.clusters), packer.pack_all(CLUSTER, b.clusters)
    plain = Packer().pack_all(CLUSTER, list(a.clusters))
    assert set(pa.resources) == set(plain.resources)
    assert all(pa.resources[n].value == plain.resources[n].value for n in plain.resources)
    assert packer.pack_all(CLUSTER, a.clusters.shared) is packer.pack_all(CLUSTER, b.clusters.shared)
    assert pa.version != pb.version or pa.resources == pb.resources
    with pytest.raises(ResourceError, match="duplicate name"):
        packer.pack_all(CLUSTER, Joined(a.clusters.shared, [a.clusters.shared[0]]))
