"""The inbound listener and its RBAC filters as Envoy v3 JSON (the shapes istiod sends).

Certificates come either from SDS under Istio's names (`default` for the workload certificate,
`ROOTCA` for the mesh CA, over the `sds-grpc` cluster the istio-agent serves), which is what
proxy-config shows, or from files (`TlsFiles`), which is how a test runs a real server sidecar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshtui.translate.client_tls import UpstreamMtls
from meshtui.translate.config import FilterChain, Listener
from meshtui.translate.rbac import SPIFFE, Cond, RbacAction, RbacFilter, RbacPolicy

T = "type.googleapis.com/"
RBAC_HTTP = T + "envoy.extensions.filters.http.rbac.v3.RBAC"
RBAC_TCP = T + "envoy.extensions.filters.network.rbac.v3.RBAC"
DOWNSTREAM_TLS = T + "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
UPSTREAM_TLS = T + "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
URI_TEMPLATE = T + "envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig"
JWT_FILTER = "envoy.filters.http.jwt_authn"
CIPHERS = ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
           "ECDHE-RSA-AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-GCM-SHA256")


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a server sidecar without an istio-agent: its certificate chain and key, and
    the CA that signs the mesh's workload certificates."""

    cert_chain: str
    private_key: str
    ca: str


@dataclass(frozen=True)
class InboundRender:
    """How to render the mesh's mTLS: the inbound listener, and with `client_mtls` the Istio mTLS
    of outbound clusters (auto-mTLS transport socket matches and the endpoints' tlsMode). `tls`
    None means SDS under Istio's names; with `bind_address`, the listener binds that address on
    `port` for real (no iptables: the connection's own destination port selects the chains)."""

    tls: TlsFiles | None = None
    bind_address: str | None = None
    port: int = 0
    client_mtls: bool = False


def _sds(name: str) -> dict[str, Any]:
    return {"name": name, "sds_config": {
        "api_config_source": {"api_type": "GRPC", "transport_api_version": "V3", "set_node_on_first_message_only": True,
                              "grpc_services": [{"envoy_grpc": {"cluster_name": "sds-grpc"}}]},
        "resource_api_version": "V3"}}


def _identity(common: dict[str, Any], sans: list[dict[str, Any]], files: TlsFiles | None) -> None:
    """The workload certificate and the peer check of a CommonTlsContext, either side: istio-agent's
    SDS secrets `default` and `ROOTCA`, or (the real-Envoy tests) the files of `files`."""
    if files is None:
        common["tls_certificate_sds_secret_configs"] = [_sds("default")]
        common["combined_validation_context"] = {"default_validation_context": {"match_typed_subject_alt_names": sans},
                                                 "validation_context_sds_secret_config": _sds("ROOTCA")}
    else:
        common["tls_certificates"] = [{"certificate_chain": {"filename": files.cert_chain},
                                       "private_key": {"filename": files.private_key}}]
        common["validation_context"] = {"trusted_ca": {"filename": files.ca}, "match_typed_subject_alt_names": sans}


def upstream_mtls_socket(m: UpstreamMtls, files: TlsFiles | None) -> dict[str, Any]:
    """The client side of Istio mTLS (istiod's ISTIO_MUTUAL UpstreamTlsContext)."""
    sans = [{"san_type": "URI", "matcher": {"exact": s}} for s in m.sans]
    common: dict[str, Any] = {"tls_params": {"tls_minimum_protocol_version": "TLSv1_2", "tls_maximum_protocol_version": "TLSv1_3"},
                              "alpn_protocols": list(m.alpn)}
    _identity(common, sans, files)
    return {"name": "envoy.transport_sockets.tls",
            "typed_config": {"@type": UPSTREAM_TLS, "common_tls_context": common, "sni": m.sni}}


def apply_client_mtls(out: dict[str, Any], m: UpstreamMtls, files: TlsFiles | None) -> None:
    """An outbound cluster's transport: auto-mTLS picks per endpoint (tlsMode istio: mTLS, any
    other: plaintext); an explicit ISTIO_MUTUAL applies to every endpoint."""
    socket = upstream_mtls_socket(m, files)
    if m.auto:
        out["transport_socket_matches"] = [
            {"name": "tlsMode-istio", "match": {"tlsMode": "istio"}, "transport_socket": socket},
            {"name": "tlsMode-disabled", "match": {}, "transport_socket": {"name": "envoy.transport_sockets.raw_buffer", "typed_config": {
                "@type": T + "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"}}},
        ]
    else:
        out["transport_socket"] = socket


TLS_MATCH_METADATA = "envoy.transport_socket_match"


def quote_meta(s: str) -> str:
    """Go's regexp.QuoteMeta, which istiod uses (Python's re.escape escapes other characters)."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", s)


def string_matcher(v: str, prefix: str = "", ignore_case: bool = False) -> dict[str, Any]:
    """istiod's StringMatcherWithPrefix: `*` any non-empty value, `*x` a suffix, `x*` a prefix."""
    if v == "*":
        return {"safe_regex": {"regex": ".+"}}
    if v.startswith("*"):
        out: dict[str, Any] = ({"suffix": v[1:]} if not prefix
                               else {"safe_regex": {"regex": prefix + ".*" + quote_meta(v[1:])}})
    elif v.endswith("*"):
        out = {"prefix": prefix + v[:-1]}
    else:
        out = {"exact": prefix + v}
    if ignore_case and "safe_regex" not in out:
        out["ignore_case"] = True
    return out


def _header(name: str, v: str, ignore_case: bool = False) -> dict[str, Any]:
    if v == "*":
        return {"name": name, "present_match": True}
    return {"name": name, "string_match": string_matcher(v, ignore_case=ignore_case)}


def _cidr(v: str) -> dict[str, Any]:
    addr, _, plen = v.partition("/")
    return {"address_prefix": addr, "prefix_len": int(plen) if plen.isdigit() else (128 if ":" in addr else 32)}


def _authenticated(m: dict[str, Any]) -> dict[str, Any]:
    return {"authenticated": {"principal_name": m}}


def _principal(c: Cond, v: str) -> dict[str, Any] | None:
    a = c.attr
    if a == "source.principal":
        return _authenticated(string_matcher(v, SPIFFE))
    if a == "source.namespace":
        return _authenticated({"safe_regex": {"regex": f".*/ns/{'.*'.join(quote_meta(p) for p in v.split('*'))}/.*"}})
    if a == "source.serviceAccount":
        ns, _, sa = v.partition("/") if "/" in v else (c.default_ns, "", v)
        return _authenticated({"safe_regex": {"regex": f"spiffe://.+/ns/{quote_meta(ns)}/(.+/|)sa/{quote_meta(sa)}(/.+)?"}})
    if a == "source.trustDomain":
        if v == "*":
            return _authenticated({"prefix": SPIFFE})
        if "*" not in v:
            return _authenticated({"prefix": f"{SPIFFE}{v}/"})
        head, _, tail = v.partition("*")
        return _authenticated({"safe_regex": {"regex": f"spiffe://{quote_meta(head)}[^/]*{quote_meta(tail)}/.*"}})
    if a == "source.ip":
        return {"direct_remote_ip": _cidr(v)}
    if a == "remote.ip":
        return {"remote_ip": _cidr(v)}
    if a.startswith("request.headers["):
        return {"header": _header(a[len("request.headers["):-1], v)}
    if a.startswith("request.auth."):
        claim = {"request.auth.principal": "sub", "request.auth.audiences": "aud", "request.auth.presenter": "azp"}.get(
            a, a[len("request.auth.claims["):-1])
        return {"metadata": {"filter": JWT_FILTER, "path": [{"key": "payload"}, {"key": claim}],
                             "value": {"string_match": string_matcher(v)}}}
    return None


def _permission(c: Cond, v: str) -> dict[str, Any] | None:
    a = c.attr
    if a == "destination.port":
        return {"destination_port": int(v)} if v.isdigit() else None
    if a == "destination.ip":
        return {"destination_ip": _cidr(v)}
    if a == "connection.sni":
        return {"requested_server_name": string_matcher(v)}
    if a == ":authority":
        return {"header": _header(":authority", v, ignore_case=True)}
    if a == ":method":
        return {"header": _header(":method", v)}
    if a == "url_path":
        if "{*}" in v or "{**}" in v:
            return {"uri_template": {"name": "uri-template", "typed_config": {"@type": URI_TEMPLATE, "path_template": v}}}
        return {"url_path": {"path": string_matcher(v)}}
    return None


def _conds(conds: tuple[Cond, ...], principal: bool) -> dict[str, Any]:
    one = _principal if principal else _permission
    any_key, or_key, not_key, and_key, inner = (("any", "or_ids", "not_id", "and_ids", "ids") if principal
                                                else ("any", "or_rules", "not_rule", "and_rules", "rules"))
    parts: list[dict[str, Any]] = []
    for c in conds:
        for vals, neg in ((c.values, False), (c.not_values, True)):
            items = [j for j in (one(c, v) for v in vals) if j is not None]
            if not items:
                continue
            group = {or_key: {inner: items}}
            parts.append({not_key: group} if neg else group)
    if not parts:
        parts.append({any_key: True})
    return {and_key: {inner: parts}}


def policy_json(p: RbacPolicy) -> dict[str, Any]:
    if p.never:
        return {"permissions": [{"not_rule": {"any": True}}], "principals": [{"not_id": {"any": True}}]}
    return {"permissions": [_conds(q, False) for q in p.permissions],
            "principals": [_conds(q, True) for q in p.principals]}


def _rules(action: str, policies: tuple[RbacPolicy, ...]) -> dict[str, Any]:
    return {"action": action, "policies": {p.name: policy_json(p) for p in policies}}


def rbac_filter_json(f: RbacFilter) -> dict[str, Any]:
    """One RBAC filter (HTTP or network). CUSTOM: the RBAC part only marks requests for the
    provider (shadow rules; the ext_authz filter needs MeshConfig extensionProviders, not modelled)."""
    body: dict[str, Any] = {"@type": RBAC_TCP if f.tcp else RBAC_HTTP}
    if f.action is RbacAction.CUSTOM:
        body["shadow_rules"] = _rules("DENY", f.policies)
        body["shadow_rules_stat_prefix"] = "istio_ext_authz_"
    else:
        if f.policies or not f.shadow:
            body["rules"] = _rules(str(f.action), f.policies)
        if f.shadow:
            body["shadow_rules"] = _rules(str(f.action), f.shadow)
            body["shadow_rules_stat_prefix"] = {"ALLOW": "istio_dry_run_allow_", "DENY": "istio_dry_run_deny_"}.get(str(f.action), "")
    if f.tcp:
        body["stat_prefix"] = "tcp."
    return {"name": "envoy.filters.network.rbac" if f.tcp else "envoy.filters.http.rbac", "typed_config": body}


def _tls_socket(ch: FilterChain, files: TlsFiles | None) -> dict[str, Any]:
    assert ch.tls is not None
    sans = [{"san_type": "URI", "matcher": {"prefix": f"{SPIFFE}{td}/"}} for td in ch.tls.trust_domains]
    common: dict[str, Any] = {
        "tls_params": {"tls_minimum_protocol_version": "TLSv1_2", "tls_maximum_protocol_version": "TLSv1_3",
                       "cipher_suites": list(CIPHERS)},
        "alpn_protocols": list(ch.tls.alpn),
    }
    _identity(common, sans, files)
    return {"name": "envoy.transport_sockets.tls",
            "typed_config": {"@type": DOWNSTREAM_TLS, "common_tls_context": common,
                             "require_client_certificate": ch.tls.require_client_certificate}}


def inbound_chain_json(ch: FilterChain, files: TlsFiles | None, hcm: Any, tcp: Any) -> dict[str, Any]:
    """`hcm(stat, chain, http_filters, route_config)` and `tcp(stat, chain)` are envoy_json's
    builders, so outbound and inbound chains share one HCM and one tcp_proxy shape."""
    from meshtui.translate.envoy_json import route_config_json

    rbac = [rbac_filter_json(f) for f in ch.rbac]
    if ch.kind == "http":
        rc = ch.inbound.route_config if ch.inbound is not None else None
        route = route_config_json(rc) if rc is not None else {"name": ch.rds or "", "virtual_hosts": []}
        filt = {"name": "envoy.filters.network.http_connection_manager",
                "typed_config": hcm(f"inbound_0.0.0.0_{ch.destination_port or 0}", ch, rbac, route)}
        filters = [filt]
    else:
        cluster = ch.tcp.clusters[0].cluster if ch.tcp and ch.tcp.clusters else "BlackHoleCluster"
        filters = rbac + [{"name": "envoy.filters.network.tcp_proxy", "typed_config": tcp(cluster, ch)}]
    out: dict[str, Any] = {"name": ch.name, "filters": filters}
    fcm: dict[str, Any] = {}
    if ch.destination_port is not None:
        fcm["destination_port"] = ch.destination_port
    if ch.transport:
        fcm["transport_protocol"] = ch.transport
    if ch.application_protocols:
        fcm["application_protocols"] = list(ch.application_protocols)
    if fcm:
        out["filter_chain_match"] = fcm
    if ch.tls is not None:
        out["transport_socket"] = _tls_socket(ch, files)
    return out


def inbound_listener_json(ls: Listener, render: InboundRender, hcm: Any, tcp: Any) -> dict[str, Any]:
    from meshtui.translate.envoy_json import HTTP_INSPECTOR, ORIGINAL_DST, TLS_INSPECTOR

    bound = render.bind_address is not None
    chains = ls.chains
    if bound:  # only the chains a connection to this port can reach
        chains = [c for c in chains if c.destination_port in (None, render.port)]
    out: dict[str, Any] = {
        "name": ls.name,
        "address": {"socket_address": {"address": render.bind_address if bound else ls.address,
                                       "port_value": render.port if bound else ls.port}},
        "filter_chains": [inbound_chain_json(c, render.tls, hcm, tcp) for c in chains],
        "traffic_direction": "INBOUND",
        "continue_on_listener_filters_timeout": True,
        "listener_filters_timeout": "0.1s",
    }
    filters = []
    if not bound:
        out["use_original_dst"] = True
        filters.append({"name": "envoy.filters.listener.original_dst", "typed_config": {"@type": ORIGINAL_DST}})
    if any(c.transport == "tls" for c in chains):
        filters.append({"name": "envoy.filters.listener.tls_inspector", "typed_config": {"@type": TLS_INSPECTOR}})
    if any(set(c.application_protocols) & {"http/1.1", "h2c"} for c in chains):
        filters.append({"name": "envoy.filters.listener.http_inspector", "typed_config": {"@type": HTTP_INSPECTOR}})
    out["listener_filters"] = filters
    return out
