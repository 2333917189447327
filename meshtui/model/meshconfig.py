"""MeshConfig: the mesh-wide settings istiod reads from the `istio` ConfigMap (its `mesh` key).

Only the fields that change routing, scope or findings are modelled; the rest of a real
MeshConfig is accepted and ignored. Defaults are Istio's (pkg/config/mesh/mesh.go,
DefaultMeshConfig). `MeshConfig.origin` says where the values were read, so a trace can say
"mesh-wide REGISTRY_ONLY from MeshConfig, istio-system/istio" and point at the line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from meshtui.model.istio import (
    ConnectionPoolSettings,
    HTTPRetry,
    LocalityLoadBalancerSetting,
    OutlierDetection,
)
from meshtui.model.schema import Ctx, Duration, Node, fld, parse_into
from meshtui.model.source import ERROR, Diagnostic, Source
from meshtui.model.yamlpos import position

# ------------------------------------------------------------------ the YAML, as written


@dataclass(frozen=True, kw_only=True)
class MeshOutboundTrafficPolicy(Node):
    mode: Literal["REGISTRY_ONLY", "ALLOW_ANY", "ALLOW_ANY_DYNAMIC_DNS"] = fld("ALLOW_ANY")


@dataclass(frozen=True, kw_only=True)
class MeshDefaultTrafficPolicy(Node):
    connection_pool: ConnectionPoolSettings | None = fld(None)
    outlier_detection: OutlierDetection | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class SelectorRequirement(Node):
    key: str = fld("", required=True)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = fld("In", required=True)
    values: tuple[str, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class NamespaceSelector(Node):
    match_labels: dict[str, str] = fld({})
    match_expressions: tuple[SelectorRequirement, ...] = fld(())

    def matches(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for e in self.match_expressions:
            has = e.key in labels
            if e.operator == "In" and not (has and labels[e.key] in e.values):
                return False
            if e.operator == "NotIn" and has and labels[e.key] in e.values:
                return False
            if e.operator == "Exists" and not has:
                return False
            if e.operator == "DoesNotExist" and has:
                return False
        return True


@dataclass(frozen=True, kw_only=True)
class ServiceSettingsEntry(Node):
    cluster_local: bool | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ServiceSettings(Node):
    settings: ServiceSettingsEntry | None = fld(None)
    hosts: tuple[str, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class ProxyConfigDefaults(Node):
    """`defaultConfig`: the proxies' defaults; only the metadata istiod's features read."""

    proxy_metadata: dict[str, str] = fld({})


@dataclass(frozen=True, kw_only=True)
class MeshConfigSpec(Node):
    """The parsed `mesh` document: only the routing fields; unknown fields are ignored."""

    root_namespace: str | None = fld(None)
    outbound_traffic_policy: MeshOutboundTrafficPolicy | None = fld(None)
    default_service_export_to: tuple[str, ...] | None = fld(None)
    default_virtual_service_export_to: tuple[str, ...] | None = fld(None)
    default_destination_rule_export_to: tuple[str, ...] | None = fld(None)
    default_http_retry_policy: HTTPRetry | None = fld(None)
    enable_auto_mtls: bool | None = fld(None)
    trust_domain: str | None = fld(None)
    trust_domain_aliases: tuple[str, ...] = fld(())
    locality_lb_setting: LocalityLoadBalancerSetting | None = fld(None)
    connect_timeout: Duration | None = fld(None)
    default_traffic_policy: MeshDefaultTrafficPolicy | None = fld(None)
    discovery_selectors: tuple[NamespaceSelector, ...] | None = fld(None)
    service_settings: tuple[ServiceSettings, ...] = fld(())
    default_config: ProxyConfigDefaults | None = fld(None)


# ------------------------------------------------------------------ the resolved values


@dataclass(frozen=True)
class MeshOrigin:
    """Where a MeshConfig was read: the `istio` ConfigMap of a namespace, or a file. `lines` maps a
    field path (`outboundTrafficPolicy.mode`) to its line in `file`."""

    kind: str  # "ConfigMap" | "MeshConfig" (a plain MeshConfig file)
    namespace: str = ""
    name: str = ""
    file: str = ""
    lines: tuple[tuple[str, int], ...] = ()

    def label(self) -> str:
        if self.kind == "ConfigMap":
            return f"{self.namespace}/{self.name}"
        return self.file or self.name

    def line(self, path: str) -> int | None:
        best = None
        for p, ln in self.lines:
            if p == path:
                return ln
            if path.startswith(p + ".") and best is None:
                best = ln
        return best


@dataclass(frozen=True)
class MeshConfig:
    """The MeshConfig values that change routing, scope or findings, at Istio's defaults.
    `explicit` names the fields the source set (the rest are defaults)."""

    root_namespace: str = "istio-system"
    domain_suffix: str = "cluster.local"
    outbound_traffic_policy: str = "ALLOW_ANY"  # ALLOW_ANY | REGISTRY_ONLY | ALLOW_ANY_DYNAMIC_DNS
    default_service_export_to: tuple[str, ...] = ("*",)
    default_virtual_service_export_to: tuple[str, ...] = ("*",)
    default_destination_rule_export_to: tuple[str, ...] = ("*",)
    enable_auto_mtls: bool = True
    # the SPIFFE trust domain of workload identities (spiffe://TRUST_DOMAIN/ns/NS/sa/SA); the
    # aliases are trust domains the server sidecars also accept and policies' principals widen to
    trust_domain: str = "cluster.local"
    trust_domain_aliases: tuple[str, ...] = ()
    default_http_retry_policy: HTTPRetry | None = None
    # Istio's default enables locality load balancing (failover needs outlierDetection to act)
    locality_lb_setting: LocalityLoadBalancerSetting | None = field(
        default_factory=lambda: LocalityLoadBalancerSetting(enabled=True))
    connect_timeout: float = 10.0
    default_traffic_policy: MeshDefaultTrafficPolicy | None = None
    discovery_selectors: tuple[NamespaceSelector, ...] = ()
    cluster_local_hosts: tuple[str, ...] = ()  # serviceSettings clusterLocal: true
    cluster_global_hosts: tuple[str, ...] = ()  # serviceSettings clusterLocal: false (overrides Istio's defaults)
    # defaultConfig.proxyMetadata, as (name, value) pairs: the environment every proxy starts with
    proxy_metadata: tuple[tuple[str, str], ...] = ()
    origin: MeshOrigin | None = None
    explicit: frozenset[str] = frozenset()

    @property
    def default_export_to(self) -> tuple[str, ...]:
        """Services' default (kept for callers that predate the per-kind defaults)."""
        return self.default_service_export_to

    @property
    def registry_only(self) -> bool:
        return self.outbound_traffic_policy == "REGISTRY_ONLY"

    def is_set(self, name: str) -> bool:
        return name in self.explicit

    def where(self, name: str) -> str:
        """'MeshConfig, istio-system/istio' when the field was read from a source, else
        "Istio's MeshConfig default"."""
        if self.origin is not None and name in self.explicit:
            return f"MeshConfig, {self.origin.label()}"
        return "Istio's MeshConfig default"

    def source_of(self, path: str) -> Source:
        if self.origin is None:
            return Source()
        return Source(self.origin.file, self.origin.line(path), None, path)

    def cluster_local(self, host: str) -> bool:
        """Whether a host keeps to the proxy's own cluster (pilot/pkg/model/cluster_local.go):
        serviceSettings first, then Istio's defaults, kube-system and kubernetes.default."""
        def hit(patterns: tuple[str, ...]) -> bool:
            return any(host == p or (p.startswith("*") and host.endswith(p[1:])) for p in patterns)

        if hit(self.cluster_local_hosts):
            return True
        if hit(self.cluster_global_hosts):
            return False
        return hit((f"*.kube-system.svc.{self.domain_suffix}", f"kubernetes.default.svc.{self.domain_suffix}"))

    def proxy_env(self, name: str) -> str:
        return dict(self.proxy_metadata).get(name, "")

    @property
    def dns_auto_allocate(self) -> bool:
        """The proxies' DNS proxy captures queries and gives ServiceEntries without addresses an
        automatic one (ISTIO_META_DNS_CAPTURE with ISTIO_META_DNS_AUTO_ALLOCATE, or
        PILOT_ENABLE_IP_AUTOALLOCATE, as istioctl's ServiceEntry analyzer reads them)."""
        return self.proxy_env("ISTIO_META_DNS_CAPTURE") == "true" and (
            self.proxy_env("ISTIO_META_DNS_AUTO_ALLOCATE") == "true"
            or self.proxy_env("PILOT_ENABLE_IP_AUTOALLOCATE") == "true")

    def namespace_discovered(self, labels: dict[str, str]) -> bool:
        """discoverySelectors: empty selects every namespace; otherwise any selector that matches."""
        return not self.discovery_selectors or any(s.matches(labels) for s in self.discovery_selectors)


DEFAULT_MESH = MeshConfig()

_FIELDS = {
    "rootNamespace": "root_namespace",
    "outboundTrafficPolicy": "outbound_traffic_policy",
    "defaultServiceExportTo": "default_service_export_to",
    "defaultVirtualServiceExportTo": "default_virtual_service_export_to",
    "defaultDestinationRuleExportTo": "default_destination_rule_export_to",
    "defaultHttpRetryPolicy": "default_http_retry_policy",
    "enableAutoMtls": "enable_auto_mtls",
    "trustDomain": "trust_domain",
    "trustDomainAliases": "trust_domain_aliases",
    "localityLbSetting": "locality_lb_setting",
    "connectTimeout": "connect_timeout",
    "defaultTrafficPolicy": "default_traffic_policy",
    "discoverySelectors": "discovery_selectors",
    "serviceSettings": "cluster_local_hosts",
    "defaultConfig": "proxy_metadata",
}


def _lines(data: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    if not isinstance(data, dict) or depth > 3:
        return out
    for k, v in data.items():
        line, _ = position(data, k)
        path = f"{prefix}{k}"
        if line is not None:
            out.append((path, line))
        out.extend(_lines(v, path + ".", depth + 1))
    return out


def mesh_from_data(data: Any, file: str, origin: MeshOrigin, diagnostics: list[Diagnostic],
                   domain_suffix: str = "cluster.local") -> MeshConfig:
    """A MeshConfig from the parsed `mesh` document. Bad values are reported (file, line, field)
    and left at Istio's defaults; fields meshtui does not model are ignored."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        diagnostics.append(Diagnostic(ERROR, "MeshConfig must be a mapping of fields", Source(file, origin.line("") or None),
                                      "MeshConfig", origin.namespace, origin.name))
        return MeshConfig(domain_suffix=domain_suffix, origin=origin)
    ctx = Ctx(file, diagnostics, strict=False)
    ctx.kind, ctx.namespace, ctx.name = "MeshConfig", origin.namespace, origin.name or origin.file
    spec: MeshConfigSpec = parse_into(MeshConfigSpec, data, "", ctx)
    explicit = frozenset(attr for yname, attr in _FIELDS.items() if data.get(yname) is not None)
    origin = MeshOrigin(origin.kind, origin.namespace, origin.name, origin.file, tuple(_lines(data)))
    d = MeshConfig()
    cluster_local = tuple(h for s in spec.service_settings if s.settings is not None and s.settings.cluster_local
                          for h in s.hosts)
    cluster_global = tuple(h for s in spec.service_settings if s.settings is not None and s.settings.cluster_local is False
                           for h in s.hosts)
    return MeshConfig(
        root_namespace=spec.root_namespace or d.root_namespace,
        domain_suffix=domain_suffix,
        outbound_traffic_policy=spec.outbound_traffic_policy.mode if spec.outbound_traffic_policy else d.outbound_traffic_policy,
        default_service_export_to=spec.default_service_export_to or d.default_service_export_to,
        default_virtual_service_export_to=spec.default_virtual_service_export_to or d.default_virtual_service_export_to,
        default_destination_rule_export_to=spec.default_destination_rule_export_to or d.default_destination_rule_export_to,
        enable_auto_mtls=d.enable_auto_mtls if spec.enable_auto_mtls is None else spec.enable_auto_mtls,
        trust_domain=spec.trust_domain or d.trust_domain,
        trust_domain_aliases=spec.trust_domain_aliases,
        default_http_retry_policy=spec.default_http_retry_policy,
        locality_lb_setting=spec.locality_lb_setting if spec.locality_lb_setting is not None else d.locality_lb_setting,
        connect_timeout=spec.connect_timeout.seconds if spec.connect_timeout is not None else d.connect_timeout,
        default_traffic_policy=spec.default_traffic_policy,
        discovery_selectors=spec.discovery_selectors or (),
        cluster_local_hosts=cluster_local,
        cluster_global_hosts=cluster_global,
        proxy_metadata=tuple(sorted(spec.default_config.proxy_metadata.items())) if spec.default_config else (),
        origin=origin,
        explicit=explicit,
    )
