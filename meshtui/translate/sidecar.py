"""Sidecar outbound configuration (Istio's buildSidecarOutboundListeners and
BuildSidecarOutboundVirtualHosts): listeners per port, route configs named "<port>", one vhost
per service in scope, VS routes by ownership, the allow_any/block_all catch-all, clusters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from meshtui.model.hosts import is_wildcard, matches, resolve_short
from meshtui.model.istio import VirtualService
from meshtui.model.protocol import HTTP_FAMILY, TLS_FAMILY, UNSUPPORTED
from meshtui.model.snapshot import MeshSnapshot, RegistryService, SvcPort, VSIndex, Workload
from meshtui.translate.clusters import ClusterBuilder
from meshtui.translate.config import (
    DirectResponse,
    DroppedMatch,
    FilterChain,
    HashPolicy,
    Listener,
    ProxyConfig,
    ProxyInfo,
    Ref,
    Route,
    RouteAction,
    RouteConfig,
    RouteMatch,
    TcpRoute,
    VirtualHost,
    WeightedCluster,
)
from meshtui.translate.delegate import RuleTemplates, vs_destinations
from meshtui.translate.inbound import build_inbound
from meshtui.translate.l4 import dropped_notes, l4_chains
from meshtui.translate.lazy import LazyClusterBuilder, LazyOwnership, LazyRouteConfig
from meshtui.translate.policy import DRIndex, consistent_hashing
from meshtui.translate.routes import RouteContext, default_route, vs_ref
from meshtui.translate.scope import EgressListener, Scope, compute_scope, ordered_mesh_vs

if TYPE_CHECKING:
    from meshtui.translate.lazy import VHostParts

HTTP_ALPN = ("http/1.1", "h2c")


class VSOwnership:
    """Which VS owns a hostname: the most specific host string wins; for the same string, the
    first VS in precedence order. Later VSs for the same host are ignored (IST0109)."""

    def __init__(self, vss: list[VirtualService], index: VSIndex):
        self.exact: dict[str, list[VirtualService]] = defaultdict(list)
        self.wild: list[tuple[str, VirtualService]] = []
        self._index = index  # each VirtualService's hosts, resolved once per snapshot
        for vs in vss:
            for h in index.hosts_of(vs):
                if is_wildcard(h):
                    self.wild.append((h, vs))
                else:
                    self.exact[h].append(vs)
        self.wild.sort(key=lambda x: -len(x[0]))  # stable: precedence order kept within a length

    @staticmethod
    def of_namespace(snapshot: MeshSnapshot, ns: str, mesh_vs: list[VirtualService]) -> VSOwnership:
        """The ownership of every mesh VirtualService visible from `ns` (`mesh_vs`, in precedence
        order): the same for every proxy there that imports them all, so made once per snapshot."""
        return snapshot.index.memo(f"vs_ownership:{ns}", (snapshot.virtual_services, snapshot.mesh),
                                   lambda: VSOwnership(mesh_vs, snapshot.index.vs))

    def hosts_of(self, vs: VirtualService) -> tuple[str, ...]:
        return self._index.hosts_of(vs)

    def owner(self, hostname: str) -> tuple[VirtualService | None, list[VirtualService], str]:
        """(owner, losers, the host string that matched)."""
        cands = self.exact.get(hostname)
        if cands:
            losers = cands[1:] + [vs for h, vs in self.wild if hostname.endswith(h[1:]) or h == "*"]
            return cands[0], losers, hostname
        hits = [(h, vs) for h, vs in self.wild if h == "*" or (hostname.endswith(h[1:]) and len(hostname) > len(h) - 1)]
        if hits:
            return hits[0][1], [vs for _, vs in hits[1:]], hits[0][0]
        return None, [], ""


@dataclass(slots=True)
class KeptVHost:
    """A sidecar virtual host's parts as built for one proxy, kept (per snapshot, in
    RuleTemplates.vhosts) with the proxy-dependent answers they were built from: another proxy
    that gets the same answers gets the same parts."""

    service: RegistryService
    named: tuple[VirtualService, ...]  # the VirtualServices naming the host, owner first
    lookups: dict[tuple[str, str], RegistryService | None]  # lookup_service(host, VS namespace)
    hashes: dict[tuple[str, int], tuple[HashPolicy, ...]]  # the hash policies of (host, port)
    own_hashes: dict[int, tuple[HashPolicy, ...]] | None  # the service's own, by port (its default route)
    parts: VHostParts
    other: KeptVHost | None = None  # another proxy's parts for the same key

    def variants(self) -> int:
        n, k = 1, self.other
        while k is not None:
            n, k = n + 1, k.other
        return n

    def fits(self, s: RegistryService, named: tuple[VirtualService, ...],
             lookup: Callable[[str, str], RegistryService | None], hash_for: Callable[[str, int], tuple[HashPolicy, ...]],
             service_hash: Callable[[RegistryService, int], tuple[HashPolicy, ...]]) -> bool:
        if self.service is not s or len(self.named) != len(named) or any(a is not b for a, b in zip(self.named, named, strict=True)):
            return False
        if any(lookup(h, ns) is not found for (h, ns), found in self.lookups.items()):
            return False
        if any(hash_for(h, p) != found for (h, p), found in self.hashes.items()):
            return False
        return self.own_hashes is None or all(service_hash(s, p) == found for p, found in self.own_hashes.items())


def service_domains(svc: RegistryService, proxy_ns: str, suffix: str) -> list[str]:
    host = svc.hostname
    out = [host, host + "."]
    tail = f".svc.{suffix}"
    if host.endswith(tail):
        name, _, ns = host[: -len(tail)].partition(".")
        if ns == proxy_ns:
            out += [name, f"{name}.{ns}.svc", f"{name}.{ns}"]
        else:
            out += [f"{name}.{ns}", f"{name}.{ns}.svc"]
    if svc.resolution == "Passthrough" and svc.origin == "k8s":
        out += [f"*.{d}" for d in list(out)]
    out += [a for a in svc.addresses if a and a != "0.0.0.0" and ":" not in a]
    return out


def _domains_in(snapshot: MeshSnapshot, proxy_ns: str) -> Callable[[RegistryService], tuple[str, ...]]:
    """service_domains for the proxies of `proxy_ns`: the same for each of them on every port,
    so each service's are made once per snapshot and namespace."""
    kept: dict[tuple[object, ...], tuple[str, ...]] = snapshot.index.memo(
        f"service_domains:{proxy_ns}", (snapshot.registry, snapshot.mesh), dict)
    suffix = snapshot.mesh.domain_suffix

    def domains(svc: RegistryService) -> tuple[str, ...]:
        k = (svc.hostname, svc.namespace, svc.name, svc.origin, svc.resolution, svc.addresses)
        found = kept.get(k)
        if found is None:
            found = kept[k] = tuple(service_domains(svc, proxy_ns, suffix))
        return found

    return domains


def _pick_per_hostname(svcs: list[RegistryService], proxy_ns: str) -> list[RegistryService]:
    """One service per hostname: the proxy's namespace first, then Kubernetes over ServiceEntry."""
    best: dict[str, RegistryService] = {}
    for s in svcs:
        cur = best.get(s.hostname)
        if cur is None:
            best[s.hostname] = s
            continue

        def rank(x: RegistryService) -> tuple[int, int]:
            return (0 if x.namespace == proxy_ns else 1, 0 if x.origin == "k8s" else 1)

        if rank(s) < rank(cur):
            best[s.hostname] = s
    return list(best.values())


def _catch_all(mode: str) -> VirtualHost:
    if mode == "REGISTRY_ONLY":
        r = Route(name="block_all", match=RouteMatch(), direct_response=DirectResponse(502))
        return VirtualHost("block_all", ("*",), (r,), kind="block_all")
    r = Route(name="allow_any", match=RouteMatch(),
              action=RouteAction((WeightedCluster("PassthroughCluster", 100, "", 0),), 0.0, None))
    return VirtualHost("allow_any", ("*",), (r,), kind="allow_any")


def _dedupe_domains(vhosts: list[VirtualHost]) -> None:
    """Each domain (case-insensitive) on the first virtual host that has it."""
    seen: set[str] = set()
    for vh in vhosts:
        lowered = [d.lower() for d in vh.domains]
        if seen.isdisjoint(lowered) and len(set(lowered)) == len(lowered):
            seen.update(lowered)  # the usual case: nothing to drop
            continue
        keep = []
        for d, low in zip(vh.domains, lowered, strict=True):
            if low not in seen:
                seen.add(low)
                keep.append(d)
        vh.domains = tuple(keep)


def build_sidecar(snapshot: MeshSnapshot, wl: Workload, drs: DRIndex, lazy: bool = False) -> ProxyConfig:
    """`lazy`: virtual hosts' routes and services' clusters are built when first read (lazy.py)."""
    ns, labels = wl.namespace, wl.labels
    suffix = snapshot.mesh.domain_suffix
    scope = compute_scope(snapshot, ns, labels)
    proxy = ProxyInfo("sidecar", ns, wl.name, dict(labels), wl.ip, wl)
    mesh_vs = ordered_mesh_vs(snapshot, ns)
    ridx = snapshot.index.registry
    visible_by_host: Mapping[str, Sequence[RegistryService]]
    cb: ClusterBuilder
    if ridx.all_public:  # every service is visible from here: the snapshot's own host index serves
        visible = list(snapshot.registry)
        visible_by_host = snapshot.services_by_host
    else:
        visible = [s for s in snapshot.registry if s.visible_to(ns)]
        by_host: dict[str, list[RegistryService]] = defaultdict(list)
        for s in visible:
            by_host[s.hostname].append(s)
        visible_by_host = by_host
    if lazy:
        cb = LazyClusterBuilder(drs, ns, labels, proxy_cluster=wl.cluster)
    else:
        cb = ClusterBuilder(drs, ns, labels, proxy_cluster=wl.cluster)
    locked = {lst.port for lst in scope.listeners if lst.port}
    listeners: dict[str, Listener] = {}
    route_configs: dict[str, RouteConfig] = {}
    notes: list[str] = []

    def lookup_service(host: str, vs_ns: str) -> RegistryService | None:
        cands = visible_by_host.get(host)
        if not cands:
            return None
        for c in cands:
            if c.namespace == vs_ns:
                return c
        return _pick_per_hostname(list(cands), ns)[0]

    vsidx = snapshot.index.vs
    for egress in scope.listeners:
        # `*/*`: everything visible is imported (and no VS destination can add a service)
        everything = egress.imports_everything
        if everything:
            imported_vs = list(mesh_vs)
            svcs = list(visible)
        else:
            imported_vs = [vs for vs in mesh_vs if egress.imports_vs(vs, vsidx.hosts_of(vs))]
            svcs = [s for s in visible if egress.imports_service(s)]
        have = {s.hostname for s in svcs} if not everything else set()
        extra: list[RegistryService] = []
        extra_ports: dict[str, set[int]] = {}  # the ports VirtualServices name for each (0: none named)
        for vs in imported_vs if not everything else ():  # destinations of imported VSs get clusters (not listeners or vhosts):
            # routes, mirrors, TCP and TLS routes alike (istiod's virtualServiceDestinations feed the
            # SidecarScope's services, which CDS reads; LDS/RDS read the egress listener's own),
            # delegates merged in (a delegate's short names are its own namespace's)
            for dest_, dest_ns in vs_destinations(vs, snapshot):
                h = resolve_short(dest_.host, dest_ns, suffix)
                if h in have or h not in visible_by_host:
                    continue
                if h in extra_ports:
                    extra_ports[h].add(dest_.port.number if dest_.port is not None else 0)
                    continue
                dest = lookup_service(h, dest_ns)
                # an egress listener with a port only pulls in services that have it
                # (serviceMatchingListenerPort in Istio's collectImportedServices)
                if dest is not None and (not egress.port or dest.port(egress.port) is not None):
                    extra.append(dest)
                    extra_ports[h] = {dest_.port.number if dest_.port is not None else 0}
        if not ridx.unique_hosts:  # else one service per hostname already
            svcs = _pick_per_hostname(svcs, ns)
        # a destination's service comes on the ports the VirtualServices name (all of them when one
        # names none; none at all when it has none of them): serviceMatchingVirtualServicePorts
        extra_on: list[tuple[RegistryService, list[int] | None]] = []
        for s in extra:
            named = extra_ports[s.hostname]
            if egress.port or 0 in named:
                extra_on.append((s, None))
            elif have_ports := sorted(n for n in named if s.port(n) is not None):
                extra_on.append((s, have_ports))
        whole_extra = [s for s, only in extra_on if only is None]
        if isinstance(cb, LazyClusterBuilder):
            cb.add_services(svcs + whole_extra, egress.port or None)
            for s, only in extra_on:
                for n in only or ():
                    cb.add_services([s], n)
        else:
            for s in svcs + whole_extra:
                cb.add_service(s, egress.port or None)
            for s, only in extra_on:
                for n in only or ():
                    cb.add_service(s, n)
        # ExternalName services are aliases (Istio >= 1.21): their names become domains of the
        # target's virtual host; an alias of a host outside the registry gets no vhost at all
        aliases: dict[str, list[RegistryService]] = defaultdict(list)
        if ridx.has_alias:
            for s in svcs:
                if s.resolution == "Alias" and s.alias_target:
                    aliases[s.alias_target.rstrip(".").lower()].append(s)
            svcs = [s for s in svcs if s.resolution != "Alias"]
        # the whole registry in its order: the index's per-port lists stand for svcs
        whole = everything and ridx.all_public and ridx.unique_hosts and not ridx.has_alias
        ownership: VSOwnership | LazyOwnership
        if lazy:
            ownership = LazyOwnership(vsidx, imported_vs)
        elif everything:
            ownership = VSOwnership.of_namespace(snapshot, ns, imported_vs)
        else:
            ownership = VSOwnership(imported_vs, vsidx)
        if egress.port:
            ports = {egress.port}
        elif whole:
            ports = set(ridx.ports) - locked
        else:
            ports = {p.port for s in svcs for p in s.ports if p.protocol != "UDP"} - locked
        for port in sorted(ports):
            on_port = list(ridx.by_port.get(port, ())) if whole else [(s, p) for s in svcs if (p := s.port(port)) is not None]
            _build_port(snapshot, scope, egress, port, svcs, ownership, imported_vs, proxy, cb, lookup_service,
                        listeners, route_configs, notes, aliases, lazy, on_port)
    cb.add_specials()
    vo_chain = FilterChain("virtualOutbound-catchall-tcp", "tcp",
                           tcp=TcpRoute((WeightedCluster("PassthroughCluster" if scope.outbound_policy != "REGISTRY_ONLY" else "BlackHoleCluster",
                                                         100, "", 0),)))
    # a connection whose original destination port is 15001 itself would loop: istiod blackholes it
    vo_loop = FilterChain("virtualOutbound-blackhole", "tcp", destination_port=15001,
                          tcp=TcpRoute((WeightedCluster("BlackHoleCluster", 100, "", 0),)))
    listeners["virtualOutbound"] = Listener("virtualOutbound", "0.0.0.0", 15001, [vo_loop], vo_chain, bind_to_port=True, kind="virtual")
    inbound = build_inbound(snapshot, wl, drs)  # virtualInbound and the inbound|PORT|| clusters
    listeners[inbound.listener.name] = inbound.listener
    for name, c in inbound.clusters.items():
        cb.clusters[name] = c
        cb.endpoints[name] = ()
    notes.extend(inbound.notes)
    return ProxyConfig(proxy, list(listeners.values()), route_configs, cb.clusters, cb.endpoints, scope.outbound_policy,
                       scope.ref(), scope.reason, notes=notes, outbound_from=scope.outbound_from,
                       outbound_ref=scope.outbound_ref, drs=drs, service_namespaces=cb.service_namespaces)


def _build_port(snapshot: MeshSnapshot, scope: Scope, egress: EgressListener, port: int, svcs: list[RegistryService],
                ownership: VSOwnership | LazyOwnership, imported_vs: list[VirtualService], proxy: ProxyInfo, cb: ClusterBuilder,
                lookup_service: Callable[[str, str], RegistryService | None],
                listeners: dict[str, Listener], route_configs: dict[str, RouteConfig], notes: list[str],
                aliases: dict[str, list[RegistryService]] | None = None, lazy: bool = False,
                on_port: list[tuple[RegistryService, SvcPort]] | None = None) -> None:
    suffix = snapshot.mesh.domain_suffix
    if on_port is None:
        on_port = [(s, p) for s in svcs if (p := s.port(port)) is not None]
    http = [s for s, p in on_port if p.protocol in HTTP_FAMILY]
    sniffed = [s for s, p in on_port if p.protocol == UNSUPPORTED]
    tcp = [s for s, p in on_port if p.protocol not in HTTP_FAMILY and p.protocol not in (UNSUPPORTED, "UDP")]
    if egress.protocol in HTTP_FAMILY and egress.port:  # an explicit HTTP egress port treats everything as HTTP
        http, sniffed, tcp = http + sniffed + tcp, [], []
    bind_addr = egress.bind or ("127.0.0.1" if egress.capture_none else "0.0.0.0")
    def hash_for(h: str, p: int) -> tuple[HashPolicy, ...]:
        return cb.hash_policy(lookup_service(h, proxy.namespace), p)

    has_alias = snapshot.index.registry.has_alias
    ctx = RouteContext(port, frozenset({"mesh"}), proxy.labels, proxy.namespace, suffix, lookup_service, hash_for,
                       mesh=snapshot.mesh, aliases=has_alias)
    templates = RuleTemplates.of(snapshot)

    def vs_routes(vs: VirtualService, ctx: RouteContext) -> list[Route]:
        return templates.routes(vs, snapshot, ctx)

    def _next_with_routes(vs: VirtualService, losers: list[VirtualService], host: str, ctx: RouteContext
                          ) -> tuple[VirtualService, list[Route], tuple[str, ...], tuple[DroppedMatch, ...]] | None:
        """istiod builds a virtual host from every VirtualService naming the host, in precedence
        order, and keeps the first one per host; one with no rule on this port builds none ("no
        routes matched"), so the next VirtualService naming the same host takes the port."""
        for lv in losers:
            if lv is vs or host not in ownership.hosts_of(lv):
                continue
            lroutes = vs_routes(lv, ctx)
            lnotes, ldropped = ctx.take_notes()
            if lroutes:
                return lv, lroutes, tuple(lnotes), tuple(ldropped)
        return None

    def build_parts(s: RegistryService, vs: VirtualService | None, losers: list[VirtualService],
                    alias_of: Sequence[RegistryService], ctx: RouteContext, service_hash: Callable[[int], tuple[HashPolicy, ...]]
                    ) -> VHostParts:
        vnotes = tuple(f"VirtualService {lv.namespace}/{lv.name} also names this host and is ignored: "
                       f"{vs.namespace}/{vs.name} takes precedence" for lv in losers) if vs else ()
        routes: list[Route] = []
        dropped: tuple[DroppedMatch, ...] = ()
        if vs is not None:
            routes = vs_routes(vs, ctx)
            notes, dropped = ctx.take_notes()
            vnotes += notes
            if not routes:
                nxt = _next_with_routes(vs, losers, s.hostname, ctx)
                if nxt is not None:
                    vnotes += (f"every rule of VirtualService {vs.namespace}/{vs.name} is filtered out for this proxy/port: "
                               f"istiod builds this host's virtual host from the next VirtualService naming it, "
                               f"{nxt[0].namespace}/{nxt[0].name}",)
                    vs, routes, more, dropped = nxt
                    vnotes += more
                else:
                    vnotes += (f"every rule of VirtualService {vs.namespace}/{vs.name} is filtered out for this proxy/port "
                               "(port, sourceLabels, sourceNamespace or gateways): the default route applies",)
        if not routes:
            routes = [default_route(s, port, service_hash(port), snapshot.mesh)]
        ref = vs_ref(vs) if vs is not None and routes and routes[0].name != "default" else None
        for alias in alias_of:
            vnotes += (f"ExternalName Service {alias.namespace}/{alias.name} is an alias of this host: its names are domains here",)
        return tuple(routes), ref, vnotes, dropped

    # A virtual host's parts depend on the service, the port, the VirtualServices naming the host
    # and these answers for the proxy: which service a destination host is (lookup_service), the
    # hash policies its DestinationRule gives, and (only when a match names sourceLabels or
    # sourceNamespace) the proxy's labels and namespace. They are kept per snapshot with the
    # answers they were built from; a proxy with the same answers gets the same parts.
    kept = templates.vhosts
    side_key = (proxy.namespace, tuple(sorted(proxy.labels.items())))
    lookups: dict[tuple[str, str], RegistryService | None] = {}
    hashes: dict[tuple[str, int], tuple[HashPolicy, ...]] = {}

    def rec_lookup(host: str, vs_ns: str) -> RegistryService | None:
        k = (host, vs_ns)
        if k in lookups:
            return lookups[k]
        found = lookups[k] = lookup_service(host, vs_ns)
        return found

    # a trace (lazy) asks a few hosts: cheaper than reading every DestinationRule of the mesh
    hashing = lazy or consistent_hashing(snapshot)

    def rec_hash(h: str, p: int) -> tuple[HashPolicy, ...]:
        if not hashing:  # no DestinationRule hashes: every answer is (), nothing to ask or keep
            return ()
        k = (h, p)
        found = hashes.get(k)
        if found is None:
            found = hashes[k] = hash_for(h, p)
        return found

    rctx = RouteContext(port, frozenset({"mesh"}), proxy.labels, proxy.namespace, suffix, rec_lookup, rec_hash,
                        mesh=snapshot.mesh, aliases=has_alias)

    def vhost_parts(s: RegistryService) -> VHostParts:
        """(routes, owner ref, notes, dropped matches) of the service's virtual host."""
        nonlocal lookups, hashes
        vs, losers, _ = ownership.owner(s.hostname)
        alias_of = (aliases or {}).get(s.hostname, ())
        named = (vs, *losers) if vs is not None else tuple(losers)
        by_source = vs is not None and templates.by_source(vs, snapshot)
        if losers:
            by_source = by_source or any(templates.by_source(v, snapshot) for v in losers)
        key = (s.hostname, s.namespace, s.name, port, vs.key if vs is not None else None,
               tuple(lv.key for lv in losers) if losers else (), tuple((a.namespace, a.name) for a in alias_of) if alias_of else (),
               side_key if by_source else None)
        first = kept.get(key)
        k = first
        while k is not None:
            if k.fits(s, named, lookup_service, hash_for, cb.hash_policy):
                return k.parts
            k = k.other
        lookups, hashes = {}, {}
        own: dict[int, tuple[HashPolicy, ...]] = {}

        def service_hash(p: int) -> tuple[HashPolicy, ...]:
            if not hashing:
                return ()
            found = own[p] = cb.hash_policy(s, p)
            return found

        parts = build_parts(s, vs, losers, alias_of, rctx, service_hash)
        made = KeptVHost(s, named, lookups, hashes, own or None, parts)
        if first is None:
            kept[key] = made
        elif first.variants() < 8:  # proxies that see this host differently: a few kept, the rest built each time
            made.other, first.other = first.other, made
        return parts

    domains_of = _domains_in(snapshot, proxy.namespace)

    def vhost_for(s: RegistryService) -> VirtualHost:
        domains: Sequence[str] = domains_of(s)
        for alias in (aliases or {}).get(s.hostname, ()):
            domains = [*domains, *(d for d in domains_of(alias) if d not in domains)]
        if lazy:  # built on first read, with a context of its own (nothing else's notes)
            from meshtui.translate.lazy import LazyVirtualHost

            return LazyVirtualHost(f"{s.hostname}:{port}", tuple(domains), s, lambda: vhost_parts(s))
        routes, ref, vnotes, dropped = vhost_parts(s)
        return VirtualHost(f"{s.hostname}:{port}", tuple(domains), routes,
                           kind="service", service=s, ref=ref, notes=vnotes, dropped=dropped)

    # HTTP: the shared 0.0.0.0_<port> listener with route config "<port>"
    shared_http = http + [s for s in sniffed if not s.addresses]
    if shared_http or (port == 80 and imported_vs):
        lazy_rc = lazy and not aliases  # aliases add their names to other hosts' domains: built whole
        vhosts = [] if lazy_rc else [vhost_for(s) for s in shared_http]
        if port == 80:  # VS hosts that match no service on this port live only on port 80
            # (istiod's serviceRegistry here holds the services on the listener's port only, so a
            # VS host naming a service without port 80 gets a vhost here too)
            known = {s.hostname for s, _ in on_port}
            known_wild = [k for k in known if is_wildcard(k)]
            for vs in imported_vs:
                for h in ownership.hosts_of(vs):
                    # matches(h, k) for a plain h: h == k, or a wildcard k covering it
                    if h in known or any(matches(h, k) for k in (known if is_wildcard(h) else known_wild)):
                        continue
                    owner, losers, _ = ownership.owner(h) if not is_wildcard(h) else (vs, [], h)
                    if owner is not vs:
                        # an earlier VirtualService of the host with no rule on port 80 leaves it to this one
                        if owner is None or vs_routes(owner, ctx):
                            ctx.take_notes()
                            continue
                        ctx.take_notes()
                        nxt = _next_with_routes(owner, losers, h, ctx)
                        if nxt is None or nxt[0] is not vs:
                            continue
                        _, routes, vs_notes, dropped = nxt  # this VirtualService's routes, already built
                    else:
                        routes = vs_routes(vs, ctx)
                        vs_notes, dropped = ctx.take_notes()  # the vhost's own, not the proxy's `notes`
                    if routes:
                        vhosts.append(VirtualHost(f"{h}:80", (h,), tuple(routes), kind="vs", ref=vs_ref(vs),
                                                  notes=vs_notes, dropped=dropped))
        if lazy_rc and (shared_http or vhosts):
            name = str(port)
            route_configs[name] = LazyRouteConfig(name, shared_http, vhosts, _catch_all(scope.outbound_policy), vhost_for,
                                                  snapshot.index.registry, proxy.namespace, port, suffix)
        elif vhosts:
            vhosts.sort(key=lambda v: v.name)
            vhosts.append(_catch_all(scope.outbound_policy))
            _dedupe_domains(vhosts)
            name = str(port)
            route_configs[name] = RouteConfig(name, vhosts)
        if vhosts or (lazy_rc and shared_http):
            lname = f"{bind_addr}_{port}"
            chain = FilterChain(f"{port}", "http", rds=name, application_protocols=HTTP_ALPN, transport="raw_buffer")
            pass_chain = FilterChain("PassthroughFilterChain", "tcp", tcp=TcpRoute((WeightedCluster(
                "PassthroughCluster" if scope.outbound_policy != "REGISTRY_ONLY" else "BlackHoleCluster", 100, "", 0),)))
            listeners[lname] = Listener(lname, bind_addr, port, [chain], pass_chain, bind_to_port=egress.capture_none)
    # sniffed services with a VIP: their own listener, HTTP chain + TCP chain
    for s in sniffed:
        if not s.addresses:
            continue
        vh = vhost_for(s)
        vh.domains = ("*",)  # the listener is this service's alone (getVirtualHostsForSniffedServicePort)
        rname = f"{s.hostname}:{port}"
        route_configs[rname] = RouteConfig(rname, [vh])
        addr = s.addresses[0]
        lname = f"{addr}_{port}"
        if lname in listeners:
            continue
        http_chain = FilterChain(rname, "http", rds=rname, application_protocols=HTTP_ALPN, transport="raw_buffer")
        tcp_chain = FilterChain(f"outbound|{port}||{s.hostname}", "tcp", tcp=TcpRoute((WeightedCluster(
            f"outbound|{port}||{s.hostname}", 100, s.hostname, port),)))
        listeners[lname] = Listener(lname, addr, port, [http_chain, tcp_chain], None)
    # TCP family: <vip>_<port> listeners with tcp_proxy (or SNI chains for TLS)
    for s in tcp:
        addr = s.addresses[0] if s.addresses else "0.0.0.0"
        lname = f"{addr}_{port}"
        sp = s.port(port)
        tls = sp is not None and sp.protocol in TLS_FAMILY
        shared = listeners.get(lname)
        if shared is not None and tls and addr == "0.0.0.0" and shared.default_chain is not None \
                and shared.default_chain.name == "PassthroughFilterChain":
            # several TLS services without a VIP share 0.0.0.0_PORT, told apart by SNI
            owner_vs, _, _ = ownership.owner(s.hostname)
            more = _sni_chains(s, port, _tcp_chains(s, port, owner_vs, ctx, tls, notes)[0])
            taken = {n for c in shared.chains for n in c.server_names}
            shared.chains.extend(c for c in more if not set(c.server_names) & taken)
            continue
        if lname in listeners:
            if addr == "0.0.0.0":
                notes.append(f"{s.hostname}:{port} is TCP without an address and collides with {lname}; Envoy would not route it")
            continue
        owner_vs, _, _ = ownership.owner(s.hostname)
        chains, dropped = _tcp_chains(s, port, owner_vs, ctx, tls, notes)
        if tls and addr == "0.0.0.0":
            # No VIP: SNI is the only way to tell services apart on the shared listener. istiod
            # matches the VS's sniHosts, else the service's own hostname, and lets any other SNI
            # fall through to the outbound policy (buildSidecarOutboundTLSFilterChainOpts).
            sni = _sni_chains(s, port, chains)
            fallthrough = FilterChain("PassthroughFilterChain", "tcp", tcp=TcpRoute((WeightedCluster(
                "PassthroughCluster" if scope.outbound_policy != "REGISTRY_ONLY" else "BlackHoleCluster", 100, "", 0),)))
            listeners[lname] = Listener(lname, addr, port, sni, fallthrough, dropped=dropped)
            continue
        listeners[lname] = Listener(lname, addr, port, chains[:-1] if len(chains) > 1 else chains, chains[-1] if len(chains) > 1 else None,
                                    dropped=dropped)


def _sni_chains(s: RegistryService, port: int, chains: list[FilterChain]) -> list[FilterChain]:
    """A no-VIP TLS service's chains on 0.0.0.0_PORT: its VS's SNI chains, else one on its hostname."""
    sni = [c for c in chains if c.server_names]
    return sni or [replace(chains[-1], server_names=(s.hostname,), transport="tls")]


def _tcp_chains(s: RegistryService, port: int, vs: VirtualService | None, ctx: RouteContext, tls: bool,
                notes: list[str]) -> tuple[list[FilterChain], tuple[DroppedMatch, ...]]:
    default = FilterChain(f"outbound|{port}||{s.hostname}", "tcp", tcp=TcpRoute((WeightedCluster(
        f"outbound|{port}||{s.hostname}", 100, s.hostname, port),)))
    if vs is None:
        return [default], ()
    chains, terminal = l4_chains(vs, tls, ctx)
    more, dropped = ctx.take_notes()
    notes.extend(more)
    notes.extend(dropped_notes(dropped))
    return (chains if terminal else chains + [default]), dropped


__all__ = ["Ref", "VSOwnership", "build_sidecar", "service_domains"]
