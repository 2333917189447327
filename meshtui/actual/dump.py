"""An Envoy config dump (admin `/config_dump?include_eds`, or `istioctl proxy-config all -o json`)
read into the `ProxyConfig` the tracer walks, so a trace can run on what Envoy really holds.

Only what routing depends on is read: listeners and their filter chains, route configurations,
clusters and endpoints, and the fault filter's per-route config with its runtime keys. Both of
Envoy's JSON spellings are accepted (the admin's snake_case and protojson's camelCase)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from meshtui.model.schema import type_name
from meshtui.model.snapshot import Endpoint, MeshSnapshot
from meshtui.translate.config import (
    Cluster,
    DirectResponse,
    Fault,
    FilterChain,
    HeaderMatcher,
    HeaderOps,
    Listener,
    Mirror,
    ProxyConfig,
    ProxyInfo,
    QueryMatcher,
    Redirect,
    Ref,
    Retry,
    Route,
    RouteAction,
    RouteConfig,
    RouteMatch,
    StringMatcher,
    TcpRoute,
    VirtualHost,
    WeightedCluster,
)

Json = dict[str, Any]

HCM = "envoy.filters.network.http_connection_manager"
TCP_PROXY = "envoy.filters.network.tcp_proxy"
FAULT_FILTER = "envoy.filters.http.fault"
CORS_FILTER = "envoy.filters.http.cors"
_DENOMINATORS = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000}
_REDIRECT_CODES = {"MOVED_PERMANENTLY": 301, "FOUND": 302, "SEE_OTHER": 303, "TEMPORARY_REDIRECT": 307, "PERMANENT_REDIRECT": 308}
_ISTIO_CONFIG = re.compile(r"/apis/networking\.istio\.io/[^/]+/namespaces/([^/]+)/virtual-service/([^/]+)$")
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


class DumpError(ValueError):
    """A document that is not an Envoy config dump, or a field of the wrong shape; names where."""

    def __init__(self, origin: str, path: str, message: str) -> None:
        super().__init__(f"{origin}: {path}: {message}" if path else f"{origin}: {message}")
        self.origin, self.path = origin, path


@dataclass
class ConfigDump:
    """The dump's resources by name, as Envoy JSON with snake_case keys, plus what Envoy says
    about their state: the version it last accepted per type and the updates it rejected."""

    origin: str
    node: Json = field(default_factory=dict)
    listeners: dict[str, Json] = field(default_factory=dict)
    routes: dict[str, Json] = field(default_factory=dict)
    clusters: dict[str, Json] = field(default_factory=dict)
    endpoints: dict[str, Json] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # "listeners" | "routes" | "clusters" -> version_info
    rejected: dict[tuple[str, str], str] = field(default_factory=dict)  # (type, name) -> Envoy's error details
    warming: set[tuple[str, str]] = field(default_factory=set)  # (type, name) not yet active
    static: bool = False  # a static bootstrap: listeners and clusters inline, no xDS
    bootstrap: set[tuple[str, str]] = field(default_factory=set)  # (type, name) from the bootstrap itself


def _snake(obj: Any) -> Any:
    """camelCase keys to snake_case, recursively; keys that are names (dotted filter names,
    '@type') are left alone."""
    if isinstance(obj, dict):
        return {(k if ("." in k or k.startswith("@") or "/" in k) else _CAMEL.sub(r"_\1", k).lower()): _snake(v)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_snake(v) for v in obj]
    return obj


def _dict(value: Any, origin: str, path: str) -> Json:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DumpError(origin, path, f"expected an object, found {type_name(value)}")
    return value


def _list(value: Any, origin: str, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DumpError(origin, path, f"expected a list, found {type_name(value)}")
    return value


def _entries(section: Json, keys: tuple[str, ...], inner: str, origin: str,
             where: str) -> Iterator[tuple[str, Json, Json]]:
    """(key, entry, entry[inner]) of every entry under each of `keys` of a dump section, each
    checked to be an object (errors name the JSON path)."""
    for key in keys:
        for j, entry in enumerate(_list(section.get(key), origin, f"{where}.{key}")):
            entry = _dict(entry, origin, f"{where}.{key}[{j}]")
            yield key, entry, _dict(entry.get(inner), origin, f"{where}.{key}[{j}].{inner}")


def read_dump(doc: Any, origin: str) -> ConfigDump:
    """Split a config dump into its resources. `origin` names the file or URL for errors."""
    doc = _snake(_dict(doc, origin, ""))
    configs = _list(doc.get("configs"), origin, "configs")
    if not configs:
        raise DumpError(origin, "configs", "no configs: not an Envoy config dump (admin /config_dump?include_eds)")
    out = ConfigDump(origin)
    for i, c in enumerate(configs):
        c = _dict(c, origin, f"configs[{i}]")
        kind = str(c.get("@type", "")).rsplit(".", 1)[-1]
        where = f"configs[{i}] ({kind})"
        if kind == "BootstrapConfigDump":
            out.node = _dict(_dict(c.get("bootstrap"), origin, where).get("node"), origin, where + ".bootstrap.node")
        elif kind == "ListenersConfigDump":
            out.versions["listeners"] = str(c.get("version_info", ""))
            for j, s in enumerate(_list(c.get("static_listeners"), origin, where + ".static_listeners")):
                ls = _dict(_dict(s, origin, where).get("listener"), origin, f"{where}.static_listeners[{j}].listener")
                out.listeners[str(ls.get("name", f"static-{j}"))] = ls
                out.bootstrap.add(("listener", str(ls.get("name", f"static-{j}"))))
            for j, d in enumerate(_list(c.get("dynamic_listeners"), origin, where + ".dynamic_listeners")):
                d = _dict(d, origin, f"{where}.dynamic_listeners[{j}]")
                name = str(d.get("name", ""))
                if "active_state" in d:
                    out.listeners[name] = _dict(_dict(d["active_state"], origin, where).get("listener"), origin, where)
                elif "warming_state" in d:
                    out.warming.add(("listener", name))
                if "error_state" in d:
                    out.rejected[("listener", name)] = str(_dict(d["error_state"], origin, where).get("details", ""))
        elif kind == "RoutesConfigDump":
            for _, r, rc in _entries(c, ("static_route_configs", "dynamic_route_configs"), "route_config", origin, where):
                out.routes[str(rc.get("name", ""))] = rc
                if r.get("version_info"):
                    out.versions.setdefault("routes", str(r["version_info"]))
        elif kind == "ClustersConfigDump":
            out.versions["clusters"] = str(c.get("version_info", ""))
            keys = ("static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters")
            for key, s, cl in _entries(c, keys, "cluster", origin, where):
                name = str(cl.get("name", ""))
                if key == "dynamic_warming_clusters":
                    out.warming.add(("cluster", name))
                    continue
                out.clusters[name] = cl
                if key == "static_clusters":
                    out.bootstrap.add(("cluster", name))
                if "error_state" in s:
                    out.rejected[("cluster", name)] = str(_dict(s["error_state"], origin, where).get("details", ""))
        elif kind == "EndpointsConfigDump":
            for _, _, cla in _entries(c, ("static_endpoint_configs", "dynamic_endpoint_configs"), "endpoint_config", origin, where):
                out.endpoints[str(cla.get("cluster_name", ""))] = cla
    out.static = bool(out.listeners) and not any(isinstance(c, dict) and c.get("dynamic_listeners") for c in configs)
    # clusters with inline endpoints carry their own load assignment; for a DNS cluster that is the
    # config (hostnames), while the endpoints dump shows what DNS resolved at run time
    for name, cl in out.clusters.items():
        if isinstance(cl.get("load_assignment"), dict) and (
                name not in out.endpoints or cl.get("type") in ("STRICT_DNS", "LOGICAL_DNS")):
            out.endpoints[name] = cl["load_assignment"]
    return out


def parse_runtime(doc: Any) -> dict[str, float]:
    """Envoy admin `/runtime` to {key: value}. A FractionalPercent layer value (shown by the admin
    in protobuf text form) becomes a percentage; a plain number stays a number."""
    out: dict[str, float] = {}
    entries = doc.get("entries", {}) if isinstance(doc, dict) else {}
    for key, entry in entries.items():
        value = str(entry.get("final_value", "")) if isinstance(entry, dict) else ""
        num = re.search(r'key: "numerator"\s*value \{\s*number_value: ([0-9.e+]+)', value)
        if num:
            den = re.search(r'key: "denominator"\s*value \{\s*string_value: "(\w+)"', value)
            out[key] = float(num.group(1)) * 100 / _DENOMINATORS.get(den.group(1) if den else "HUNDRED", 100)
            continue
        try:
            out[key] = float(value)
        except ValueError:
            continue
    return out


def _duration(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dict):  # {"seconds": .., "nanos": ..}
        return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
    text = str(value)
    return float(text[:-1]) if text.endswith("s") else float(text)


def _percent(fp: Any) -> float:
    """A FractionalPercent as a percentage (Envoy's default denominator is HUNDRED)."""
    if not isinstance(fp, dict):
        return 0.0
    return float(fp.get("numerator", 0)) * 100 / _DENOMINATORS.get(str(fp.get("denominator", "HUNDRED")), 100)


def _string_matcher(m: Json) -> StringMatcher:
    """Envoy's StringMatcher. suffix and contains (which Istio never generates, an EnvoyFilter
    may) become the RE2 full-match regex with the same meaning."""
    ic = bool(m.get("ignore_case"))
    if "exact" in m:
        return StringMatcher("exact", str(m["exact"]), ic)
    if "prefix" in m:
        return StringMatcher("prefix", str(m["prefix"]), ic)
    if "safe_regex" in m:
        return StringMatcher("regex", str(m["safe_regex"].get("regex", "")), False)
    flag = "(?i)" if ic else ""
    if "suffix" in m:
        return StringMatcher("regex", f"{flag}.*{re.escape(str(m['suffix']))}")
    if "contains" in m:
        return StringMatcher("regex", f"{flag}.*{re.escape(str(m['contains']))}.*")
    return StringMatcher("present")


def _header_matcher(h: Json) -> HeaderMatcher:
    name = str(h.get("name", "")).lower()
    if "string_match" in h:
        sm = _string_matcher(h["string_match"])
    elif "present_match" in h:
        sm = StringMatcher("present")
        if h["present_match"] is False:
            return HeaderMatcher(name, sm, invert=not h.get("invert_match", False))
    else:  # the deprecated one-of spellings
        legacy = {"exact_match": "exact", "prefix_match": "prefix", "suffix_match": "suffix", "contains_match": "contains"}
        key = next((k for k in legacy if k in h), None)
        if key is not None:
            sm = _string_matcher({legacy[key]: h[key]})
        elif "safe_regex_match" in h:
            sm = StringMatcher("regex", str(h["safe_regex_match"].get("regex", "")))
        else:
            sm = StringMatcher("present")
    return HeaderMatcher(name, sm, bool(h.get("invert_match")), bool(h.get("treat_missing_header_as_empty")))


def _route_match(m: Json) -> RouteMatch:
    cs = m.get("case_sensitive", True)
    cs = cs if isinstance(cs, bool) else bool(cs.get("value", True)) if isinstance(cs, dict) else True
    if "path" in m:
        kind, path = "path", str(m["path"])
    elif "safe_regex" in m:
        kind, path = "regex", str(m["safe_regex"].get("regex", ""))
    elif "path_separated_prefix" in m:
        # the prefix as a whole path segment: /api matches /api and /api/x, not /apix
        kind, path = "path_separated_prefix", str(m["path_separated_prefix"])
    else:
        kind, path = "prefix", str(m.get("prefix", "/"))
    headers = tuple(_header_matcher(h) for h in m.get("headers", []) if isinstance(h, dict))
    query = tuple(QueryMatcher(str(q.get("name", "")), _string_matcher(q["string_match"]) if "string_match" in q else StringMatcher("present"))
                  for q in m.get("query_parameters", []) if isinstance(q, dict))
    return RouteMatch(kind, path, cs, headers, query)


def _header_ops(to_add: Any, to_remove: Any) -> HeaderOps:
    sets: list[tuple[str, str]] = []
    adds: list[tuple[str, str]] = []
    for h in to_add or []:
        hv = h.get("header", {}) if isinstance(h, dict) else {}
        pair = (str(hv.get("key", "")), str(hv.get("value", "")))
        action = h.get("append_action")
        append = h.get("append", {}).get("value", True) if isinstance(h.get("append"), dict) else h.get("append", True)
        if action in ("OVERWRITE_IF_EXISTS_OR_ADD", "OVERWRITE_IF_EXISTS") or (action is None and append is False):
            sets.append(pair)
        else:
            adds.append(pair)
    return HeaderOps(tuple(sets), tuple(adds), tuple(str(r) for r in to_remove or []))


def cluster_parts(name: str) -> tuple[str, int, str]:
    """(host, port, subset) of an Istio cluster name `outbound|PORT|SUBSET|HOST`; ("", 0, "")
    for other names."""
    parts = name.split("|")
    if len(parts) == 4 and parts[1].isdigit():
        return parts[3], int(parts[1]), parts[2]
    return "", 0, ""


def _weighted(name: str, weight: int, req: HeaderOps = HeaderOps(), resp: HeaderOps = HeaderOps()) -> WeightedCluster:
    host, port, subset = cluster_parts(name)
    return WeightedCluster(name, weight, host or name, port, subset, req, resp)


def _fault(cfg: Json, runtime: dict[str, float]) -> Fault | None:
    """The fault filter's per-route config, with the values Envoy will use: a runtime key that
    the runtime holds overrides the config's default, as in Envoy."""
    delay, abort = cfg.get("delay"), cfg.get("abort")
    if not delay and not abort:
        return None

    def rt(key_field: str, default: float) -> float:
        key = cfg.get(key_field)
        return runtime.get(str(key), default) if key else default

    delay_s = _duration(delay.get("fixed_delay")) if isinstance(delay, dict) else None
    if delay_s is not None and cfg.get("delay_duration_runtime"):
        delay_s = rt("delay_duration_runtime", delay_s * 1000) / 1000
    abort_http = int(abort["http_status"]) if isinstance(abort, dict) and "http_status" in abort else None
    if abort_http is not None and cfg.get("abort_http_status_runtime"):
        abort_http = int(rt("abort_http_status_runtime", abort_http))
    fault = Fault(
        delay_seconds=delay_s,
        delay_percent=rt("delay_percent_runtime", _percent(delay.get("percentage"))) if isinstance(delay, dict) else 0.0,
        abort_http_status=abort_http,
        abort_grpc_status=int(abort["grpc_status"]) if isinstance(abort, dict) and "grpc_status" in abort else None,
        abort_percent=rt("abort_percent_runtime", _percent(abort.get("percentage"))) if isinstance(abort, dict) else 0.0,
        delay_runtime_key=cfg.get("delay_percent_runtime"),
        abort_runtime_key=cfg.get("abort_percent_runtime"),
    )
    # a part at 0% never fires (meshtui's pre-armed game-day routes carry both parts at 0% until a
    # fault sets one): only what can happen is kept
    if fault.delay_percent <= 0 and fault.abort_percent <= 0:
        return None
    if fault.delay_percent <= 0:
        fault = replace(fault, delay_seconds=None, delay_percent=0.0)
    if fault.abort_percent <= 0:
        fault = replace(fault, abort_http_status=None, abort_grpc_status=None, abort_percent=0.0)
    return fault


def _cors(cfg: Json) -> dict[str, Any] | None:
    """Envoy's CorsPolicy in the Istio-shaped dict the tracer reads."""
    if not cfg:
        return None
    origins = [_origin(o) for o in cfg.get("allow_origin_string_match", []) if isinstance(o, dict)]
    fwd = cfg.get("forward_not_matching_preflights", True)
    fwd = fwd.get("value", True) if isinstance(fwd, dict) else fwd
    return {"allowOrigins": origins, "allowMethods": cfg.get("allow_methods", ""), "forwardNotMatchingPreflights": bool(fwd)}


def _origin(o: Json) -> dict[str, str]:
    m = _string_matcher(o)
    return {"kind": m.kind, "value": m.value or ""}


def _share_faults(shares: list[Json], route_cfg: Json, route_fault: Fault | None,
                  runtime: dict[str, float]) -> Fault | None:
    """A split route's fault when shares carry their own fault config (Envoy takes a weighted
    cluster's config over the route's): the fault limited to the shares where it fires, the
    route's own fault standing for the rest."""
    per: list[tuple[str, Fault | None]] = []
    for w in shares:
        cfg = (w.get("typed_per_filter_config") or {}).get(FAULT_FILTER)
        per.append((str(w.get("name", "")), _fault(cfg, runtime) if isinstance(cfg, dict) else route_fault))
    firing = [(c, f) for c, f in per if f is not None]
    if not firing:
        return None
    if len(firing) == len(per) and all(_same_fault(f, firing[0][1]) for _, f in firing):
        return firing[0][1]
    first = firing[0][1]
    assert first is not None
    return replace(first, abort_clusters=tuple(c for c, f in firing if f is not None and f.abort_percent > 0),
                   delay_clusters=tuple(c for c, f in firing if f is not None and f.delay_percent > 0),
                   static=route_fault)


def _same_fault(a: Fault | None, b: Fault | None) -> bool:
    keys = ("delay_seconds", "delay_percent", "abort_http_status", "abort_grpc_status", "abort_percent")
    return a is not None and b is not None and all(getattr(a, k) == getattr(b, k) for k in keys)


def _route(r: Json, runtime: dict[str, float]) -> Route:
    meta = r.get("metadata", {}).get("filter_metadata", {}).get("istio", {}) if isinstance(r.get("metadata"), dict) else {}
    ref, vs = None, None
    found = _ISTIO_CONFIG.search(str(meta.get("config", "")))
    if found:
        ref = Ref("VirtualService", found.group(1), found.group(2))
        vs = (found.group(1), found.group(2))
    per_filter = r.get("typed_per_filter_config", {}) or {}
    fault = _fault(per_filter.get(FAULT_FILTER, {}), runtime)
    cors = _cors(per_filter.get(CORS_FILTER, {}))
    action = redirect = direct = None
    if isinstance(r.get("route"), dict):
        a = r["route"]
        if "weighted_clusters" in a:
            clusters = tuple(_weighted(str(w.get("name", "")), int(w.get("weight", 0)),
                                       _header_ops(w.get("request_headers_to_add"), w.get("request_headers_to_remove")),
                                       _header_ops(w.get("response_headers_to_add"), w.get("response_headers_to_remove")))
                             for w in a["weighted_clusters"].get("clusters", []))
            weighted = True
            fault = _share_faults(a["weighted_clusters"].get("clusters", []), per_filter.get(FAULT_FILTER, {}), fault, runtime)
        else:
            clusters, weighted = (_weighted(str(a.get("cluster", "")), 100),), False
        rp = a.get("retry_policy")
        retry = None
        if isinstance(rp, dict):
            preds = [p.get("name", "") for p in rp.get("retry_host_predicate", [])]
            retry = Retry(int(rp.get("num_retries", 1)), str(rp.get("retry_on", "")), _duration(rp.get("per_try_timeout")),
                          tuple(int(c) for c in rp.get("retriable_status_codes", [])),
                          int(rp.get("host_selection_retry_max_attempts", 5) or 5),
                          any(p.endswith("previous_hosts") for p in preds))
        rr = a.get("regex_rewrite")
        mirrors = tuple(Mirror(str(m.get("cluster", "")), cluster_parts(str(m.get("cluster", "")))[0],
                               _percent(m.get("runtime_fraction", {}).get("default_value", {"numerator": 100})),
                               cluster_parts(str(m.get("cluster", "")))[2])
                        for m in a.get("request_mirror_policies", []))
        action = RouteAction(clusters, _duration(a.get("timeout")) or 0.0, retry, a.get("prefix_rewrite"),
                             (str(rr["pattern"].get("regex", "")), str(rr.get("substitution", ""))) if isinstance(rr, dict) else None,
                             a.get("host_rewrite_literal"), mirrors, weighted=weighted,
                             cluster_not_found_status=500 if a.get("cluster_not_found_response_code") == "INTERNAL_SERVER_ERROR" else 503)
    elif isinstance(r.get("redirect"), dict):
        d = r["redirect"]
        redirect = Redirect(_REDIRECT_CODES.get(str(d.get("response_code", "MOVED_PERMANENTLY")), 301),
                            "https" if d.get("https_redirect") else d.get("scheme_redirect"), d.get("host_redirect"),
                            int(d["port_redirect"]) if d.get("port_redirect") else None, d.get("path_redirect"), d.get("prefix_rewrite"))
    elif isinstance(r.get("direct_response"), dict):
        d = r["direct_response"]
        body = d.get("body", {}).get("inline_string") if isinstance(d.get("body"), dict) else None
        direct = DirectResponse(int(d.get("status", 200)), body)
    return Route(str(r.get("name", "")), _route_match(r.get("match", {})), action, redirect, direct, fault,
                 _header_ops(r.get("request_headers_to_add"), r.get("request_headers_to_remove")),
                 _header_ops(r.get("response_headers_to_add"), r.get("response_headers_to_remove")),
                 cors, ref, virtual_service=vs, decorator=str(r.get("decorator", {}).get("operation", "")))


def _route_config(rc: Json, runtime: dict[str, float]) -> RouteConfig:
    vhosts = []
    for vh in rc.get("virtual_hosts", []):
        routes = tuple(_route(r, runtime) for r in vh.get("routes", []))
        owner = next((r.ref for r in routes if r.ref is not None), None)
        vhosts.append(VirtualHost(str(vh.get("name", "")), tuple(str(d) for d in vh.get("domains", [])), routes,
                                  require_tls=vh.get("require_tls") in ("ALL", "EXTERNAL_ONLY"),
                                  kind="vs" if owner else "service", ref=owner))
    ignore = rc.get("ignore_port_in_host_matching", False)
    return RouteConfig(str(rc.get("name", "")), vhosts, ignore_port_in_host_matching=bool(ignore))


def _chain(fc: Json, listener: str, index: int, route_configs: dict[str, RouteConfig], runtime: dict[str, float]) -> FilterChain:
    match = fc.get("filter_chain_match", {}) or {}
    ranges = tuple(f"{r.get('address_prefix')}/{r.get('prefix_len', 32)}" for r in match.get("prefix_ranges", []))
    common: dict[str, Any] = {"server_names": tuple(match.get("server_names", [])), "prefix_ranges": ranges,
                              "transport": str(match.get("transport_protocol", "")),
                              "application_protocols": tuple(match.get("application_protocols", []))}
    name = str(fc.get("name", ""))
    for f in fc.get("filters", []):
        fname = str(f.get("name", ""))
        cfg = f.get("typed_config", {}) or {}
        if fname == HCM or cfg.get("@type", "").endswith("HttpConnectionManager"):
            if isinstance(cfg.get("rds"), dict):
                rds = str(cfg["rds"].get("route_config_name", ""))
            else:  # an inline route configuration, as static bootstraps carry: known by its own name
                inline = _route_config(cfg.get("route_config", {}) or {}, runtime)
                rds = inline.name or f"inline:{listener}#{index}"
                inline.name = rds
                route_configs.setdefault(rds, inline)
            return FilterChain(name, "http", rds=rds, **common)
        if fname == TCP_PROXY or cfg.get("@type", "").endswith("TcpProxy"):
            if "weighted_clusters" in cfg:
                clusters = tuple(_weighted(str(w.get("name", "")), int(w.get("weight", 0))) for w in cfg["weighted_clusters"].get("clusters", []))
            else:
                clusters = (_weighted(str(cfg.get("cluster", "")), 100),)
            kind = {"PassthroughCluster": "passthrough", "BlackHoleCluster": "blackhole"}.get(clusters[0].cluster if clusters else "", "tcp")
            return FilterChain(name, kind, tcp=TcpRoute(clusters), **common)
    return FilterChain(name, "blackhole", **common)


def _listener(ls: Json, route_configs: dict[str, RouteConfig], runtime: dict[str, float], router: bool) -> Listener:
    name = str(ls.get("name", ""))
    sa = ls.get("address", {}).get("socket_address", {}) if isinstance(ls.get("address"), dict) else {}
    address, port = str(sa.get("address", "")), int(sa.get("port_value", 0) or 0)
    # Istio names a listener ADDRESS_PORT after what it stands for; meshtui's demo binds it on a
    # loopback address instead, so the name, not the socket, says which traffic it takes.
    head, _, tail = name.rpartition("_")
    if head and tail.isdigit() and int(tail) == port:
        address = head
    chains = [_chain(fc, name, i, route_configs, runtime) for i, fc in enumerate(ls.get("filter_chains", []))]
    default = _chain(ls["default_filter_chain"], name, -1, route_configs, runtime) if isinstance(ls.get("default_filter_chain"), dict) else None
    bind = ls.get("bind_to_port", True)
    bind = bind.get("value", True) if isinstance(bind, dict) else bool(bind)
    kind = "virtual" if ls.get("use_original_dst") else ("gateway" if router else "outbound")
    return Listener(name, address, port, chains, default, bind_to_port=bind, kind=kind)


def _endpoints(cla: Json, snapshot: MeshSnapshot | None, port_name: str) -> tuple[Endpoint, ...]:
    pods = {p.status.pod_ip: p for p in snapshot.pods if p.status is not None and p.status.pod_ip} if snapshot is not None else {}
    out = []
    for group in cla.get("endpoints", []):
        loc = group.get("locality", {}) or {}
        locality = "/".join(str(loc[k]) for k in ("region", "zone", "sub_zone") if loc.get(k))
        for lb in group.get("lb_endpoints", []):
            sa = lb.get("endpoint", {}).get("address", {}).get("socket_address", {})
            addr = str(sa.get("address", ""))
            pod = pods.get(addr)
            out.append(Endpoint(addr, int(sa.get("port_value", 0) or 0), port_name,
                                dict(pod.metadata.labels) if pod is not None else {},
                                pod=f"{pod.namespace}/{pod.name}" if pod is not None else "",
                                ready=lb.get("health_status", "HEALTHY") in ("HEALTHY", "UNKNOWN"),
                                origin="Envoy config dump", locality=locality,
                                weight=int(lb["load_balancing_weight"]) if lb.get("load_balancing_weight") else None))
    return tuple(out)


def _proxy_info(node: Json) -> ProxyInfo:
    """The node Envoy announced: Istio's `sidecar~IP~POD.NS~NS.svc.cluster.local`, or meshtui's
    own `NS/WORKLOAD`, and its metadata."""
    node_id = str(node.get("id", ""))
    parts = node_id.split("~")
    meta = node.get("metadata", {}) or {}
    ptype = "router" if parts[0] == "router" or meta.get("meshtui.kind") == "gateway" else "sidecar"
    if len(parts) > 2:
        workload, namespace = (parts[2].rsplit(".", 1) + [""])[:2]
    elif "/" in node_id:
        namespace, workload = node_id.split("/", 1)
    else:
        workload, namespace = node_id, ""
    labels = meta.get("labels") or meta.get("LABELS") or {}
    return ProxyInfo(ptype, str(meta.get("namespace") or meta.get("NAMESPACE") or namespace),
                     str(meta.get("name") or meta.get("NAME") or workload),
                     {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
                     ip=parts[1] if len(parts) > 1 else "")


def to_proxy_config(dump: ConfigDump, snapshot: MeshSnapshot | None = None, runtime: dict[str, float] | None = None,
                    proxy: ProxyInfo | None = None) -> ProxyConfig:
    """The dump as the tracer's ProxyConfig. `snapshot` resolves DNS and names pods behind
    endpoint addresses (as the cluster runs them); `runtime` is the proxy's `/runtime` (the fault
    percentages live there); `proxy` overrides the node the dump announces."""
    runtime = runtime or {}
    info = proxy or _proxy_info(dump.node)
    router = info.type == "router"
    route_configs: dict[str, RouteConfig] = {}
    listeners = [_listener(ls, route_configs, runtime, router) for ls in dump.listeners.values()]
    for name, rc in dump.routes.items():
        route_configs[name] = _route_config(rc, runtime)
    clusters: dict[str, Cluster] = {}
    endpoints: dict[str, tuple[Endpoint, ...]] = {}
    for name, cl in dump.clusters.items():
        host, port, subset = cluster_parts(name)
        ctype = str(cl.get("type", "EDS" if "eds_cluster_config" in cl else "STATIC"))
        if isinstance(cl.get("cluster_type"), dict):
            ctype = str(cl["cluster_type"].get("name", ctype))
        svc = None
        if snapshot is not None and host:
            svc = next(iter(snapshot.services_by_host.get(host, ())), None)
        sp = svc.port(port) if svc is not None else None
        clusters[name] = Cluster(name, ctype, host, port, subset, svc, str(cl.get("lb_policy", "ROUND_ROBIN")),
                                 connect_timeout=_duration(cl.get("connect_timeout")) or 10.0,
                                 direction=name.split("|", 1)[0] if "|" in name else "")
        endpoints[name] = _endpoints(dump.endpoints.get(name, {}), snapshot, sp.name if sp is not None else "")
    config = ProxyConfig(info, listeners, route_configs, clusters, endpoints, runtime=dict(runtime),
                         notes=[f"traced on the config Envoy holds ({dump.origin})"])
    config.snapshot = snapshot
    return config


def parse_config_dump(doc: Any, origin: str, snapshot: MeshSnapshot | None = None,
                      runtime: dict[str, float] | None = None, proxy: ProxyInfo | None = None) -> ProxyConfig:
    return to_proxy_config(read_dump(doc, origin), snapshot, runtime, proxy)
