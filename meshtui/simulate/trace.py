"""The result of a trace: every step Envoy takes, in order, with its verdict and where it came
from, and the final disposition (docs/CONTRACT.md `trace -o json`). Typed throughout; `to_json`
is the one place the contract's JSON shape is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from meshtui.simulate.grpc import grpc_code_text
from meshtui.simulate.request import Request
from meshtui.translate.config import ProxyInfo, Ref

if TYPE_CHECKING:  # simulate.server builds on this module's types
    from meshtui.simulate.server import ServerVerdict


class Stage(StrEnum):
    """Where in Envoy's handling a step happens, in the order Envoy takes them."""

    SIDECAR_SCOPE = "sidecar-scope"
    DNS = "dns"
    LISTENER = "listener"
    FILTER_CHAIN = "filter-chain"
    ROUTE_CONFIG = "route-config"
    VIRTUAL_HOST = "virtual-host"
    VIRTUAL_SERVICE = "virtual-service"
    ROUTE = "route"
    FAULT = "fault"
    CORS = "cors"
    CLUSTER = "cluster"
    DESTINATION_RULE = "destination-rule"
    ENDPOINTS = "endpoints"
    INBOUND = "inbound"  # the server pod's sidecar
    PEER_AUTHENTICATION = "peer-authentication"
    AUTHORIZATION = "authorization"
    OUTCOME = "outcome"


class Verdict(StrEnum):
    SELECTED = "selected"  # this candidate was taken
    NO_MATCH = "no-match"  # tried and rejected, with the condition that failed
    SKIPPED = "skipped"  # left out before the request arrived (config time)
    INFO = "info"
    WARNING = "warning"
    FINAL = "final"  # the disposition


class Outcome(StrEnum):
    ROUTED = "routed"
    REDIRECT = "redirect"
    DIRECT_RESPONSE = "direct-response"
    FAULT_ABORT = "fault-abort"
    NO_VIRTUAL_HOST = "no-virtual-host"
    NO_ROUTE = "no-route"
    CLUSTER_NOT_FOUND = "cluster-not-found"
    NO_HEALTHY_UPSTREAM = "no-healthy-upstream"
    BLACKHOLE = "blackhole"
    PASSTHROUGH = "passthrough"
    REJECTED = "rejected"  # Envoy's HTTP codec refuses the request itself (400, 431)
    DENIED = "denied"  # the server sidecar's authorization: 403 RBAC: access denied
    TLS_REFUSED = "tls-refused"  # the server sidecar refuses the connection (mTLS mode): 503


def _dur(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return f"{seconds:g}s"


@dataclass
class Step:
    stage: Stage
    verdict: Verdict
    detail: str
    ref: Ref | None = None
    expected: str | None = None  # what the config asks for, shown beside `actual`
    actual: str | None = None  # what the request has

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": str(self.stage), "verdict": str(self.verdict), "detail": self.detail}
        if self.expected is not None or self.actual is not None:
            out["expected"] = self.expected
            out["actual"] = self.actual
        if self.ref is not None:
            out["ref"] = self.ref.to_json()
        return out


@dataclass(frozen=True, slots=True)
class FaultDelay:
    seconds: float
    probability: float  # 0..1
    clusters: tuple[str, ...] = ()  # a live fault limited to these shares of a split route
    share: float | None = None  # their part of the route's traffic (0..1)

    def to_json(self) -> dict[str, Any]:
        return {"fixedDelay": f"{self.seconds:g}s", "probability": round(self.probability, 6), **_limits(self)}


@dataclass(frozen=True, slots=True)
class FaultAbort:
    http_status: int | None
    grpc_status: int | None
    probability: float  # 0..1
    clusters: tuple[str, ...] = ()
    share: float | None = None

    @property
    def code_text(self) -> str:
        return str(self.http_status) if self.http_status is not None else f"grpc {self.grpc_status}"

    def to_json(self) -> dict[str, Any]:
        return {"httpStatus": self.http_status, "grpcStatus": self.grpc_status, "probability": round(self.probability, 6),
                **_limits(self)}


def _limits(part: FaultDelay | FaultAbort) -> dict[str, Any]:
    if not part.clusters:
        return {}
    return {"clusters": list(part.clusters), "share": None if part.share is None else round(part.share, 6)}


@dataclass(frozen=True, slots=True)
class LiveFaultInfo:
    """A game-day fault: its id and the runtime keys Envoy reads its percentages from."""

    id: str
    runtime_keys: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "runtimeKeys": list(self.runtime_keys)}


@dataclass(frozen=True, slots=True)
class TraceFault:
    delay: FaultDelay | None = None
    abort: FaultAbort | None = None
    live: LiveFaultInfo | None = None

    def __bool__(self) -> bool:
        return self.delay is not None or self.abort is not None or self.live is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.delay is not None:
            out["delay"] = self.delay.to_json()
        if self.abort is not None:
            out["abort"] = self.abort.to_json()
        if self.live is not None:
            out["live"] = self.live.to_json()
        return out


@dataclass(frozen=True, slots=True)
class TraceRetries:
    attempts: int
    retry_on: str = ""
    per_try_timeout: float | None = None
    retriable_status_codes: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        if not self.attempts:
            return {"attempts": 0}
        out: dict[str, Any] = {"attempts": self.attempts, "retryOn": self.retry_on}
        if self.per_try_timeout:
            out["perTryTimeout"] = f"{self.per_try_timeout:g}s"
        if self.retriable_status_codes:
            out["retriableStatusCodes"] = list(self.retriable_status_codes)
        return out


@dataclass(frozen=True, slots=True)
class TraceMirror:
    cluster: str
    host: str
    subset: str
    percentage: float

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "host": self.host, "subset": self.subset or None, "percentage": self.percentage}


@dataclass(frozen=True, slots=True)
class TraceEndpoint:
    address: str
    port: int
    pod: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    synthesized: bool = False
    cluster: str = ""  # several clusters: where the endpoint lives, and its network
    network: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "port": self.port, "pod": self.pod or None, "labels": dict(self.labels)}
        if self.synthesized:
            out["synthesized"] = True
        if self.cluster:
            out["cluster"] = self.cluster
            out["network"] = self.network or None
        return out


@dataclass
class Destination:
    host: str
    subset: str
    port: int
    weight: int
    probability: float
    cluster: str
    cluster_found: bool = True
    destination_rule: Ref | None = None
    traffic_policy: dict[str, Any] = field(default_factory=dict)  # Istio's trafficPolicy JSON, as layered
    endpoints: list[TraceEndpoint] = field(default_factory=list)
    lb_policy: str = ""
    ref: Ref | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host, "subset": self.subset or None, "port": self.port, "weight": self.weight,
            "probability": round(self.probability, 6), "cluster": self.cluster, "clusterFound": self.cluster_found,
            "destinationRule": ({"namespace": self.destination_rule.namespace, "name": self.destination_rule.name}
                                if self.destination_rule else None),
            "trafficPolicy": self.traffic_policy, "loadBalancer": self.lb_policy or None,
            "endpoints": [e.to_json() for e in self.endpoints],
        }


@dataclass(frozen=True, slots=True)
class Rewrite:
    path: str
    authority: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "authority": self.authority}


@dataclass(frozen=True, slots=True)
class ResponseHeaderOps:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"set": dict(self.set), "add": dict(self.add), "remove": list(self.remove)}


@dataclass
class Trace:
    request: Request
    proxy: ProxyInfo
    steps: list[Step] = field(default_factory=list)
    sidecar_scope: Ref | None = None
    listener: str | None = None
    route_config: str | None = None
    virtual_host: str | None = None
    virtual_service: Ref | None = None
    route_name: str | None = None
    rule_index: int | None = None
    match_index: int | None = None
    route_ref: Ref | None = None
    outcome: Outcome = Outcome.NO_ROUTE
    status: int | None = None
    response_flags: str = ""
    # a gRPC request's local reply: Envoy sends HTTP 200 (trailers-only) with this grpc-status
    grpc_status: int | None = None
    destinations: list[Destination] = field(default_factory=list)
    timeout: float | None = None
    retries: TraceRetries | None = None
    fault: TraceFault | None = None
    location: str | None = None
    body: str | None = None
    rewritten: Rewrite | None = None
    request_headers: dict[str, str] | None = None
    response_headers: ResponseHeaderOps | None = None
    mirrors: list[TraceMirror] = field(default_factory=list)
    server: list[ServerVerdict] = field(default_factory=list)  # one per destination pod

    def add(self, stage: Stage, verdict: Verdict, detail: str, ref: Ref | None = None, expected: str | None = None,
            actual: str | None = None) -> Step:
        s = Step(stage, verdict, detail, ref, expected, actual)
        self.steps.append(s)
        return s

    def summary(self) -> str:
        text = self._summary()
        if self.grpc_status is not None:
            text += f"; a gRPC client reads HTTP 200, grpc-status {grpc_code_text(self.grpc_status)}"
        return text

    def _summary(self) -> str:
        if self.outcome == Outcome.ROUTED:
            parts = [f"{d.cluster} ({d.probability:.0%})" for d in self.destinations]
            return "routed to " + ", ".join(parts)
        if self.outcome == Outcome.REDIRECT:
            return f"redirect {self.status} to {self.location}"
        if self.outcome == Outcome.REJECTED:
            return f"Envoy answers {self.status} itself, before any routing"
        if self.outcome in (Outcome.DENIED, Outcome.TLS_REFUSED):
            if self.status is None:  # a TCP connection: the server closes it, there is no HTTP answer
                what = "connection closed by" if self.outcome == Outcome.DENIED else "connection refused by"
            else:
                what = "403 RBAC: access denied by" if self.outcome == Outcome.DENIED else "503: the connection is refused by"
            return f"{what} the server sidecar of {', '.join(v.pod for v in self.server)}"
        if self.outcome == Outcome.PASSTHROUGH:
            return "passthrough (PassthroughCluster: sent to the original destination, no mesh policy)"
        return f"{self.outcome} ({self.status}{' ' + self.response_flags if self.response_flags else ''})"

    def to_json(self) -> dict[str, Any]:
        vs = None
        if self.virtual_service is not None:
            vs = {"namespace": self.virtual_service.namespace, "name": self.virtual_service.name,
                  "file": self.virtual_service.file or None, "line": self.virtual_service.line}
        route = None
        if self.route_name is not None:
            route = {"name": self.route_name, "ruleIndex": self.rule_index, "matchIndex": self.match_index}
        return {
            "apiVersion": "meshtui/v1alpha1",
            "kind": "Trace",
            "request": self.request.to_json(),
            "proxy": self.proxy.to_json(),
            "sidecarScope": ({"namespace": self.sidecar_scope.namespace, "name": self.sidecar_scope.name}
                             if self.sidecar_scope else None),
            "listener": self.listener,
            "routeConfig": self.route_config,
            "virtualHost": self.virtual_host,
            "virtualService": vs,
            "route": route,
            "outcome": str(self.outcome),
            "status": self.status,
            "responseFlags": self.response_flags or None,
            "grpcStatus": self.grpc_status,
            "destinations": [d.to_json() for d in self.destinations],
            "timeout": _dur(self.timeout),
            "retries": self.retries.to_json() if self.retries is not None else None,
            "fault": self.fault.to_json() if self.fault else None,
            "redirect": {"location": self.location} if self.location else None,
            "directResponse": {"body": self.body} if self.outcome in (Outcome.DIRECT_RESPONSE, Outcome.BLACKHOLE) else None,
            "rewrite": self.rewritten.to_json() if self.rewritten is not None else None,
            "requestHeaders": self.request_headers,
            "responseHeaders": self.response_headers.to_json() if self.response_headers is not None else None,
            "mirrors": [m.to_json() for m in self.mirrors],
            "server": [v.to_json() for v in self.server],
            "steps": [s.to_json() for s in self.steps],
        }
