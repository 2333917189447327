"""ServiceEntry and WorkloadEntry checks."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.model.istio import (
    ServiceEntry,
    WorkloadEntry,
    WorkloadEntrySpec,
)
from meshtui.model.protocol import UNSUPPORTED, is_http, parse_protocol
from meshtui.model.validate.common import (
    Problem,
    Warn,
    export_to,
    fqdn_error,
    is_dns_label,
    is_ip,
    labels,
    port_range,
    selector,
    subnet_error,
    wildcard_domain_error,
)


def service_entry(se: ServiceEntry) -> Iterator[Problem]:
    s = se.spec
    if s.workload_selector is not None:
        yield from selector(s.workload_selector.labels, "spec.workloadSelector.labels", "ServiceEntry")
        if s.endpoints:
            yield "spec.workloadSelector", "only one of workloadSelector or endpoints is allowed"
    if not s.hosts:
        yield "spec.hosts", "a ServiceEntry must have at least one host"
    for i, h in enumerate(s.hosts):
        if h == "*":
            yield f"spec.hosts[{i}]", "a ServiceEntry host cannot be '*'"
            continue
        err = wildcard_domain_error(h)
        if err:
            yield f"spec.hosts[{i}]", err
        elif s.resolution != "DYNAMIC_DNS" and "*" in h and not h.startswith("*."):
            yield Warn(f"spec.hosts[{i}]", f"partial wildcard {h!r} not allowed")
    cidr = False
    for i, a in enumerate(s.addresses):
        cidr = cidr or "/" in a
        err = subnet_error(a)
        if err:
            yield f"spec.addresses[{i}]", err
    if cidr and s.resolution not in (None, "NONE", "STATIC"):
        yield "spec.addresses", "CIDR addresses are allowed only for NONE/STATIC resolution"
    names: set[str] = set()
    numbers: set[int] = set()
    for i, port in enumerate(s.ports):
        p = f"spec.ports[{i}]"
        if port.name in names:
            yield f"{p}.name", f"service entry port name {port.name!r} already defined"
        names.add(port.name)
        if port.number in numbers:
            yield f"{p}.number", f"service entry port {port.number} already defined"
        numbers.add(port.number)
        if port.target_port:
            yield from port_range(port.target_port, f"{p}.targetPort")
        if not is_dns_label(port.name):
            yield f"{p}.name", f"invalid port name: {port.name!r}"
        if port.protocol and parse_protocol(port.protocol) == UNSUPPORTED:
            yield f"{p}.protocol", f"unsupported protocol: {port.protocol}"
    res = s.resolution
    if res in (None, "NONE"):
        if s.endpoints:
            yield "spec.endpoints", "no endpoints should be provided for resolution NONE"
    elif res == "STATIC":
        for i, ep in enumerate(s.endpoints):
            yield from _workload_entry_spec(ep, f"spec.endpoints[{i}]", names, allow_fqdn=False)
    elif res in ("DNS", "DNS_ROUND_ROBIN"):
        if not s.endpoints:
            for i, h in enumerate(s.hosts):
                err = fqdn_error(h)  # the whole name, as agent.ValidateFQDN: a wildcard cannot be resolved
                if err:
                    yield (f"spec.hosts[{i}]",
                           f"hosts must be FQDN or contain only prefix wildcards if no endpoints are provided for resolution {res}: {err}")
                    break
        if res == "DNS_ROUND_ROBIN" and len(s.endpoints) > 1:
            yield "spec.endpoints", "there must only be 0 or 1 endpoint for resolution DNS_ROUND_ROBIN"
        for i, ep in enumerate(s.endpoints):
            yield from _workload_entry_spec(ep, f"spec.endpoints[{i}]", names, allow_fqdn=True)
    elif res == "DYNAMIC_DNS":
        for i, h in enumerate(s.hosts):
            if not h.startswith("*"):
                yield f"spec.hosts[{i}]", "host must be wildcarded for resolution DYNAMIC_DNS"
        if s.addresses:
            yield "spec.addresses", "addresses cannot be set for resolution DYNAMIC_DNS"
        if s.endpoints:
            yield "spec.endpoints", "endpoints cannot be set for resolution DYNAMIC_DNS"
    if res not in (None, "NONE") and len(s.hosts) > 1:
        for port in s.ports:
            proto = parse_protocol(port.protocol) if port.protocol else UNSUPPORTED
            if not is_http(proto) and proto not in ("HTTPS", "TLS"):
                yield "spec.hosts", "multiple hosts provided with non-HTTP, non-TLS ports"
                break
    yield from export_to(s.export_to, se.namespace, "spec.exportTo", service_entry=True)


def _workload_entry_spec(we: WorkloadEntrySpec, path: str, service_ports: set[str] | None, allow_fqdn: bool) -> Iterator[Problem]:
    addr = we.address
    if not addr:
        if not we.network:
            yield f"{path}.address", "address is required"
            return
        yield Warn(f"{path}.address", f"address is unset with network {we.network!r}")
    if addr.startswith("unix://"):
        if we.ports:
            yield f"{path}.ports", f"unix endpoint {addr} must not include ports"
    elif addr and not is_ip(addr):
        if not allow_fqdn:
            yield f"{path}.address", f"endpoint address {addr!r} is not a valid IP address"
        elif fqdn_error(addr):
            yield f"{path}.address", f"endpoint address {addr!r} is not a valid FQDN or an IP address"
    for name, port in we.ports.items():
        if service_ports is not None and name not in service_ports:
            yield f"{path}.ports.{name}", f"endpoint port {port} is not defined by the service entry"
        if not is_dns_label(name):
            yield f"{path}.ports.{name}", f"invalid port name: {name!r}"
        yield from port_range(port, f"{path}.ports.{name}")
    yield from labels(we.labels, f"{path}.labels")


def workload_entry(we: WorkloadEntry) -> Iterator[Problem]:
    yield from _workload_entry_spec(we.spec, "spec", None, allow_fqdn=True)
