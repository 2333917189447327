"""translate(snapshot, proxy) → ProxyConfig: Pilot's job, for one proxy.

    from meshtui.translate import translate
    cfg = translate(snapshot, "default/productpage-v1")
    cfg.route_configs["9080"], cfg.clusters, cfg.envoy_resources()

A proxy is a sidecar unless a Gateway's selector picks its labels (then it is a router), or
`TranslateOptions.proxy_type` says otherwise."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import replace

from meshtui.edits.model import FaultEdit
from meshtui.errors import UsageError
from meshtui.model.snapshot import MeshSnapshot, Workload
from meshtui.translate.config import (
    EnvoyResources,
    Fault,
    ProxyConfig,
    Ref,
    Route,
    RouteConfig,
    TranslateOptions,
    VirtualHost,
)
from meshtui.translate.gateway import build_gateway, is_gateway_workload
from meshtui.translate.policy import DRIndex
from meshtui.translate.sidecar import build_sidecar

__all__ = [
    "EnvoyResources",
    "ProxyConfig",
    "TranslateOptions",
    "Translator",
    "dr_index",
    "fault_clusters",
    "fault_targets",
    "resolve_workload",
    "translate",
    "with_live_faults",
]


def dr_index(snapshot: MeshSnapshot) -> DRIndex:
    """A DestinationRule index of `snapshot` (the caller keeps it as long as it needs it)."""
    return DRIndex(snapshot)


def resolve_workload(snapshot: MeshSnapshot, proxy: str | Workload) -> Workload:
    if isinstance(proxy, Workload):
        return proxy
    if "/" not in proxy:
        proxy = f"default/{proxy}"
    wl = snapshot.find_workload(proxy)
    if wl is not None:
        return wl
    names = snapshot.workload_names()
    close = difflib.get_close_matches(proxy, names, n=5, cutoff=0.5)
    known = f" Known workloads: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''}." if names else ""
    hint = f" Did you mean: {', '.join(close)}?" if close else (known or " The sources hold no Pods, Deployments or StatefulSets.")
    raise UsageError(f"no workload {proxy!r} (a Pod, Deployment or StatefulSet as NAMESPACE/NAME).{hint}")


class Translator:
    """Translates the proxies of one snapshot. It owns what their translations share (the
    DestinationRule index and its lookups), so that lives exactly as long as the caller keeps
    the translator: hold one to translate many proxies of the same snapshot."""

    def __init__(self, snapshot: MeshSnapshot) -> None:
        self.snapshot = snapshot
        self._drs: DRIndex | None = None

    @property
    def drs(self) -> DRIndex:
        if self._drs is None:
            self._drs = DRIndex(self.snapshot)
        return self._drs

    def translate(self, proxy: str | Workload, options: TranslateOptions | None = None, lazy: bool = False) -> ProxyConfig:
        """`lazy` (for traces): a sidecar's virtual hosts and clusters are built when first read, with
        the same code and the same results (translate/lazy.py); gateways are always built whole."""
        snapshot = self.snapshot
        options = options or TranslateOptions()
        wl = resolve_workload(snapshot, proxy)
        router = options.proxy_type == "router" or (options.proxy_type is None and is_gateway_workload(snapshot, wl))
        drs = self.drs
        cfg = build_gateway(snapshot, wl, drs) if router else build_sidecar(snapshot, wl, drs, lazy=lazy)
        if snapshot.live_faults:
            cfg = with_live_faults(cfg, snapshot.live_faults)
        cfg.render_options = options
        cfg.snapshot = snapshot
        return cfg


def translate(snapshot: MeshSnapshot, proxy: str | Workload, options: TranslateOptions | None = None,
              lazy: bool = False) -> ProxyConfig:
    """One proxy's configuration (a Translator of its own: hold a Translator to do many)."""
    return Translator(snapshot).translate(proxy, options, lazy)


def fault_targets(route: Route, edit: FaultEdit) -> bool:
    """Does live fault `edit` apply to this route? (a VS rule, or any destination on a host/subset)"""
    t = edit.target
    if t.virtual_service:
        if route.virtual_service is None:
            return False
        if f"{route.virtual_service[0]}/{route.virtual_service[1]}" != t.virtual_service:
            return False
        return t.rule is None or route.rule_index == t.rule
    if t.host and route.action is not None:
        return any(c.host == t.host and (not t.subset or c.subset == t.subset) for c in route.action.clusters)
    return False


def fault_clusters(route: Route, edit: FaultEdit) -> tuple[str, ...]:
    """The weighted clusters of `route` a live fault is limited to: a --host/--subset fault on a
    split route touches only the shares bound for that host/subset (Envoy: a fault filter config
    per weighted cluster). Empty when it covers every request of the route."""
    t = edit.target
    if not t.host or route.action is None or not route.action.weighted:
        return ()
    hit = tuple(c.cluster for c in route.action.clusters if c.host == t.host and (not t.subset or c.subset == t.subset))
    if len(set(hit)) == len({c.cluster for c in route.action.clusters}):
        return ()
    return hit


def _with_fault(r: Route, edit: FaultEdit, runtime: dict[str, float]) -> Route:
    static = r.fault.static if r.fault is not None and r.fault.live_id else r.fault
    base = replace(r.fault or Fault(), static=static)
    ref = Ref("Fault", "", edit.id, edit.target.describe())
    only = fault_clusters(r, edit)
    if edit.abort_status is not None:
        key = edit.runtime_key("abort_percent")
        base = replace(base, abort_http_status=edit.abort_status, abort_grpc_status=None,
                       abort_percent=edit.percent, abort_runtime_key=key, live_id=edit.id, ref=ref,
                       abort_clusters=only)
    else:
        key = edit.runtime_key("delay_percent")
        base = replace(base, delay_seconds=edit.delay_seconds, delay_percent=edit.percent,
                       delay_runtime_key=key, live_id=edit.id, ref=ref, delay_clusters=only)
    runtime[key] = edit.percent
    return replace(r, fault=base)


def with_live_faults(cfg: ProxyConfig, faults: Iterable[FaultEdit]) -> ProxyConfig:
    """`cfg` with each live fault on the routes it targets, as a new ProxyConfig (`cfg` and its
    route configs are left as they are). Envoy gets percentage 0 plus a runtime key; the real
    percentage goes to the copy's `runtime` (served as a TTL'd runtime layer)."""
    faults = tuple(faults)
    runtime = dict(cfg.runtime)
    route_configs: dict[str, RouteConfig] = {}
    for name, rc in cfg.route_configs.items():
        vhosts: list[VirtualHost] = []
        changed = False
        for vh in rc.virtual_hosts:
            routes = list(vh.routes)
            for i, r in enumerate(routes):
                for edit in faults:
                    if fault_targets(r, edit):
                        r = routes[i] = _with_fault(r, edit, runtime)
            if any(a is not b for a, b in zip(routes, vh.routes, strict=True)):
                vh = vh.with_routes(tuple(routes))
                changed = True
            vhosts.append(vh)
        route_configs[name] = RouteConfig(rc.name, vhosts, rc.ignore_port_in_host_matching) if changed else rc
    return replace(cfg, route_configs=route_configs, runtime=runtime)
