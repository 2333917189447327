"""The result of a trace: every step Envoy takes, in order, with its verdict and where it came
from, and the final disposition (CONTRACT.md `trace -o json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshtui.simulate.request import Request
from meshtui.translate.config import Ref

OUTCOMES = ("routed", "redirect", "direct-response", "fault-abort", "no-virtual-host", "no-route",
            "cluster-not-found", "no-healthy-upstream", "blackhole", "passthrough")


@dataclass
class Step:
    stage: str  # dns | listener | filter-chain | route-config | virtual-host | virtual-service | route | fault | cluster | destination-rule | endpoints | outcome
    verdict: str  # selected | no-match | skipped | info | warning | final
    detail: str
    ref: Ref | None = None
    expected: Any = None
    actual: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "verdict": self.verdict, "detail": self.detail}
        if self.expected is not None or self.actual is not None:
            out["expected"] = self.expected
            out["actual"] = self.actual
        if self.ref is not None:
            out["ref"] = self.ref.to_json()
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
    traffic_policy: dict[str, Any] = field(default_factory=dict)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    lb_policy: str = ""
    ref: Ref | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host, "subset": self.subset or None, "port": self.port, "weight": self.weight,
            "probability": round(self.probability, 6), "cluster": self.cluster, "clusterFound": self.cluster_found,
            "destinationRule": ({"namespace": self.destination_rule.namespace, "name": self.destination_rule.name}
                                if self.destination_rule else None),
            "trafficPolicy": self.traffic_policy, "loadBalancer": self.lb_policy or None, "endpoints": self.endpoints,
        }


@dataclass
class Trace:
    request: Request
    proxy: dict[str, Any]
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
    outcome: str = "no-route"
    status: int | None = None
    response_flags: str = ""
    destinations: list[Destination] = field(default_factory=list)
    timeout: float | None = None
    retries: dict[str, Any] | None = None
    fault: dict[str, Any] | None = None
    location: str | None = None
    body: str | None = None
    rewritten: dict[str, Any] | None = None
    request_headers: dict[str, str] | None = None
    response_headers: dict[str, Any] | None = None
    mirrors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, stage: str, verdict: str, detail: str, ref: Ref | None = None, expected: Any = None, actual: Any = None) -> Step:
        s = Step(stage, verdict, detail, ref, expected, actual)
        self.steps.append(s)
        return s

    def summary(self) -> str:
        if self.outcome == "routed":
            parts = [f"{d.cluster} ({d.probability:.0%})" for d in self.destinations]
            return "routed to " + ", ".join(parts)
        if self.outcome == "redirect":
            return f"redirect {self.status} to {self.location}"
        if self.outcome == "passthrough":
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
            "proxy": self.proxy,
            "sidecarScope": ({"namespace": self.sidecar_scope.namespace, "name": self.sidecar_scope.name}
                             if self.sidecar_scope else None),
            "listener": self.listener,
            "routeConfig": self.route_config,
            "virtualHost": self.virtual_host,
            "virtualService": vs,
            "route": route,
            "outcome": self.outcome,
            "status": self.status,
            "responseFlags": self.response_flags or None,
            "destinations": [d.to_json() for d in self.destinations],
            "timeout": _dur(self.timeout),
            "retries": self.retries,
            "fault": self.fault,
            "redirect": {"location": self.location} if self.location else None,
            "directResponse": {"body": self.body} if self.outcome in ("direct-response", "blackhole") else None,
            "rewrite": self.rewritten,
            "requestHeaders": self.request_headers,
            "responseHeaders": self.response_headers,
            "mirrors": self.mirrors,
            "steps": [s.to_json() for s in self.steps],
        }


def _dur(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return f"{seconds:g}s"
