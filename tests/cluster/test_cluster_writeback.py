"""Write-back through the real client against the loopback API server: server-side apply as
`meshtui`, dry run first, diff, confirmation, annotation, revert and expiry."""

from __future__ import annotations

import json

import pytest
from cluster_mesh import NS
from waiting import wait_for

from meshtui.cluster.errors import ClusterConflict
from meshtui.cluster.expiry import ExpiryReverter
from meshtui.cluster.source import ClusterForbidden, WatchOptions
from meshtui.cluster.writeback import ClusterWriter, WriteRefused
from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit
from meshtui.errors import EXIT_UNREACHABLE, UsageError

T0 = 1_700_000_000.0


def _fault(**kw) -> FaultEdit:
    d = dict(id="f1", target=FaultTarget(virtual_service=f"{NS}/reviews", rule=1), percent=100.0,
             abort_status=503, ttl_seconds=600, created_at=T0, reason="game day", owner="alice")
    d.update(kw)
    return FaultEdit(**d)


@pytest.fixture
def journal():
    return []


@pytest.fixture
def writer(source, journal):
    source.discover()
    return ClusterWriter.for_source(source, allow_write=True, journal=lambda ev, e: journal.append((ev, e)))


def test_needs_allow_write_and_not_readonly(source):
    source.discover()
    with pytest.raises(WriteRefused, match="--allow-write"):
        ClusterWriter.for_source(source).write(_fault(), yes=True)
    with pytest.raises(WriteRefused, match="--readonly"):
        ClusterWriter.for_source(source, allow_write=True, readonly=True).write(_fault(), yes=True)


def test_dry_run_changes_nothing_and_shows_the_diff(writer, mesh_api):
    before = mesh_api.get("VirtualService", NS, "reviews")
    wp = writer.plan(_fault())
    assert mesh_api.get("VirtualService", NS, "reviews") == before  # nothing written
    patches = [r for r in mesh_api.requests if r[0] == "PATCH"]
    assert len(patches) == 1 and patches[0][2]["dryRun"] == "All"
    assert patches[0][2]["fieldManager"] == "meshtui" and patches[0][2]["force"] == "true"
    assert "+        httpStatus: 503" in wp.diff and "edit.meshtui.io/f1" in wp.diff
    assert wp.after["spec"]["http"][1]["fault"]["abort"]["httpStatus"] == 503


def test_not_confirmed_is_not_applied(writer, mesh_api, journal):
    before = mesh_api.get("VirtualService", NS, "reviews")
    shown = []
    res = writer.write(_fault(), confirm=lambda d: shown.append(d) or False)
    assert not res.applied and "not confirmed" in res.message
    assert shown and "httpStatus: 503" in shown[0]
    assert mesh_api.get("VirtualService", NS, "reviews") == before
    assert journal == []
    with pytest.raises(WriteRefused, match="--yes"):
        writer.write(_fault())  # no terminal to ask on, no --yes


def test_apply_records_the_edit_and_revert_restores(writer, mesh_api, journal):
    before = mesh_api.get("VirtualService", NS, "reviews")
    res = writer.write(_fault(), confirm=lambda d: True)
    assert res.applied
    live = mesh_api.get("VirtualService", NS, "reviews")
    assert live["spec"]["http"][1]["fault"] == {"abort": {"httpStatus": 503, "percentage": {"value": 100.0}}}
    assert live["spec"]["http"][0] == before["spec"]["http"][0]
    rec = json.loads(live["metadata"]["annotations"]["edit.meshtui.io/f1"])
    assert rec["owner"] == "alice" and rec["reason"] == "game day" and rec["expires"] == "2023-11-14T22:23:20Z"
    managers = mesh_api.managers("VirtualService", NS, "reviews")
    assert ("spec", "http") in managers["meshtui"]
    assert ("metadata", "annotations", "edit.meshtui.io/f1") in managers["meshtui"]
    assert ("spec", "http") not in managers.get("kubectl-client-side-apply", set())  # taken by force
    assert [e for e, _ in journal] == ["applied"]
    assert journal[0][1]["target"]["cluster"] == "test-ctx" and journal[0][1]["id"] == "f1"
    assert [(k, n, r.id) for k, _, n, r in writer.edits()] == [("VirtualService", "reviews", "f1")]

    res = writer.revert("VirtualService", NS, "reviews", "f1", yes=True)
    assert res.applied
    live = mesh_api.get("VirtualService", NS, "reviews")
    assert live["spec"] == before["spec"]
    assert "edit.meshtui.io/f1" not in (live["metadata"].get("annotations") or {})
    assert [e for e, _ in journal] == ["applied", "reverted"]


def test_conflict_when_the_object_changes_after_the_dry_run(writer, mesh_api):
    wp = writer.plan(_fault())
    vs = mesh_api.get("VirtualService", NS, "reviews")
    vs["spec"]["http"][0]["name"] = "someone-else"
    mesh_api.add(vs)
    with pytest.raises(ClusterConflict) as ei:
        writer.apply(wp, yes=True)
    assert ei.value.exit_code == EXIT_UNREACHABLE and "changed meanwhile" in str(ei.value)
    assert "fault" not in mesh_api.get("VirtualService", NS, "reviews")["spec"]["http"][1]


def test_patch_forbidden_names_the_rule(writer, mesh_api):
    mesh_api.forbidden.add(("patch", "virtualservices.networking.istio.io"))
    with pytest.raises(ClusterForbidden) as ei:
        writer.plan(_fault())
    msg = str(ei.value)
    assert "refused to patch virtualservices.networking.istio.io reviews in namespace 'bookinfo'" in msg
    assert '"patch"' in msg and 'resources: ["virtualservices"]' in msg


def test_missing_virtual_service(writer):
    with pytest.raises(UsageError, match="does not exist"):
        writer.plan(_fault(target=FaultTarget(virtual_service=f"{NS}/nope", rule=0)))


def test_scope_edit_on_existing_sidecar_and_revert(writer, mesh_api):
    before = mesh_api.get("Sidecar", NS, "default")
    edit = ScopeEdit(id="s1", namespace=NS, egress_hosts=("./*",), outbound_traffic_policy="REGISTRY_ONLY",
                     ttl_seconds=60, created_at=T0, owner="bob")
    res = writer.write(edit, yes=True)
    assert res.applied
    live = mesh_api.get("Sidecar", NS, "default")
    assert live["spec"] == {"egress": [{"hosts": ["./*"]}], "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    writer.revert("Sidecar", NS, "default", "s1", yes=True)
    live = mesh_api.get("Sidecar", NS, "default")
    assert live["spec"] == before["spec"]  # outboundTrafficPolicy gone again, egress restored
    assert not (live["metadata"].get("annotations") or {})


def test_scope_edit_creates_a_sidecar_and_revert_deletes_it(writer, mesh_api):
    edit = ScopeEdit(id="s2", namespace=NS, egress_hosts=("./ratings.bookinfo.svc.cluster.local",),
                     workload_labels={"app": "reviews"}, ttl_seconds=60, created_at=T0)
    wp = writer.plan(edit)
    assert wp.live is None and "+kind: Sidecar" in wp.diff
    assert mesh_api.get("Sidecar", NS, "meshtui-s2") is None  # dry run only
    writer.apply(wp, yes=True)
    created = mesh_api.get("Sidecar", NS, "meshtui-s2")
    assert created["spec"]["workloadSelector"] == {"labels": {"app": "reviews"}}
    writer.revert("Sidecar", NS, "meshtui-s2", "s2", yes=True)
    assert mesh_api.get("Sidecar", NS, "meshtui-s2") is None
    assert any(r[0] == "DELETE" and r[2].get("dryRun") == "All" for r in mesh_api.requests)


def test_expired_edits_are_reverted_and_journaled(writer, mesh_api, journal):
    writer.write(_fault(ttl_seconds=30), yes=True)
    writer.write(ScopeEdit(id="s3", namespace=NS, outbound_traffic_policy="REGISTRY_ONLY",
                           ttl_seconds=3600, created_at=T0), yes=True)
    now = {"t": T0 + 10}
    reverter = ExpiryReverter(writer, clock=lambda: now["t"])
    assert reverter.check_once() == []
    now["t"] = T0 + 31
    done = reverter.check_once()
    assert [r.plan.record.id for r in done] == ["f1"]
    assert "fault" not in mesh_api.get("VirtualService", NS, "reviews")["spec"]["http"][1]
    assert "edit.meshtui.io/s3" in mesh_api.get("Sidecar", NS, "default")["metadata"]["annotations"]
    assert [e for e, _ in journal] == ["applied", "applied", "reverted", "expired"]


def test_expiry_thread_reverts_while_running(writer, mesh_api):
    writer.write(_fault(ttl_seconds=1), yes=True)
    reverter = ExpiryReverter(writer, interval=0.05, clock=lambda: T0 + 5).start()
    try:
        wait_for(lambda: reverter.reverted, what="expiry revert")
    finally:
        reverter.stop()
    assert "fault" not in mesh_api.get("VirtualService", NS, "reviews")["spec"]["http"][1]


def test_the_watch_sees_the_write(source, writer, mesh_api):
    updates = []
    source.list()
    w = source.watch(updates.append, options=WatchOptions(coalesce=0.05))
    wait_for(lambda: w.status.state == "watching", what="watching")
    writer.write(_fault(), yes=True)
    u = wait_for(lambda: next((u for u in updates if any(c.kind == "VirtualService" for c in u.changes)), None),
                 what="VS change")
    snap = u.load().snapshot
    fault = snap.get("VirtualService", NS, "reviews").spec.http[1].fault
    assert fault is not None and fault.abort.http_status == 503
    w.stop()


def test_default_journal_records_cluster_events(source, mesh_api, tmp_path):
    from meshtui.edits.journal import replay, summarize
    from meshtui.xds.journal_file import JournalFile

    source.discover()
    w = ClusterWriter.for_source(source, allow_write=True)  # the journal on disk (XDG_STATE_HOME=tmp)
    w.write(_fault(), yes=True)
    w.revert("VirtualService", NS, "reviews", "f1", yes=True)
    entries, bad = JournalFile().read()
    assert not bad
    assert [e.kind for e in entries] == ["cluster-apply", "cluster-revert"]
    assert entries[0].edit and entries[0].edit["id"] == "f1"
    assert "VirtualService bookinfo/reviews" in summarize(entries[0]) and "test-ctx" in entries[0].detail
    # the xDS server's replay must not restore a cluster edit into local proxies
    assert replay(entries, T0).active == []
    assert str(tmp_path) in str(JournalFile().path)


def test_cluster_write_needs_yes_without_a_terminal(mesh_api, kubeconfig):
    import argparse
    import io

    from meshtui.cli.cluster_write import revert_edit, start_reverter, write_edit

    args = argparse.Namespace(kubeconfig=str(kubeconfig), context=None, namespace=None, all_namespaces=False,
                              request_timeout=5.0, allow_write=True, readonly=False, yes=False)
    err = io.StringIO()
    with pytest.raises(WriteRefused, match="--yes"):
        write_edit(args, _fault(), out=err)
    assert "httpStatus: 503" in err.getvalue()  # the diff was shown
    assert "fault" not in mesh_api.get("VirtualService", NS, "reviews")["spec"]["http"][1]
    args.yes = True
    res = write_edit(args, _fault(), out=err)
    assert res.applied and "fault" in mesh_api.get("VirtualService", NS, "reviews")["spec"]["http"][1]
    res = revert_edit(args, "VirtualService", NS, "reviews", "f1", out=err)
    assert res.applied and "fault" not in mesh_api.get("VirtualService", NS, "reviews")["spec"]["http"][1]
    args.readonly = True
    with pytest.raises(WriteRefused, match="--readonly"):
        write_edit(args, _fault(), out=err)
    from meshtui.cluster.source import open_from_args

    with open_from_args(args) as src:
        assert start_reverter(args, src) is None
