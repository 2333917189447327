"""VirtualService checks (istio pkg/config/validation: virtualservice.go, validation.go)."""

from __future__ import annotations

from collections.abc import Iterator

from meshtui.model.hosts import matches as host_matches  # Istio host.Name.Matches
from meshtui.model.hosts import subset_of as host_subset_of  # Istio host.Name.SubsetOf
from meshtui.model.istio import (
    Destination,
    Headers,
    HTTPRoute,
    HTTPRouteDestination,
    L4MatchAttributes,
    RouteDestination,
    StringMatch,
    TLSMatchAttributes,
    VirtualService,
)
from meshtui.model.regex import regex_error
from meshtui.model.validate.common import (
    Problem,
    Warn,
    duration,
    export_to,
    gateway_names,
    is_dns_label,
    is_ip,
    labels,
    port_range,
    subnet_error,
    wildcard_domain_error,
)

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


def destination(d: Destination | None, path: str) -> Iterator[Problem]:
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
        yield from port_range(d.port.number, f"{path}.port.number")


def _destinations(routes: tuple[RouteDestination | HTTPRouteDestination, ...], path: str) -> Iterator[Problem]:
    total = 0
    for i, d in enumerate(routes):
        p = f"{path}[{i}]"
        if d.destination is None:
            yield f"{p}.destination", "destination is required"
        yield from destination(d.destination, f"{p}.destination")
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
        yield from labels(m.source_labels, f"{mp}.sourceLabels")
        yield from gateway_names(m.gateways, f"{mp}.gateways")
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
            yield from duration(c.max_age, f"{path}.corsPolicy.maxAge")
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
            yield from duration(d.fixed_delay, f"{dp}.fixedDelay")
            if d.exponential_delay is not None:
                yield from duration(d.exponential_delay, f"{dp}.exponentialDelay")
                yield f"{dp}.exponentialDelay", "exponentialDelay is not supported yet"

    # mirrors
    if r.mirror_percent is not None and r.mirror_percent > 100:
        yield f"{path}.mirrorPercent", f"mirrorPercent must have a max value of 100 (it has {r.mirror_percent})"
    if r.mirror_percent is not None:
        yield Warn(f"{path}.mirrorPercent", 'deprecated setting "mirrorPercent", use "mirrorPercentage" instead')
    yield from destination(r.mirror, f"{path}.mirror")
    for i, mirror in enumerate(r.mirrors):
        yield from destination(mirror.destination, f"{path}.mirrors[{i}].destination")

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
            yield from port_range(rd.port, f"{rp}.port")

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
        yield from duration(rt.per_try_timeout, f"{rp}.perTryTimeout")
        if rt.retry_on:
            for policy in rt.retry_on.split(","):
                if policy not in _RETRY_ON and not (policy.isdigit() and int(policy) in _HTTP_CODES):
                    yield f"{rp}.retryOn", f"{policy!r} is not a valid retryOn policy"
        yield from duration(rt.backoff, f"{rp}.backoff")

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
    for i, dest in enumerate(r.route):
        yield from _header_ops(dest.headers, f"{path}.route[{i}].headers")
    yield from duration(r.timeout, f"{path}.timeout")


def _l4_match(m: L4MatchAttributes | TLSMatchAttributes, path: str) -> Iterator[Problem]:
    """What validateTCPMatch and validateTLSMatch share (the port is checked as it is parsed)."""
    for k, sub in enumerate(m.destination_subnets):
        err = subnet_error(sub)
        if err:
            yield f"{path}.destinationSubnets[{k}]", err
    yield from labels(m.source_labels, f"{path}.sourceLabels")
    yield from gateway_names(m.gateways, f"{path}.gateways")


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
    yield from gateway_names(s.gateways, "spec.gateways")
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
    for i, http in enumerate(s.http):
        yield from _http_route(http, f"spec.http[{i}]", delegate)
    for i, tls in enumerate(s.tls):
        p = f"spec.tls[{i}]"
        if not tls.match:
            yield f"{p}.match", "a TLS route must have at least one match with sniHosts"
        for j, sm in enumerate(tls.match):
            mp = f"{p}.match[{j}]"
            if not sm.sni_hosts:
                yield f"{mp}.sniHosts", "a TLS match must have at least one SNI host"
            for k, sni in enumerate(sm.sni_hosts):
                err = wildcard_domain_error(sni)
                if err:
                    if is_ip(sni):
                        yield Warn(f"{mp}.sniHosts[{k}]", f"using an IP address ({sni!r}) as SNI goes against the SNI spec")
                    elif not (applies_to_gateway and sni.startswith("outbound_")):
                        yield f"{mp}.sniHosts[{k}]", err
                elif not any(host_subset_of(sni, h) for h in s.hosts):
                    yield f"{mp}.sniHosts[{k}]", (f"SNI host {sni!r} is not a compatible subset of any of the "
                                                  f"virtual service hosts: [{', '.join(s.hosts)}]")
            yield from _l4_match(sm, mp)
        if not tls.route:
            yield f"{p}.route", "a TLS route needs a route"
        yield from _destinations(tls.route, f"{p}.route")
    for i, tcp in enumerate(s.tcp):
        p = f"spec.tcp[{i}]"
        for j, lm in enumerate(tcp.match):
            yield from _l4_match(lm, f"{p}.match[{j}]")
        if not tcp.route:
            yield f"{p}.route", "a TCP route needs a route"
        yield from _destinations(tcp.route, f"{p}.route")
    yield from export_to(s.export_to, vs.namespace, "spec.exportTo")
