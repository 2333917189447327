"""Host-name primitives as Istio applies them (reference §0): short-name expansion, wildcard
overlap and coverage, gateway-name resolution. Pure string functions."""

from __future__ import annotations

import ipaddress


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def expand(host: str, namespace: str, suffix: str = "cluster.local") -> str:
    """ResolveShortnameToFQDN: only dot-free names are expanded, with the config's namespace."""
    if not host or host == "*" or host.startswith("*") or "." in host or is_ip(host):
        return host
    return f"{host}.{namespace}.svc.{suffix}"


def matches(a: str, b: str) -> bool:
    """Symmetric overlap: could a request host satisfy both patterns?"""
    if a == b:
        return True
    aw, bw = a.startswith("*"), b.startswith("*")
    if aw and bw:
        sa, sb = a[1:], b[1:]
        return sa.endswith(sb) or sb.endswith(sa)
    if aw:
        return b.endswith(a[1:])
    if bw:
        return a.endswith(b[1:])
    return False


def covers(pattern: str, host: str) -> bool:
    """Is every name `host` stands for also matched by `pattern` (SubsetOf(host, pattern))?"""
    if pattern == host or pattern == "*":
        return True
    if not pattern.startswith("*"):
        return False
    suffix = pattern[1:]
    if host.startswith("*"):
        return host[1:].endswith(suffix)
    return host.endswith(suffix)


def gateway_ref(name: str, namespace: str) -> str:
    """A VirtualService `gateways` entry as `ns/name` (or `mesh`)."""
    if name == "mesh":
        return name
    if "/" in name:
        ns, _, gw = name.partition("/")
        return f"{namespace if ns in ('', '.') else ns}/{gw}"
    parts = name.split(".")
    if len(parts) > 2 and parts[2] == "svc":  # legacy FQDN form name.ns.svc.cluster.local
        return f"{parts[1]}/{parts[0]}"
    return f"{namespace}/{name}"


def specificity(pattern: str) -> tuple[int, int]:
    """Sort key, most specific first: exact before wildcard, then longer before shorter."""
    return (1 if pattern.startswith("*") else 0, -len(pattern))
