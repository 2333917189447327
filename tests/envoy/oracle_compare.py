"""Compare what Envoy did with a request against what `simulate` predicted for it.

Envoy's side is an Observation: the status, headers and body the client got, and for a proxied
request the echo backend's identity (cluster, pod) and what it received (path, host, headers).
Local replies carry Envoy's RESPONSE_CODE_DETAILS (x-oracle-details), which tells a 503
cluster_not_found from a 503 no_healthy_upstream."""

from __future__ import annotations

import http.client
import math
from dataclasses import dataclass, field

from oracle_envoy import Observation, OracleEnvoy
from oracle_requests import Probe
from oracle_rewire import PASSTHROUGH_POD, ROUTE_HEADER

from meshtui.simulate import simulate
from meshtui.simulate.trace import ResponseHeaderOps, Trace, TraceEndpoint
from meshtui.translate.config import ProxyConfig

DETAILS = {
    "no-route": "route_not_found",
    "no-virtual-host": "route_not_found",
    "cluster-not-found": "cluster_not_found",
    "no-healthy-upstream": "no_healthy_upstream",
    "fault-abort": "fault_filter_abort",
}
# Envoy's own response headers and the echo backend's, never part of a route's header operations
_ENVOY_ADDED = {"x-forwarded-proto", "x-request-id", "x-envoy-expected-rq-timeout-ms", "x-envoy-attempt-count",
                "x-envoy-decorator-operation", "x-forwarded-client-cert", "x-envoy-internal", "content-length",
                "x-forwarded-for", "x-envoy-original-path", "x-forwarded-host", "x-envoy-original-host", ROUTE_HEADER}


def _pod(e: TraceEndpoint) -> str:
    return e.pod or f"{e.address}:{e.port}"


def _check_routed(trace: Trace, obs: Observation, probe: Probe) -> str | None:
    b = obs.backend
    found = {d.cluster: d for d in trace.destinations if d.cluster_found}
    if b is None:
        if any(not d.cluster_found for d in trace.destinations) and obs.status == 503 and obs.details == "cluster_not_found":
            return None  # a weighted share names a missing cluster
        return f"predicted routed to {sorted(found)}, Envoy answered {obs.short()}"
    d = found.get(b["cluster"])
    if d is None:
        return f"predicted {sorted(found) or [x.cluster for x in trace.destinations]}, Envoy sent it to {b['cluster']} (pod {b['pod']})"
    pods = {_pod(e) for e in d.endpoints}
    if pods and b["pod"] not in pods and b["pod"] != PASSTHROUGH_POD:
        return f"cluster {b['cluster']} agreed, but pod {b['pod']} is not among the predicted endpoints {sorted(pods)}"
    if probe.tcp:
        return None  # tcp_proxy forwards bytes: nothing more to check
    want_path = trace.rewritten.path if trace.rewritten is not None else _forwarded_path(trace, probe)
    if b["path"] != want_path:
        return f"upstream path {b['path']!r}, predicted {want_path!r}"
    want_host = trace.rewritten.authority if trace.rewritten is not None else probe.authority
    if b["host"] != want_host:
        return f"upstream Host {b['host']!r}, predicted {want_host!r}"
    if trace.request_headers is not None:
        got = b["headers"]
        for k, v in trace.request_headers.items():
            if k in ("host", ":authority"):
                continue
            if got.get(k) != v:
                return f"upstream header {k}: {got.get(k)!r}, predicted {v!r}"
        for k, _ in probe.headers:
            if k.lower() not in trace.request_headers and k.lower() in got:
                return f"upstream header {k} should have been removed, it is {got[k.lower()]!r}"
    return _check_response_headers(trace, obs)


def _forwarded_path(trace: Trace, probe: Probe) -> str:
    """The path simulate says the HCM forwards: the request's, normalised if its trace says so."""
    path = probe.path
    for step in trace.steps:
        if step.stage == "filter-chain" and step.detail.startswith("path normalised") and isinstance(step.actual, str):
            path = step.actual
    return f"{path}?{probe.query}" if probe.query else path


def _check_response_headers(trace: Trace, obs: Observation) -> str | None:
    rh = trace.response_headers or ResponseHeaderOps()
    for k, v in rh.set:
        if obs.headers.get(k.lower()) != v:
            return f"response header {k}: {obs.headers.get(k.lower())!r}, predicted {v!r}"
    for k, v in rh.add:
        if v not in (obs.headers.get(k.lower()) or "").split(","):
            return f"response header {k}: {obs.headers.get(k.lower())!r}, predicted it to contain {v!r}"
    for k in rh.remove:
        if k.lower() in obs.headers and k.lower() not in _ENVOY_ADDED:
            return f"response header {k} should have been removed"
    return None


def compare(trace: Trace, obs: Observation | None, probe: Probe) -> str | None:
    """None when Envoy did what simulate predicted; otherwise the disagreement."""
    why = _compare_outcome(trace, obs, probe)
    if why is None and obs is not None and not probe.tcp:
        b = obs.backend
        got = b["headers"].get(ROUTE_HEADER) if b is not None else obs.headers.get(ROUTE_HEADER)
        got = "" if got == "-" else got
        # absent: a response that is neither proxied nor a local reply (the CORS filter's own)
        if got is not None and got != (trace.route_name or ""):
            return f"same outcome, but Envoy took route {got!r} and simulate route {trace.route_name!r}"
    return why


def _compare_outcome(trace: Trace, obs: Observation | None, probe: Probe) -> str | None:
    abort = trace.fault.abort if trace.fault is not None else None
    if obs is not None and obs.details == "fault_filter_abort" and abort is not None and 0 < abort.probability < 1:
        code = abort.http_status  # a partial abort: this request was one of the aborted share
        return None if code is None or obs.status == code else f"fault abort status {obs.status}, predicted {code}"
    o = trace.outcome
    if obs is None:  # connection reset / closed without a response
        if o == "blackhole" and trace.status is None:
            return None
        return f"predicted {trace.summary()}, Envoy closed the connection without a response"
    if o == "blackhole" and trace.status is None:
        return f"predicted the connection to be reset, Envoy answered {obs.short()}"
    if o == "routed":
        return _check_routed(trace, obs, probe)
    if o == "passthrough":
        b = obs.backend
        if b is None or b["cluster"] != "PassthroughCluster":
            return f"predicted PassthroughCluster, Envoy answered {obs.short()}"
        return None
    if trace.grpc_status is not None:  # a gRPC request's local reply: HTTP 200 and the grpc-status
        if obs.backend is not None or obs.status != 200 or obs.headers.get("grpc-status") != str(trace.grpc_status):
            return (f"predicted HTTP 200 grpc-status {trace.grpc_status} (the gRPC form of {trace.status}), "
                    f"Envoy answered {obs.short()} grpc-status {obs.headers.get('grpc-status')}")
        return None
    if obs.status != trace.status:
        return f"predicted {trace.summary()}, Envoy answered {obs.short()}"
    if o == "redirect":
        if obs.headers.get("location") != trace.location:
            return f"redirect Location {obs.headers.get('location')!r}, predicted {trace.location!r}"
        return None
    if o in ("direct-response", "blackhole"):
        body = obs.body.decode("utf-8", "replace")
        if body != (trace.body or ""):
            return f"direct response body {body!r}, predicted {trace.body!r}"
        if obs.backend is not None:
            return f"predicted a direct response, Envoy forwarded it: {obs.short()}"
        cors = any(st.stage == "cors" and st.verdict == "final" for st in trace.steps)
        if not cors and obs.details != "direct_response":  # a CORS preflight answer is not a local reply
            return f"predicted a direct response, Envoy's details say {obs.details!r}"
        return _check_response_headers(trace, obs)
    want = DETAILS.get(o)
    if want is not None and obs.details != want:
        return f"predicted {trace.summary()} ({want}), Envoy answered {obs.short()}"
    return None


@dataclass
class Disagreement:
    probe: Probe
    predicted: str
    observed: str
    why: str

    def __str__(self) -> str:
        return f"{self.probe.describe()}\n    simulate: {self.predicted}\n    envoy:    {self.observed}\n    => {self.why}"


@dataclass
class RunResult:
    sent: int = 0
    agreed: int = 0
    not_bound: int = 0  # simulate says the request would take a listener the test cannot bind
    outcomes: dict[str, int] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def observe(envoy: OracleEnvoy, probe: Probe) -> Observation | None:
    """Envoy's answer, or None when it closed the connection without one (a tcp_proxy to
    BlackHoleCluster). An HTTP listener that does that is a broken harness: fail loudly."""
    client = envoy.client(probe.listener)
    try:
        return client.send(probe.method, probe.target, probe.wire_headers())
    except (http.client.HTTPException, OSError) as exc:
        client.close()
        if probe.tcp:
            return None
        raise AssertionError(f"{probe.describe()}: no HTTP response from Envoy: {exc!r}") from exc


def run_probes(cfg: ProxyConfig, envoy: OracleEnvoy, probes: list[Probe]) -> RunResult:
    res = RunResult()
    for p in probes:
        trace = simulate(cfg, p.request())
        if trace.listener != p.listener:
            res.not_bound += 1  # in the mesh this request would reach another listener
            continue
        obs = observe(envoy, p)
        res.sent += 1
        why = compare(trace, obs, p)
        res.outcomes[trace.outcome] = res.outcomes.get(trace.outcome, 0) + 1
        if why is None:
            res.agreed += 1
        else:
            res.disagreements.append(Disagreement(p, trace.summary(), obs.short() if obs else "connection closed", why))
    return res


def three_sigma(n: int, p: float) -> float:
    return 3 * math.sqrt(n * p * (1 - p))
