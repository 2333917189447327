"""Gateway API status as istiod would write it, as findings: routes a parent does not accept
(MT0301: NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname), routes whose
backends or filters do not resolve (MT0302: BackendNotFound, RefNotPermitted, InvalidKind, ...),
parentRefs istiod ignores (MT0303), and Gateways or listeners it rejects (MT0304, MT0305:
conflicts, unsupported protocols, certificate references). The conditions themselves are
computed once, by the converter (meshtui/model/gatewayapi_convert.py)."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.analyze.context import Context
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.model.gatewayapi import ParentReference

ROUTES = "HTTPRoute|GRPCRoute|TCPRoute|TLSRoute"


def _parent(ref: ParentReference, ns: str) -> str:
    kind = ref.kind or "Gateway"
    where = f"{ref.namespace or ns}/{ref.name}"
    extra = (f" sectionName {ref.section_name}" if ref.section_name else "") + (f" port {ref.port}" if ref.port else "")
    return f"{kind} {where}{extra}"


@analyzer("gatewayapi.RouteStatus", ("MT0301", "MT0302", "MT0303"),
          "Reports the route conditions istiod would write: not accepted by a parent, unresolved references, ignored parents",
          inputs=(ROUTES,))
def route_status(ctx: Context) -> Iterator[Message]:
    conv = ctx.snap.gateway_api
    for st in conv.route_status:
        r = st.route
        name = f"{r.kind} {r.namespace}/{r.name}"
        parent = _parent(st.parent_ref, r.namespace)
        for c in st.conditions:
            if c.status:
                continue
            if c.type == "Accepted":
                yield ctx.report("MT0301", r, path=f"spec.parentRefs[{st.index}]", route=name, parent=parent, reason=c.reason,
                                 message=c.message, detail=_accepted_fix(c.reason))
            elif c.type == "ResolvedRefs":
                yield ctx.report("MT0302", r, path=st.unresolved_path or f"spec.parentRefs[{st.index}]", route=name, parent=parent,
                                 reason=c.reason, message=c.message, detail=_resolved_fix(c.reason))
    for u in conv.unattached:
        r = u.route
        yield ctx.report("MT0303", r, path=f"spec.parentRefs[{u.index}]", route=f"{r.kind} {r.namespace}/{r.name}",
                         index=u.index, parent=_parent(u.parent_ref, r.namespace), why=u.why)


def _accepted_fix(reason: str) -> str:
    return {
        "NotAllowedByListeners": "The listener's allowedRoutes (namespaces or kinds) leaves this route out; label the namespace, "
                                 "widen allowedRoutes, or attach to another listener. No traffic reaches the route through it.",
        "NoMatchingListenerHostname": "None of the route's hostnames falls under the listener's hostname, so the listener "
                                      "never serves it; fix spec.hostnames or the listener.",
        "NoMatchingParent": "The sectionName or port names no listener of that Gateway (or the parent Service does not exist).",
    }.get(reason, "")


def _resolved_fix(reason: str) -> str:
    return {
        "BackendNotFound": "Requests for this backend's share get 500 from the gateway or sidecar (cluster not found).",
        "RefNotPermitted": "A backend in another namespace needs a ReferenceGrant there (from this route's kind and namespace, "
                           "to Service); until then its share of requests gets 500.",
        "InvalidKind": "Only Service (and Istio's Hostname) backends route; its share of requests gets 500.",
        "InvalidDestination": "istiod drops every rule of this route until it is fixed.",
        "InvalidFilter": "istiod drops every rule of this route until it is fixed.",
    }.get(reason, "")


@analyzer("gatewayapi.GatewayStatus", ("MT0304", "MT0305"),
          "Reports the Gateway and listener conditions istiod would write: conflicts, unsupported protocols, bad certificate refs",
          inputs=("KubernetesGateway",))
def gateway_status(ctx: Context) -> Iterator[Message]:
    for gs in ctx.snap.gateway_api.gateway_status:
        gw = gs.gateway
        ref = f"{gw.namespace}/{gw.name}"
        for c in gs.conditions:
            if c.type == "Accepted" and not c.status:
                yield ctx.report("MT0305", gw, path="spec", gateway=ref, reason=c.reason, message=c.message)
        for ls in gs.listeners:
            conflicted = [c for c in ls.conditions if c.type == "Conflicted" and c.status]
            failing = [c for c in ls.conditions if c.type in ("Accepted", "ResolvedRefs") and not c.status]
            for c in conflicted or failing:  # a conflict also fails Accepted and Programmed: one message says it
                yield ctx.report("MT0304", gw, path=f"spec.listeners[{ls.index}]", gateway=ref, listener=ls.listener.name,
                                 type=c.type, status="True" if c.status else "False", reason=c.reason, message=c.message)
