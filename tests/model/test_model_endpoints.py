"""Where a Service's endpoints come from: EndpointSlice > Endpoints > ready Pods > synthesized from
a Deployment/StatefulSet template (marked synthesized); named targetPorts; not-ready pods; the
label index; and what the fixtures' services resolve to."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_kit import FIXTURES

from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.model.snapshot import PodIndex, labels_match
from meshtui.sources.loader import load_sources


def snap(*objects: dict):
    result = build_snapshot([RawDoc(o, "test.yaml", i + 1) for i, o in enumerate(objects)])
    assert result.errors == [], [str(d) for d in result.errors]
    return result.snapshot


def service(name="reviews", ports=(("http", 9080, None),), selector=None, ns="default", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": selector if selector is not None else {"app": name},
                     "ports": [{"name": n, "port": p, **({"targetPort": t} if t is not None else {})} for n, p, t in ports],
                     **spec}}


def pod(name, ip, labels=None, ready=True, ports=(), ns="default", phase="Running", conditions=True):
    status = {"phase": phase, "podIP": ip}
    if conditions:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "reviews"}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": n, "containerPort": p} for n, p in ports]}]},
            "status": status}


def deployment(name, labels, replicas=2, ports=(), kind="Deployment"):
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "ports": [{"name": n, "containerPort": p} for n, p in ports]}]}}}}


def endpoint_slice(ips, svc="reviews", port=("http", 9080)):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{svc}-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": port[0], "port": port[1]}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}, "targetRef": {"kind": "Pod", "name": pname}}
                          for ip, ready, pname in ips]}


def endpoints(ready_ips, not_ready_ips=(), svc="reviews"):
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": svc, "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip} for ip in ready_ips],
                         "notReadyAddresses": [{"ip": ip} for ip in not_ready_ips],
                         "ports": [{"name": "http", "port": 9080}]}]}


def registry(snapshot, host="reviews.default.svc.cluster.local"):
    (rs,) = snapshot.services_by_host[host]
    return rs


ALL_SOURCES = [
    service(),
    endpoint_slice([("10.0.0.1", True, "reviews-x"), ("10.0.0.2", False, "reviews-y")]),
    endpoints(["10.0.1.1"]),
    pod("reviews-v1-0", "10.0.2.1", {"app": "reviews", "version": "v1"}),
    deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
]


@pytest.mark.parametrize("drop, origin, addresses", [
    ((), "EndpointSlice", {"10.0.0.1", "10.0.0.2"}),
    (("EndpointSlice",), "Endpoints", {"10.0.1.1"}),
    (("EndpointSlice", "Endpoints"), "Pods", {"10.0.2.1"}),
    (("EndpointSlice", "Endpoints", "Pod"), "synthesized", None),
])
def test_endpoint_source_precedence(drop, origin, addresses):
    rs = registry(snap(*[o for o in ALL_SOURCES if o["kind"] not in drop]))
    assert rs.endpoint_origin == origin
    if addresses is not None:
        assert {e.address for e in rs.endpoints} == addresses
        assert not any(e.synthesized for e in rs.endpoints)
    else:
        assert len(rs.endpoints) == 2 and all(e.synthesized for e in rs.endpoints)
        assert all("synthesized from Deployment default/reviews-v1" in e.origin for e in rs.endpoints)


def test_endpoint_slice_readiness_and_pod_labels():
    s = snap(service(), endpoint_slice([("10.0.0.1", True, "reviews-v2-0"), ("10.0.0.2", False, "gone")]),
             pod("reviews-v2-0", "10.0.0.1", {"app": "reviews", "version": "v2"}))
    by_ip = {e.address: e for e in registry(s).endpoints}
    assert by_ip["10.0.0.1"].ready and by_ip["10.0.0.1"].labels == {"app": "reviews", "version": "v2"}
    assert by_ip["10.0.0.1"].pod == "default/reviews-v2-0"
    assert not by_ip["10.0.0.2"].ready and by_ip["10.0.0.2"].labels == {"app": "reviews"}  # selector labels
    assert by_ip["10.0.0.1"].origin == "EndpointSlice default/reviews-abc"


def test_legacy_endpoints_not_ready_addresses():
    eps = registry(snap(service(), endpoints(["10.0.1.1"], ["10.0.1.2"]))).endpoints
    assert {(e.address, e.ready) for e in eps} == {("10.0.1.1", True), ("10.0.1.2", False)}


def test_pods_ready_not_ready_and_without_ip():
    s = snap(service(),
             pod("a", "10.0.2.1"),
             pod("b", "10.0.2.2", ready=False),
             pod("c", "10.0.2.3", conditions=False),  # no conditions: Running with an IP counts as ready
             pod("d", "10.0.2.4", conditions=False, phase="Pending"),
             pod("e", "", ready=True),  # not scheduled yet: no endpoint at all
             pod("f", "10.0.2.6", labels={"app": "other"}))
    eps = {e.address: e.ready for e in registry(s).endpoints}
    assert eps == {"10.0.2.1": True, "10.0.2.2": False, "10.0.2.3": True, "10.0.2.4": False}


def test_publish_not_ready_addresses():
    s = snap(service(publishNotReadyAddresses=True), pod("b", "10.0.2.2", ready=False))
    assert [e.ready for e in registry(s).endpoints] == [True]


def test_named_target_port_is_resolved_per_pod():
    s = snap(service(ports=(("http", 80, "web"), ("metrics", 9090, 9091))),
             pod("a", "10.0.2.1", ports=(("web", 8080),)),
             pod("b", "10.0.2.2", ports=(("web", 8081),)),
             pod("c", "10.0.2.3", ports=(("other", 7000),)))  # does not declare `web`
    got = sorted((e.address, e.port_name, e.port) for e in registry(s).endpoints)
    assert got == [("10.0.2.1", "http", 8080), ("10.0.2.1", "metrics", 9091),
                   ("10.0.2.2", "http", 8081), ("10.0.2.2", "metrics", 9091),
                   ("10.0.2.3", "metrics", 9091)]


def test_target_port_defaults_to_port_and_numeric_strings():
    s = snap(service(ports=(("http", 80, None), ("admin", 81, "9000"))), pod("a", "10.0.2.1"))
    assert sorted((e.port_name, e.port) for e in registry(s).endpoints) == [("admin", 9000), ("http", 80)]


def test_synthesized_from_deployment_and_statefulset():
    s = snap(service(ports=(("http", 80, "web"),)),
             deployment("reviews-v1", {"app": "reviews", "version": "v1"}, replicas=3, ports=(("web", 8080),)),
             deployment("reviews-v2", {"app": "reviews", "version": "v2"}, replicas=0),
             deployment("other", {"app": "other"}, replicas=2))
    eps = registry(s).endpoints
    assert len(eps) == 3 and {e.port for e in eps} == {8080} and all(e.synthesized and e.ready for e in eps)
    assert len({e.address for e in eps}) == 3 and all(e.address.startswith("10.255.") for e in eps)
    assert {e.pod for e in eps} == {f"default/reviews-v1-synth-{i}" for i in range(3)}
    assert eps[0].origin == "synthesized from Deployment default/reviews-v1 (replica 1 of 3)"
    w = s.find_workload("default/reviews-v1")
    assert w is not None and w.synthesized and w.kind == "Deployment"
    # same sources, same synthetic addresses (traces and goldens must be stable)
    again = snap(service(ports=(("http", 80, "web"),)),
                 deployment("reviews-v1", {"app": "reviews", "version": "v1"}, replicas=3, ports=(("web", 8080),)))
    assert [e.address for e in registry(again).endpoints] == [e.address for e in eps]
    sts = snap(service("db", selector={"app": "db"}), deployment("db", {"app": "db"}, replicas=2, kind="StatefulSet"))
    assert [e.pod for e in registry(sts, "db.default.svc.cluster.local").endpoints] == ["default/db-0", "default/db-1"]


def test_service_without_selector_and_external_name():
    s = snap(service(selector={}), pod("a", "10.0.2.1"),
             {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
              "spec": {"type": "ExternalName", "externalName": "db.example.com", "ports": [{"port": 5432}]}})
    assert registry(s).endpoints == () and registry(s).endpoint_origin == "none"
    ext = registry(s, "ext.default.svc.cluster.local")
    assert ext.resolution == "Alias" and ext.alias_target == "db.example.com"


def test_workload_entry_labels_metadata_wins_and_ports():
    se = {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "vm"},
          "spec": {"hosts": ["vm.example.com"], "resolution": "STATIC", "location": "MESH_INTERNAL",
                   "ports": [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 8000}],
                   "workloadSelector": {"labels": {"app": "vm"}}}}
    we = {"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
          "metadata": {"name": "vm-1", "labels": {"app": "vm", "version": "meta"}},
          "spec": {"address": "10.9.0.1", "labels": {"version": "spec", "zone": "a"}, "ports": {"http": 8001}}}
    s = snap(se, we, pod("vm-pod", "10.9.0.2", {"app": "vm"}))
    eps = {e.address: e for e in registry(s, "vm.example.com").endpoints}
    assert eps["10.9.0.1"].labels == {"app": "vm", "version": "meta", "zone": "a"} and eps["10.9.0.1"].port == 8001
    assert eps["10.9.0.2"].port == 8000 and eps["10.9.0.2"].pod == "default/vm-pod"


def test_bookinfo_fixture_endpoints_are_real_pods():
    s = load_sources([str(FIXTURES / "bookinfo")]).snapshot
    for name, ips in {"productpage": {"10.1.0.10"}, "reviews": {"10.1.0.11", "10.1.0.12", "10.1.0.13"},
                      "details": {"10.1.0.14"}, "ratings": {"10.1.0.15"}}.items():
        rs = registry(s, f"{name}.default.svc.cluster.local")
        assert rs.endpoint_origin == "Pods" and {e.address for e in rs.endpoints} == ips
        assert all(e.port == 9080 and e.ready and not e.synthesized for e in rs.endpoints)
    gw = registry(s, "istio-ingressgateway.istio-system.svc.cluster.local")
    assert {(e.port_name, e.port) for e in gw.endpoints} == {("status-port", 15021), ("http2", 8080), ("https", 8443)}
    assert not any(w.synthesized for w in s.workloads)
    # the indexes the tracer uses
    assert [p.name for p in s.pods_matching("default", {"app": "reviews", "version": "v2"})] == ["reviews-v2-0"]
    assert s.pods_matching("default", {"app": "nope"}) == [] and len(s.pods_matching("default", {})) == 6
    assert s.get("VirtualService", "default", "reviews").src.line == 1
    # a Deployment named where its Pods exist is traced from its first Pod (real IP and labels)
    wl = s.find_workload("default/reviews-v2")
    assert (wl.kind, wl.name, wl.ip) == ("Pod", "reviews-v2-0", "10.1.0.12")
    assert {"app": "reviews", "version": "v2"}.items() <= wl.labels.items()
    assert s.find_workload("default/reviews-v2-0") is wl


def test_multi_namespace_fixture_endpoint_sources():
    s = load_sources([str(FIXTURES / "multi-namespace")]).snapshot
    origin = {rs.hostname: rs.endpoint_origin for rs in s.registry}
    assert origin == {
        "api.backend.svc.cluster.local": "Pods", "db.backend.svc.cluster.local": "Pods",
        "inventory.backend.svc.cluster.local": "EndpointSlice", "legacy.backend.svc.cluster.local": "none",
        "orders.backend.svc.cluster.local": "synthesized", "web.frontend.svc.cluster.local": "Pods",
        "checkout.frontend.svc.cluster.local": "Pods",
        "istio-ingressgateway.istio-system.svc.cluster.local": "Pods", "cache.shared.svc.cluster.local": "Pods",
        "config.shared.svc.cluster.local": "Pods", "billing.internal.example.com": "ServiceEntry",
        "sandbox.payments.example.com": "DNS"}
    api = registry(s, "api.backend.svc.cluster.local")
    assert {(e.address, e.port_name, e.port, e.ready) for e in api.endpoints if e.port_name == "http"} == {
        ("10.2.2.10", "http", 8080, True), ("10.2.2.11", "http", 8080, True), ("10.2.2.12", "http", 8080, False)}
    assert {e.port for e in registry(s, "web.frontend.svc.cluster.local").endpoints} == {8080}  # named targetPort
    assert registry(s, "db.backend.svc.cluster.local").resolution == "Passthrough"
    assert registry(s, "sandbox.payments.example.com").export_to == frozenset({"~"})
    assert not registry(s, "sandbox.payments.example.com").visible_to("backend")
    billing = registry(s, "billing.internal.example.com")
    assert sorted((e.address, e.port) for e in billing.endpoints) == [("10.4.0.5", 8000), ("10.4.0.6", 8001)]


# ---------------------------------------------------------------- the label index

labels_st = st.dictionaries(st.sampled_from(["app", "version", "tier", "zone"]), st.sampled_from(["a", "b", "c"]), max_size=4)


@settings(max_examples=100, deadline=None)
@given(pods=st.lists(st.tuples(st.sampled_from(["ns1", "ns2"]), labels_st), max_size=25),
       ns=st.sampled_from(["ns1", "ns2", "ns3"]), selector=labels_st)
def test_pod_index_selects_what_a_scan_selects(pods, ns, selector):
    objs = [pod(f"p{i}", f"10.0.0.{i}", labels, ns=pns) for i, (pns, labels) in enumerate(pods)]
    built = list(build_snapshot([RawDoc(o, "t.yaml", 1) for o in objs]).snapshot.pods)
    index = PodIndex(built)
    scan = [p for p in built if p.namespace == ns and labels_match(selector, p.metadata.labels)]
    assert index.select(ns, selector) == scan


@pytest.mark.parametrize("name, loaded, skipped", [("bookinfo", 34, {"v1/ServiceAccount": 4}), ("multi-namespace", 55, {})])
def test_good_fixtures_load_without_a_warning(name, loaded, skipped):
    result = load_sources([str(FIXTURES / name)])
    assert [str(d) for d in result.diagnostics if d.level in ("Error", "Warning")] == []
    assert result.loaded == loaded and result.skipped_kinds == skipped
