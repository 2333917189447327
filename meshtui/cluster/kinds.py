"""The kinds cluster mode reads, and where each lives in the Kubernetes API.

Secrets are deliberately absent: meshtui never asks for them, so its ClusterRole never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

ISTIO_GROUP = "networking.istio.io"
# Preference order when several are served: v1 is the stable API, older ones are fallbacks.
ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """One listable resource at one resolved API version."""

    kind: str
    plural: str
    group: str  # "" for the core group
    version: str
    namespaced: bool = True

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
        return ResourceKind(self.kind, self.plural, self.group, version, self.namespaced)


# Istio kinds: the version is a placeholder until discovery picks one.
ISTIO_KINDS: tuple[ResourceKind, ...] = (
    ResourceKind("VirtualService", "virtualservices", ISTIO_GROUP, "v1"),
    ResourceKind("DestinationRule", "destinationrules", ISTIO_GROUP, "v1"),
    ResourceKind("Gateway", "gateways", ISTIO_GROUP, "v1"),
    ResourceKind("ServiceEntry", "serviceentries", ISTIO_GROUP, "v1"),
    ResourceKind("Sidecar", "sidecars", ISTIO_GROUP, "v1"),
    ResourceKind("WorkloadEntry", "workloadentries", ISTIO_GROUP, "v1"),
)

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
KIND_ORDER: dict[str, int] = {
    k.kind: i for i, k in enumerate((NAMESPACE, *ISTIO_KINDS, *KUBE_KINDS[1:]))
}

FORBIDDEN_KINDS = frozenset({"Secret"})


def kind_by_name(kind: str) -> ResourceKind | None:
    for k in (*ISTIO_KINDS, *KUBE_KINDS):
        if k.kind == kind:
            return k
    return None
