"""The Kubernetes objects behind a mesh: only the fields meshtui reads are declared; the rest of a
Kubernetes object is accepted silently (these kinds are parsed without unknown-field warnings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshtui.model.istio import ObjectMeta, Resource
from meshtui.model.schema import IntOrString, Node, fld


@dataclass(frozen=True, kw_only=True)
class ServicePort(Node):
    name: str = fld("")
    port: int = fld(0, required=True)
    target_port: IntOrString | None = fld(None)  # a port number or a named container port
    protocol: str = fld("TCP")
    app_protocol: str = fld("")
    node_port: int | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ServiceSpec(Node):
    selector: dict[str, str] = fld({})
    ports: tuple[ServicePort, ...] = fld(())
    cluster_ip: str = fld("", name="clusterIP")
    cluster_ips: tuple[str, ...] = fld((), name="clusterIPs")
    type: str = fld("ClusterIP")
    external_name: str = fld("")
    publish_not_ready_addresses: bool = fld(False)


@dataclass(frozen=True, kw_only=True)
class Service(Resource):
    # a Service written without a spec still reads as one with no ports and no selector
    spec: ServiceSpec = fld(ServiceSpec())


@dataclass(frozen=True, kw_only=True)
class ContainerPort(Node):
    name: str = fld("")
    container_port: int = fld(0)
    protocol: str = fld("TCP")


@dataclass(frozen=True, kw_only=True)
class Container(Node):
    name: str = fld("")
    image: str = fld("")
    ports: tuple[ContainerPort, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class PodSpec(Node):
    containers: tuple[Container, ...] = fld(())
    service_account_name: str = fld("")
    node_name: str = fld("")


@dataclass(frozen=True, kw_only=True)
class PodCondition(Node):
    type: str = fld("")
    status: str = fld("")


@dataclass(frozen=True, kw_only=True)
class PodStatus(Node):
    pod_ip: str = fld("", name="podIP")
    pod_ips: tuple[Any, ...] = fld((), name="podIPs")
    phase: str = fld("")
    conditions: tuple[PodCondition, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class Pod(Resource):
    spec: PodSpec | None = fld(None)
    status: PodStatus | None = fld(None)

    @property
    def ready(self) -> bool:
        """Ready as the endpoints controller sees it: the Ready condition if reported, otherwise
        Running with an IP (hand-written fixtures rarely carry conditions)."""
        st = self.status
        if st is None or not st.pod_ip:
            return False
        for c in st.conditions:
            if c.type == "Ready":
                return c.status == "True"
        return st.phase in ("", "Running")


@dataclass(frozen=True, kw_only=True)
class LabelSelector(Node):
    match_labels: dict[str, str] = fld({})
    match_expressions: tuple[Any, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class PodTemplate(Node):
    metadata: ObjectMeta | None = fld(None)
    spec: PodSpec | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class WorkloadSpec(Node):
    replicas: int | None = fld(None)
    selector: LabelSelector | None = fld(None)
    template: PodTemplate | None = fld(None)
    service_name: str = fld("")


@dataclass(frozen=True, kw_only=True)
class Deployment(Resource):
    spec: WorkloadSpec | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class StatefulSet(Resource):
    spec: WorkloadSpec | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class ObjectRef(Node):
    kind: str = fld("")
    name: str = fld("")
    namespace: str = fld("")


@dataclass(frozen=True, kw_only=True)
class EndpointConditions(Node):
    ready: bool | None = fld(None)
    serving: bool | None = fld(None)
    terminating: bool | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class SliceEndpoint(Node):
    addresses: tuple[str, ...] = fld(())
    conditions: EndpointConditions | None = fld(None)
    target_ref: ObjectRef | None = fld(None)
    node_name: str = fld("")
    zone: str = fld("")
    hostname: str = fld("")


@dataclass(frozen=True, kw_only=True)
class EndpointPort(Node):
    name: str = fld("")
    port: int = fld(0)
    protocol: str = fld("TCP")
    app_protocol: str = fld("")


@dataclass(frozen=True, kw_only=True)
class EndpointSlice(Resource):
    address_type: str = fld("IPv4")
    endpoints: tuple[SliceEndpoint, ...] = fld(())
    ports: tuple[EndpointPort, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class EndpointAddress(Node):
    ip: str = fld("")
    hostname: str = fld("")
    node_name: str = fld("")
    target_ref: ObjectRef | None = fld(None)


@dataclass(frozen=True, kw_only=True)
class EndpointSubset(Node):
    addresses: tuple[EndpointAddress, ...] = fld(())
    not_ready_addresses: tuple[EndpointAddress, ...] = fld(())
    ports: tuple[EndpointPort, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class Endpoints(Resource):
    subsets: tuple[EndpointSubset, ...] = fld(())


@dataclass(frozen=True, kw_only=True)
class Namespace(Resource):
    spec: Any = fld(None)


K8S_KINDS: dict[str, tuple[str, type[Resource]]] = {
    # kind -> (apiVersion group prefix, model)
    "Namespace": ("v1", Namespace),
    "Service": ("v1", Service),
    "Endpoints": ("v1", Endpoints),
    "Pod": ("v1", Pod),
    "EndpointSlice": ("discovery.k8s.io/", EndpointSlice),
    "Deployment": ("apps/", Deployment),
    "StatefulSet": ("apps/", StatefulSet),
}

