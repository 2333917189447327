"""Watch after list: events arriving in new snapshots, 410 relists, reconnects, prompt stop."""

from __future__ import annotations

import threading

import pytest
from cluster_mesh import NS
from waiting import wait_for

from meshtui.cluster.source import ClusterUpdate, WatchOptions

FAST = WatchOptions(coalesce=0.05, backoff_initial=0.05, backoff_max=0.2, watch_timeout=30)


class Collector:
    def __init__(self) -> None:
        self.updates: list[ClusterUpdate] = []
        self.states: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, u: ClusterUpdate) -> None:
        with self.lock:
            self.updates.append(u)

    def on_state(self, s) -> None:
        with self.lock:
            self.states.append(s.state)

    def changes(self):
        with self.lock:
            return [c for u in self.updates for c in u.changes]

    def find(self, typ: str, kind: str, name: str):
        with self.lock:
            for u in self.updates:
                for c in u.changes:
                    if (c.type, c.kind, c.name) == (typ, kind, name):
                        return u
        return None


def _watch(source, col: Collector):
    source.list()
    w = source.watch(col, on_state=col.on_state, options=FAST)
    wait_for(lambda: w.status.state == "watching", what="all streams watching")
    return w


def test_events_arrive_in_a_new_snapshot(source, mesh_api):
    col = Collector()
    w = _watch(source, col)
    vs = mesh_api.get("VirtualService", NS, "reviews")
    vs["spec"]["http"][1]["route"][0]["weight"] = 50
    vs["spec"]["http"][1]["route"][1]["weight"] = 50
    mesh_api.add(vs)
    mesh_api.delete("Pod", NS, "reviews-v3-0")
    mesh_api.add({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                  "metadata": {"name": "details", "namespace": NS},
                  "spec": {"host": "details", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}})
    wait_for(lambda: col.find("ADDED", "DestinationRule", "details"), what="ADDED DestinationRule")
    u = wait_for(lambda: col.find("DELETED", "Pod", "reviews-v3-0"), what="DELETED Pod")
    assert col.find("MODIFIED", "VirtualService", "reviews")
    last = col.updates[-1]
    snap = last.load().snapshot
    weights = [d.weight for d in snap.get("VirtualService", NS, "reviews").spec.http[1].route]
    assert weights == [50, 50]
    assert snap.get("Pod", NS, "reviews-v3-0") is None
    assert snap.get("DestinationRule", NS, "details") is not None
    assert not u.relisted
    w.stop()


def test_410_gone_relists_and_sees_missed_deletes(source, mesh_api):
    col = Collector()
    w = _watch(source, col)
    # Keep the watches down while history moves on and is compacted away.
    mesh_api.fail_watches = 10_000
    mesh_api.drop_watches()
    wait_for(lambda: "reconnecting" in col.states, what="reconnecting state")
    mesh_api.delete("Service", NS, "details")
    mesh_api.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "new-svc", "namespace": NS},
                  "spec": {"ports": [{"port": 80}]}})
    mesh_api.compact()
    mesh_api.fail_watches = 0
    u = wait_for(lambda: col.find("DELETED", "Service", "details"), what="relist DELETED")
    assert u.relisted
    assert col.find("ADDED", "Service", "new-svc")
    wait_for(lambda: w.status.state == "watching", what="watching again")
    # and the watch goes on from the relist's resourceVersion
    mesh_api.delete("Service", NS, "new-svc")
    wait_for(lambda: col.find("DELETED", "Service", "new-svc"), what="event after relist")
    w.stop()


def test_410_as_http_status_also_relists(source, mesh_api):
    col = Collector()
    w = _watch(source, col)
    mesh_api.gone_as_http = True
    mesh_api.fail_watches = 10_000
    mesh_api.drop_watches()
    mesh_api.delete("Pod", NS, "ratings-v1-0")
    mesh_api.compact()
    mesh_api.fail_watches = 0
    u = wait_for(lambda: col.find("DELETED", "Pod", "ratings-v1-0"), what="relist after HTTP 410")
    assert u.relisted
    w.stop()


def test_dropped_connection_reconnects_and_resumes(source, mesh_api):
    col = Collector()
    w = _watch(source, col)
    assert mesh_api.drop_watches() >= 12
    # Changes made while the streams reconnect are not lost: they resume from their resourceVersion.
    mesh_api.delete("Pod", NS, "details-v1-0")
    wait_for(lambda: col.find("DELETED", "Pod", "details-v1-0"), what="event after reconnect")
    wait_for(lambda: w.status.state == "watching", what="watching again")
    assert not any(u.relisted for u in col.updates)
    w.stop()


def test_backoff_while_the_server_fails(source, mesh_api):
    col = Collector()
    w = _watch(source, col)
    mesh_api.fail_watches = 10_000
    mesh_api.drop_watches()
    wait_for(lambda: w.status.state == "reconnecting" and "answered 500" in w.status.detail,
             what="reconnecting after 500")
    assert "retry" in w.status.detail
    before = len(mesh_api.requests)
    threading.Event().wait(0.6)
    # capped backoff (0.2 s here) keeps the retry rate bounded: 12 streams, <= ~5 tries each
    assert len(mesh_api.requests) - before < 12 * 8
    mesh_api.fail_watches = 0
    wait_for(lambda: w.status.state == "watching", what="recovered")
    w.stop()


def test_callback_errors_do_not_stop_the_watch(source, mesh_api):
    calls = []

    def bad(u):
        calls.append(u)
        raise RuntimeError("display broke")

    source.list()
    w = source.watch(bad, options=FAST)
    wait_for(lambda: w.status.state == "watching", what="watching")
    mesh_api.delete("Pod", NS, "reviews-v1-0")
    wait_for(lambda: calls, what="first callback")
    mesh_api.delete("Pod", NS, "reviews-v2-0")
    wait_for(lambda: len(calls) >= 2, what="second callback")
    assert w.callback_errors >= 1 and "display broke" in w.last_callback_error
    w.stop()


def test_stop_ends_every_stream(source, mesh_api):
    col = Collector()
    w = _watch(source, col)
    assert mesh_api.open_watches() >= 12
    w.stop(timeout=5)
    assert w.status.state == "stopped"
    wait_for(lambda: mesh_api.open_watches() == 0, timeout=5, what="server sees watches closed")
    assert not any(t.is_alive() for t in w._threads)


def test_watch_without_list_lists_first(mesh_api, kubeconfig):
    from meshtui.cluster.source import open_cluster

    col = Collector()
    with open_cluster(str(kubeconfig)) as src:
        w = src.watch(col, options=FAST)
        wait_for(lambda: w.status.state == "watching", what="watching")
        mesh_api.delete("Pod", NS, "productpage-v1-0")
        wait_for(lambda: col.find("DELETED", "Pod", "productpage-v1-0"), what="event")


@pytest.mark.parametrize("ns", [NS])
def test_namespaced_watch(mesh_api, kubeconfig, ns):
    from meshtui.cluster.source import open_cluster

    col = Collector()
    with open_cluster(str(kubeconfig), namespaces=ns) as src:
        src.list()
        w = src.watch(col, options=FAST)
        wait_for(lambda: w.status.state == "watching", what="watching")
        mesh_api.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "elsewhere", "namespace": "other"}})
        mesh_api.delete("Pod", NS, "ratings-v1-0")
        wait_for(lambda: col.find("DELETED", "Pod", "ratings-v1-0"), what="event in namespace")
        assert not col.find("ADDED", "Pod", "elsewhere")
    assert all(f"/namespaces/{ns}/" in r[1] for r in mesh_api.requests if r[2].get("watch") == "true")
