"""Several clusters as one mesh, the way Istio's multi-primary reads them: every istiod watches the
Services and endpoints of every cluster, so a Service of the same name and namespace is one
service whose endpoints are the union over the clusters, each endpoint labelled with the cluster
and network it lives in. Istio configuration (VirtualServices, DestinationRules, ...) is each
cluster's own; meshtui keeps the first context's object and reports a different copy elsewhere.

Hosts that MeshConfig serviceSettings mark clusterLocal (and kube-system's, as Istio does by
default) keep only the endpoints of the proxy's own cluster: translate filters them per proxy."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from meshtui.model.istio import Resource
from meshtui.model.k8s import Pod
from meshtui.model.snapshot import Endpoint, MeshSnapshot, PodIndex, RegistryService, Workload
from meshtui.model.source import WARNING, Diagnostic, Source

NETWORK_LABEL = "topology.istio.io/network"
CLUSTER_LABEL = "topology.istio.io/cluster"


@dataclass(frozen=True)
class ClusterPart:
    """One cluster's snapshot and how the mesh names it."""

    name: str  # the cluster ID: the kubeconfig context
    snapshot: MeshSnapshot
    network: str = ""  # the istio-system namespace's topology.istio.io/network label, if any
    file: str = ""  # "cluster:<context>", for diagnostics


def cluster_network(snapshot: MeshSnapshot) -> str:
    """The cluster's default network: the label Istio reads on its system namespace."""
    for ns in snapshot.namespaces:
        if ns.name == snapshot.mesh.root_namespace:
            return ns.metadata.labels.get(NETWORK_LABEL, "")
    return ""


def _label(e: Endpoint, cluster: str, network: str) -> Endpoint:
    return replace(e, cluster=cluster, network=e.labels.get(NETWORK_LABEL) or network)


def merge(parts: list[ClusterPart]) -> tuple[MeshSnapshot, list[Diagnostic]]:
    """One snapshot for the mesh; diagnostics about copies that differ between clusters."""
    assert parts, "merge needs at least one cluster"
    first = parts[0].snapshot
    diags: list[Diagnostic] = []
    registry: list[RegistryService] = []
    k8s_index: dict[tuple[str, str], int] = {}
    by_key = dict(first.by_key)
    raw = dict(first.raw)
    config: dict[str, list[Resource]] = defaultdict(list)  # snapshot field -> its objects
    config_keys: set[tuple[str, str, str]] = set()
    workloads: list[Workload] = []
    pods: list[Pod] = []
    seen_wl: set[tuple[str, str, str, str]] = set()
    for part in parts:
        snap = part.snapshot
        for rs in snap.registry:
            eps = tuple(_label(e, part.name, part.network) for e in rs.endpoints)
            key = (rs.hostname, rs.namespace)
            if rs.origin == "k8s" and key in k8s_index:
                i = k8s_index[key]
                merged = registry[i]
                registry[i] = replace(merged, endpoints=merged.endpoints + eps,
                                      endpoint_origin=merged.endpoint_origin if merged.endpoints or not eps else rs.endpoint_origin)
                continue
            if rs.origin != "k8s" and any(r.hostname == rs.hostname and r.namespace == rs.namespace and r.origin != "k8s"
                                          and r.resource.key == rs.resource.key for r in registry):
                continue  # the same ServiceEntry, replicated
            if rs.origin == "k8s":
                k8s_index[key] = len(registry)
            registry.append(replace(rs, endpoints=eps))
        for kind, attr in (("VirtualService", "virtual_services"), ("DestinationRule", "destination_rules"),
                           ("Gateway", "gateways"), ("ServiceEntry", "service_entries"), ("Sidecar", "sidecars"),
                           ("WorkloadEntry", "workload_entries"), ("Namespace", "namespaces"), ("Service", "services"),
                           ("EndpointSlice", "endpoint_slices"), ("Endpoints", "endpoints"),
                           ("Deployment", "deployments"), ("StatefulSet", "statefulsets")):
            for obj in getattr(snap, attr):
                if obj.key in config_keys:
                    if kind in ("VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar") and \
                            repr(getattr(obj, "spec", None)) != repr(getattr(by_key.get(obj.key), "spec", None)):
                        diags.append(Diagnostic(WARNING, f"{kind} {obj.namespace}/{obj.name} differs between clusters; "
                                                f"meshtui traces with {parts[0].name if obj.key in first.by_key else 'the first copy'}'s "
                                                f"(istiod in {part.name} uses its own)", Source(file=part.file),
                                                kind, obj.namespace, obj.name, code="MT0604"))
                    continue
                config_keys.add(obj.key)
                config[attr].append(obj)
                by_key.setdefault(obj.key, obj)
        for raw_key, data in snap.raw.items():
            raw.setdefault(raw_key, data)
        pods.extend(snap.pods)
        for w in snap.workloads:
            k = (part.name, w.kind, w.namespace, w.name)
            if k not in seen_wl:
                seen_wl.add(k)
                workloads.append(replace(w, cluster=part.name))
    by_host: dict[str, list[RegistryService]] = defaultdict(list)
    for rs in registry:
        by_host[rs.hostname].append(rs)
    # the config fields by name, as the loop above collected them (each a tuple of its kind)
    fields: dict[str, Any] = {attr: tuple(objs) for attr, objs in config.items()}
    snapshot = replace(
        first, **fields, pods=tuple(pods),
        registry=tuple(registry), services_by_host={h: tuple(v) for h, v in by_host.items()}, by_key=by_key,
        workloads=tuple(workloads), raw=raw, pod_index=PodIndex(pods),
        diagnostics=tuple(d for p in parts for d in p.snapshot.diagnostics) + tuple(diags),
        clusters=tuple(p.name for p in parts))
    return snapshot, diags
