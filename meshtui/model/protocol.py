"""Port protocol selection as Istio does it (pkg/config/kube/conversion.go)."""

from __future__ import annotations

HTTP_FAMILY = {"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"}
TLS_FAMILY = {"HTTPS", "TLS"}
TCP_FAMILY = {"TCP", "HTTPS", "TLS", "MONGO", "REDIS", "MYSQL"}
UNSUPPORTED = "UNSUPPORTED"  # sniffed: both an HTTP and a TCP chain

_NAMES = {
    "http": "HTTP", "http2": "HTTP2", "https": "HTTPS", "grpc": "GRPC", "grpc-web": "GRPC-WEB",
    "tcp": "TCP", "tls": "TLS", "mongo": "MONGO", "redis": "REDIS", "mysql": "MYSQL", "udp": "UDP",
    "http_proxy": "HTTP_PROXY",
}
_APP = {"kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP", "kubernetes.io/wss": "HTTPS"}
_TCP_PORTS = {25, 53, 3306, 27017}


def parse_protocol(text: str) -> str:
    return _NAMES.get(text.lower(), UNSUPPORTED) if text else UNSUPPORTED


def k8s_port_protocol(name: str, port: int, l4: str = "TCP", app_protocol: str = "") -> str:
    if l4.upper() == "UDP":
        return "UDP"
    if app_protocol:
        if app_protocol in _APP:
            return _APP[app_protocol]
        p = parse_protocol(app_protocol)
        if p != UNSUPPORTED:
            return p
    if name.lower().startswith("grpc-web"):
        return "GRPC-WEB"
    p = parse_protocol(name.split("-", 1)[0])
    if p == UNSUPPORTED and port in _TCP_PORTS:
        return "TCP"
    return p


def se_port_protocol(protocol: str, name: str, port: int) -> str:
    if protocol:
        return parse_protocol(protocol)
    return k8s_port_protocol(name, port)


def is_http(protocol: str) -> bool:
    return protocol in HTTP_FAMILY
