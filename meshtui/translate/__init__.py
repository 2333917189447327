"""translate(snapshot, proxy) → ProxyConfig: Pilot's job, for one proxy.

    from meshtui.translate import translate
    cfg = translate(snapshot, "default/productpage-v1")
    cfg.route_configs["9080"], cfg.clusters, cfg.envoy_resources()

A proxy is a sidecar unless a Gateway's selector picks its labels (then it is a router), or
`TranslateOptions.proxy_type` says otherwise."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

from meshtui.errors import UsageError
from meshtui.model.snapshot import MeshSnapshot, Workload
from meshtui.translate.config import (
    EnvoyResources,
    Fault,
    ProxyConfig,
    Ref,
    Route,
)
from meshtui.translate.gateway import build_gateway, is_gateway_workload
from meshtui.translate.policy import DRIndex
from meshtui.translate.sidecar import build_sidecar

__all__ = [
    "EnvoyResources",
    "ProxyConfig",
    "TranslateOptions",
    "apply_live_faults",
    "dr_index",
    "fault_targets",
    "resolve_workload",
    "translate",
]


@dataclass(frozen=True)
class TranslateOptions:
    proxy_type: str | None = None  # "sidecar" | "router"; None: decide from Gateway selectors
    bind_address: str | None = None  # render outbound listeners bound on this loopback address
    # every route carries a fault filter whose numbers come from per-route runtime keys, so a live
    # fault is a runtime-layer push only (the control plane's mode; off for what people read)
    prearm_faults: bool = False
    endpoint_remap: dict[str, str] = field(default_factory=dict)  # endpoint IP -> loopback IP when rendering


_DR_CACHE: dict[int, tuple[MeshSnapshot, DRIndex]] = {}


def dr_index(snapshot: MeshSnapshot) -> DRIndex:
    hit = _DR_CACHE.get(id(snapshot))
    if hit is not None and hit[0] is snapshot:
        return hit[1]
    idx = DRIndex(snapshot)
    if len(_DR_CACHE) > 8:
        _DR_CACHE.clear()
    _DR_CACHE[id(snapshot)] = (snapshot, idx)
    return idx


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


def translate(snapshot: MeshSnapshot, proxy: str | Workload, options: TranslateOptions | None = None,
              lazy: bool = False) -> ProxyConfig:
    """`lazy` (for traces): a sidecar's virtual hosts and clusters are built when first read, with
    the same code and the same results (translate/lazy.py); gateways are always built whole."""
    options = options or TranslateOptions()
    wl = resolve_workload(snapshot, proxy)
    router = options.proxy_type == "router" or (options.proxy_type is None and is_gateway_workload(snapshot, wl))
    drs = dr_index(snapshot)
    cfg = build_gateway(snapshot, wl, drs) if router else build_sidecar(snapshot, wl, drs, lazy=lazy)
    if snapshot.live_faults:
        apply_live_faults(cfg, snapshot.live_faults)
    cfg.render_options = options
    cfg.snapshot = snapshot
    return cfg


def fault_targets(route: Route, edit) -> bool:
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


def apply_live_faults(cfg: ProxyConfig, faults) -> None:
    """Decorate the routes each live fault targets. Envoy gets percentage 0 plus a runtime key;
    the real percentage lives in cfg.runtime (served as a TTL'd runtime layer)."""
    for rc in cfg.route_configs.values():
        for vh in rc.virtual_hosts:
            new_routes = []
            changed = False
            for r in vh.routes:
                for edit in faults:
                    if not fault_targets(r, edit):
                        continue
                    static = r.fault.static if r.fault is not None and r.fault.live_id else r.fault
                    base = replace(r.fault or Fault(), static=static)
                    ref = Ref("Fault", "", edit.id, edit.target.describe())
                    if edit.abort_status is not None:
                        key = edit.runtime_key("abort_percent")
                        base = replace(base, abort_http_status=edit.abort_status, abort_grpc_status=None,
                                       abort_percent=edit.percent, abort_runtime_key=key, live_id=edit.id, ref=ref)
                        cfg.runtime[key] = edit.percent
                    else:
                        key = edit.runtime_key("delay_percent")
                        base = replace(base, delay_seconds=edit.delay_seconds, delay_percent=edit.percent,
                                       delay_runtime_key=key, live_id=edit.id, ref=ref)
                        cfg.runtime[key] = edit.percent
                    r = replace(r, fault=base)
                    changed = True
                new_routes.append(r)
            if changed:
                vh.routes = tuple(new_routes)
        rc._exact = None  # re-index lazily (vhosts were mutated in place)

