"""One comparable form for Envoy config from either side (meshtui's translate/envoy_json.py and
istiod's protos as protojson): both are proto3 JSON with proto field names, so one reader
serves both. Each resource becomes plain data keyed by name; fields a side leaves at Envoy's
default are filled with that default so an omitted value and a written default compare equal."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

HCM = "envoy.filters.network.http_connection_manager"
TCP = "envoy.filters.network.tcp_proxy"
FAULT = "envoy.filters.http.fault"

# Listeners and clusters istiod generates that meshtui does not model: counted, not compared.
NOT_MODELLED_LISTENERS = {"virtualInbound": "inbound traffic capture (15006)"}
NOT_MODELLED_CLUSTERS = {
    "InboundPassthroughCluster": "inbound passthrough",
    "BlackHoleCluster": None,  # modelled
    "PassthroughCluster": None,
}


def _dur(v: str | None) -> float | None:
    if v is None:
        return None
    return float(v.rstrip("s"))


def _frac(p: dict | None) -> float | None:
    """A FractionalPercent or Percent as a percentage."""
    if p is None:
        return None
    if "value" in p and "numerator" not in p:
        return round(float(p["value"]), 6)
    den = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000}[p.get("denominator", "HUNDRED")]
    return round(100.0 * int(p.get("numerator", 0)) / den, 6)


def _string_matcher(m: dict) -> tuple:
    for k in ("exact", "prefix", "suffix", "contains"):
        if k in m:
            return (k, m[k], bool(m.get("ignore_case")))
    if "safe_regex" in m:
        return ("regex", m["safe_regex"].get("regex", ""), False)
    return ("?", repr(m), False)


def _header_matcher(h: dict) -> tuple:
    if "present_match" in h:
        kind: tuple = ("present", bool(h["present_match"]))
    elif "string_match" in h:
        kind = _string_matcher(h["string_match"])
    elif "exact_match" in h:
        kind = ("exact", h["exact_match"], False)
    elif "safe_regex_match" in h:
        kind = ("regex", h["safe_regex_match"].get("regex", ""), False)
    elif "prefix_match" in h:
        kind = ("prefix", h["prefix_match"], False)
    else:
        kind = ("present", True)
    return (h["name"], kind, bool(h.get("invert_match")), bool(h.get("treat_missing_header_as_empty")))


def route_match(m: dict) -> dict:
    out: dict[str, Any] = {}
    for k in ("prefix", "path", "path_separated_prefix"):
        if k in m:
            out["path"] = (k, m[k])
    if "safe_regex" in m:
        out["path"] = ("regex", m["safe_regex"].get("regex", ""))
    cs = m.get("case_sensitive")
    out["case_sensitive"] = True if cs is None else bool(cs.get("value", cs) if isinstance(cs, dict) else cs)
    out["headers"] = sorted(_header_matcher(h) for h in m.get("headers", []))
    out["query"] = sorted((q["name"], _string_matcher(q["string_match"]) if "string_match" in q else ("present", True))
                          for q in m.get("query_parameters", []))
    return out


def _header_ops(obj: dict) -> dict:
    def adds(key: str) -> list:
        out = []
        for h in obj.get(key, []):
            hv = h.get("header", {})
            action = h.get("append_action")
            if action is None:
                append = h.get("append")
                append = True if append is None else bool(append.get("value", append) if isinstance(append, dict) else append)
                action = "APPEND_IF_EXISTS_OR_ADD" if append else "OVERWRITE_IF_EXISTS_OR_ADD"
            out.append((hv.get("key", ""), hv.get("value", ""), action))
        return sorted(out)

    return {
        "request_add": adds("request_headers_to_add"),
        "request_remove": sorted(obj.get("request_headers_to_remove", [])),
        "response_add": adds("response_headers_to_add"),
        "response_remove": sorted(obj.get("response_headers_to_remove", [])),
    }


def _retry(r: dict | None) -> dict | None:
    if r is None:
        return None
    return {
        "retry_on": ",".join(sorted(x for x in r.get("retry_on", "").split(",") if x)),
        "num_retries": int(r.get("num_retries", 1)),
        "per_try_timeout": _dur(r.get("per_try_timeout")),
        "retriable_status_codes": sorted(r.get("retriable_status_codes", [])),
    }


def _fault(tpf: dict) -> dict | None:
    f = tpf.get(FAULT)
    if not f:
        return None
    out: dict[str, Any] = {}
    if "delay" in f:
        out["delay"] = (_dur(f["delay"].get("fixed_delay")), _frac(f["delay"].get("percentage")) or 0.0)
    if "abort" in f:
        a = f["abort"]
        # an unset percentage is Envoy's 0%
        out["abort"] = (a.get("http_status") or a.get("grpc_status"), _frac(a.get("percentage")) or 0.0)
    return out


def route(r: dict) -> dict:
    out: dict[str, Any] = {"name": r.get("name", ""), "match": route_match(r.get("match", {}))}
    if "route" in r:
        a = r["route"]
        act: dict[str, Any] = {"kind": "route"}
        if "cluster" in a:
            act["clusters"] = [(a["cluster"], 100)]
        elif "weighted_clusters" in a:
            act["clusters"] = sorted((c["name"], int(c.get("weight", 0))) for c in a["weighted_clusters"]["clusters"])
            act["cluster_header_ops"] = sorted(
                (c["name"], repr(_header_ops(c))) for c in a["weighted_clusters"]["clusters"]
                if any(_header_ops(c).values()))
        elif "cluster_header" in a:
            act["clusters"] = [("header:" + a["cluster_header"], 100)]
        act["timeout"] = _dur(a.get("timeout", "15s"))
        act["retry"] = _retry(a.get("retry_policy"))
        act["prefix_rewrite"] = a.get("prefix_rewrite")
        rr = a.get("regex_rewrite")
        act["regex_rewrite"] = (rr["pattern"]["regex"], rr["substitution"]) if rr else None
        act["host_rewrite"] = a.get("host_rewrite_literal")
        act["mirrors"] = sorted((m["cluster"], _frac(m.get("runtime_fraction", {}).get("default_value")))
                                for m in a.get("request_mirror_policies", []))
        out["action"] = act
    elif "redirect" in r:
        d = r["redirect"]
        out["action"] = {"kind": "redirect", "code": d.get("response_code", "MOVED_PERMANENTLY"),
                         # an empty oneof string is Envoy's "unset"
                         "host": d.get("host_redirect") or None, "path": d.get("path_redirect") or None,
                         "prefix": d.get("prefix_rewrite"), "scheme": d.get("scheme_redirect") or (
                             "https" if d.get("https_redirect") else None),
                         "port": d.get("port_redirect"), "strip_query": bool(d.get("strip_query"))}
    elif "direct_response" in r:
        d = r["direct_response"]
        body = d.get("body")
        text = None
        if body is not None:
            text = body["inline_string"] if "inline_string" in body else base64.b64decode(body.get("inline_bytes", "")).decode(
                "utf-8", "replace")
        out["action"] = {"kind": "direct_response", "status": d.get("status"), "body": text}
    else:
        out["action"] = {"kind": "?"}
    out["fault"] = _fault(r.get("typed_per_filter_config", {}))
    out["headers"] = _header_ops(r)
    return out


@dataclass
class VHost:
    name: str
    domains: list[str]
    routes: list[dict]
    require_tls: str | None = None


@dataclass
class Normal:
    """One proxy's config: what the comparison reads."""

    listeners: dict[str, dict] = field(default_factory=dict)
    route_configs: dict[str, dict[str, VHost]] = field(default_factory=dict)
    clusters: dict[str, dict] = field(default_factory=dict)
    endpoints: dict[str, list] = field(default_factory=dict)
    # the virtualInbound listener's filter chains (inbound_chains), when the side generates one
    inbound: dict[str, dict] | None = None


def _filters(chain: dict) -> dict:
    out: dict[str, Any] = {}
    for f in chain.get("filters", []):
        tc = f.get("typed_config", {})
        if f["name"] == HCM:
            out["rds"] = tc.get("rds", {}).get("route_config_name") or (tc.get("route_config", {}).get("name"))
        elif f["name"] == TCP:
            if "cluster" in tc:
                out["tcp"] = [(tc["cluster"], 100)]
            elif "weighted_clusters" in tc:
                out["tcp"] = sorted((c["name"], int(c.get("weight", 0))) for c in tc["weighted_clusters"]["clusters"])
    return out


def listener(ls: dict) -> dict:
    sa = ls.get("address", {}).get("socket_address", {})
    chains = []
    for ch in ls.get("filter_chains", []):
        m = ch.get("filter_chain_match", {})
        chains.append({"sni": tuple(sorted(m.get("server_names", []))),
                       "transport": m.get("transport_protocol", ""),
                       "alpn": tuple(sorted(m.get("application_protocols", []))),
                       "dest_port": m.get("destination_port"),
                       "tls": "transport_socket" in ch,
                       **_filters(ch)})
    return {"address": sa.get("address"), "port": sa.get("port_value"), "chains": chains,
            "default_chain": _filters(ls["default_filter_chain"]) if "default_filter_chain" in ls else None}


_LB_DEFAULT = "ROUND_ROBIN"


def _tls_mode(c: dict) -> str:
    ts = c.get("transport_socket")
    tsm = c.get("transport_socket_matches")
    if tsm:
        return "auto-mtls"  # istiod's per-endpoint match on the istio mTLS label
    if not ts:
        return "plaintext"
    tc = ts.get("typed_config", {}).get("common_tls_context", {})
    if tc.get("tls_certificate_sds_secret_configs") and any(
            s.get("name") == "default" for s in tc.get("tls_certificate_sds_secret_configs", [])):
        return "istio-mutual"
    if tc.get("tls_certificate_sds_secret_configs") or tc.get("tls_certificates"):
        return "mutual"
    return "simple"


def cluster(c: dict) -> dict:
    ctype = c.get("type", "EDS" if "eds_cluster_config" in c else "STATIC")
    if "cluster_type" in c:
        ctype = c["cluster_type"].get("name", "custom")
    cb = (c.get("circuit_breakers", {}).get("thresholds") or [{}])[0]
    od = c.get("outlier_detection")
    return {
        "type": ctype,
        "lb_policy": c.get("lb_policy", _LB_DEFAULT),
        "outlier": None if od is None else {
            k: od.get(k) for k in ("consecutive_5xx", "consecutive_gateway_failure", "interval", "base_ejection_time",
                                   "max_ejection_percent", "min_health_percent", "split_external_local_origin_errors",
                                   "consecutive_local_origin_failure")},
        "circuit_breakers": {k: int(cb[k]) for k in ("max_connections", "max_pending_requests", "max_requests",
                                                    "max_retries") if k in cb},
        "connect_timeout": _dur(c.get("connect_timeout", "5s")),
        "tls": _tls_mode(c),
    }


def endpoints(cla: dict) -> list:
    out = []
    for le in cla.get("endpoints", []):
        for e in le.get("lb_endpoints", []):
            sa = e.get("endpoint", {}).get("address", {}).get("socket_address", {})
            # the metadata auto-mTLS matches on: Istio mTLS to this endpoint or not
            tls_mode = e.get("metadata", {}).get("filter_metadata", {}).get("envoy.transport_socket_match", {}).get("tlsMode")
            out.append((sa.get("address"), sa.get("port_value"), e.get("health_status", "HEALTHY"), tls_mode or "-"))
    return sorted(out)


RBAC_HTTP = "envoy.filters.http.rbac"
RBAC_NETWORK = "envoy.filters.network.rbac"
EXT_AUTHZ = ("envoy.filters.http.ext_authz", "envoy.filters.network.ext_authz")


def _rbac(kind: str, tc: dict) -> dict:
    """One RBAC filter: its enforcing rules (action and each policy's permissions and principals,
    as sorted-key JSON so either side's field order compares equal) and its shadow rules' policy
    names (dry-run: they only log)."""
    rules = tc.get("rules")
    return {"filter": kind,
            "action": None if rules is None else rules.get("action", "ALLOW"),
            "policies": None if rules is None else {
                name: {"permissions": json.dumps(pol.get("permissions", []), sort_keys=True),
                       "principals": json.dumps(pol.get("principals", []), sort_keys=True)}
                for name, pol in sorted(rules.get("policies", {}).items())},
            "shadow": sorted(tc.get("shadow_rules", {}).get("policies", {}))}


def _inbound_chain(ch: dict) -> dict:
    ts = ch.get("transport_socket")
    tls = "none"
    if ts:
        tc = ts.get("typed_config", {})
        req = tc.get("require_client_certificate")
        req = bool(req.get("value", req) if isinstance(req, dict) else req)
        tls = "mtls-required" if req else "tls"
    authz: list[dict] = []
    target: list[str] = []
    for f in ch.get("filters", []):
        tc = f.get("typed_config", {})
        if f["name"] == RBAC_NETWORK:
            authz.append(_rbac("network", tc))
        elif f["name"] in EXT_AUTHZ:
            authz.append({"filter": "network", "action": "CUSTOM"})
        elif f["name"] == TCP:
            target.append(f"tcp:{tc.get('cluster', '')}")
        elif f["name"] == HCM:
            for hf in tc.get("http_filters", []):
                if hf["name"] == RBAC_HTTP:
                    authz.append(_rbac("http", hf.get("typed_config", {})))
                elif hf["name"] in EXT_AUTHZ:
                    authz.append({"filter": "http", "action": "CUSTOM"})
            rc = tc.get("route_config")
            if rc is not None:
                for vh in rc.get("virtual_hosts", []):
                    for r in vh.get("routes", []):
                        target.append(f"http:{r.get('route', {}).get('cluster', '')}")
            elif "rds" in tc:
                target.append(f"rds:{tc['rds'].get('route_config_name', '')}")
    return {"tls": tls, "authz": authz, "target": sorted(set(target))}


def inbound_chains(ls: dict) -> dict[str, dict]:
    """The virtualInbound listener, one entry per filter chain keyed by its name and match
    (destination port, transport, ALPN): whether it terminates TLS and requires a client
    certificate (mTLS), its authorization filters in order, and where it sends traffic."""
    out = {}
    for ch in ls.get("filter_chains", []):
        m = ch.get("filter_chain_match", {})
        port = m.get("destination_port")
        key = (f"{ch.get('name', '')} port={port if port is not None else '*'} "
               f"{m.get('transport_protocol') or '*'} [{','.join(sorted(m.get('application_protocols', [])))}]")
        out[key] = _inbound_chain(ch)
    return out


def normalise(listeners: list[dict], routes: list[dict], clusters: list[dict], cla: list[dict]) -> Normal:
    n = Normal()
    for ls in listeners:
        n.listeners[ls["name"]] = listener(ls)
        if ls["name"] == "virtualInbound":
            n.inbound = inbound_chains(ls)
    for rc in routes:
        vhs = {}
        for vh in rc.get("virtual_hosts", []):
            vhs[vh["name"]] = VHost(vh["name"], sorted(vh.get("domains", [])), [route(r) for r in vh.get("routes", [])],
                                   vh.get("require_tls"))
        n.route_configs[rc["name"]] = vhs
    for c in clusters:
        n.clusters[c["name"]] = cluster(c)
    for e in cla:
        n.endpoints[e["cluster_name"]] = endpoints(e)
    return n
