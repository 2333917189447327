"""Drift: where what Envoy holds differs from what meshtui predicts, and the likely cause.

Both sides go through the same reader: the prediction is rendered as Envoy JSON (with the same
render options the control plane pushes) and read back like a dump, so only differences in what
routing depends on show, never differences of spelling or defaults. Resources meshtui does not
generate (inbound listeners, istiod's extra clusters, an EnvoyFilter's additions) are counted as
not modelled, not reported as drift."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from meshtui.actual.dump import ConfigDump, read_dump, to_proxy_config
from meshtui.translate.config import EnvoyResources, ProxyConfig


class DriftCause(StrEnum):
    NOT_PUSHED = "not-pushed"  # predicted, Envoy does not hold it
    NACKED = "nacked"  # Envoy rejected the update and kept the old one
    WARMING = "warming"  # Envoy holds it but has not activated it yet
    UNMODELLED = "not-modelled"  # Envoy holds something meshtui does not generate
    CHANGED = "changed"  # both have it, with different content


CAUSE_TEXT: dict[DriftCause, str] = {
    DriftCause.NOT_PUSHED: "meshtui predicts it but Envoy does not hold it: not pushed yet, or the push failed",
    DriftCause.NACKED: "Envoy rejected the update and keeps its last good config",
    DriftCause.WARMING: "Envoy received it and is still warming it (waiting for endpoints or a route)",
    DriftCause.UNMODELLED: "Envoy holds a resource meshtui does not generate (an EnvoyFilter, or an istiod feature meshtui does not model)",
    DriftCause.CHANGED: ("Envoy holds different content: a push meshtui's prediction does not account for (another control "
                         "plane, an EnvoyFilter, a change not yet pushed), or a meshtui bug"),
}


@dataclass(frozen=True)
class Drift:
    kind: str  # listener | route-config | virtual-host | route | cluster | endpoints
    name: str
    cause: DriftCause
    fields: tuple[tuple[str, str, str], ...] = ()  # (field path, predicted, actual)
    detail: str = ""

    @property
    def explanation(self) -> str:
        return self.detail or CAUSE_TEXT[self.cause]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "cause": str(self.cause), "explanation": self.explanation,
                "fields": [{"path": p, "predicted": a, "actual": b} for p, a, b in self.fields]}


def as_dump(res: EnvoyResources, what: str = "all", node: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rendered Envoy JSON in the shape of an admin config dump (`what`: all, listeners, routes,
    clusters or endpoints), the document `proxy-config -o json` prints and the drift reads back."""
    t = "type.googleapis.com/"
    configs: list[dict[str, Any]] = []
    if node is not None:
        configs.append({"@type": t + "envoy.admin.v3.BootstrapConfigDump", "bootstrap": {"node": node}})
    if what in ("all", "clusters"):
        configs.append({"@type": t + "envoy.admin.v3.ClustersConfigDump", "dynamic_active_clusters": [
            {"cluster": {"@type": t + "envoy.config.cluster.v3.Cluster", **c}} for c in res.clusters]})
    if what in ("all", "listeners"):
        configs.append({"@type": t + "envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": [
            {"name": ls["name"], "active_state": {"listener": {"@type": t + "envoy.config.listener.v3.Listener", **ls}}}
            for ls in res.listeners]})
    if what in ("all", "routes"):
        configs.append({"@type": t + "envoy.admin.v3.RoutesConfigDump", "dynamic_route_configs": [
            {"route_config": {"@type": t + "envoy.config.route.v3.RouteConfiguration", **r}} for r in res.routes]})
    if what in ("all", "endpoints"):
        configs.append({"@type": t + "envoy.admin.v3.EndpointsConfigDump", "dynamic_endpoint_configs": [
            {"endpoint_config": {"@type": t + "envoy.config.endpoint.v3.ClusterLoadAssignment", **e}} for e in res.endpoints]})
    return {"configs": configs}


def _show(v: Any) -> str:
    text = repr(v) if not isinstance(v, str) else v
    return text if len(text) <= 160 else text[:157] + "..."


def _diff(a: Any, b: Any, path: str, out: list[tuple[str, str, str]], limit: int = 12) -> None:
    """Field paths where two values of the config model differ (dataclasses, tuples, dicts)."""
    if len(out) >= limit or a == b:
        return
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        for f in dataclasses.fields(a):
            if f.name.startswith("_") or f.name in _IGNORED:
                continue
            _diff(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}" if path else f.name, out, limit)
        return
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out, limit)
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff(a.get(k), b.get(k), f"{path}.{k}", out, limit)
        return
    out.append((path, _show(a), _show(b)))


# provenance and the tracer's own annotations: the dump cannot carry them, so they never count
_IGNORED = {"ref", "match_ref", "rule_index", "match_index", "virtual_service", "notes", "kind", "service", "live_id",
            "static", "delay_runtime_key", "abort_runtime_key", "decorator", "stat_prefix", "address"}


def _cause(dump: ConfigDump, kind: str, name: str, default: DriftCause) -> tuple[DriftCause, str]:
    key = {"route-config": "route", "endpoints": "cluster"}.get(kind, kind)
    if (key, name) in dump.rejected:
        return DriftCause.NACKED, f"Envoy rejected the last update of this {key}: {dump.rejected[(key, name)]}"
    if (key, name) in dump.warming:
        return DriftCause.WARMING, ""
    return default, ""


def runtime_values(layer: dict[str, Any]) -> dict[str, float]:
    """A rendered runtime layer (numbers, or FractionalPercent JSON) as the values Envoy reads."""
    out: dict[str, float] = {}
    for key, value in layer.items():
        if isinstance(value, dict):
            den = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000}.get(str(value.get("denominator", "HUNDRED")), 100)
            out[key] = float(value.get("numerator", 0)) * 100 / den
        elif isinstance(value, (int, float)):
            out[key] = float(value)
    return out


def drift(predicted: ProxyConfig, actual_dump: ConfigDump, rendered: EnvoyResources | None = None,
          actual_runtime: dict[str, float] | None = None) -> tuple[list[Drift], dict[str, int]]:
    """Differences between meshtui's prediction for a proxy and the dump of its Envoy, and the
    count of resources per kind that Envoy holds and meshtui does not model. Each side's faults
    are read under its own runtime: the prediction's rendered layer, and `actual_runtime` (the
    proxy's /runtime; a dump file has none, and then the prediction's stands in)."""
    if rendered is None and actual_dump.static:
        # an Envoy on a static bootstrap: compare with meshtui's static rendering (STATIC clusters,
        # route configurations inline), not with what xDS would carry
        from meshtui.translate.envoy_json import render

        rendered = render(predicted, {}, None, inline=True)
    res = rendered or predicted.envoy_resources()
    pred_runtime = runtime_values(res.runtime)
    pred = to_proxy_config(read_dump(as_dump(res), "prediction"), predicted.snapshot, pred_runtime, predicted.proxy)
    act = to_proxy_config(actual_dump, predicted.snapshot, pred_runtime if actual_runtime is None else actual_runtime,
                          predicted.proxy)
    out: list[Drift] = []
    unmodelled: dict[str, int] = {}

    def compare(kind: str, left: dict[str, Any], right: dict[str, Any], nested: Any = None) -> None:
        for name in left:
            if name not in right:
                cause, detail = _cause(actual_dump, kind, name, DriftCause.NOT_PUSHED)
                out.append(Drift(kind, name, cause, detail=detail))
            elif nested is not None:
                nested(name, left[name], right[name])
            else:
                fields: list[tuple[str, str, str]] = []
                _diff(left[name], right[name], "", fields)
                if fields:
                    cause, detail = _cause(actual_dump, kind, name, DriftCause.CHANGED)
                    out.append(Drift(kind, name, cause, tuple(fields), detail))
        # a dynamic proxy's bootstrap (its xDS server cluster, say) is not what a control plane sends
        boot = set() if actual_dump.static else {n for t, n in actual_dump.bootstrap if t == kind}
        extra = [n for n in right if n not in left and n not in boot]
        if extra:
            unmodelled[kind] = unmodelled.get(kind, 0) + len(extra)

    def vhosts(rc_name: str, a: Any, b: Any) -> None:
        left = {vh.name: vh for vh in a.virtual_hosts}
        right = {vh.name: vh for vh in b.virtual_hosts}
        for name, vh in left.items():
            other = right.get(name)
            if other is None:
                cause, detail = _cause(actual_dump, "route-config", rc_name, DriftCause.NOT_PUSHED)
                out.append(Drift("virtual-host", f"{rc_name}/{name}", cause, detail=detail))
                continue
            fields: list[tuple[str, str, str]] = []
            _diff(vh.domains, other.domains, "domains", fields)
            if len(vh.routes) != len(other.routes):
                fields.append(("routes", f"{len(vh.routes)} routes", f"{len(other.routes)} routes"))
            if fields:
                out.append(Drift("virtual-host", f"{rc_name}/{name}", *_cause(actual_dump, "route-config", rc_name, DriftCause.CHANGED)[:1],
                                 tuple(fields)))
            for i, (r1, r2) in enumerate(zip(vh.routes, other.routes, strict=False)):
                rf: list[tuple[str, str, str]] = []
                _diff(r1, r2, "", rf)
                if rf:
                    cause, detail = _cause(actual_dump, "route-config", rc_name, DriftCause.CHANGED)
                    out.append(Drift("route", f"{rc_name}/{name}[{i}]" + (f" ({r1.name})" if r1.name else ""), cause, tuple(rf), detail))
        extra = [n for n in right if n not in left]
        if extra:
            unmodelled["virtual-host"] = unmodelled.get("virtual-host", 0) + len(extra)

    compare("listener", {ls.name: ls for ls in pred.listeners}, {ls.name: ls for ls in act.listeners})
    compare("route-config", dict(pred.route_configs), dict(act.route_configs), vhosts)
    compare("cluster", dict(pred.clusters), dict(act.clusters))
    # DNS clusters resolve their hostnames inside Envoy at run time: their endpoints are not config
    dns = {n for n, c in pred.clusters.items() if c.type in ("STRICT_DNS", "LOGICAL_DNS")}
    eps_pred = {n: sorted(f"{e.address}:{e.port}" for e in eps) for n, eps in pred.endpoints.items()
                if n in act.clusters and n not in dns}
    eps_act = {n: sorted(f"{e.address}:{e.port}" for e in eps) for n, eps in act.endpoints.items()
               if n in pred.clusters and n not in dns}
    compare("endpoints", eps_pred, eps_act)
    return out, unmodelled
