"""The trace JSON is the contract (docs/CONTRACT.md `trace -o json`): the typed Trace must write
exactly these keys and shapes. A change here is a contract change, not a refactoring."""

from __future__ import annotations

import json

from tracer_kit import client, dr, mesh, svc, vs

from meshtui.edits.model import FaultEdit, FaultTarget
from meshtui.edits.overlay import apply_edits
from meshtui.simulate.trace import Outcome, Stage, Verdict

TOP = ["apiVersion", "kind", "request", "proxy", "sidecarScope", "listener", "routeConfig", "virtualHost", "virtualService",
       "route", "outcome", "status", "responseFlags", "grpcStatus", "destinations", "timeout", "retries", "fault", "redirect",
       "directResponse", "rewrite", "requestHeaders", "responseHeaders", "mirrors", "server", "steps"]

MESH = svc("reviews", versions=("v1", "v2")) + client() + dr("r", "reviews") + vs("r", """
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /moved}}]
    redirect: {uri: /new, authority: Other.Example.com}
  - match: [{uri: {prefix: /static}}]
    directResponse: {status: 418, body: {string: teapot}}
  - match: [{uri: {prefix: /api}}]
    rewrite: {uri: /v2, authority: api.internal}
    timeout: 3s
    retries: {attempts: 4, perTryTimeout: 1.5s, retryOn: "5xx,503"}
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 25}}
      abort: {httpStatus: 500, percentage: {value: 10}}
    mirror: {host: reviews, subset: v2}
    mirrorPercentage: {value: 50}
    headers:
      response: {set: {x-a: "1"}, add: {x-b: "2"}, remove: [x-c]}
    route: [{destination: {host: reviews, subset: v1}, weight: 75}, {destination: {host: reviews, subset: v2}, weight: 25}]
  - match: [{uri: {prefix: /none}}]
    retries: {attempts: 0}
    route: [{destination: {host: reviews, subset: v3}}]
""")


def test_routed_trace_json_shape(trace):
    t = trace(mesh(MESH), "http://reviews:9080/api/x?q=1", headers=["end-user: jason"])
    j = json.loads(json.dumps(t.to_json()))
    assert list(j) == TOP
    assert j["apiVersion"] == "meshtui/v1alpha1" and j["kind"] == "Trace"
    assert j["request"] == {"method": "GET", "scheme": "http", "host": "reviews", "port": 9080, "path": "/api/x",
                            "query": "q=1", "headers": {"end-user": "jason"}}
    assert j["proxy"] == {"type": "sidecar", "namespace": "default", "workload": "client", "labels": {"app": "client"}}
    assert j["outcome"] == "routed" and j["status"] is None and j["responseFlags"] is None
    assert j["route"] == {"name": "", "ruleIndex": 2, "matchIndex": 0}
    assert set(j["virtualService"]) == {"namespace", "name", "file", "line"}
    assert j["timeout"] == "3s"
    assert j["retries"] == {"attempts": 4, "retryOn": "5xx,retriable-status-codes", "perTryTimeout": "1.5s",
                            "retriableStatusCodes": [503]}
    assert j["fault"] == {"delay": {"fixedDelay": "2s", "probability": 0.25},
                          "abort": {"httpStatus": 500, "grpcStatus": None, "probability": 0.1}}
    assert j["rewrite"] == {"path": "/v2/x?q=1", "authority": "api.internal"}
    assert j["responseHeaders"] == {"set": {"x-a": "1"}, "add": {"x-b": "2"}, "remove": ["x-c"]}
    assert j["mirrors"] == [{"cluster": "outbound|9080|v2|reviews.default.svc.cluster.local",
                             "host": "reviews.default.svc.cluster.local", "subset": "v2", "percentage": 50.0}]
    assert j["redirect"] is None and j["directResponse"] is None
    d = j["destinations"][0]
    assert list(d) == ["host", "subset", "port", "weight", "probability", "cluster", "clusterFound", "destinationRule",
                       "trafficPolicy", "loadBalancer", "endpoints"]
    assert d["subset"] == "v1" and d["weight"] == 75 and d["probability"] == 0.75 and d["clusterFound"] is True
    assert d["destinationRule"] == {"namespace": "default", "name": "r"}
    assert d["endpoints"] and list(d["endpoints"][0]) == ["address", "port", "pod", "labels"]
    assert d["endpoints"][0]["labels"] == {"app": "reviews", "version": "v1"}
    step = j["steps"][0]
    assert list(step)[:3] == ["stage", "verdict", "detail"]
    assert {s["stage"] for s in j["steps"]} <= {s.value for s in Stage}
    assert {s["verdict"] for s in j["steps"]} <= {v.value for v in Verdict}
    assert all(set(s["ref"]) <= {"kind", "namespace", "name", "path", "file", "line"} for s in j["steps"] if "ref" in s)


def test_step_keys_and_compared_values_are_strings(trace):
    """A step is stage, verdict, detail, then `expected`/`actual` (strings) when it compares a
    value, then `ref`."""
    j = trace(mesh(MESH), "http://reviews:9080/api/../api/%7Ex").to_json()
    keys = [list(s) for s in j["steps"]]
    assert all(k in (["stage", "verdict", "detail"], ["stage", "verdict", "detail", "ref"],
                     ["stage", "verdict", "detail", "expected", "actual"], ["stage", "verdict", "detail", "expected", "actual", "ref"])
               for k in keys), keys
    compared = [s for s in j["steps"] if "expected" in s]
    assert compared and all(isinstance(s["expected"], str) and isinstance(s["actual"], str) for s in compared)
    assert compared[0]["expected"] == "/api/../api/%7Ex" and compared[0]["actual"] == "/api/~x"


def test_other_outcomes_json(trace):
    m = mesh(MESH)
    j = trace(m, "http://reviews:9080/moved").to_json()
    assert j["outcome"] == "redirect" and j["status"] == 301 and set(j["redirect"]) == {"location"}
    assert j["retries"] is None and j["fault"] is None and j["mirrors"] == []
    j = trace(m, "http://reviews:9080/static").to_json()
    assert j["outcome"] == "direct-response" and j["directResponse"] == {"body": "teapot"}
    j = trace(m, "http://reviews:9080/none").to_json()
    assert j["outcome"] == "cluster-not-found" and j["responseFlags"] == "NC" and j["retries"] == {"attempts": 0}
    assert j["destinations"][0]["subset"] == "v3" and j["destinations"][0]["destinationRule"] is None
    assert {o.value for o in Outcome} >= {"routed", "redirect", "direct-response", "fault-abort", "no-virtual-host", "no-route",
                                           "cluster-not-found", "no-healthy-upstream", "blackhole", "passthrough"}


def test_live_fault_json(trace):
    edit = FaultEdit("f1", FaultTarget(host="reviews.default.svc.cluster.local", subset="v1"), 100, abort_status=503,
                     ttl_seconds=60, created_at=0)
    t = trace(apply_edits(mesh(MESH), [edit], now=1), "http://reviews:9080/api/x")
    j = t.to_json()
    # the route splits v1 75 / v2 25: a v1 fault aborts the v1 share only (issue 12)
    assert j["outcome"] == "routed" and j["status"] is None
    assert set(j["fault"]) == {"delay", "abort", "live"}
    assert j["fault"]["abort"] == {"httpStatus": 503, "grpcStatus": None, "probability": 1.0,
                                   "clusters": ["outbound|9080|v1|reviews.default.svc.cluster.local"], "share": 0.75}
    assert j["fault"]["live"]["id"] == "f1" and all(isinstance(k, str) for k in j["fault"]["live"]["runtimeKeys"])


def test_grpc_local_reply_gets_its_grpc_status(trace):
    """A gRPC request that Envoy answers itself: HTTP 200 with a grpc-status on the wire (Envoy's
    httpToGrpcStatus), so the trace gives grpcStatus beside the status Envoy decided; a plain
    request, or a gRPC request routed upstream, has none."""
    grpc = ["content-type: application/grpc"]
    teapot = trace(mesh(MESH), "http://reviews:9080/static", headers=grpc)
    assert (teapot.outcome, teapot.status, teapot.grpc_status) == (Outcome.DIRECT_RESPONSE, 418, 2)  # UNKNOWN
    assert teapot.to_json()["grpcStatus"] == 2
    assert teapot.steps[-1].stage == Stage.OUTCOME and "grpc-status 2 UNKNOWN" in teapot.steps[-1].detail
    missing = trace(mesh(MESH), "http://reviews:9080/none", headers=["content-type: application/grpc+proto"])
    assert (missing.outcome, missing.status, missing.grpc_status) == ("cluster-not-found", 503, 14)  # UNAVAILABLE
    plain = trace(mesh(MESH), "http://reviews:9080/static")
    assert plain.grpc_status is None and plain.to_json()["grpcStatus"] is None
    routed = trace(mesh(MESH), "http://reviews:9080/api/x", headers=grpc)
    assert routed.outcome == "routed" and routed.grpc_status is None
    # not gRPC: a content type that only begins with the word
    other = trace(mesh(MESH), "http://reviews:9080/static", headers=["content-type: application/grpc-web"])
    assert other.grpc_status is None
