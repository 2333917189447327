"""Gateway (router) configuration (Istio's gateway.go): merged Gateways per workload, listeners on
the Service target ports, `http.<port>` / `https.<port>.<name>.<gw>.<ns>` route configs, one vhost
per intersecting host with routes from every bound VS (catch-alls last), httpsRedirect, SNI
chains for terminated HTTPS and passthrough, and the `blackhole:<port>` vhost."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from meshtui.model.gatewayapi_convert import origin_of
from meshtui.model.hosts import subset_of
from meshtui.model.istio import Gateway, Server, VirtualService
from meshtui.model.snapshot import MeshSnapshot, RegistryService, Workload, labels_match
from meshtui.translate.clusters import ClusterBuilder
from meshtui.translate.config import (
    DroppedMatch,
    FilterChain,
    Listener,
    ProxyConfig,
    ProxyInfo,
    Ref,
    Route,
    RouteConfig,
    VirtualHost,
)
from meshtui.translate.delegate import RuleTemplates
from meshtui.translate.l4 import dropped_notes, l4_chains
from meshtui.translate.policy import DRIndex
from meshtui.translate.routes import RouteContext, vs_ref
from meshtui.translate.scope import ordered_gateway_vs, vs_hosts

HTTP_PROTOCOLS = {"HTTP", "HTTP2", "GRPC", "GRPC-WEB"}


@dataclass
class BoundServer:
    gateway: Gateway
    server: Server
    index: int

    @property
    def gw_name(self) -> str:
        return f"{self.gateway.namespace}/{self.gateway.name}"

    def ref(self) -> Ref:
        o = origin_of(self.gateway, f"spec.servers[{self.index}]")
        if o is not None:  # a Gateway API listener, as istiod converts it
            return Ref(o.kind, o.namespace, o.name, o.path, o.file, o.line)
        return Ref("Gateway", self.gateway.namespace, self.gateway.name, f"spec.servers[{self.index}]",
                   self.gateway.src.file, self.server.src.line)

    def hosts_for(self, vs_ns: str) -> list[str]:
        out = []
        for h in self.server.hosts:
            ns, slash, dns = h.rpartition("/")
            if not slash:
                ns, dns = "*", h
            if ns == ".":
                ns = self.gateway.namespace
            if ns in ("*", vs_ns):
                out.append(dns.lower())
        return out

    @property
    def protocol(self) -> str:
        return self.server.port.protocol.upper() if self.server.port else "HTTP"

    @property
    def tls_mode(self) -> str | None:
        return self.server.tls.mode if self.server.tls is not None else None


def gateways_for(snapshot: MeshSnapshot, labels: dict[str, str]) -> list[Gateway]:
    return [gw for gw in snapshot.gateways if labels_match(gw.spec.selector, labels)]


def is_gateway_workload(snapshot: MeshSnapshot, wl: Workload) -> bool:
    return any(gw.spec.selector and labels_match(gw.spec.selector, wl.labels) for gw in snapshot.gateways)


def _target_ports(snapshot: MeshSnapshot, wl: Workload) -> dict[int, int]:
    out: dict[int, int] = {}
    for svc in snapshot.services:
        if svc.namespace != wl.namespace or not svc.spec.selector or not labels_match(svc.spec.selector, wl.labels):
            continue
        for p in svc.spec.ports:
            if isinstance(p.target_port, int):
                out.setdefault(p.port, p.target_port)
            elif isinstance(p.target_port, str) and p.target_port.isdigit():
                out.setdefault(p.port, int(p.target_port))
            else:
                out.setdefault(p.port, p.port)
    return out


def _catch_all_route(r: Route) -> bool:
    return r.match.catch_all or (r.match.path_kind == "regex" and r.match.path == ".*" and not r.match.headers and not r.match.query)


def build_gateway(snapshot: MeshSnapshot, wl: Workload, drs: DRIndex) -> ProxyConfig:
    ns = wl.namespace
    suffix = snapshot.mesh.domain_suffix
    proxy = ProxyInfo("router", ns, wl.name, dict(wl.labels), wl.ip, wl)
    visible = [s for s in snapshot.registry if s.visible_to(ns)]
    by_host: dict[str, list[RegistryService]] = defaultdict(list)
    for s in visible:
        by_host[s.hostname].append(s)

    def lookup_service(host: str, vs_ns: str) -> RegistryService | None:
        cands = by_host.get(host)
        if not cands:
            return None
        return next((c for c in cands if c.namespace == vs_ns), cands[0])

    cb = ClusterBuilder(drs, ns, wl.labels, router=True, proxy_cluster=wl.cluster)
    for s in visible:
        cb.add_service(s)
    cb.add_specials(passthrough=False)
    targets = _target_ports(snapshot, wl)
    servers_by_port: dict[int, list[BoundServer]] = defaultdict(list)
    for gw in gateways_for(snapshot, wl.labels):
        for i, srv in enumerate(gw.spec.servers):
            if srv.port is not None:
                servers_by_port[srv.port.number].append(BoundServer(gw, srv, i))
    listeners: list[Listener] = []
    route_configs: dict[str, RouteConfig] = {}
    l4_notes: list[str] = []
    vs_cache: dict[str, list[VirtualService]] = {}

    def bound_vs(gw_name: str) -> list[VirtualService]:
        if gw_name not in vs_cache:
            vs_cache[gw_name] = ordered_gateway_vs(snapshot, ns, gw_name)
        return vs_cache[gw_name]

    def vhosts_for(port: int, servers: list[BoundServer], is_tls: bool) -> list[VirtualHost]:
        per_host: dict[str, list[Route]] = {}
        owners: dict[str, list[Ref]] = defaultdict(list)
        left_out: dict[str, list[str]] = defaultdict(list)
        dropped_by_host: dict[str, list[DroppedMatch]] = defaultdict(list)
        redirect_hosts: set[str] = set()
        order: list[str] = []
        for bs in servers:
            ctx = RouteContext(port, frozenset({bs.gw_name}), wl.labels, ns, suffix, lookup_service,
                               lambda h, p: cb.hash_policy(lookup_service(h, ns), p), tls=is_tls,
                               mesh=snapshot.mesh)
            https_redirect = bs.server.tls is not None and bs.server.tls.https_redirect and not is_tls
            for vs in bound_vs(bs.gw_name):
                server_hosts = bs.hosts_for(vs.namespace)
                inter: list[str] = []
                for h in vs_hosts(vs, suffix):
                    for sh in server_hosts:
                        if subset_of(h, sh):
                            inter.append(h)
                        elif subset_of(sh, h):
                            inter.append(sh)
                inter = list(dict.fromkeys(inter))
                if not inter:
                    continue
                routes = RuleTemplates.of(snapshot).routes(vs, snapshot, ctx)
                notes, dropped = ctx.take_notes()
                if not routes:
                    continue  # istiod: "no routes matched" for this port, so the VS adds no virtual host
                for h in inter:
                    if h not in per_host:
                        per_host[h] = []
                        order.append(h)
                    per_host[h].extend(routes)
                    left_out[h].extend(notes)
                    dropped_by_host[h].extend(dropped)
                    owners[h].append(vs_ref(vs))
                    if https_redirect:
                        redirect_hosts.add(h)
            if https_redirect:
                for h in bs.hosts_for(ns) or [h.rpartition("/")[2] for h in bs.server.hosts]:
                    if h not in per_host:
                        per_host[h] = []
                        order.append(h)
                    redirect_hosts.add(h)
        # routes of several VSs for the same host: catch-alls move to the end (stable)
        groups: dict[tuple[tuple[int, ...], bool], list[str]] = {}
        for h in order:
            routes = per_host[h]
            routes = [r for r in routes if not _catch_all_route(r)] + [r for r in routes if _catch_all_route(r)]
            per_host[h] = routes
            key = (tuple(id(r) for r in routes), h in redirect_hosts)
            groups.setdefault(key, []).append(h)
        out = []
        for key, hosts in groups.items():
            h0 = hosts[0]
            ref = owners[h0][0] if owners[h0] else None
            out.append(VirtualHost(f"{h0}:{port}", tuple(hosts), tuple(per_host[h0]), require_tls=key[1], kind="gateway",
                                   ref=ref, notes=tuple(f"routes from {o.short()}" for o in owners[h0][1:]) + tuple(left_out[h0]),
                                   dropped=tuple(dropped_by_host[h0])))
        seen: set[str] = set()
        for vh in out:
            vh.domains = tuple(d for d in dict.fromkeys(vh.domains) if d not in seen)
            seen.update(vh.domains)
        return out

    for port in sorted(servers_by_port):
        servers = servers_by_port[port]
        target = targets.get(port, port)
        binds = {bs.server.bind for bs in servers}
        for bind in sorted(binds):
            group = [bs for bs in servers if bs.server.bind == bind]
            addr = bind or "0.0.0.0"
            lname = f"{addr}_{target}"
            chains: list[FilterChain] = []
            dropped: list[DroppedMatch] = []
            plain = [bs for bs in group if bs.protocol in HTTP_PROTOCOLS or (bs.protocol in ("HTTPS",) and bs.tls_mode is None)]
            if plain:
                rname = f"http.{target}" + (f".{bind}" if bind else "")  # istiod names it by the resolved (target) port
                vhosts = vhosts_for(port, plain, False)
                if not vhosts:
                    vhosts = [VirtualHost(f"blackhole:{port}", ("*",), (), kind="blackhole")]
                route_configs[rname] = RouteConfig(rname, vhosts)
                chains.append(FilterChain(rname, "http", rds=rname, ref=plain[0].ref()))
            for bs in group:
                mode = bs.tls_mode
                if bs.protocol in ("HTTPS", "TLS") and mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL"):
                    pname = bs.server.port.name if bs.server.port else ""
                    rname = f"https.{port}.{pname}.{bs.gateway.name}.{bs.gateway.namespace}"
                    vhosts = vhosts_for(port, [bs], True) or [VirtualHost(f"blackhole:{port}", ("*",), (), kind="blackhole")]
                    route_configs[rname] = RouteConfig(rname, vhosts)
                    sni = tuple(h for h in (x.rpartition("/")[2] for x in bs.server.hosts) if h != "*")
                    chains.append(FilterChain(rname, "http", rds=rname, server_names=sni, transport="tls",
                                              tls_credential=(bs.server.tls.credential_name if bs.server.tls else "") or "file",
                                              ref=bs.ref()))
                elif mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH") or bs.protocol in ("TCP", "MONGO"):
                    l4ctx = RouteContext(port, frozenset({bs.gw_name}), wl.labels, ns, suffix, lookup_service, lambda h, p: (),
                                         mesh=snapshot.mesh)
                    more, left_out = _l4_chains(bs, port, bound_vs(bs.gw_name), l4ctx, l4_notes)
                    chains.extend(more)
                    dropped.extend(left_out)
            if chains:
                listeners.append(Listener(lname, addr, target, chains, None, bind_to_port=True, kind="gateway",
                                          ref=group[0].ref(), dropped=tuple(dropped)))
    gw_refs = gateways_for(snapshot, wl.labels)
    notes = [f"merged Gateway {g.namespace}/{g.name}" for g in gw_refs]
    if not gw_refs:
        notes.append("no Gateway selects this workload's labels: it has no listeners")
    notes += l4_notes
    return ProxyConfig(proxy, listeners, route_configs, cb.clusters, cb.endpoints, "ALLOW_ANY", None,
                       "gateways do not use Sidecar resources", notes=notes, service_ports=targets,
                       drs=drs, service_namespaces=cb.service_namespaces)


def _l4_chains(bs: BoundServer, port: int, vss: list[VirtualService], ctx: RouteContext,
               notes: list[str]) -> tuple[list[FilterChain], tuple[DroppedMatch, ...]]:
    tls = bs.tls_mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH")
    out: list[FilterChain] = []
    for vs in vss:
        chains, _ = l4_chains(vs, tls, ctx, gateway=True, server_hosts=bs.hosts_for(vs.namespace))
        out.extend(chains)
    more, dropped = ctx.take_notes()
    notes.extend(more)
    notes.extend(dropped_notes(dropped))
    return out, dropped
