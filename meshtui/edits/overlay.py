"""Edits as overlays: snapshot + edits = a new snapshot. Faults ride along as
`snapshot.live_faults` (translate decorates the routes they target); a scope edit replaces the
egress of the Sidecar that applies to its namespace/workload, or adds one. Expired edits (at
`now`) are ignored, so a caller that re-applies on a timer gets expiry for free."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from meshtui.edits.model import Edit, FaultEdit, ScopeEdit
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


def active(edits: Iterable[Edit], now: float) -> list[Edit]:
    out: list[Edit] = []
    for e in edits:
        exp = e.expires_at
        if exp is None or exp > now:
            out.append(e)
    return out


def scope_conflict(edits: Iterable[Edit], new: ScopeEdit) -> ScopeEdit | None:
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
            spec = replace(spec, outbound_traffic_policy=_outbound_policy(edit.outbound_traffic_policy))
        return replace(target, spec=spec, src=src)
    spec = SidecarSpec(
        workload_selector=WorkloadSelector(labels=dict(edit.workload_labels)) if edit.workload_labels else None,
        egress=egress or (IstioEgressListener(hosts=("*/*",)),),
        outbound_traffic_policy=_outbound_policy(edit.outbound_traffic_policy) if edit.outbound_traffic_policy else None,
    )
    meta = ObjectMeta(name=f"meshtui-scope-{edit.id}", namespace=edit.namespace,
                      annotations={"meshtui.io/edit": edit.id})
    return Sidecar(api_version="networking.istio.io/v1", kind="Sidecar", metadata=meta, spec=spec, src=src)


def _outbound_policy(mode: str) -> OutboundTrafficPolicy:
    """The policy a scope edit sets. Every way in (the control API, the journal, the TUI) checks the
    mode with edits.limits first, which admits these two."""
    if mode == "ALLOW_ANY":
        return OutboundTrafficPolicy(mode="ALLOW_ANY")
    if mode == "REGISTRY_ONLY":
        return OutboundTrafficPolicy(mode="REGISTRY_ONLY")
    raise ValueError(f"outbound traffic policy must be ALLOW_ANY or REGISTRY_ONLY, not {mode!r}")


def apply_edits(snapshot: MeshSnapshot, edits: Iterable[Edit], now: float) -> MeshSnapshot:
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

