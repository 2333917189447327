"""Filter-chain selection field by field, in Envoy's order (simulate/chains.py)."""

from __future__ import annotations

from tracer_kit import client, mesh, svc, vs

from meshtui.simulate.chains import Connection, select_chain
from meshtui.translate.config import FilterChain, Listener

DEFAULT = FilterChain("default", "tcp")


def conn(ip: str | None = "10.1.1.1", sni: str = "", transport: str = "raw_buffer", alpn=(), src: str = "10.9.9.9",
         sport: int | None = None, port: int = 443) -> Connection:
    return Connection(ip, port, sni, transport, tuple(alpn), src, sport)


def pick(chains, c, default=DEFAULT):
    ch, why = select_chain(Listener("l", "0.0.0.0", 443, list(chains), default), c)
    return (ch.name if ch else None), why


def test_longest_destination_prefix_wins_and_unset_is_the_fallback():
    chains = [FilterChain("wide", "tcp", prefix_ranges=("10.0.0.0/8",)), FilterChain("narrow", "tcp", prefix_ranges=("10.1.0.0/16",)),
              FilterChain("any", "tcp")]
    assert pick(chains, conn("10.1.1.1"))[0] == "narrow"
    assert pick(chains, conn("10.2.1.1"))[0] == "wide"
    assert pick(chains, conn("192.168.0.1"))[0] == "any"
    assert pick(chains, conn(None))[0] == "any"
    assert pick(chains[:2], conn("192.168.0.1"))[0] == "default"
    assert pick(chains[:2], conn("192.168.0.1"), default=None)[0] is None


def test_server_names_exact_then_longest_wildcard():
    chains = [FilterChain("star", "tcp", server_names=("*.example.com",)), FilterChain("deeper", "tcp", server_names=("*.a.example.com",)),
              FilterChain("exact", "tcp", server_names=("x.a.example.com",)), FilterChain("none", "tcp")]
    assert pick(chains, conn(sni="x.a.example.com", transport="tls"))[0] == "exact"
    assert pick(chains, conn(sni="y.a.example.com", transport="tls"))[0] == "deeper"
    assert pick(chains, conn(sni="b.example.com", transport="tls"))[0] == "star"
    assert pick(chains, conn(sni="example.com", transport="tls"))[0] == "none"
    assert pick(chains, conn())[0] == "none"  # no SNI: only chains without server names


def test_no_backtracking_to_an_earlier_field():
    """The destination IP picks `ip`; its server name fails; Envoy does not fall back to `sni`,
    which names the SNI but no prefix: the default chain takes it."""
    chains = [FilterChain("ip", "tcp", prefix_ranges=("10.0.0.0/8",), server_names=("a.com",)),
              FilterChain("sni", "tcp", server_names=("b.com",))]
    name, why = pick(chains, conn("10.1.1.1", sni="b.com", transport="tls"))
    assert name == "default" and "server name 'b.com'" in why


def test_transport_alpn_and_source_fields():
    chains = [FilterChain("http", "http", transport="raw_buffer", application_protocols=("http/1.1", "h2c")),
              FilterChain("tls", "tcp", transport="tls")]
    assert pick(chains, conn(alpn=("http/1.1",)))[0] == "http"
    assert pick(chains, conn(transport="tls"))[0] == "tls"
    assert pick(chains, conn())[0] == "default"  # raw bytes that are not HTTP
    src = [FilterChain("office", "tcp", source_prefix_ranges=("10.9.0.0/16",)), FilterChain("port", "tcp", source_ports=(5000,)),
           FilterChain("local", "tcp", source_type="SAME_IP_OR_LOOPBACK")]
    assert pick(src, conn(src="10.9.9.9"))[0] == "office"
    assert pick(src[1:], conn(src="10.8.0.1", sport=5000))[0] == "port"
    assert pick(src[1:], conn(src="10.8.0.1"))[0] == "default"  # an ephemeral source port names no chain
    assert pick(src[2:], conn(src="127.0.0.1"))[0] == "local"


TCP = svc("db", port=5432, port_name="tcp", ip="10.96.0.50")


def test_destination_subnets_decide_the_tcp_chain(trace):
    """A tcp rule matching destinationSubnets only takes connections to those addresses (the
    simulator used to take the first TCP chain whatever its prefix ranges)."""
    m = mesh(TCP + svc("other", port=5432, port_name="tcp", ip="10.97.0.9") + client() + vs("db", """
  hosts: [db]
  tcp:
  - match: [{destinationSubnets: [10.1.0.0/16]}]
    route: [{destination: {host: other}}]
  - route: [{destination: {host: db}}]
"""))
    t = trace(m, "http://db:5432/")
    assert t.destinations[0].host == "db.default.svc.cluster.local", [s.detail for s in t.steps]
    m2 = mesh(TCP + svc("other", port=5432, port_name="tcp", ip="10.97.0.9") + client() + vs("db", """
  hosts: [db]
  tcp:
  - match: [{destinationSubnets: [10.96.0.0/16]}]
    route: [{destination: {host: other}}]
  - route: [{destination: {host: db}}]
"""))
    assert trace(m2, "http://db:5432/").destinations[0].host == "other.default.svc.cluster.local"
