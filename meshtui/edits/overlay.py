"""Edits as overlays: snapshot + edits = a new snapshot. Faults ride along as
`snapshot.live_faults` (translate decorates the routes they target); a scope edit replaces the
egress of the Sidecar that applies to its namespace/workload, or adds one. Expired edits (at
`now`) are ignored, so a caller that re-applies on a timer gets expiry for free."""

from __future__ import annotations

from dataclasses import replace

from meshtui.edits.model import FaultEdit, ScopeEdit
from meshtui.model.istio import (
    IstioEgressListener,
    ObjectMeta,
    OutboundTrafficPolicy,
    Sidecar,
    SidecarSpec,
    WorkloadSelector,
)
from meshtui.model.snapshot import MeshSnapshot
from meshtui.model.source import Source

__all__ = ["active", "apply_edits", "scope_conflict", "scope_sidecar"]


def active(edits, now: float) -> list:
    out = []
    for e in edits:
        exp = e.expires_at
        if exp is None or exp > now:
            out.append(e)
    return out


def scope_conflict(edits, new: ScopeEdit) -> ScopeEdit | None:
    """The active scope edit that `new` would fight with: any other one in the same namespace.
    Two Sidecars for one namespace (or overlapping selectors) leave Istio to pick the oldest, so
    the trace and the pushed config could each follow a different one; meshtui takes one scope
    edit per namespace and asks for the first to be removed."""
    for e in edits:
        if isinstance(e, ScopeEdit) and e.id != new.id and e.namespace == new.namespace:
            return e
    return None


def scope_sidecar(snapshot: MeshSnapshot, edit: ScopeEdit) -> Sidecar:
    """The Sidecar resource a scope edit produces: the existing one it targets with its egress
    replaced, or a new one (named meshtui-scope-<id>)."""
    target = None
    for sc in snapshot.sidecars:
        if sc.namespace != edit.namespace:
            continue
        sel = sc.spec.workload_selector
        if edit.workload_labels:
            if sel is not None and sel.labels == edit.workload_labels:
                target = sc
                break
        elif sel is None:
            target = sc
            break
    egress = (IstioEgressListener(hosts=tuple(edit.egress_hosts)),) if edit.egress_hosts else None
    src = Source(f"edit:{edit.id}", None, None, "")
    if target is not None:
        spec = target.spec
        if egress is not None:
            spec = replace(spec, egress=egress)
        if edit.outbound_traffic_policy:
            spec = replace(spec, outbound_traffic_policy=OutboundTrafficPolicy(mode=edit.outbound_traffic_policy))
        return replace(target, spec=spec, src=src)
    spec = SidecarSpec(
        workload_selector=WorkloadSelector(labels=dict(edit.workload_labels)) if edit.workload_labels else None,
        egress=egress or (IstioEgressListener(hosts=("*/*",)),),
        outbound_traffic_policy=OutboundTrafficPolicy(mode=edit.outbound_traffic_policy) if edit.outbound_traffic_policy else None,
    )
    meta = ObjectMeta(name=f"meshtui-scope-{edit.id}", namespace=edit.namespace,
                      annotations={"meshtui.io/edit": edit.id})
    return Sidecar(api_version="networking.istio.io/v1", kind="Sidecar", metadata=meta, spec=spec, src=src)


def apply_edits(snapshot: MeshSnapshot, edits, now: float) -> MeshSnapshot:
    live = active(edits, now)
    faults = tuple(e for e in live if isinstance(e, FaultEdit))
    scopes = [e for e in live if isinstance(e, ScopeEdit)]
    if not scopes:
        return replace(snapshot, live_faults=faults)
    sidecars = list(snapshot.sidecars)
    by_key = dict(snapshot.by_key)
    for edit in scopes:
        new = scope_sidecar(snapshot if not sidecars else replace(snapshot, sidecars=tuple(sidecars)), edit)
        sidecars = [s for s in sidecars if s.key != new.key]
        sidecars.append(new)
        by_key[new.key] = new
    return replace(snapshot, sidecars=tuple(sidecars), by_key=by_key, live_faults=faults)

