"""Sidecar scope: which Sidecar applies to a proxy (§5.1), and which services and
VirtualServices each egress listener imports (§5.2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from meshtui.model.hosts import matches, resolve_gateway_name, resolve_short, subset_of
from meshtui.model.istio import HTTPMatchRequest, L4MatchAttributes, Sidecar, TLSMatchAttributes, VirtualService
from meshtui.model.snapshot import MeshSnapshot, RegistryService, creation_key, exported_to, labels_match
from meshtui.translate.config import Ref, mesh_ref


@dataclass(frozen=True)
class HostEntry:
    namespace: str  # "*" or a namespace name ("." already resolved to the proxy's)
    dns: str
    exclude: bool = False
    text: str = ""


@dataclass
class EgressListener:
    port: int | None
    bind: str = ""
    capture_none: bool = False
    hosts: list[HostEntry] = field(default_factory=list)
    protocol: str = ""
    path: str = ""

    def _ns_ok(self, e: HostEntry, ns: str) -> bool:
        return e.namespace == "*" or e.namespace == ns

    def imports_service(self, svc: RegistryService) -> bool:
        ok = False
        for e in self.hosts:
            if not self._ns_ok(e, svc.namespace):
                continue
            hit = e.dns == "*" or svc.hostname == e.dns or subset_of(svc.hostname, e.dns) or (
                svc.hostname.startswith("*") and matches(svc.hostname, e.dns))
            if hit:
                if e.exclude:
                    return False
                ok = True
        return ok

    @property
    def imports_everything(self) -> bool:
        """`*/*` with no exclusions: every visible service and VirtualService is imported."""
        return any(e.namespace == "*" and e.dns == "*" and not e.exclude for e in self.hosts) and not any(
            e.exclude for e in self.hosts)

    def imports_vs(self, vs: VirtualService, vs_hosts: list[str] | tuple[str, ...]) -> bool:
        ok = False
        for e in self.hosts:
            if not self._ns_ok(e, vs.namespace):
                continue
            hit = e.dns == "*" or any(matches(h, e.dns) for h in vs_hosts)
            if hit:
                if e.exclude:
                    return False
                ok = True
        return ok


@dataclass
class Scope:
    sidecar: Sidecar | None
    reason: str
    listeners: list[EgressListener]
    outbound_policy: str
    outbound_from: str = ""  # who decided the mode, for the trace
    outbound_ref: Ref | None = None

    def ref(self) -> Ref | None:
        sc = self.sidecar
        if sc is None:
            return None
        return Ref("Sidecar", sc.namespace, sc.name, "", sc.src.file, sc.src.line)


def _parse_host(text: str, proxy_ns: str) -> HostEntry:
    ns, _, dns = text.partition("/")
    exclude = ns.startswith("~")
    if exclude:
        ns = ns[1:] or "*"
    if ns == ".":
        ns = proxy_ns
    return HostEntry(ns, dns, exclude, text)


def select_sidecar(snapshot: MeshSnapshot, ns: str, labels: dict[str, str]) -> tuple[Sidecar | None, str]:
    by_ns = snapshot.index.sidecars  # per namespace, workloadSelector ones first, then oldest first
    for sc in by_ns.get(ns, ()):
        sel = sc.spec.workload_selector
        if sel is not None and labels_match(sel.labels, labels):
            return sc, f"its workloadSelector {sel.labels} matches the proxy's labels"
    for sc in by_ns.get(ns, ()):
        if sc.spec.workload_selector is None:
            return sc, f"the namespace-wide Sidecar of {ns}"
    root = snapshot.mesh.root_namespace
    for sc in by_ns.get(root, ()):
        if sc.spec.workload_selector is None:
            return sc, f"the mesh-wide Sidecar in the root namespace {root}, applied as if in {ns}"
    return None, "no Sidecar applies: the implicit default imports */* on every port"


def compute_scope(snapshot: MeshSnapshot, ns: str, labels: dict[str, str]) -> Scope:
    sc, reason = select_sidecar(snapshot, ns, labels)
    mesh = snapshot.mesh
    mode = mesh.outbound_traffic_policy
    origin, oref = f"mesh-wide {mode} from {mesh.where('outbound_traffic_policy')}", mesh_ref(mesh, "outboundTrafficPolicy.mode")
    listeners: list[EgressListener] = []
    if sc is not None and sc.spec.outbound_traffic_policy is not None:
        mode = sc.spec.outbound_traffic_policy.mode
        otp = sc.spec.outbound_traffic_policy
        origin = f"{mode} from Sidecar {sc.namespace}/{sc.name} spec.outboundTrafficPolicy"
        oref = Ref("Sidecar", sc.namespace, sc.name, "spec.outboundTrafficPolicy.mode", sc.src.file, otp.src.line or sc.src.line)
    if sc is None or not sc.spec.egress:
        listeners.append(EgressListener(None, hosts=[HostEntry("*", "*", False, "*/*")], path=""))
    else:
        for i, eg in enumerate(sc.spec.egress):
            port = eg.port.number if eg.port is not None and eg.port.number else None
            listeners.append(EgressListener(
                port, eg.bind, eg.capture_mode == "NONE", [_parse_host(h, ns) for h in eg.hosts],
                eg.port.protocol.upper() if eg.port is not None and eg.port.protocol else "", f"spec.egress[{i}]"))
    return Scope(sc, reason, listeners, mode, origin, oref)


def vs_hosts(vs: VirtualService, suffix: str) -> list[str]:
    return [resolve_short(h, vs.namespace, suffix).lower() for h in vs.spec.hosts]


def _precedence(snapshot: MeshSnapshot, viewer_ns: str, vss: Iterable[VirtualService]) -> list[VirtualService]:
    """Istio's VS order for a viewer namespace: private to it, then explicitly exported to it,
    then public; each oldest first. VSs not exported to the viewer are dropped."""
    private, exported, public = [], [], []
    for vs in vss:
        exp = vs.spec.export_to or snapshot.mesh.default_virtual_service_export_to
        if not exported_to(frozenset(exp), vs.namespace, viewer_ns):
            continue
        if "*" in exp:
            public.append(vs)
        elif vs.namespace == viewer_ns and set(exp) <= {".", viewer_ns}:
            private.append(vs)
        else:
            exported.append(vs)
    return [*sorted(private, key=creation_key), *sorted(exported, key=creation_key), *sorted(public, key=creation_key)]


def ordered_mesh_vs(snapshot: MeshSnapshot, proxy_ns: str) -> list[VirtualService]:
    """Mesh-bound VSs visible to the proxy namespace, in precedence order. Delegates (no hosts)
    never bind on their own. The public ones (exported everywhere) come last in creation order
    whatever the viewer: the snapshot's index holds them sorted once."""
    idx = snapshot.index.vs
    return [*_precedence(snapshot, proxy_ns, idx.restricted), *idx.public]


def _gateway_names(vs: VirtualService) -> set[str]:
    names = {resolve_gateway_name(g, vs.namespace) for g in vs.spec.gateways}
    matches: list[HTTPMatchRequest | L4MatchAttributes | TLSMatchAttributes] = [
        m for rules in (vs.spec.http, vs.spec.tcp, vs.spec.tls) for r in rules for m in r.match]
    for m in matches:
        names |= {resolve_gateway_name(g, vs.namespace) for g in m.gateways}
    return names


def ordered_gateway_vs(snapshot: MeshSnapshot, gateway_ns: str, gateway_name: str) -> list[VirtualService]:
    """VSs bound to gateway ns/name (top-level or in a match) and exported to the gateway's
    workload namespace, in precedence order."""
    bound = (vs for vs in snapshot.virtual_services if vs.spec.hosts and gateway_name in _gateway_names(vs))
    return _precedence(snapshot, gateway_ns, bound)
