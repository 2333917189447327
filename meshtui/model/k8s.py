"""The Kubernetes objects behind a mesh: only the fields meshtui reads are declared; the rest of a
Kubernetes object is accepted silently (these kinds are parsed without unknown-field warnings)."""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True, kw_only=True)
class KubeNode(Resource):  # a Kubernetes Node (`Node` is the schema's base class)
    spec: Any = fld(None)
    status: Any = fld(None)


# ------------------------------------------------------------------ Secrets, summarised
# meshtui reads a Secret only for what the analyzers check about a Gateway's credentialName
# (Istio's gateway.SecretAnalyzer): which keys it has, whether they are empty, and whether each
# certificate parses and when it is valid. Values are decoded while parsing and dropped there:
# no key or certificate material is kept in the model, the snapshot cache or any message.

CERT_KEYS = ("cert", "tls.crt", "cacert", "ca.crt")  # Istio's generic and kubernetes.io/tls names
_PEM = re.compile(rb"-----BEGIN ([^-\r\n]+)-----\r?\n(.*?)-----END \1-----", re.S)


@dataclass(frozen=True)
class CertFacts:
    """A certificate value as istiod's SDS server judges it (xds.ValidateCertificate: the first
    PEM block, parsed as X.509): `error` says why it does not parse, else its validity window."""

    error: str = ""
    not_before: datetime | None = None
    not_after: datetime | None = None

    @staticmethod
    def of(value: bytes) -> CertFacts:
        from cryptography import x509

        m = _PEM.search(value)
        if m is None:
            return CertFacts("no PEM block")
        try:
            der = base64.b64decode(b"".join(m.group(2).split()), validate=True)
            with warnings.catch_warnings():  # cryptography's notes on lax encodings (a zero serial) are not ours to print
                warnings.simplefilter("ignore")
                cert = x509.load_der_x509_certificate(der)
        except (ValueError, binascii.Error) as exc:
            return CertFacts(f"the {m.group(1).decode(errors='replace')} PEM block is not an X.509 certificate "
                             f"({type(exc).__name__})")
        return CertFacts("", cert.not_valid_before_utc, cert.not_valid_after_utc)


@dataclass(frozen=True)
class SecretData:
    """What meshtui keeps of a Secret's `data` (base64 values): key names, the empty ones, and
    facts about each certificate key."""

    keys: tuple[str, ...] = ()
    empty: frozenset[str] = frozenset()
    certs: dict[str, CertFacts] = field(default_factory=dict)

    @classmethod
    def decode(cls, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("is not base64 (the API server refuses it)") from None

    @classmethod
    def from_yaml(cls, value: Any) -> SecretData:
        if not isinstance(value, dict):
            raise ValueError("must be a map of key names to values")
        raw: dict[str, bytes] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError("keys must be strings")
            if v is None:
                v = ""
            if not isinstance(v, str):
                raise ValueError(f"{k}: must be a string")
            try:
                raw[k] = cls.decode(v)
            except ValueError as exc:
                raise ValueError(f"{k}: {exc}") from None
        return cls.summarise(raw)

    @classmethod
    def summarise(cls, raw: dict[str, bytes]) -> SecretData:
        return cls(tuple(sorted(raw)), frozenset(k for k, v in raw.items() if not v),
                   {k: CertFacts.of(v) for k, v in raw.items() if k in CERT_KEYS and v})

    def over(self, base: SecretData) -> SecretData:
        """These keys written over `base`'s (the API server merges stringData into data)."""
        keys = tuple(sorted({*base.keys, *self.keys}))
        empty = frozenset((base.empty - set(self.keys)) | self.empty)
        certs = {k: c for k, c in base.certs.items() if k not in self.keys} | self.certs
        return SecretData(keys, empty, certs)

    def has_values(self, *names: str) -> bool:
        return all(n in self.keys and n not in self.empty for n in names)


class SecretStringData(SecretData):
    """`stringData`: the same, written as plain strings."""

    @classmethod
    def decode(cls, value: str) -> bytes:
        return value.encode()


@dataclass(frozen=True, kw_only=True)
class Secret(Resource):
    type: str = fld("Opaque")
    data: SecretData = fld(SecretData())
    string_data: SecretStringData = fld(SecretStringData())

    @property
    def contents(self) -> SecretData:
        return self.string_data.over(self.data)


# kubectl apply's copy of the whole object, Secret values included: never kept for a Secret
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# kinds whose raw object (as written, with its values) is never kept or read back
NO_RAW_KINDS = frozenset({"Secret"})


K8S_KINDS: dict[str, tuple[str, type[Resource]]] = {
    # kind -> (apiVersion group prefix, model)
    "Namespace": ("v1", Namespace),
    "Node": ("v1", KubeNode),
    "Secret": ("v1", Secret),
    "Service": ("v1", Service),
    "Endpoints": ("v1", Endpoints),
    "Pod": ("v1", Pod),
    "EndpointSlice": ("discovery.k8s.io/", EndpointSlice),
    "Deployment": ("apps/", Deployment),
    "StatefulSet": ("apps/", StatefulSet),
}

