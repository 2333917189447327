"""MeshSnapshot: the immutable, indexed view of one mesh that every later stage reads.

Built once per load (or per cluster change) by `build()`; translate/simulate/analyze only read it.
Registry services follow Istio's model.Service: one per Kubernetes Service and one per
ServiceEntry host, each with its endpoints already resolved."""

from __future__ import annotations

import dataclasses
import hashlib
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from meshtui.model.gatewayapi import (
    GatewayClass,
    GRPCRoute,
    HTTPRoute,
    KubernetesGateway,
    ReferenceGrant,
    TCPRoute,
    TLSRoute,
)
from meshtui.model.gatewayapi_convert import Conversion, convert
from meshtui.model.hosts import is_wildcard, resolve_short
from meshtui.model.istio import (
    DestinationRule,
    Gateway,
    Resource,
    ServiceEntry,
    Sidecar,
    VirtualService,
    WorkloadEntry,
)
from meshtui.model.k8s import Deployment, Endpoints, EndpointSlice, Namespace, Pod, Service, StatefulSet
from meshtui.model.meshconfig import DEFAULT_MESH, MeshConfig
from meshtui.model.protocol import k8s_port_protocol, se_port_protocol
from meshtui.model.schema import IntOrString
from meshtui.model.security import AuthorizationPolicy, PeerAuthentication
from meshtui.model.source import Diagnostic

if TYPE_CHECKING:
    from meshtui.edits.model import FaultEdit

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    port: int  # the port the workload listens on (resolved target port)
    port_name: str  # the service port name this endpoint serves
    labels: dict[str, str]
    pod: str = ""  # "ns/name" of the pod or workload entry, when known
    ready: bool = True
    synthesized: bool = False  # made up from a Deployment/StatefulSet template
    origin: str = ""  # where it came from, for people: "EndpointSlice default/reviews-abc"
    locality: str = ""
    weight: int | None = None
    cluster: str = ""  # several clusters (multi-primary): the one it lives in
    network: str = ""

    def __reduce__(self) -> tuple[type[Endpoint], tuple[object, ...]]:  # pickled by value (the snapshot cache): faster than slots __setstate__
        return (Endpoint, (self.address, self.port, self.port_name, self.labels, self.pod, self.ready,
                           self.synthesized, self.origin, self.locality, self.weight, self.cluster, self.network))


@dataclass(frozen=True, slots=True)
class SvcPort:
    name: str
    port: int
    protocol: str  # Istio protocol: HTTP, HTTP2, GRPC, TCP, HTTPS, TLS, UNSUPPORTED, ...
    target_port: int | str | None = None

    def __reduce__(self) -> tuple[type[SvcPort], tuple[object, ...]]:
        return (SvcPort, (self.name, self.port, self.protocol, self.target_port))


@dataclass(frozen=True)
class RegistryService:
    hostname: str
    namespace: str
    name: str
    origin: str  # "k8s" | "serviceentry"
    resource: Resource
    ports: tuple[SvcPort, ...]
    addresses: tuple[str, ...]
    resolution: str  # ClientSideLB | DNSLB | DNSRoundRobinLB | Passthrough | Alias | DynamicDNS
    export_to: frozenset[str]
    mesh_external: bool = False
    selector: dict[str, str] = field(default_factory=dict)
    endpoints: tuple[Endpoint, ...] = ()
    alias_target: str = ""
    endpoint_origin: str = ""  # "EndpointSlice" | "Endpoints" | "Pods" | "synthesized" | "ServiceEntry" | "none"

    def port(self, number: int) -> SvcPort | None:
        for p in self.ports:
            if p.port == number:
                return p
        return None

    def endpoints_for(self, port: SvcPort) -> list[Endpoint]:
        return [e for e in self.endpoints if e.port_name == port.name or (not e.port_name and len(self.ports) == 1)]

    def visible_to(self, namespace: str) -> bool:
        return exported_to(self.export_to, self.namespace, namespace)


@dataclass(frozen=True)
class Workload:
    """Something that runs a proxy: a Pod, or a Deployment/StatefulSet whose pods are derived
    from its template when the sources hold no Pods."""

    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    ip: str = ""
    synthesized: bool = False
    resource: Resource | None = None
    cluster: str = ""  # several clusters: the one it runs in

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def exported_to(export_to: frozenset[str] | tuple[str, ...], owner_ns: str, viewer_ns: str) -> bool:
    if not export_to or "*" in export_to:
        return True
    if "~" in export_to:
        return False
    if "." in export_to and owner_ns == viewer_ns:
        return True
    return viewer_ns in export_to


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


class PodIndex:
    """Pods by namespace and by each label, so selecting the pods of a selector costs the size of
    its rarest label, not a scan of the namespace (a mesh of 1,000 services in one namespace would
    otherwise match 1,000 selectors against every pod)."""

    __slots__ = ("by_label", "by_ns")

    def __init__(self, pods: list[Pod] | tuple[Pod, ...] = ()):
        self.by_ns: dict[str, list[Pod]] = defaultdict(list)
        self.by_label: dict[tuple[str, str, str], list[Pod]] = defaultdict(list)
        for p in pods:
            self.by_ns[p.namespace].append(p)
            for k, v in p.metadata.labels.items():
                self.by_label[(p.namespace, k, v)].append(p)

    def select(self, namespace: str, selector: dict[str, str]) -> list[Pod]:
        """Pods of the namespace whose labels include every selector entry, in load order. An
        empty selector selects every pod of the namespace."""
        if not selector:
            return list(self.by_ns.get(namespace, ()))
        best: list[Pod] | None = None
        for k, v in selector.items():
            found = self.by_label.get((namespace, k, v))
            if not found:
                return []
            if best is None or len(found) < len(best):
                best = found
        if len(selector) == 1:
            return list(best or ())
        return [p for p in best or () if labels_match(selector, p.metadata.labels)]


@dataclass(frozen=True)
class MeshSnapshot:
    virtual_services: tuple[VirtualService, ...] = ()
    destination_rules: tuple[DestinationRule, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    service_entries: tuple[ServiceEntry, ...] = ()
    sidecars: tuple[Sidecar, ...] = ()
    workload_entries: tuple[WorkloadEntry, ...] = ()
    peer_authentications: tuple[PeerAuthentication, ...] = ()
    authorization_policies: tuple[AuthorizationPolicy, ...] = ()
    # the Kubernetes Gateway API as read; what istiod derives from it (Istio Gateways,
    # VirtualServices, the managed Gateways' Deployments and Services) is in the tuples above and
    # below but not in by_key, and `gateway_api` holds it with the status istiod would write
    gateway_classes: tuple[GatewayClass, ...] = ()
    k8s_gateways: tuple[KubernetesGateway, ...] = ()
    http_routes: tuple[HTTPRoute, ...] = ()
    grpc_routes: tuple[GRPCRoute, ...] = ()
    tcp_routes: tuple[TCPRoute, ...] = ()
    tls_routes: tuple[TLSRoute, ...] = ()
    reference_grants: tuple[ReferenceGrant, ...] = ()
    gateway_api: Conversion = Conversion()
    namespaces: tuple[Namespace, ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    endpoints: tuple[Endpoints, ...] = ()
    pods: tuple[Pod, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    statefulsets: tuple[StatefulSet, ...] = ()
    mesh: MeshConfig = MeshConfig()
    diagnostics: tuple[Diagnostic, ...] = ()
    live_faults: tuple[FaultEdit, ...] = ()  # game-day fault overlays (edits.overlay puts them here)
    clusters: tuple[str, ...] = ()  # several clusters merged (multi-primary): their names, first is primary
    # indexes, filled by build()
    registry: tuple[RegistryService, ...] = ()
    services_by_host: dict[str, tuple[RegistryService, ...]] = field(default_factory=dict)
    by_key: dict[tuple[str, str, str], Resource] = field(default_factory=dict)
    workloads: tuple[Workload, ...] = ()
    raw: dict[tuple[str, str, str], Any] = field(default_factory=dict, compare=False, repr=False)
    pod_index: PodIndex = field(default_factory=PodIndex, compare=False, repr=False)
    # objects that parsed but fail Istio's validation (reported as IST0106): istioctl analyzes
    # them anyway, so its mirrored checks here do too; nothing else reads them
    rejected: tuple[Resource, ...] = field(default=(), compare=False, repr=False)
    # look-up indexes over the fields above (SnapshotIndex): built by build(), kept across
    # dataclasses.replace() and brought up to date part by part on first use after one
    index_: SnapshotIndex | None = field(default=None, compare=False, repr=False)

    # ---------------------------------------------------------------- look-ups

    @property
    def index(self) -> SnapshotIndex:
        """The snapshot's indexes. A snapshot made by dataclasses.replace() carries its parent's:
        the parts whose inputs it shares are kept, the others rebuilt (an edit of the Sidecars
        rebuilds the Sidecar index only)."""
        idx = self.index_
        if idx is None or not idx.owns(self):
            idx = SnapshotIndex(self, idx)
            object.__setattr__(self, "index_", idx)  # a cache: the snapshot itself stays as it is
        return idx

    def get(self, kind: str, namespace: str, name: str) -> Resource | None:
        return self.by_key.get((kind, namespace, name))

    def pods_matching(self, namespace: str, selector: dict[str, str]) -> list[Pod]:
        """The pods of `namespace` a label selector picks (the 'pods by labels' index)."""
        return self.pod_index.select(namespace, selector)

    def all_resources(self) -> list[Resource]:
        return list(self.by_key.values())

    def namespaces_in_use(self) -> list[str]:
        return sorted({k[1] for k in self.by_key if k[1]} | {n.name for n in self.namespaces})

    def find_workload(self, ref: str) -> Workload | None:
        """A Pod by name; or a Deployment/StatefulSet by name: its first Pod when the sources
        hold its Pods, else the workload itself (its pods derived from the template)."""
        ns, _, name = ref.rpartition("/")
        ns = ns or "default"
        owner = None
        for w in self.workloads:
            if w.namespace == ns and w.name == name:
                if w.kind == "Pod" or w.synthesized:
                    return w
                owner = w
        if owner is None:
            return None
        spec = owner.resource.spec if isinstance(owner.resource, (Deployment, StatefulSet)) else None
        sel = spec.selector.match_labels if spec is not None and spec.selector is not None else owner.labels
        pods = sorted((w for w in self.workloads if w.kind == "Pod" and w.namespace == ns and sel
                       and labels_match(sel, w.labels)), key=lambda w: w.name)
        return pods[0] if pods else owner

    def workload_names(self) -> list[str]:
        names = {w.ref for w in self.workloads}
        names |= {f"{d.namespace}/{d.name}" for d in (*self.deployments, *self.statefulsets)}
        return sorted(names)

    def as_written(self) -> MeshSnapshot:
        """Without the Istio config istiod derives from the Gateway API: what the checks of
        Istio's own kinds read (traces still run on the whole snapshot)."""
        if not self.gateway_api.gateways and not self.gateway_api.virtual_services:
            return self
        from dataclasses import replace

        from meshtui.model.gatewayapi_convert import DerivedGateway, DerivedVirtualService
        return replace(self, virtual_services=tuple(v for v in self.virtual_services if not isinstance(v, DerivedVirtualService)),
                       gateways=tuple(g for g in self.gateways if not isinstance(g, DerivedGateway)))

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for key in sorted(self.by_key):
            h.update(repr(key).encode())
            h.update(repr(self.by_key[key]).encode())
        return h.hexdigest()[:16]


def _no_owner() -> MeshSnapshot | None:
    return None


class SnapshotIndex:
    """Look-ups over one snapshot, built once and shared by everything that reads it (translation
    of every proxy, traces): VirtualServices by host and in precedence order, registry services
    by domain and port, Sidecars and DestinationRules by namespace.

    Each part is built on first use from named snapshot fields and kept with them; an index made
    for a snapshot derived by dataclasses.replace() keeps every part whose fields are the same
    objects, so an edit rebuilds only what it changed. The model parts travel with the snapshot
    (the snapshot cache); `memo` parts are other layers' (translate's), rebuilt after loading."""

    _MODEL_PARTS = ("vs", "registry", "sidecars", "drs")

    def __init__(self, owner: MeshSnapshot, parent: SnapshotIndex | None = None) -> None:
        # weak: the snapshot holds its index, and a strong reference back would make a cycle that
        # keeps every replaced snapshot alive in a process that froze its heap (serve, the TUI:
        # gc.freeze() hides frozen cycles from the collector for good)
        self._owner: Callable[[], MeshSnapshot | None] = weakref.ref(owner)
        # part name -> (the snapshot fields it was built from, the part)
        self._parts: dict[str, tuple[tuple[object, ...], Any]] = dict(parent._parts) if parent is not None else {}

    def __getstate__(self) -> dict[str, Any]:
        return {"_parts": {k: v for k, v in self._parts.items() if k in self._MODEL_PARTS}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # read back without an owner: the snapshot's `index` adopts the parts on first use
        self._parts = state["_parts"]
        self._owner = _no_owner

    def owns(self, snapshot: MeshSnapshot) -> bool:
        return self._owner() is snapshot

    @property
    def owner(self) -> MeshSnapshot:
        s = self._owner()
        if s is None:  # only an index read back from the cache, before its snapshot adopts it
            raise ReferenceError("this index's snapshot is gone")
        return s

    def _part(self, name: str, inputs: tuple[object, ...], make: Callable[[], T]) -> T:
        hit = self._parts.get(name)
        if hit is not None and len(hit[0]) == len(inputs) and all(a is b for a, b in zip(hit[0], inputs, strict=True)):
            kept: T = hit[1]  # stored by this method under `name`, from a `make` of the same type
            return kept
        value = make()
        self._parts[name] = (inputs, value)
        return value

    def memo(self, name: str, inputs: tuple[object, ...], make: Callable[[], T]) -> T:
        """A part another layer builds from this snapshot (`inputs`: the snapshot fields it reads,
        so a replace() that keeps them keeps the part)."""
        return self._part(name, inputs, make)

    def warm(self) -> None:
        """Build the model parts now (they are then stored with the snapshot)."""
        _ = self.vs, self.registry, self.sidecars, self.destination_rules

    @property
    def vs(self) -> VSIndex:
        s = self.owner
        return self._part("vs", (s.virtual_services, s.mesh), lambda: VSIndex(s.virtual_services, s.mesh))

    @property
    def registry(self) -> RegistryIndex:
        s = self.owner
        return self._part("registry", (s.registry, s.services_by_host, s.mesh),
                          lambda: RegistryIndex(s.registry, s.services_by_host, s.mesh))

    @property
    def sidecars(self) -> dict[str, list[Sidecar]]:
        """Sidecars by namespace, each list in selection order (workloadSelector ones first, then
        oldest first)."""
        s = self.owner

        def make() -> dict[str, list[Sidecar]]:
            out: dict[str, list[Sidecar]] = {}
            for sc in sorted(s.sidecars, key=lambda x: (x.spec.workload_selector is None, creation_key(x))):
                out.setdefault(sc.namespace, []).append(sc)
            return out

        return self._part("sidecars", (s.sidecars,), make)

    @property
    def destination_rules(self) -> dict[str, dict[str, list[DestinationRule]]]:
        """DestinationRules by namespace and resolved host, workloadSelector ones first, then
        oldest first."""
        s = self.owner

        def make() -> dict[str, dict[str, list[DestinationRule]]]:
            suffix = s.mesh.domain_suffix
            out: dict[str, dict[str, list[DestinationRule]]] = {}
            for dr in sorted(s.destination_rules, key=lambda d: (d.spec.workload_selector is None, creation_key(d))):
                host = resolve_short(dr.spec.host, dr.namespace, suffix)
                out.setdefault(dr.namespace, {}).setdefault(host, []).append(dr)
            return out

        return self._part("drs", (s.destination_rules, s.mesh), make)


class VSIndex:
    """Mesh-bound VirtualServices (with hosts, bound to `mesh`): their resolved hosts, by exact
    host, the wildcard ones, and the public ones (exported everywhere) in creation order."""

    __slots__ = ("by_host", "hosts", "public", "public_rank", "restricted", "wild")

    def __init__(self, vss: tuple[VirtualService, ...], mesh: MeshConfig) -> None:
        suffix = mesh.domain_suffix
        default_export = mesh.default_virtual_service_export_to
        self.hosts: dict[tuple[str, str], tuple[str, ...]] = {}
        self.by_host: dict[str, list[VirtualService]] = {}
        self.wild: list[tuple[str, VirtualService]] = []
        public: list[VirtualService] = []
        self.restricted: list[VirtualService] = []  # exported to some namespaces only
        for vs in vss:
            hosts = tuple(resolve_short(h, vs.namespace, suffix).lower() for h in vs.spec.hosts)
            self.hosts[(vs.namespace, vs.name)] = hosts
            if not hosts or (vs.spec.gateways and "mesh" not in vs.spec.gateways):
                continue
            if "*" in (vs.spec.export_to or default_export):
                public.append(vs)
            else:
                self.restricted.append(vs)
            for h in hosts:
                if is_wildcard(h):
                    self.wild.append((h, vs))
                else:
                    self.by_host.setdefault(h, []).append(vs)
        self.public = sorted(public, key=creation_key)
        # where each public VS stands in `public` (every sidecar's imported list ends with them)
        self.public_rank: dict[tuple[str, str, str], int] = {vs.key: i for i, vs in enumerate(self.public)}

    def hosts_of(self, vs: VirtualService) -> tuple[str, ...]:
        return self.hosts[(vs.namespace, vs.name)]


class RegistryIndex:
    """Registry services by the domains a sidecar's virtual host gives them (lower case: those
    that do not depend on the proxy's namespace; the short name apart), the ones whose domains
    include wildcards, services by port, and facts that let a translation skip whole passes."""

    __slots__ = ("all_public", "by_domain", "by_port", "by_short_name", "has_alias", "k8s_selecting", "ports", "unique_hosts",
                 "wild")

    def __init__(self, registry: tuple[RegistryService, ...], by_host: dict[str, tuple[RegistryService, ...]],
                 mesh: MeshConfig) -> None:
        tail = f".svc.{mesh.domain_suffix}"
        self.by_domain: dict[str, list[RegistryService]] = {}
        self.by_short_name: dict[str, list[tuple[RegistryService, str]]] = {}
        self.wild: list[RegistryService] = []  # services with a wildcard among their domains
        self.by_port: dict[int, list[tuple[RegistryService, SvcPort]]] = {}
        self.all_public = True  # every service is visible from every namespace
        self.has_alias = False
        # Kubernetes Services with a selector, by namespace, in registry order (a workload's inbound side)
        self.k8s_selecting: dict[str, list[RegistryService]] = {}
        ports: set[int] = set()
        for s in registry:
            host = s.hostname
            if s.origin == "k8s" and s.selector:
                self.k8s_selecting.setdefault(s.namespace, []).append(s)
            if s.export_to and "*" not in s.export_to:
                self.all_public = False
            if s.resolution == "Alias":
                self.has_alias = True
            # the forms translate/sidecar.service_domains gives whatever the proxy's namespace
            forms = [host, host + "."]
            if host.endswith(tail):
                name, _, ns = host[: -len(tail)].partition(".")
                forms += [f"{name}.{ns}", f"{name}.{ns}.svc"]
                self.by_short_name.setdefault(name.lower(), []).append((s, ns))  # a domain in namespace ns only
            forms += [a for a in s.addresses if a and a != "0.0.0.0" and ":" not in a]
            if is_wildcard(host) or (s.resolution == "Passthrough" and s.origin == "k8s"):
                self.wild.append(s)
            for d in forms:
                if not d.startswith("*"):
                    self.by_domain.setdefault(d.lower(), []).append(s)
            seen: set[int] = set()
            for sp in s.ports:
                if sp.protocol != "UDP":
                    ports.add(sp.port)
                if sp.port not in seen:  # RegistryService.port() answers the first one
                    seen.add(sp.port)
                    self.by_port.setdefault(sp.port, []).append((s, sp))
        self.ports = frozenset(ports)  # ports some service has for other than UDP
        self.unique_hosts = len(by_host) == len(registry)


# ---------------------------------------------------------------------- building


def _fqdn(name: str, ns: str, suffix: str) -> str:
    return f"{name}.{ns}.svc.{suffix}"


def _export_set(values: tuple[str, ...] | list[str], default: tuple[str, ...]) -> frozenset[str]:
    return frozenset(values) if values else frozenset(default)


def _resolve_target(sp_target: int | str | None, svc_port: int, pod: Pod | None) -> int | None:
    """The container port a service port sends to. A named targetPort is looked up in the pod's
    containers; a pod that does not declare it gets no endpoint for that port (None), as the
    Kubernetes endpoints controller does."""
    if isinstance(sp_target, int):
        return sp_target
    if isinstance(sp_target, str) and sp_target:
        if sp_target.isdigit():
            return int(sp_target)
        if pod is not None and pod.spec is not None:
            for c in pod.spec.containers:
                for cp in c.ports:
                    if cp.name == sp_target:
                        return cp.container_port
        return None
    return svc_port


def _int_or_string(value: IntOrString | None) -> int | str | None:
    """A parsed int-or-string field's value (the parser gives an int or a str for IntOrString)."""
    return value if isinstance(value, int | str) else None


def _synth_ip(seed: str) -> str:
    d = hashlib.sha256(seed.encode()).digest()
    return f"10.255.{d[0]}.{max(d[1], 1)}"


def _k8s_endpoints(svc: Service, snap_pods: PodIndex, slices: dict[tuple[str, str], list[EndpointSlice]],
                   eps: dict[tuple[str, str], Endpoints], workloads_by_ns: dict[str, list[Deployment | StatefulSet]],
                   pod_by_name: dict[tuple[str, str], Pod]) -> tuple[tuple[Endpoint, ...], str]:
    ns, name = svc.namespace, svc.name
    selector = svc.spec.selector
    ports = svc.spec.ports
    out: list[Endpoint] = []
    found = slices.get((ns, name))
    if found:
        for sl in found:
            for ep in sl.endpoints:
                if not ep.addresses:
                    continue
                ready = ep.conditions.ready if ep.conditions and ep.conditions.ready is not None else True
                pod = None
                if ep.target_ref is not None and ep.target_ref.kind in ("Pod", ""):
                    pod = pod_by_name.get((ep.target_ref.namespace or ns, ep.target_ref.name))
                labels = dict(pod.metadata.labels) if pod else dict(selector)
                podref = f"{pod.namespace}/{pod.name}" if pod else (f"{ns}/{ep.target_ref.name}" if ep.target_ref else "")
                for p in sl.ports or ():
                    out.append(Endpoint(ep.addresses[0], p.port, p.name, labels, podref, ready,
                                        origin=f"EndpointSlice {ns}/{sl.name}", locality=ep.zone))
        return tuple(out), "EndpointSlice"
    legacy = eps.get((ns, name))
    if legacy is not None and legacy.subsets:
        for sub in legacy.subsets:
            for ready, addrs in ((True, sub.addresses), (False, sub.not_ready_addresses)):
                for a in addrs:
                    pod = pod_by_name.get((ns, a.target_ref.name)) if a.target_ref else None
                    labels = dict(pod.metadata.labels) if pod else dict(selector)
                    for p in sub.ports:
                        out.append(Endpoint(a.ip, p.port, p.name, labels, f"{ns}/{a.target_ref.name}" if a.target_ref else "",
                                            ready, origin=f"Endpoints {ns}/{name}"))
        return tuple(out), "Endpoints"
    if not selector:
        return (), "none"
    pods = snap_pods.select(ns, selector)
    if pods:
        for pod in pods:
            if not pod.status or not pod.status.pod_ip:
                continue
            ready = pod.ready or svc.spec.publish_not_ready_addresses
            for sp in ports:
                target = _resolve_target(_int_or_string(sp.target_port), sp.port, pod)
                if target is None:
                    continue
                out.append(Endpoint(pod.status.pod_ip, target, sp.name,
                                    dict(pod.metadata.labels), f"{ns}/{pod.name}", ready, origin=f"Pod {ns}/{pod.name}"))
        return tuple(out), "Pods"
    for wl in workloads_by_ns.get(ns, []):
        spec = wl.spec
        if spec is None or spec.template is None or spec.template.metadata is None:
            continue
        tlabels = spec.template.metadata.labels
        if not labels_match(selector, tlabels):
            continue
        replicas = 1 if spec.replicas is None else spec.replicas
        for i in range(min(replicas, 64)):
            podname = f"{wl.name}-{i}" if wl.kind == "StatefulSet" else f"{wl.name}-synth-{i}"
            fake = Pod(kind="Pod", metadata=wl.metadata, spec=spec.template.spec)
            for sp in ports:
                target = _resolve_target(_int_or_string(sp.target_port), sp.port, fake)
                if target is None:
                    continue
                out.append(Endpoint(_synth_ip(f"{ns}/{podname}"), target, sp.name,
                                    dict(tlabels), f"{ns}/{podname}", True, synthesized=True,
                                    origin=f"synthesized from {wl.kind} {ns}/{wl.name} (replica {i + 1} of {replicas})"))
    return tuple(out), "synthesized" if out else "none"


def _se_services(se: ServiceEntry, mesh: MeshConfig, pods: PodIndex, wes: list[WorkloadEntry]) -> list[RegistryService]:
    s = se.spec
    resolution = {None: "Passthrough", "NONE": "Passthrough", "STATIC": "ClientSideLB", "DNS": "DNSLB",
                  "DNS_ROUND_ROBIN": "DNSRoundRobinLB", "DYNAMIC_DNS": "DynamicDNS"}[s.resolution]
    ports = tuple(SvcPort(p.name, p.number, se_port_protocol(p.protocol, p.name, p.number), p.target_port) for p in s.ports)
    eps: list[Endpoint] = []
    origin = "ServiceEntry"
    if s.endpoints:
        for i, we in enumerate(s.endpoints):
            for sp in ports:
                target = we.ports.get(sp.name) or sp.target_port or sp.port
                eps.append(Endpoint(we.address, int(target), sp.name, dict(we.labels), f"{se.namespace}/{se.name}#endpoints[{i}]",
                                    True, origin=f"ServiceEntry {se.namespace}/{se.name} spec.endpoints[{i}]",
                                    locality=we.locality, weight=we.weight))
    elif s.workload_selector is not None:
        sel = s.workload_selector.labels
        for pod in pods.select(se.namespace, sel):
            if pod.status and pod.status.pod_ip:
                for sp in ports:
                    eps.append(Endpoint(pod.status.pod_ip, int(sp.target_port or sp.port), sp.name, dict(pod.metadata.labels),
                                        f"{pod.namespace}/{pod.name}", pod.ready, origin=f"Pod {pod.namespace}/{pod.name}"))
        for wle in wes:
            # Istio merges the entry's labels with its metadata labels, metadata first
            # (serviceentry/conversion.go convertWorkloadEntryToWorkloadInstance)
            we_labels = {**wle.spec.labels, **wle.metadata.labels}
            if wle.namespace == se.namespace and labels_match(sel, we_labels):
                for sp in ports:
                    target = wle.spec.ports.get(sp.name) or sp.target_port or sp.port
                    eps.append(Endpoint(wle.spec.address, int(target), sp.name, we_labels,
                                        f"{wle.namespace}/{wle.name}", True, origin=f"WorkloadEntry {wle.namespace}/{wle.name}"))
    elif resolution in ("DNSLB", "DNSRoundRobinLB"):
        origin = "DNS"
    out = []
    addresses = tuple(a.removesuffix("/32") for a in s.addresses)
    for host in s.hosts:
        host_eps = eps
        if not eps and resolution in ("DNSLB", "DNSRoundRobinLB") and not host.startswith("*"):
            host_eps = [Endpoint(host, int(sp.target_port or sp.port), sp.name, {}, "", True, origin="DNS name of the host")
                        for sp in ports]
        out.append(RegistryService(
            hostname=host, namespace=se.namespace, name=se.name, origin="serviceentry", resource=se, ports=ports,
            addresses=addresses, resolution=resolution, export_to=_export_set(s.export_to, mesh.default_service_export_to),
            mesh_external=(s.location or "MESH_EXTERNAL") == "MESH_EXTERNAL",
            selector=dict(s.workload_selector.labels) if s.workload_selector else {},
            endpoints=tuple(host_eps), endpoint_origin=origin if host_eps else "none"))
    return out


def _discovered(objects: list[Resource], diagnostics: list[Diagnostic], mesh: MeshConfig) -> list[Resource]:
    """MeshConfig discoverySelectors: istiod reads only the namespaces a selector matches (Kubernetes
    labels every namespace with kubernetes.io/metadata.name). Objects elsewhere are left out, with
    one note per namespace."""
    labels = {o.name: {**o.metadata.labels, "kubernetes.io/metadata.name": o.name} for o in objects if o.kind == "Namespace"}
    keep: list[Resource] = []
    hidden: dict[str, int] = defaultdict(int)
    for o in objects:
        ns = o.namespace
        if not ns or o.kind == "Namespace" or mesh.namespace_discovered(labels.get(ns, {"kubernetes.io/metadata.name": ns})):
            keep.append(o)
        else:
            hidden[ns] += 1
    for ns, n in sorted(hidden.items()):
        diagnostics.append(Diagnostic("Info", f"namespace {ns} is outside MeshConfig discoverySelectors ({mesh.where('discovery_selectors')}): "
                                      f"istiod ignores its {n} object{'s' if n != 1 else ''}", mesh.source_of("discoverySelectors"),
                                      "Namespace", "", ns, code="MT0005"))
    return keep


R = TypeVar("R", bound=Resource)


def _of_kind(groups: dict[str, list[Resource]], kind: str, cls: type[R]) -> list[R]:
    """The objects of one kind (`cls` is that kind's model class): groups is keyed by kind."""
    return groups.get(kind, [])  # type: ignore[return-value]  # groups[kind] holds only `cls` objects


def build(objects: list[Resource], diagnostics: list[Diagnostic], mesh: MeshConfig = DEFAULT_MESH,
          raw: dict[tuple[str, str, str], Any] | None = None, rejected: list[Resource] | None = None) -> MeshSnapshot:
    """Index validated objects into a snapshot. `objects` are already de-duplicated; `rejected`
    (objects that fail validation) are only held for the analyzers, never indexed or translated."""
    if mesh.discovery_selectors:
        objects = _discovered(objects, diagnostics, mesh)
    groups: dict[str, list[Resource]] = defaultdict(list)
    by_key: dict[tuple[str, str, str], Resource] = {}
    for obj in objects:
        groups[obj.kind].append(obj)
        by_key[obj.key] = obj
    # istiod's Gateway API controller: its output joins the config it translates (not by_key)
    gateway_api = convert(objects, mesh.domain_suffix)
    for derived in (*gateway_api.services, *gateway_api.deployments, *gateway_api.gateways, *gateway_api.virtual_services):
        groups[derived.kind].append(derived)

    pods = _of_kind(groups, "Pod", Pod)
    pod_index = PodIndex(pods)
    pod_by_name: dict[tuple[str, str], Pod] = {(p.namespace, p.name): p for p in pods}
    slices: dict[tuple[str, str], list[EndpointSlice]] = defaultdict(list)
    for sl in _of_kind(groups, "EndpointSlice", EndpointSlice):
        svc_name = sl.metadata.labels.get("kubernetes.io/service-name")
        if svc_name:
            slices[(sl.namespace, svc_name)].append(sl)
    eps = {(e.namespace, e.name): e for e in _of_kind(groups, "Endpoints", Endpoints)}
    wl_by_ns: dict[str, list[Deployment | StatefulSet]] = defaultdict(list)
    deploys = _of_kind(groups, "Deployment", Deployment)
    statefulsets = _of_kind(groups, "StatefulSet", StatefulSet)
    deploy_like: list[Deployment | StatefulSet] = [*deploys, *statefulsets]
    for w in deploy_like:
        wl_by_ns[w.namespace].append(w)

    registry: list[RegistryService] = []
    for svc in _of_kind(groups, "Service", Service):
        spec = svc.spec
        host = _fqdn(svc.name, svc.namespace, mesh.domain_suffix)
        ports = tuple(SvcPort(p.name, p.port, k8s_port_protocol(p.name, p.port, p.protocol, p.app_protocol),
                              _int_or_string(p.target_port))
                      for p in spec.ports)
        headless = spec.cluster_ip == "None"
        if spec.type == "ExternalName":
            resolution, alias = "Alias", spec.external_name
        else:
            resolution, alias = ("Passthrough" if headless else "ClientSideLB"), ""
        addresses = tuple(a for a in (spec.cluster_ips or ((spec.cluster_ip,) if spec.cluster_ip else ())) if a and a != "None")
        export = svc.metadata.annotations.get("networking.istio.io/exportTo", "")
        endpoints, origin = _k8s_endpoints(svc, pod_index, slices, eps, wl_by_ns, pod_by_name)
        registry.append(RegistryService(
            hostname=host, namespace=svc.namespace, name=svc.name, origin="k8s", resource=svc, ports=ports,
            addresses=addresses, resolution=resolution,
            export_to=_export_set(tuple(x.strip() for x in export.split(",") if x.strip()), mesh.default_service_export_to),
            mesh_external=resolution == "Alias", selector=dict(spec.selector), endpoints=endpoints, alias_target=alias,
            endpoint_origin=origin))
    wes = _of_kind(groups, "WorkloadEntry", WorkloadEntry)
    for se in _of_kind(groups, "ServiceEntry", ServiceEntry):
        registry.extend(_se_services(se, mesh, pod_index, wes))

    by_host: dict[str, list[RegistryService]] = defaultdict(list)
    for rs in registry:
        by_host[rs.hostname].append(rs)

    workloads: list[Workload] = []
    for p in pods:
        workloads.append(Workload("Pod", p.namespace, p.name, dict(p.metadata.labels),
                                  p.status.pod_ip if p.status else "", resource=p))
    for wl in deploy_like:
        wspec = wl.spec
        tl = dict(wspec.template.metadata.labels) if wspec and wspec.template and wspec.template.metadata else {}
        sel = wspec.selector.match_labels if wspec and wspec.selector else tl
        has_pods = bool(pod_index.select(wl.namespace, sel)) if sel else False
        workloads.append(Workload(wl.kind, wl.namespace, wl.name, tl, "" if has_pods else _synth_ip(f"{wl.namespace}/{wl.name}-synth-0"),
                                  synthesized=not has_pods, resource=wl))

    def ordered(kind: str) -> tuple[Any, ...]:
        return tuple(groups.get(kind, []))

    snap = MeshSnapshot(
        virtual_services=ordered("VirtualService"), destination_rules=ordered("DestinationRule"),
        gateways=ordered("Gateway"), service_entries=ordered("ServiceEntry"), sidecars=ordered("Sidecar"),
        workload_entries=ordered("WorkloadEntry"), namespaces=ordered("Namespace"), services=ordered("Service"),
        peer_authentications=ordered("PeerAuthentication"), authorization_policies=ordered("AuthorizationPolicy"),
        gateway_classes=ordered("GatewayClass"), k8s_gateways=ordered("KubernetesGateway"), http_routes=ordered("HTTPRoute"),
        grpc_routes=ordered("GRPCRoute"), tcp_routes=ordered("TCPRoute"), tls_routes=ordered("TLSRoute"),
        reference_grants=ordered("ReferenceGrant"), gateway_api=gateway_api,
        endpoint_slices=ordered("EndpointSlice"), endpoints=ordered("Endpoints"), pods=tuple(pods),
        deployments=ordered("Deployment"), statefulsets=ordered("StatefulSet"), mesh=mesh,
        diagnostics=tuple(diagnostics), registry=tuple(registry),
        services_by_host={h: tuple(v) for h, v in by_host.items()}, by_key=by_key, workloads=tuple(workloads),
        raw=raw or {}, pod_index=pod_index, rejected=tuple(rejected or ()),
    )
    snap.index.warm()
    return snap


# Kinds nothing else in a snapshot is derived from (no registry service, workload, endpoint or
# Gateway API conversion reads them), with the snapshot field holding each: a change to these only
# makes that field again (rebuild).
ROUTING_FIELDS: dict[str, str] = {
    "VirtualService": "virtual_services", "DestinationRule": "destination_rules", "Gateway": "gateways",
    "Sidecar": "sidecars", "PeerAuthentication": "peer_authentications",
    "AuthorizationPolicy": "authorization_policies",
}


def rebuild(previous: MeshSnapshot, by_key: dict[tuple[str, str, str], Resource], diagnostics: list[Diagnostic],
            raw: Any = None, rejected: list[Resource] | None = None) -> MeshSnapshot:
    """What build(list(by_key.values()), diagnostics, previous.mesh, raw, rejected) returns, made
    from `previous` when the objects differ from its own only in ROUTING_FIELDS kinds (a what-if
    edit of a VirtualService, a watched DestinationRule): those kinds' fields are made again and
    everything derived from the other objects (registry, workloads, indexes over unchanged fields)
    is `previous`'s; no unchanged object is read (a body packed by the snapshot cache stays
    packed). Anything else is a full build. `by_key`: the objects by key, in load order."""
    mesh = previous.mesh
    objects = list(by_key.values())
    changed = _routing_only_change(previous, objects) if not mesh.discovery_selectors else None
    if changed is None:
        return build(objects, diagnostics, mesh, raw, rejected)
    derived = {"VirtualService": previous.gateway_api.virtual_services, "Gateway": previous.gateway_api.gateways}
    fields: dict[str, Any] = {}
    for kind in changed:
        own = tuple(o for o in objects if o.kind == kind)
        fields[ROUTING_FIELDS[kind]] = own + tuple(derived.get(kind, ()))  # build() appends the derived ones too
    snap = dataclasses.replace(previous, **fields, by_key=by_key, raw=raw or {}, diagnostics=tuple(diagnostics),
                               rejected=tuple(rejected or ()), live_faults=(), clusters=())
    snap.index.warm()
    return snap


def _routing_only_change(previous: MeshSnapshot, objects: list[Resource]) -> set[str] | None:
    """The ROUTING_FIELDS kinds whose objects, in order, differ between `objects` and previous's
    (changed, added, removed or moved), or None when an object of another kind differs."""
    others = iter([o for o in previous.by_key.values() if o.kind not in ROUTING_FIELDS])
    now: dict[str, list[Resource]] = {kind: [] for kind in ROUTING_FIELDS}
    for o in objects:
        mine = now.get(o.kind)
        if mine is not None:
            mine.append(o)
        elif next(others, None) is not o:
            return None
    if next(others, None) is not None:
        return None  # an object of another kind was removed
    before: dict[str, list[Resource]] = {kind: [] for kind in ROUTING_FIELDS}
    for o in previous.by_key.values():
        mine = before.get(o.kind)
        if mine is not None:
            mine.append(o)
    return {kind for kind in ROUTING_FIELDS
            if len(now[kind]) != len(before[kind]) or any(a is not b for a, b in zip(now[kind], before[kind], strict=True))}


def creation_key(obj: Resource) -> tuple[str, str, str]:
    """Istio's order for 'oldest first': creation time, then name, then namespace."""
    ts = obj.metadata.creation_timestamp
    return (str(ts) if ts else "", obj.metadata.name, obj.metadata.namespace)

