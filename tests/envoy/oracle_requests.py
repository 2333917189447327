"""Requests generated from a proxy's ProxyConfig: for every HTTP listener the test binds, every
virtual host and every route, a request that satisfies the route's match (path, headers incl.
presence and inverted ones, query parameters, method, authority) and variations that break one
condition at a time, over several domains of the vhost (FQDN, trailing dot, short names, IPs,
wildcards made concrete, with and without the port, in other letter case), plus unknown hosts.
TCP listeners get a few plain HTTP requests through their tcp_proxy.

The generator only aims; the comparison never trusts it: Envoy and simulate get the same request
and must agree, whatever route it lands on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from oracle_regex import example

from meshtui.simulate.request import Request
from meshtui.translate.config import ProxyConfig, Route, RouteMatch, StringMatcher, VirtualHost

UNKNOWN_HOSTS = ("oracle-unknown.example.org", "10.255.255.254", "[fd00::1]")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


@dataclass(frozen=True)
class Probe:
    listener: str  # listener name (ProxyConfig and the rewired bootstrap agree on it)
    port: int  # the port the client dials, as the mesh sees it (a gateway: its Service port)
    method: str
    authority: str  # the Host header
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    aim: str = ""
    tcp: bool = False

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def wire_headers(self) -> list[tuple[str, str]]:
        return [("Host", self.authority), *self.headers]

    def request(self) -> Request:
        host = self.authority
        if host.startswith("["):
            host = host[1: host.find("]")]
        elif host.count(":") == 1:
            host = host.split(":", 1)[0]
        hdrs: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for k, v in self.headers:  # as `meshtui trace -H` takes them: repeated headers joined, and each kept
            hdrs[k.lower()] = f"{hdrs[k.lower()]},{v}" if k.lower() in hdrs else v
            values.setdefault(k.lower(), []).append(v)
        hdrs["host"] = self.authority
        repeated = {k: tuple(v) for k, v in values.items() if len(v) > 1}
        return Request(self.method, "http", host.lower(), self.port, self.path, self.query, hdrs, True, repeated)

    def key(self) -> tuple:
        return (self.listener, self.method, self.authority, self.target, tuple(sorted((k.lower(), v) for k, v in self.headers)))

    def describe(self) -> str:
        hs = "".join(f" -H '{k}: {v}'" for k, v in self.headers)
        return f"{self.method} http://{self.authority}{self.target}{hs} on listener {self.listener} [{self.aim}]"


@dataclass
class Spec:
    """What a request needs to satisfy one RouteMatch; None fields are free."""

    path: str = "/"
    query: list[tuple[str, str | None]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    authority: str | None = None

    def copy(self) -> Spec:
        return Spec(self.path, list(self.query), dict(self.headers), self.method, self.authority)


def _value_for(m: StringMatcher, seed: int = 1) -> str | None:
    if m.kind == "exact":
        return m.value or ""
    if m.kind == "prefix":
        return (m.value or "") + "oracle"
    if m.kind == "regex":
        return example(m.value or "", seed)
    return "oracle"


def _other_value(m: StringMatcher) -> str:
    if m.kind in ("exact", "prefix"):
        return "zz-" + (m.value or "") + "-miss"
    return "zz-oracle-miss"


def _path_for(m: RouteMatch, alt: bool = False) -> str | None:
    if m.path_kind == "prefix":
        p = m.path
        if p == "/":
            return "/oracle/item" if alt else "/"
        if alt or p.endswith("/"):
            return p + "item" if p.endswith("/") else p + "/item"
        return p
    if m.path_kind == "path":
        return m.path
    return example(m.path, 3 if alt else 1)


def satisfy(m: RouteMatch) -> Spec | None:
    path = _path_for(m)
    if path is None or not path.startswith("/"):
        return None
    spec = Spec(path)
    for h in m.headers:
        if h.name == ":scheme":
            continue  # the client speaks plain HTTP/1.1; a scheme condition is tried as it stands
        if h.invert:
            if h.match.kind == "present" or h.treat_missing_as_empty:
                continue  # absence satisfies it
            spec.headers[h.name] = _other_value(h.match)
            continue
        v = _value_for(h.match)
        if v is None:
            return None
        if h.name == ":method":
            if not v.isalpha():
                return None
            spec.method = v
        elif h.name == ":authority":
            spec.authority = v
        else:
            spec.headers[h.name] = v
    for q in m.query:
        if q.match.kind == "present":
            spec.query.append((q.name, None))
        else:
            v = _value_for(q.match)
            if v is None:
                return None
            spec.query.append((q.name, v))
    return spec


def breakers(m: RouteMatch, base: Spec) -> list[tuple[str, Spec]]:
    """Variations of a satisfying request, each changing one condition (some, like a query string
    on an exact path, should still match: the comparison decides, not the label)."""
    out: list[tuple[str, Spec]] = []
    if m.path_kind == "prefix" and m.path != "/":
        s = base.copy()
        s.path = "/zz-oracle-miss" + m.path
        out.append(("path outside the prefix", s))
        if any(c.isalpha() for c in m.path):
            s = base.copy()
            s.path = base.path.swapcase()
            out.append(("path in other letter case", s))
        if len(m.path) > 2:
            s = base.copy()
            s.path = m.path[:-1]
            out.append(("path one character short of the prefix", s))
    elif m.path_kind == "path":
        s = base.copy()
        s.path = m.path + "x"
        out.append(("exact path plus a character", s))
        s = base.copy()
        s.query = [*s.query, ("oracle", "1")]
        out.append(("exact path with a query string", s))
        if any(c.isalpha() for c in m.path):
            s = base.copy()
            s.path = m.path.swapcase()
            out.append(("exact path in other letter case", s))
    elif m.path_kind == "regex":
        s = base.copy()
        s.path = "/zz-oracle-miss/x"
        out.append(("path the regex does not match", s))
        s = base.copy()
        s.query = [*s.query, ("oracle", "1")]
        out.append(("regex path with a query string", s))
    for h in m.headers:
        if h.name == ":scheme":
            continue
        if h.name == ":method":
            s = base.copy()
            s.method = "GET" if (base.method or "GET") != "GET" else "POST"
            out.append((f"method {s.method}", s))
            continue
        if h.name == ":authority":
            if base.authority and base.authority.upper() != base.authority:
                s = base.copy()
                s.authority = base.authority.upper()
                out.append(("authority in upper case", s))
            continue  # the authority also picks the vhost: otherwise varied through the domains
        if h.invert:
            v = _value_for(h.match)
            if v is not None:
                s = base.copy()
                s.headers[h.name] = v
                out.append((f"without-header {h.name} present with a matching value", s))
            if h.match.kind != "present":
                s = base.copy()
                s.headers.pop(h.name, None)
                out.append((f"without-header {h.name} absent", s))
            continue
        s = base.copy()
        s.headers.pop(h.name, None)
        out.append((f"header {h.name} missing", s))
        if h.match.kind != "present":
            s = base.copy()
            s.headers[h.name] = _other_value(h.match)
            out.append((f"header {h.name} with another value", s))
            if h.match.kind == "exact" and (h.match.value or "") != "":
                s = base.copy()
                s.headers[h.name] = ""
                out.append((f"header {h.name} empty", s))
        s = base.copy()
        v = s.headers.pop(h.name, None)
        if v is not None:
            s.headers[h.name.title()] = v
            out.append((f"header {h.name} with the name in other case", s))
    for i, q in enumerate(m.query):
        s = base.copy()
        s.query = [x for j, x in enumerate(base.query) if j != i]
        out.append((f"query {q.name} missing", s))
        if q.match.kind != "present":
            s = base.copy()
            s.query = [(k, _other_value(q.match) if j == i else v) for j, (k, v) in enumerate(base.query)]
            out.append((f"query {q.name} with another value", s))
    return out


def encodings(m: RouteMatch, base: Spec) -> list[tuple[str, Spec]]:
    """The same request spelled differently on the wire: dot segments and doubled slashes in
    the path, percent-encoding, repeated or bare query parameters, empty header values. Envoy
    normalises some of these before routing and not others; simulate must know which."""
    out: list[tuple[str, Spec]] = []
    p = base.path
    if p.startswith("/") and len(p) > 1:
        for why, q in (("dot segment", "/./" + p[1:]), ("dot-dot segment", "/zz/.." + p),
                       ("doubled slash", "/" + p), ("percent-encoded first letter", _pct_first(p))):
            if q is not None and q != p:
                s = base.copy()
                s.path = q
                out.append((f"path with a {why}", s))
    for i, (k, v) in enumerate(base.query):
        if v:
            s = base.copy()
            s.query = [(k2, _pct_all(v2) if j == i and v2 else v2) for j, (k2, v2) in enumerate(base.query)]
            out.append((f"query {k} percent-encoded", s))
        s = base.copy()
        s.query = [(k, "zz-first"), *base.query]
        out.append((f"query {k} twice, another value first", s))
        s = base.copy()
        s.query = [*base.query, (k, "zz-second")]
        out.append((f"query {k} twice, another value second", s))
        s = base.copy()
        s.query = [(k2, "" if j == i else v2) for j, (k2, v2) in enumerate(base.query)]
        out.append((f"query {k} empty", s))
    for h in m.headers:
        if h.name.startswith(":"):
            continue
        if h.match.kind == "present" or h.invert:
            s = base.copy()
            s.headers[h.name] = ""
            out.append((f"header {h.name} present but empty", s))
    return out


def header_op_inputs(r: Route, base: Spec) -> list[tuple[str, Spec]]:
    """A request that already carries the headers a route sets, adds or removes."""
    names: list[str] = []
    for ops in (r.request_headers, *(c.request_headers for c in (r.action.clusters if r.action else ()))):
        names += [k for k, _ in ops.set] + [k for k, _ in ops.add] + list(ops.remove)
    names = [n for n in dict.fromkeys(n.lower() for n in names) if not n.startswith(":") and n != "host"]
    if not names:
        return []
    s = base.copy()
    for n in names:
        s.headers.setdefault(n, "from-client")
    return [("request already has the route's header operations' headers", s)]


def cors_inputs(r: Route, base: Spec) -> list[tuple[str, Spec]]:
    """Preflights (OPTIONS + Origin + Access-Control-Request-Method) from an allowed and from a
    foreign origin, and a plain request with an Origin, for a route with a corsPolicy."""
    if not r.cors:
        return []
    allowed: list[str] = []
    for o in r.cors.get("allowOrigins", []):
        if o["kind"] == "exact":
            allowed.append(o["value"])
        elif o["kind"] == "prefix":
            allowed.append(o["value"] + "oracle.example.com")
        elif o["kind"] == "regex":
            v = example(o["value"])
            if v:
                allowed.append(v)
    methods = [m.strip() for m in str(r.cors.get("allowMethods", "GET")).split(",") if m.strip()] or ["GET"]
    out: list[tuple[str, Spec]] = []
    for origin in [*allowed, "https://foreign.example.net"]:
        for method in dict.fromkeys([methods[0], "DELETE"]):
            s = base.copy()
            s.method = "OPTIONS"
            s.headers.update({"origin": origin, "access-control-request-method": method})
            out.append((f"CORS preflight from {origin} for {method}", s))
        s = base.copy()
        s.headers["origin"] = origin
        out.append((f"request with Origin {origin}", s))
    return out


def _pct_first(path: str) -> str | None:
    for i, c in enumerate(path):
        if c.isalnum():
            return path[:i] + f"%{ord(c):02X}" + path[i + 1:]
    return None


def _pct_all(value: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in value)


def _query_text(q: list[tuple[str, str | None]]) -> str:
    return "&".join(k if v is None else f"{k}={v}" for k, v in q)


def domain_variants(vh: VirtualHost, port: int) -> list[str]:
    """Hosts a client would send for this vhost: concrete domains, wildcards made concrete, the
    port added, a different case."""
    names: list[str] = []
    for d in vh.domains:
        if d == "*":
            continue
        if d.startswith("*"):
            names.append("oracle" + d[1:] if d[1:].startswith(".") else "oracle." + d[1:].lstrip("."))
        elif d.endswith("*"):
            names.append(d[:-1] + "oracle")
        else:
            names.append(d)
    out: list[str] = []
    for i, n in enumerate(names):
        out.append(n)
        if i < 6 and ":" not in n:
            out.append(f"{n}:{port}")
    if names:
        out.append(names[0].upper())
        if ":" not in names[0]:
            out.append(f"{names[0]}:{port + 1}")  # a port no listener has: ignored for vhost selection
    return list(dict.fromkeys(out))


def make_probe(listener: str, port: int, spec: Spec, authority: str, aim: str, method: str = "GET") -> Probe:
    return Probe(listener, port, spec.method or method, spec.authority or authority, spec.path, _query_text(spec.query),
                 tuple(sorted(spec.headers.items())), aim)


def http_probes(listener: str, port: int, routes_vhosts: list[VirtualHost]) -> tuple[list[Probe], list[str]]:
    probes: list[Probe] = []
    skipped: list[str] = []
    for vh in routes_vhosts:
        domains = domain_variants(vh, port)
        if not domains:
            domains = ["oracle-any.example.org"]
        for i, r in enumerate(vh.routes):
            base = satisfy(r.match)
            label = f"{vh.name} route {r.name or i!r}"
            if base is None:
                skipped.append(f"{label}: cannot build a request for {r.match}")
                continue
            method = METHODS[i % len(METHODS)]
            # the first route, redirects and TLS-only vhosts see every domain: the Location
            # keeps, drops or replaces the Host's port, so each form of the host matters
            every = i == 0 or r.redirect is not None or vh.require_tls
            hosts = domains if every else [domains[(i + k) % len(domains)] for k in range(2)]
            for h in dict.fromkeys(hosts):
                probes.append(make_probe(listener, port, base, h, f"{label}: satisfy", method))
            alt_path = _path_for(r.match, alt=True)
            if alt_path and alt_path != base.path and alt_path.startswith("/"):
                s = base.copy()
                s.path = alt_path
                probes.append(make_probe(listener, port, s, domains[i % len(domains)], f"{label}: satisfy, another path"))
            if r.action is not None and (r.action.prefix_rewrite is not None or r.action.regex_rewrite is not None):
                s = base.copy()
                s.query = [*s.query, ("oracle", "kept")]
                probes.append(make_probe(listener, port, s, domains[i % len(domains)], f"{label}: rewrite keeps the query"))
            if not r.match.case_sensitive and any(c.isalpha() for c in base.path):
                s = base.copy()
                s.path = base.path.swapcase()
                probes.append(make_probe(listener, port, s, domains[i % len(domains)], f"{label}: satisfy, ignoring case"))
            extra = breakers(r.match, base) + encodings(r.match, base) + header_op_inputs(r, base) + cors_inputs(r, base)
            for k, (why, s) in enumerate(extra):
                probes.append(make_probe(listener, port, s, domains[(i + k) % len(domains)], f"{label}: {why}", method))
            for h in r.match.headers:  # the header twice, the same value or another one first
                if not h.name.startswith(":") and h.name in base.headers:
                    p = make_probe(listener, port, base, domains[i % len(domains)], f"{label}: header {h.name} sent twice", method)
                    probes.append(replace(p, headers=(*p.headers, (h.name, base.headers[h.name]))))
                    other = tuple((k, "zz-other" if k == h.name else v) for k, v in p.headers)
                    probes.append(replace(p, headers=(*other, (h.name, base.headers[h.name])),
                                          aim=f"{label}: header {h.name} twice, another value first"))
                    probes.append(replace(p, headers=(*p.headers, (h.name, f"{base.headers[h.name]},zz")),
                                          aim=f"{label}: header {h.name} twice, the second with a comma"))
                elif h.invert and h.match.kind != "present" and not h.name.startswith(":"):
                    v = _value_for(h.match)
                    if v is not None:
                        p = make_probe(listener, port, base, domains[i % len(domains)],
                                   f"{label}: without-header {h.name} twice, one value matching", method)
                        probes.append(replace(p, headers=(*p.headers, (h.name, "zz-other"), (h.name, v))))
    for h in UNKNOWN_HOSTS:
        for authority in (h, f"{h}:{port}"):
            probes.append(Probe(listener, port, "GET", authority, "/oracle/unknown", aim="unknown host"))
    return probes, skipped


def tcp_probes(listener: str, port: int, hosts: list[str]) -> list[Probe]:
    out = [Probe(listener, port, "GET", h, "/oracle/tcp", aim=f"tcp_proxy for {h}", tcp=True) for h in hosts]
    return out + [Probe(listener, port, "GET", UNKNOWN_HOSTS[0], "/oracle/tcp", aim="tcp_proxy, unknown host", tcp=True)]


def dial_port(cfg: ProxyConfig, listener_port: int) -> int:
    """The port a client dials to reach a listener: a gateway listens on its Service's target
    port, so a client dials the Service port that maps to it."""
    if cfg.proxy.type != "router":
        return listener_port
    for svc_port, target in sorted(cfg.service_ports.items()):
        if target == listener_port:
            return svc_port
    return listener_port


def probes_for(cfg: ProxyConfig, bound: dict[str, tuple[str, int]]) -> tuple[list[Probe], list[str]]:
    """Every probe for the listeners the oracle bootstrap binds (`bound`: listener name -> address)."""
    router = cfg.proxy.type == "router"
    probes: list[Probe] = []
    skipped: list[str] = []
    for ls in cfg.listeners:
        if ls.name not in bound:
            continue
        port = dial_port(cfg, ls.port)
        http = [c for c in ls.chains if c.kind == "http" and c.transport != "tls"]
        if http:
            rc = cfg.route_configs.get(http[0].rds or "")
            if rc is None:
                continue
            p, s = http_probes(ls.name, port, rc.virtual_hosts)
            probes += p
            skipped += s
        elif not router:
            hosts = sorted({wc.host for ch in [*ls.chains, *([ls.default_chain] if ls.default_chain else [])]
                            if ch.tcp for wc in ch.tcp.clusters if wc.host})
            probes += tcp_probes(ls.name, port, hosts)
    seen: set = set()
    unique = []
    for p in probes:
        if p.key() not in seen:
            seen.add(p.key())
            unique.append(p)
    return unique, skipped


def weighted_tcp(cfg: ProxyConfig, bound: dict[str, tuple[str, int]]) -> list[Probe]:
    """A probe for every bound tcp_proxy listener whose chain splits between clusters."""
    out = []
    for ls in cfg.listeners:
        if ls.name not in bound or any(c.kind == "http" for c in ls.chains):
            continue
        for ch in [*ls.chains, *([ls.default_chain] if ls.default_chain else [])]:
            if ch.tcp and len(ch.tcp.clusters) > 1:
                host = next((c.host for c in ch.tcp.clusters if c.host), UNKNOWN_HOSTS[0])
                out.append(Probe(ls.name, dial_port(cfg, ls.port), "GET", host, "/oracle/tcp",
                                 aim=f"weighted tcp_proxy on {ls.name}", tcp=True))
                break
    return out


def weighted_routes(cfg: ProxyConfig, bound: dict[str, tuple[str, int]]) -> list[tuple[Probe, Route]]:
    """A satisfying probe for every weighted route on a bound HTTP listener."""
    out = []
    for ls in cfg.listeners:
        if ls.name not in bound:
            continue
        for ch in ls.chains:
            if ch.kind != "http" or ch.transport == "tls":
                continue
            rc = cfg.route_configs.get(ch.rds or "")
            for vh in rc.virtual_hosts if rc else []:
                for r in vh.routes:
                    if r.action is None or not r.action.weighted:
                        continue
                    spec = satisfy(r.match)
                    port = dial_port(cfg, ls.port)
                    doms = domain_variants(vh, port)
                    if spec is None or not doms:
                        continue
                    out.append((make_probe(ls.name, port, spec, doms[0], f"{vh.name} weighted route {r.name!r}"), r))
    return out

