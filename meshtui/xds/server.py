"""The ADS server: state-of-the-world xDS over one gRPC stream per Envoy (grpc.aio). Delta xDS
is not implemented (Envoy gets UNIMPLEMENTED for DELTA_GRPC): meshtui's bootstraps use GRPC.

Per stream and per type it keeps what Envoy asked for, what was sent under which nonce, what
was ACKed and the last NACK. The rules, learnt the hard way (see xds-notes.md):

* A request whose nonce is not the last one sent for its type is stale and ignored.
* At most one response per type is in flight; the next waits for its ACK or NACK.
* Changes go out in the order CDS, EDS, LDS, RTDS, RDS. LDS/RDS wait for an in-flight CDS to be
  ACKed (a CDS ACK means the clusters have warmed), and clusters that routes may still use are
  kept (CDS = new + old) until this Envoy ACKed the new LDS/RDS: make before break.
* After a CDS response, EDS is resent on Envoy's next EDS request even when unchanged, or a
  modified cluster warms until initial_fetch_timeout (15 s).
* A NACKed version is remembered per proxy and never sent again; a reconnecting Envoy gets the
  last content one accepted. NACKs name the snapshot's cause, so the edit can be blamed.
* The RTDS fault layer goes out wrapped in a `Resource` with a TTL and is kept alive by periodic
  resends (heartbeats): if meshtui dies, the layer expires in Envoy and every fault falls back
  to 0 %. See _heartbeat for why a heartbeat carries the body.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from dataclasses import dataclass, field

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import any_pb2

from meshtui.xds import events as ev
from meshtui.xds.cache import NodeSnapshot, SnapshotCache
from meshtui.xds.resources import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    PUSH_ORDER,
    ROUTE,
    RUNTIME,
    SHORT,
    TypeResources,
    wrap_with_ttl,
)

log = logging.getLogger("meshtui.xds")

WILDCARD_TYPES = (CLUSTER, LISTENER)
PROXY_METADATA_KEY = "meshtui.proxy"

HEARTBEAT_SLICES = 8

_WAKE = object()
_HEARTBEAT = object()
_CLOSE = object()


@dataclass
class Nack:
    version: str
    reason: str
    code: int
    at: float  # epoch seconds
    cause: tuple[str, ...] = ()


@dataclass
class TypeState:
    """One type's sub-stream on one ADS stream."""

    type_url: str
    subscribed: bool = False
    wildcard: bool = False
    names: frozenset[str] = frozenset()
    need_reply: bool = False
    force: bool = False  # EDS after a CDS push: answer the warming request even if unchanged
    last_nonce: str | None = None
    outstanding: str | None = None  # nonce awaiting ACK/NACK
    heartbeat_nonce: str | None = None
    sent: TypeResources | None = None  # the full content the last response was cut from
    sent_version: str | None = None
    sent_names: frozenset[str] = frozenset()
    sent_at: float = 0.0
    acked_version: str | None = None
    acked_at: float = 0.0
    last_nack: Nack | None = None
    pushes: int = 0
    acks: int = 0
    nacks: int = 0
    # what _push worked out last time from the same inputs (by identity): with thousands of
    # clusters, set work per push and stream would dominate a fan-out of a small RTDS change
    desired_memo: tuple | None = None
    names_memo: tuple | None = None
    # The snapshot content (by identity) _push last weighed this type against and found nothing
    # to send; for CDS also the LDS and RDS content its make-before-break test looked at, for EDS
    # the proxy's endpoint history (NodeMemory.cla_updates) it filled kept clusters from. Any
    # other input of that decision (this type's requests, ACKs, NACKs and sends, the proxy's
    # NACK memory, for CDS the LDS/RDS sub-streams, for EDS a CDS push) resets it to None, so
    # a wake after an edit that changed one type weighs that type only (see _push).
    clean: TypeResources | None = None
    clean_lds: TypeResources | None = None
    clean_rds: TypeResources | None = None
    clean_cla: int = -1


class Inbox:
    """What a stream's task has to handle, in arrival order: requests, wakes, heartbeats, the
    close. asyncio.Queue less what one consumer on one loop does not use (bounds, task_done, its
    loop checks on every get): a fault's fan-out to 200 streams fills one 400 times."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: collections.deque[object] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: object) -> None:
        self._items.append(item)
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():  # (a consumer cancelled while waiting left it cancelled)
                w.set_result(None)

    async def get(self) -> object:
        items = self._items
        while not items:
            w = self._waiter = asyncio.get_running_loop().create_future()
            await w
        return items.popleft()

    def qsize(self) -> int:
        return len(self._items)


@dataclass
class StreamState:
    id: int
    peer: str
    connected_at: float
    proxy: str = ""
    node_id: str = ""
    node_cluster: str = ""
    client_features: tuple[str, ...] = ()
    types: dict[str, TypeState] = field(default_factory=dict)
    ordered: list[TypeState] = field(default_factory=list)  # those of `types` meshtui serves, in PUSH_ORDER
    queue: Inbox = field(default_factory=Inbox)
    wake_pending: bool = False
    # nonce -> (type, version, names) of every recent response: what an ACK/NACK refers to
    sent_by_nonce: collections.OrderedDict = field(default_factory=collections.OrderedDict)

    def remember(self, nonce: str, type_url: str, version: str, names: frozenset[str]) -> None:
        self.sent_by_nonce[nonce] = (type_url, version, names)
        while len(self.sent_by_nonce) > 256:
            self.sent_by_nonce.popitem(last=False)

    def status(self) -> dict:
        out: dict = {
            "stream": self.id,
            "proxy": self.proxy,
            "nodeId": self.node_id,
            "peer": self.peer,
            "connectedAt": self.connected_at,
            "types": {},
        }
        for t in PUSH_ORDER:
            st = self.types.get(t)
            if st is None or not st.subscribed:
                continue
            out["types"][SHORT[t]] = {
                "acked": st.acked_version,
                "sent": st.sent_version,
                "inFlight": st.outstanding is not None and st.outstanding != st.heartbeat_nonce,
                "names": len(st.sent_names),
                "pushes": st.pushes,
                "acks": st.acks,
                "nacks": st.nacks,
                "lastNack": None
                if st.last_nack is None
                else {"version": st.last_nack.version, "reason": st.last_nack.reason, "at": st.last_nack.at,
                      "cause": list(st.last_nack.cause)},
            }
        return out


def proxy_key(node) -> str:
    """The workload a node names: metadata `meshtui.proxy`, else node.id."""
    fields = node.metadata.fields
    if PROXY_METADATA_KEY in fields and fields[PROXY_METADATA_KEY].string_value:
        return fields[PROXY_METADATA_KEY].string_value
    return node.id


class AdsServer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    """SotW ADS. `runtime_ttl` (seconds) is the lease of the fault layer; heartbeats go out every
    `runtime_ttl / 3`. `runtime_ttl=None` sends the layer without TTL."""

    def __init__(self, cache: SnapshotCache, bus: ev.EventBus | None = None, *,
                 runtime_ttl: float | None = 3.0, authenticate=None, admit=None) -> None:
        self.cache = cache
        # authenticate(context) -> refusal text or None; admit(proxy) -> refusal text or None
        self.authenticate = authenticate or (lambda _context: None)
        self.admit = admit or (lambda _proxy: None)
        self.bus = bus or ev.EventBus()
        self.runtime_ttl = runtime_ttl
        self.streams: dict[int, StreamState] = {}
        self._by_proxy: dict[str, dict[int, StreamState]] = {}  # proxy -> its streams (usually one)
        self._wrapped: dict[tuple[str, str], any_pb2.Any] = {}  # (name, version) -> TTL'd resource
        self._ids = itertools.count(1)
        self._nonces = itertools.count(1)
        self._hb_task: asyncio.Task | None = None
        self._closing = False

    # ---- lifecycle -------------------------------------------------------------------------

    def start_heartbeats(self) -> None:
        if self.runtime_ttl and self._hb_task is None:
            self._hb_task = asyncio.get_running_loop().create_task(self._heartbeat_loop())

    async def close(self) -> None:
        self._closing = True
        if self._hb_task is not None:
            self._hb_task.cancel()
            try:
                await self._hb_task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - however the heartbeat ended, closing goes on
                pass
            self._hb_task = None
        for st in list(self.streams.values()):
            st.queue.put_nowait(_CLOSE)

    def stop_heartbeats(self) -> None:
        """For tests that simulate a dead control plane without closing streams."""
        if self._hb_task is not None:
            self._hb_task.cancel()
            self._hb_task = None

    async def _heartbeat_loop(self) -> None:
        """Every stream gets a heartbeat every `interval`, in HEARTBEAT_SLICES groups spread over
        the interval (by stream id): 200 streams do not all resend the layer, and all ACK it,
        in the same instant, where it would hold up an edit's fan-out that falls on it."""
        interval = max(0.05, (self.runtime_ttl or 3.0) / 3.0)
        k = 0
        while True:
            await asyncio.sleep(interval / HEARTBEAT_SLICES)
            for sid, st in list(self.streams.items()):
                if sid % HEARTBEAT_SLICES == k:
                    st.queue.put_nowait(_HEARTBEAT)
            k = (k + 1) % HEARTBEAT_SLICES

    # ---- status for the control API / TUI ---------------------------------------------------

    def streams_of(self, proxy: str) -> list[StreamState]:
        """The streams of one proxy (an ACK looks at its own proxy's, not at every stream)."""
        return list(self._by_proxy.get(proxy, {}).values())

    def status(self) -> list[dict]:
        return [s.status() for s in sorted(self.streams.values(), key=lambda s: s.id)]

    # ---- the stream ------------------------------------------------------------------------

    async def StreamAggregatedResources(self, request_iterator, context):
        refusal = self.authenticate(context)
        if refusal is not None:
            # before any state is kept for it: a stream without the credential gets nothing
            self.bus.emit(ev.XdsEvent(ev.UNAUTHENTICATED, "", detail=f"ADS stream from {context.peer()}: {refusal}"))
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, refusal)
        stream = StreamState(id=next(self._ids), peer=context.peer() or "", connected_at=time.time())
        self.streams[stream.id] = stream

        async def reader() -> None:
            try:
                async for req in request_iterator:
                    stream.queue.put_nowait(req)
            except (asyncio.CancelledError, grpc.RpcError, Exception):  # noqa: BLE001 - stream gone
                pass
            finally:
                stream.queue.put_nowait(_CLOSE)

        reader_task = asyncio.get_running_loop().create_task(reader())

        def wake(_key: str) -> None:
            if not stream.wake_pending:
                stream.wake_pending = True
                stream.queue.put_nowait(_WAKE)

        try:
            while not self._closing:
                item = await stream.queue.get()
                if item is _CLOSE:
                    break
                if item is _WAKE:
                    stream.wake_pending = False
                    await self._push(stream, context)
                elif item is _HEARTBEAT:
                    await self._heartbeat(stream, context)
                else:
                    first = not stream.proxy
                    if first:
                        self._on_connect(stream, item)
                        why = self.admit(stream.proxy)
                        if why is not None:
                            self.bus.emit(ev.XdsEvent(ev.REFUSED, stream.proxy, stream.id,
                                                      detail=f"stream refused: {why}"))
                            stream.proxy = ""  # nothing is remembered for a name meshtui does not serve
                            await context.abort(grpc.StatusCode.NOT_FOUND, why[:1000])
                        self.cache.watch(stream.proxy, wake)
                        self._by_proxy.setdefault(stream.proxy, {})[stream.id] = stream
                    await self._on_request(stream, item, context)
        except (asyncio.CancelledError, grpc.RpcError, ConnectionError):
            pass
        finally:
            reader_task.cancel()
            if stream.proxy:
                self.cache.unwatch(stream.proxy, wake)
                mine = self._by_proxy.get(stream.proxy)
                if mine is not None:
                    mine.pop(stream.id, None)
                    if not mine:
                        del self._by_proxy[stream.proxy]
            self.streams.pop(stream.id, None)
            self.bus.emit(ev.XdsEvent(ev.DISCONNECT, stream.proxy, stream.id))

    def _on_connect(self, stream: StreamState, req: discovery_pb2.DiscoveryRequest) -> None:
        node = req.node
        stream.proxy = proxy_key(node) or f"unknown-{stream.id}"
        stream.node_id = node.id
        stream.node_cluster = node.cluster
        stream.client_features = tuple(node.client_features)
        detail = f"node {node.id} peer {stream.peer}"
        self.bus.emit(ev.XdsEvent(ev.CONNECT, stream.proxy, stream.id, detail=detail))

    async def _on_request(self, stream: StreamState, req: discovery_pb2.DiscoveryRequest, context) -> None:
        t = req.type_url
        st = stream.types.get(t)
        if st is None:
            st = stream.types[t] = TypeState(t)
            stream.ordered = [stream.types[u] for u in PUSH_ORDER if u in stream.types]
            if t not in SHORT:
                # e.g. SDS secrets: meshtui serves none, say so once instead of leaving it a mystery
                self.bus.emit(ev.XdsEvent(ev.UNSUPPORTED, stream.proxy, stream.id, t,
                                          detail=f"Envoy asked for {t}, which meshtui does not serve"))
        nonce = req.response_nonce
        if nonce:
            if nonce != st.last_nonce:
                self.bus.emit(ev.XdsEvent(ev.STALE, stream.proxy, stream.id, SHORT.get(t, t), req.version_info, nonce))
                return
        self._dirty(stream, t)
        if nonce:
            if st.outstanding == nonce:
                st.outstanding = None
                if req.HasField("error_detail"):
                    self._on_nack(stream, st, req)
                elif nonce == st.heartbeat_nonce:
                    st.heartbeat_nonce = None
                else:
                    self._on_ack(stream, st)
        else:
            # A new subscription: the stream's first request for this type. version_info is what
            # this Envoy already holds (a reconnect); answer anyway, it is cheap and certain.
            st.need_reply = True
            st.acked_version = req.version_info or None
        names = frozenset(req.resource_names)
        st.wildcard = t in WILDCARD_TYPES and (not names or "*" in names)
        if names != st.names:
            st.need_reply = True
            st.names = names  # an equal set keeps the old object: the memos below key on it
        st.subscribed = True
        if st.force:
            st.need_reply = True
        await self._push(stream, context)

    @staticmethod
    def _dirty(stream: StreamState, t: str) -> None:
        """An input of type t's push decision on this stream changed: weigh it on the next _push."""
        st = stream.types.get(t)
        if st is not None:
            st.clean = None
        if t in (LISTENER, ROUTE):  # CDS keeps old clusters until LDS and RDS are ACKed
            cds = stream.types.get(CLUSTER)
            if cds is not None:
                cds.clean = None

    def _memory_changed(self, proxy: str, t: str) -> None:
        """The proxy's memory of type t (last ACKed, rejected versions) changed: what every stream
        of the proxy should hold of t may differ."""
        for s in self._by_proxy.get(proxy, {}).values():
            self._dirty(s, t)

    def _on_ack(self, stream: StreamState, st: TypeState) -> None:
        st.acked_version = st.sent_version
        st.acked_at = time.monotonic()
        st.acks += 1
        mem = self.cache.memory(stream.proxy)
        if st.sent is not None:
            mem.last_acked[st.type_url] = st.sent
            self._memory_changed(stream.proxy, st.type_url)
        cause = mem.causes.get((st.type_url, st.sent_version or ""), ())
        self.bus.emit(ev.XdsEvent(ev.ACK, stream.proxy, stream.id, SHORT.get(st.type_url, st.type_url),
                                  st.sent_version or "", st.last_nonce or "", cause=cause))

    def _on_nack(self, stream: StreamState, st: TypeState, req: discovery_pb2.DiscoveryRequest) -> None:
        sent = stream.sent_by_nonce.get(req.response_nonce)
        rejected = sent[1] if sent is not None else (st.sent_version or "")
        reason = req.error_detail.message
        mem = self.cache.memory(stream.proxy)
        mem.rejected.setdefault(st.type_url, {})[rejected] = reason
        self._memory_changed(stream.proxy, st.type_url)
        cause = mem.causes.get((st.type_url, rejected), ())
        st.nacks += 1
        st.last_nack = Nack(rejected, reason, req.error_detail.code, time.time(), cause)
        # Envoy keeps what it had: req.version_info is its last accepted version.
        st.sent_version = req.version_info or None
        st.sent = mem.last_acked.get(st.type_url) if st.sent_version else None
        if st.sent is not None and st.sent.version != st.sent_version:
            st.sent = None
        self.bus.emit(ev.XdsEvent(ev.NACK, stream.proxy, stream.id, SHORT.get(st.type_url, st.type_url),
                                  rejected, req.response_nonce, detail=reason, cause=cause))

    # ---- deciding and sending ---------------------------------------------------------------

    def _settled(self, stream: StreamState) -> bool:
        """True when this Envoy ACKed the current snapshot's listeners and routes, so clusters
        only old routes used may go."""
        snap = self.cache.get(stream.proxy)
        if snap is None:
            return True
        for t in (LISTENER, ROUTE):
            st = stream.types.get(t)
            if st is None or not st.subscribed:
                continue
            cur = snap.get(t)
            if cur is None:
                continue
            if st.outstanding is not None or st.acked_version != cur.version:
                return False
        return True

    def _desired(self, stream: StreamState, t: str) -> TypeResources | None:
        want = self.cache.desired(stream.proxy, t)
        if want is None:
            return None
        st = stream.types[t]
        if t == CLUSTER:
            if st.sent is not None and st.sent.version != want.version and not self._settled(stream):
                kept = {n: a for n, a in st.sent.resources.items() if n not in want.resources}
                if kept:
                    want = TypeResources.build(t, {**kept, **want.resources})
        elif t == ENDPOINT:
            # Clusters kept for make-before-break (or sent just before an edit took them away)
            # still need their endpoints, or they warm forever and hold back the CDS ACK.
            mem = self.cache.memory(stream.proxy)
            hist = mem.cla_history
            memo = st.desired_memo
            if memo is not None and memo[0] is want and memo[1] is st.names and memo[2] == mem.cla_updates:
                return memo[3]
            got = want
            missing = {n: hist[n] for n in st.names if n not in want.resources and n in hist}
            if missing:
                got = TypeResources.build(t, {**missing, **want.resources})
            st.desired_memo = (want, st.names, mem.cla_updates, got)
            return got
        return want

    @staticmethod
    def _names(st: TypeState, want: TypeResources) -> frozenset[str]:
        """The names a response of this type carries: all (wildcard) or the subscribed ones."""
        memo = st.names_memo
        if memo is not None and memo[0] is want and memo[1] is st.names and memo[2] == st.wildcard:
            return memo[3]
        if st.wildcard:
            names = frozenset(want.resources)
        else:
            names = frozenset(n for n in st.names if n in want.resources)
        st.names_memo = (want, st.names, st.wildcard, names)
        return names

    async def _push(self, stream: StreamState, context) -> None:
        """Send what each type's sub-stream lacks, in PUSH_ORDER. A type whose decision inputs are
        the ones it was last found clean with (TypeState.clean) is passed over without working
        out its desired content again: after a fault edit, 200 streams weigh RTDS alone."""
        if not stream.proxy:
            return
        snap = self.cache.get(stream.proxy)
        if snap is None:
            return  # nothing to serve (desired() says None for every type)
        cds = stream.types.get(CLUSTER)
        for st in stream.ordered:
            if not st.subscribed or st.outstanding is not None:
                continue
            t = st.type_url
            if t in (LISTENER, ROUTE) and cds is not None and cds.outstanding is not None:
                continue  # wait for the clusters to warm (CDS ACK)
            cur = snap.types.get(t)
            if cur is None:
                continue
            if st.clean is cur and self._still_clean(stream, st, snap):
                continue
            want = self._desired(stream, t)
            if want is None:
                continue
            names = self._names(st, want)
            if not (st.need_reply or st.force or want.version != st.sent_version
                    or (names is not st.sent_names and names != st.sent_names)):
                self._mark_clean(stream, st, snap, cur)
                continue
            if want.version in self.cache.memory(stream.proxy).rejected.get(t, {}) and not st.need_reply:
                self._mark_clean(stream, st, snap, cur)
                continue
            await self._send(stream, st, want, names, context)
            snap = self.cache.get(stream.proxy)  # the send awaited: an edit may have come meanwhile
            if snap is None:
                return

    def _still_clean(self, stream: StreamState, st: TypeState, snap: NodeSnapshot) -> bool:
        """The rest of the clean test (st.clean is the current content): CDS's and EDS's inputs
        beyond their own snapshot content."""
        if st.type_url == CLUSTER:
            return st.clean_lds is snap.types.get(LISTENER) and st.clean_rds is snap.types.get(ROUTE)
        if st.type_url == ENDPOINT:
            return st.clean_cla == self.cache.memory(stream.proxy).cla_updates
        return True

    def _mark_clean(self, stream: StreamState, st: TypeState, snap: NodeSnapshot, cur: TypeResources) -> None:
        st.clean = cur
        if st.type_url == CLUSTER:
            st.clean_lds = snap.types.get(LISTENER)
            st.clean_rds = snap.types.get(ROUTE)
        elif st.type_url == ENDPOINT:
            st.clean_cla = self.cache.memory(stream.proxy).cla_updates

    async def _send(self, stream: StreamState, st: TypeState, want: TypeResources,
                    names: frozenset[str], context) -> None:
        t = st.type_url
        nonce = str(next(self._nonces))
        ordered = sorted(names)
        if t == RUNTIME and self.runtime_ttl:
            resources = [self._with_ttl(n, want) for n in ordered]
        else:
            resources = [want.resources[n] for n in ordered]
        resp = discovery_pb2.DiscoveryResponse(version_info=want.version, type_url=t, nonce=nonce,
                                               resources=resources)
        st.last_nonce = nonce
        st.outstanding = nonce
        st.heartbeat_nonce = None
        st.sent = want
        st.sent_version = want.version
        st.sent_names = names
        st.sent_at = time.monotonic()
        st.need_reply = False
        st.pushes += 1
        self._dirty(stream, t)
        if t == ENDPOINT:
            st.force = False
        if t == CLUSTER:
            eds = stream.types.get(ENDPOINT)
            if eds is not None:
                eds.force = True
                eds.clean = None
        cause = self.cache.memory(stream.proxy).causes.get((t, want.version), ())
        stream.remember(nonce, t, want.version, names)
        await context.write(resp)
        self.bus.emit(ev.XdsEvent(ev.PUSH, stream.proxy, stream.id, SHORT.get(t, t), want.version, nonce,
                                  names=tuple(ordered), cause=cause))

    def _with_ttl(self, name: str, tr: TypeResources) -> any_pb2.Any:
        """Resource `name` of `tr` wrapped with the runtime TTL, made once per content version:
        every stream that gets this layer (all proxies of a sharing class) sends the same bytes."""
        assert self.runtime_ttl
        key = (name, tr.version)
        hit = self._wrapped.get(key)
        if hit is None:
            if len(self._wrapped) > 4096:
                self._wrapped.clear()
            hit = self._wrapped[key] = wrap_with_ttl(name, tr.version, tr.resources[name], self.runtime_ttl)
        return hit

    async def _heartbeat(self, stream: StreamState, context) -> None:
        """Refresh the fault layer's TTL by resending it, body included, at the same version.

        Envoy 1.40's SotW mux (GrpcMuxImpl) drops a bodiless heartbeat `Resource` before the
        step that re-arms TTLs, so heartbeats never extend the TTL there and the layer expires
        under a live server (seen in tests). Resending the resource with its TTL is the
        documented way to update a TTL and works; it costs one small runtime reload."""
        st = stream.types.get(RUNTIME)
        if (st is None or not st.subscribed or st.outstanding is not None or not self.runtime_ttl
                or st.sent is None or st.sent_version is None or st.sent_version != st.acked_version):
            return
        if time.monotonic() - st.sent_at < self.runtime_ttl / 6.0:
            # the layer went out (and set its TTL) less than half an interval ago: the next
            # heartbeat comes within 1.5 intervals of it, well inside the TTL of 3
            return
        nonce = str(next(self._nonces))
        resources = [self._with_ttl(n, st.sent) for n in sorted(st.sent_names) if n in st.sent.resources]
        resp = discovery_pb2.DiscoveryResponse(version_info=st.sent_version, type_url=RUNTIME, nonce=nonce,
                                               resources=resources)
        st.last_nonce = nonce
        st.outstanding = nonce
        st.heartbeat_nonce = nonce
        stream.remember(nonce, RUNTIME, st.sent_version, st.sent_names)
        await context.write(resp)
        self.bus.emit(ev.XdsEvent(ev.HEARTBEAT, stream.proxy, stream.id, "RTDS", st.sent_version, nonce))


# ---- the gRPC server ------------------------------------------------------------------------

GRPC_OPTIONS = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.so_reuseport", 0),
]


def new_grpc_server() -> grpc.aio.Server:
    return grpc.aio.server(options=GRPC_OPTIONS)


def add_ads(server: grpc.aio.Server, ads: AdsServer) -> None:
    ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(ads, server)
