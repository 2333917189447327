"""simulate(config, request) → Trace: Envoy's request handling replayed over the ProxyConfig that
translate() built (the same one pushed to Envoy): listener → filter chain → route config →
virtual host → route → cluster → endpoints, each step with its verdict and reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from meshtui.errors import UsageError
from meshtui.model.gatewayapi_convert import GATEWAY_API_ROUTE_KINDS, ROUTE_OWNER_KINDS
from meshtui.model.hosts import is_ip, strip_port
from meshtui.model.snapshot import Endpoint, MeshSnapshot, RegistryService
from meshtui.simulate.chains import connection_for, select_chain
from meshtui.simulate.grpc import grpc_code_text, grpc_status_of_http
from meshtui.simulate.matching import explain_route, match_text, string_matches
from meshtui.simulate.request import Request, remove_dot_segments
from meshtui.simulate.server import server_side
from meshtui.simulate.trace import (
    Destination,
    FaultAbort,
    FaultDelay,
    LiveFaultInfo,
    Outcome,
    ResponseHeaderOps,
    Rewrite,
    Stage,
    Trace,
    TraceEndpoint,
    TraceFault,
    TraceMirror,
    TraceRetries,
    Verdict,
)
from meshtui.translate.config import (
    Listener,
    ProxyConfig,
    Ref,
    Route,
    StringMatcher,
    TcpRoute,
    VirtualHost,
    WeightedCluster,
)


def resolve_dns(snapshot: MeshSnapshot | None, proxy_ns: str, host: str) -> tuple[str | None, RegistryService | None]:
    """Kubernetes DNS with the pod's search path (<ns>.svc.<suffix>, svc.<suffix>, <suffix>),
    then ServiceEntry hosts (Istio's DNS proxy). Returns (address or None, service)."""
    if is_ip(host):
        return host, None
    if snapshot is None:
        return None, None
    suffix = snapshot.mesh.domain_suffix
    host = host.rstrip(".").lower()  # DNS names are case-insensitive
    cands = [host]
    if not host.endswith(suffix):
        cands += [f"{host}.{proxy_ns}.svc.{suffix}", f"{host}.svc.{suffix}", f"{host}.{suffix}"]
    for c in cands:
        svcs = snapshot.services_by_host.get(c)
        if svcs:
            svc = next((s for s in svcs if s.namespace == proxy_ns), svcs[0])
            addr = next((a for a in svc.addresses if ":" not in a), None)
            return addr, svc
    return None, None


def simulate(config: ProxyConfig, request: Request) -> Trace:
    t = _simulate(config, request)
    _grpc_local_reply(t)
    return t


def _grpc_local_reply(t: Trace) -> None:
    """A gRPC request that Envoy answers itself gets the gRPC form of the answer (simulate/grpc.py).
    Not for `rejected`: the codec refuses those before the request's headers are read as gRPC."""
    if not t.request.is_grpc or t.status is None or t.outcome in (Outcome.ROUTED, Outcome.REJECTED):
        return
    if t.fault is not None and t.fault.abort is not None and t.fault.abort.grpc_status is not None \
            and t.outcome == Outcome.FAULT_ABORT:
        t.grpc_status = t.fault.abort.grpc_status  # the fault's own grpc-status, sent as is
        return
    t.grpc_status = grpc_status_of_http(t.status)
    t.add(Stage.OUTCOME, Verdict.INFO,
          f"a gRPC request (content-type {t.request.headers.get('content-type')}): Envoy sends this local reply as "
          f"HTTP 200 with no body and grpc-status {grpc_code_text(t.grpc_status)}, the gRPC form of {t.status}")


def _simulate(config: ProxyConfig, request: Request) -> Trace:
    snapshot = config.snapshot
    proxy = config.proxy
    t = Trace(request=request, proxy=proxy, sidecar_scope=config.sidecar_scope)
    router = proxy.type == "router"
    if config.sidecar_scope is not None:
        t.add(Stage.SIDECAR_SCOPE, Verdict.INFO, f"Sidecar {config.sidecar_scope.namespace}/{config.sidecar_scope.name} applies: "
              f"{config.sidecar_scope_reason}", config.sidecar_scope)
    elif not router:
        t.add(Stage.SIDECAR_SCOPE, Verdict.INFO, config.sidecar_scope_reason)

    # -- destination address and port
    address, svc = (None, None) if router else resolve_dns(snapshot, proxy.namespace, request.host)
    port = request.port
    port_note: tuple[Verdict, str] | None = None  # (verdict, detail): the service does not expose the port
    svc_ports = ", ".join(f"{p.port}/{p.name or p.protocol}" for p in svc.ports) if svc is not None else ""
    if port is None:
        if svc is not None and svc.ports:
            if len(svc.ports) > 1:
                raise UsageError(f"{svc.hostname} has several ports ({svc_ports}): "
                                 f"give one in the URL, e.g. {request.scheme}://{request.host}:{svc.ports[0].port}{request.path}")
            port = svc.ports[0].port
        else:
            port = 443 if request.scheme == "https" else 80
        request = request.with_port(port)
        t.request = request
    elif svc is not None and svc.ports and all(p.port != port for p in svc.ports) and not router:
        port_note = (Verdict.WARNING, f"{svc.hostname} does not expose port {port}; its ports: {svc_ports}")
    if not router:
        if svc is not None:
            t.add(Stage.DNS, Verdict.INFO, f"{request.host} resolves to {svc.hostname}" + (f" ({address})" if address else " (no VIP)"),
                  Ref(svc.resource.kind, svc.namespace, svc.name, "", svc.resource.src.file, svc.resource.src.line))
        elif address is None:
            t.add(Stage.DNS, Verdict.INFO, f"{request.host} is not a service in the registry; its address is outside the mesh")
    if port_note is not None:
        t.add(Stage.DNS, *port_note)

    # -- listener
    listener: Listener | None
    if router:
        ports = config.service_ports
        if port in ports:
            target = ports[port]
            via = f"gateway Service port {port} → target port {target}"
        else:
            target = port
            exposed = ", ".join(str(p) for p in sorted(ports)) or "none"
            via = f"pod port {port}; the gateway Service does not expose it (Service ports: {exposed})" if ports else f"port {port}"
        listener = next((ls for ls in config.listeners if ls.port == target), None)
        if listener is None:
            t.add(Stage.LISTENER, Verdict.NO_MATCH, f"no gateway listener on port {target} ({via})")
            t.outcome, t.status = Outcome.BLACKHOLE, None
            t.add(Stage.OUTCOME, Verdict.FINAL, f"connection refused: the gateway does not listen on {target}")
            return t
        t.add(Stage.LISTENER, Verdict.SELECTED, f"{listener.name} ({via})", listener.ref)
    else:
        listener = (config.listener_for(address, port) if address else None) or config.listener_for("0.0.0.0", port)
        if listener is None:
            listener = next((ls for ls in config.listeners if ls.port == port and ls.bind_to_port and ls.kind == "outbound"), None)
        if listener is None:
            vo = config.listener_for("0.0.0.0", 15001)
            t.listener = "virtualOutbound"
            t.add(Stage.LISTENER, Verdict.NO_MATCH,
                  f"no outbound listener for {address or request.host}:{port}; virtualOutbound (15001) takes the connection")
            cluster = vo.default_chain.tcp.clusters[0].cluster if vo and vo.default_chain and vo.default_chain.tcp else "PassthroughCluster"
            return _l4_terminal(t, config, cluster)
        bound = f" (exact {address}:{port})" if listener.address == address else f" (0.0.0.0:{port})"
        t.add(Stage.LISTENER, Verdict.SELECTED, f"{listener.name}{bound}", listener.ref)
    t.listener = listener.name
    for d in listener.dropped:
        t.add(Stage.FILTER_CHAIN, Verdict.SKIPPED, f"{d.label} dropped for this proxy: {d.reason}", d.ref)

    # -- filter chain
    tls = request.scheme == "https"
    conn = connection_for(listener, proxy.ip if router else address, listener.port, tls, request.host, proxy.ip)
    chain, why = select_chain(listener, conn)
    if chain is None:
        t.add(Stage.FILTER_CHAIN, Verdict.NO_MATCH, why)
        t.outcome, t.status = Outcome.BLACKHOLE, None
        t.add(Stage.OUTCOME, Verdict.FINAL, "connection closed: no filter chain matches")
        return t
    t.add(Stage.FILTER_CHAIN, Verdict.SELECTED, f"{chain.name or chain.kind}: {why}", chain.ref)
    if tls and chain.kind == "http" and chain.transport != "tls":
        t.outcome, t.status = Outcome.BLACKHOLE, None
        t.add(Stage.OUTCOME, Verdict.FINAL, "connection closed: the chain expects plaintext HTTP, and a TLS handshake is not HTTP")
        return t
    if chain.kind != "http":
        tcp = chain.tcp
        if tcp is None or not tcp.clusters:
            t.outcome = Outcome.BLACKHOLE
            t.add(Stage.OUTCOME, Verdict.FINAL, "TCP chain without a destination")
            return t
        return _l4_terminal(t, config, tcp.clusters[0].cluster, tcp, request)

    # -- the HTTP codec and connection manager answer some requests themselves (400, 431)
    refused = request.refusal()
    if refused is not None:
        t.outcome, t.status = Outcome.REJECTED, refused.status
        t.add(Stage.OUTCOME, Verdict.FINAL, f"Envoy answers {refused.status} ({refused.details}) before routing: {refused.reason}")
        return t

    # -- the HTTP connection manager normalises the path before routing (normalize_path: true)
    normalized = normalize_path(request.path)
    if normalized != request.path:
        t.add(Stage.FILTER_CHAIN, Verdict.INFO, f"path normalised from {request.path!r} to {normalized!r} (percent-encoded unreserved "
              "characters decoded, RFC 3986 dot segments removed)", expected=request.path, actual=normalized)
        request = replace(request, path=normalized)

    # -- route config and virtual host
    rc = config.route_configs.get(chain.rds or "")
    t.route_config = chain.rds
    if rc is None:
        t.add(Stage.ROUTE_CONFIG, Verdict.NO_MATCH, f"route config {chain.rds!r} was not generated")
        t.outcome, t.status, t.response_flags = Outcome.NO_ROUTE, 404, "NR"
        return t
    t.add(Stage.ROUTE_CONFIG, Verdict.SELECTED, f"route config {rc.name!r} ({rc.vhost_count()} virtual hosts)")
    host_for_vhost = strip_port(request.authority) if rc.ignore_port_in_host_matching else request.authority
    vh, domain = rc.select(host_for_vhost)
    if vh is None:
        t.add(Stage.VIRTUAL_HOST, Verdict.NO_MATCH, f"no virtual host has a domain matching {host_for_vhost!r}")
        t.outcome, t.status, t.response_flags = Outcome.NO_VIRTUAL_HOST, 404, "NR"
        t.add(Stage.OUTCOME, Verdict.FINAL, "404 route_not_found: no virtual host for this authority")
        return t
    t.virtual_host = vh.name
    t.add(Stage.VIRTUAL_HOST, Verdict.SELECTED, f"{vh.name}: domain {domain!r} matches {host_for_vhost!r}", vh.ref)
    for note in vh.notes:
        t.add(Stage.VIRTUAL_SERVICE, Verdict.INFO, note)
    if vh.ref is not None and vh.ref.kind in ROUTE_OWNER_KINDS:  # a VirtualService, or a Gateway API route istiod converted
        t.virtual_service = vh.ref
        t.add(Stage.VIRTUAL_SERVICE, Verdict.SELECTED, f"{vh.ref.kind} {vh.ref.namespace}/{vh.ref.name} owns this host", vh.ref)
    elif vh.kind == "service":
        t.add(Stage.VIRTUAL_SERVICE, Verdict.INFO, "no VirtualService applies to this host: the default route")
    elif vh.kind == "allow_any":
        t.add(Stage.VIRTUAL_HOST, Verdict.INFO, f"the host is outside this proxy's registry; {_outbound_from(config)} "
              "lets it through to its original destination", config.outbound_ref)
    for d in vh.dropped:
        t.add(Stage.ROUTE, Verdict.SKIPPED, f"{d.label} dropped for this proxy: {d.reason}", d.ref)
    if vh.require_tls and request.scheme != "https":
        t.outcome, t.status = Outcome.REDIRECT, 301
        t.location = f"https://{request.authority}{request.path_with_query}"
        t.add(Stage.VIRTUAL_HOST, Verdict.FINAL, f"httpsRedirect: plaintext gets 301 to {t.location}", vh.ref)
        t.add(Stage.OUTCOME, Verdict.FINAL, t.summary())
        return t
    return _routes(t, config, vh, request, rc.name)


def _routes(t: Trace, config: ProxyConfig, vh: VirtualHost, req: Request, rc_name: str = "") -> Trace:
    chosen: Route | None = None
    chosen_index = -1
    for i, r in enumerate(vh.routes):
        why = explain_route(r, req)
        label = _route_label(r)
        if why is None:
            chosen, chosen_index = r, i
            t.add(Stage.ROUTE, Verdict.SELECTED, f"{label} matches: {match_text(r.match)}", r.match_ref or r.ref)
            break
        t.add(Stage.ROUTE, Verdict.NO_MATCH, f"{label}: {why}", r.match_ref or r.ref)
    if chosen is None:
        t.outcome, t.status, t.response_flags = Outcome.NO_ROUTE, 404, "NR"
        detail = "no route of this virtual host matches: Envoy answers 404 (NR); a VirtualService that owns a host has no fallthrough"
        if not vh.routes:
            detail = "this virtual host has no routes: 404 (NR)"
        t.add(Stage.OUTCOME, Verdict.FINAL, detail)
        return t
    r = chosen
    t.route_name, t.rule_index, t.match_index, t.route_ref = r.name, r.rule_index, r.match_index, r.ref
    if r.virtual_service and t.virtual_service is None and r.ref is not None:
        t.virtual_service = r.ref
    if r.ref is not None and r.ref.kind == "VirtualService" and r.virtual_service and (r.ref.namespace, r.ref.name) != r.virtual_service:
        t.add(Stage.VIRTUAL_SERVICE, Verdict.INFO, f"the rule comes from delegate VirtualService {r.ref.namespace}/{r.ref.name}", r.ref)
    _header_result(t, r, req)
    # both filters run before the router
    if r.action is None and (_apply_fault(t, config, r, _prearm_prefix(config, rc_name, vh.name, chosen_index)) or _cors_preflight(t, r, req)):
        return t
    if r.redirect is not None:
        rd = r.redirect
        scheme = rd.scheme or req.scheme
        authority = (rd.host or _redirect_host(req.authority, req.scheme, scheme, rd.port)) + (f":{rd.port}" if rd.port else "")
        path = rd.path if rd.path is not None else req.path
        if rd.path is not None and "?" in rd.path:
            query = ""
        else:
            query = req.query
        t.location = f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")
        t.outcome, t.status = Outcome.REDIRECT, rd.code
        t.add(Stage.OUTCOME, Verdict.FINAL, f"redirect {rd.code} to {t.location}", r.ref)
        return t
    if r.direct_response is not None:
        t.outcome, t.status, t.body = Outcome.DIRECT_RESPONSE, r.direct_response.status, r.direct_response.body
        if r.name == "block_all":
            t.outcome = Outcome.BLACKHOLE
            t.add(Stage.OUTCOME, Verdict.FINAL, f"REGISTRY_ONLY ({_outbound_from(config)}): the host is not in this proxy's registry, "
                  "so the block_all virtual host answers 502", config.outbound_ref)
        else:
            body = f" with body {r.direct_response.body!r}" if r.direct_response.body else ""
            t.add(Stage.OUTCOME, Verdict.FINAL, f"direct response {r.direct_response.status}{body}", r.ref)
        return t
    action = r.action
    assert action is not None
    t.timeout = action.timeout or None
    if action.retry is not None:
        rt = action.retry
        t.retries = TraceRetries(rt.attempts, rt.retry_on, rt.per_try_timeout, rt.retriable_status_codes)
        if rt.ref is not None:
            t.add(Stage.ROUTE, Verdict.INFO, f"retries: {rt.attempts} attempts on {rt.retry_on}: the rule sets none, so MeshConfig "
                  f"defaultHttpRetryPolicy applies ({rt.ref.namespace + '/' if rt.ref.namespace else ''}{rt.ref.name})", rt.ref)
    else:
        t.retries = TraceRetries(0)
    if action.prefix_rewrite is not None or action.regex_rewrite is not None or action.host_rewrite is not None:
        t.rewritten = _rewrite(r, req)
        t.add(Stage.ROUTE, Verdict.INFO, f"rewrite: path {t.rewritten.path!r}, authority {t.rewritten.authority!r}", r.ref)
    for m in action.mirrors:
        t.mirrors.append(TraceMirror(m.cluster, m.host, m.subset, m.percent))
        if m.cluster in config.clusters:
            t.add(Stage.ROUTE, Verdict.INFO, f"mirrors {m.percent:g}% of requests to {m.cluster} (responses are ignored)", r.ref)
        else:
            t.add(Stage.ROUTE, Verdict.WARNING, f"mirrors {m.percent:g}% of requests to {m.cluster}, a cluster this proxy does "
                  "not have: Envoy sends no copy", r.ref)
    if _apply_fault(t, config, r, _prearm_prefix(config, rc_name, vh.name, chosen_index)):
        return t
    if _cors_preflight(t, r, req):  # after the fault filter, before the router (Istio's filter order)
        return t
    if any(c.cluster == "PassthroughCluster" for c in action.clusters):
        t.outcome = Outcome.PASSTHROUGH
        t.add(Stage.CLUSTER, Verdict.SELECTED,
              "PassthroughCluster: ALLOW_ANY sends the request to its original destination, outside the mesh's routing policy")
        t.add(Stage.OUTCOME, Verdict.FINAL, t.summary())
        return t
    _destinations(t, config, action.clusters, not_found_status=action.cluster_not_found_status)
    if t.outcome == Outcome.ROUTED:
        server_side(t, config, req)
    return t


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPED = {'"': "%22", "{": "%7B", "}": "%7D", "|": "%7C", "^": "%5E", "`": "%60", " ": "%20", "<": "%3C", ">": "%3E"}


def normalize_path(path: str) -> str:
    """Envoy's normalize_path (Chromium's path canonicalisation, checked against Envoy 1.40): a
    backslash becomes a slash, %XX of an unreserved character is decoded (%69 -> i, %2e -> .)
    while other escapes stay as written (%2F, %20, %c3), characters that must be escaped are
    (" -> %22, { -> %7B), then dot segments are removed."""
    if "%" not in path and "\\" not in path and not any(c in _ESCAPED for c in path):
        return remove_dot_segments(path)
    out: list[str] = []
    i = 0
    while i < len(path):
        c = path[i]
        hexits = path[i + 1: i + 3]
        if c == "%" and len(hexits) == 2 and all(x in "0123456789abcdefABCDEF" for x in hexits):
            ch = chr(int(hexits, 16))
            out.append(ch if ch in _UNRESERVED else path[i: i + 3])
            i += 3
            continue
        out.append("/" if c == "\\" else _ESCAPED.get(c, c))
        i += 1
    return remove_dot_segments("".join(out))


def _redirect_host(host: str, request_scheme: str, new_scheme: str, new_port: int | None) -> str:
    """Envoy's Http::Utility::processRequestHost: the Host header loses its port when the redirect
    sets a port, or when the scheme changes and the port is the old scheme's default (:80 for
    http, :443 for https). Otherwise it stays as sent, port and all."""
    end = host.rfind("]:") + 1 if host.startswith("[") else host.rfind(":")
    if end <= 0:
        return host
    port = host[end:]
    drop = new_port is not None
    if new_scheme != request_scheme:
        drop = drop or (request_scheme == "https" and port == ":443") or (request_scheme == "http" and port == ":80")
    return host[:end] if drop else host


def _apply_fault(t: Trace, config: ProxyConfig, r: Route, key_prefix: str | None = None) -> bool:
    """The fault filter runs before the CORS filter and the router, so it also aborts a redirect
    or a direct response (a live game-day fault may target any rule). True: every request is
    aborted."""
    if r.fault is None:
        return False
    f = r.fault
    # a live --host/--subset fault on a split route hits only the shares bound for it
    total = sum(c.weight for c in r.action.clusters) or 1 if r.action is not None else 1

    def share(only: tuple[str, ...]) -> float | None:
        return None if not only or r.action is None else \
            sum(c.weight for c in r.action.clusters if c.cluster in only) / total

    def to(only: tuple[str, ...]) -> str:
        p = share(only)
        return "of requests" if p is None else (
            f"of requests to {', '.join(only)} only (that share is {p * 100:g}% of this route's traffic; "
            "its other destinations are not touched)")

    delay = FaultDelay(f.delay_seconds, f.delay_percent / 100, f.delay_clusters, share(f.delay_clusters)) \
        if f.delay_seconds is not None else None
    abort = None
    if f.abort_http_status is not None or f.abort_grpc_status is not None:
        abort = FaultAbort(f.abort_http_status, f.abort_grpc_status, f.abort_percent / 100, f.abort_clusters,
                           share(f.abort_clusters))
    live = None
    if f.live_id:
        keys = [k for k in (f.delay_runtime_key, f.abort_runtime_key) if k]
        if key_prefix is not None:
            # the control plane's pre-armed routes read per-route keys (per share on a split route)
            from meshtui.translate.envoy_json import prearm_keys

            keys = []
            for prefix, cluster in prearm_keys(r, key_prefix):
                if f.delay_runtime_key and (cluster is None or not f.delay_clusters or cluster in f.delay_clusters):
                    keys += [f"{prefix}.delay_percent", f"{prefix}.delay_ms"]
                if f.abort_runtime_key and (cluster is None or not f.abort_clusters or cluster in f.abort_clusters):
                    keys += [f"{prefix}.abort_percent", f"{prefix}.abort_status"]
        live = LiveFaultInfo(f.live_id, tuple(keys))
    fault = TraceFault(delay, abort, live)
    t.fault = fault or None
    src = "live game-day fault " + f.live_id if f.live_id else "VirtualService fault"
    if delay is not None:
        t.add(Stage.FAULT, Verdict.INFO, f"{src}: delay {f.delay_seconds:g}s for {f.delay_percent:g}% {to(f.delay_clusters)}", f.ref)
    if abort is not None:
        code = abort.code_text
        t.add(Stage.FAULT, Verdict.INFO, f"{src}: abort with {code} for {f.abort_percent:g}% {to(f.abort_clusters)}", f.ref)
        if f.abort_percent >= 100 and not f.abort_clusters:
            t.outcome = Outcome.FAULT_ABORT
            t.status = f.abort_http_status if f.abort_http_status is not None else 200
            t.response_flags = "FI"
            t.add(Stage.OUTCOME, Verdict.FINAL, f"every request is aborted by the fault filter with {code} (FI)", f.ref)
            if r.action is not None:
                _destinations(t, config, r.action.clusters, quiet=True)
            return True
    return False


def _cors_origin_allowed(cors: dict[str, Any], origin: str) -> bool:
    """Envoy's CorsFilter::isOriginAllowed: a matcher that also matches the literal "*" allows
    every origin."""
    for o in cors.get("allowOrigins", []):
        m = StringMatcher(o["kind"], o["value"])
        if string_matches(m, origin) or string_matches(m, "*"):
            return True
    return False


def _cors_preflight(t: Trace, r: Route, req: Request) -> bool:
    """Envoy's CORS filter answers a preflight itself (200, no upstream): an OPTIONS request with
    an Origin and an Access-Control-Request-Method, from an allowed origin, or from any origin
    when the policy does not forward unmatched preflights (unmatchedPreflights: IGNORE)."""
    cors = r.cors
    origin = req.headers.get("origin", "")
    if not cors or not origin or req.method != "OPTIONS" or not req.headers.get("access-control-request-method"):
        return False
    allowed = _cors_origin_allowed(cors, origin)
    if not allowed and cors.get("forwardNotMatchingPreflights", True):
        t.add(Stage.CORS, Verdict.INFO, f"CORS preflight from {origin!r}, an origin the policy does not allow: forwarded upstream", r.ref)
        return False
    t.outcome, t.status, t.body = Outcome.DIRECT_RESPONSE, 200, None
    if allowed:
        t.add(Stage.CORS, Verdict.FINAL, f"CORS preflight from allowed origin {origin!r}: the CORS filter answers 200 itself "
              f"(allow-methods {cors.get('allowMethods', '')!r}); the request never reaches a cluster", r.ref)
    else:
        t.add(Stage.CORS, Verdict.FINAL, f"CORS preflight from {origin!r}, an origin the policy does not allow; unmatchedPreflights "
              "IGNORE: the CORS filter answers 200 without CORS headers and does not forward it", r.ref)
    t.add(Stage.OUTCOME, Verdict.FINAL, "direct response 200 from the CORS filter (preflight)", r.ref)
    return True


def _prearm_prefix(config: ProxyConfig, rc_name: str, vh_name: str, index: int) -> str | None:
    opts = config.render_options
    if opts is None or not opts.prearm_faults:
        return None
    from meshtui.translate.envoy_json import route_key

    return route_key(rc_name, vh_name, index)


def _route_label(r: Route) -> str:
    if r.ref is not None and r.ref.kind in GATEWAY_API_ROUTE_KINDS:  # a Gateway API route's rule
        return f"{r.ref.kind} {r.ref.name} {r.ref.path.partition('.matches')[0]}" + (f" ({r.name})" if r.name else "")
    if r.rule_index is not None:
        name = f" ({r.name})" if r.name else ""
        m = f".match[{r.match_index}]" if r.match_index is not None else ""
        return f"http[{r.rule_index}]{m}{name}"
    return f"route {r.name!r}"


def _destinations(t: Trace, config: ProxyConfig, clusters: Sequence[WeightedCluster], quiet: bool = False,
                  not_found_status: int = 503) -> None:
    total = sum(c.weight for c in clusters) or 1
    found_any = False
    healthy_any = False
    for c in clusters:
        cl = config.clusters.get(c.cluster)
        d = Destination(c.host, c.subset, c.port, c.weight, c.weight / total, c.cluster, cl is not None, ref=c.ref)
        if cl is not None:
            found_any = True
            d.destination_rule = cl.destination_rule
            d.traffic_policy = cl.policy
            d.lb_policy = cl.lb_policy
            eps = config.endpoints.get(c.cluster, ())
            d.endpoints = [TraceEndpoint(e.address, e.port, e.pod, tuple(e.labels.items()), e.synthesized, e.cluster, e.network)
                           for e in eps]
            if eps or cl.type in ("ORIGINAL_DST", "STRICT_DNS", "LOGICAL_DNS"):
                healthy_any = True
            if not quiet:
                pct = f" ({d.probability:.0%})" if len(clusters) > 1 else ""
                t.add(Stage.CLUSTER, Verdict.SELECTED, f"{c.cluster}{pct}, {cl.type}, lb {cl.lb_policy}", c.ref)
                if cl.destination_rule is not None:
                    what = f"subset {c.subset!r} labels {cl.subset_labels}; " if c.subset else ""
                    dr = cl.destination_rule
                    t.add(Stage.DESTINATION_RULE, Verdict.INFO, f"DestinationRule {dr.namespace}/{dr.name}: {what}policy {cl.policy or '{}'}", dr)
                for note, nref in cl.mesh_notes:
                    t.add(Stage.CLUSTER, Verdict.INFO, note, nref)
                synth = (" (synthesized from a workload template: the sources hold no Pods or EndpointSlices)"
                         if any(e.synthesized for e in eps) else "")
                verdict = Verdict.SELECTED if eps else Verdict.WARNING
                t.add(Stage.ENDPOINTS, verdict, f"{len(eps)} endpoint{'s' if len(eps) != 1 else ''}: " + ", ".join(
                    f"{e.address}:{e.port}" + _endpoint_where(e) for e in eps[:8]) + (" ..." if len(eps) > 8 else "") + synth + _by_cluster(eps)
                    if eps else f"no healthy endpoints for {c.cluster}" + (f" (subset labels {cl.subset_labels} select no pod)" if c.subset else ""))
        elif not quiet:
            reason, dr_ref = (_missing_subset(config, c.host, c.subset) if c.subset
                              else (f"{c.host}:{c.port} is not a service in this proxy's scope", None))
            t.add(Stage.CLUSTER, Verdict.NO_MATCH, f"cluster {c.cluster} does not exist: {reason}", c.ref)
            if dr_ref is not None:
                t.add(Stage.DESTINATION_RULE, Verdict.INFO, f"DestinationRule {dr_ref.namespace}/{dr_ref.name} is the one in effect "
                      f"for {c.host} from this proxy, and it has no subset {c.subset!r}", dr_ref)
        t.destinations.append(d)
    if quiet:
        return
    if not found_any:
        t.outcome, t.status, t.response_flags = Outcome.CLUSTER_NOT_FOUND, not_found_status, "NC"
        why = " (cluster_not_found_response_code: Gateway API routes answer 500 for a backend that is missing or not permitted)" \
            if not_found_status != 503 else ""
        t.add(Stage.OUTCOME, Verdict.FINAL, f"{not_found_status} cluster_not_found (NC): the route names a cluster Envoy does not have{why}")
    elif not healthy_any:
        t.outcome, t.status, t.response_flags = Outcome.NO_HEALTHY_UPSTREAM, 503, "UH"
        t.add(Stage.OUTCOME, Verdict.FINAL, "503 no healthy upstream (UH): the cluster has no endpoints")
    else:
        t.outcome, t.status = Outcome.ROUTED, None
        missing = [d for d in t.destinations if not d.cluster_found]
        if missing:
            t.add(Stage.OUTCOME, Verdict.WARNING, f"{sum(d.probability for d in missing):.0%} of requests name a missing cluster and get 503 NC")
        t.add(Stage.OUTCOME, Verdict.FINAL, t.summary())


def _missing_subset(config: ProxyConfig, host: str, subset: str) -> tuple[str, Ref | None]:
    """Why a subset has no cluster: the DestinationRule in effect (and its tier) does not define
    it; name the rules for the host that do but that this proxy does not use, and why."""
    choice = config.dr_choice(host)
    defining = [o for o in (choice.others if choice is not None else ()) if subset in o.subsets]
    also = "".join(f"; DestinationRule {o.ref.namespace}/{o.ref.name} defines it, but {o.why}" for o in defining)
    if choice is None or choice.in_effect is None:
        if not defining:
            return f"subset {subset!r} is not defined in any DestinationRule for {host}", None
        return f"subset {subset!r}: no DestinationRule for {host} applies to this proxy{also}", None
    dr = choice.in_effect
    tier = choice.tier.replace("-", " ") or "its"
    return (f"subset {subset!r} is not defined in DestinationRule {dr.namespace}/{dr.name}, the one in effect for {host} "
            f"from this proxy ({tier} tier){also}", dr)


def _l4_terminal(t: Trace, config: ProxyConfig, cluster: str, tcp: TcpRoute | None = None, req: Request | None = None) -> Trace:
    if cluster == "PassthroughCluster":
        t.outcome = Outcome.PASSTHROUGH
        t.add(Stage.CLUSTER, Verdict.SELECTED, f"PassthroughCluster: the connection goes to its original destination ({_outbound_from(config)})",
              config.outbound_ref)
    elif cluster == "BlackHoleCluster":
        t.outcome, t.status = Outcome.BLACKHOLE, None
        t.add(Stage.CLUSTER, Verdict.SELECTED, f"BlackHoleCluster: REGISTRY_ONLY resets connections to destinations outside the registry "
              f"({_outbound_from(config)})", config.outbound_ref)
    else:
        if tcp is not None:
            _destinations(t, config, tcp.clusters)
            if req is not None and t.outcome == Outcome.ROUTED:
                server_side(t, config, req, http=False)  # the server's TCP chain and network RBAC
            return t
    t.add(Stage.OUTCOME, Verdict.FINAL, t.summary())
    return t


def _endpoint_where(e: Endpoint) -> str:
    parts = [e.pod] if e.pod else []
    if e.cluster:
        parts.append(f"cluster {e.cluster}" + (f", network {e.network}" if e.network else ""))
    return f" ({'; '.join(parts)})" if parts else ""


def _by_cluster(eps: Sequence[Endpoint]) -> str:
    """Several clusters: how the endpoints split between them (multi-primary merges them)."""
    counts: dict[str, int] = {}
    for e in eps:
        if e.cluster:
            counts[e.cluster] = counts.get(e.cluster, 0) + 1
    if len(counts) < 2:
        return ""
    return "; across clusters: " + ", ".join(f"{c} {n}" for c, n in counts.items())


def _outbound_from(config: ProxyConfig) -> str:
    return config.outbound_from or config.outbound_policy


def _header_result(t: Trace, r: Route, req: Request) -> None:
    ops_req = r.request_headers
    if ops_req or (r.action and r.action.weighted is False and r.action.clusters and r.action.clusters[0].request_headers):
        headers = dict(req.headers)
        for k in ops_req.remove:
            headers.pop(k.lower(), None)
        for k, v in ops_req.set:
            headers[k.lower()] = v
        for k, v in ops_req.add:
            headers[k.lower()] = f"{headers[k.lower()]},{v}" if k.lower() in headers else v
        t.request_headers = headers
        t.add(Stage.ROUTE, Verdict.INFO,
              "request headers after the route's operations: " + ", ".join(f"{k}: {v}" for k, v in sorted(headers.items())), r.ref)
    if r.response_headers:
        ops = r.response_headers
        t.response_headers = ResponseHeaderOps(ops.set, ops.add, ops.remove)


def _rewrite(r: Route, req: Request) -> Rewrite:
    a = r.action
    assert a is not None  # only routes with an action rewrite
    path = req.path
    if a.prefix_rewrite is not None:
        m = r.match
        if m.path_kind in ("prefix", "path_separated_prefix"):
            matched = m.path if m.case_sensitive else path[: len(m.path)]
            path = a.prefix_rewrite + path[len(matched):]
        elif m.path_kind == "path":
            path = a.prefix_rewrite
        else:
            path = a.prefix_rewrite + path[len(path):]
    elif a.regex_rewrite is not None:
        from meshtui.model.regex import compile_re2

        pattern, sub = a.regex_rewrite
        path = compile_re2(pattern).sub(sub.replace("\\", "\\"), path)
    return Rewrite(path + (f"?{req.query}" if req.query else ""), a.host_rewrite or req.authority)
