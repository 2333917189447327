"""The analyzers' names for the host primitives of meshtui.model.hosts (no logic of its own),
so analysis and routing agree: short-name expansion, wildcard overlap and coverage,
gateway-name resolution."""

from __future__ import annotations

from meshtui.model.hosts import is_ip, matches, resolve_gateway_name, resolve_short, subset_of

__all__ = ["covers", "expand", "gateway_ref", "is_ip", "matches", "specificity"]


def expand(host: str, namespace: str, suffix: str = "cluster.local") -> str:
    """ResolveShortnameToFQDN: only dot-free names are expanded, with the config's namespace."""
    return resolve_short(host, namespace, suffix)


def covers(pattern: str, host: str) -> bool:
    """Is every name `host` stands for also matched by `pattern`?"""
    return subset_of(host, pattern)


def gateway_ref(name: str, namespace: str) -> str:
    """A VirtualService `gateways` entry as `ns/name` (or `mesh`)."""
    return resolve_gateway_name(name, namespace)


def specificity(pattern: str) -> tuple[int, int]:
    """Sort key, most specific first: exact before wildcard, then longer before shorter."""
    return (1 if pattern.startswith("*") else 0, -len(pattern))
