"""Admission checks beyond types, as Istio's validation webhook would make them. Each check
returns (field path, reason) pairs; the loader turns them into located errors and leaves the
object out, so one broken object never hides the rest of the mesh."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from meshtui.model.regex import regex_error
from meshtui.model.istio import (
    DestinationRule,
    Gateway,
    HTTPRoute,
    Resource,
    ServiceEntry,
    Sidecar,
    StringMatch,
    TrafficPolicy,
    VirtualService,
    WorkloadEntry,
)

Problem = tuple[str, str]

_GATEWAY_PROTOCOLS = {"HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "TCP", "TLS"}
_SVC_PROTOCOLS = _GATEWAY_PROTOCOLS | {"REDIS", "MYSQL", "UDP", "HTTP_PROXY", ""}
_REDIRECT_CODES = {301, 302, 303, 307, 308}


def _string_match(sm: StringMatch | None, path: str) -> Iterator[Problem]:
    if sm is None:
        return
    set_ = [k for k in ("exact", "prefix", "regex") if getattr(sm, k) is not None]
    if len(set_) > 1:
        yield path, f"only one of exact, prefix, regex may be set (found {', '.join(set_)})"
    if sm.regex is not None and sm.regex != "*":
        err = regex_error(sm.regex)
        if err:
            yield f"{path}.regex", err


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _host_ok(host: str, path: str, allow_wildcard: bool = True) -> Iterator[Problem]:
    if not host:
        yield path, "host must not be empty"
        return
    if "*" in host[1:]:
        yield path, f"wildcard is only allowed as the first character of host {host!r}"
    if host.startswith("*") and not allow_wildcard:
        yield path, f"wildcard host {host!r} is not allowed here"
    if host.startswith("*") and len(host) > 1 and host[1] != ".":
        yield path, f"wildcard host {host!r} must be '*' or start with '*.'"


def _http_route(r: HTTPRoute, path: str, delegate_vs: bool) -> Iterator[Problem]:
    actions = [n for n, v in (("route", r.route), ("redirect", r.redirect),
                              ("directResponse", r.direct_response), ("delegate", r.delegate)) if v]
    if not actions:
        yield path, "an HTTP rule needs one of route, redirect, directResponse or delegate"
    if r.redirect is not None:
        for other, v in (("route", r.route), ("fault", r.fault), ("rewrite", r.rewrite), ("directResponse", r.direct_response)):
            if v:
                yield f"{path}.redirect", f"redirect cannot be used together with {other}"
        if r.redirect.redirect_code not in (None, 0) and r.redirect.redirect_code not in _REDIRECT_CODES:
            yield f"{path}.redirect.redirectCode", f"redirect code {r.redirect.redirect_code} is not one of 301, 302, 303, 307, 308"
        if r.redirect.port is not None and r.redirect.derive_port is not None:
            yield f"{path}.redirect", "port and derivePort cannot both be set"
    if r.direct_response is not None:
        for other, v in (("route", r.route), ("fault", r.fault), ("rewrite", r.rewrite)):
            if v:
                yield f"{path}.directResponse", f"directResponse cannot be used together with {other}"
        if not 200 <= r.direct_response.status <= 599:
            yield f"{path}.directResponse.status", f"status {r.direct_response.status} is not between 200 and 599"
    if r.delegate is not None:
        if delegate_vs:
            yield f"{path}.delegate", "a delegate VirtualService cannot delegate again (only one level is allowed)"
        if r.route or r.redirect:
            yield f"{path}.delegate", "delegate cannot be used together with route or redirect"
        if not r.delegate.name:
            yield f"{path}.delegate.name", "delegate needs a name"
    if r.mirror is not None and r.mirrors:
        yield f"{path}.mirrors", "mirror and mirrors cannot both be set"
    for i, m in enumerate(r.match):
        mp = f"{path}.match[{i}]"
        for fname in ("uri", "scheme", "method", "authority"):
            yield from _string_match(getattr(m, fname), f"{mp}.{fname}")
        for mapname in ("headers", "query_params", "without_headers"):
            yname = {"headers": "headers", "query_params": "queryParams", "without_headers": "withoutHeaders"}[mapname]
            for hk, hv in getattr(m, mapname).items():
                if not hk:
                    yield f"{mp}.{yname}", "header names must not be empty"
                yield from _string_match(hv, f"{mp}.{yname}.{hk}")
        if m.uri is not None and m.uri.kind == "present":
            yield f"{mp}.uri", "uri needs one of exact, prefix or regex"
    if len(r.route) > 1:
        total = 0
        for i, d in enumerate(r.route):
            if d.weight is not None and d.weight < 0:
                yield f"{path}.route[{i}].weight", f"weight must not be negative, got {d.weight}"
            total += max(d.weight or 0, 0)
        if total == 0:
            yield f"{path}.route", "the weights of several destinations add up to 0"
    for i, d in enumerate(r.route):
        if d.destination is not None:
            yield from _host_ok(d.destination.host, f"{path}.route[{i}].destination.host", allow_wildcard=False)
    if r.fault is not None:
        f = r.fault
        if f.delay is None and f.abort is None:
            yield f"{path}.fault", "fault needs a delay or an abort"
        if f.delay is not None and f.delay.fixed_delay is None and f.delay.exponential_delay is None:
            yield f"{path}.fault.delay", "delay needs fixedDelay (or exponentialDelay)"
        if f.delay is not None and f.delay.fixed_delay is not None and f.delay.fixed_delay.seconds < 0.001:
            yield f"{path}.fault.delay.fixedDelay", "duration must be at least 1ms"
        if f.abort is not None:
            a = f.abort
            kinds = [k for k in (a.http_status, a.grpc_status, a.http2_error) if k is not None]
            if len(kinds) != 1:
                yield f"{path}.fault.abort", "abort needs exactly one of httpStatus, grpcStatus, http2Error"
            if a.http_status is not None and not 200 <= a.http_status <= 599:
                yield f"{path}.fault.abort.httpStatus", f"httpStatus {a.http_status} is not between 200 and 599"
    if r.rewrite is not None and r.rewrite.uri_regex_rewrite is not None:
        if r.rewrite.uri is not None:
            yield f"{path}.rewrite", "uri and uriRegexRewrite cannot both be set"
        err = regex_error(r.rewrite.uri_regex_rewrite.match)
        if err:
            yield f"{path}.rewrite.uriRegexRewrite.match", err
    if r.retries is not None and r.retries.attempts < 0:
        yield f"{path}.retries.attempts", "attempts must not be negative"
    for fname, d in (("timeout", r.timeout),):
        if d is not None and d.seconds and d.seconds < 0.001:
            yield f"{path}.{fname}", "duration must be at least 1ms"


def virtual_service(vs: VirtualService) -> Iterator[Problem]:
    s = vs.spec
    delegate = not s.hosts
    if delegate:
        if s.gateways:
            yield "spec.gateways", "a delegate VirtualService (no hosts) cannot have gateways"
        if s.tls or s.tcp:
            yield "spec", "a delegate VirtualService (no hosts) can only have http rules"
    seen: list[str] = []
    mesh_bound = not s.gateways or "mesh" in s.gateways
    for i, h in enumerate(s.hosts):
        p = f"spec.hosts[{i}]"
        if h == "*" and mesh_bound:
            yield p, "wildcard host * is not allowed for virtual services bound to the mesh gateway"
            continue
        if h != "*":
            yield from _host_ok(h.split("/")[-1], p)
        if h in seen:
            yield p, f"duplicate host {h!r}"
        seen.append(h)
    if not (s.http or s.tcp or s.tls):
        yield "spec", "http, tcp or tls must be provided"
    for i, r in enumerate(s.http):
        yield from _http_route(r, f"spec.http[{i}]", delegate)
    for kind, routes in (("tcp", s.tcp), ("tls", s.tls)):
        for i, r in enumerate(routes):
            if not r.route:
                yield f"spec.{kind}[{i}].route", "a route is required"
            if len(r.route) > 1 and sum(max(d.weight or 0, 0) for d in r.route) == 0:
                yield f"spec.{kind}[{i}].route", "the weights of several destinations add up to 0"
    for i, r in enumerate(s.tls):
        if not r.match:
            yield f"spec.tls[{i}].match", "a TLS rule needs at least one match with sniHosts"
        for j, m in enumerate(r.match):
            if not m.sni_hosts:
                yield f"spec.tls[{i}].match[{j}].sniHosts", "sniHosts is required"


def _traffic_policy(tp: TrafficPolicy | None, path: str) -> Iterator[Problem]:
    if tp is None:
        return
    blocks = [(path, tp)] + [(f"{path}.portLevelSettings[{i}]", p) for i, p in enumerate(tp.port_level_settings)]
    for p, b in blocks:
        lb = b.load_balancer
        if lb is not None:
            if lb.simple is not None and lb.consistent_hash is not None:
                yield f"{p}.loadBalancer", "only one of simple or consistentHash may be set"
            ch = lb.consistent_hash
            if ch is not None:
                keys = [k for k in (ch.http_header_name, ch.http_cookie, ch.use_source_ip, ch.http_query_parameter_name) if k is not None]
                if len(keys) != 1:
                    yield f"{p}.loadBalancer.consistentHash", "consistentHash needs exactly one hash key"
        tls = b.tls
        if tls is not None and tls.mode == "ISTIO_MUTUAL":
            if tls.client_certificate or tls.private_key or tls.ca_certificates or tls.credential_name:
                yield f"{p}.tls", "ISTIO_MUTUAL cannot carry certificate fields"
        if tls is not None and tls.mode == "MUTUAL" and not tls.credential_name and not (tls.client_certificate and tls.private_key):
            yield f"{p}.tls", "MUTUAL needs clientCertificate and privateKey, or credentialName"
    for i, p in enumerate(tp.port_level_settings):
        if p.port is None or not p.port.number:
            yield f"{path}.portLevelSettings[{i}].port", "port is required"


def destination_rule(dr: DestinationRule) -> Iterator[Problem]:
    s = dr.spec
    yield from _host_ok(s.host, "spec.host")
    yield from _traffic_policy(s.traffic_policy, "spec.trafficPolicy")
    names: set[str] = set()
    for i, sub in enumerate(s.subsets):
        if not sub.name:
            yield f"spec.subsets[{i}].name", "subset name is required"
        if sub.name in names:
            yield f"spec.subsets[{i}].name", f"duplicate subset name {sub.name!r}"
        names.add(sub.name)
        yield from _traffic_policy(sub.traffic_policy, f"spec.subsets[{i}].trafficPolicy")


def gateway(gw: Gateway) -> Iterator[Problem]:
    s = gw.spec
    if not s.servers:
        yield "spec.servers", "a Gateway needs at least one server"
    for i, srv in enumerate(s.servers):
        p = f"spec.servers[{i}]"
        if not srv.hosts:
            yield f"{p}.hosts", "at least one host is required"
        for j, h in enumerate(srv.hosts):
            ns, _, dns = h.rpartition("/")
            if ns and ns not in (".", "*") and "." in ns:
                yield f"{p}.hosts[{j}]", f"namespace {ns!r} in host {h!r} is not a namespace name"
            if dns != "*":
                yield from _host_ok(dns, f"{p}.hosts[{j}]")
        if srv.port is not None:
            proto = srv.port.protocol.upper()
            if proto not in _GATEWAY_PROTOCOLS:
                yield f"{p}.port.protocol", f"unsupported protocol {srv.port.protocol!r} (use one of {', '.join(sorted(_GATEWAY_PROTOCOLS))})"
            if proto in ("HTTPS", "TLS") and srv.tls is None:
                yield f"{p}.tls", f"server must have TLS settings for {proto}"
        if srv.tls is not None and srv.tls.mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
            t = srv.tls
            if not (t.credential_name or t.credential_names or t.tls_certificates or (t.server_certificate and t.private_key)):
                yield f"{p}.tls", f"{t.mode} TLS needs credentialName, or serverCertificate and privateKey"


def service_entry(se: ServiceEntry) -> Iterator[Problem]:
    s = se.spec
    if not s.hosts:
        yield "spec.hosts", "at least one host is required"
    for i, h in enumerate(s.hosts):
        if h == "*":
            yield f"spec.hosts[{i}]", "a ServiceEntry host cannot be '*'"
        else:
            yield from _host_ok(h, f"spec.hosts[{i}]")
    if not s.ports and s.resolution not in (None, "NONE"):
        pass  # ports are optional for NONE; Istio still requires them in practice:
    if not s.ports:
        yield "spec.ports", "at least one port is required"
    for i, port in enumerate(s.ports):
        if port.protocol.upper() not in _SVC_PROTOCOLS:
            yield f"spec.ports[{i}].protocol", f"unsupported protocol {port.protocol!r}"
    if s.endpoints and s.workload_selector is not None:
        yield "spec.workloadSelector", "workloadSelector and endpoints cannot both be set"
    if s.resolution == "STATIC":
        for i, ep in enumerate(s.endpoints):
            if ep.address and not ep.address.startswith("unix://") and not _is_ip(ep.address):
                yield f"spec.endpoints[{i}].address", f"endpoint address {ep.address!r} must be an IP with resolution STATIC"
    for i, a in enumerate(s.addresses):
        try:
            ipaddress.ip_network(a, strict=False)
        except ValueError:
            yield f"spec.addresses[{i}]", f"{a!r} is not an IP address or CIDR"
    if s.resolution == "NONE" and any(h.startswith("*") for h in s.hosts) is False and s.endpoints:
        pass


def sidecar(sc: Sidecar) -> Iterator[Problem]:
    s = sc.spec
    catch_all = 0
    for i, eg in enumerate(s.egress):
        p = f"spec.egress[{i}]"
        if not eg.hosts:
            yield f"{p}.hosts", "egress hosts are required"
        for j, h in enumerate(eg.hosts):
            ns, slash, dns = h.partition("/")
            if not slash:
                yield f"{p}.hosts[{j}]", f"host {h!r} must be of the form namespace/dnsName"
                continue
            if not ns or not dns:
                yield f"{p}.hosts[{j}]", f"host {h!r} must be of the form namespace/dnsName"
            elif dns != "*":
                yield from _host_ok(dns, f"{p}.hosts[{j}]")
        if eg.port is None or not eg.port.number:
            catch_all += 1
            if i != len(s.egress) - 1:
                yield p, "the egress listener without a port must be the last one"
    if catch_all > 1:
        yield "spec.egress", "only one egress listener may omit the port"
    for i, ing in enumerate(s.ingress):
        if ing.port is None or not ing.port.number:
            yield f"spec.ingress[{i}].port", "ingress port is required"


def workload_entry(we: WorkloadEntry) -> Iterator[Problem]:
    if not we.spec.address:
        yield "spec.address", "address is required"


CHECKS = {
    "VirtualService": virtual_service,
    "DestinationRule": destination_rule,
    "Gateway": gateway,
    "ServiceEntry": service_entry,
    "Sidecar": sidecar,
    "WorkloadEntry": workload_entry,
}


def check(obj: Resource) -> list[Problem]:
    fn = CHECKS.get(obj.kind)
    return list(fn(obj)) if fn else []
