"""The control plane against a real Envoy, with hand-written resources (standin.py): pushes,
faults through the TTL'd runtime layer, NACKs, warming, reconnects, the fail-safe TTL."""

from __future__ import annotations

import json
import time

import pytest
from standin import StandinTranslator
from xds_kit import Http, free_port, wait_until

from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit
from meshtui.xds.control_plane import ControlPlane
from meshtui.xds.journal_file import JournalFile

pytestmark = pytest.mark.envoy

PROXY = "default/standin"


@pytest.fixture
def plane(loop, backends, state_dir):
    """A ControlPlane with the stand-in translator, started on the background loop."""
    tr = StandinTranslator(listen_port=free_port(), backends=backends)
    cp = ControlPlane(tr, journal=JournalFile(), runtime_ttl=1.5, loopback_only=True)
    addr = loop.run(cp.start("127.0.0.1:0"))
    loop.call(cp.add_proxy, PROXY)
    yield cp, tr, addr
    loop.run(cp.stop(0))


def fault(pct: float, *, abort: int | None = 503, delay: float | None = None, subset: str | None = "v1",
          ttl: float = 60.0, now: float | None = None, fid: str = "f-test") -> FaultEdit:
    return FaultEdit(id=fid, target=FaultTarget(host="svc", subset=subset), percent=pct,
                     abort_status=None if delay else abort, delay_seconds=delay, ttl_seconds=ttl,
                     created_at=now if now is not None else time.time(), reason="test", owner="pytest")


def synced(loop, cp, timeout=10.0):
    assert loop.run(cp.wait_synced(PROXY, timeout), timeout + 5), loop.call(cp.proxies)


def test_push_fault_abort_delay_percent_and_removal(loop, plane, envoys):
    cp, tr, addr = plane
    env = envoys(addr)
    synced(loop, cp)
    http = Http("127.0.0.1", tr.listen_port)
    status, body = http.json("/x")
    assert status == 200 and body["version"] == "v1"
    assert http.json("/v2/y")[1]["version"] == "v2"

    # abort 100 % -> 503 on v1 routes only
    loop.call(cp.add_edit, fault(100))
    synced(loop, cp)
    status, body, _ = http.get("/x")
    assert status == 503 and b"fault filter abort" in body
    assert http.json("/v2/y")[0] == 200
    views = loop.call(cp.edits)
    assert views[0]["proxies"] == {PROXY: "acked"}

    # the percentage lives in the runtime layer, not in the route
    rt = env.runtime()
    assert "meshtui.fault.f-test.abort_percent" in rt["entries"]

    loop.call(cp.remove_edit, "f-test")
    synced(loop, cp)
    assert http.get("/x")[0] == 200
    assert "meshtui.fault.f-test.abort_percent" not in env.runtime()["entries"]

    # a 200 ms delay shows in latency
    loop.call(cp.add_edit, fault(100, delay=0.2, fid="f-delay"))
    synced(loop, cp)
    lat = [http.get("/x")[2] for _ in range(3)]
    assert min(lat) >= 0.19, lat
    assert http.get("/v2")[2] < 0.15
    loop.call(cp.remove_edit, "f-delay")
    synced(loop, cp)
    assert http.get("/x")[2] < 0.15

    # 10 % over 1,000 requests: binomial sd ~9.5, accept +-5 sd
    loop.call(cp.add_edit, fault(10, fid="f-ten"))
    synced(loop, cp)
    aborted = sum(1 for _ in range(1000) if http.get("/x")[0] == 503)
    assert 52 <= aborted <= 148, aborted
    # the kill switch
    assert loop.call(cp.clear_faults) == ["f-ten"]
    synced(loop, cp)
    assert all(http.get("/x")[0] == 200 for _ in range(50))
    http.close()


def test_nack_keeps_old_config_and_blames_the_edit(loop, plane, envoys):
    cp, tr, addr = plane
    envoys(addr)
    synced(loop, cp)
    http = Http("127.0.0.1", tr.listen_port)
    loop.call(cp.add_edit, fault(100, fid="f-good"))
    synced(loop, cp)
    assert http.get("/x")[0] == 503

    events = []
    loop.call(cp.subscribe, events.append)
    tr.bad_regex = True  # the next translation carries a regex Envoy rejects
    view = loop.call(cp.add_edit, fault(100, delay=0.5, subset="v2", fid="f-bad"))
    assert view["state"] == "active"
    wait_until(lambda: any(e.kind == "nack" for e in events), what="a NACK")
    nack = next(e for e in events if e.kind == "nack")
    assert nack.type == "RDS" and nack.detail and "f-bad" in nack.cause
    tr.bad_regex = False
    wait_until(lambda: loop.call(lambda: cp.records["f-bad"].state) == "rejected", what="the edit marked rejected")
    rec = loop.call(lambda: cp.records["f-bad"])
    assert "rejected RDS" in rec.detail
    # the old config (with f-good) is still served, the rejected content never came back
    assert http.get("/x")[0] == 503
    assert http.get("/v2")[2] < 0.4
    proxies = loop.call(cp.proxies)
    assert proxies[0]["types"]["RDS"]["lastNack"]["reason"]
    time.sleep(0.3)
    pushes_of_bad = [e for e in events if e.kind == "push" and e.version == nack.version]
    assert len(pushes_of_bad) == 1
    # the journal says so
    kinds = [e.kind for e in loop.call(cp.journal_entries)]
    assert "nack" in kinds and "revert" in kinds
    http.close()


def test_cluster_change_does_not_stall_on_warming(loop, plane, envoys):
    """Modifying an EDS cluster makes Envoy warm it until it gets endpoints again; the forced
    EDS resend makes that take milliseconds instead of initial_fetch_timeout."""
    cp, tr, addr = plane
    envoys(addr)
    synced(loop, cp)
    events = []
    loop.call(cp.subscribe, events.append)
    tr.connect_timeout = "2s"
    t0 = time.monotonic()
    loop.call(cp.resync)
    synced(loop, cp, timeout=5)
    assert time.monotonic() - t0 < 3.0
    assert any(e.kind == "ack" and e.type == "CDS" for e in events)


def test_envoy_restart_resyncs_with_faults(loop, plane, envoys):
    cp, tr, addr = plane
    env = envoys(addr)
    synced(loop, cp)
    loop.call(cp.add_edit, fault(100, fid="f-r"))
    synced(loop, cp)
    env.stop()
    wait_until(lambda: not loop.call(cp.proxies)[0]["connected"], what="disconnect")
    env2 = envoys(addr, name="envoy2")
    synced(loop, cp)
    http = Http("127.0.0.1", tr.listen_port)
    wait_until(lambda: http.get("/x")[0] == 503, what="the fault after restart")
    assert "meshtui.fault.f-r.abort_percent" in env2.runtime()["entries"]
    http.close()


def test_fault_layer_expires_when_heartbeats_stop(loop, plane, envoys):
    """The fail-safe in isolation: the server stays up but stops renewing the layer (as if it
    hung); Envoy drops the fault within the lease (1.5 s here)."""
    cp, tr, addr = plane
    env = envoys(addr)
    synced(loop, cp)
    loop.call(cp.add_edit, fault(100, fid="f-hb"))
    synced(loop, cp)
    http = Http("127.0.0.1", tr.listen_port)
    time.sleep(2.5)  # longer than the lease: heartbeats must be keeping it alive
    assert http.get("/x")[0] == 503
    loop.call(cp.ads.stop_heartbeats)
    t0 = time.monotonic()
    wait_until(lambda: http.get("/x")[0] == 200, timeout=5, what="fault expiry in Envoy")
    assert time.monotonic() - t0 < 1.5 + 1.0
    assert env.runtime()["entries"] == {}
    http.close()


def test_scope_edit_registry_only_gives_502(loop, plane, envoys):
    cp, tr, addr = plane
    envoys(addr)
    synced(loop, cp)
    http = Http("127.0.0.1", tr.listen_port)
    assert http.get("/x")[0] == 200
    loop.call(cp.add_edit, ScopeEdit(id="s-1", namespace="default", outbound_traffic_policy="REGISTRY_ONLY",
                                     created_at=time.time()))
    synced(loop, cp)
    assert http.get("/x")[0] == 502
    loop.call(cp.remove_edit, "s-1")
    synced(loop, cp)
    assert http.get("/x")[0] == 200
    http.close()


def test_ttl_expiry_while_running(loop, plane, envoys):
    cp, tr, addr = plane
    envoys(addr)
    synced(loop, cp)
    http = Http("127.0.0.1", tr.listen_port)
    loop.call(cp.add_edit, fault(100, ttl=1.0, fid="f-short"))
    synced(loop, cp)
    assert http.get("/x")[0] == 503
    wait_until(lambda: http.get("/x")[0] == 200, timeout=5, what="expiry at TTL")
    assert loop.call(lambda: cp.records["f-short"].state) == "expired"
    text = json.dumps([e.to_dict() for e in loop.call(cp.journal_entries)])
    assert '"expire"' in text
    http.close()


def test_control_plane_restart_same_envoy_reconnects_and_restores(loop, backends, state_dir, envoys):
    """meshtui goes away and comes back on the same port: the running Envoy reconnects, and the
    fault comes back from the journal."""
    port = free_port()
    tr = StandinTranslator(listen_port=free_port(), backends=backends)
    cp = ControlPlane(tr, journal=JournalFile(), runtime_ttl=1.5, loopback_only=True)
    addr = loop.run(cp.start(f"127.0.0.1:{port}"))
    loop.call(cp.add_proxy, PROXY)
    envoys(addr)
    synced(loop, cp)
    loop.call(cp.add_edit, fault(100, fid="f-keep"))
    synced(loop, cp)
    http = Http("127.0.0.1", tr.listen_port)
    assert http.get("/x")[0] == 503
    loop.run(cp.stop(0))
    # gone longer than the lease: Envoy drops the fault by itself, keeps routing
    wait_until(lambda: http.get("/x")[0] == 200, timeout=6, what="the fault to lapse while meshtui is down")

    cp2 = ControlPlane(tr, journal=JournalFile(), runtime_ttl=1.5, loopback_only=True)
    loop.run(cp2.start(f"127.0.0.1:{port}"))
    try:
        assert [e["id"] for e in loop.call(cp2.edits)] == ["f-keep"]
        wait_until(lambda: loop.call(cp2.proxies)[0]["connected"] if loop.call(cp2.proxies) else False,
                   timeout=15, what="Envoy to reconnect")
        synced(loop, cp2)
        wait_until(lambda: http.get("/x")[0] == 503, what="the restored fault")
    finally:
        http.close()
        loop.run(cp2.stop(0))


def test_rapid_cluster_churn_never_stalls_warming(loop, plane, envoys):
    """Clusters come and go faster than Envoy ACKs (a scope edit, reverted, re-applied): a
    cluster that was sent must get its endpoints even after the snapshot dropped it, or it warms
    until initial_fetch_timeout and holds back the CDS ACK."""
    cp, tr, addr = plane
    tr.backends["svc_x"] = tr.backends["svc_v1"]
    loop.call(cp.resync)
    envoys(addr)
    synced(loop, cp)
    for _ in range(3):
        del tr.backends["svc_x"]
        loop.call(cp.resync)
        synced(loop, cp, timeout=5)
        tr.backends["svc_x"] = tr.backends["svc_v1"]
        loop.call(cp.resync)  # x comes back (CDS in flight, x warming) ...
        del tr.backends["svc_x"]
        loop.call(cp.resync)  # ... and is gone again before Envoy ACKed
        t0 = time.monotonic()
        synced(loop, cp, timeout=5)
        assert time.monotonic() - t0 < 4
        tr.backends["svc_x"] = tr.backends["svc_v1"]
        loop.call(cp.resync)
        synced(loop, cp, timeout=5)
