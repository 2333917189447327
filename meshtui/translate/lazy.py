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

from meshtui.model.snapshot import Endpoint, RegistryService
from meshtui.translate.clusters import ClusterBuilder
from meshtui.translate.config import Cluster, DroppedMatch, Ref, Route, VirtualHost
from meshtui.translate.policy import DRIndex

# (routes, owner ref, notes, dropped matches) of one virtual host
VHostParts = tuple[tuple[Route, ...], "Ref | None", tuple[str, ...], tuple[DroppedMatch, ...]]

_routes = VirtualHost.routes  # the slot descriptors the properties below stand in front of
_ref = VirtualHost.ref
_notes = VirtualHost.notes
_dropped = VirtualHost.dropped
# Single-threaded, like the rest of the core (which takes no locks): a shell that reads one lazy
# config from several threads serialises those reads (the TUI's TraceEngine runs a whole trace,
# translation and simulation, under one lock).


# LazyVirtualHost.__init__ sets the other fields itself: a new VirtualHost field must be added there
assert [f.name for f in fields(VirtualHost)] == ["name", "domains", "routes", "require_tls", "kind", "service", "ref",
                                                 "notes", "dropped"], "LazyVirtualHost.__init__ needs the new field"


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
        self._build = build

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

    def _get(slot):  # a property factory, used in the class body only
        def get(self):
            if self._build is not None:
                self._force()
            return slot.__get__(self, VirtualHost)

        def put(self, value):
            if getattr(self, "_build", None) is not None:
                self._force()
            slot.__set__(self, value)

        return property(get, put)

    routes = _get(_routes)  # type: ignore[assignment]  # a lazy property in place of the field
    ref = _get(_ref)  # type: ignore[assignment]  # a lazy property in place of the field
    notes = _get(_notes)  # type: ignore[assignment]  # a lazy property in place of the field
    dropped = _get(_dropped)  # type: ignore[assignment]  # a lazy property in place of the field
    del _get

    @property
    def built(self) -> bool:
        return self._build is None


class _LazyMap(dict):
    """A dict whose entries for a host appear when a key of that host is first looked up; any
    walk over the whole mapping (iteration, len, items) builds every pending host first."""

    def __init__(self, owner: LazyClusterBuilder):
        super().__init__()
        self._owner = owner

    def _key(self, key: str) -> None:
        if isinstance(key, str) and not dict.__contains__(self, key):
            self._owner.force_host(key.rpartition("|")[2])

    def get(self, key, default=None):
        self._key(key)
        return dict.get(self, key, default)

    def __getitem__(self, key):
        self._key(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        self._key(key)
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator:
        self._owner.force_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._owner.force_all()
        return dict.__len__(self)

    def keys(self):
        self._owner.force_all()
        return dict.keys(self)

    def values(self):
        self._owner.force_all()
        return dict.values(self)

    def items(self):
        self._owner.force_all()
        return dict.items(self)

    def copy(self) -> dict:
        self._owner.force_all()
        return dict(dict.items(self))

    def __eq__(self, other) -> bool:
        self._owner.force_all()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]  # unhashable, as the mutable dataclass it stands for


class LazyClusterBuilder(ClusterBuilder):
    """ClusterBuilder that records services and builds their clusters when first asked for. The
    build order of clusters is the order services were added (as the eager builder's is)."""

    def __init__(self, drs: DRIndex, client_ns: str, labels: dict[str, str], router: bool = False,
                 proxy_cluster: str = "") -> None:
        super().__init__(drs, client_ns, labels, router, proxy_cluster)
        self.clusters: dict[str, Cluster] = _LazyMap(self)
        self.endpoints: dict[str, tuple[Endpoint, ...]] = _LazyMap(self)
        self._pending: dict[str, list[RegistryService]] = {}
        self._order: list[RegistryService] = []
        self._in_order = True  # False once a host was built out of the eager order

    def add_service(self, svc: RegistryService, port: int | None = None) -> None:
        self.note_ports(svc, port)
        self._pending.setdefault(svc.hostname, []).append(svc)
        self._order.append(svc)

    def force_host(self, host: str) -> None:
        # popped first: the builder's own look-ups (`name in clusters`) find none pending
        pending = self._pending.pop(host, None)
        if pending:
            self._in_order = False
            for svc in pending:
                ClusterBuilder.build_service(self, svc)

    def force_all(self) -> None:
        """Build every pending service, keeping the eager mapping's order: services in the order
        added (those built on demand put back at their place), the specials last."""
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
