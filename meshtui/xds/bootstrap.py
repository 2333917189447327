"""Envoy bootstraps: one that connects a proxy to meshtui's ADS server, and a static one that
carries a proxy's whole config inline and runs without any server.

The node names its workload: node.id and metadata `meshtui.proxy` are "NS/WORKLOAD", and
node.cluster is "WORKLOAD.NS" (Istio's service-cluster form). The ADS bootstrap also declares
the `meshtui_faults` RTDS layer behind which live fault percentages sit (see server.py)."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from meshtui.errors import UsageError
from meshtui.xds.resources import FAULT_LAYER

XDS_CLUSTER = "meshtui_xds"
_HPO = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def parse_address(addr: str, what: str = "--server", allow_zero: bool = False) -> tuple[str, int]:
    """'127.0.0.1:15010', '[::1]:15010' or 'localhost:15010' -> (host, port). Port 0 (let the
    OS choose) only where allow_zero."""
    addr = addr.strip()
    if addr.startswith("["):
        host, _, rest = addr[1:].partition("]")
        port_s = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_s = addr.rpartition(":")
    if not host or not port_s.isdigit() or not (0 if allow_zero else 1) <= int(port_s) < 65536:
        raise UsageError(f"{what} {addr!r}: expected HOST:PORT, e.g. 127.0.0.1:15010")
    return host, int(port_s)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_proxy(proxy: str) -> tuple[str, str]:
    ns, sep, workload = proxy.partition("/")
    if not sep or not ns or not workload or "/" in workload:
        raise UsageError(f"--proxy {proxy!r}: expected NAMESPACE/WORKLOAD, e.g. default/productpage-v1")
    return ns, workload


def node_for(proxy: str, kind: str = "sidecar", node_id: str | None = None) -> dict:
    ns, workload = split_proxy(proxy)
    return {
        "id": node_id or proxy,
        "cluster": f"{workload}.{ns}",
        "metadata": {"meshtui.proxy": proxy, "meshtui.kind": kind},
    }


def _admin(admin_host: str, admin_port: int) -> dict:
    return {"address": {"socket_address": {"address": admin_host, "port_value": admin_port}}}


def ads_bootstrap(
    server: str,
    proxy: str,
    *,
    kind: str = "sidecar",
    node_id: str | None = None,
    admin_host: str = "127.0.0.1",
    admin_port: int = 15000,
    initial_fetch_timeout: str = "10s",
    tls_ca: str | None = None,
) -> dict:
    """A bootstrap that gets everything over ADS from `server` (HOST:PORT)."""
    host, port = parse_address(server)
    ads_source = {"ads": {}, "resource_api_version": "V3", "initial_fetch_timeout": initial_fetch_timeout}
    xds_cluster: dict[str, Any] = {
        "name": XDS_CLUSTER,
        "type": "STATIC" if _is_ip(host) else "STRICT_DNS",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": XDS_CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": host, "port_value": port}}}}]}],
        },
        # gRPC needs HTTP/2; without it no stream ever reaches the server, silently.
        "typed_extension_protocol_options": {_HPO: {
            "@type": "type.googleapis.com/" + _HPO,
            "explicit_http_config": {"http2_protocol_options": {
                "connection_keepalive": {"interval": "10s", "timeout": "5s"}}},
        }},
    }
    if tls_ca:
        xds_cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "common_tls_context": {"validation_context": {"trusted_ca": {"filename": tls_ca}}},
            },
        }
    return {
        "node": node_for(proxy, kind, node_id),
        "admin": _admin(admin_host, admin_port),
        "dynamic_resources": {
            "ads_config": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "set_node_on_first_message_only": True,
                "grpc_services": [{"envoy_grpc": {"cluster_name": XDS_CLUSTER}}],
            },
            "cds_config": dict(ads_source),
            "lds_config": dict(ads_source),
        },
        "static_resources": {"clusters": [xds_cluster]},
        "layered_runtime": {"layers": [
            # Live fault percentages: an RTDS layer over ADS, sent with a TTL (the fail-safe).
            {"name": FAULT_LAYER, "rtds_layer": {"name": FAULT_LAYER, "rtds_config": dict(ads_source)}},
            {"name": "admin", "admin_layer": {}},
        ]},
    }


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def static_bootstrap(
    listeners: list[dict],
    routes: list[dict],
    clusters: list[dict],
    endpoints: list[dict],
    proxy: str,
    *,
    runtime: dict | None = None,
    kind: str = "sidecar",
    admin_host: str = "127.0.0.1",
    admin_port: int = 15000,
) -> dict:
    """Everything inline: listeners with their route config, clusters with their endpoints.
    Envoy runs it with no server. Inputs are not modified."""
    routes_by_name = {r.get("name"): r for r in routes}
    cla_by_name = {e.get("cluster_name"): e for e in endpoints}
    out_listeners = [_inline_routes(copy.deepcopy(lst), routes_by_name) for lst in listeners]
    out_clusters = [_inline_endpoints(copy.deepcopy(c), cla_by_name) for c in clusters]
    boot: dict[str, Any] = {
        "node": node_for(proxy, kind),
        "admin": _admin(admin_host, admin_port),
        "static_resources": {"listeners": out_listeners, "clusters": out_clusters},
    }
    if runtime:
        from meshtui.xds.resources import runtime_value

        layer = {k: runtime_value(v, k) for k, v in sorted(runtime.items())}
        boot["layered_runtime"] = {"layers": [{"name": FAULT_LAYER, "static_layer": layer},
                                              {"name": "admin", "admin_layer": {}}]}
    return boot


def _inline_routes(listener: dict, routes_by_name: dict[str, dict]) -> dict:
    chains = list(listener.get("filter_chains") or [])
    if listener.get("default_filter_chain"):
        chains.append(listener["default_filter_chain"])
    for chain in chains:
        for f in chain.get("filters") or []:
            tc = f.get("typed_config") or {}
            if tc.get("@type") != _HCM_TYPE or "rds" not in tc:
                continue
            name = (tc.get("rds") or {}).get("route_config_name", "")
            rc = routes_by_name.get(name)
            del tc["rds"]
            tc["route_config"] = copy.deepcopy(rc) if rc is not None else {"name": name}
    return listener


def _inline_endpoints(cluster: dict, cla_by_name: dict[str, dict]) -> dict:
    if cluster.get("type") != "EDS":
        return cluster
    eds = cluster.pop("eds_cluster_config", None) or {}
    service = eds.get("service_name") or cluster.get("name")
    cla = copy.deepcopy(cla_by_name.get(service) or {"cluster_name": service})
    cla["cluster_name"] = cluster.get("name")
    cluster["type"] = "STATIC"
    cluster["load_assignment"] = cla
    return cluster
