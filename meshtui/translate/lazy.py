"""Lazy sidecar translation for traces (issue 15): a trace reads one listener, one route
configuration, one virtual host and the clusters its routes name; on a 10,000-service mesh the
other 19,999 virtual hosts and 60,000 clusters are most of translate()'s time.

`translate(..., lazy=True)` builds a sidecar's configuration with the same code as always, but:
  * a virtual host is made with its name and domains (what vhost selection reads); its routes,
    owner ref, notes and dropped matches are built the first time any of them is read, by the same
    function that builds them eagerly (`LazyVirtualHost`);
  * a service's clusters and endpoints are built the first time one of them is looked up
    (`LazyClusterBuilder`); iterating the mapping builds them all.

So reading anything gives what the eager translation gives (tests/translate/test_lazy.py compares
the two over every fixture mesh). proxy-config and xDS keep the eager translation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from types import MemberDescriptorType
from typing import TYPE_CHECKING, TypeVar, overload

from meshtui.model.istio import VirtualService
from meshtui.model.snapshot import Endpoint, RegistryIndex, RegistryService, VSIndex
from meshtui.translate.clusters import ClusterBuilder
from meshtui.translate.config import Cluster, DroppedMatch, Ref, Route, RouteConfig, VirtualHost
from meshtui.translate.policy import DRIndex

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

# (routes, owner ref, notes, dropped matches) of one virtual host
VHostParts = tuple[tuple[Route, ...], "Ref | None", tuple[str, ...], tuple[DroppedMatch, ...]]

# the slot descriptors the properties below stand in front of
_routes: MemberDescriptorType = VirtualHost.__dict__["routes"]
_ref: MemberDescriptorType = VirtualHost.__dict__["ref"]
_notes: MemberDescriptorType = VirtualHost.__dict__["notes"]
_dropped: MemberDescriptorType = VirtualHost.__dict__["dropped"]
# Single-threaded, like the rest of the core (which takes no locks): a shell that reads one lazy
# config from several threads serialises those reads (the TUI's TraceEngine runs a whole trace,
# translation and simulation, under one lock).


# LazyVirtualHost.__init__ sets the other fields itself: a new VirtualHost field must be added there
assert [f.name for f in fields(VirtualHost)] == ["name", "domains", "routes", "require_tls", "kind", "service", "ref",
                                                 "notes", "dropped"], "LazyVirtualHost.__init__ needs the new field"


def _lazy_slot(slot: MemberDescriptorType) -> property:
    """A property that builds a LazyVirtualHost's pending parts before reading or writing `slot`."""

    def get(self: LazyVirtualHost) -> object:
        if self._build is not None:
            self._force()
        return slot.__get__(self, VirtualHost)

    def put(self: LazyVirtualHost, value: object) -> None:
        if getattr(self, "_build", None) is not None:
            self._force()
        slot.__set__(self, value)

    return property(get, put)


class LazyVirtualHost(VirtualHost):
    """A VirtualHost whose routes/ref/notes/dropped come from `build()` on first read."""

    __slots__ = ("_build",)

    def __init__(self, name: str, domains: tuple[str, ...], service: RegistryService | None,
                 build: Callable[[], VHostParts], kind: str = "service"):
        # VirtualHost.__init__'s assignments, minus the four the first read makes
        self.name = name
        self.domains = domains
        self.require_tls = False
        self.kind = kind
        self.service = service
        self._build: Callable[[], VHostParts] | None = build

    def _force(self) -> None:
        build = self._build
        if build is None:
            return
        routes, ref, notes, dropped = build()
        _routes.__set__(self, routes)
        _ref.__set__(self, ref)
        _notes.__set__(self, notes)
        _dropped.__set__(self, dropped)
        self._build = None

    routes = _lazy_slot(_routes)  # a lazy property in place of the field
    ref = _lazy_slot(_ref)  # a lazy property in place of the field
    notes = _lazy_slot(_notes)  # a lazy property in place of the field
    dropped = _lazy_slot(_dropped)  # a lazy property in place of the field

    @property
    def built(self) -> bool:
        return self._build is None


V = TypeVar("V")
D = TypeVar("D")


class _LazyMap(dict[str, V]):
    """A dict whose entries for a host appear when a key of that host is first looked up; any
    walk over the whole mapping (iteration, len, items) builds every pending host first."""

    def __init__(self, owner: LazyClusterBuilder):
        super().__init__()
        self._owner = owner

    def _key(self, key: object) -> None:
        if isinstance(key, str) and not dict.__contains__(self, key):
            self._owner.force_host(key.rpartition("|")[2])

    @overload
    def get(self, key: str, default: None = None) -> V | None: ...
    @overload
    def get(self, key: str, default: V | D) -> V | D: ...

    def get(self, key: str, default: V | D | None = None) -> V | D | None:
        self._key(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> V:
        self._key(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self._key(key)
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._owner.force_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._owner.force_all()
        return dict.__len__(self)

    def keys(self) -> dict_keys[str, V]:
        self._owner.force_all()
        return dict.keys(self)

    def values(self) -> dict_values[str, V]:
        self._owner.force_all()
        return dict.values(self)

    def items(self) -> dict_items[str, V]:
        self._owner.force_all()
        return dict.items(self)

    def copy(self) -> dict[str, V]:
        self._owner.force_all()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._owner.force_all()
        return dict.__eq__(self, other)

    __hash__ = None  # unhashable, as the mutable dataclass it stands for


class LazyClusterBuilder(ClusterBuilder):
    """ClusterBuilder that records services and builds their clusters when first asked for. The
    build order of clusters is the order services were added (as the eager builder's is)."""

    def __init__(self, drs: DRIndex, client_ns: str, labels: dict[str, str], router: bool = False,
                 proxy_cluster: str = "") -> None:
        super().__init__(drs, client_ns, labels, router, proxy_cluster)
        self.clusters: dict[str, Cluster] = _LazyMap[Cluster](self)
        self.endpoints: dict[str, tuple[Endpoint, ...]] = _LazyMap[tuple[Endpoint, ...]](self)
        self._pending: dict[str, list[RegistryService]] = {}
        self._order: list[RegistryService] = []
        self._in_order = True  # False once a host was built out of the eager order
        self._batches: list[tuple[list[RegistryService], int | None]] = []

    def add_service(self, svc: RegistryService, port: int | None = None) -> None:
        self.note_ports(svc, port)
        self._pending.setdefault(svc.hostname, []).append(svc)
        self._order.append(svc)

    def force_host(self, host: str) -> None:
        if self._batches:
            self._unbatch()
        # popped first: the builder's own look-ups (`name in clusters`) find none pending
        pending = self._pending.pop(host, None)
        if pending:
            self._in_order = False
            for svc in pending:
                ClusterBuilder.build_service(self, svc)

    def force_all(self) -> None:
        """Build every pending service, keeping the eager mapping's order: services in the order
        added (those built on demand put back at their place), the specials last."""
        if self._batches:
            self._unbatch()
        if not (self._in_order and not self._pending):
            self._reorder()

    def _reorder(self) -> None:
        self._in_order = True
        built_c = dict(dict.items(self.clusters))
        built_e = dict(dict.items(self.endpoints))
        dict.clear(self.clusters)
        dict.clear(self.endpoints)
        pending, self._pending = self._pending, {}
        for svc in self._order:
            if svc.hostname in pending:
                ClusterBuilder.build_service(self, svc)
                continue
            for name, c in built_c.items():
                if c.service is svc and not dict.__contains__(self.clusters, name):
                    dict.__setitem__(self.clusters, name, c)
                    dict.__setitem__(self.endpoints, name, built_e[name])
        for name, c in built_c.items():  # BlackHoleCluster, PassthroughCluster
            if not dict.__contains__(self.clusters, name):
                dict.__setitem__(self.clusters, name, c)
                dict.__setitem__(self.endpoints, name, built_e[name])

    def add_services(self, svcs: list[RegistryService], port: int | None) -> None:
        """add_service for many at once (a whole mesh in scope): recorded now, sorted by host
        the first time a cluster is looked up."""
        self._batches.append((svcs, port))

    def _unbatch(self) -> None:
        batches, self._batches = self._batches, []
        pending, only = self._pending, self.only_ports
        for svcs, port in batches:
            if port is None:  # every port of these services (note_ports, for a batch)
                only.update(dict.fromkeys([s.hostname for s in svcs]))
            else:
                for svc in svcs:
                    self.note_ports(svc, port)
            for svc in svcs:
                pending.setdefault(svc.hostname, []).append(svc)
            self._order.extend(svcs)


class LazyOwnership:
    """sidecar.VSOwnership's answers for one egress listener's imported VirtualServices, from the
    snapshot's VS index: only the VSs naming a host are looked at, in the imported list's order."""

    def __init__(self, vsidx: VSIndex, imported: list[VirtualService]):
        self._idx = vsidx
        self._imported = imported
        # an imported VS's key -> its place: those ahead of the index's public VSs here, the public
        # ones (the tail of every list ordered_mesh_vs makes) from the index, after `_offset`
        self._head: dict[tuple[str, str, str], int] | None = None
        self._public: dict[tuple[str, str, str], int] = {}
        self._offset = 0
        self._wild: list[tuple[str, VirtualService]] | None = None

    def hosts_of(self, vs: VirtualService) -> tuple[str, ...]:
        return self._idx.hosts_of(vs)

    def _split(self) -> dict[tuple[str, str, str], int]:
        """Rank the imported list without a key per VS of the mesh: when it ends with the index's
        public VSs (the same objects, in order), their ranks are the index's, shifted."""
        imported, public = self._imported, self._idx.public
        head = imported
        n = len(public)
        # list equality tries identity first, in C: the same objects compare without __eq__
        if n and len(imported) >= n and imported[len(imported) - n:] == public:
            head = imported[: len(imported) - n]
            self._public, self._offset = self._idx.public_rank, len(head)
        self._head = {vs.key: i for i, vs in enumerate(head)}
        return self._head

    def _rank(self, vs: VirtualService) -> int | None:
        head = self._head if self._head is not None else self._split()
        key = vs.key
        r = head.get(key)
        if r is None:
            r = self._public.get(key)
            if r is not None:
                r += self._offset
        return r

    def owner(self, hostname: str) -> tuple[VirtualService | None, list[VirtualService], str]:
        rank = self._rank
        if self._wild is None:
            # VSOwnership.wild: imported order, each VS's hosts in order, then longest first (stable)
            found = [(r, i, h, vs) for i, (h, vs) in enumerate(self._idx.wild) if (r := rank(vs)) is not None]
            found.sort(key=lambda x: (x[0], x[1]))
            self._wild = sorted(((h, vs) for _, _, h, vs in found), key=lambda x: -len(x[0]))
        ranked = [(r, vs) for vs in self._idx.by_host.get(hostname, ()) if (r := rank(vs)) is not None]
        if ranked:
            ranked.sort(key=lambda x: x[0])
            cands = [vs for _, vs in ranked]
            losers = cands[1:] + [vs for h, vs in self._wild if hostname.endswith(h[1:]) or h == "*"]
            return cands[0], losers, hostname
        hits = [(h, vs) for h, vs in self._wild if h == "*" or (hostname.endswith(h[1:]) and len(hostname) > len(h) - 1)]
        if hits:
            return hits[0][1], [vs for _, vs in hits[1:]], hits[0][0]
        return None, [], ""


_vhosts: MemberDescriptorType = RouteConfig.__dict__["virtual_hosts"]  # the slot the lazy property below stands in front of


class LazyRouteConfig(RouteConfig):
    """A sidecar's shared HTTP route configuration ("<port>") whose virtual hosts are made when
    read: `select(host)` builds only the one Envoy would pick, finding the candidates through
    the snapshot's registry index, and gives it the domains the whole list would leave it
    (earlier virtual hosts keep a duplicate domain); reading `virtual_hosts` builds them all,
    in the eager order, reusing any already built. Only for a listener without ExternalName
    aliases (their names join other virtual hosts' domains)."""

    __slots__ = ("_build_vh", "_built", "_catch_all", "_domain_suffix", "_member", "_ns", "_port", "_ridx", "_svcs",
                 "_vs_only")

    def __init__(self, name: str, svcs: list[RegistryService], vs_only: list[VirtualHost], catch_all: VirtualHost,
                 build_vh: Callable[[RegistryService], VirtualHost], ridx: RegistryIndex, proxy_ns: str, port: int,
                 domain_suffix: str):
        self.name = name
        self.ignore_port_in_host_matching = True
        self._exact = self._suffix = self._prefix = None
        self._star = None
        self._svcs = svcs  # one per hostname, each gets a virtual host
        self._vs_only = vs_only
        self._catch_all = catch_all
        self._build_vh: Callable[[RegistryService], VirtualHost] | None = build_vh
        self._ridx = ridx
        self._ns = proxy_ns
        self._port = port
        self._domain_suffix = domain_suffix
        self._built: dict[str, VirtualHost] = {}
        self._member: dict[str, tuple[int, RegistryService]] | None = None

    # ------------------------------------------------------------ the whole list
    @property  # a lazy property in place of the field
    def virtual_hosts(self) -> list[VirtualHost]:
        if self._build_vh is not None:
            self._force()
        vhosts: list[VirtualHost] = _vhosts.__get__(self, RouteConfig)
        return vhosts

    @virtual_hosts.setter
    def virtual_hosts(self, value: list[VirtualHost]) -> None:
        if self._build_vh is not None:
            self._force()
        _vhosts.__set__(self, value)

    def _force(self) -> None:
        from meshtui.translate.sidecar import _dedupe_domains

        build, built = self._build_vh, self._built
        assert build is not None
        vhosts = [built.get(s.hostname) or build(s) for s in self._svcs] + self._vs_only
        vhosts.sort(key=lambda v: v.name)
        vhosts.append(self._catch_all)
        _dedupe_domains(vhosts)
        _vhosts.__set__(self, vhosts)
        self._build_vh = None

    def vhost_count(self) -> int:
        if self._build_vh is None:
            return len(self.virtual_hosts)
        return len(self._svcs) + len(self._vs_only) + 1

    # ------------------------------------------------------------ one virtual host
    def _members(self) -> dict[str, tuple[int, RegistryService]]:
        if self._member is None:
            svcs = self._svcs
            self._member = dict(zip([s.hostname for s in svcs], enumerate(svcs), strict=True))
        return self._member

    def _order(self, item: RegistryService | VirtualHost) -> tuple[str, int]:
        """Where a virtual host sorts in the eager list (by name; ties keep the building order)."""
        if isinstance(item, VirtualHost):
            return item.name, len(self._svcs) + self._vs_only.index(item)
        return f"{item.hostname}:{self._port}", self._members()[item.hostname][0]

    def _raw_domains(self, item: RegistryService | VirtualHost) -> list[str]:
        from meshtui.translate.sidecar import service_domains

        if isinstance(item, VirtualHost):
            return list(item.domains)
        return service_domains(item, self._ns, self._domain_suffix)

    def _having(self, d: str) -> list[RegistryService | VirtualHost]:
        """Every would-be virtual host with domain `d` (lower case) among its domains."""
        member = self._members()
        out: list[RegistryService | VirtualHost] = []
        if "*" in d:
            for s in self._ridx.wild:
                if member.get(s.hostname, (0, None))[1] is s and d in (x.lower() for x in self._raw_domains(s)):
                    out.append(s)
        else:
            for s in self._ridx.by_domain.get(d, ()):
                if member.get(s.hostname, (0, None))[1] is s:
                    out.append(s)
            for s, ns in self._ridx.by_short_name.get(d, ()):
                if ns == self._ns and member.get(s.hostname, (0, None))[1] is s:
                    out.append(s)
        out.extend(vh for vh in self._vs_only if d in (x.lower() for x in vh.domains))
        return out

    def _vhost(self, item: RegistryService | VirtualHost) -> VirtualHost:
        """The virtual host of `item` with the domains the eager list's de-duplication leaves it."""
        if isinstance(item, VirtualHost):
            vh = item
        else:
            done = self._built.get(item.hostname)
            if done is not None:
                return done
            assert self._build_vh is not None  # select() asks only while the list is unbuilt
            vh = self._build_vh(item)
            self._built[item.hostname] = vh
        me = self._order(item)
        keep: list[str] = []
        seen: set[str] = set()
        for d in vh.domains:
            low = d.lower()
            if low in seen or any(self._order(o) < me for o in self._having(low)):
                continue
            seen.add(low)
            keep.append(d)
        vh.domains = tuple(keep)
        return vh

    def select(self, host: str) -> tuple[VirtualHost | None, str]:
        if self._build_vh is None:
            return RouteConfig.select(self, host)
        host = host.lower()
        exact = self._having(host) if "*" not in host else []
        if exact:
            return self._vhost(min(exact, key=self._order)), host
        # wildcard domains: only wildcard services and VS-only virtual hosts have them
        member = self._members()
        wild: list[RegistryService | VirtualHost] = [s for s in self._ridx.wild if member.get(s.hostname, (0, None))[1] is s]
        wild += self._vs_only
        wild.sort(key=self._order)
        seen: set[str] = set()
        suffix: list[tuple[str, RegistryService | VirtualHost]] = []
        prefix: list[tuple[str, RegistryService | VirtualHost]] = []
        star: RegistryService | VirtualHost | None = None
        for item in wild:
            for d in self._raw_domains(item):
                low = d.lower()
                if low in seen or "*" not in low:
                    continue
                seen.add(low)
                if low == "*":
                    star = star or item
                elif low.startswith("*"):
                    suffix.append((low[1:], item))
                elif low.endswith("*"):
                    prefix.append((low[:-1], item))
        suffix.sort(key=lambda x: -len(x[0]))
        prefix.sort(key=lambda x: -len(x[0]))
        for sfx, item in suffix:
            if len(host) > len(sfx) and host.endswith(sfx):
                return self._vhost(item), "*" + sfx
        for pfx, item in prefix:
            if len(host) > len(pfx) and host.startswith(pfx):
                return self._vhost(item), pfx + "*"
        if star is not None:
            return self._vhost(star), "*"
        return self._catch_all, "*"
