"""Host-name primitives as Istio uses them (pkg/config/host): wildcard overlap, subset, most
specific match, short-name expansion and gateway-name resolution. The one place for them: the
validator, the translator, the analyzers and the tracer all use these."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def is_wildcard(host: str) -> bool:
    return host.startswith("*")


def matches(a: str, b: str) -> bool:
    """Symmetric overlap: `*.com` ~ `foo.com`, `*` ~ anything, `*.foo.com` !~ `foo.com`."""
    aw, bw = is_wildcard(a), is_wildcard(b)
    if not aw and not bw:
        return a == b
    if aw and bw:
        sa, sb = a[1:], b[1:]
        return sa.endswith(sb) or sb.endswith(sa)
    if aw:
        return b.endswith(a[1:])
    return a.endswith(b[1:])


def subset_of(a: str, b: str) -> bool:
    """Is every name `a` covers also covered by `b`?"""
    if is_wildcard(b):
        if is_wildcard(a):
            return a[1:].endswith(b[1:])
        return a.endswith(b[1:])
    if is_wildcard(a):
        return False
    return a == b


def more_specific_key(host: str) -> tuple[int, int, str]:
    """Sort key: non-wildcards first, then longer first, then lexicographic."""
    return (1 if is_wildcard(host) else 0, -len(host), host)


def most_specific_match(needle: str, candidates: Iterable[str]) -> str | None:
    """The candidate that best covers `needle`: an exact key, else the longest wildcard suffix."""
    best: str | None = None
    for c in candidates:
        if c == needle:
            return c
        if is_wildcard(c) and (needle.endswith(c[1:]) or c == "*") and (not is_wildcard(needle) or subset_of(needle, c)):
            if best is None or len(c) > len(best):
                best = c
    return best


def is_ip(host: str) -> bool:
    if ":" not in host and not host[:1].isdigit():  # neither IPv6 nor dotted IPv4: skip the parse
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def resolve_short(host: str, namespace: str, domain_suffix: str = "cluster.local") -> str:
    """ResolveShortnameToFQDN: only dot-free names expand, with the config's namespace."""
    if host == "*" or "." in host or is_ip(host) or not host:
        return host
    if host.startswith("*"):
        return host
    return f"{host}.{namespace}.svc.{domain_suffix}"


def resolve_gateway_name(gw: str, vs_namespace: str) -> str:
    if gw == "mesh":
        return gw
    if "/" in gw:
        ns, name = gw.split("/", 1)
        return f"{vs_namespace}/{name}" if ns == "." else gw
    if "." in gw:  # legacy FQDN form name.ns.svc.cluster.local
        parts = gw.split(".")
        return f"{parts[1]}/{parts[0]}"
    return f"{vs_namespace}/{gw}"


def strip_port(authority: str) -> str:
    if authority.startswith("["):
        end = authority.find("]")
        return authority[1:end] if end > 0 else authority
    if authority.count(":") == 1:
        return authority.split(":", 1)[0]
    return authority
