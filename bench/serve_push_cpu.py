"""The Python side of a fault fan-out, without gRPC or other processes (issue 15): the CPU the
control plane's own code spends when 200 streams get a new RTDS layer and ACK it.

    .venv/bin/python bench/serve_push_cpu.py [--streams 200] [--clusters 2000] [--edits 40]

bench/serve_fanout.py measures the real thing, where gRPC's writes and reads (a sendmsg per
response) and the ACKing clients share the machine; on a shared machine its figures move by
tens of percent from run to run. This one drives the same server code (the snapshot cache's
wake-ups, AdsServer._push/_send, _on_request/_on_ack, the event bus, the control plane's journal
and sync tracking) with a context whose write does nothing, so the figure is the code's own and
repeatable. Prints the median and minimum CPU per fan-out; asserts that every proxy synced."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envoy.service.discovery.v3 import discovery_pb2  # noqa: E402
from google.protobuf import any_pb2  # noqa: E402

from meshtui.xds.cache import NodeSnapshot, next_generation  # noqa: E402
from meshtui.xds.control_plane import ControlPlane  # noqa: E402
from meshtui.xds.journal_file import JournalFile  # noqa: E402
from meshtui.xds.resources import (  # noqa: E402
    CLUSTER,
    ENDPOINT,
    FAULT_LAYER,
    LISTENER,
    PUSH_ORDER,
    ROUTE,
    RUNTIME,
    TypeResources,
)
from meshtui.xds.server import StreamState  # noqa: E402


class Context:
    async def write(self, resp: discovery_pb2.DiscoveryResponse) -> None:
        return None


def _res(name: str, body: str) -> any_pb2.Any:
    return any_pb2.Any(type_url="type.googleapis.com/bench", value=f"{name}:{body}".encode())


async def run(n_streams: int, n_clusters: int, edits: int) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="meshtui-push-cpu-"))
    cp = ControlPlane(translator=None, journal=JournalFile(tmp / "journal.jsonl"), restore=False)  # type: ignore[arg-type]
    assert cp.journal is not None
    cp.journal.acquire()
    ads = cp.ads
    clusters = [f"outbound|80||svc-{i}.ns.svc.cluster.local" for i in range(n_clusters)]
    base = {
        CLUSTER: TypeResources.build(CLUSTER, {c: _res(c, "c") for c in clusters}),
        ENDPOINT: TypeResources.build(ENDPOINT, {c: _res(c, "e") for c in clusters}),
        LISTENER: TypeResources.build(LISTENER, {f"l{i}": _res(f"l{i}", "l") for i in range(8)}),
        ROUTE: TypeResources.build(ROUTE, {f"r{i}": _res(f"r{i}", "r") for i in range(8)}),
    }
    layers = [TypeResources.build(RUNTIME, {FAULT_LAYER: _res(FAULT_LAYER, str(v))}) for v in range(2)]
    proxies = [f"ns-{i % 5}/pod-{i}" for i in range(n_streams)]
    ctx = Context()
    woken: dict[int, bool] = {}
    streams: list[StreamState] = []
    for i, p in enumerate(proxies):
        cp._proxies.add(p)
        cp.cache.set(p, NodeSnapshot({**base, RUNTIME: layers[0]}, next_generation(), ("sources",)))
        s = StreamState(id=i + 1, peer="bench", connected_at=0.0, proxy=p)
        ads.streams[s.id] = s
        ads._by_proxy.setdefault(p, {})[s.id] = s
        woken[s.id] = False

        def wake(_key: str, sid: int = s.id) -> None:
            woken[sid] = True

        cp.cache.watch(p, wake)
        streams.append(s)

    def request(s: StreamState, t: str, names: list[str], nonce: str = "", version: str = ""):
        req = discovery_pb2.DiscoveryRequest(type_url=t, resource_names=names, response_nonce=nonce,
                                             version_info=version)
        req.node.id = f"sidecar~{s.proxy}"
        req.node.metadata.fields["meshtui.proxy"].string_value = s.proxy  # Envoy sends its node every time
        return req

    async def ack_all() -> None:
        for s in streams:
            for t, st in list(s.types.items()):
                if st.outstanding:
                    await ads._on_request(s, request(s, t, sorted(st.names), st.outstanding, st.sent_version or ""), ctx)

    for s in streams:
        for t in PUSH_ORDER:
            names = [] if t in (CLUSTER, LISTENER) else [FAULT_LAYER] if t == RUNTIME else sorted(base[t].resources)
            await ads._on_request(s, request(s, t, names), ctx)
    for _ in range(6):
        await ack_all()
    cp._flush_journal()
    times = []
    for k in range(edits):
        t0 = time.process_time()
        for p in proxies:  # what add_edit does once the edit is translated
            snap = NodeSnapshot({**base, RUNTIME: layers[(k + 1) % 2]}, next_generation(), ("edit",))
            cp._set(p, snap, ("edit",))
        for s in streams:
            if woken[s.id]:
                woken[s.id] = False
                await ads._push(s, ctx)
        cp._flush_journal()
        await ack_all()
        cp._flush_journal()
        times.append(time.process_time() - t0)
        assert all(cp._is_synced(p) for p in proxies), "a proxy did not sync"
    cp.journal.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--clusters", type=int, default=2000)
    ap.add_argument("--edits", type=int, default=40)
    args = ap.parse_args()
    times = asyncio.run(run(args.streams, args.clusters, args.edits))
    per = statistics.median(times) * 1000
    print(f"{args.streams} streams, {args.clusters} clusters: CPU per fault fan-out (push + ACK) median {per:.2f} ms, "
          f"min {min(times) * 1000:.2f} ms ({per / args.streams * 1000:.1f} us per stream)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
