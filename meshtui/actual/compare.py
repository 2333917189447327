"""Two traces of one request, on the prediction and on what Envoy holds, and where they part.

The decisions are compared in the order Envoy takes them; the first that differs is where the
two part. Explanations (provenance, step wording) are not compared: a dump carries no Istio
provenance, so only what Envoy decides counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshtui.simulate.trace import Trace

# (label, how to read it from a trace's JSON), in the order Envoy decides
DECISIONS: tuple[tuple[str, str], ...] = (
    ("listener", "listener"),
    ("route config", "routeConfig"),
    ("virtual host", "virtualHost"),
    ("route", "route"),
    ("fault", "fault"),
    ("destinations", "destinations"),
    ("endpoints", "endpoints"),
    ("timeout", "timeout"),
    ("retries", "retries"),
    ("outcome", "outcome"),
    ("status", "status"),
)


def _decision(doc: dict[str, Any], key: str) -> Any:
    if key == "route":
        r = doc.get("route") or {}
        return r.get("name") if isinstance(r, dict) else r
    if key == "destinations":
        return [(d.get("cluster"), round(float(d.get("probability") or 0), 4)) for d in doc.get("destinations") or []]
    if key == "endpoints":
        return [sorted(f"{e.get('address')}:{e.get('port')}" for e in d.get("endpoints") or []) for d in doc.get("destinations") or []]
    if key == "fault":
        f = doc.get("fault") or {}
        return {k: {kk: vv for kk, vv in v.items() if kk != "runtimeKeys"} if isinstance(v, dict) else v
                for k, v in f.items() if k != "live"} or None
    return doc.get(key)


@dataclass(frozen=True)
class Comparison:
    predicted: Trace
    actual: Trace
    differences: tuple[tuple[str, Any, Any], ...]  # (decision, predicted, actual) in Envoy's order

    @property
    def agree(self) -> bool:
        return not self.differences

    @property
    def part_at(self) -> str | None:
        return self.differences[0][0] if self.differences else None

    def to_json(self) -> dict[str, Any]:
        return {"apiVersion": "meshtui/v1alpha1", "kind": "TraceComparison", "agree": self.agree, "partAt": self.part_at,
                "differences": [{"decision": d, "predicted": p, "actual": a} for d, p, a in self.differences],
                "predicted": self.predicted.to_json(), "actual": self.actual.to_json()}


def compare_traces(predicted: Trace, actual: Trace, endpoints: bool = True) -> Comparison:
    """`endpoints=False` leaves endpoint addresses out (when the two sides name the same pods by
    different addresses, as meshtui's demo does on loopback)."""
    p, a = predicted.to_json(), actual.to_json()
    diffs = []
    for label, key in DECISIONS:
        if key == "endpoints" and not endpoints:
            continue
        left, right = _decision(p, key), _decision(a, key)
        if left != right:
            diffs.append((label, left, right))
    return Comparison(predicted, actual, tuple(diffs))
