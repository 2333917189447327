"""ADS clients that subscribe and ACK the way Envoy does, many streams in one asyncio loop: the
stand-ins for Envoys where a machine cannot run hundreds of them (the fan-out bench and its
test, issue 15). They do not apply config; they record what they were sent.

Per stream, as Envoy's SotW ADS: CDS and LDS as wildcards and the RTDS fault layer by name;
then EDS for the EDS clusters a CDS response names and RDS for the route configs an LDS
response names; every response is ACKed with its version and nonce. Work that depends only on
a response's content (which clusters, which route names) is done once per version and shared
by every stream that gets that version.

    streams = AckingStreams("127.0.0.1:15010", token, ["ns/pod-a", ...])
    await streams.start()
    await asyncio.wait_for(streams.ready.wait(), 60)   # every stream ACKed all five types
    streams.acked_runtime["ns/pod-a"]                   # (version, layer dict) it last ACKed
    await streams.close()
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import http_connection_manager_pb2 as hcm_pb2
from envoy.service.discovery.v3 import discovery_pb2
from envoy.service.runtime.v3 import rtds_pb2
from google.protobuf import json_format

from meshtui.xds.credentials import METADATA_KEY, SCHEME
from meshtui.xds.resources import CLUSTER, ENDPOINT, FAULT_LAYER, LISTENER, RESOURCE_WRAPPER, ROUTE, RUNTIME
from meshtui.xds.server import GRPC_OPTIONS, PROXY_METADATA_KEY

ALL_TYPES = (CLUSTER, ENDPOINT, LISTENER, ROUTE, RUNTIME)
RETRIES = 20
FIRST_RESPONSE_TIMEOUT = 60.0
ADS_METHOD = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"


@dataclass
class AckingStreams:
    """One ADS stream per proxy name; `streams_per_connection` streams share a TCP connection
    (Envoys have one each; channels with equal arguments would otherwise share one)."""

    addr: str
    token: str
    proxies: Sequence[str]
    streams_per_connection: int = 10
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # proxy -> (RTDS version, the fault layer as a dict) of the last RTDS response it ACKed
    acked_runtime: dict[str, tuple[str, dict[str, object]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _eds_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # CDS version -> EDS names
    _rds_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # LDS version -> route names
    _layers: dict[str, dict[str, object]] = field(default_factory=dict)  # RTDS version -> layer
    _channels: list[grpc.aio.Channel] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    retried: int = 0  # streams opened again (UNAVAILABLE, or no first response)
    _synced: set[str] = field(default_factory=set)  # proxies whose stream ACKed all five types

    async def start(self) -> None:
        n = max(1, -(-len(self.proxies) // max(1, self.streams_per_connection)))
        channels = [self._new_channel() for _ in range(n)]
        self._tasks = [asyncio.get_running_loop().create_task(self._stream(p, channels[i % n]))
                       for i, p in enumerate(self.proxies)]

    def _new_channel(self) -> grpc.aio.Channel:
        # a local subchannel pool: channels with equal arguments would share one connection
        ch = grpc.aio.insecure_channel(self.addr, options=[*GRPC_OPTIONS, ("grpc.use_local_subchannel_pool", 1)])
        self._channels.append(ch)
        return ch

    @property
    def synced(self) -> frozenset[str]:
        """The proxies whose stream has ACKed all five types."""
        return frozenset(self._synced)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ch in self._channels:
            await ch.close()

    # ---- what a response's content asks for (once per version) ------------------------------

    def _clusters_of(self, resp: discovery_pb2.DiscoveryResponse) -> tuple[str, ...]:
        hit = self._eds_names.get(resp.version_info)
        if hit is None:
            out = []
            for a in resp.resources:
                c = cluster_pb2.Cluster()
                c.ParseFromString(a.value)
                if c.type == cluster_pb2.Cluster.EDS:
                    out.append(c.eds_cluster_config.service_name or c.name)
            hit = self._eds_names[resp.version_info] = tuple(sorted(out))
        return hit

    def _routes_of(self, resp: discovery_pb2.DiscoveryResponse) -> tuple[str, ...]:
        hit = self._rds_names.get(resp.version_info)
        if hit is None:
            out: set[str] = set()
            for a in resp.resources:
                ls = listener_pb2.Listener()
                ls.ParseFromString(a.value)
                for ch in [*ls.filter_chains, ls.default_filter_chain]:
                    for f in ch.filters:
                        if f.typed_config.type_url.endswith("HttpConnectionManager"):
                            h = hcm_pb2.HttpConnectionManager()
                            h.ParseFromString(f.typed_config.value)
                            if h.HasField("rds"):
                                out.add(h.rds.route_config_name)
            hit = self._rds_names[resp.version_info] = tuple(sorted(out))
        return hit

    def _layer_of(self, resp: discovery_pb2.DiscoveryResponse) -> dict[str, object]:
        hit = self._layers.get(resp.version_info)
        if hit is None:
            hit = {}
            for a in resp.resources:
                body = a
                if a.type_url == RESOURCE_WRAPPER:  # the TTL'd wrapper (server.py)
                    res = discovery_pb2.Resource()
                    res.ParseFromString(a.value)
                    body = res.resource
                rt = rtds_pb2.Runtime()
                rt.ParseFromString(body.value)
                if rt.name == FAULT_LAYER:
                    hit = json_format.MessageToDict(rt.layer)
            self._layers[resp.version_info] = hit
        return hit

    # ---- one stream ----------------------------------------------------------------------------

    async def _stream(self, proxy: str, channel: grpc.aio.Channel) -> None:
        """The stream of one proxy, opened again (as Envoy does) when the server is unavailable
        (a connection that timed out on a busy machine), at most `RETRIES` times."""
        for attempt in range(RETRIES + 1):
            try:
                await self._one_stream(proxy, channel)
                return
            except TimeoutError:
                # no answer at all: seen on a loaded machine with connections that were set up
                # but never carried the stream; a connection of its own, as a restarted Envoy
                if attempt == RETRIES:
                    self.errors.append(f"{proxy}: no response in {FIRST_RESPONSE_TIMEOUT:.0f} s, {RETRIES} times")
                    return
                self.retried += 1
                channel = self._new_channel()
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.CANCELLED:
                    return
                if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == RETRIES:
                    self.errors.append(f"{proxy}: {exc.code().name} {exc.details()}")
                    return
                self.retried += 1
                await asyncio.sleep(0.5)

    async def _one_stream(self, proxy: str, channel: grpc.aio.Channel) -> None:
        """One ADS stream until the server ends it. Requests are written straight on the call
        (no request iterator: that is a queue and a task switch more per ACK), and the node is
        serialised once: a request is its node's bytes followed by the rest of the request,
        which protobuf parses as one DiscoveryRequest (a message's serialisations concatenate),
        so the server gets the node on every request, as from Envoy."""
        node = base_pb2.Node(id=f"sidecar~{proxy}", cluster=proxy.split("/")[-1])
        node.metadata.fields[PROXY_METADATA_KEY].string_value = proxy
        node_bytes = discovery_pb2.DiscoveryRequest(node=node).SerializeToString()

        def req(t: str, names: Sequence[str] = (), version: str = "", nonce: str = "") -> bytes:
            return node_bytes + discovery_pb2.DiscoveryRequest(
                type_url=t, resource_names=names, version_info=version, response_nonce=nonce).SerializeToString()

        ads = channel.stream_stream(ADS_METHOD, request_serializer=None,
                                    response_deserializer=discovery_pb2.DiscoveryResponse.FromString)
        # wait_for_ready: a connection still being set up (or backing off) is waited for
        call = ads(metadata=((METADATA_KEY, SCHEME + self.token),), wait_for_ready=True)
        subscribed: dict[str, tuple[str, ...]] = {CLUSTER: (), LISTENER: (), RUNTIME: (FAULT_LAYER,)}
        acked: set[str] = set()
        first = True
        try:
            for t, names in subscribed.items():
                await call.write(req(t, names))
            while True:
                if first:  # bounded: a stream that never answers is opened again (see _stream)
                    try:
                        resp = await asyncio.wait_for(call.read(), FIRST_RESPONSE_TIMEOUT)
                    except TimeoutError:
                        call.cancel()
                        raise
                    first = False
                else:
                    resp = await call.read()
                if resp is grpc.aio.EOF:
                    return
                t = resp.type_url
                if t == RUNTIME:
                    self.acked_runtime[proxy] = (resp.version_info, self._layer_of(resp))
                await call.write(req(t, subscribed.get(t, ()), resp.version_info, resp.nonce))  # the ACK
                if t == CLUSTER:
                    names = self._clusters_of(resp)
                    if subscribed.get(ENDPOINT) != names:
                        subscribed[ENDPOINT] = names
                        await call.write(req(ENDPOINT, names))
                elif t == LISTENER:
                    names = self._routes_of(resp)
                    if subscribed.get(ROUTE) != names:
                        subscribed[ROUTE] = names
                        await call.write(req(ROUTE, names))
                if proxy not in self._synced:
                    acked.add(t)
                    if len(acked) == len(ALL_TYPES):
                        self._synced.add(proxy)
                        if len(self._synced) == len(set(self.proxies)):
                            self.ready.set()
        finally:
            if not call.done():
                call.cancel()
