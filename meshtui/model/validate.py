"""Admission checks beyond types, as Istio's validation webhook makes them
(istio/istio pkg/config/validation: validation.go, virtualservice.go, agent/validation.go).

Each check yields (field path, reason) pairs: errors, which make the loader leave the object out
(so one broken object never hides the rest of the mesh). A `Warn` pair is what the webhook
accepts with a warning; the loader reports it and keeps the object. Where meshtui used to be
stricter or looser than Istio, Istio wins: a debugger must load what the cluster accepted and
refuse what it would have refused."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from meshtui.model.istio import (
    ClientTLSSettings,
    ConnectionPoolSettings,
    Destination,
    DestinationRule,
    Gateway,
    Headers,
    HTTPRoute,
    LoadBalancerSettings,
    OutlierDetection,
    Resource,
    RouteDestination,
    ServerTLSSettings,
    ServiceEntry,
    Sidecar,
    StringMatch,
    TrafficPolicy,
    VirtualService,
    WorkloadEntry,
)
from meshtui.model.protocol import UNSUPPORTED, is_http, parse_protocol
from meshtui.model.regex import regex_error
from meshtui.model.schema import Duration


class Warn(tuple):
    """A (path, reason) pair that Istio accepts with a warning."""

    def __new__(cls, path: str, reason: str) -> "Warn":
        return super().__new__(cls, (path, reason))


Problem = tuple[str, str]

_LABEL = re.compile(r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?\Z")
_WILDCARD_LABEL = re.compile(r"(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)\Z")
_GRPC_STATUS = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                "UNAUTHENTICATED"}
_RETRY_ON = {"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx",
             "refused-stream", "retriable-status-codes", "retriable-headers", "envoy-ratelimited",
             "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal",
             "resource-exhausted", "unavailable"}
# Go's net/http StatusText: the codes Istio accepts as retryOn entries
_HTTP_CODES = {*range(100, 104), *range(200, 209), 226, *range(300, 309), *range(400, 419),
               *range(421, 427), 428, 429, 431, 451, *range(500, 509), 510, 511}
_CORS_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"}
_MAX_REGEX = 1024


# ---------------------------------------------------------------- primitives (istio agent/validation.go)

def is_dns_label(value: str) -> bool:
    return len(value) <= 63 and _LABEL.match(value) is not None


def _dns_labels(domain: str) -> str | None:
    parts = domain.split(".")
    if parts[-1].isdigit():
        return f"domain name {domain!r} invalid (top level domain {parts[-1]!r} cannot be all-numeric)"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            return None  # `istio.io.`
        if not is_dns_label(label):
            return f"domain name {domain!r} invalid (label {label!r} invalid)"
    return None


def _preconditions(domain: str) -> str | None:
    if len(domain) > 255:
        return f"domain name {domain!r} too long (max 255)"
    if not domain:
        return "empty domain name not allowed"
    return None


def wildcard_domain_error(domain: str) -> str | None:
    """ValidateWildcardDomain: DNS names whose first label may be `*`, `*foo` or `*-foo`."""
    err = _preconditions(domain)
    if err:
        return err
    first, dot, rest = domain.partition(".")
    if len(first) > 63 or not _WILDCARD_LABEL.match(first):
        return f"domain name {domain!r} invalid (label {first!r} invalid)"
    return _dns_labels(rest) if dot else None


def fqdn_error(name: str) -> str | None:
    return _preconditions(name) or _dns_labels(name)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _subnet_error(value: str) -> str | None:
    try:
        if value.count("/") == 1:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not a valid IP address or CIDR block"
    return None


def host_matches(a: str, b: str) -> bool:
    """host.Name.Matches: do two hosts (either may be a `*` wildcard) overlap?"""
    aw, bw = a.startswith("*"), b.startswith("*")
    if aw and bw:
        return b[1:].endswith(a[1:]) if len(a) < len(b) else a[1:].endswith(b[1:])
    if aw:
        return b.endswith(a[1:])
    if bw:
        return a.endswith(b[1:])
    return a == b


def host_subset_of(a: str, b: str) -> bool:
    """host.Name.SubsetOf: is every name `a` covers also covered by `b`?"""
    if b.startswith("*"):
        return a.endswith(b[1:]) if not a.startswith("*") else a[1:].endswith(b[1:])
    return not a.startswith("*") and a == b


def _port(n: int | None, path: str) -> Iterator[Problem]:
    if n is not None and not 0 < n <= 65535:
        yield path, f"port number {n} must be in the range 1..65535"


def _duration(d: Duration | None, path: str) -> Iterator[Problem]:
    """agent.ValidateDuration: at least 1ms, in whole milliseconds."""
    if d is None:
        return
    if d.seconds < 0.001:
        yield path, f"duration {str(d)!r} must be at least 1ms"
    elif round(d.seconds * 1e9) % 1_000_000:
        yield path, f"duration {str(d)!r}: only durations to ms precision are supported"


def _export_to(values: tuple[str, ...], namespace: str, path: str, service_entry: bool = False,
               dr_selector: bool = False) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, e in enumerate(values):
        key = namespace if e == "." else e
        p = f"{path}[{i}]"
        if key in seen:
            yield p, (f"duplicate entries in exportTo: . and current namespace {namespace}" if key != e
                      else f"duplicate entries in exportTo for entry {e}")
            continue
        if e == "~" and not service_entry:
            yield p, "exportTo ~ (none) is not allowed for Istio configuration objects"
            continue
        if e not in (".", "*", "~") and not is_dns_label(e):
            yield p, f"exportTo entry {e!r}: only ., *, or a valid namespace name is allowed"
            continue
        seen.add(key)
    if dr_selector and seen:
        if namespace not in seen:
            yield path, "a DestinationRule with workloadSelector cannot be exported beyond its own namespace"
        elif len(seen) > 1:
            yield path, "a DestinationRule with workloadSelector cannot have several exportTo entries"
    if "*" in seen and len(values) > 1:
        yield path, "cannot have both public (*) and non-public exportTo values"
    if "~" in seen and len(values) > 1:
        yield path, "cannot export a service entry to no one (~) and someone"


def _gateway_names(names: tuple[str, ...], path: str) -> Iterator[Problem]:
    for i, g in enumerate(names):
        p = f"{path}[{i}]"
        ns, slash, name = g.partition("/")
        if not slash:
            if "." in g:
                parts = g.split(".")
                yield Warn(p, f"legacy gateway name format {g!r}; prefer <namespace>/<name>: {parts[1]}/{parts[0]}")
            err = fqdn_error(g)
            if err:
                yield p, err
            continue
        if not ns or not name:
            yield p, "namespace and gateway name cannot be empty"
        elif not is_dns_label(ns):
            yield p, f"invalid value for namespace: {ns!r}"
        elif not is_dns_label(name):
            yield p, f"invalid value for gateway name: {name!r}"


# ---------------------------------------------------------------- VirtualService

def _regex(pattern: str, path: str) -> Iterator[Problem]:
    if pattern == "":
        yield path, "regex string match should not be empty"
    elif len(pattern) > _MAX_REGEX:
        yield path, f"regex is too large, max length allowed is {_MAX_REGEX}"
    else:
        err = regex_error(pattern)
        if err:
            yield path, f"{err} (Istio uses RE2 syntax)"


def _string_match(sm: StringMatch | None, path: str, uri: bool = False) -> Iterator[Problem]:
    """validateStringMatch (validateStringMatchRegexp for uri, which may have an empty prefix)."""
    if sm is None:
        return
    set_ = [k for k in ("exact", "prefix", "regex") if getattr(sm, k) is not None]
    if len(set_) > 1:  # a protobuf oneof: the JSON decoder refuses two of them
        yield path, f"only one of exact, prefix, regex may be set (found {', '.join(set_)})"
    if sm.prefix == "" and not uri:
        yield f"{path}.prefix", "prefix string match should not be empty"
    if sm.regex is not None:
        yield from _regex(sm.regex, f"{path}.regex")


def _destination(d: Destination | None, path: str) -> Iterator[Problem]:
    if d is None:
        return
    if d.host == "*":
        yield f"{path}.host", "invalid destination host *"
    elif not d.host:
        yield f"{path}.host", "destination host is required"
    else:
        err = wildcard_domain_error(d.host)
        if err:
            yield f"{path}.host", err
    if d.subset and not is_dns_label(d.subset):
        yield f"{path}.subset", f"subset name is invalid: {d.subset}"
    if d.port is not None:
        yield from _port(d.port.number, f"{path}.port.number")


def _destinations(routes: tuple[RouteDestination, ...], path: str) -> Iterator[Problem]:
    total = 0
    for i, d in enumerate(routes):
        p = f"{path}[{i}]"
        yield from _destination(d.destination, f"{p}.destination")
        w = d.weight or 0
        if w < 0:
            yield f"{p}.weight", f"weight {w} must not be negative"
        total += w
    if len(routes) > 1 and total == 0:
        yield path, "the weights of several destinations add up to 0"


def _header_ops(h: Headers | None, path: str) -> Iterator[Problem]:
    if h is None:
        return
    for side in ("request", "response"):
        ops = getattr(h, side)
        if ops is None:
            continue
        for kind in ("set", "add"):
            for name in getattr(ops, kind):
                if not name:
                    yield f"{path}.{side}.{kind}", "header name must not be empty"
                elif name.startswith(":") and not (side == "request" and name.lower() == ":authority"):
                    yield f"{path}.{side}.{kind}.{name}", f"invalid header {name!r}: pseudo-headers cannot be modified"
        for i, name in enumerate(ops.remove):
            if not name or name.startswith(":") or name.lower() == "host":
                yield f"{path}.{side}.remove[{i}]", f"invalid header {name!r}: it cannot be removed"


def _authority_rewrite(r: HTTPRoute, path: str) -> Iterator[Problem]:
    current = r.rewrite.authority if r.rewrite is not None and r.rewrite.authority else ""
    req = r.headers.request if r.headers is not None else None
    if req is None:
        return
    for kind in ("set", "add"):
        for k, v in getattr(req, kind).items():
            if k.lower() in (":authority", "host"):
                if current:
                    yield f"{path}.headers.request.{kind}.{k}", (
                        f"authority header cannot be set multiple times: have {current!r}, attempting to set {v!r}")
                current = v


def _http_route(r: HTTPRoute, path: str, delegate_vs: bool) -> Iterator[Problem]:
    # validateHTTPRouteConflict
    if r.delegate is not None and not delegate_vs:  # a root rule: only delegate
        if r.redirect is not None:
            yield f"{path}.redirect", "a root HTTP rule with delegate must not specify redirect"
        if r.route:
            yield f"{path}.route", "a root HTTP rule with delegate must not specify route"
        if not r.delegate.name:
            yield f"{path}.delegate.name", "delegate needs a name"
    else:
        if delegate_vs and r.delegate is not None:
            yield f"{path}.delegate", "a delegate VirtualService cannot delegate again (only one level is allowed)"
        if r.redirect is not None:
            for other, v in (("route", r.route), ("fault", r.fault), ("rewrite", r.rewrite),
                             ("directResponse", r.direct_response)):
                if v:
                    yield f"{path}.redirect", f"redirect cannot be used together with {other}"
        elif r.direct_response is not None:
            for other, v in (("route", r.route), ("fault", r.fault), ("rewrite", r.rewrite)):
                if v:
                    yield f"{path}.directResponse", f"directResponse cannot be used together with {other}"
        elif not r.route:
            yield path, "an HTTP rule needs one of route, redirect or directResponse"
    if r.mirror is not None and r.mirrors:
        yield f"{path}.mirrors", "mirror and mirrors cannot both be set"

    # validateHTTPRouteMatchRequest
    for i, m in enumerate(r.match):
        mp = f"{path}.match[{i}]"
        for hk, hv in m.headers.items():
            if not hk:
                yield f"{mp}.headers", "header names must not be empty"
            yield from _string_match(hv, f"{mp}.headers.{hk}")
        for hk, hv in m.without_headers.items():
            if not hk:
                yield f"{mp}.withoutHeaders", "header names must not be empty"
            if hv.regex != "*":  # `*` is a presence check there, not a regex
                yield from _string_match(hv, f"{mp}.withoutHeaders.{hk}")
        yield from _string_match(m.uri, f"{mp}.uri", uri=True)
        for fname in ("scheme", "method", "authority"):
            yield from _string_match(getattr(m, fname), f"{mp}.{fname}")
        for qk, qv in m.query_params.items():
            yield from _string_match(qv, f"{mp}.queryParams.{qk}")
        yield from _gateway_names(m.gateways, f"{mp}.gateways")
        if m.source_namespace and not is_dns_label(m.source_namespace):
            yield f"{mp}.sourceNamespace", f"sourceNamespace match {m.source_namespace!r} is invalid"

    yield from _header_ops(r.headers, f"{path}.headers")
    yield from _authority_rewrite(r, path)

    # CORS
    c = r.cors_policy
    if c is not None:
        for i, o in enumerate(c.allow_origins):
            if not o.value:
                yield f"{path}.corsPolicy.allowOrigins[{i}]", "an allowed origin needs a non-empty exact, prefix or regex"
            elif o.regex is not None:
                yield from _regex(o.regex, f"{path}.corsPolicy.allowOrigins[{i}].regex")
        for i, meth in enumerate(c.allow_methods):
            if meth not in _CORS_METHODS:
                yield f"{path}.corsPolicy.allowMethods[{i}]", f"{meth!r} is not a supported HTTP method"
        if c.max_age is not None:
            yield from _duration(c.max_age, f"{path}.corsPolicy.maxAge")
            if c.max_age.seconds != int(c.max_age.seconds):
                yield f"{path}.corsPolicy.maxAge", "maxAge is accurate only to seconds"

    # fault
    f = r.fault
    if f is not None:
        if f.delay is None and f.abort is None:
            yield f"{path}.fault", "fault injection needs an abort and/or a delay"
        a = f.abort
        if a is not None:
            ap = f"{path}.fault.abort"
            kinds = [k for k, v in (("httpStatus", a.http_status), ("grpcStatus", a.grpc_status),
                                    ("http2Error", a.http2_error)) if v is not None]
            if len(kinds) > 1:
                yield ap, f"only one of httpStatus, grpcStatus, http2Error may be set (found {', '.join(kinds)})"
            elif not kinds:
                yield Warn(ap, "abort configured, but no httpStatus or grpcStatus: nothing is aborted")
            if a.http_status is not None and not 200 <= a.http_status <= 600:
                yield f"{ap}.httpStatus", f"HTTP status {a.http_status} is not in range 200-599"
            if a.grpc_status is not None and a.grpc_status not in _GRPC_STATUS:
                yield f"{ap}.grpcStatus", f"gRPC status {a.grpc_status!r} is not supported (use a name such as 'UNAVAILABLE')"
            if a.http2_error is not None:
                yield f"{ap}.http2Error", "HTTP/2 abort fault injection is not supported yet"
        d = f.delay
        if d is not None:
            dp = f"{path}.fault.delay"
            if d.fixed_delay is not None and d.exponential_delay is not None:
                yield dp, "only one of fixedDelay, exponentialDelay may be set"
            yield from _duration(d.fixed_delay, f"{dp}.fixedDelay")
            if d.exponential_delay is not None:
                yield from _duration(d.exponential_delay, f"{dp}.exponentialDelay")
                yield f"{dp}.exponentialDelay", "exponentialDelay is not supported yet"

    # mirrors
    if r.mirror_percent is not None and r.mirror_percent > 100:
        yield f"{path}.mirrorPercent", f"mirrorPercent must have a max value of 100 (it has {r.mirror_percent})"
    if r.mirror_percent is not None:
        yield Warn(f"{path}.mirrorPercent", 'deprecated setting "mirrorPercent", use "mirrorPercentage" instead')
    yield from _destination(r.mirror, f"{path}.mirror")
    for i, mp in enumerate(r.mirrors):
        yield from _destination(mp.destination, f"{path}.mirrors[{i}].destination")

    # redirect
    rd = r.redirect
    if rd is not None:
        rp = f"{path}.redirect"
        if rd.uri and rd.prefix_rewrite:
            yield rp, "redirect may only specify one of uri or prefixRewrite"
        if rd.prefix_rewrite:
            for i, m in enumerate(r.match):
                if m.uri is not None and m.uri.prefix is None:
                    yield f"{path}.match[{i}].uri", "redirect prefixRewrite requires every uri match to be a prefix match"
                    break
        if not (rd.uri or rd.prefix_rewrite or rd.authority or rd.port or rd.derive_port or rd.scheme):
            yield rp, "redirect must specify uri, authority, scheme or port"
        if rd.redirect_code not in (None, 0) and not 300 <= rd.redirect_code <= 399:
            yield f"{rp}.redirectCode", f"{rd.redirect_code} is not a valid redirect code, must be 3xx"
        if rd.scheme and rd.scheme not in ("http", "https"):
            yield f"{rp}.scheme", 'invalid redirect scheme, must be "http" or "https"'
        if rd.port is not None and rd.derive_port is not None:
            yield rp, "port and derivePort cannot both be set"
        if rd.port:
            yield from _port(rd.port, f"{rp}.port")

    # direct response
    dr = r.direct_response
    if dr is not None:
        if not 200 <= dr.status <= 600:
            yield f"{path}.directResponse.status", f"HTTP status {dr.status} is not in range 200-599"
        body = dr.body
        size = len((body.string if body.string is not None else body.bytes) or "") if body is not None else 0
        if size > 1024 * 1024:
            yield f"{path}.directResponse.body", "a direct response body must be smaller than 1MB"
        elif size > 100 * 1024:
            yield Warn(f"{path}.directResponse.body", "large direct responses may impact control plane performance")

    # retries
    rt = r.retries
    if rt is not None:
        rp = f"{path}.retries"
        if rt.attempts < 0:
            yield f"{rp}.attempts", "attempts cannot be negative"
        if rt.attempts == 0 and (rt.per_try_timeout is not None or rt.retry_on or rt.retry_remote_localities is not None):
            yield rp, "retry policy configured while attempts is 0 (retries disabled)"
        yield from _duration(rt.per_try_timeout, f"{rp}.perTryTimeout")
        if rt.retry_on:
            for policy in rt.retry_on.split(","):
                if policy not in _RETRY_ON and not (policy.isdigit() and int(policy) in _HTTP_CODES):
                    yield f"{rp}.retryOn", f"{policy!r} is not a valid retryOn policy"
        yield from _duration(rt.backoff, f"{rp}.backoff")

    # rewrite
    rw = r.rewrite
    if rw is not None:
        wp = f"{path}.rewrite"
        if rw.uri and rw.uri_regex_rewrite is not None:
            yield wp, "rewrite may only contain one of uri or uriRegexRewrite"
        if not rw.uri and rw.uri_regex_rewrite is None and not rw.authority:
            yield wp, "rewrite must specify at least one of uri, uriRegexRewrite or authority"
        rr = rw.uri_regex_rewrite
        if rr is not None:
            if not rr.match or not rr.rewrite:
                yield f"{wp}.uriRegexRewrite", "uriRegexRewrite requires both match and rewrite"
            else:
                yield from _regex(rr.match, f"{wp}.uriRegexRewrite.match")

    # destinations and timeout
    yield from _destinations(r.route, f"{path}.route")
    for i, d in enumerate(r.route):
        yield from _header_ops(d.headers, f"{path}.route[{i}].headers")
    yield from _duration(r.timeout, f"{path}.timeout")


def virtual_service(vs: VirtualService) -> Iterator[Problem]:
    s = vs.spec
    delegate = not s.hosts
    if delegate:
        if s.gateways:
            yield "spec.gateways", "a delegate VirtualService (no hosts) cannot have gateways"
        if s.tls:
            yield "spec.tls", "a delegate VirtualService (no hosts) cannot have tls routes"
        if s.tcp:
            yield "spec.tcp", "a delegate VirtualService (no hosts) cannot have tcp routes"
    applies_to_gateway = bool(s.gateways) and "mesh" not in s.gateways
    applies_to_mesh = not applies_to_gateway
    yield from _gateway_names(s.gateways, "spec.gateways")
    all_valid = True
    for i, h in enumerate(s.hosts):
        p = f"spec.hosts[{i}]"
        err = wildcard_domain_error(h)
        if err and not (applies_to_gateway and h.startswith("outbound_")):
            if not is_ip(h):
                yield p, err
                all_valid = False
        elif applies_to_mesh and h == "*":
            yield p, "wildcard host * is not allowed for virtual services bound to the mesh gateway"
            all_valid = False
    if all_valid:
        for i, a in enumerate(s.hosts):
            for b in s.hosts[i + 1:]:
                if host_matches(a, b):
                    yield f"spec.hosts[{i}]", f"duplicate hosts in virtual service: {a} & {b}"
    if not (s.http or s.tcp or s.tls):
        yield "spec", "http, tcp or tls must be provided in a virtual service"
    for i, r in enumerate(s.http):
        yield from _http_route(r, f"spec.http[{i}]", delegate)
    for i, r in enumerate(s.tls):
        p = f"spec.tls[{i}]"
        if not r.match:
            yield f"{p}.match", "a TLS route must have at least one match with sniHosts"
        for j, m in enumerate(r.match):
            mp = f"{p}.match[{j}]"
            if not m.sni_hosts:
                yield f"{mp}.sniHosts", "a TLS match must have at least one SNI host"
            for k, sni in enumerate(m.sni_hosts):
                err = wildcard_domain_error(sni)
                if err:
                    if is_ip(sni):
                        yield Warn(f"{mp}.sniHosts[{k}]", f"using an IP address ({sni!r}) as SNI goes against the SNI spec")
                    elif not (applies_to_gateway and sni.startswith("outbound_")):
                        yield f"{mp}.sniHosts[{k}]", err
                elif not any(host_subset_of(sni, h) for h in s.hosts):
                    yield f"{mp}.sniHosts[{k}]", (f"SNI host {sni!r} is not a compatible subset of any of the "
                                                  f"virtual service hosts: [{', '.join(s.hosts)}]")
            for k, sub in enumerate(m.destination_subnets):
                err = _subnet_error(sub)
                if err:
                    yield f"{mp}.destinationSubnets[{k}]", err
            yield from _gateway_names(m.gateways, f"{mp}.gateways")
        if not r.route:
            yield f"{p}.route", "a TLS route needs a route"
        yield from _destinations(r.route, f"{p}.route")
    for i, r in enumerate(s.tcp):
        p = f"spec.tcp[{i}]"
        for j, m in enumerate(r.match):
            for k, sub in enumerate(m.destination_subnets):
                err = _subnet_error(sub)
                if err:
                    yield f"{p}.match[{j}].destinationSubnets[{k}]", err
            yield from _gateway_names(m.gateways, f"{p}.match[{j}].gateways")
        if not r.route:
            yield f"{p}.route", "a TCP route needs a route"
        yield from _destinations(r.route, f"{p}.route")
    yield from _export_to(s.export_to, vs.namespace, "spec.exportTo")


# ---------------------------------------------------------------- DestinationRule

def _outlier(o: OutlierDetection | None, path: str) -> Iterator[Problem]:
    if o is None:
        return
    yield from _duration(o.base_ejection_time, f"{path}.baseEjectionTime")
    yield from _duration(o.interval, f"{path}.interval")
    if o.consecutive_errors:
        yield Warn(f"{path}.consecutiveErrors", "consecutiveErrors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors")
    if not o.split_external_local_origin_errors and (o.consecutive_local_origin_failures or 0) > 0:
        yield f"{path}.consecutiveLocalOriginFailures", "consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true"


def _connection_pool(cp: ConnectionPoolSettings | None, path: str) -> Iterator[Problem]:
    if cp is None:
        return
    if cp.http is None and cp.tcp is None:
        yield path, "connection pool must have at least one field"
        return
    h = cp.http
    if h is not None:
        hp = f"{path}.http"
        for attr, yname in (("http1_max_pending_requests", "http1MaxPendingRequests"), ("http2_max_requests", "http2MaxRequests"),
                            ("max_requests_per_connection", "maxRequestsPerConnection"), ("max_retries", "maxRetries"),
                            ("max_concurrent_streams", "maxConcurrentStreams")):
            v = getattr(h, attr)
            if v is not None and v < 0:
                yield f"{hp}.{yname}", f"{yname} must not be negative"
        yield from _duration(h.idle_timeout, f"{hp}.idleTimeout")
        if h.h2_upgrade_policy == "UPGRADE" and h.use_client_protocol:
            yield f"{hp}.useClientProtocol", "useClientProtocol must not be true when h2UpgradePolicy is UPGRADE"
        ka = h.http2_keep_alive
        if ka is not None:
            for attr in ("interval", "timeout"):
                if getattr(ka, attr) is None:
                    yield f"{hp}.http2KeepAlive.{attr}", f"http2KeepAlive {attr} is required"
                else:
                    yield from _duration(getattr(ka, attr), f"{hp}.http2KeepAlive.{attr}")
    t = cp.tcp
    if t is not None:
        tp = f"{path}.tcp"
        if t.max_connections is not None and t.max_connections < 0:
            yield f"{tp}.maxConnections", "maxConnections must not be negative"
        yield from _duration(t.connect_timeout, f"{tp}.connectTimeout")
        yield from _duration(t.max_connection_duration, f"{tp}.maxConnectionDuration")
        if t.idle_timeout is not None and t.idle_timeout.seconds >= 0.001:  # 0s disables it
            yield from _duration(t.idle_timeout, f"{tp}.idleTimeout")
        if t.tcp_keepalive is not None:
            yield from _duration(t.tcp_keepalive.time, f"{tp}.tcpKeepalive.time")
            yield from _duration(t.tcp_keepalive.interval, f"{tp}.tcpKeepalive.interval")


def _is_prime(x: int) -> bool:
    if 0 < x < 4:
        return True
    if x % 2 == 0:
        return False
    f = 3
    while f * f <= x:
        if x % f == 0:
            return False
        f += 2
    return True


def _load_balancer(lb: LoadBalancerSettings | None, path: str) -> Iterator[Problem]:
    if lb is None:
        return
    if lb.simple is not None and lb.consistent_hash is not None:  # a oneof
        yield path, "only one of simple or consistentHash may be set"
    ch = lb.consistent_hash
    if ch is not None:
        cp = f"{path}.consistentHash"
        keys = [k for k in (ch.http_header_name, ch.http_cookie, ch.use_source_ip, ch.http_query_parameter_name) if k is not None]
        if len(keys) > 1:
            yield cp, "only one hash key (httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName) may be set"
        if ch.http_cookie is not None:
            if not ch.http_cookie.name:
                yield f"{cp}.httpCookie.name", "name required for httpCookie"
            names: set[str] = set()
            for i, at in enumerate(ch.http_cookie.attributes):
                if not at.name:
                    yield f"{cp}.httpCookie.attributes[{i}].name", "cookie attribute name cannot be empty"
                elif at.name in names:
                    yield f"{cp}.httpCookie.attributes[{i}].name", f"duplicate cookie attribute name: {at.name}"
                names.add(at.name)
        if ch.ring_hash is not None and ch.maglev is not None:
            yield cp, "only one of ringHash or maglev may be set"
        if ch.minimum_ring_size:
            yield Warn(f"{cp}.minimumRingSize", "minimumRingSize is deprecated, use ringHash")
            if ch.ring_hash is not None or ch.maglev is not None:
                yield cp, "only one of minimumRingSize or maglev/ringHash can be specified"
        ml = ch.maglev
        if ml is not None:
            if ml.table_size == 0:
                yield f"{cp}.maglev.tableSize", "tableSize must be set for maglev"
            elif ml.table_size >= 5000011:
                yield f"{cp}.maglev.tableSize", "tableSize must be less than 5000011 for maglev"
            elif not _is_prime(ml.table_size):
                yield f"{cp}.maglev.tableSize", "tableSize must be a prime number for maglev"
    if lb.locality_lb_setting is not None and lb.zone_aware_lb_setting is not None:
        yield path, "only one of localityLbSetting and zoneAwareLbSetting can be set"
    w = lb.warmup
    if w is not None:
        if w.duration is None:
            yield f"{path}.warmup.duration", "duration is required"
        else:
            yield from _duration(w.duration, f"{path}.warmup.duration")
        if (w.minimum_percent or 0) > 100:
            yield f"{path}.warmup.minimumPercent", "minimumPercent must be at most 100"
        if w.aggression is not None and w.aggression <= 0:
            yield f"{path}.warmup.aggression", "aggression must be greater than 0"


def _client_tls(t: ClientTLSSettings | None, path: str) -> Iterator[Problem]:
    if t is None:
        return
    if t.insecure_skip_verify:
        if t.mode == "SIMPLE" and (t.ca_certificates or t.credential_name or t.subject_alt_names):
            yield path, "cannot specify caCertificates, credentialName or subjectAltNames when insecureSkipVerify is true"
        if t.mode == "MUTUAL" and (t.ca_certificates or t.subject_alt_names):
            yield path, "cannot specify caCertificates or subjectAltNames when insecureSkipVerify is true"
    if t.mode in ("SIMPLE", "MUTUAL") and t.credential_name:
        if t.client_certificate or t.ca_certificates or t.private_key or t.ca_crl:
            yield path, "cannot specify client certificates, CA certificate or CA CRL when credentialName is set"
        return
    if t.mode == "MUTUAL":
        if not t.client_certificate:
            yield f"{path}.clientCertificate", "client certificate required for mutual TLS"
        if not t.private_key:
            yield f"{path}.privateKey", "private key required for mutual TLS"


def _traffic_policy(tp: TrafficPolicy | None, path: str) -> Iterator[Problem]:
    if tp is None:
        return
    if (tp.outlier_detection is None and tp.connection_pool is None and tp.load_balancer is None and tp.tls is None
            and not tp.port_level_settings and tp.tunnel is None and tp.proxy_protocol is None and tp.retry_budget is None):
        yield path, "traffic policy must have at least one field"
        return
    if tp.tunnel is not None and tp.proxy_protocol is not None:
        yield path, "tunnel and proxyProtocol must not be set together"
        return
    yield from _outlier(tp.outlier_detection, f"{path}.outlierDetection")
    yield from _connection_pool(tp.connection_pool, f"{path}.connectionPool")
    yield from _load_balancer(tp.load_balancer, f"{path}.loadBalancer")
    yield from _client_tls(tp.tls, f"{path}.tls")
    for i, pl in enumerate(tp.port_level_settings):
        p = f"{path}.portLevelSettings[{i}]"
        if pl.port is None:
            yield f"{p}.port", "a port-level policy must have a port"
        else:
            yield from _port(pl.port.number, f"{p}.port.number")
        if pl.outlier_detection is None and pl.connection_pool is None and pl.load_balancer is None and pl.tls is None:
            yield p, "port traffic policy must have at least one field"
            continue
        yield from _outlier(pl.outlier_detection, f"{p}.outlierDetection")
        yield from _connection_pool(pl.connection_pool, f"{p}.connectionPool")
        yield from _load_balancer(pl.load_balancer, f"{p}.loadBalancer")
        yield from _client_tls(pl.tls, f"{p}.tls")
    t = tp.tunnel
    if t is not None:
        if t.protocol and t.protocol not in ("CONNECT", "POST"):
            yield f"{path}.tunnel.protocol", 'tunnel protocol must be "CONNECT" or "POST"'
        if fqdn_error(t.target_host) and not is_ip(t.target_host):
            yield f"{path}.tunnel.targetHost", f"tunnel target host {t.target_host!r} must be a valid FQDN or IP address"
        yield from _port(t.target_port or 0, f"{path}.tunnel.targetPort")


def destination_rule(dr: DestinationRule) -> Iterator[Problem]:
    s = dr.spec
    err = wildcard_domain_error(s.host)
    if err:
        yield "spec.host", err
    yield from _traffic_policy(s.traffic_policy, "spec.trafficPolicy")
    names: set[str] = set()
    for i, sub in enumerate(s.subsets):
        if sub.name in names:
            yield f"spec.subsets[{i}].name", f"duplicate subset names: {sub.name}"
        names.add(sub.name)
        if not sub.name:
            yield f"spec.subsets[{i}].name", "subset name cannot be empty"
        elif not is_dns_label(sub.name):
            yield f"spec.subsets[{i}].name", f"subset name is invalid: {sub.name}"
        yield from _traffic_policy(sub.traffic_policy, f"spec.subsets[{i}].trafficPolicy")
    yield from _export_to(s.export_to, dr.namespace, "spec.exportTo", dr_selector=s.workload_selector is not None)


# ---------------------------------------------------------------- Gateway

def _server_tls(t: ServerTLSSettings, path: str) -> Iterator[Problem]:
    if t.mode == "ISTIO_MUTUAL":
        for attr, yname in (("server_certificate", "serverCertificate"), ("private_key", "privateKey"),
                            ("ca_certificates", "caCertificates"), ("tls_certificates", "tlsCertificates"),
                            ("credential_name", "credentialName"), ("credential_names", "credentialNames")):
            if getattr(t, attr):
                yield f"{path}.{yname}", f"ISTIO_MUTUAL TLS cannot have an associated {yname}"
        return
    if t.mode in (None, "PASSTHROUGH", "AUTO_PASSTHROUGH") and (
            t.ca_crl or t.server_certificate or t.private_key or t.ca_certificates or t.tls_certificates
            or t.credential_name or t.credential_names):
        yield Warn(path, f"{t.mode or 'PASSTHROUGH'} mode does not use certificates, they will be ignored")
    sources = sum(bool(x) for x in (t.server_certificate and t.private_key, t.credential_name, t.credential_names, t.tls_certificates))
    if sources > 1:
        yield path, "only one of credentialName, credentialNames, serverCertificate/privateKey, tlsCertificates should be specified"
    if t.mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        if t.credential_name or t.credential_names:
            return
        label = "SIMPLE TLS" if t.mode == "SIMPLE" else "MUTUAL TLS"
        if t.mode != "SIMPLE" and not t.ca_certificates:
            yield f"{path}.caCertificates", f"{label} requires a client CA bundle (or credentialName)"
        for i, c in enumerate(t.tls_certificates or [t]):
            p = f"{path}.tlsCertificates[{i}]" if t.tls_certificates else path
            if not c.server_certificate:
                yield f"{p}.serverCertificate", f"{label} requires credentialName, or serverCertificate and privateKey"
            if not c.private_key:
                yield f"{p}.privateKey", f"{label} requires credentialName, or serverCertificate and privateKey"
    if t.ca_crl:
        if t.credential_name:
            yield f"{path}.caCrl", "CRL is not supported with credentialName (put it in the credential)"
        if t.mode == "SIMPLE":
            yield f"{path}.caCrl", "CRL is not supported with SIMPLE TLS"


def _ns_slash_host(h: str, path: str, gateway: bool) -> Iterator[Problem]:
    """ValidateNamespaceSlashWildcardHostname (Gateway servers and Sidecar egress hosts)."""
    ns, slash, dns = h.partition("/")
    if not slash:
        if not gateway:
            yield path, f"host {h!r} must be of the form namespace/dnsName"
            return
        ns, dns = "", h
    elif not ns or not dns:
        yield path, f"namespace and dnsName in host {h!r} cannot be empty"
        return
    elif gateway:
        if ns not in ("*", ".") and not is_dns_label(ns):
            yield path, f"invalid namespace value {ns!r} in gateway host {h!r}"
    else:
        bare = ns.removeprefix("~")
        if bare not in ("", "*", ".") and not is_dns_label(bare):
            yield path, f"invalid namespace value {ns!r} in sidecar host {h!r}"
    if dns != "*" and "." not in dns:
        yield path, f"short names (non FQDN) are not allowed: {dns!r}"
    err = wildcard_domain_error(dns)
    if err and not (gateway and is_ip(dns)):
        yield path, err
    if "*" in dns and len(dns) != 1 and not dns.startswith("*."):
        yield path, f"partial wildcard {dns!r} not allowed"


def gateway(gw: Gateway) -> Iterator[Problem]:
    s = gw.spec
    if not is_dns_label(gw.name):
        yield "metadata.name", f"invalid gateway name {gw.name!r} (a Gateway name is a DNS label: no dots)"
    if not s.servers:
        yield "spec.servers", "a Gateway needs at least one server"
    port_names: set[str] = set()
    for i, srv in enumerate(s.servers):
        p = f"spec.servers[{i}]"
        if not srv.hosts:
            yield f"{p}.hosts", "server config must contain at least one host"
        for j, h in enumerate(srv.hosts):
            yield from _ns_slash_host(h, f"{p}.hosts[{j}]", gateway=True)
        port_ok = srv.port is not None
        if srv.port is not None:
            pp = f"{p}.port"
            proto = parse_protocol(srv.port.protocol)
            if proto == UNSUPPORTED:
                port_ok = False
                yield f"{pp}.protocol", f"invalid protocol {srv.port.protocol!r}, supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, HTTPS, TLS, MONGO, REDIS, MYSQL, TCP"
            if srv.port.number or not srv.bind.startswith("unix://"):
                if not 0 < srv.port.number <= 65535:
                    port_ok = False
                    yield f"{pp}.number", f"port number {srv.port.number} must be in the range 1..65535"
            if srv.port.target_port:
                port_ok = False
                yield f"{pp}.targetPort", "targetPort has no impact on Gateways"
            if not srv.port.name:
                port_ok = False
                yield f"{pp}.name", "port name must be set"
            elif srv.port.name in port_names:
                yield f"{pp}.name", f"port names in servers must be unique: duplicate name {srv.port.name}"
            port_names.add(srv.port.name)
            if srv.tls is not None and srv.tls.https_redirect and not is_http(proto):
                yield Warn(f"{p}.tls.httpsRedirect", "tls.httpsRedirect should only be used with http servers")
        if srv.bind and not srv.bind.startswith("unix://") and not is_ip(srv.bind):
            yield f"{p}.bind", f"bind {srv.bind!r} must be an IP address"
        if srv.tls is not None:
            yield from _server_tls(srv.tls, f"{p}.tls")
        if port_ok and srv.port is not None:
            proto = parse_protocol(srv.port.protocol)
            tls_port = proto in ("HTTPS", "TLS")
            if tls_port and srv.tls is None:
                yield f"{p}.tls", f"server must have TLS settings for {proto}"
            elif not tls_port and srv.tls is not None:
                t = srv.tls
                passthrough = t.mode in (None, "PASSTHROUGH", "AUTO_PASSTHROUGH")
                if is_http(proto):
                    if not passthrough or t.ca_certificates or t.private_key or t.server_certificate:
                        yield f"{p}.tls", "server cannot have TLS settings for plain text HTTP ports (only httpsRedirect)"
                else:
                    yield f"{p}.tls", "server cannot have TLS settings for non HTTPS/TLS ports"


# ---------------------------------------------------------------- ServiceEntry / WorkloadEntry / Sidecar

def _selector(labels: dict[str, str], path: str, what: str) -> Iterator[Problem]:
    for k, v in labels.items():
        if not k:
            yield path, f"empty key is not supported in selector: {k}={v}"
        if "*" in k or "*" in v:
            yield f"{path}.{k}", f"wildcard is not supported in selector: {k}={v}"
    if not labels:
        yield Warn(path, f"{what}: workload selector without labels, will be applied to every workload in the namespace")


def service_entry(se: ServiceEntry) -> Iterator[Problem]:
    s = se.spec
    if s.workload_selector is not None:
        yield from _selector(s.workload_selector.labels, "spec.workloadSelector.labels", "ServiceEntry")
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
        err = _subnet_error(a)
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
            yield from _port(port.target_port, f"{p}.targetPort")
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
                err = fqdn_error(h.removeprefix("*."))
                if err:
                    yield f"spec.hosts[{i}]", f"hosts must be FQDN or contain only prefix wildcards if no endpoints are provided for resolution {res}: {err}"
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
    yield from _export_to(s.export_to, se.namespace, "spec.exportTo", service_entry=True)


def _workload_entry_spec(we, path: str, service_ports: set[str] | None, allow_fqdn: bool) -> Iterator[Problem]:
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
        yield from _port(port, f"{path}.ports.{name}")


def workload_entry(we: WorkloadEntry) -> Iterator[Problem]:
    yield from _workload_entry_spec(we.spec, "spec", None, allow_fqdn=True)


def sidecar(sc: Sidecar) -> Iterator[Problem]:
    s = sc.spec
    if s.workload_selector is not None:
        yield from _selector(s.workload_selector.labels, "spec.workloadSelector.labels", "Sidecar")
    if not s.egress and not s.ingress and s.outbound_traffic_policy is None and s.inbound_connection_pool is None:
        yield "spec", "empty Sidecar: set egress, ingress, outboundTrafficPolicy or inboundConnectionPool"
        return
    seen_ports: set[int] = set()
    for i, ing in enumerate(s.ingress):
        p = f"spec.ingress[{i}]"
        if ing.port is None:
            continue  # reported as required by the parser
        if ing.port.target_port:
            yield f"{p}.port.targetPort", "targetPort has no impact on Sidecars"
        if ing.port.name and not is_dns_label(ing.port.name):
            yield f"{p}.port.name", f"invalid port name: {ing.port.name!r}"
        if ing.port.protocol and parse_protocol(ing.port.protocol) == UNSUPPORTED:
            yield f"{p}.port.protocol", f"unsupported protocol: {ing.port.protocol}"
        yield from _port(ing.port.number, f"{p}.port.number")
        if ing.port.number in seen_ports:
            yield f"{p}.port", "ports on IP bound listeners must be unique"
        seen_ports.add(ing.port.number)
        yield from _connection_pool(ing.connection_pool, f"{p}.connectionPool")
    yield from _connection_pool(s.inbound_connection_pool, "spec.inboundConnectionPool")
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
            if eg.port.target_port:
                yield f"{p}.port.targetPort", "targetPort has no impact on Sidecars"
            if eg.port.name and not is_dns_label(eg.port.name):
                yield f"{p}.port.name", f"invalid port name: {eg.port.name!r}"
            if eg.port.protocol and parse_protocol(eg.port.protocol) == UNSUPPORTED:
                yield f"{p}.port.protocol", f"unsupported protocol: {eg.port.protocol}"
            if eg.port.number == 0:
                if not eg.bind.startswith("unix://"):
                    yield f"{p}.bind", "an egress port 0 needs a unix:// bind address"
            else:
                yield from _port(eg.port.number, f"{p}.port.number")
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
            yield from _ns_slash_host(h, f"{p}.hosts[{j}]", gateway=False)
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
                yield from _destination(otp.egress_proxy, ep)


CHECKS = {
    "VirtualService": virtual_service,
    "DestinationRule": destination_rule,
    "Gateway": gateway,
    "ServiceEntry": service_entry,
    "Sidecar": sidecar,
    "WorkloadEntry": workload_entry,
}


def check(obj: Resource) -> list[Problem]:
    """Every problem of one object: plain pairs are errors, `Warn` pairs are warnings."""
    fn = CHECKS.get(obj.kind)
    return list(fn(obj)) if fn else []
