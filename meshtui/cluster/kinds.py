"""The kinds cluster mode reads, and where each lives in the Kubernetes API.

Secrets are deliberately absent: meshtui never asks for them, so its ClusterRole never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from meshtui.model.gatewayapi import GROUP as GATEWAY_GROUP
from meshtui.model.gatewayapi import MESHTUI_KIND

ISTIO_GROUP = "networking.istio.io"
SECURITY_GROUP = "security.istio.io"
# Preference order when several are served: v1 is the stable API, older ones are fallbacks.
ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")
SECURITY_VERSIONS = ("v1", "v1beta1")


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """One listable resource at one resolved API version."""

    kind: str
    plural: str
    group: str  # "" for the core group
    version: str
    namespaced: bool = True
    # the versions this kind is read at, preferred first; () for built-in kinds (always `version`)
    versions: tuple[str, ...] = ()
    # the kind meshtui keys these objects under when it is not `kind` (the Gateway API's
    # Gateway is KubernetesGateway, apart from Istio's Gateway)
    key_kind: str = ""

    @property
    def model_kind(self) -> str:
        return self.key_kind or self.kind

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """The name kubectl and RBAC use: `pods`, `virtualservices.networking.istio.io`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None) -> str:
        """The list/watch path: cluster-wide when namespace is None (or the kind is cluster-scoped)."""
        if namespace and self.namespaced:
            return f"{self.base_path()}/namespaces/{namespace}/{self.plural}"
        return f"{self.base_path()}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"

    def at_version(self, version: str) -> ResourceKind:
        return replace(self, version=version)


def _istio(kind: str, plural: str) -> ResourceKind:
    return ResourceKind(kind, plural, ISTIO_GROUP, "v1", versions=ISTIO_VERSIONS)


# Istio kinds: the version is a placeholder until discovery picks one.
ISTIO_KINDS: tuple[ResourceKind, ...] = (
    _istio("VirtualService", "virtualservices"),
    _istio("DestinationRule", "destinationrules"),
    _istio("Gateway", "gateways"),
    _istio("ServiceEntry", "serviceentries"),
    _istio("Sidecar", "sidecars"),
    _istio("WorkloadEntry", "workloadentries"),
)

# The server side of a request (PeerAuthentication, AuthorizationPolicy, RequestAuthentication).
SECURITY_KINDS: tuple[ResourceKind, ...] = tuple(
    ResourceKind(kind, plural, SECURITY_GROUP, "v1", versions=SECURITY_VERSIONS)
    for kind, plural in (("PeerAuthentication", "peerauthentications"),
                         ("AuthorizationPolicy", "authorizationpolicies"),
                         ("RequestAuthentication", "requestauthentications"))
)


def _gw(kind: str, plural: str, version: str = "v1", namespaced: bool = True) -> ResourceKind:
    return ResourceKind(kind, plural, GATEWAY_GROUP, version, namespaced, versions=(version,),
                        key_kind=MESHTUI_KIND.get(kind, ""))


# The Gateway API at the one version istiod watches each kind at (pkg/config/schema/metadata.yaml:
# v1, and ReferenceGrant at v1beta1). istiod does not fall back to an older version a CRD still
# serves (its versionAliases are for reading files), so neither does meshtui: a kind served only
# at another version is read by neither, and the diagnostics say so.
GATEWAY_API_KINDS: tuple[ResourceKind, ...] = (
    _gw("GatewayClass", "gatewayclasses", namespaced=False),
    _gw("Gateway", "gateways"),
    _gw("HTTPRoute", "httproutes"),
    _gw("GRPCRoute", "grpcroutes"),
    _gw("TCPRoute", "tcproutes"),
    _gw("TLSRoute", "tlsroutes"),
    _gw("ReferenceGrant", "referencegrants", "v1beta1"),
)

# The CRD groups besides Istio's networking API: read when served, skipped with a note when not.
OPTIONAL_KINDS: tuple[ResourceKind, ...] = (*SECURITY_KINDS, *GATEWAY_API_KINDS)
OPTIONAL_GROUPS: tuple[str, ...] = (SECURITY_GROUP, GATEWAY_GROUP)
GROUP_TITLES = {SECURITY_GROUP: "Istio security API", GATEWAY_GROUP: "Kubernetes Gateway API"}

NAMESPACE = ResourceKind("Namespace", "namespaces", "", "v1", namespaced=False)

KUBE_KINDS: tuple[ResourceKind, ...] = (
    NAMESPACE,
    ResourceKind("Service", "services", "", "v1"),
    ResourceKind("EndpointSlice", "endpointslices", "discovery.k8s.io", "v1"),
    ResourceKind("Pod", "pods", "", "v1"),
    ResourceKind("Deployment", "deployments", "apps", "v1"),
    ResourceKind("StatefulSet", "statefulsets", "apps", "v1"),
)

# The order docs are handed to the loader in: namespaces and Istio config first, as a dump would.
# Keyed by model kind (KubernetesGateway apart from Istio's Gateway).
KIND_ORDER: dict[str, int] = {
    k.model_kind: i for i, k in enumerate((NAMESPACE, *ISTIO_KINDS, *OPTIONAL_KINDS, *KUBE_KINDS[1:]))
}

FORBIDDEN_KINDS = frozenset({"Secret"})


def kind_by_name(kind: str) -> ResourceKind | None:
    for k in (*ISTIO_KINDS, *KUBE_KINDS, *OPTIONAL_KINDS):
        if k.kind == kind or k.model_kind == kind:
            return k
    return None
