"""networking.istio.io resources as typed, immutable models (v1, v1beta1 and v1alpha3 share one
schema). Field names follow the Istio API; YAML names are their camelCase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from meshtui.model.schema import Duration, Node, fld


def _percent(v: float) -> str | None:
    return None if 0.0 <= v <= 100.0 else f"percentage must be between 0 and 100, got {v:g}"


def _port(v: int) -> str | None:
    return None if 0 < v <= 65535 else f"port must be between 1 and 65535, got {v}"


# ---------------------------------------------------------------- common

@dataclass(frozen=True, kw_only=True)
class ObjectMeta(Node):
    name: str = fld("")
    namespace: str = fld("")
    labels: dict[str, str] = fld({})
    annotations: dict[str, str] = fld({})
    creation_timestamp: Any = fld(None)
    resource_version: str = fld("")
    uid: str = fld("")
    generation: int = fld(0)
    generate_name: str = fld("")
    owner_references: tuple[Any, ...] = fld(())
    finalizers: tuple[Any, ...] = fld(())
    managed_fields: tuple[Any, ...] = fld(())
    deletion_timestamp: Any = fld(None)
    deletion_grace_period_seconds: int = fld(0)
    self_link: str = fld("")


@dataclass(frozen=True, kw_only=True)
class StringMatch(Node):
    exact: str | None = fld(None)
    prefix: str | None = fld(None)
    regex: str | None = fld(None)

    @property
    def kind(self) -> str:
        return "exact" if self.exact is not None else "prefix" if self.prefix is not None else "regex" if self.regex is not None else "present"

    @property
    def value(self) -> str | None:
        return self.exact if self.exact is not None else self.prefix if self.prefix is not None else self.regex

    def text(self) -> str:
        return f"{self.kind} {self.value!r}" if self.kind != "present" else "present"


@dataclass(frozen=True, kw_only=True)
class Percent(Node):
    value: float = fld(0.0, check=_percent)


@dataclass(frozen=True, kw_only=True)
class PortSelector(Node):
    number: int = fld(0, check=_port)


@dataclass(frozen=True, kw_only=True)
class Destination(Node):
    host: str = fld("", required=True)
    subset: str = fld("")
    port: PortSelector | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HeaderOperations(Node):
    set: dict[str, str] = fld({})
    add: dict[str, str] = fld({})
    remove: tuple[str, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class Headers(Node):
    request: HeaderOperations | None = fld(None)
    response: HeaderOperations | None = fld(None)


# ---------------------------------------------------------------- VirtualService

@dataclass(frozen=True, kw_only=True)
class HTTPMatchRequest(Node):
    name: str = fld("")
    uri: StringMatch | None = fld(None)
    scheme: StringMatch | None = fld(None)
    method: StringMatch | None = fld(None)
    authority: StringMatch | None = fld(None)
    headers: dict[str, StringMatch] = fld({})
    port: int | None = fld(None, check=_port)
    source_labels: dict[str, str] = fld({})
    gateways: tuple[str, ...] = fld(())
    query_params: dict[str, StringMatch] = fld({})
    ignore_uri_case: bool = fld(False)
    without_headers: dict[str, StringMatch] = fld({})
    source_namespace: str = fld("")
    stat_prefix: str = fld("")


@dataclass(frozen=True, kw_only=True)
class HTTPRouteDestination(Node):
    # required (validate/virtualservice.py says so): a route entry without one still parses, so the
    # VirtualService is kept for the checks that mirror istioctl's, which report the missing host
    destination: Destination | None = fld(None)
    weight: int | None = fld(None)
    headers: Headers | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPRedirect(Node):
    uri: str | None = fld(None)
    authority: str | None = fld(None)
    port: int | None = fld(None, check=_port)
    derive_port: Literal["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"] | None = fld(None)
    scheme: str | None = fld(None)
    redirect_code: int | None = fld(None)
    prefix_rewrite: str | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPBody(Node):
    string: str | None = fld(None)
    bytes: str | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPDirectResponse(Node):
    status: int = fld(0, required=True)
    body: HTTPBody | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class Delegate(Node):
    name: str = fld("")
    namespace: str = fld("")


@dataclass(frozen=True, kw_only=True)
class RegexRewrite(Node):
    match: str = fld("")
    rewrite: str = fld("")


@dataclass(frozen=True, kw_only=True)
class HTTPRewrite(Node):
    uri: str | None = fld(None)
    authority: str | None = fld(None)
    uri_regex_rewrite: RegexRewrite | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPRetry(Node):
    attempts: int = fld(0)
    per_try_timeout: Duration | None = fld(None)
    retry_on: str = fld("")
    retry_remote_localities: bool | None = fld(None)
    retry_ignore_previous_hosts: bool | None = fld(None)
    backoff: Duration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class FaultDelay(Node):
    fixed_delay: Duration | None = fld(None)
    exponential_delay: Duration | None = fld(None)
    percentage: Percent | None = fld(None)
    percent: int | None = fld(None, check=lambda v: _percent(float(v)))


@dataclass(frozen=True, kw_only=True)
class FaultAbort(Node):
    http_status: int | None = fld(None)
    grpc_status: str | None = fld(None)
    http2_error: str | None = fld(None)
    percentage: Percent | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPFaultInjection(Node):
    delay: FaultDelay | None = fld(None)
    abort: FaultAbort | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPMirrorPolicy(Node):
    destination: Destination | None = fld(None, required=True)
    percentage: Percent | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class CorsPolicy(Node):
    allow_origins: tuple[StringMatch, ...] = fld(())
    allow_origin: tuple[str, ...] = fld(())
    allow_methods: tuple[str, ...] = fld(())
    allow_headers: tuple[str, ...] = fld(())
    expose_headers: tuple[str, ...] = fld(())
    max_age: Duration | None = fld(None)
    allow_credentials: bool | None = fld(None)
    unmatched_preflights: Literal["UNSPECIFIED", "FORWARD", "IGNORE"] | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPRoute(Node):
    name: str = fld("")
    match: tuple[HTTPMatchRequest, ...] = fld(())
    route: tuple[HTTPRouteDestination, ...] = fld(())
    redirect: HTTPRedirect | None = fld(None)
    direct_response: HTTPDirectResponse | None = fld(None)
    delegate: Delegate | None = fld(None)
    rewrite: HTTPRewrite | None = fld(None)
    timeout: Duration | None = fld(None)
    retries: HTTPRetry | None = fld(None)
    fault: HTTPFaultInjection | None = fld(None)
    mirror: Destination | None = fld(None)
    mirrors: tuple[HTTPMirrorPolicy, ...] = fld(())
    mirror_percentage: Percent | None = fld(None)
    mirror_percent: int | None = fld(None)
    cors_policy: CorsPolicy | None = fld(None)
    headers: Headers | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class L4MatchAttributes(Node):
    destination_subnets: tuple[str, ...] = fld(())
    port: int | None = fld(None, check=_port)
    source_labels: dict[str, str] = fld({})
    gateways: tuple[str, ...] = fld(())
    source_namespace: str = fld("")
    source_subnet: str = fld("")


@dataclass(frozen=True, kw_only=True)
class TLSMatchAttributes(Node):
    sni_hosts: tuple[str, ...] = fld((), required=True)
    destination_subnets: tuple[str, ...] = fld(())
    port: int | None = fld(None, check=_port)
    source_labels: dict[str, str] = fld({})
    gateways: tuple[str, ...] = fld(())
    source_namespace: str = fld("")


@dataclass(frozen=True, kw_only=True)
class RouteDestination(Node):
    destination: Destination | None = fld(None)  # required: see HTTPRouteDestination
    weight: int | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class TCPRoute(Node):
    match: tuple[L4MatchAttributes, ...] = fld(())
    route: tuple[RouteDestination, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class TLSRoute(Node):
    match: tuple[TLSMatchAttributes, ...] = fld(())
    route: tuple[RouteDestination, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class VirtualServiceSpec(Node):
    hosts: tuple[str, ...] = fld(())
    gateways: tuple[str, ...] = fld(())
    http: tuple[HTTPRoute, ...] = fld(())
    tls: tuple[TLSRoute, ...] = fld(())
    tcp: tuple[TCPRoute, ...] = fld(())
    export_to: tuple[str, ...] = fld(())


# ---------------------------------------------------------------- DestinationRule

@dataclass(frozen=True, kw_only=True)
class HTTPCookieAttribute(Node):
    name: str = fld("")
    value: str = fld("")


@dataclass(frozen=True, kw_only=True)
class HTTPCookie(Node):
    name: str = fld("")
    path: str = fld("")
    ttl: Duration | None = fld(None)
    attributes: tuple[HTTPCookieAttribute, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class RingHash(Node):
    minimum_ring_size: int = fld(0)


@dataclass(frozen=True, kw_only=True)
class MagLev(Node):
    table_size: int = fld(0)


@dataclass(frozen=True, kw_only=True)
class ConsistentHashLB(Node):
    http_header_name: str | None = fld(None)
    http_cookie: HTTPCookie | None = fld(None)
    use_source_ip: bool | None = fld(None)
    http_query_parameter_name: str | None = fld(None)
    ring_hash: RingHash | None = fld(None)
    maglev: MagLev | None = fld(None)
    minimum_ring_size: int | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class LocalityDistribute(Node):
    from_: str = fld("", name="from")
    to: dict[str, int] = fld({})


@dataclass(frozen=True, kw_only=True)
class LocalityFailover(Node):
    from_: str = fld("", name="from")
    to: str = fld("")


@dataclass(frozen=True, kw_only=True)
class LocalityLoadBalancerSetting(Node):
    distribute: tuple[LocalityDistribute, ...] = fld(())
    failover: tuple[LocalityFailover, ...] = fld(())
    failover_priority: tuple[str, ...] = fld(())
    enabled: bool | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ZoneAwareLoadBalancerSetting(Node):
    enabled: bool | None = fld(None)
    failover: tuple[LocalityFailover, ...] = fld(())
    failover_priority: tuple[str, ...] = fld(())
    min_cluster_size: int | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class WarmupConfiguration(Node):
    duration: Duration | None = fld(None)
    minimum_percent: float | None = fld(None)
    aggression: float | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class LoadBalancerSettings(Node):
    simple: Literal["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"] | None = fld(None)
    consistent_hash: ConsistentHashLB | None = fld(None)
    locality_lb_setting: LocalityLoadBalancerSetting | None = fld(None)
    zone_aware_lb_setting: ZoneAwareLoadBalancerSetting | None = fld(None)
    warmup_duration_secs: Duration | None = fld(None)
    warmup: WarmupConfiguration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class TcpKeepalive(Node):
    probes: int | None = fld(None)
    time: Duration | None = fld(None)
    interval: Duration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class TCPSettings(Node):
    max_connections: int | None = fld(None)
    connect_timeout: Duration | None = fld(None)
    tcp_keepalive: TcpKeepalive | None = fld(None)
    max_connection_duration: Duration | None = fld(None)
    idle_timeout: Duration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ConnectionKeepalive(Node):
    interval: Duration | None = fld(None)
    timeout: Duration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPSettings(Node):
    http1_max_pending_requests: int | None = fld(None)
    http2_max_requests: int | None = fld(None)
    max_requests_per_connection: int | None = fld(None)
    max_retries: int | None = fld(None)
    idle_timeout: Duration | None = fld(None)
    h2_upgrade_policy: Literal["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"] | None = fld(None)
    use_client_protocol: bool | None = fld(None)
    max_concurrent_streams: int | None = fld(None)
    http2_keep_alive: ConnectionKeepalive | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ConnectionPoolSettings(Node):
    tcp: TCPSettings | None = fld(None)
    http: HTTPSettings | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class OutlierDetection(Node):
    split_external_local_origin_errors: bool | None = fld(None)
    consecutive_local_origin_failures: int | None = fld(None)
    consecutive_gateway_errors: int | None = fld(None)
    consecutive_5xx_errors: int | None = fld(None)
    interval: Duration | None = fld(None)
    base_ejection_time: Duration | None = fld(None)
    max_ejection_percent: int | None = fld(None, check=lambda v: _percent(float(v)))
    min_health_percent: int | None = fld(None, check=lambda v: _percent(float(v)))
    consecutive_errors: int | None = fld(None)
    outlier_detection_http_error_codes: tuple[int, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class ClientTLSSettings(Node):
    mode: Literal["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"] | None = fld(None)
    client_certificate: str = fld("")
    private_key: str = fld("")
    ca_certificates: str = fld("")
    credential_name: str = fld("")
    subject_alt_names: tuple[str, ...] = fld(())
    sni: str = fld("")
    insecure_skip_verify: bool | None = fld(None)
    ca_crl: str = fld("")


@dataclass(frozen=True, kw_only=True)
class TunnelSettings(Node):
    protocol: str = fld("")
    target_host: str = fld("")
    target_port: int = fld(0)


@dataclass(frozen=True, kw_only=True)
class ProxyProtocol(Node):
    version: Literal["V1", "V2"] | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class RetryBudget(Node):
    percent: float | None = fld(None, check=_percent)
    min_retry_concurrency: int | None = fld(None)
    budget_interval: Duration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class PortTrafficPolicy(Node):
    port: PortSelector | None = fld(None)
    load_balancer: LoadBalancerSettings | None = fld(None)
    connection_pool: ConnectionPoolSettings | None = fld(None)
    outlier_detection: OutlierDetection | None = fld(None)
    tls: ClientTLSSettings | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class TrafficPolicy(Node):
    load_balancer: LoadBalancerSettings | None = fld(None)
    connection_pool: ConnectionPoolSettings | None = fld(None)
    outlier_detection: OutlierDetection | None = fld(None)
    tls: ClientTLSSettings | None = fld(None)
    port_level_settings: tuple[PortTrafficPolicy, ...] = fld(())
    tunnel: TunnelSettings | None = fld(None)
    proxy_protocol: ProxyProtocol | None = fld(None)
    retry_budget: RetryBudget | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class Subset(Node):
    name: str = fld("", required=True)
    labels: dict[str, str] = fld({})
    traffic_policy: TrafficPolicy | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class DRWorkloadSelector(Node):
    match_labels: dict[str, str] = fld({})


@dataclass(frozen=True, kw_only=True)
class DestinationRuleSpec(Node):
    host: str = fld("", required=True)
    traffic_policy: TrafficPolicy | None = fld(None)
    subsets: tuple[Subset, ...] = fld(())
    export_to: tuple[str, ...] = fld(())
    workload_selector: DRWorkloadSelector | None = fld(None)


# ---------------------------------------------------------------- Gateway

@dataclass(frozen=True, kw_only=True)
class GatewayPort(Node):
    number: int = fld(0, required=True, check=_port)
    protocol: str = fld("", required=True)
    name: str = fld("")
    target_port: int | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ServerTLSCertificate(Node):
    server_certificate: str = fld("")
    private_key: str = fld("")
    ca_certificates: str = fld("")


@dataclass(frozen=True, kw_only=True)
class ServerTLSSettings(Node):
    https_redirect: bool = fld(False)
    mode: Literal["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"] | None = fld(None)
    server_certificate: str = fld("")
    private_key: str = fld("")
    ca_certificates: str = fld("")
    ca_crl: str = fld("")
    credential_name: str = fld("")
    credential_names: tuple[str, ...] = fld(())
    ca_cert_credential_name: str = fld("")
    tls_certificates: tuple[ServerTLSCertificate, ...] = fld(())
    subject_alt_names: tuple[str, ...] = fld(())
    verify_certificate_spki: tuple[str, ...] = fld(())
    verify_certificate_hash: tuple[str, ...] = fld(())
    min_protocol_version: Literal["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"] | None = fld(None)
    max_protocol_version: Literal["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"] | None = fld(None)
    cipher_suites: tuple[str, ...] = fld(())
    insecure_skip_verify: bool | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class Server(Node):
    port: GatewayPort | None = fld(None, required=True)
    bind: str = fld("")
    hosts: tuple[str, ...] = fld((), required=True)
    tls: ServerTLSSettings | None = fld(None)
    default_endpoint: str = fld("")
    name: str = fld("")


@dataclass(frozen=True, kw_only=True)
class GatewaySpec(Node):
    servers: tuple[Server, ...] = fld(())
    selector: dict[str, str] = fld({})


# ---------------------------------------------------------------- ServiceEntry / WorkloadEntry

@dataclass(frozen=True, kw_only=True)
class SEPort(Node):
    number: int = fld(0, required=True, check=_port)
    protocol: str = fld("")
    name: str = fld("")
    target_port: int | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class WorkloadEntrySpec(Node):
    address: str = fld("")
    ports: dict[str, int] = fld({})
    labels: dict[str, str] = fld({})
    network: str = fld("")
    locality: str = fld("")
    weight: int | None = fld(None)
    service_account: str = fld("")


@dataclass(frozen=True, kw_only=True)
class WorkloadSelector(Node):
    labels: dict[str, str] = fld({})


@dataclass(frozen=True, kw_only=True)
class ServiceEntrySpec(Node):
    hosts: tuple[str, ...] = fld((), required=True)
    addresses: tuple[str, ...] = fld(())
    ports: tuple[SEPort, ...] = fld(())
    location: Literal["MESH_EXTERNAL", "MESH_INTERNAL"] | None = fld(None)
    resolution: Literal["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"] | None = fld(None)
    endpoints: tuple[WorkloadEntrySpec, ...] = fld(())
    workload_selector: WorkloadSelector | None = fld(None)
    export_to: tuple[str, ...] = fld(())
    subject_alt_names: tuple[str, ...] = fld(())


# ---------------------------------------------------------------- Sidecar

@dataclass(frozen=True, kw_only=True)
class SidecarPort(Node):
    number: int = fld(0, check=_port)
    protocol: str = fld("")
    name: str = fld("")
    target_port: int | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class IstioIngressListener(Node):
    port: SidecarPort | None = fld(None, required=True)
    bind: str = fld("")
    capture_mode: Literal["DEFAULT", "IPTABLES", "NONE"] | None = fld(None)
    default_endpoint: str = fld("")
    tls: ServerTLSSettings | None = fld(None)
    connection_pool: ConnectionPoolSettings | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class IstioEgressListener(Node):
    port: SidecarPort | None = fld(None)
    bind: str = fld("")
    capture_mode: Literal["DEFAULT", "IPTABLES", "NONE"] | None = fld(None)
    hosts: tuple[str, ...] = fld((), required=True)


@dataclass(frozen=True, kw_only=True)
class OutboundTrafficPolicy(Node):
    mode: Literal["REGISTRY_ONLY", "ALLOW_ANY", "ALLOW_ANY_DYNAMIC_DNS"] = fld("REGISTRY_ONLY")
    egress_proxy: Destination | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class SidecarSpec(Node):
    workload_selector: WorkloadSelector | None = fld(None)
    ingress: tuple[IstioIngressListener, ...] = fld(())
    egress: tuple[IstioEgressListener, ...] = fld(())
    inbound_connection_pool: ConnectionPoolSettings | None = fld(None)
    outbound_traffic_policy: OutboundTrafficPolicy | None = fld(None)


# ---------------------------------------------------------------- top-level objects

@dataclass(frozen=True, kw_only=True)
class Resource(Node):
    api_version: str = fld("")
    kind: str = fld("")
    metadata: ObjectMeta = fld(None)
    status: Any = fld(None)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.metadata.namespace, self.metadata.name)

    @property
    def ref(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"

    @property
    def spec_missing(self) -> bool:
        """Written without `spec`. Istio requires one, so only a rejected object (snapshot.rejected)
        lacks it: the kinds type `spec` as present, which holds for every object the snapshot keeps."""
        return getattr(self, "spec", None) is None


@dataclass(frozen=True, kw_only=True)
class VirtualService(Resource):
    spec: VirtualServiceSpec = fld(None)


@dataclass(frozen=True, kw_only=True)
class DestinationRule(Resource):
    spec: DestinationRuleSpec = fld(None)


@dataclass(frozen=True, kw_only=True)
class Gateway(Resource):
    spec: GatewaySpec = fld(None)


@dataclass(frozen=True, kw_only=True)
class ServiceEntry(Resource):
    spec: ServiceEntrySpec = fld(None)

    @property
    def allocated_addresses(self) -> tuple[str, ...]:
        """`status.addresses`: the addresses istiod allocated to an entry written without any
        (IP auto-allocation); read as written, the status being istiod's."""
        st = self.status
        found = st.get("addresses") if isinstance(st, dict) else None
        if not isinstance(found, list):
            return ()
        return tuple(a["value"] for a in found if isinstance(a, dict) and isinstance(a.get("value"), str))


@dataclass(frozen=True, kw_only=True)
class Sidecar(Resource):
    spec: SidecarSpec = fld(None)


@dataclass(frozen=True, kw_only=True)
class WorkloadEntry(Resource):
    spec: WorkloadEntrySpec = fld(None)


ISTIO_KINDS: dict[str, type[Resource]] = {
    "VirtualService": VirtualService,
    "DestinationRule": DestinationRule,
    "Gateway": Gateway,
    "ServiceEntry": ServiceEntry,
    "Sidecar": Sidecar,
    "WorkloadEntry": WorkloadEntry,
}
ISTIO_VERSIONS = ("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")
