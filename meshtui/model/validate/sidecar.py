"""Sidecar checks: ingress and egress listeners, their hosts, outbound traffic policy."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.model.istio import Sidecar, SidecarPort
from meshtui.model.protocol import UNSUPPORTED, parse_protocol
from meshtui.model.validate.common import Problem, Warn, fqdn_error, is_dns_label, is_ip, ns_slash_host, port_range, selector
from meshtui.model.validate.destinationrule import connection_pool
from meshtui.model.validate.virtualservice import destination


def _sidecar_port(port: SidecarPort, path: str) -> Iterator[Problem]:
    """What ingress and egress listener ports share (ValidateSidecar, validateSidecar*Port*)."""
    if port.target_port:
        yield f"{path}.targetPort", "targetPort has no impact on Sidecars"
    if port.name and not is_dns_label(port.name):
        yield f"{path}.name", f"invalid port name: {port.name!r}"
    if port.protocol and parse_protocol(port.protocol) == UNSUPPORTED:
        yield f"{path}.protocol", f"unsupported protocol: {port.protocol}"


def sidecar(sc: Sidecar) -> Iterator[Problem]:
    s = sc.spec
    if s.workload_selector is not None:
        yield from selector(s.workload_selector.labels, "spec.workloadSelector.labels", "Sidecar")
    if not s.egress and not s.ingress and s.outbound_traffic_policy is None and s.inbound_connection_pool is None:
        yield "spec", "empty Sidecar: set egress, ingress, outboundTrafficPolicy or inboundConnectionPool"
        return
    seen_ports: set[int] = set()
    for i, ing in enumerate(s.ingress):
        p = f"spec.ingress[{i}]"
        if ing.port is None:
            continue  # reported as required by the parser
        yield from _sidecar_port(ing.port, f"{p}.port")
        yield from port_range(ing.port.number, f"{p}.port.number")
        if ing.port.number in seen_ports:
            yield f"{p}.port", "ports on IP bound listeners must be unique"
        seen_ports.add(ing.port.number)
        yield from connection_pool(ing.connection_pool, f"{p}.connectionPool")
    yield from connection_pool(s.inbound_connection_pool, "spec.inboundConnectionPool")
    seen_ports = set()
    catch_all = False
    for i, eg in enumerate(s.egress):
        p = f"spec.egress[{i}]"
        if eg.port is None:
            if catch_all:
                yield p, "egress can have only one listener without a port"
                continue
            if i == len(s.egress) - 1:
                catch_all = True
            else:
                yield p, "the egress listener without a port must be the last one"
        else:
            yield from _sidecar_port(eg.port, f"{p}.port")
            if eg.port.number == 0:
                if not eg.bind.startswith("unix://"):
                    yield f"{p}.bind", "an egress port 0 needs a unix:// bind address"
            else:
                yield from port_range(eg.port.number, f"{p}.port.number")
                if eg.bind and not is_ip(eg.bind):
                    yield f"{p}.bind", f"bind {eg.bind!r} must be an IP address"
                if eg.port.number in seen_ports:
                    yield f"{p}.port", "ports on IP bound listeners must be unique"
                seen_ports.add(eg.port.number)
        if not eg.hosts:
            yield f"{p}.hosts", "an egress listener must contain at least one host"
        by_ns: dict[str, set[str]] = {}
        for j, h in enumerate(eg.hosts):
            ns, slash, dns = h.partition("/")
            if slash and not ns.startswith("~"):
                key = sc.namespace if ns == "." else ns
                have = by_ns.setdefault(key, set())
                if (dns != "*" and (dns in have or "*" in have)) or (dns == "*" and have):
                    yield Warn(f"{p}.hosts[{j}]", f"duplicated egress host: {h}")
                have.add(dns)
            yield from ns_slash_host(h, f"{p}.hosts[{j}]", gateway=False)
        if "*" in by_ns.get("*", set()) and len(by_ns) != 1:
            yield Warn(f"{p}.hosts", "`*/*` selects every host: no other hosts can be added")
    otp = s.outbound_traffic_policy
    if otp is not None:
        if otp.mode == "ALLOW_ANY_DYNAMIC_DNS":
            yield "spec.outboundTrafficPolicy.mode", "ALLOW_ANY_DYNAMIC_DNS is only supported in MeshConfig, not in a Sidecar"
        elif otp.egress_proxy is not None:
            ep = "spec.outboundTrafficPolicy.egressProxy"
            if otp.mode != "ALLOW_ANY":
                yield ep, "egressProxy must be set only with outboundTrafficPolicy mode ALLOW_ANY"
            else:
                err = fqdn_error(otp.egress_proxy.host)
                if err:
                    yield f"{ep}.host", err
                if otp.egress_proxy.port is None:
                    yield f"{ep}.port", "egressProxy port is required"
                yield from destination(otp.egress_proxy, ep)
