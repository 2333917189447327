"""ProxyConfig → Envoy v3 JSON (proto3 JSON names, `@type` on Any fields): what the xDS server
parses into protobufs and what a static bootstrap embeds. Pure data; no protobuf import here."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from meshtui.model.snapshot import Endpoint
from meshtui.translate.client_tls import cluster_mtls, endpoint_gets_mtls
from meshtui.translate.config import (
    Cluster,
    EnvoyResources,
    Fault,
    FilterChain,
    HashPolicy,
    HeaderMatcher,
    HeaderOps,
    Listener,
    ProxyConfig,
    Retry,
    Route,
    RouteConfig,
    StringMatcher,
    VirtualHost,
    WeightedCluster,
)
from meshtui.translate.inbound_json import TLS_MATCH_METADATA, InboundRender, apply_client_mtls, inbound_listener_json

T = "type.googleapis.com/"
HCM = T + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_PROXY = T + "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
FAULT = T + "envoy.extensions.filters.http.fault.v3.HTTPFault"
CORS_FILTER = T + "envoy.extensions.filters.http.cors.v3.Cors"
CORS_POLICY = T + "envoy.extensions.filters.http.cors.v3.CorsPolicy"
ROUTER = T + "envoy.extensions.filters.http.router.v3.Router"
PREVIOUS_HOSTS = T + "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
TLS_INSPECTOR = T + "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
HTTP_INSPECTOR = T + "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector"
ORIGINAL_DST = T + "envoy.extensions.filters.listener.original_dst.v3.OriginalDst"

FAULT_FILTER = "envoy.filters.http.fault"
CORS_NAME = "envoy.filters.http.cors"
ADS = {"ads": {}, "resource_api_version": "V3"}

_REDIRECT_CODES = {301: "MOVED_PERMANENTLY", 302: "FOUND", 303: "SEE_OTHER", 307: "TEMPORARY_REDIRECT", 308: "PERMANENT_REDIRECT"}


def dur(seconds: float) -> str:
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"{text or '0'}s"


def fraction(percent: float) -> dict[str, Any]:
    return {"numerator": round(percent * 10000), "denominator": "MILLION"}


def _sm(m: StringMatcher) -> dict[str, Any]:
    if m.kind == "exact":
        out: dict[str, Any] = {"exact": m.value or ""}
    elif m.kind == "prefix":
        out = {"prefix": m.value or ""}
    else:
        out = {"safe_regex": {"regex": m.value or ""}}
    if m.ignore_case and m.kind != "regex":
        out["ignore_case"] = True
    return out


def _header(h: HeaderMatcher) -> dict[str, Any]:
    out: dict[str, Any] = {"name": h.name}
    if h.match.kind == "present":
        out["present_match"] = True
    else:
        out["string_match"] = _sm(h.match)
    if h.invert:
        out["invert_match"] = True
    if h.treat_missing_as_empty:
        out["treat_missing_header_as_empty"] = True
    return out


def _ops(ops: HeaderOps, direction: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    adds = [{"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"} for k, v in ops.set]
    adds += [{"header": {"key": k, "value": v}, "append_action": "APPEND_IF_EXISTS_OR_ADD"} for k, v in ops.add]
    if adds:
        out[f"{direction}_headers_to_add"] = adds
    if ops.remove:
        out[f"{direction}_headers_to_remove"] = list(ops.remove)
    return out


def _retry(r: Retry) -> dict[str, Any]:
    out: dict[str, Any] = {"retry_on": r.retry_on, "num_retries": r.attempts,
                           "host_selection_retry_max_attempts": str(r.host_selection_retry_max_attempts)}
    if r.per_try_timeout:
        out["per_try_timeout"] = dur(r.per_try_timeout)
    if r.retriable_status_codes:
        out["retriable_status_codes"] = list(r.retriable_status_codes)
    if r.previous_hosts:
        out["retry_host_predicate"] = [{"name": "envoy.retry_host_predicates.previous_hosts",
                                        "typed_config": {"@type": PREVIOUS_HOSTS}}]
    if r.backoff:
        out["retry_back_off"] = {"base_interval": dur(r.backoff)}
    return out


def _fault(f: Fault) -> dict[str, Any]:
    out: dict[str, Any] = {"@type": FAULT}
    if f.delay_seconds is not None:
        out["delay"] = {"fixed_delay": dur(f.delay_seconds),
                        "percentage": fraction(0.0 if f.delay_runtime_key else f.delay_percent)}
        if f.delay_runtime_key:
            out["delay_percent_runtime"] = f.delay_runtime_key
    if f.abort_http_status is not None or f.abort_grpc_status is not None:
        abort: dict[str, Any] = {"percentage": fraction(0.0 if f.abort_runtime_key else f.abort_percent)}
        if f.abort_http_status is not None:
            abort["http_status"] = f.abort_http_status
        else:
            abort["grpc_status"] = f.abort_grpc_status
        out["abort"] = abort
        if f.abort_runtime_key:
            out["abort_percent_runtime"] = f.abort_runtime_key
    return out


def _wc(c: WeightedCluster, fault: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.cluster, "weight": c.weight}
    if fault is not None:
        # the most specific config: Envoy's fault filter takes it over the route's for this share
        out["typed_per_filter_config"] = {FAULT_FILTER: fault}
    out.update(_ops(c.request_headers, "request"))
    out.update(_ops(c.response_headers, "response"))
    return out


def _hash(hp: HashPolicy) -> dict[str, Any]:
    if hp.kind == "header":
        return {"header": {"header_name": hp.name}}
    if hp.kind == "cookie":
        c: dict[str, Any] = {"name": hp.name}
        if hp.ttl is not None:
            c["ttl"] = dur(hp.ttl)
        if hp.path:
            c["path"] = hp.path
        return {"cookie": c}
    if hp.kind == "source_ip":
        return {"connection_properties": {"source_ip": True}}
    return {"query_parameter": {"name": hp.name}}


def route_key(rc_name: str, vh_name: str, index: int) -> str:
    """The runtime-key prefix of one route in pre-armed mode: stable for the same route config,
    virtual host and position, whatever faults come and go."""
    digest = hashlib.sha1(f"{rc_name}|{vh_name}|{index}".encode()).hexdigest()[:12]
    return f"meshtui.r.{digest}"


def _prearmed_fault(r: Route, key: str) -> dict[str, Any]:
    """A fault filter config that does nothing until runtime keys say so: the route's own
    (VirtualService) fault stays the default; `<key>.abort_percent`, `.abort_status`,
    `.delay_percent` and `.delay_ms` override it."""
    f = r.fault
    if f is not None and f.live_id:
        f = f.static
    out: dict[str, Any] = {"@type": FAULT}
    delay_s = f.delay_seconds if f is not None and f.delay_seconds is not None else 0.001
    out["delay"] = {"fixed_delay": dur(delay_s), "percentage": fraction(f.delay_percent if f is not None and f.delay_seconds is not None else 0.0)}
    aborts = f is not None and (f.abort_http_status is not None or f.abort_grpc_status is not None)
    abort: dict[str, Any] = {"percentage": fraction(f.abort_percent if f is not None and aborts else 0.0)}
    if f is not None and f.abort_grpc_status is not None and f.abort_http_status is None:
        abort["grpc_status"] = f.abort_grpc_status
    else:
        abort["http_status"] = f.abort_http_status if f is not None and f.abort_http_status is not None else 503
    out["abort"] = abort
    out["delay_percent_runtime"] = f"{key}.delay_percent"
    out["delay_duration_runtime"] = f"{key}.delay_ms"
    out["abort_percent_runtime"] = f"{key}.abort_percent"
    out["abort_http_status_runtime"] = f"{key}.abort_status"
    return out


def share_key(key: str, index: int) -> str:
    """The runtime-key prefix of one weighted cluster (share) of a pre-armed split route."""
    return f"{key}.w{index}"


def _share_fault(r: Route, cluster: str, prearm_key: str | None, index: int) -> dict[str, Any] | None:
    """The fault config of one share of a split route: pre-armed with the share's own keys, or a
    live fault limited to some shares (the others keep the route's own fault)."""
    if prearm_key is not None:
        return _prearmed_fault(r, share_key(prearm_key, index))
    f = r.fault
    if f is None or not (f.abort_clusters or f.delay_clusters):
        return None
    g = f.for_cluster(cluster)
    return _fault(g) if g is not None else None


def prearm_keys(r: Route, key: str) -> list[tuple[str, str | None]]:
    """(runtime-key prefix, weighted cluster or None) for every fault config of a pre-armed
    route: one per share of a split route (each share has its own, so a subset fault can hit one
    share), else one for the route."""
    if r.action is not None and r.action.weighted:
        return [(share_key(key, i), c.cluster) for i, c in enumerate(r.action.clusters)]
    return [(key, None)]


def prearm_runtime(route_configs: Iterable[RouteConfig]) -> dict[str, Any]:
    """The runtime values that carry the live faults of pre-armed route configs."""
    out: dict[str, Any] = {}
    for rc in route_configs:
        for vh in rc.virtual_hosts:
            for i, r in enumerate(vh.routes):
                if r.fault is None or not r.fault.live_id:
                    continue
                for key, cluster in prearm_keys(r, route_key(rc.name, vh.name, i)):
                    f = r.fault if cluster is None else r.fault.for_cluster(cluster)
                    if f is None:
                        continue
                    if f.abort_runtime_key and f.abort_http_status is not None:
                        out[f"{key}.abort_percent"] = fraction(f.abort_percent)
                        out[f"{key}.abort_status"] = f.abort_http_status
                    if f.delay_runtime_key and f.delay_seconds is not None:
                        out[f"{key}.delay_percent"] = fraction(f.delay_percent)
                        out[f"{key}.delay_ms"] = max(1, round(f.delay_seconds * 1000))
    return out


def route_json(r: Route, prearm_key: str | None = None) -> dict[str, Any]:
    m = r.match
    match: dict[str, Any] = {{"prefix": "prefix", "path": "path", "regex": "safe_regex",
                              "path_separated_prefix": "path_separated_prefix"}[m.path_kind]:
                             ({"regex": m.path} if m.path_kind == "regex" else m.path)}
    match["case_sensitive"] = m.case_sensitive
    if m.headers:
        match["headers"] = [_header(h) for h in m.headers]
    if m.query:
        qs = []
        for q in m.query:
            qm: dict[str, Any] = {"name": q.name}
            if q.match.kind == "present":
                qm["present_match"] = True
            else:
                qm["string_match"] = _sm(q.match)
            qs.append(qm)
        match["query_parameters"] = qs
    out: dict[str, Any] = {"name": r.name, "match": match}
    if r.redirect is not None:
        rd = r.redirect
        red: dict[str, Any] = {"response_code": _REDIRECT_CODES.get(rd.code, "MOVED_PERMANENTLY")}
        if rd.scheme:
            red["scheme_redirect"] = rd.scheme
        if rd.host:
            red["host_redirect"] = rd.host
        if rd.port:
            red["port_redirect"] = rd.port
        if rd.path is not None:
            red["path_redirect"] = rd.path
        if rd.prefix_rewrite is not None:
            red["prefix_rewrite"] = rd.prefix_rewrite
        out["redirect"] = red
    elif r.direct_response is not None:
        dr: dict[str, Any] = {"status": r.direct_response.status}
        if r.direct_response.body is not None:
            dr["body"] = {"inline_string": r.direct_response.body}
        out["direct_response"] = dr
    elif r.action is not None:
        a = r.action
        act: dict[str, Any] = {}
        if a.weighted:
            act["weighted_clusters"] = {"clusters": [_wc(c, _share_fault(r, c.cluster, prearm_key, i))
                                                     for i, c in enumerate(a.clusters)]}
        else:
            act["cluster"] = a.clusters[0].cluster if a.clusters else "BlackHoleCluster"
        act["timeout"] = dur(a.timeout)
        if a.cluster_not_found_status == 500:
            act["cluster_not_found_response_code"] = "INTERNAL_SERVER_ERROR"
        if a.retry is not None:
            act["retry_policy"] = _retry(a.retry)
        if a.prefix_rewrite is not None:
            act["prefix_rewrite"] = a.prefix_rewrite
        if a.regex_rewrite is not None:
            act["regex_rewrite"] = {"pattern": {"regex": a.regex_rewrite[0]}, "substitution": a.regex_rewrite[1]}
        if a.host_rewrite is not None:
            act["host_rewrite_literal"] = a.host_rewrite
        if a.mirrors:
            act["request_mirror_policies"] = [{"cluster": mi.cluster, "runtime_fraction": {"default_value": fraction(mi.percent)},
                                               "trace_sampled": False} for mi in a.mirrors]
        if a.hash_policy:
            act["hash_policy"] = [_hash(h) for h in a.hash_policy]
        out["route"] = act
    per_filter: dict[str, Any] = {}
    weighted = r.action is not None and r.action.weighted and r.redirect is None and r.direct_response is None
    if prearm_key is not None and not weighted:
        per_filter[FAULT_FILTER] = _prearmed_fault(r, prearm_key)
    elif r.fault is not None and not (weighted and (prearm_key is not None or r.fault.abort_clusters
                                                     or r.fault.delay_clusters)):
        per_filter[FAULT_FILTER] = _fault(r.fault)
    if r.cors:
        c = r.cors
        pol: dict[str, Any] = {"@type": CORS_POLICY}
        if "allowOrigins" in c:
            pol["allow_origin_string_match"] = [_sm(StringMatcher(o["kind"], o["value"])) for o in c["allowOrigins"]]
        for k, ek in (("allowMethods", "allow_methods"), ("allowHeaders", "allow_headers"),
                      ("exposeHeaders", "expose_headers"), ("maxAge", "max_age")):
            if k in c:
                pol[ek] = c[k]
        if "allowCredentials" in c:
            pol["allow_credentials"] = c["allowCredentials"]
        pol["forward_not_matching_preflights"] = c.get("forwardNotMatchingPreflights", True)
        per_filter[CORS_NAME] = pol
    if per_filter:
        out["typed_per_filter_config"] = per_filter
    out.update(_ops(r.request_headers, "request"))
    out.update(_ops(r.response_headers, "response"))
    if r.virtual_service is not None:
        ns, name = r.virtual_service
        out["metadata"] = {"filter_metadata": {"istio": {"config": f"/apis/networking.istio.io/v1/namespaces/{ns}/virtual-service/{name}"}}}
    if r.decorator:
        out["decorator"] = {"operation": r.decorator}
    if r.stat_prefix:
        out["stat_prefix"] = r.stat_prefix  # the match's statPrefix (Istio's translateRoute)
    return out


def vhost_json(vh: VirtualHost, prearm_rc: str | None = None) -> dict[str, Any]:
    """`prearm_rc`: the route config's name, to pre-arm every route's fault filter."""
    routes = [route_json(r, route_key(prearm_rc, vh.name, i) if prearm_rc is not None else None)
              for i, r in enumerate(vh.routes)]
    out: dict[str, Any] = {"name": vh.name, "domains": list(vh.domains), "routes": routes,
                           "include_request_attempt_count": True}
    if vh.require_tls:
        out["require_tls"] = "ALL"
    return out


def route_config_json(rc: RouteConfig, prearm: bool = False) -> dict[str, Any]:
    return {"name": rc.name, "virtual_hosts": [vhost_json(v, rc.name if prearm else None) for v in rc.virtual_hosts],
            "validate_clusters": False,
            "ignore_port_in_host_matching": rc.ignore_port_in_host_matching,
            "max_direct_response_body_size_bytes": 1048576}


def _hcm(stat: str, chain: FilterChain, cfg: ProxyConfig | None, inline: bool, route_config: dict[str, Any] | None = None) -> dict[str, Any]:
    hcm: dict[str, Any] = {
        "@type": HCM, "stat_prefix": stat, "normalize_path": True, "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
        "http_filters": [
            {"name": FAULT_FILTER, "typed_config": {"@type": FAULT}},
            {"name": CORS_NAME, "typed_config": {"@type": CORS_FILTER}},
            {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}},
        ],
    }
    if route_config is not None:
        hcm["route_config"] = route_config
    elif inline:
        rc = cfg.route_configs.get(chain.rds or "") if cfg is not None else None
        hcm["route_config"] = route_config_json(rc) if rc is not None else {"name": chain.rds or "", "virtual_hosts": []}
    else:
        hcm["rds"] = {"route_config_name": chain.rds, "config_source": ADS}
    return hcm


def _inbound_hcm(stat: str, chain: FilterChain, rbac: list[dict[str, Any]], route_config: dict[str, Any]) -> dict[str, Any]:
    """An inbound chain's HCM: the RBAC filters first, then the same filters as outbound, and
    the route configuration inline (istiod sends no RDS for inbound)."""
    hcm = _hcm(stat, chain, None, inline=True, route_config=route_config)
    hcm["http_filters"] = rbac + hcm["http_filters"]
    # the peer certificate goes to the application (istiod's sidecar inbound default)
    hcm["forward_client_cert_details"] = "APPEND_FORWARD"
    hcm["set_current_client_cert_details"] = {"subject": True, "dns": True, "uri": True}
    return hcm


def _inbound_tcp(cluster: str, chain: FilterChain) -> dict[str, Any]:
    return {"@type": TCP_PROXY, "stat_prefix": cluster, "cluster": cluster}


def _tcp(stat: str, chain: FilterChain) -> dict[str, Any]:
    out: dict[str, Any] = {"@type": TCP_PROXY, "stat_prefix": stat}
    clusters = chain.tcp.clusters if chain.tcp else ()
    if len(clusters) == 1 or not clusters:
        out["cluster"] = clusters[0].cluster if clusters else "BlackHoleCluster"
    else:
        out["weighted_clusters"] = {"clusters": [{"name": c.cluster, "weight": c.weight} for c in clusters]}
    return out


def _cidrs(prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for p in prefixes:
        addr, _, plen = p.partition("/")
        out.append({"address_prefix": addr, "prefix_len": int(plen) if plen else (128 if ":" in addr else 32)})
    return out


def _chain(ch: FilterChain, listener: Listener, cfg: ProxyConfig, inline: bool, bound: bool) -> dict[str, Any]:
    stat = f"{listener.kind}_{listener.name}"
    if ch.kind == "http":
        filt = {"name": "envoy.filters.network.http_connection_manager", "typed_config": _hcm(stat, ch, cfg, inline)}
    else:
        filt = {"name": "envoy.filters.network.tcp_proxy", "typed_config": _tcp(stat, ch)}
    out: dict[str, Any] = {"filters": [filt]}
    if ch.name:
        out["name"] = ch.name
    fcm: dict[str, Any] = {}
    if ch.destination_port is not None:
        fcm["destination_port"] = ch.destination_port
    if ch.server_names:
        fcm["server_names"] = list(ch.server_names)
    if ch.prefix_ranges:
        fcm["prefix_ranges"] = _cidrs(ch.prefix_ranges)
    if ch.source_type:
        fcm["source_type"] = ch.source_type
    if ch.source_prefix_ranges:
        fcm["source_prefix_ranges"] = _cidrs(ch.source_prefix_ranges)
    if ch.source_ports:
        fcm["source_ports"] = list(ch.source_ports)
    if not bound:  # a bound test listener carries only HTTP; inspectors and ALPN matches are for iptables capture
        if ch.transport:
            fcm["transport_protocol"] = ch.transport
        if ch.application_protocols:
            fcm["application_protocols"] = list(ch.application_protocols)
    elif ch.transport == "tls":
        fcm["transport_protocol"] = "tls"
    if fcm:
        out["filter_chain_match"] = fcm
    return out


def listener_json(ls: Listener, cfg: ProxyConfig, inline: bool = False, bind_address: str | None = None,
                  inbound: InboundRender | None = None) -> dict[str, Any] | None:
    if ls.kind == "inbound":
        # needs certificates (SDS from an istio-agent, or files): rendered only when asked for
        return inbound_listener_json(ls, inbound, _inbound_hcm, _inbound_tcp) if inbound is not None else None
    bound = bind_address is not None
    address = ls.address
    bind = ls.bind_to_port
    if bind_address is not None:
        if ls.kind == "virtual" or (ls.address != "0.0.0.0" and ls.kind != "gateway"):
            return None  # iptables-only listeners and VIP listeners cannot be bound on loopback
        address, bind = bind_address, True
    chains = [c for c in ls.chains if not (inline and c.transport == "tls" and c.kind == "http")]  # no certificates offline
    if not chains and ls.default_chain is None:
        return None
    out: dict[str, Any] = {
        "name": ls.name,
        "address": {"socket_address": {"address": address, "port_value": ls.port}},
        "filter_chains": [_chain(c, ls, cfg, inline, bound) for c in chains],
        "traffic_direction": "INBOUND" if ls.kind == "gateway" else "OUTBOUND",
    }
    if not bind:
        out["bind_to_port"] = False
    if ls.default_chain is not None:
        out["default_filter_chain"] = _chain(ls.default_chain, ls, cfg, inline, bound)
    if ls.kind == "virtual":
        out["use_original_dst"] = True
    filters = []
    if ls.kind == "virtual":
        filters.append({"name": "envoy.filters.listener.original_dst", "typed_config": {"@type": ORIGINAL_DST}})
    if not bound or any(c.transport == "tls" for c in chains):
        if any(c.server_names or c.transport == "tls" for c in chains):
            filters.append({"name": "envoy.filters.listener.tls_inspector", "typed_config": {"@type": TLS_INSPECTOR}})
    if not bound and any(c.application_protocols for c in chains):
        filters.append({"name": "envoy.filters.listener.http_inspector", "typed_config": {"@type": HTTP_INSPECTOR}})
    if filters:
        out["listener_filters"] = filters
    return out


def _cluster_policy(c: Cluster, out: dict[str, Any]) -> None:
    pol = c.policy or {}
    cp = pol.get("connectionPool", {})
    tcp, http = cp.get("tcp", {}), cp.get("http", {})
    thresholds: dict[str, Any] = {"max_connections": tcp.get("maxConnections", 4294967295),
                                  "max_pending_requests": http.get("http1MaxPendingRequests", 4294967295),
                                  "max_requests": http.get("http2MaxRequests", 4294967295),
                                  "max_retries": http.get("maxRetries", 4294967295)}
    out["circuit_breakers"] = {"thresholds": [thresholds]}
    od = pol.get("outlierDetection")
    if od:
        o: dict[str, Any] = {"enforcing_success_rate": 0}
        c5 = od.get("consecutive5xxErrors", od.get("consecutiveErrors"))
        if c5 is not None:
            if c5 == 0:
                o["enforcing_consecutive_5xx"] = 0
            else:
                o["consecutive_5xx"] = c5
        if "consecutiveGatewayErrors" in od:
            o["consecutive_gateway_failure"] = od["consecutiveGatewayErrors"]
            o["enforcing_consecutive_gateway_failure"] = 100
        for k, ek in (("interval", "interval"), ("baseEjectionTime", "base_ejection_time")):
            if k in od:
                from meshtui.model.schema import parse_duration

                o[ek] = dur(parse_duration(od[k]) or 0)
        if "maxEjectionPercent" in od:
            o["max_ejection_percent"] = od["maxEjectionPercent"]
        out["outlier_detection"] = o
        out["common_lb_config"] = {"healthy_panic_threshold": {"value": float(od.get("minHealthPercent", 0))}}
    if c.lb_policy == "RING_HASH":
        ch = pol.get("loadBalancer", {}).get("consistentHash", {})
        size = ch.get("ringHash", {}).get("minimumRingSize") or ch.get("minimumRingSize") or 1024
        out["ring_hash_lb_config"] = {"minimum_ring_size": str(size)}
    if c.lb_policy == "MAGLEV":
        size = pol.get("loadBalancer", {}).get("consistentHash", {}).get("maglev", {}).get("tableSize")
        if size:
            out["maglev_lb_config"] = {"table_size": str(size)}
    idle = http.get("idleTimeout")
    if idle:
        from meshtui.model.schema import parse_duration

        out["typed_extension_protocol_options"] = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": T + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "common_http_protocol_options": {"idle_timeout": dur(parse_duration(idle) or 3600)},
            "use_downstream_protocol_config": {}}}


def cla_json(name: str, eps: Iterable[Endpoint], remap: dict[str, str],
             mtls_endpoint: Callable[[Endpoint], bool] | None = None) -> dict[str, Any]:
    """`mtls_endpoint`: which endpoints auto-mTLS sends Istio mTLS to (their tlsMode metadata)."""
    lbs = []
    for e in eps:
        lb: dict[str, Any] = {"endpoint": {"address": {"socket_address": {"address": remap.get(e.address, e.address), "port_value": e.port}}}}
        if e.weight:
            lb["load_balancing_weight"] = e.weight
        if mtls_endpoint is not None and mtls_endpoint(e):
            lb["metadata"] = {"filter_metadata": {TLS_MATCH_METADATA: {"tlsMode": "istio"}}}
        lbs.append(lb)
    return {"cluster_name": name, "endpoints": [{"lb_endpoints": lbs}] if lbs else []}


def _mtls_endpoints(cfg: ProxyConfig, mesh_tls: InboundRender | None, c: Cluster) -> Callable[[Endpoint], bool] | None:
    """Which endpoints of cluster `c` carry the tlsMode metadata (its DestinationRule's tls.mode decides for all)."""
    if mesh_tls is None or not mesh_tls.client_mtls or cfg.snapshot is None:
        return None
    snapshot = cfg.snapshot
    return lambda e: endpoint_gets_mtls(snapshot, e, c)


def cluster_json(c: Cluster, cfg: ProxyConfig, inline: bool, remap: dict[str, str],
                 mesh_tls: InboundRender | None = None) -> dict[str, Any]:
    """`mesh_tls` with client_mtls: the cluster's Istio mTLS too (translate/client_tls.py)."""
    out: dict[str, Any] = {"name": c.name, "connect_timeout": dur(c.connect_timeout)}
    if mesh_tls is not None and mesh_tls.client_mtls and cfg.snapshot is not None:
        m = cluster_mtls(cfg.snapshot, c)
        if m is not None:
            apply_client_mtls(out, m, mesh_tls.tls)
    if c.type == "EDS":
        if inline:
            out["type"] = "STATIC"
            out["load_assignment"] = cla_json(c.name, cfg.endpoints.get(c.name, ()), remap, _mtls_endpoints(cfg, mesh_tls, c))
        else:
            out["type"] = "EDS"
            out["eds_cluster_config"] = {"eds_config": ADS, "service_name": c.name}
        out["lb_policy"] = c.lb_policy if c.lb_policy in ("ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV") else "LEAST_REQUEST"
    elif c.type in ("STRICT_DNS", "LOGICAL_DNS"):
        eps = cfg.endpoints.get(c.name, ())
        if remap:  # tests: DNS names would leave the machine; resolve them to the remapped loopback
            out["type"] = "STATIC"
            eps = tuple(e for e in eps if e.address in remap)
        else:
            out["type"] = c.type
        out["load_assignment"] = cla_json(c.name, eps, remap, _mtls_endpoints(cfg, mesh_tls, c))
        out["lb_policy"] = c.lb_policy if c.lb_policy in ("ROUND_ROBIN", "LEAST_REQUEST", "RANDOM") else "LEAST_REQUEST"
    elif c.type == "ORIGINAL_DST":
        out["type"] = "ORIGINAL_DST"
        out["lb_policy"] = "CLUSTER_PROVIDED"
        # istiod's PassthroughCluster carries the same unlimited thresholds as service clusters
        limits = ("max_connections", "max_pending_requests", "max_requests", "max_retries")
        out["circuit_breakers"] = {"thresholds": [dict.fromkeys(limits, 4294967295)]}
        if c.direction == "inbound" and c.policy:  # the service's connection pool, server side
            _cluster_policy(c, out)
    else:  # STATIC (BlackHoleCluster) and dynamic-forward-proxy clusters rendered as empty static ones
        out["type"] = "STATIC"
        out["lb_policy"] = "ROUND_ROBIN"
    if c.service is not None:
        _cluster_policy(c, out)
        meta: dict[str, Any] = {"services": [{"host": c.host, "name": c.service.name, "namespace": c.service.namespace}]}
        if c.destination_rule is not None:
            meta["config"] = f"/apis/networking.istio.io/v1/namespaces/{c.destination_rule.namespace}/destination-rule/{c.destination_rule.name}"
        if c.subset:
            meta["subset"] = c.subset
        out["metadata"] = {"filter_metadata": {"istio": meta}}
    return out


def render(cfg: ProxyConfig, remap: dict[str, str], bind_address: str | None = None, inline: bool = False,
           prearm: bool = False, inbound: InboundRender | None = None) -> EnvoyResources:
    """For xDS (inline=False: EDS clusters and RDS references) or a static bootstrap (inline=True:
    STATIC clusters with their endpoints, route configs inside the listeners). `inbound`: also the
    virtualInbound listener, with its certificates from there (inbound_json.InboundRender)."""
    listeners = [j for j in (listener_json(ls, cfg, inline, bind_address, inbound) for ls in cfg.listeners) if j is not None]
    routes = [] if inline else [route_config_json(rc, prearm) for rc in cfg.route_configs.values()]
    clusters = [cluster_json(c, cfg, inline, remap, inbound) for c in cfg.clusters.values()]
    endpoints = [] if inline else [cla_json(n, cfg.endpoints.get(n, ()), remap, _mtls_endpoints(cfg, inbound, c))
                                   for n, c in cfg.clusters.items() if c.type == "EDS"]
    runtime = prearm_runtime(cfg.route_configs.values()) if prearm else {k: fraction(v) for k, v in cfg.runtime.items()}
    return EnvoyResources(listeners, routes, clusters, endpoints, runtime)


def static_bootstrap(cfg: ProxyConfig, admin_address: str = "127.0.0.1", admin_port: int = 15000,
                     bind_address: str | None = None, endpoint_remap: dict[str, str] | None = None,
                     node: dict[str, Any] | None = None, inbound: InboundRender | None = None) -> dict[str, Any]:
    """A complete Envoy bootstrap with every listener, route, cluster and endpoint inline: Envoy runs
    it with no control plane. Live faults' runtime values go into a static runtime layer."""
    res = render(cfg, endpoint_remap or {}, bind_address, inline=True, inbound=inbound)
    boot: dict[str, Any] = {
        "node": node or {"id": cfg.proxy.node_id, "cluster": f"{cfg.proxy.workload}.{cfg.proxy.namespace}"},
        "admin": {"address": {"socket_address": {"address": admin_address, "port_value": admin_port}}},
        "static_resources": {"listeners": res.listeners, "clusters": res.clusters},
    }
    layers: list[dict[str, Any]] = []
    if res.runtime:
        layers.append({"name": "meshtui_faults", "static_layer": res.runtime})
    layers.append({"name": "admin", "admin_layer": {}})
    boot["layered_runtime"] = {"layers": layers}
    return boot
