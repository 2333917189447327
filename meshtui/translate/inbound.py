"""A sidecar's inbound side (istiod's buildInboundListeners, listener_inbound.go and
filterchain_options.go): the `virtualInbound` listener on 15006 that iptables sends every incoming
connection to, its filter chains per target port, and the `inbound|PORT||` clusters.

* One chain set per port the workload serves: the target ports of the Services selecting it
  (the oldest Service wins a port), or the Sidecar's `ingress` ports when it has any.
* The PeerAuthentication in effect on the port decides the chains (`chain_options`): STRICT
  keeps only TLS chains that terminate Istio mTLS (a client certificate is required); DISABLE
  keeps only plaintext (raw_buffer) chains; PERMISSIVE has both, told apart by the transport
  protocol and the Istio ALPN values the client's sidecar sends.
* HTTP chains run the RBAC filters built from the AuthorizationPolicies that select the workload
  (translate/rbac.py), then route to `inbound|PORT||`; TCP chains run the network RBAC filter.
* Passthrough chains (no destination port) take ports no Service declares, to
  InboundPassthroughCluster; port-level mTLS on such a port gets chains of its own. A blackhole
  chain on 15006 itself stops loops.

The tracer walks this same listener for the server's verdict (simulate/server.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from meshtui.model.hosts import resolve_short
from meshtui.model.istio import ConnectionPoolSettings, TrafficPolicy, VirtualService
from meshtui.model.k8s import Pod
from meshtui.model.protocol import HTTP_FAMILY, UNSUPPORTED
from meshtui.model.security import AuthorizationPolicy, PeerAuthentication
from meshtui.model.snapshot import MeshSnapshot, RegistryService, Workload, creation_key, labels_match
from meshtui.translate.clusters import mesh_cluster_policy
from meshtui.translate.config import (
    Cluster,
    FilterChain,
    Listener,
    Ref,
    Retry,
    Route,
    RouteAction,
    RouteConfig,
    RouteMatch,
    TcpRoute,
    VirtualHost,
    WeightedCluster,
)
from meshtui.translate.delegate import vs_destinations
from meshtui.translate.policy import DRIndex, effective_policy, policy_json
from meshtui.translate.rbac import RbacFilter, build_filters
from meshtui.translate.scope import compute_scope, ordered_mesh_vs, select_sidecar, vs_hosts

INBOUND_PORT = 15006
VIRTUAL_INBOUND = "virtualInbound"
CATCHALL_HTTP = "virtualInbound-catchall-http"
BLACKHOLE_CHAIN = "virtualInbound-blackhole"
INBOUND_PASSTHROUGH = "InboundPassthroughCluster"
TLS_MODE_LABEL = "security.istio.io/tlsMode"

# the ALPN values an Istio client sidecar sends over mTLS, and the plaintext ones the HTTP
# inspector reports (istiod's listener.go)
MTLS_HTTP_ALPN = ("istio-http/1.0", "istio-http/1.1", "istio-h2")
ALL_ISTIO_ALPN = ("istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2")
MTLS_TCP_ALPN = ("istio-peer-exchange", "istio")
PLAIN_HTTP_ALPN = ("http/1.1", "h2c")
# what the server's TLS context offers (ALPNHttp, ALPNDownstreamWithMxc)
SERVER_HTTP_ALPN = ("h2", "http/1.1")
SERVER_TCP_ALPN = ("istio-peer-exchange", "h2", "http/1.1")


@dataclass(frozen=True)
class MtlsDecision:
    """The mTLS mode on one port of a workload, the PeerAuthentication that set it, and why."""

    mode: str  # STRICT | PERMISSIVE | DISABLE
    ref: Ref | None
    why: str


@dataclass(frozen=True)
class PeerAuthn:
    """istiod's ComposePeerAuthentication for one workload: mesh (root namespace), then namespace,
    then workload policy, the oldest of each; UNSET inherits; port-level settings of the workload
    policy override per target port (UNSET there inherits the workload's mode)."""

    mode: MtlsDecision
    per_port: dict[int, MtlsDecision] = field(default_factory=dict)

    def for_port(self, port: int) -> MtlsDecision:
        return self.per_port.get(port, self.mode)


@dataclass(frozen=True, slots=True)
class DownstreamTls:
    """The Istio mTLS a server chain terminates (istiod's BuildInboundTLS): the workload
    certificate (SDS `default`), client certificates required and checked against the mesh CA
    (SDS `ROOTCA`) with a URI SAN in one of the mesh's trust domains."""

    alpn: tuple[str, ...]
    trust_domains: tuple[str, ...]
    require_client_certificate: bool = True


@dataclass(frozen=True)
class InboundPort:
    """What one inbound chain serves, for the trace and the tables."""

    port: int  # the target (container) port; 0 for the passthrough chains
    service_port: int
    protocol: str  # HTTP | TCP | AUTO (sniffed)
    mtls: MtlsDecision
    cluster: str  # inbound|PORT|| or InboundPassthroughCluster
    service: str = ""  # the Service hostname that declared the port
    ref: Ref | None = None  # that Service (or the Sidecar's ingress listener)
    route_config: RouteConfig | None = None  # HTTP chains: the inline route configuration


@dataclass
class Inbound:
    """A sidecar's inbound configuration: the listener, its clusters, what was left out."""

    listener: Listener
    clusters: dict[str, Cluster]
    peer_authn: PeerAuthn
    policies: list[AuthorizationPolicy]
    notes: list[str]


# ------------------------------------------------------------------ PeerAuthentication


def _mode(pa: PeerAuthentication) -> str:
    return pa.spec.mtls.mode if pa.spec is not None and pa.spec.mtls is not None else "UNSET"


def _pa_ref(pa: PeerAuthentication, path: str = "spec.mtls.mode", line: int | None = None) -> Ref:
    own = pa.spec.mtls.src.line if path == "spec.mtls.mode" and pa.spec is not None and pa.spec.mtls is not None else None
    return Ref(pa.kind, pa.namespace, pa.name, path, pa.src.file, line or own or pa.src.line)


def _has_selector(pa: PeerAuthentication) -> bool:
    sel = pa.spec.selector if pa.spec is not None else None
    return sel is not None and bool(sel.match_labels)


def compose_peer_authn(snapshot: MeshSnapshot, namespace: str, labels: dict[str, str] | None) -> PeerAuthn:
    """The mTLS settings of a workload (`labels`), or of a namespace as a whole (labels None: no
    workload policy applies, what auto-mTLS asks about a service's namespace)."""
    root = snapshot.mesh.root_namespace
    mesh = ns_wide = workload = None
    # oldest first; sorted once per snapshot (this runs per endpoint when clusters are rendered)
    ordered = snapshot.index.memo("peer_authn_by_age", (snapshot.peer_authentications,),
                                  lambda: sorted(snapshot.peer_authentications, key=creation_key))
    for pa in ordered:
        if not _has_selector(pa):
            if pa.namespace == root:
                mesh = mesh or pa
            elif pa.namespace == namespace:
                ns_wide = ns_wide or pa
        elif labels is not None and pa.namespace == namespace and pa.namespace != root:
            sel = pa.spec.selector.match_labels if pa.spec is not None and pa.spec.selector is not None else {}
            if labels_match(sel, labels):
                workload = workload or pa
    decision = MtlsDecision("PERMISSIVE", None, "no PeerAuthentication applies: Istio's default")
    if mesh is not None and _mode(mesh) != "UNSET":
        decision = MtlsDecision(_mode(mesh), _pa_ref(mesh), "the mesh-wide (root namespace) PeerAuthentication")
    if ns_wide is not None and _mode(ns_wide) != "UNSET":
        decision = MtlsDecision(_mode(ns_wide), _pa_ref(ns_wide), "the namespace's PeerAuthentication")
    if workload is not None and _mode(workload) != "UNSET":
        decision = MtlsDecision(_mode(workload), _pa_ref(workload), "the workload's PeerAuthentication")
    per_port: dict[int, MtlsDecision] = {}
    if workload is not None and workload.spec is not None:
        for port, mode in workload.spec.port_modes().items():
            if mode == "UNSET":
                per_port[port] = MtlsDecision(decision.mode, _pa_ref(workload, f"spec.portLevelMtls.{port}"),
                                              f"port-level setting for port {port} is UNSET: {decision.why}")
            else:
                per_port[port] = MtlsDecision(mode, _pa_ref(workload, f"spec.portLevelMtls.{port}"),
                                              f"port-level setting for port {port}")
    return PeerAuthn(decision, per_port)


# ------------------------------------------------------------------ AuthorizationPolicy


def policies_for(snapshot: MeshSnapshot, namespace: str, labels: dict[str, str]) -> list[AuthorizationPolicy]:
    """The AuthorizationPolicies that apply to a sidecar: its namespace's and the root
    namespace's, with an empty selector or one its labels match, oldest first."""
    root = snapshot.mesh.root_namespace
    out = []
    for ap in snapshot.authorization_policies:
        spec = ap.spec
        if spec is None or spec.target_ref is not None or spec.target_refs:
            continue  # targetRef policies bind gateways and waypoints, not sidecars
        if ap.namespace not in (root, namespace):
            continue
        sel = spec.selector.match_labels if spec.selector else {}
        if not sel or labels_match(sel, labels):
            out.append(ap)
    return sorted(out, key=creation_key)


def trust_domains(snapshot: MeshSnapshot) -> tuple[str, ...]:
    mesh = snapshot.mesh
    out = [mesh.trust_domain]
    out += [a for a in mesh.trust_domain_aliases if a and a not in out]
    return tuple(out)


def principal_of(snapshot: MeshSnapshot, namespace: str, service_account: str) -> str:
    """A workload's SPIFFE identity as its certificate carries it."""
    return f"spiffe://{snapshot.mesh.trust_domain}/ns/{namespace}/sa/{service_account or 'default'}"


def has_sidecar(pod: Pod) -> bool:
    if pod.metadata.labels.get(TLS_MODE_LABEL) == "istio":
        return True
    containers = pod.spec.containers if pod.spec else ()
    return any(c.name == "istio-proxy" for c in containers)


# ------------------------------------------------------------------ chains


@dataclass(frozen=True, slots=True)
class ChainOption:
    """One FilterChainMatchOptions of istiod: protocol, transport, ALPN, and whether the chain
    terminates Istio mTLS."""

    http: bool
    transport: str
    alpn: tuple[str, ...] = ()
    tls: bool = False


def chain_options(mode: str, protocol: str) -> tuple[ChainOption, ...]:
    """getFilterChainMatchOptions: the chains of one port by mTLS mode and listener protocol."""
    if protocol == "HTTP":
        if mode == "STRICT":
            return (ChainOption(True, "tls", (), True),)
        if mode == "PERMISSIVE":
            return (ChainOption(True, "tls", ALL_ISTIO_ALPN, True), ChainOption(True, "raw_buffer"))
        return (ChainOption(True, "raw_buffer"),)
    if protocol == "AUTO":
        if mode == "STRICT":
            return (ChainOption(True, "tls", MTLS_HTTP_ALPN, True), ChainOption(False, "tls", (), True))
        if mode == "PERMISSIVE":
            return (ChainOption(True, "tls", MTLS_HTTP_ALPN, True), ChainOption(True, "raw_buffer", PLAIN_HTTP_ALPN),
                    ChainOption(False, "tls", MTLS_TCP_ALPN, True), ChainOption(False, "raw_buffer"),
                    ChainOption(False, "tls"))
        return (ChainOption(True, "raw_buffer", PLAIN_HTTP_ALPN), ChainOption(False, "raw_buffer"))
    if mode == "STRICT":
        return (ChainOption(False, "tls", (), True),)
    if mode == "PERMISSIVE":
        return (ChainOption(False, "tls", ALL_ISTIO_ALPN, True), ChainOption(False, "tls"), ChainOption(False, "raw_buffer"))
    return (ChainOption(False, "raw_buffer"),)


def listener_protocol(protocol: str) -> str:
    if protocol in HTTP_FAMILY:
        return "HTTP"
    if protocol == UNSUPPORTED or not protocol:
        return "AUTO"
    return "TCP"


def inbound_route_config(cluster: str, service_port: int, grpc: bool) -> RouteConfig:
    """The inline route configuration of an inbound HTTP chain (BuildDefaultHTTPInboundRoute): one
    virtual host for every domain, one route to the inbound cluster, no timeout, and two retries
    on reset-before-request except for gRPC."""
    retry = None if grpc else Retry(2, "reset-before-request", previous_hosts=False, host_selection_retry_max_attempts=0)
    action = RouteAction((WeightedCluster(cluster, 100, "", 0),), 0.0, retry)
    route = Route("default", RouteMatch(), action=action)
    return RouteConfig(cluster, [VirtualHost(f"inbound|http|{service_port}", ("*",), (route,), kind="inbound")],
                       ignore_port_in_host_matching=False)


def _chains(port: InboundPort, options: tuple[ChainOption, ...], passthrough: bool, tds: tuple[str, ...],
            http_rbac: tuple[RbacFilter, ...], tcp_rbac: tuple[RbacFilter, ...], grpc: bool) -> list[FilterChain]:
    out = []
    for opt in options:
        if passthrough:
            name = CATCHALL_HTTP if opt.http else VIRTUAL_INBOUND
        else:
            name = f"0.0.0.0_{port.port}"
        tls = DownstreamTls(SERVER_HTTP_ALPN if opt.http else SERVER_TCP_ALPN, tds) if opt.tls else None
        dport = port.port or None
        if opt.http:
            rc = inbound_route_config(port.cluster, port.service_port, grpc)
            info = InboundPort(port.port, port.service_port, port.protocol, port.mtls, port.cluster, port.service,
                               port.ref, rc)
            out.append(FilterChain(name, "http", rds=port.cluster, transport=opt.transport, application_protocols=opt.alpn,
                                   destination_port=dport, ref=port.ref, tls=tls, rbac=http_rbac, inbound=info))
        else:
            out.append(FilterChain(name, "tcp", tcp=TcpRoute((WeightedCluster(port.cluster, 100, "", 0),)),
                                   transport=opt.transport, application_protocols=opt.alpn, destination_port=dport,
                                   ref=port.ref, tls=tls, rbac=tcp_rbac, inbound=port))
    return out


def _service_ports(snapshot: MeshSnapshot, wl: Workload) -> list[tuple[int, int, str, RegistryService]]:
    """(target port, service port, protocol, service) for every Service port that selects the
    workload, oldest Service first (istiod keeps the oldest on a conflict)."""
    pod = wl.resource if isinstance(wl.resource, Pod) else None
    out = []
    svcs = [s for s in snapshot.index.registry.k8s_selecting.get(wl.namespace, ()) if labels_match(s.selector, wl.labels)]
    for s in sorted(svcs, key=lambda s: creation_key(s.resource)):
        for sp in s.ports:
            if sp.protocol == "UDP":
                continue
            target: int | None = None
            for e in s.endpoints_for(sp):
                if (pod is not None and e.pod == f"{pod.namespace}/{pod.name}") or (wl.ip and e.address == wl.ip):
                    target = e.port
                    break
            if target is None:
                t = sp.target_port
                if isinstance(t, int):
                    target = t
                elif isinstance(t, str) and t.isdigit():
                    target = int(t)
                elif not t:
                    target = sp.port
                elif pod is not None and pod.spec is not None:
                    target = next((cp.container_port for c in pod.spec.containers for cp in c.ports if cp.name == t), None)
            if target is not None:
                out.append((target, sp.port, sp.protocol, s))
    return out


def _in_sidecar_scope(snapshot: MeshSnapshot, wl: Workload, svc: RegistryService) -> bool:
    """istiod reads an inbound cluster's DestinationRule from the proxy's SidecarScope, which holds
    rules only for the services the scope imports (SidecarScope.selectDestinationRules over
    sc.services): an egress host's, or a destination of an imported VirtualService (its delegates'
    too, each short name in its own VirtualService's namespace) on a port the service has. A
    Sidecar whose egress leaves out the workload's own service leaves its inbound cluster without
    the rule."""
    if not svc.visible_to(wl.namespace):
        return False
    scope = compute_scope(snapshot, wl.namespace, wl.labels)
    suffix = snapshot.mesh.domain_suffix
    mesh_vs: list[VirtualService] | None = None  # ordered once, on the first listener that needs it
    for eg in scope.listeners:
        if eg.port and svc.port(eg.port) is None:
            continue  # a listener with a port imports only services that have it
        if eg.imports_everything or eg.imports_service(svc):
            return True
        if mesh_vs is None:
            mesh_vs = ordered_mesh_vs(snapshot, wl.namespace)
        named: set[int] = set()  # the ports the imported VirtualServices name for the service (0: none named)
        for vs in mesh_vs:
            if eg.imports_vs(vs, vs_hosts(vs, suffix)):
                named.update(d.port.number if d.port is not None else 0 for d, dns in vs_destinations(vs, snapshot)
                             if resolve_short(d.host, dns, suffix) == svc.hostname)
        # a destination comes in on the ports named (serviceMatchingVirtualServicePorts): not at all
        # when it has none of them; a listener with a port takes it on that port (checked above)
        if named and (eg.port or 0 in named or any(svc.port(n) is not None for n in named)):
            return True
    return False


def _inbound_cluster(snapshot: MeshSnapshot, drs: DRIndex, wl: Workload, port: InboundPort, svc: RegistryService | None,
                     sidecar_pool: ConnectionPoolSettings | None) -> Cluster:
    """`inbound|PORT||` (istiod's buildInboundCluster): ORIGINAL_DST, with the connection pool of
    the service's DestinationRule as this workload sees it (port level first), over MeshConfig's
    defaultTrafficPolicy, and the Sidecar's inboundConnectionPool over both; so the server has
    the capacity its clients are given."""
    dr = (drs.lookup(svc.hostname, svc.namespace, wl.namespace, wl.labels)
          if svc is not None and _in_sidecar_scope(snapshot, wl, svc) else None)
    tp = effective_policy(dr, port.service_port)
    if svc is not None:
        tp, _ = mesh_cluster_policy(snapshot.mesh, tp, svc)
    pool = tp.connection_pool if tp is not None else None
    if sidecar_pool is not None:
        pool = sidecar_pool
    connect = snapshot.mesh.connect_timeout
    if pool is not None and pool.tcp is not None and pool.tcp.connect_timeout is not None:
        connect = pool.tcp.connect_timeout.seconds
    policy = {"connectionPool": policy_json(TrafficPolicy(connection_pool=pool))["connectionPool"]} if pool is not None else {}
    return Cluster(port.cluster, "ORIGINAL_DST", port=port.port, lb_policy="CLUSTER_PROVIDED", direction="inbound",
                   policy=policy, destination_rule=dr.ref() if dr is not None and pool is not None else None,
                   connect_timeout=connect)


def build_inbound(snapshot: MeshSnapshot, wl: Workload, drs: DRIndex | None = None) -> Inbound:
    """The inbound listener and clusters of a sidecar workload (`drs`: the snapshot's
    DestinationRule index, when the caller has one)."""
    drs = drs if drs is not None else DRIndex(snapshot)
    services: dict[int, RegistryService] = {}
    notes: list[str] = []
    tds = trust_domains(snapshot)
    authn = compose_peer_authn(snapshot, wl.namespace, wl.labels)
    policies = policies_for(snapshot, wl.namespace, wl.labels)
    http_rbac = build_filters(policies, tds, tcp=False, notes=notes)
    tcp_rbac = build_filters(policies, tds, tcp=True, notes=notes)
    ports: dict[int, InboundPort] = {}
    grpc_ports: set[int] = set()
    sc, _ = select_sidecar(snapshot, wl.namespace, wl.labels)
    if sc is not None and sc.spec.ingress:
        for i, ing in enumerate(sc.spec.ingress):
            if ing.port is None or ing.port.number in ports:
                continue
            n = ing.port.number
            ref = Ref("Sidecar", sc.namespace, sc.name, f"spec.ingress[{i}]", sc.src.file, ing.src.line)
            ports[n] = InboundPort(n, n, listener_protocol(ing.port.protocol.upper()), authn.for_port(n), f"inbound|{n}||",
                                   f"{sc.name}.{sc.namespace}", ref)
            if ing.port.protocol.upper() == "GRPC":
                grpc_ports.add(n)
    else:
        for target, sport, proto, svc in _service_ports(snapshot, wl):
            if target in ports:
                old = ports[target]
                if old.protocol != listener_protocol(proto) and old.service != svc.hostname:
                    notes.append(f"inbound port {target}: Service {svc.namespace}/{svc.name} declares it as {proto}, "
                                 f"{old.service} as {old.protocol}; the older Service wins")
                continue
            ref = Ref("Service", svc.namespace, svc.name, "spec.ports", svc.resource.src.file, svc.resource.src.line)
            ports[target] = InboundPort(target, sport, listener_protocol(proto), authn.for_port(target),
                                        f"inbound|{target}||", svc.hostname, ref)
            services[target] = svc
            if proto == "GRPC":
                grpc_ports.add(target)
    chains: list[FilterChain] = [FilterChain(BLACKHOLE_CHAIN, "tcp", tcp=TcpRoute((WeightedCluster("BlackHoleCluster", 100, "", 0),)),
                                             destination_port=INBOUND_PORT)]
    # passthrough: the workload's mode for every other port, plus port-level modes on undeclared ports
    passthrough = [InboundPort(0, 0, "AUTO", authn.mode, INBOUND_PASSTHROUGH)]
    passthrough += [InboundPort(p, 0, "AUTO", d, INBOUND_PASSTHROUGH) for p, d in sorted(authn.per_port.items()) if p not in ports]
    for pp in passthrough:
        chains += _chains(pp, chain_options(pp.mtls.mode, "AUTO"), True, tds, http_rbac, tcp_rbac, False)
    clusters: dict[str, Cluster] = {}
    for port in sorted(ports):
        ip = ports[port]
        chains += _chains(ip, chain_options(ip.mtls.mode, ip.protocol), False, tds, http_rbac, tcp_rbac, port in grpc_ports)
        clusters[ip.cluster] = _inbound_cluster(snapshot, drs, wl, ip, services.get(port),
                                                sc.spec.inbound_connection_pool if sc is not None else None)
    clusters[INBOUND_PASSTHROUGH] = Cluster(INBOUND_PASSTHROUGH, "ORIGINAL_DST", lb_policy="CLUSTER_PROVIDED", direction="inbound")
    listener = Listener(VIRTUAL_INBOUND, "0.0.0.0", INBOUND_PORT, chains, None, bind_to_port=True, kind="inbound")
    return Inbound(listener, clusters, authn, policies, notes)


def inbound_port(listener: Listener, port: int) -> InboundPort | None:
    """The declared port's facts, from any of its chains (None: the port falls to passthrough)."""
    for ch in listener.chains:
        if ch.inbound is not None and ch.destination_port == port and ch.inbound.cluster != INBOUND_PASSTHROUGH:
            return ch.inbound
    return None
