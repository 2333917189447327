"""Cluster mode and the Gateway API against a real kube-apiserver + etcd.

First without the Gateway API CRDs (a note, nothing listed there), then with a TCPRoute CRD that
serves only v1alpha2 (written here, as Gateway API bundles before v1.6 did: istiod watches v1, so
meshtui reads none and warns), then with the CRDs Istio's integration tests install (bundle v1.6.0,
the file the Go oracle reads too): fixtures/gatewayapi/mesh applied as kubectl would, defaulted and
pruned by the server's own schemas, then read, traced (the goldens of the Gateway API outcomes must
come out the same from the cluster as from the files), watched, and read through the README's
ClusterRole and through the role written before meshtui read the Gateway API. The CRDs are removed
at the end of the module, so the rest of the session sees a cluster without them. Last, the server
side: fixtures/bookinfo with one fixtures/security file at a time, each server-verdict golden
traced from the PeerAuthentications and AuthorizationPolicies the cluster serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from realapi import VIEWER_TOKEN, RealCluster, gateway_crd_file, missing
from waiting import wait_for

from meshtui.cli.trace_cmd import build_trace
from meshtui.cluster.source import ClusterUpdate, open_cluster
from meshtui.model.source import INFO, WARNING

_WHY = missing() or (None if gateway_crd_file() else "real API server: the Gateway API CRDs are not in the Go module cache")
if _WHY:
    pytest.skip(_WHY, allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
GWAPI = REPO / "fixtures" / "gatewayapi" / "mesh"
GOLDEN = REPO / "tests" / "golden" / "expected"
GW = "gateway.networking.k8s.io"
GWPROXY = "infra/public-istio"
FIXTURE_NAMESPACES = ("infra", "shop", "payments", "legacy")


def cluster_diags(result, level: str) -> list[str]:
    return [d.message for d in result.diagnostics if d.code == "MT0601" and d.level == level]


def objects_of(paths: list[Path]) -> list[dict]:
    """The objects of these files, in an order an API server takes them in (namespaces first)."""
    out = []
    for f in paths:
        out += [d for d in yaml.safe_load_all(f.read_text()) if d]
    order = {"Namespace": 0, "Secret": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 3, "Pod": 4}
    return sorted(out, key=lambda o: order.get(o["kind"], 9))


def apply_all(api: RealCluster, objs: list[dict]) -> None:
    """As `kubectl apply` would, then each Pod's status as its kubelet would report it."""
    for obj in objs:
        obj = json.loads(json.dumps(obj))
        status = obj.pop("status", None)
        for i, ref in enumerate(obj["metadata"].get("ownerReferences") or []):  # the server wants a uid there
            ref.setdefault("uid", f"00000000-0000-4000-8000-{i:012d}")
        api.apply(obj)
        if obj["kind"] == "Pod" and status and status.get("podIP"):
            api.set_status(obj, {**status, "podIPs": [{"ip": status["podIP"]}]})


def fixture_objects() -> list[dict]:
    """fixtures/gatewayapi/mesh, and the golden gwapi-cross-ns-granted's route over it."""
    return objects_of([*sorted(GWAPI.glob("*.yaml")), REPO / "tests" / "golden" / "data" / "gwapi-cross-namespace-http.yaml"])


def apply_fixture(api: RealCluster) -> None:
    apply_all(api, fixture_objects())


def crd_docs() -> list[dict]:
    path = gateway_crd_file()
    assert path is not None
    return [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "CustomResourceDefinition"]


def test_without_the_gateway_api_crds_the_read_goes_on_with_a_note(real_api, kubeconfig):
    assert real_api.request("GET", f"/apis/{GW}")[0] == 404, "the Gateway API CRDs are installed already"
    with open_cluster(str(kubeconfig), "admin", "default", timeout=10) as src:
        result = src.load()
        kinds = {k.group for k in src.kinds}
    assert GW not in kinds and "security.istio.io" in kinds  # Istio's CRDs bring security.istio.io
    assert any(f"serves no {GW} API group" in n for n in cluster_diags(result, INFO))
    assert not result.errors and not any(GW in w for w in cluster_diags(result, WARNING))


# a TCPRoute CRD as bundles before v1.6 had it: v1alpha2 only (written for this test, minimal schema)
OLD_TCPROUTE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"tcproutes.{GW}", "annotations": {f"{GW}/bundle-version": "v1.5.0",
                                                          "api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/4530"}},
    "spec": {"group": GW, "scope": "Namespaced",
             "names": {"kind": "TCPRoute", "listKind": "TCPRouteList", "plural": "tcproutes", "singular": "tcproute"},
             "versions": [{"name": "v1alpha2", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]},
}


def test_a_kind_served_only_at_an_older_version_is_not_read(real_api, kubeconfig):
    real_api.install_crds([OLD_TCPROUTE_CRD])
    real_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "oldroutes"}})
    real_api.apply({"apiVersion": f"{GW}/v1alpha2", "kind": "TCPRoute", "metadata": {"name": "db", "namespace": "oldroutes"},
                    "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "db", "port": 5432}]}]}})
    with open_cluster(str(kubeconfig), "admin", "oldroutes", timeout=10) as src:
        result = src.load()
        kinds = {k.kind for k in src.kinds if k.group == GW}
    assert kinds == set()
    [warning] = [w for w in cluster_diags(result, WARNING) if GW in w]
    assert f"serves TCPRoute (tcproutes.{GW}) only at v1alpha2" in warning and "istiod watches it at v1" in warning
    assert any(f"serves no gatewayclasses.{GW}" in n for n in cluster_diags(result, INFO))
    assert not result.errors and not result.snapshot.tcp_routes
    real_api.call("DELETE", f"/apis/{GW}/v1alpha2/namespaces/oldroutes/tcproutes/db", ok=(200, 202, 404))


@pytest.fixture(scope="module")
def gateway_api(real_api: RealCluster) -> Iterator[RealCluster]:
    """The Gateway API CRDs of bundle v1.6.0 and fixtures/gatewayapi/mesh; both removed after."""
    names = real_api.install_crds(crd_docs())
    try:
        apply_fixture(real_api)
        yield real_api
    finally:
        real_api.remove_crds(sorted({*names, OLD_TCPROUTE_CRD["metadata"]["name"]}))
        # no controller-manager runs, so a Namespace would never finish terminating: delete the
        # fixture's objects one by one (Pods at once: no kubelet confirms a graceful end)
        for obj in reversed(fixture_objects()):
            if obj["kind"] != "Namespace" and not obj["apiVersion"].startswith(GW):
                real_api.call("DELETE", real_api.path_of(obj) + "?gracePeriodSeconds=0", ok=(200, 202, 404))


def test_read_at_the_versions_istiod_watches(gateway_api, kubeconfig):
    with open_cluster(str(kubeconfig), "admin", ",".join(FIXTURE_NAMESPACES), timeout=10) as src:
        result = src.load()
        versions = {k.kind: k.version for k in src.kinds if k.group == GW}
        docs = src.store.docs()
    assert versions == {"GatewayClass": "v1", "Gateway": "v1", "HTTPRoute": "v1", "GRPCRoute": "v1",
                        "TCPRoute": "v1", "TLSRoute": "v1", "ReferenceGrant": "v1beta1"}
    s = result.snapshot
    assert {r.name for r in s.http_routes} == {"storefront", "reviews", "checkout", "legacy-bridge", "pay"}
    assert [(g.namespace, g.name) for g in s.k8s_gateways] == [("infra", "public")]
    assert [g.name for g in s.gateway_classes] == ["istio"]
    assert len(s.grpc_routes) == len(s.tcp_routes) == len(s.tls_routes) == len(s.reference_grants) == 1
    # the server's defaults are in what meshtui read (the CRD schema's, not the fixture's)
    route = next(d.data for d in docs if d.data["kind"] == "HTTPRoute" and d.data["metadata"]["name"] == "reviews")
    assert route["spec"]["parentRefs"][0]["group"] == "" and route["spec"]["parentRefs"][0]["kind"] == "Service"
    assert not result.errors, [d.message for d in result.errors]
    assert not cluster_diags(result, WARNING)


# the goldens of the Gateway API outcomes, traced from the real cluster instead of the files
GOLDEN_CASES = {
    "gwapi-ingress-split": (None, GWPROXY, "GET", [], "http://shop.example.com/api/users"),
    "gwapi-ingress-canary-header": (None, GWPROXY, "GET", ["x-canary: true"], "http://shop.example.com/api/users"),
    "gwapi-https-granted": (None, GWPROXY, "GET", [], "https://shop.example.com/checkout/42"),
    "gwapi-ref-not-permitted-500": (None, GWPROXY, "GET", [], "http://legacy.example.com/"),
    "gwapi-cross-ns-granted": (None, GWPROXY, "GET", [], "http://pay.example.com/pay/7"),
    "gwapi-no-route-404": (None, GWPROXY, "GET", [], "http://other.example.com/"),
    "gwapi-grpc-method": (None, GWPROXY, "POST", ["content-type: application/grpc"], "http://grpc.example.com/shop.Catalog/List"),
    "gwapi-tls-passthrough": (None, GWPROXY, "GET", [], "https://secure.example.com:8443/"),
    "gwapi-mesh-weights": ("shop/client", None, "GET", [], "http://reviews.shop:9080/reviews/1"),
    "gwapi-mesh-jason": ("shop/client", None, "GET", ["end-user: jason"], "http://reviews.shop:9080/reviews/1"),
}


def _unmatched_rules() -> set[tuple[str, str, int]]:
    """(namespace, route, rule index) of the fixture's HTTPRoute rules written without matches: the
    API server defaults them to one PathPrefix "/" match (the CRD's default)."""
    out = set()
    for o in fixture_objects():
        if o["kind"] == "HTTPRoute":
            for i, rule in enumerate(o["spec"].get("rules") or []):
                if not rule.get("matches"):
                    out.add((o["metadata"].get("namespace", "default"), o["metadata"]["name"], i))
    return out


def as_written(trace: dict, unmatched: set[tuple[str, str, int]], want: dict) -> dict:
    """A trace of the cluster's objects, as the fixture files wrote them: a step that names the
    server-defaulted `spec.rules[i].matches[0]` names `spec.rules[i]`, and the route's match index
    0 (that match) is taken as the golden's (None where the file's rule had no match to index).
    Nothing else is changed."""
    out = json.loads(json.dumps(trace))
    steps = []
    for st in out["steps"]:
        m = re.fullmatch(r"(route selected HTTPRoute (\S+)/(\S+) spec\.rules\[(\d+)\])\.matches\[0\]", st)
        if m and (m.group(2), m.group(3), int(m.group(4))) in unmatched:
            st = m.group(1)
            if out["route"] and out["route"]["ruleIndex"] == int(m.group(4)) and out["route"]["matchIndex"] == 0:
                out["route"]["matchIndex"] = (want.get("route") or {}).get("matchIndex")
        steps.append(st)
    out["steps"] = steps
    return out


def test_traces_from_the_real_cluster_match_the_goldens(gateway_api, kubeconfig):
    """The goldens, traced from what the API server holds: the same, except where the server
    defaulted a rule's matches (then the trace names that match: it is in the object)."""
    from golden.test_golden import essentials

    with open_cluster(str(kubeconfig), "admin", timeout=10) as src:
        snap = src.load().snapshot
    unmatched = _unmatched_rules()
    wrong = {}
    defaulted = set()
    for name, (pod, gw, method, headers, url) in GOLDEN_CASES.items():
        got = essentials(json.loads(json.dumps(build_trace(snap, pod, gw, method, headers, url).to_json())))
        want = json.loads((GOLDEN / f"{name}.json").read_text())
        if got != want:
            defaulted.add(name)
            got = as_written(got, unmatched, want)
        if got != want:
            wrong[name] = {k: (got.get(k), want.get(k)) for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)}
    assert not wrong, json.dumps(wrong)[:6000]
    # the routes of these goldens take a rule the fixture writes without matches
    assert defaulted == {"gwapi-ref-not-permitted-500", "gwapi-mesh-weights"}


def test_istio_gateway_beside_the_kubernetes_gateway_of_the_same_name(gateway_api, kubeconfig):
    gw = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "infra"},
          "spec": {"selector": {"istio": "ingressgateway"},
                   "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}
    gateway_api.apply(gw)
    try:
        with open_cluster(str(kubeconfig), "admin", "infra", timeout=10) as src:
            result = src.load()
        assert [(g.namespace, g.name) for g in result.snapshot.k8s_gateways] == [("infra", "public")]
        assert ("Gateway", "infra", "public") in result.snapshot.by_key
    finally:
        gateway_api.delete(gw)


def test_watch_follows_an_httproute_and_the_gateway(gateway_api, kubeconfig):
    updates: list[ClusterUpdate] = []
    route = next(o for o in fixture_objects() if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "reviews")
    with open_cluster(str(kubeconfig), "admin", "shop,infra", timeout=10) as src:
        src.list()
        src.watch(updates.append)
        for ref in route["spec"]["rules"][-1]["backendRefs"]:
            ref["weight"] = 0 if ref["name"] == "reviews-v1" else 1
        gateway_api.apply(route)
        u = wait_for(lambda: next((u for u in reversed(updates) if ("MODIFIED", "HTTPRoute", "reviews") in
                                   {(c.type, c.kind, c.name) for c in u.changes}), None), what="the HTTPRoute change")
        t = build_trace(u.load().snapshot, "shop/client", None, "GET", [], "http://reviews.shop:9080/reviews/1").to_json()
        assert [(d["host"], d["weight"]) for d in t["destinations"]] == [("reviews-v2.shop.svc.cluster.local", 100)]
        # a listener added to the Kubernetes Gateway: the change names KubernetesGateway
        gw = next(o for o in fixture_objects() if o["kind"] == "Gateway")
        gw["spec"]["listeners"].append({"name": "extra", "port": 8081, "protocol": "HTTP", "hostname": "extra.example.com"})
        gateway_api.apply(gw)
        u = wait_for(lambda: next((u for u in reversed(updates) if ("MODIFIED", "KubernetesGateway", "public") in
                                   {(c.type, c.kind, c.name) for c in u.changes}), None), what="the Gateway change")
        [kg] = u.load().snapshot.k8s_gateways
        assert [ls.name for ls in kg.spec.listeners][-1] == "extra"
    # back as the fixture has it, for the tests after this one
    for obj in fixture_objects():
        if obj["kind"] in ("HTTPRoute", "Gateway") and obj["metadata"]["name"] in ("reviews", "public"):
            gateway_api.apply(obj)


def _read_role(with_new_kinds: bool) -> dict:
    """The README's meshtui-read ClusterRole, or the one it had before meshtui read the security
    and Gateway API kinds."""
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    role = next(r for r in (yaml.safe_load(b) for b in blocks) if r.get("kind") == "ClusterRole"
                and r["metadata"]["name"] == "meshtui-read")
    if not with_new_kinds:
        role["rules"] = [r for r in role["rules"] if not {"security.istio.io", GW} & set(r["apiGroups"])]
    role["metadata"]["name"] = f"meshtui-read-test-{'new' if with_new_kinds else 'old'}"
    return role


@pytest.mark.parametrize("with_new_kinds", [True, False], ids=["readme-role", "role-before-gateway-api"])
def test_read_through_the_readme_role(gateway_api, kubeconfig, with_new_kinds):
    """A user holding only meshtui-read: the README's reads everything without a warning; the role
    as it was before reads the rest and warns naming each resource it may not list."""
    role = _read_role(with_new_kinds)
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": role["metadata"]["name"]},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
               "subjects": [{"kind": "User", "name": "viewer", "apiGroup": "rbac.authorization.k8s.io"}]}
    gateway_api.apply(role)
    gateway_api.apply(binding)
    try:
        # RBAC reaches the authorizer through an informer: wait until the grant is seen
        wait_for(lambda: gateway_api.request("GET", "/apis/networking.istio.io/v1/virtualservices",
                                             token=VIEWER_TOKEN)[0] == 200, what="the role binding")
        with open_cluster(str(kubeconfig), "viewer", timeout=10) as src:
            result = src.load()
        warnings = cluster_diags(result, WARNING)
        if with_new_kinds:
            assert not warnings and len(result.snapshot.http_routes) == 5
        else:
            refused = sorted(w.split("not allowed to list ")[1].split(":")[0] for w in warnings)
            assert refused == sorted([*(f"{p}.{GW}" for p in ("gatewayclasses", "gateways", "httproutes", "grpcroutes",
                                                              "tcproutes", "tlsroutes", "referencegrants")),
                                      *(f"{p}.security.istio.io" for p in ("peerauthentications", "authorizationpolicies",
                                                                           "requestauthentications"))])
            assert not result.snapshot.http_routes and result.snapshot.services
        assert not result.errors
    finally:
        gateway_api.delete(binding)
        gateway_api.call("DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role['metadata']['name']}",
                         ok=(200, 202, 404))


# ------------------------------------------------------------------ the server side, from the cluster

BOOKINFO = REPO / "fixtures" / "bookinfo"
SECURITY = REPO / "fixtures" / "security"


def _key(obj: dict) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (obj["apiVersion"].split("/")[0], obj["kind"], meta.get("namespace", ""), meta["name"])


def _delete_all(api: RealCluster, objs: list[dict]) -> None:
    for obj in reversed(objs):
        if obj["kind"] != "Namespace":
            api.call("DELETE", api.path_of(obj) + "?gracePeriodSeconds=0", ok=(200, 202, 404))


# the server-verdict goldens: their security file over fixtures/bookinfo, read from the cluster
SERVER_GOLDENS = {
    "server-strict-auto-mtls": ("strict-mesh.yaml", "default/productpage-v1", ["end-user: jason"], "http://reviews:9080/"),
    "server-strict-plaintext-refused": ("strict-plaintext-client.yaml", "default/productpage-v1", ["end-user: jason"],
                                        "http://reviews:9080/"),
    "server-deny-jason": ("deny-jason.yaml", "default/productpage-v1", ["end-user: jason"], "http://reviews:9080/"),
    "server-allow-principal-denied": ("ratings-allow-reviews.yaml", "default/productpage-v1", [], "http://ratings:9080/ratings/1"),
    "server-allow-principal-allowed": ("ratings-allow-reviews.yaml", "default/reviews-v2", [], "http://ratings:9080/ratings/1"),
    "server-allow-nothing": ("details-allow-nothing.yaml", "default/productpage-v1", [], "http://details:9080/details/1"),
    "server-deny-one-share": ("deny-reviews-v3.yaml", "default/productpage-v1", [], "http://reviews:9080/"),
    "server-plaintext-no-identity": ("permissive-principal.yaml", "default/productpage-v1", [], "http://ratings:9080/ratings/1"),
}


def test_server_verdict_goldens_from_the_cluster(real_api, kubeconfig):
    """PeerAuthentications and AuthorizationPolicies read from security.istio.io: each server-verdict
    golden comes out the same from the cluster as from fixtures/bookinfo + its fixtures/security file."""
    from golden.test_golden import essentials

    base = objects_of(sorted(BOOKINFO.glob("*.yaml")))
    apply_all(real_api, base)
    wrong: dict[str, object] = {}
    try:
        for name, (sec, pod, headers, url) in SERVER_GOLDENS.items():
            extra = objects_of([SECURITY / sec])
            apply_all(real_api, extra)
            try:
                with open_cluster(str(kubeconfig), "admin", "default,istio-system", timeout=10) as src:
                    result = src.load()
                assert not result.errors, (name, [d.message for d in result.errors])
                assert result.snapshot.peer_authentications or result.snapshot.authorization_policies, name
                got = essentials(json.loads(json.dumps(build_trace(result.snapshot, pod, None, "GET", headers, url).to_json())))
                want = json.loads((GOLDEN / f"{name}.json").read_text())
                if got != want:
                    wrong[name] = {k: (got.get(k), want.get(k)) for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)}
            finally:
                # the security file's objects go; a base object it replaced (bookinfo's
                # DestinationRule reviews, given a tls mode) comes back as bookinfo has it
                _delete_all(real_api, extra)
                apply_all(real_api, [o for o in base if _key(o) in {_key(e) for e in extra}])
    finally:
        _delete_all(real_api, base)
    assert not wrong, json.dumps(wrong)[:6000]
