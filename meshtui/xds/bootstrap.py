"""Envoy bootstraps that connect a proxy to meshtui's ADS server (the static, serverless one is
meshtui.translate.envoy_json.static_bootstrap, given `node_for(...)` as its node).

The node names its workload: node.id and metadata `meshtui.proxy` are "NS/WORKLOAD", and
node.cluster is "WORKLOAD.NS" (Istio's service-cluster form). The ADS bootstrap also declares
the `meshtui_faults` RTDS layer behind which live fault percentages sit (see server.py)."""

from __future__ import annotations

import ipaddress
from typing import Any

from meshtui.errors import UsageError
from meshtui.xds.resources import FAULT_LAYER

XDS_CLUSTER = "meshtui_xds"
_HPO = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def parse_address(addr: str, what: str = "--server", allow_zero: bool = False) -> tuple[str, int]:
    """'127.0.0.1:15010', '[::1]:15010' or 'localhost:15010' -> (host, port). Port 0 (let the
    OS choose) only where allow_zero."""
    addr = addr.strip()
    scheme, sep, rest = addr.partition("://")
    if sep:
        # gRPC addresses have no scheme; say so rather than failing on "http" as a host name
        raise UsageError(f"{what} {addr!r}: give HOST:PORT without a scheme (drop '{scheme}://'), "
                         f"e.g. {rest.split('/')[0] or '127.0.0.1:15010'}")
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
    token: str | None = None,
) -> dict:
    """A bootstrap that gets everything over ADS from `server` (HOST:PORT). `token`: the
    server's credential, sent as initial metadata on the ADS stream."""
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
    grpc_service: dict[str, Any] = {"envoy_grpc": {"cluster_name": XDS_CLUSTER}}
    if token:
        from meshtui.xds.credentials import METADATA_KEY, SCHEME

        grpc_service["initial_metadata"] = [{"key": METADATA_KEY, "value": SCHEME + token}]
    return {
        "node": node_for(proxy, kind, node_id),
        "admin": _admin(admin_host, admin_port),
        "dynamic_resources": {
            "ads_config": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "set_node_on_first_message_only": True,
                "grpc_services": [grpc_service],
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
