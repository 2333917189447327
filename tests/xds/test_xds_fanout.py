"""Fan-out (issue 15): 200 ADS streams, each a proxy of its own, all receive and ACK a fault edit
and its rollback. Not a timing test (bench/serve_fanout.py measures); every wait is bounded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from xds_kit import wait_until

from meshtui.edits.model import FaultEdit, FaultTarget
from meshtui.sources.loader import load_sources
from meshtui.xds.ack_client import AckingStreams
from meshtui.xds.control_plane import ControlPlane
from meshtui.xds.credentials import Authenticator, load_or_create_token
from meshtui.xds.journal_file import JournalFile
from meshtui.xds.loop_thread import LoopThread
from meshtui.xds.resources import RUNTIME
from meshtui.xds.translator import MeshTranslator

STREAMS = 200
APPS = ("cart", "pay", "web", "search")
CART = "cart.shop.svc.cluster.local"


def write_mesh(folder: Path) -> None:
    """One namespace, four Services, 50 pods each: 200 sidecars that all route to cart."""
    docs = []
    for a, app in enumerate(APPS):
        docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: {app}, namespace: shop}}
spec:
  selector: {{app: {app}}}
  ports: [{{name: http, port: 8080}}]""")
        for i in range(STREAMS // len(APPS)):
            docs.append(f"""apiVersion: v1
kind: Pod
metadata: {{name: {app}-{i}, namespace: shop, labels: {{app: {app}}}}}
spec: {{containers: [{{name: c, ports: [{{containerPort: 8080}}]}}]}}
status: {{podIP: 10.1.{a}.{i + 1}, phase: Running, conditions: [{{type: Ready, status: "True"}}]}}""")
    (folder / "mesh.yaml").write_text("\n---\n".join(docs) + "\n")


@pytest.mark.slow
def test_200_streams_receive_and_ack_a_fault_and_its_rollback(tmp_path):
    write_mesh(tmp_path)
    snap = load_sources([str(tmp_path)]).snapshot
    proxies = sorted(w.ref for w in snap.workloads)
    assert len(proxies) == STREAMS
    token = load_or_create_token(tmp_path / "token")
    cp = ControlPlane(MeshTranslator(snap), auth=Authenticator(token), restore=False,
                      journal=JournalFile(tmp_path / "journal.jsonl"))
    server, clients = LoopThread(), LoopThread("acking-clients")
    streams: AckingStreams | None = None
    try:
        addr = server.run(cp.start("127.0.0.1:0"))
        for p in proxies:
            server.call(cp.add_proxy, p)
        streams = AckingStreams(addr, token, proxies)
        clients.run(streams.start())
        clients.run(asyncio.wait_for(streams.ready.wait(), 120), timeout=130)
        assert streams.errors == []

        def rtds_versions() -> dict[str, str]:
            return server.call(lambda: {p: cp.cache.get(p).types[RUNTIME].version for p in proxies})

        def all_acked(want: dict[str, str]) -> bool:
            got = {p: streams.acked_runtime.get(p, ("", {}))[0] for p in proxies}
            synced = server.call(lambda: [p for p in proxies if cp._is_synced(p)])
            return got == want and len(synced) == STREAMS

        before = rtds_versions()
        edit = FaultEdit(id="f-fan", target=FaultTarget(host=CART), percent=100, abort_status=503,
                         ttl_seconds=600, created_at=time.time(), reason="fan-out test")
        server.call(cp.add_edit, edit)
        with_fault = rtds_versions()
        assert all(with_fault[p] != before[p] for p in proxies)  # every proxy routes to cart
        wait_until(lambda: all_acked(with_fault), timeout=60, what="200 streams ACKing the fault")
        # pre-armed routes: the layer sets each faulted route's keys (its status and percentage)
        layers = {p: streams.acked_runtime[p][1] for p in proxies}
        for p, layer in layers.items():
            status = {v for k, v in layer.items() if k.endswith(".abort_status")}
            share = [v for k, v in layer.items() if k.endswith(".abort_percent")]
            assert status == {503} and share and all(v["numerator"] == 1_000_000 for v in share), (p, layer)
        view = server.call(lambda: cp.edits(kind="fault")[0])
        assert view["proxies"] == dict.fromkeys(proxies, "acked")

        server.call(cp.remove_edit, edit.id)
        rolled_back = rtds_versions()
        assert rolled_back == before  # content-hashed: the layer without faults is the first one again
        wait_until(lambda: all_acked(rolled_back), timeout=60, what="200 streams ACKing the rollback")
        assert all(streams.acked_runtime[p][1] == {} for p in proxies)  # no fault left in any layer
        assert streams.errors == []

        # the journal holds every push and ACK of both, after the edit entry that caused them
        entries = server.call(cp.journal_entries)
        kinds = [e.kind for e in entries]
        add, remove = kinds.index("edit-add"), kinds.index("edit-remove")
        for lo, hi in ((add, remove), (remove, len(entries))):
            part = [e for e in entries[lo:hi] if e.type == "RTDS" and e.proxy]
            assert {e.proxy for e in part if e.kind == "push"} == set(proxies)
            assert {e.proxy for e in part if e.kind == "ack"} == set(proxies)
        assert [e.at for e in entries] == sorted(e.at for e in entries)
    finally:
        if streams is not None:
            clients.run(streams.close(), timeout=30)
        server.run(cp.stop(0), timeout=30)
        clients.stop()
        server.stop()
