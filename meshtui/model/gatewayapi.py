"""gateway.networking.k8s.io resources (the Kubernetes Gateway API) as typed models: GatewayClass,
Gateway, HTTPRoute, GRPCRoute, TCPRoute, TLSRoute and ReferenceGrant, at the versions istiod
reads (v1; v1beta1 and v1alpha2 where a kind still is or was served there).

The Gateway API's Gateway shares its kind name with Istio's networking Gateway; meshtui keys it
as `KubernetesGateway` (istiod's own name for it, gvk.KubernetesGateway) so the two never
collide in the snapshot. Enumerations are checked as the CRD schema does (a bad value is a
file:line:field error); what istiod itself decides about a valid object (conditions, reasons)
is the converter's (meshtui/model/gatewayapi_convert.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from meshtui.model.istio import Resource
from meshtui.model.meshconfig import NamespaceSelector
from meshtui.model.schema import Duration, Node, fld

GROUP = "gateway.networking.k8s.io"
KUBERNETES_GATEWAY = "KubernetesGateway"  # meshtui's kind for gateway.networking.k8s.io Gateway


def _port(v: int) -> str | None:
    return None if 0 < v <= 65535 else f"port must be between 1 and 65535, got {v}"


def _weight(v: int) -> str | None:
    return None if 0 <= v <= 1_000_000 else f"weight must be between 0 and 1000000, got {v}"


def _status_code(v: int) -> str | None:
    return None if v in (301, 302, 303, 307, 308) else f"statusCode must be one of 301, 302, 303, 307, 308, got {v}"


# ---------------------------------------------------------------- shared

@dataclass(frozen=True, kw_only=True)
class ParentReference(Node):
    group: str | None = fld(None)  # unset: gateway.networking.k8s.io
    kind: str | None = fld(None)  # unset: Gateway
    namespace: str | None = fld(None)  # unset: the route's namespace
    name: str = fld("", required=True)
    section_name: str | None = fld(None)
    port: int | None = fld(None, check=_port)


@dataclass(frozen=True, kw_only=True)
class BackendRef(Node):
    group: str | None = fld(None)  # unset: core ("")
    kind: str | None = fld(None)  # unset: Service
    name: str = fld("", required=True)
    namespace: str | None = fld(None)
    port: int | None = fld(None, check=_port)
    weight: int | None = fld(None, check=_weight)  # unset: 1
    filters: tuple[HTTPRouteFilter, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class HTTPHeader(Node):
    name: str = fld("", required=True)
    value: str = fld("")


@dataclass(frozen=True, kw_only=True)
class HeaderFilter(Node):
    set: tuple[HTTPHeader, ...] = fld(())
    add: tuple[HTTPHeader, ...] = fld(())
    remove: tuple[str, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class Fraction(Node):
    numerator: int = fld(0)
    denominator: int = fld(100)


@dataclass(frozen=True, kw_only=True)
class MirrorFilter(Node):
    backend_ref: BackendRef | None = fld(None, required=True)
    percent: int | None = fld(None)
    fraction: Fraction | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class PathModifier(Node):
    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"] = fld("ReplaceFullPath", required=True)
    replace_full_path: str | None = fld(None)
    replace_prefix_match: str | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class RedirectFilter(Node):
    scheme: Literal["http", "https"] | None = fld(None)
    hostname: str | None = fld(None)
    path: PathModifier | None = fld(None)
    port: int | None = fld(None, check=_port)
    status_code: int | None = fld(None, check=_status_code)


@dataclass(frozen=True, kw_only=True)
class RewriteFilter(Node):
    hostname: str | None = fld(None)
    path: PathModifier | None = fld(None)


HTTPFilterType = Literal["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
                         "URLRewrite", "ExtensionRef", "CORS", "ExternalAuth"]


@dataclass(frozen=True, kw_only=True)
class HTTPRouteFilter(Node):
    type: HTTPFilterType = fld("RequestHeaderModifier", required=True)
    request_header_modifier: HeaderFilter | None = fld(None)
    response_header_modifier: HeaderFilter | None = fld(None)
    request_mirror: MirrorFilter | None = fld(None)
    request_redirect: RedirectFilter | None = fld(None)
    url_rewrite: RewriteFilter | None = fld(None, name="urlRewrite")
    extension_ref: Any = fld(None)
    cors: Any = fld(None)
    external_auth: Any = fld(None)


@dataclass(frozen=True, kw_only=True)
class RouteStatus(Node):
    """Only read to show what the cluster reported; meshtui computes conditions itself."""

    parents: tuple[Any, ...] = fld(())


# ---------------------------------------------------------------- GatewayClass

@dataclass(frozen=True, kw_only=True)
class GatewayClassSpec(Node):
    controller_name: str = fld("", required=True)
    parameters_ref: Any = fld(None)
    description: str = fld("")


@dataclass(frozen=True, kw_only=True)
class GatewayClass(Resource):
    spec: GatewayClassSpec = fld(None)


# ---------------------------------------------------------------- Gateway

@dataclass(frozen=True, kw_only=True)
class SecretRef(Node):
    group: str | None = fld(None)
    kind: str | None = fld(None)
    name: str = fld("", required=True)
    namespace: str | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ListenerTLS(Node):
    mode: Literal["Terminate", "Passthrough"] = fld("Terminate")
    certificate_refs: tuple[SecretRef, ...] = fld(())
    options: dict[str, str] = fld({})
    frontend_validation: Any = fld(None)


@dataclass(frozen=True, kw_only=True)
class RouteNamespaces(Node):
    from_: Literal["All", "Same", "Selector", "None"] = fld("Same", name="from")
    selector: NamespaceSelector | None = fld(None)  # a Kubernetes label selector over namespaces


@dataclass(frozen=True, kw_only=True)
class RouteGroupKind(Node):
    group: str | None = fld(None)
    kind: str = fld("", required=True)


@dataclass(frozen=True, kw_only=True)
class AllowedRoutes(Node):
    namespaces: RouteNamespaces | None = fld(None)
    kinds: tuple[RouteGroupKind, ...] = fld(())


ListenerProtocol = str  # HTTP, HTTPS, TLS, TCP, UDP or a domain-prefixed custom protocol


@dataclass(frozen=True, kw_only=True)
class Listener(Node):
    name: str = fld("", required=True)
    hostname: str | None = fld(None)
    port: int = fld(0, required=True, check=_port)
    protocol: ListenerProtocol = fld("", required=True)
    tls: ListenerTLS | None = fld(None)
    allowed_routes: AllowedRoutes | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class GatewayAddress(Node):
    type: str = fld("IPAddress")
    value: str = fld("", required=True)


@dataclass(frozen=True, kw_only=True)
class GatewayInfrastructure(Node):
    labels: dict[str, str] = fld({})
    annotations: dict[str, str] = fld({})
    parameters_ref: Any = fld(None)


@dataclass(frozen=True, kw_only=True)
class GatewaySpec(Node):
    gateway_class_name: str = fld("", required=True)
    listeners: tuple[Listener, ...] = fld(())
    addresses: tuple[GatewayAddress, ...] = fld(())
    infrastructure: GatewayInfrastructure | None = fld(None)
    tls: Any = fld(None)
    allowed_listeners: Any = fld(None)
    default_scope: Any = fld(None)


@dataclass(frozen=True, kw_only=True)
class KubernetesGateway(Resource):
    spec: GatewaySpec = fld(None)


# ---------------------------------------------------------------- HTTPRoute

@dataclass(frozen=True, kw_only=True)
class PathMatch(Node):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = fld("PathPrefix")
    value: str = fld("/")


@dataclass(frozen=True, kw_only=True)
class HeaderMatch(Node):
    type: Literal["Exact", "RegularExpression"] = fld("Exact")
    name: str = fld("", required=True)
    value: str = fld("", required=True)


@dataclass(frozen=True, kw_only=True)
class HTTPRouteMatch(Node):
    path: PathMatch | None = fld(None)  # unset: PathPrefix /
    headers: tuple[HeaderMatch, ...] = fld(())
    query_params: tuple[HeaderMatch, ...] = fld(())
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPRouteTimeouts(Node):
    request: Duration | None = fld(None)
    backend_request: Duration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPRouteRetry(Node):
    codes: tuple[int, ...] = fld(())
    attempts: int | None = fld(None)
    backoff: Duration | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPRouteRule(Node):
    name: str | None = fld(None)
    matches: tuple[HTTPRouteMatch, ...] = fld(())
    filters: tuple[HTTPRouteFilter, ...] = fld(())
    backend_refs: tuple[BackendRef, ...] = fld(())
    timeouts: HTTPRouteTimeouts | None = fld(None)
    retry: HTTPRouteRetry | None = fld(None)
    session_persistence: Any = fld(None)


@dataclass(frozen=True, kw_only=True)
class HTTPRouteSpec(Node):
    parent_refs: tuple[ParentReference, ...] = fld(())
    hostnames: tuple[str, ...] = fld(())
    rules: tuple[HTTPRouteRule, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class HTTPRoute(Resource):
    spec: HTTPRouteSpec = fld(None)


# ---------------------------------------------------------------- GRPCRoute

@dataclass(frozen=True, kw_only=True)
class GRPCMethodMatch(Node):
    type: Literal["Exact", "RegularExpression"] = fld("Exact")
    service: str | None = fld(None)
    method: str | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class GRPCRouteMatch(Node):
    method: GRPCMethodMatch | None = fld(None)
    headers: tuple[HeaderMatch, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class GRPCRouteRule(Node):
    name: str | None = fld(None)
    matches: tuple[GRPCRouteMatch, ...] = fld(())
    filters: tuple[HTTPRouteFilter, ...] = fld(())
    backend_refs: tuple[BackendRef, ...] = fld(())
    session_persistence: Any = fld(None)


@dataclass(frozen=True, kw_only=True)
class GRPCRouteSpec(Node):
    parent_refs: tuple[ParentReference, ...] = fld(())
    hostnames: tuple[str, ...] = fld(())
    rules: tuple[GRPCRouteRule, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class GRPCRoute(Resource):
    spec: GRPCRouteSpec = fld(None)


# ---------------------------------------------------------------- TCPRoute, TLSRoute

@dataclass(frozen=True, kw_only=True)
class L4RouteRule(Node):
    name: str | None = fld(None)
    backend_refs: tuple[BackendRef, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class TCPRouteSpec(Node):
    parent_refs: tuple[ParentReference, ...] = fld(())
    rules: tuple[L4RouteRule, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class TCPRoute(Resource):
    spec: TCPRouteSpec = fld(None)


@dataclass(frozen=True, kw_only=True)
class TLSRouteSpec(Node):
    parent_refs: tuple[ParentReference, ...] = fld(())
    hostnames: tuple[str, ...] = fld(())
    rules: tuple[L4RouteRule, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class TLSRoute(Resource):
    spec: TLSRouteSpec = fld(None)


# ---------------------------------------------------------------- ReferenceGrant

@dataclass(frozen=True, kw_only=True)
class GrantFrom(Node):
    group: str = fld("", required=False)
    kind: str = fld("", required=True)
    namespace: str = fld("", required=True)


@dataclass(frozen=True, kw_only=True)
class GrantTo(Node):
    group: str = fld("")
    kind: str = fld("", required=True)
    name: str | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ReferenceGrantSpec(Node):
    from_: tuple[GrantFrom, ...] = fld((), name="from")
    to: tuple[GrantTo, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class ReferenceGrant(Resource):
    spec: ReferenceGrantSpec = fld(None)


AnyRoute = HTTPRoute | GRPCRoute | TCPRoute | TLSRoute

# kind as written -> (model, the apiVersions istiod reads it at)
_V1_ALL = (f"{GROUP}/v1", f"{GROUP}/v1beta1", f"{GROUP}/v1alpha2")
_V1_ALPHA = (f"{GROUP}/v1", f"{GROUP}/v1alpha2")
GATEWAY_API_KINDS: dict[str, tuple[type[Resource], tuple[str, ...]]] = {
    "GatewayClass": (GatewayClass, _V1_ALL),
    "Gateway": (KubernetesGateway, _V1_ALL),
    "HTTPRoute": (HTTPRoute, _V1_ALL),
    "GRPCRoute": (GRPCRoute, _V1_ALPHA),
    "TCPRoute": (TCPRoute, _V1_ALPHA),
    "TLSRoute": (TLSRoute, _V1_ALPHA),
    "ReferenceGrant": (ReferenceGrant, (f"{GROUP}/v1beta1", f"{GROUP}/v1alpha2", f"{GROUP}/v1")),
}
# the kind meshtui keys each model under (only Gateway differs from what is written)
MESHTUI_KIND = {"Gateway": KUBERNETES_GATEWAY}


def model_kind(api_version: object, kind: object) -> str:
    """The kind meshtui keys an object under: as written, except the Gateway API's Gateway."""
    text = str(kind or "")
    group = str(api_version or "").split("/", 1)[0] if "/" in str(api_version or "") else ""
    return MESHTUI_KIND.get(text, text) if group == GROUP else text


def gateway_api_class(api_version: str, kind: str) -> type[Resource] | None:
    spec = GATEWAY_API_KINDS.get(kind)
    if spec is None or api_version not in spec[1]:
        return None
    return spec[0]
