"""The real pipeline (load_sources -> apply_edits -> translate -> ADS) on the demo mesh with real
Envoys: traffic, faults, Sidecar-scope edits and NACKs, each checked against the tracer."""

from __future__ import annotations

import json
import time

import pytest
from xds_kit import wait_until

from meshtui.demo.session import DemoSession
from meshtui.edits.model import FaultEdit, FaultTarget
from meshtui.simulate import Request, simulate
from meshtui.xds.journal_file import JournalFile

pytestmark = pytest.mark.envoy

REVIEWS = "reviews.default.svc.cluster.local"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    s = DemoSession(journal=JournalFile(d / "journal.jsonl"), runtime_ttl=2.0, workdir=d / "work")
    s.start(timeout=30)
    yield s
    s.stop()


@pytest.fixture
def clean(demo):
    yield demo
    demo.clear_faults()
    for e in demo.scopes():
        demo.remove(e["id"])
    synced(demo)


def synced(demo: DemoSession) -> None:
    assert demo.wait_synced(), json.dumps(demo.proxies(), indent=1)


def trace(demo: DemoSession, url: str, headers: dict | None = None):
    cfg = demo.proxy_config(demo.info.sidecar_proxy)
    return simulate(cfg, Request.parse(url, headers=headers or {}))


def versions(demo, host, n=40, headers=None):
    out = {}
    for _ in range(n):
        status, body, _ = demo.request(host, "/r", headers)
        key = body.get("version") if isinstance(body, dict) else status
        out[key] = out.get(key, 0) + 1
    return out


def test_demo_traffic_agrees_with_the_tracer(clean):
    demo = clean
    status, body, _ = demo.request("reviews", "/reviews/1", {"end-user": "jason"})
    assert status == 200 and body["version"] == "v2"
    t = trace(demo, "reviews:9080/reviews/1", {"end-user": "jason"})
    assert t.outcome == "routed" and [d.subset for d in t.destinations] == ["v2"]
    # 80/20 between v1 and v3 for everyone else
    seen = versions(demo, "reviews", 60)
    assert set(seen) <= {"v1", "v3"} and seen.get("v1", 0) > seen.get("v3", 0)
    t = trace(demo, "reviews:9080/reviews/1")
    assert {d.subset: round(d.probability, 2) for d in t.destinations} == {"v1": 0.8, "v3": 0.2}
    assert demo.request("ratings", "/")[1]["service"] == "ratings"
    # the gateway routes /productpage to productpage
    import http.client

    host, _, port = demo.info.gateway_listeners["8080"].rpartition(":")
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    c.request("GET", "/productpage")
    r = c.getresponse()
    assert r.status == 200 and b'"productpage"' in r.read()
    c.close()


def test_faults_through_translate_and_trace(clean):
    demo = clean
    f = demo.add_fault(host=REVIEWS, subset="v2", abort=503, percent=100, ttl=60, reason="test")
    synced(demo)
    assert demo.request("reviews", "/", {"end-user": "jason"})[0] == 503
    assert demo.request("reviews", "/")[0] == 200  # v1/v3 untouched
    t = trace(demo, "reviews:9080/", {"end-user": "jason"})
    assert t.outcome == "fault-abort" and t.status == 503
    views = {v["id"]: v for v in demo.faults()}
    assert views[f["id"]]["proxies"][demo.info.sidecar_proxy] == "acked"

    # a 200 ms delay on the VirtualService's default rule (rule 1)
    demo.remove(f["id"])
    d = demo.add_fault(virtual_service="default/reviews", rule=1, delay=0.2, percent=100, ttl=60)
    synced(demo)
    lat = [demo.request("reviews", "/")[2] for _ in range(3)]
    assert min(lat) >= 0.19, lat
    assert demo.request("reviews", "/", {"end-user": "jason"})[2] < 0.15
    t = trace(demo, "reviews:9080/")
    assert t.fault and t.fault.delay
    demo.remove(d["id"])
    synced(demo)
    assert demo.request("reviews", "/")[2] < 0.15
    assert trace(demo, "reviews:9080/").fault is None


def test_scope_edit_dropping_a_host(clean):
    demo = clean
    before = demo.request("reviews", "/")
    assert before[0] == 200
    # ALLOW_ANY: reviews is out of scope, so its requests fall to the allow_any vhost and the
    # PassthroughCluster (which, on loopback without iptables, has no original destination)
    s1 = demo.set_scope(namespace="default", workload_labels={"app": "productpage"},
                        egress_hosts=["./ratings.default.svc.cluster.local"], outbound_policy="ALLOW_ANY")
    synced(demo)
    t = trace(demo, "reviews:9080/")
    assert t.outcome == "passthrough"
    _status, body, _ = demo.request("reviews", "/")
    assert not (isinstance(body, dict) and body.get("service") == "reviews")
    envoy = next(e for e in demo.envoys if e.name == "sidecar")
    stats = envoy.stats("PassthroughCluster")
    assert any(k.startswith("cluster.PassthroughCluster.") and v not in ("0", "") for k, v in stats.items()
               if "upstream_cx_none_healthy" in k or "upstream_rq_total" in k or "upstream_cx_total" in k), stats
    assert demo.request("ratings", "/")[1]["service"] == "ratings"  # still in scope
    demo.remove(s1["id"])

    # REGISTRY_ONLY: the same request gets a 502 from the block_all vhost
    demo.set_scope(namespace="default", workload_labels={"app": "productpage"},
                   egress_hosts=["./ratings.default.svc.cluster.local"], outbound_policy="REGISTRY_ONLY")
    synced(demo)
    t = trace(demo, "reviews:9080/")
    assert t.status == 502
    assert demo.request("reviews", "/")[0] == 502
    assert demo.request("ratings", "/")[0] == 200


@pytest.fixture(scope="module")
def unarmed_demo(tmp_path_factory):
    """A demo whose route configs carry the faults themselves (not pre-armed runtime keys), so a
    bad fault reaches Envoy in RDS and can be NACKed."""
    d = tmp_path_factory.mktemp("unarmed")
    s = DemoSession(journal=JournalFile(d / "journal.jsonl"), runtime_ttl=2.0, workdir=d / "work",
                    with_gateway=False, prearm_faults=False)
    s.start(timeout=30)
    yield s
    s.stop()


def test_prearmed_fault_is_a_runtime_push_only(clean):
    demo = clean
    before = demo.proxies()[0]["types"]["RDS"]
    f = demo.add_fault(host=REVIEWS, subset="v2", abort=503, percent=100, ttl=60)
    synced(demo)
    after = demo.proxies()[0]["types"]["RDS"]
    assert after.get("acked") == before.get("acked")  # the route config did not change
    assert demo.request("reviews", "/", {"end-user": "jason"})[0] == 503
    demo.remove(f["id"])
    synced(demo)
    assert demo.request("reviews", "/", {"end-user": "jason"})[0] == 200


def test_nack_from_the_real_pipeline(unarmed_demo):
    demo = unarmed_demo
    good = demo.add_fault(host=REVIEWS, subset="v2", abort=503, percent=100, ttl=60)
    synced(demo)
    # an abort status Envoy refuses (must be 200..599); meshtui's own check is skipped on purpose
    bad = FaultEdit(id="f-bad", target=FaultTarget(host=REVIEWS, subset="v1"), percent=100, abort_status=600,
                    ttl_seconds=60, created_at=time.time())
    demo._call(lambda: demo.cp.add_edit(bad, validate=False))
    wait_until(lambda: any(v["id"] == "f-bad" and v["state"] == "rejected" for v in demo.edits(include_ended=True)),
               what="f-bad rejected")
    view = next(v for v in demo.edits(include_ended=True) if v["id"] == "f-bad")
    assert "rejected RDS" in view["detail"] and view["proxies"][demo.info.sidecar_proxy] == "rejected"
    nack = demo.proxies()[0]["types"]["RDS"]["lastNack"]
    assert nack and nack["reason"] and "f-bad" in nack["cause"]
    # the last good config is still served: jason gets the good fault, v1 is not aborted
    assert demo.request("reviews", "/", {"end-user": "jason"})[0] == 503
    assert all(demo.request("reviews", "/")[0] == 200 for _ in range(5))
    synced(demo)
    demo.remove(good["id"])


def test_subset_fault_hits_only_that_share_of_a_split_route(clean):
    """Issue 12: reviews' default rule splits v1 80 / v3 20. A --subset v1 abort must abort the
    v1 share and leave v3 answering (before: every request of the rule was aborted), as pushed
    to a real Envoy through the pre-armed per-share runtime keys; the trace says which share."""
    demo = clean
    f = demo.add_fault(host=REVIEWS, subset="v1", abort=503, percent=100, ttl=60)
    synced(demo)
    seen = versions(demo, "reviews", n=120)
    assert "v1" not in seen, seen  # every v1-bound request is aborted
    assert seen.get("v3", 0) > 0 and seen.get(503, 0) > 0, seen  # v3 untouched
    t = trace(demo, "reviews:9080/")
    assert t.outcome.value == "routed"
    abort = t.to_json()["fault"]["abort"]
    assert abort["clusters"] == ["outbound|9080|v1|reviews.default.svc.cluster.local"] and abort["share"] == 0.8
    assert any("v1" in s.detail and "80% of this route's traffic" in s.detail for s in t.steps)
    # the whole host (both shares) is the route again: every request aborted
    demo.remove(f["id"])
    demo.add_fault(host=REVIEWS, abort=503, percent=100, ttl=60)
    synced(demo)
    assert versions(demo, "reviews", n=30) == {503: 30}
    assert trace(demo, "reviews:9080/").outcome.value == "fault-abort"
