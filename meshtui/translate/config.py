"""ProxyConfig: the Envoy-shaped configuration of one proxy, as meshtui generates it.

The same objects feed the tracer (simulate walks them) and the proxies (envoy_json renders them
for xDS), so what is traced is what Envoy gets. Every route, vhost and cluster keeps a `Ref` to
the Istio resource and field it came from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from meshtui.model.meshconfig import MeshConfig
from meshtui.model.snapshot import Endpoint, MeshSnapshot, RegistryService, Workload
from meshtui.model.value import value

if TYPE_CHECKING:
    from meshtui.translate.inbound import DownstreamTls, InboundPort
    from meshtui.translate.policy import DRIndex
    from meshtui.translate.rbac import RbacFilter


@dataclass(frozen=True)
class TranslateOptions:
    proxy_type: str | None = None  # "sidecar" | "router"; None: decide from Gateway selectors
    bind_address: str | None = None  # render outbound listeners bound on this loopback address
    # every route carries a fault filter whose numbers come from per-route runtime keys, so a live
    # fault is a runtime-layer push only (the control plane's mode; off for what people read)
    prearm_faults: bool = False
    endpoint_remap: dict[str, str] = field(default_factory=dict)  # endpoint IP -> loopback IP when rendering


@value
class Ref:
    """Provenance: the Istio (or Kubernetes) object and field a piece of config came from."""

    kind: str
    namespace: str
    name: str
    path: str = ""
    file: str = ""
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        if self.path:
            out["path"] = self.path
        if self.file:
            out["file"] = self.file
        if self.line is not None:
            out["line"] = self.line
        return out

    def short(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" + (f" {self.path}" if self.path else "")


def mesh_ref(mesh: MeshConfig, path: str) -> Ref | None:
    """Provenance for a value read from a MeshConfig source (None at Istio's defaults)."""
    o = mesh.origin
    if o is None:
        return None
    return Ref("MeshConfig", o.namespace, o.name or o.file, path, o.file, o.line(path))


@value
class StringMatcher:
    kind: str  # exact | prefix | regex | present
    value: str | None = None
    ignore_case: bool = False


@value
class HeaderMatcher:
    name: str  # lower-cased; pseudo-headers `:method`, `:authority`, `:scheme`
    match: StringMatcher
    invert: bool = False
    treat_missing_as_empty: bool = False


@value
class QueryMatcher:
    name: str
    match: StringMatcher


@value
class RouteMatch:
    path_kind: str = "prefix"  # prefix | path | regex | path_separated_prefix (Gateway API PathPrefix)
    path: str = "/"
    case_sensitive: bool = True
    headers: tuple[HeaderMatcher, ...] = ()
    query: tuple[QueryMatcher, ...] = ()

    @property
    def catch_all(self) -> bool:
        return self.path_kind == "prefix" and self.path == "/" and not self.headers and not self.query


@value
class HeaderOps:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.set or self.add or self.remove)


@value
class WeightedCluster:
    cluster: str
    weight: int
    host: str
    port: int
    subset: str = ""
    request_headers: HeaderOps = HeaderOps()
    response_headers: HeaderOps = HeaderOps()
    ref: Ref | None = None


@value
class Retry:
    attempts: int
    retry_on: str
    per_try_timeout: float | None = None
    retriable_status_codes: tuple[int, ...] = ()
    host_selection_retry_max_attempts: int = 5
    previous_hosts: bool = True
    retry_remote_localities: bool = False
    backoff: float | None = None
    ref: Ref | None = None  # MeshConfig defaultHttpRetryPolicy when the policy came from there


@value
class Fault:
    delay_seconds: float | None = None
    delay_percent: float = 0.0
    abort_http_status: int | None = None
    abort_grpc_status: int | None = None
    abort_percent: float = 0.0
    # live game-day faults: Envoy reads the percentages from these runtime keys (default 0)
    delay_runtime_key: str | None = None
    abort_runtime_key: str | None = None
    live_id: str | None = None
    ref: Ref | None = None
    static: Fault | None = None  # with a live fault merged in: the route's own fault before it
    # a live fault on a host/subset of a split route: the weighted clusters its abort/delay is
    # limited to (rendered per weighted cluster); empty: every request of the route
    abort_clusters: tuple[str, ...] = ()
    delay_clusters: tuple[str, ...] = ()

    def for_cluster(self, cluster: str) -> Fault | None:
        """The fault requests bound for `cluster` get: live parts limited to other clusters fall
        back to the route's own fault."""
        if not self.abort_clusters and not self.delay_clusters:
            return self
        own = self.static or Fault()
        f = self
        if self.abort_clusters and cluster not in self.abort_clusters:
            f = replace(f, abort_http_status=own.abort_http_status, abort_grpc_status=own.abort_grpc_status,
                        abort_percent=own.abort_percent, abort_runtime_key=None)
        if self.delay_clusters and cluster not in self.delay_clusters:
            f = replace(f, delay_seconds=own.delay_seconds, delay_percent=own.delay_percent, delay_runtime_key=None)
        f = replace(f, abort_clusters=(), delay_clusters=())
        if f.abort_runtime_key is None and f.delay_runtime_key is None:
            has_own = own.delay_seconds is not None or own.abort_http_status is not None or own.abort_grpc_status is not None
            return own if has_own else None
        return f


@value
class Mirror:
    cluster: str
    host: str
    percent: float
    subset: str = ""


@value
class HashPolicy:
    kind: str  # header | cookie | source_ip | query_parameter
    name: str = ""
    ttl: float | None = None
    path: str = ""


@value
class RouteAction:
    clusters: tuple[WeightedCluster, ...]
    timeout: float = 0.0  # 0 = disabled (Istio's current default)
    retry: Retry | None = None
    prefix_rewrite: str | None = None
    regex_rewrite: tuple[str, str] | None = None
    host_rewrite: str | None = None
    mirrors: tuple[Mirror, ...] = ()
    hash_policy: tuple[HashPolicy, ...] = ()
    weighted: bool = False
    # what Envoy answers when the chosen cluster does not exist (Gateway API routes: 500)
    cluster_not_found_status: int = 503


@value
class Redirect:
    code: int = 301
    scheme: str | None = None
    host: str | None = None
    port: int | None = None
    path: str | None = None
    prefix_rewrite: str | None = None
    derive_port_from_request: bool = False


@value
class DirectResponse:
    status: int
    body: str | None = None


@value
class Route:
    name: str
    match: RouteMatch
    action: RouteAction | None = None
    redirect: Redirect | None = None
    direct_response: DirectResponse | None = None
    fault: Fault | None = None
    request_headers: HeaderOps = HeaderOps()
    response_headers: HeaderOps = HeaderOps()
    cors: dict[str, Any] | None = None
    ref: Ref | None = None  # the VS rule (path spec.http[i]) or the default route's service
    match_ref: Ref | None = None  # the match block (spec.http[i].match[j])
    rule_index: int | None = None
    match_index: int | None = None
    virtual_service: tuple[str, str] | None = None  # (namespace, name)
    decorator: str = ""
    stat_prefix: str = ""


@value
class DroppedMatch:
    """A VirtualService match left out of this proxy's configuration by a config-time field
    (port, gateways, sourceLabels, sourceNamespace): the trace names it and says why."""

    ref: Ref  # the match block (spec.http[i].match[j])
    label: str  # http[i].match[j] (name)
    field: str  # the MatchField that dropped it
    reason: str


@dataclass(slots=True)
class VirtualHost:
    name: str
    domains: tuple[str, ...]
    routes: tuple[Route, ...]
    require_tls: bool = False
    kind: str = "service"  # service | vs | allow_any | block_all | gateway | blackhole
    service: RegistryService | None = None
    ref: Ref | None = None  # the VirtualService that owns the host, if any
    notes: tuple[str, ...] = ()  # why other VSs lost the host, why routes fell back to default
    dropped: tuple[DroppedMatch, ...] = ()  # matches config-time fields left out for this proxy

    def with_routes(self, routes: tuple[Route, ...]) -> VirtualHost:
        """A plain copy with other routes (works on a lazy virtual host too: it reads it whole)."""
        return VirtualHost(self.name, self.domains, routes, self.require_tls, self.kind, self.service, self.ref,
                           self.notes, self.dropped)


@dataclass(slots=True)
class RouteConfig:
    name: str
    virtual_hosts: list[VirtualHost]
    ignore_port_in_host_matching: bool = True
    _exact: dict[str, VirtualHost] | None = None
    _suffix: list[tuple[str, VirtualHost]] | None = None
    _prefix: list[tuple[str, VirtualHost]] | None = None
    _star: VirtualHost | None = None

    def index(self) -> None:
        """Envoy's vhost selection, precomputed: exact domains, then `*suffix` wildcards longest
        first, then `prefix*` longest first, then `*`. Earlier vhosts keep a duplicate domain."""
        exact: dict[str, VirtualHost] = {}
        suffix: list[tuple[str, VirtualHost]] = []
        prefix: list[tuple[str, VirtualHost]] = []
        star = None
        for vh in self.virtual_hosts:
            for d in vh.domains:
                d = d.lower()
                if d == "*":
                    star = star or vh
                elif d.startswith("*"):
                    suffix.append((d[1:], vh))
                elif d.endswith("*"):
                    prefix.append((d[:-1], vh))
                else:
                    exact.setdefault(d, vh)
        suffix.sort(key=lambda x: -len(x[0]))
        prefix.sort(key=lambda x: -len(x[0]))
        self._exact, self._suffix, self._prefix, self._star = exact, suffix, prefix, star

    def vhost_count(self) -> int:
        return len(self.virtual_hosts)

    def select(self, host: str) -> tuple[VirtualHost | None, str]:
        """(vhost, the domain that matched)."""
        if self._exact is None:
            self.index()
        assert self._exact is not None and self._suffix is not None and self._prefix is not None  # index() set them
        host = host.lower()
        vh = self._exact.get(host)
        if vh is not None:
            return vh, host
        for s, vh in self._suffix:
            if len(host) > len(s) and host.endswith(s):
                return vh, "*" + s
        for p, vh in self._prefix:
            if len(host) > len(p) and host.startswith(p):
                return vh, p + "*"
        if self._star is not None:
            return self._star, "*"
        return None, ""


@value
class TcpRoute:
    clusters: tuple[WeightedCluster, ...]
    ref: Ref | None = None


@value
class FilterChain:
    name: str
    kind: str  # http | tcp | passthrough | blackhole
    rds: str | None = None  # HTTP chains: the route config name
    tcp: TcpRoute | None = None
    server_names: tuple[str, ...] = ()
    prefix_ranges: tuple[str, ...] = ()
    transport: str = ""  # "" (any) | raw_buffer | tls
    application_protocols: tuple[str, ...] = ()
    # Envoy's remaining FilterChainMatch fields (Istio's outbound chains leave them unset; the
    # simulator and the renderer honour them when set)
    destination_port: int | None = None
    source_type: str = ""  # "" (ANY) | SAME_IP_OR_LOOPBACK | EXTERNAL
    source_prefix_ranges: tuple[str, ...] = ()
    source_ports: tuple[int, ...] = ()
    tls_credential: str | None = None  # terminated TLS at a gateway
    ref: Ref | None = None
    # inbound chains (translate/inbound.py): the Istio mTLS they terminate, their RBAC filters in
    # order, and the port they serve
    tls: DownstreamTls | None = None
    rbac: tuple[RbacFilter, ...] = ()
    inbound: InboundPort | None = None


@dataclass(slots=True)
class Listener:
    name: str
    address: str
    port: int
    chains: list[FilterChain]
    default_chain: FilterChain | None = None
    bind_to_port: bool = False
    kind: str = "outbound"  # outbound | gateway | virtual | inbound (virtualInbound)
    ref: Ref | None = None
    dropped: tuple[DroppedMatch, ...] = ()  # TCP/TLS matches config-time fields left out for this proxy


@dataclass(slots=True)
class Cluster:
    name: str
    type: str  # EDS | STRICT_DNS | LOGICAL_DNS | ORIGINAL_DST | STATIC
    host: str = ""
    port: int = 0
    subset: str = ""
    service: RegistryService | None = None
    lb_policy: str = "LEAST_REQUEST"
    policy: dict[str, Any] = field(default_factory=dict)  # the effective DR trafficPolicy (Istio JSON)
    destination_rule: Ref | None = None
    subset_labels: dict[str, str] = field(default_factory=dict)
    connect_timeout: float = 10.0
    direction: str = "outbound"
    # what MeshConfig decided for this cluster (auto mTLS, locality LB, the default traffic
    # policy), each with its provenance, for the trace
    mesh_notes: tuple[tuple[str, Ref | None], ...] = ()


@dataclass
class ProxyInfo:
    type: str  # sidecar | router
    namespace: str
    workload: str
    labels: dict[str, str]
    ip: str = ""
    workload_ref: Workload | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"type": self.type, "namespace": self.namespace, "workload": self.workload, "labels": dict(self.labels)}
        if self.workload_ref is not None and self.workload_ref.cluster:
            out["cluster"] = self.workload_ref.cluster
        return out

    @property
    def node_id(self) -> str:
        kind = "router" if self.type == "router" else "sidecar"
        return f"{kind}~{self.ip or '127.0.0.1'}~{self.workload}.{self.namespace}~{self.namespace}.svc.cluster.local"


@dataclass
class EnvoyResources:
    """Envoy v3 JSON, ready for json_format.ParseDict into the xds-protos messages. `runtime` maps
    a runtime key to its value for the meshtui fault runtime layer: a FractionalPercent as JSON,
    {"numerator": N, "denominator": "MILLION"} (a bare integer would be read against the
    default's denominator)."""

    listeners: list[dict[str, Any]]
    routes: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    endpoints: list[dict[str, Any]]
    runtime: dict[str, Any]


@value
class OtherDR:
    """A DestinationRule for the same host that this proxy does not use, and why."""

    ref: Ref
    subsets: tuple[str, ...]
    why: str  # "shadowed by the client-namespace tier", "not exported to this namespace", ...


@value
class DRChoice:
    """Which DestinationRule a proxy uses for a host (client, then service, then root namespace),
    and the ones for that host it does not: what the trace needs to explain a missing subset."""

    host: str
    in_effect: Ref | None
    tier: str  # client-namespace | service-namespace | root-namespace ("" when none applies)
    subsets: tuple[str, ...]
    others: tuple[OtherDR, ...] = ()


@dataclass
class ProxyConfig:
    proxy: ProxyInfo
    listeners: list[Listener]
    route_configs: dict[str, RouteConfig]
    clusters: dict[str, Cluster]
    endpoints: dict[str, tuple[Endpoint, ...]]
    outbound_policy: str = "ALLOW_ANY"
    sidecar_scope: Ref | None = None
    sidecar_scope_reason: str = ""
    runtime: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    service_ports: dict[int, int] = field(default_factory=dict)  # gateways: Service port -> target port
    snapshot: MeshSnapshot | None = field(default=None, repr=False, compare=False)  # for DNS in the tracer
    render_options: TranslateOptions | None = field(default=None, repr=False, compare=False)
    outbound_from: str = ""  # who set outbound_policy ("mesh-wide REGISTRY_ONLY from MeshConfig, istio-system/istio")
    outbound_ref: Ref | None = None
    # the DestinationRule index this config was built with, and each service host's namespace as
    # the lookup used it: the trace asks which rule applies (and which it hides) only when needed
    drs: DRIndex | None = field(default=None, repr=False, compare=False)
    service_namespaces: dict[str, str] = field(default_factory=dict, repr=False)
    # (address, port) -> listener, made on the first listener_for: not an init field, so a
    # replace()d config (other listeners) starts without one instead of inheriting a stale one
    _listener_index: dict[tuple[str, int], Listener] | None = field(default=None, init=False, repr=False,
                                                                     compare=False)

    def dr_choice(self, host: str) -> DRChoice | None:
        """Which DestinationRule this proxy uses for `host`, and the ones for it that it does not."""
        ns = self.service_namespaces.get(host)
        if self.drs is None or ns is None:
            return None
        return self.drs.choice(host, ns, self.proxy.namespace, self.proxy.labels)

    def listener_for(self, address: str, port: int) -> Listener | None:
        if self._listener_index is None:
            self._listener_index = {(ls.address, ls.port): ls for ls in self.listeners}
        return self._listener_index.get((address, port))

    def envoy_resources(self, endpoint_remap: dict[str, str] | None = None, bind_address: str | None = None) -> EnvoyResources:
        """Envoy v3 JSON for xDS or a static bootstrap. `bind_address` binds every outbound
        listener for real on that loopback address; `endpoint_remap` rewrites endpoint IPs."""
        from meshtui.translate.envoy_json import render

        opts = self.render_options
        if endpoint_remap is None and opts is not None:
            endpoint_remap = opts.endpoint_remap
        if bind_address is None and opts is not None:
            bind_address = opts.bind_address
        return render(self, endpoint_remap or {}, bind_address, prearm=bool(opts is not None and opts.prearm_faults))
