"""Filter-chain selection as Envoy's FilterChainManagerImpl does it (and Istio's
pilot/pkg/simulation): the chains are narrowed field by field in a fixed order — destination
port, destination IP (longest prefix), server name (exact, then the longest wildcard), transport
protocol, application protocols, source type, source IP (longest prefix), source port. At each
field the chains that name the connection's value win over the ones that leave the field unset;
when neither is left, Envoy does not go back to an earlier field: the default chain takes it."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from meshtui.translate.config import FilterChain, Listener

HTTP_ALPN = ("http/1.1",)  # what Envoy's http_inspector reports for the plaintext HTTP/1.1 we trace


@dataclass(frozen=True, slots=True)
class Connection:
    """What Envoy knows about a connection when it picks a filter chain (after the listener
    filters: tls_inspector gives SNI and 'tls', http_inspector the plaintext HTTP version)."""

    destination_ip: str | None
    destination_port: int
    server_name: str  # "" without TLS or without a tls_inspector
    transport: str  # raw_buffer | tls
    application_protocols: tuple[str, ...]
    source_ip: str
    source_port: int | None = None  # an ephemeral port: unknown


def connection_for(listener: Listener, destination_ip: str | None, port: int, tls: bool, sni: str, source_ip: str) -> Connection:
    """The connection facts, given which inspectors this listener runs (as envoy_json renders them)."""
    tls_inspector = any(c.server_names or c.transport == "tls" for c in listener.chains)
    http_inspector = any(c.application_protocols for c in listener.chains)
    transport = "tls" if tls and tls_inspector else "raw_buffer"
    alpn = HTTP_ALPN if http_inspector and not tls else ()
    return Connection(destination_ip, port, sni.lower() if tls and tls_inspector else "", transport, alpn, source_ip)


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


def _longest_prefix(ranges: tuple[str, ...], addr: str | None) -> int:
    """The longest of `ranges` that contains `addr` (its length), or -1."""
    ip = _ip(addr)
    best = -1
    for r in ranges:
        try:
            net = ipaddress.ip_network(r, strict=False)
        except ValueError:
            continue
        if ip is not None and ip.version == net.version and ip in net:
            best = max(best, net.prefixlen)
    return best


def _server_name_rank(names: tuple[str, ...], sni: str) -> int:
    """How well a chain's server_names cover the SNI: exact beats any wildcard, a longer
    wildcard suffix beats a shorter one; -1 when none does."""
    best = -1
    for n in names:
        n = n.lower()
        if n == sni:
            return 10_000
        if n.startswith("*.") and sni.endswith(n[1:]) and len(sni) > len(n) - 1:
            best = max(best, len(n))
    return best


Level = tuple[str, Callable[[FilterChain, Connection], tuple[bool, int]]]


def _level(field: str, unset: Callable[[FilterChain], bool], rank: Callable[[FilterChain, Connection], int]) -> Level:
    def judge(ch: FilterChain, conn: Connection) -> tuple[bool, int]:
        return (True, -1) if unset(ch) else (False, rank(ch, conn))
    return field, judge


LEVELS: tuple[Level, ...] = (
    _level("destination port", lambda c: c.destination_port is None,
           lambda c, k: 0 if c.destination_port == k.destination_port else -1),
    _level("destination IP", lambda c: not c.prefix_ranges, lambda c, k: _longest_prefix(c.prefix_ranges, k.destination_ip)),
    _level("server name", lambda c: not c.server_names, lambda c, k: _server_name_rank(c.server_names, k.server_name) if k.server_name else -1),
    _level("transport protocol", lambda c: not c.transport, lambda c, k: 0 if c.transport == k.transport else -1),
    _level("application protocols", lambda c: not c.application_protocols,
           lambda c, k: 0 if set(c.application_protocols) & set(k.application_protocols) else -1),
    _level("source type", lambda c: c.source_type in ("", "ANY"),
           lambda c, k: 0 if (c.source_type == "EXTERNAL") != _local(k) else -1),
    _level("source IP", lambda c: not c.source_prefix_ranges, lambda c, k: _longest_prefix(c.source_prefix_ranges, k.source_ip)),
    _level("source port", lambda c: not c.source_ports, lambda c, k: 0 if k.source_port in c.source_ports else -1),
)


def _local(conn: Connection) -> bool:
    src = _ip(conn.source_ip)
    return src is not None and (src.is_loopback or conn.source_ip == conn.destination_ip)


def select_chain(listener: Listener, conn: Connection) -> tuple[FilterChain | None, str]:
    """(the chain Envoy picks, or the default chain / None; why, field by field)."""
    cands = list(listener.chains)
    said: list[str] = []
    for field, judge in LEVELS:
        scored = [(ch, *judge(ch, conn)) for ch in cands]
        named = [(ch, r) for ch, unset, r in scored if not unset and r >= 0]
        if named:
            top = max(r for _, r in named)
            cands = [ch for ch, r in named if r == top]
            said.append(f"{_SHORT[field]} {_value(field, conn)}")
            continue
        anyv = [ch for ch, unset, _ in scored if unset]
        if not anyv:
            why = f"no chain matches {field} {_value(field, conn)}"
            if listener.default_chain is not None:
                return listener.default_chain, f"{why}; the default chain takes it"
            return None, why
        cands = anyv
    chosen = cands[0]  # Envoy refuses identical matches; the first is what it would have kept
    return chosen, ("matched on " + ", ".join(said)) if said else "the only chain (it sets no match field)"


_SHORT = {"destination port": "port", "destination IP": "destination", "server name": "SNI", "transport protocol": "transport",
          "application protocols": "ALPN", "source type": "source type", "source IP": "source", "source port": "source port"}


def _value(field: str, conn: Connection) -> str:
    return {
        "destination port": str(conn.destination_port),
        "destination IP": conn.destination_ip or "(unknown)",
        "server name": repr(conn.server_name) if conn.server_name else "(no SNI)",
        "transport protocol": conn.transport,
        "application protocols": ",".join(conn.application_protocols) or "(none)",
        "source type": "local" if _local(conn) else "external",
        "source IP": conn.source_ip or "(unknown)",
        "source port": str(conn.source_port) if conn.source_port else "(ephemeral)",
    }[field]
