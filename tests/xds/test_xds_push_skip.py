"""The fan-out shortcuts (issue 15) change nothing an Envoy sees.

* _push passes over a type whose decision inputs are unchanged (TypeState.clean). A seeded
  random protocol run (snapshot changes that reuse or replace each type's content, ACKs, NACKs,
  stale requests, changed subscriptions, heartbeats, two streams of one proxy) is played against
  this server and against one that weighs every type every time, as the server did before:
  every response (type, version, names, nonce), every event and the streams' status must match.
* The journal encodes xDS lines without json.dumps: byte for byte what encode_line made."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import any_pb2

from meshtui.edits import journal as jr
from meshtui.xds import events as ev
from meshtui.xds.cache import NodeSnapshot, SnapshotCache, next_generation
from meshtui.xds.resources import (
    CLUSTER,
    ENDPOINT,
    FAULT_LAYER,
    LISTENER,
    PUSH_ORDER,
    ROUTE,
    RUNTIME,
    TypeResources,
)
from meshtui.xds.server import AdsServer, StreamState, TypeState

# ---- the push decision: with and without the clean shortcut ----------------------------------


class WeighEverything(AdsServer):
    """The server as it was: every _push works out every type's desired content."""

    def _still_clean(self, stream: StreamState, st: TypeState, snap: NodeSnapshot) -> bool:
        return False


class Context:
    """A stream's gRPC context. `during_write(n)` runs while the player's n-th write awaits, as
    an edit that the loop takes in between can."""

    def __init__(self, during_write) -> None:
        self.sent: list[discovery_pb2.DiscoveryResponse] = []
        self.during_write = during_write

    async def write(self, resp: discovery_pb2.DiscoveryResponse) -> None:
        self.sent.append(resp)
        self.during_write()
        await asyncio.sleep(0)  # a real write yields to the loop


def _res(name: str, body: str) -> any_pb2.Any:
    return any_pb2.Any(type_url="type.googleapis.com/test", value=f"{name}:{body}".encode())


class Pool:
    """Content per type, built once so that snapshots share TypeResources objects as the
    translator's do; `fresh` builds an equal copy (same version, another object)."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        clusters = [f"c{i}" for i in range(6)]
        self.variants: dict[str, list[dict[str, any_pb2.Any]]] = {
            CLUSTER: [{c: _res(c, str(v)) for c in clusters if rnd.random() < 0.6} or {"c0": _res("c0", "x")}
                      for v in range(5)],
            ENDPOINT: [{c: _res(c, f"e{v}") for c in clusters if rnd.random() < 0.7} for v in range(5)],
            LISTENER: [{f"l{i}": _res(f"l{i}", str(v)) for i in range(3) if rnd.random() < 0.8} for v in range(4)],
            ROUTE: [{f"r{i}": _res(f"r{i}", str(v)) for i in range(4) if rnd.random() < 0.7} for v in range(4)],
            RUNTIME: [{FAULT_LAYER: _res(FAULT_LAYER, str(v))} for v in range(4)],
        }
        self.built = {t: [TypeResources.build(t, dict(v)) for v in vs] for t, vs in self.variants.items()}

    def pick(self, t: str) -> TypeResources:
        i = self.rnd.randrange(len(self.built[t]))
        if self.rnd.random() < 0.15:
            return TypeResources.build(t, dict(self.variants[t][i]))  # same content, a new object
        return self.built[t][i]


class Player:
    """One server and its streams, driven by the same operations as its twin."""

    def __init__(self, server: AdsServer) -> None:
        self.server = server
        self.cache = server.cache
        self.events: list[tuple] = []
        server.bus.subscribe(lambda e: self.events.append(
            (e.kind, e.proxy, e.stream, e.type, e.version, e.nonce, e.detail, e.names, e.cause)))
        self.streams: list[StreamState] = []
        self.ctx: dict[int, Context] = {}
        self.woken: dict[int, bool] = {}
        self.writes = 0
        self.mid_write: dict[int, tuple[str, NodeSnapshot]] = {}  # write number -> snapshot set then

    def _during_write(self) -> None:
        self.writes += 1
        hit = self.mid_write.get(self.writes)
        if hit is not None:
            self.cache.set(*hit)

    def connect(self, proxy: str) -> StreamState:
        s = StreamState(id=len(self.streams) + 1, peer="test", connected_at=0.0, proxy=proxy)
        self.streams.append(s)
        self.server.streams[s.id] = s
        self.server._by_proxy.setdefault(proxy, {})[s.id] = s
        self.ctx[s.id] = Context(self._during_write)
        self.woken[s.id] = False

        def wake(_key: str, sid: int = s.id) -> None:
            self.woken[sid] = True

        self.cache.watch(proxy, wake)
        return s

    async def request(self, s: StreamState, t: str, names: list[str], nonce: str = "", version: str = "",
                      nack: bool = False) -> None:
        req = discovery_pb2.DiscoveryRequest(type_url=t, resource_names=names, response_nonce=nonce,
                                             version_info=version)
        if nack:
            req.error_detail.code = 3
            req.error_detail.message = "rejected by the test"
        await self.server._on_request(s, req, self.ctx[s.id])

    async def drain_wakes(self) -> None:
        for s in self.streams:
            if self.woken[s.id]:
                self.woken[s.id] = False
                await self.server._push(s, self.ctx[s.id])

    def record(self) -> list:
        out = []
        for s in self.streams:
            out.append([(r.type_url, r.version_info, r.nonce, tuple(sorted(_name(a) for a in r.resources)))
                        for r in self.ctx[s.id].sent])
            status = s.status()
            for st in status["types"].values():
                if st["lastNack"] is not None:
                    del st["lastNack"]["at"]  # the wall clock of the NACK
            out.append(status)
        return out


def _name(a: any_pb2.Any) -> str:
    return a.value.split(b":")[0].decode() if a.type_url == "type.googleapis.com/test" else a.type_url


def _names_for(t: str, resp: discovery_pb2.DiscoveryResponse | None, rnd: random.Random) -> list[str]:
    """What an Envoy asks for after a response: wildcards for CDS/LDS, the layer for RTDS, else
    (mostly) the names the last CDS/LDS response gave, sometimes a different subset."""
    if t in (CLUSTER, LISTENER):
        return []
    if t == RUNTIME:
        return [FAULT_LAYER]
    base = [f"c{i}" for i in range(6)] if t == ENDPOINT else [f"r{i}" for i in range(4)]
    return sorted(n for n in base if rnd.random() < 0.6)


async def play(seed: int, steps: int) -> tuple[list, list, bool]:
    rnd_ops = random.Random(seed)
    a = Player(AdsServer(SnapshotCache(), ev.EventBus(), runtime_ttl=1e-6))
    b = Player(WeighEverything(SnapshotCache(), ev.EventBus(), runtime_ttl=1e-6))
    pool = Pool(random.Random(seed))
    proxies = ["ns/a", "ns/b"]
    current: dict[str, dict[str, TypeResources]] = {}

    async def both(op) -> None:
        for p in (a, b):
            await op(p)

    def set_snap(proxy: str) -> None:
        prev = current.get(proxy)
        types = {t: (prev[t] if prev is not None and rnd_ops.random() < 0.6 else pool.pick(t)) for t in PUSH_ORDER}
        current[proxy] = types
        gen = next_generation()
        cause = (f"edit-{rnd_ops.randrange(3)}",)
        for p in (a, b):
            p.cache.set(proxy, NodeSnapshot(dict(types), gen, cause))

    for proxy in proxies:
        set_snap(proxy)
    for n in sorted(rnd_ops.sample(range(1, 400), 40)):  # edits that land while a response is written
        proxy = rnd_ops.choice(proxies)
        snap = NodeSnapshot({t: pool.pick(t) for t in PUSH_ORDER}, next_generation(), ("mid-write",))
        a.mid_write[n] = b.mid_write[n] = (proxy, snap)
    for proxy in (proxies[0], proxies[0], proxies[1]):  # two streams of proxy a
        sa, sb = a.connect(proxy), b.connect(proxy)
        for t in PUSH_ORDER:
            names = _names_for(t, None, rnd_ops)
            await a.request(sa, t, names)
            await b.request(sb, t, names)
    for _ in range(steps):
        op = rnd_ops.random()
        i = rnd_ops.randrange(len(a.streams))
        sa, sb = a.streams[i], b.streams[i]
        if op < 0.25:
            proxy = rnd_ops.choice(proxies)
            for _ in range(rnd_ops.choice((1, 1, 2, 3))):  # several edits before the streams wake
                set_snap(proxy)
        elif op < 0.75:
            # answer what is in flight on one type (ACK, sometimes NACK), as Envoy does
            busy = [t for t in PUSH_ORDER if sa.types.get(t) and sa.types[t].outstanding]
            if busy:
                t = rnd_ops.choice(busy)
                st = sa.types[t]
                nack = rnd_ops.random() < 0.12 and st.outstanding != st.heartbeat_nonce
                names = sorted(st.names) if rnd_ops.random() < 0.7 else _names_for(t, None, rnd_ops)
                version = (st.acked_version or "") if nack else (st.sent_version or "")
                nonce = st.outstanding or ""
                await a.request(sa, t, names, nonce, version, nack)
                await b.request(sb, t, names, nonce, version, nack)
        elif op < 0.85:
            t = rnd_ops.choice(PUSH_ORDER)  # a stale or repeated request (the last nonce, or an old one)
            st = sa.types[t]
            nonce = st.last_nonce or "" if rnd_ops.random() < 0.5 else "1"
            names = _names_for(t, None, rnd_ops)
            await a.request(sa, t, names, nonce, st.acked_version or "")
            await b.request(sb, t, names, nonce, st.acked_version or "")
        else:
            await a.server._heartbeat(sa, a.ctx[sa.id])
            await b.server._heartbeat(sb, b.ctx[sb.id])
        await a.drain_wakes()
        await b.drain_wakes()
        ra, rb = a.record(), b.record()
        assert ra == rb, f"seed {seed}: the responses differ: {[(x, y) for x, y in zip(ra, rb, strict=True) if x != y]}"
    assert a.events == b.events, f"seed {seed}: the events differ"
    plain = {tr.version for tr in pool.built[CLUSTER]}
    merged = any(r.type_url == CLUSTER and r.version_info not in plain for c in a.ctx.values() for r in c.sent)
    return a.record(), a.events, merged


@pytest.mark.parametrize("seed", range(60))
def test_skipping_clean_types_sends_what_weighing_every_type_sends(seed):
    record, events, _merged = asyncio.run(play(seed, 160))
    sent = [r for i, r in enumerate(record) if i % 2 == 0]
    # the run exercised the protocol: responses of several types on every stream, and ACKs
    assert all(len({x[0] for x in per}) >= 4 for per in sent)
    assert any(e[0] == ev.ACK for e in events)


def test_the_runs_reach_nacks_heartbeats_and_make_before_break():
    """The random runs above are only worth something if they reach the protocol's corners."""
    kinds: set[str] = set()
    kept = False
    for seed in range(60):
        _record, events, merged = asyncio.run(play(seed, 160))
        kinds |= {e[0] for e in events}
        kept = kept or merged  # a CDS of new and old clusters went out (make before break)
    assert {ev.ACK, ev.NACK, ev.STALE, ev.HEARTBEAT, ev.PUSH} <= kinds
    assert kept


# ---- the journal lines ---------------------------------------------------------------------


def _reference(entry: jr.JournalEntry) -> str:
    return json.dumps(entry.to_dict(), separators=(",", ":"), sort_keys=True)


@pytest.mark.parametrize("seed", range(5))
def test_journal_lines_are_what_json_dumps_made(seed):
    rnd = random.Random(seed)
    alphabet = ['a', 'Z', '0', '/', '"', '\\', '\n', '\t', '\x00', '\x1f', 'é', '€', '\u2028', '😀', ' ', '|', '{']

    def text() -> str:
        return "" if rnd.random() < 0.3 else "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 12)))

    times = [0.0, 1.0, 1e-7, 123.4567891234, 1764790000.123456789, 1764790000.0, 1e22, 5e-324, -3.25,
             float("inf"), float("nan"), 7, 1700000000]
    for _ in range(2000):
        at = rnd.choice(times) if rnd.random() < 0.3 else rnd.uniform(0, 2e9)
        entry = jr.JournalEntry(at, rnd.choice([jr.PUSH, jr.ACK, jr.NACK, "connect", text() or "x"]),
                                text(), None, text(), text(), text(), text(),
                                tuple(text() or "e" for _ in range(rnd.randrange(3))))
        line = jr.encode_line(entry)
        assert line == _reference(entry)
        assert jr.encode_fields(entry.at, entry.kind, entry.edit_id, entry.proxy, entry.type, entry.version,
                                entry.detail, entry.edit_ids) == line
        if at - at == 0:
            assert jr.decode_lines([line])[0] == [jr.JournalEntry(round(at, 6), entry.kind, entry.edit_id, None,
                                                                  entry.proxy, entry.type, entry.version,
                                                                  entry.detail, entry.edit_ids)]
    with_edit = jr.JournalEntry(1.5, jr.EDIT_ADD, "f-1", {"type": "fault", "id": "f-1", "x": [1, "é"]})
    assert jr.encode_line(with_edit) == _reference(with_edit)
