"""Kubernetes objects: the checks the API server makes on the fields meshtui turns into Envoy
config (k8s.io/kubernetes pkg/apis/core/validation, pkg/apis/discovery/validation): port numbers,
named target ports and IP addresses. A value the API server refuses never reaches a cluster, and
it would make a listener or an endpoint Envoy rejects, so the object is left out with its field."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from meshtui.model.k8s import Deployment, Endpoints, EndpointSlice, Pod, PodSpec, Service, StatefulSet
from meshtui.model.protocol import UNSUPPORTED, parse_protocol
from meshtui.model.validate.common import Problem, Warn, is_dns_label

# IsValidPortName: an IANA service name
_PORT_NAME = re.compile(r"[-a-z0-9]+\Z")
_ADDRESS_TYPES = {"IPv4": 4, "IPv6": 6, "FQDN": 0}
_PROTOCOLS = {"TCP", "UDP", "SCTP"}


def _port_number(n: int, path: str) -> Iterator[Problem]:
    """IsValidPortNum: 1..65535."""
    if not 0 < n <= 65535:
        yield path, f"port number {n} must be in the range 1..65535"


def ip_error(value: str) -> str | None:
    """IsValidIP, strict as Envoy parses addresses: no zone, no leading zeros (Python's
    ipaddress refuses those, as glibc's inet_pton does)."""
    try:
        if "%" in value:
            raise ValueError
        ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not a valid IP address"
    return None


def _ip(value: str, path: str) -> Iterator[Problem]:
    err = ip_error(value)
    if err:
        yield path, err


def port_name_error(name: str) -> str | None:
    """IsValidPortName: at most 15 characters of a-z, 0-9 and '-', at least one letter, no
    leading, trailing or doubled '-'."""
    if len(name) > 15:
        return f"port name {name!r} is longer than 15 characters"
    if not _PORT_NAME.match(name) or not any(c.isalpha() for c in name):
        return f"port name {name!r} must be lower-case letters, digits and '-', with at least one letter"
    if name.startswith("-") or name.endswith("-") or "--" in name:
        return f"port name {name!r} must not begin or end with '-' nor hold '--'"
    return None


def _protocol(value: str, path: str) -> Iterator[Problem]:
    if value not in _PROTOCOLS:
        yield path, f"protocol {value!r} is not supported: use TCP, UDP or SCTP"


def _service_protocol(value: str, path: str) -> Iterator[Problem]:
    """A Service port's protocol. An application protocol written there (`HTTP`, `GRPC`, ...) is
    refused by the API server, but Istio's own readers of files (istioctl analyze, its analyzer
    tests) take such a port as TCP and its application protocol from the port name or
    appProtocol, as istiod does for any protocol but UDP: kept, with a warning saying both."""
    if value in _PROTOCOLS or parse_protocol(value) == UNSUPPORTED:
        yield from _protocol(value, path)
        return
    yield Warn(path, f"the API server refuses protocol {value!r} (TCP, UDP or SCTP); Istio reads the port as TCP, with "
                     "its application protocol from the port name or appProtocol, and so does meshtui: write "
                     f"protocol: TCP (and appProtocol: {value.lower()} if the name does not say it)")


def service(svc: Service) -> Iterator[Problem]:
    s = svc.spec
    names: set[str] = set()
    for i, p in enumerate(s.ports):
        pp = f"spec.ports[{i}]"
        yield from _port_number(p.port, f"{pp}.port")
        tp = p.target_port
        if isinstance(tp, str) and tp.isdigit():  # meshtui reads "9000" as the number (snapshot)
            tp = int(tp)
        if isinstance(tp, int) and tp != 0:  # 0 means "the same as port"
            yield from _port_number(tp, f"{pp}.targetPort")
        elif isinstance(tp, str) and tp:
            err = port_name_error(tp)
            if err:
                yield f"{pp}.targetPort", err
        if p.node_port:
            yield from _port_number(p.node_port, f"{pp}.nodePort")
        yield from _service_protocol(p.protocol, f"{pp}.protocol")
        if p.name:
            if not is_dns_label(p.name) or p.name != p.name.lower():
                yield f"{pp}.name", f"port name {p.name!r} must be a lower-case DNS label"
            elif p.name in names:
                yield f"{pp}.name", f"duplicate port name {p.name!r}"
            names.add(p.name)
        elif len(s.ports) > 1:
            yield f"{pp}.name", "a Service with several ports must name each of them"
    if s.cluster_ip not in ("", "None"):
        yield from _ip(s.cluster_ip, "spec.clusterIP")
    for i, ip in enumerate(s.cluster_ips):
        if ip != "None":
            yield from _ip(ip, f"spec.clusterIPs[{i}]")


def _pod_spec(spec: PodSpec | None, path: str) -> Iterator[Problem]:
    if spec is None:
        return
    for i, c in enumerate(spec.containers):
        for j, p in enumerate(c.ports):
            pp = f"{path}.containers[{i}].ports[{j}]"
            yield from _port_number(p.container_port, f"{pp}.containerPort")
            yield from _protocol(p.protocol, f"{pp}.protocol")
            if p.name:
                err = port_name_error(p.name)
                if err:
                    yield f"{pp}.name", err


def pod(p: Pod) -> Iterator[Problem]:
    yield from _pod_spec(p.spec, "spec")
    st = p.status
    if st is None:
        return
    if st.pod_ip:
        yield from _ip(st.pod_ip, "status.podIP")
    for i, entry in enumerate(st.pod_ips):
        ip = entry.get("ip") if isinstance(entry, dict) else None
        if not isinstance(ip, str):
            yield f"status.podIPs[{i}]", "each entry needs an ip"
        else:
            yield from _ip(ip, f"status.podIPs[{i}].ip")


def workload(w: Deployment | StatefulSet) -> Iterator[Problem]:
    if w.spec is not None and w.spec.template is not None:
        yield from _pod_spec(w.spec.template.spec, "spec.template.spec")


def endpoint_slice(es: EndpointSlice) -> Iterator[Problem]:
    family = _ADDRESS_TYPES.get(es.address_type)
    if family is None:
        yield "addressType", f"addressType {es.address_type!r} must be IPv4, IPv6 or FQDN"
    for i, ep in enumerate(es.endpoints):
        if not ep.addresses:
            yield f"endpoints[{i}].addresses", "an endpoint needs at least one address"
        for j, a in enumerate(ep.addresses):
            path = f"endpoints[{i}].addresses[{j}]"
            if family == 0:
                continue  # FQDN endpoints are not turned into IP addresses
            err = ip_error(a)
            if err:
                yield path, err
            elif family and ipaddress.ip_address(a).version != family:
                yield path, f"{a!r} is not an {es.address_type} address (the slice's addressType)"
    for i, p in enumerate(es.ports):
        if p.port:  # 0: unset, every port
            yield from _port_number(p.port, f"ports[{i}].port")
        yield from _protocol(p.protocol, f"ports[{i}].protocol")


def endpoints(ep: Endpoints) -> Iterator[Problem]:
    for i, sub in enumerate(ep.subsets):
        for field, addrs in (("addresses", sub.addresses), ("notReadyAddresses", sub.not_ready_addresses)):
            for j, a in enumerate(addrs):
                yield from _ip(a.ip, f"subsets[{i}].{field}[{j}].ip")
        for j, p in enumerate(sub.ports):
            yield from _port_number(p.port, f"subsets[{i}].ports[{j}].port")
            yield from _protocol(p.protocol, f"subsets[{i}].ports[{j}].protocol")
