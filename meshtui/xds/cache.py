"""Per-proxy snapshots of packed xDS resources, shared by every stream of that proxy.

A proxy key is the workload a node names ("NS/WORKLOAD", see bootstrap.py). Setting a snapshot
wakes the streams of that key; they decide what to send (server.py). The cache also remembers,
per proxy and type, the last content an Envoy ACKed and every version one NACKed, so rejected
content is never sent again, even to a restarted Envoy, which gets the last good content instead.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from meshtui.xds.resources import (
    CLUSTER,
    ENDPOINT,
    FAULT_LAYER,
    LISTENER,
    ROUTE,
    RUNTIME,
    Packer,
    TypeResources,
)


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """Everything one proxy should hold. `cause` says why it was made (edit ids, "sources",
    "restore") so a NACK can be pinned on the edit that brought the rejected content."""

    types: dict[str, TypeResources]
    generation: int
    cause: tuple[str, ...] = ()
    made_at: float = 0.0  # time.monotonic() when set, for push latency figures

    def get(self, type_url: str) -> TypeResources | None:
        return self.types.get(type_url)


@dataclass
class NodeMemory:
    """What the proxy's Envoys have told us, across streams and reconnects."""

    last_acked: dict[str, TypeResources] = field(default_factory=dict)
    rejected: dict[str, dict[str, str]] = field(default_factory=dict)  # type -> version -> reason
    # version -> causes of the snapshot that first carried it, for NACK attribution
    causes: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # the latest endpoints of every cluster this proxy was ever given: while old clusters are
    # kept for make-before-break, Envoy may still (re)request their endpoints
    cla_history: dict[str, object] = field(default_factory=dict)
    cla_from: TypeResources | None = None  # the EDS content cla_history last took in
    cla_updates: int = 0  # bumped whenever cla_history takes in new content


_gen = itertools.count(1)


def next_generation() -> int:
    return next(_gen)


def build_snapshot(
    packer: Packer,
    *,
    clusters: list[dict],
    endpoints: list[dict],
    listeners: list[dict],
    routes: list[dict],
    runtime: dict[str, float] | None = None,
    cause: tuple[str, ...] = (),
    runtime_layer_name: str = FAULT_LAYER,
    prev: NodeSnapshot | None = None,
) -> NodeSnapshot:
    """Pack Envoy JSON resources (the EnvoyResources shape) into a snapshot. `prev`, this
    proxy's previous snapshot, lets unchanged types be reused without rehashing."""

    def p(t: str) -> TypeResources | None:
        return prev.types.get(t) if prev is not None else None

    types = {
        CLUSTER: packer.pack_all(CLUSTER, clusters, p(CLUSTER)),
        ENDPOINT: packer.pack_all(ENDPOINT, endpoints, p(ENDPOINT)),
        LISTENER: packer.pack_all(LISTENER, listeners, p(LISTENER)),
        ROUTE: packer.pack_all(ROUTE, routes, p(ROUTE)),
        RUNTIME: packer.pack_runtime(runtime or {}, runtime_layer_name),
    }
    return NodeSnapshot(types=types, generation=next(_gen), cause=cause)


Listener = Callable[[str], None]


class SnapshotCache:
    """proxy key -> NodeSnapshot, with wake-ups for the streams watching a key. Single-threaded:
    everything runs on the server's asyncio loop."""

    def __init__(self) -> None:
        self._snaps: dict[str, NodeSnapshot] = {}
        self._memory: dict[str, NodeMemory] = {}
        self._watchers: dict[str, set[Listener]] = {}
        self._any_watchers: set[Listener] = set()

    def set(self, key: str, snap: NodeSnapshot) -> None:
        snap = NodeSnapshot(snap.types, snap.generation, snap.cause, time.monotonic())
        self._snaps[key] = snap
        mem = self.memory(key)
        for t, tr in snap.types.items():
            mem.causes.setdefault((t, tr.version), snap.cause)
        eds = snap.types.get(ENDPOINT)
        if eds is not None and eds is not mem.cla_from:
            # a fault push leaves EDS as it was: thousands of entries are not walked again
            mem.cla_history.update(eds.resources)
            mem.cla_from = eds
            mem.cla_updates += 1
        for cb in list(self._watchers.get(key, ())):
            cb(key)

    def get(self, key: str) -> NodeSnapshot | None:
        return self._snaps.get(key)

    def keys(self) -> list[str]:
        return sorted(self._snaps)

    def drop(self, key: str) -> None:
        self._snaps.pop(key, None)

    def forget(self, key: str) -> None:
        """Everything about a key nobody watches (a refused proxy name)."""
        if key not in self._watchers:
            self._snaps.pop(key, None)
            self._memory.pop(key, None)

    def memory(self, key: str) -> NodeMemory:
        mem = self._memory.get(key)
        if mem is None:
            mem = self._memory[key] = NodeMemory()
        return mem

    def watch(self, key: str, cb: Listener) -> None:
        self._watchers.setdefault(key, set()).add(cb)
        for any_cb in list(self._any_watchers):
            any_cb(key)

    def unwatch(self, key: str, cb: Listener) -> None:
        s = self._watchers.get(key)
        if s is not None:
            s.discard(cb)
            if not s:
                del self._watchers[key]

    def on_new_key(self, cb: Listener) -> None:
        """cb(key) whenever a stream starts watching a key (a proxy connected)."""
        self._any_watchers.add(cb)

    def watched_keys(self) -> list[str]:
        return sorted(self._watchers)

    def desired(self, key: str, type_url: str) -> TypeResources | None:
        """What a stream of `key` should hold for this type: the current snapshot, unless an
        Envoy rejected exactly that content, then the last content one accepted."""
        snap = self._snaps.get(key)
        if snap is None:
            return None
        cur = snap.types.get(type_url)
        if cur is None:
            return None
        mem = self._memory.get(key)
        if mem is not None and mem.rejected:  # (empty for nearly every proxy: no dict walk then)
            rejected = mem.rejected.get(type_url)
            if rejected and cur.version in rejected:
                return mem.last_acked.get(type_url)
        return cur
