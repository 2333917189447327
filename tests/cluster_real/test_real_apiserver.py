"""Cluster mode against a real kube-apiserver + etcd (RBAC, token auth, Istio's CRDs): list,
watch, an expired resourceVersion and the relist, a watch ended by the server, write-back by
server-side apply (dry run, managed fields, a conflict with another field manager, a change
made after the dry run), the expiry revert, a read-only identity refused with the RBAC rule, and
the MeshConfig read from the istio ConfigMap. Each test works in its own namespace."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import yaml
from realapi import RealCluster, missing
from waiting import wait_for

from meshtui.cli import main
from meshtui.cluster.errors import ClusterConflict, ClusterForbidden
from meshtui.cluster.expiry import ExpiryReverter
from meshtui.cluster.source import WatchOptions, open_cluster
from meshtui.cluster.writeback import ClusterWriter
from meshtui.edits.model import FaultEdit, FaultTarget

_WHY = missing()
if _WHY:  # one line for the module, not one per test
    pytest.skip(_WHY, allow_module_level=True)

ISTIO = "networking.istio.io/v1"
_n = itertools.count(1)


def mesh(ns: str) -> list[dict]:
    """productpage and reviews v1/v2, a VirtualService sending jason to v2, a DestinationRule."""
    objs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    for app, versions in (("productpage", ("v1",)), ("reviews", ("v1", "v2"))):
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
                     "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 9080, "targetPort": 9080}]}})
        for v in versions:
            objs.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": f"{app}-{v}", "namespace": ns, "labels": {"app": app, "version": v}},
                         "spec": {"containers": [{"name": app, "image": "example", "ports": [{"containerPort": 9080}]}]}})
    objs += [
        {"apiVersion": ISTIO, "kind": "VirtualService", "metadata": {"name": "reviews", "namespace": ns},
         "spec": {"hosts": ["reviews"], "http": [
             {"name": "jason", "match": [{"headers": {"end-user": {"exact": "jason"}}}],
              "route": [{"destination": {"host": "reviews", "subset": "v2"}}]},
             {"name": "rest", "route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]}},
        {"apiVersion": ISTIO, "kind": "DestinationRule", "metadata": {"name": "reviews", "namespace": ns},
         "spec": {"host": "reviews", "subsets": [{"name": v, "labels": {"version": v}} for v in ("v1", "v2")]}},
    ]
    return objs


def populate(api: RealCluster, name: str, net: int) -> None:
    """The mesh in namespace `name`; pods get an IP (10.<net>.0.N) and Running, as a kubelet would report."""
    ips = iter(f"10.{net}.0.{i}" for i in range(1, 50))
    for obj in mesh(name):
        api.apply(obj)
        if obj["kind"] == "Pod":
            ip = next(ips)
            api.set_status(obj, {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                                 "conditions": [{"type": "Ready", "status": "True"}]})


@pytest.fixture
def ns(real_api: RealCluster):
    """A fresh namespace holding the mesh."""
    name = f"t{next(_n)}-{int(time.time() * 1000) % 100000}"
    populate(real_api, name, next(_n) % 200)
    return name


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_trace_reads_the_real_cluster(real_api, ns, kubeconfig, capsys):
    code, out, err = run_cli(capsys, "trace", "--kubeconfig", str(kubeconfig), "--context", "admin", "-n", ns,
                             "--from", f"{ns}/productpage-v1", "-H", "end-user: jason", "-o", "json", "http://reviews:9080/")
    assert code == 0, err
    t = json.loads(out)
    assert t["outcome"] == "routed" and t["route"]["name"] == "jason"
    [d] = t["destinations"]
    assert d["subset"] == "v2" and [e["pod"] for e in d["endpoints"]] == [f"{ns}/reviews-v2"]
    # the VirtualService came from the server: provenance names the cluster context
    assert t["virtualService"]["file"] == "cluster:admin"


def test_watch_sees_add_modify_delete(real_api, ns, kubeconfig):
    seen: list = []
    with open_cluster(str(kubeconfig), "admin", ns, timeout=10) as src:
        src.list()
        src.watch(lambda u: seen.extend((c.type, c.kind, c.name) for c in u.changes))
        vs = {"apiVersion": ISTIO, "kind": "VirtualService", "metadata": {"name": "ratings", "namespace": ns},
              "spec": {"hosts": ["ratings"], "http": [{"route": [{"destination": {"host": "ratings"}}]}]}}
        real_api.apply(vs)
        wait_for(lambda: ("ADDED", "VirtualService", "ratings") in seen, what="the ADDED event")
        vs["spec"]["http"][0]["timeout"] = "2s"
        real_api.apply(vs)
        wait_for(lambda: ("MODIFIED", "VirtualService", "ratings") in seen, what="the MODIFIED event")
        real_api.delete(vs)
        wait_for(lambda: ("DELETED", "VirtualService", "ratings") in seen, what="the DELETED event")
        assert {(d.data["kind"], d.data["metadata"]["name"]) for d in src.store.docs()} >= {("VirtualService", "reviews")}
        assert ("VirtualService", "ratings") not in {(d.data["kind"], d.data["metadata"]["name"]) for d in src.store.docs()}


def test_expired_resource_version_relists(real_api, ns, kubeconfig):
    """etcd compacted past the list's resourceVersion: the server answers the watch with 410 Gone
    (ServiceEntries bypass the watch cache in this server, so etcd itself decides), and meshtui
    relists that kind, finding what changed meanwhile."""
    se = {"apiVersion": ISTIO, "kind": "ServiceEntry", "metadata": {"name": "ext", "namespace": ns},
          "spec": {"hosts": ["ext.example.com"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                   "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}}
    updates, states = [], []
    with open_cluster(str(kubeconfig), "admin", ns, timeout=10) as src:
        src.list()
        real_api.apply(se)  # changes the watch would have to replay from the old resourceVersion
        se["spec"]["hosts"] = [*se["spec"]["hosts"], "ext2.example.com"]
        real_api.apply(se)
        compacted = real_api.compact()  # etcd keeps revisions from `compacted` on: the list's is gone
        assert compacted > max(int(kl.resource_version) for kl in src._lists if kl.resource_version) + 1
        src.watch(updates.append, on_state=lambda s: states.append((s.state, s.detail)))
        wait_for(lambda: any(u.relisted and any(c.kind == "ServiceEntry" for c in u.changes) for u in updates),
                 what=f"a relist after 410 Gone (states {states}, changes {[(u.relisted, u.changes) for u in updates]})")
        assert any(st == "relisting" and "410" in detail for st, detail in states), states
        assert ("ServiceEntry", "ext") in {(d.data["kind"], d.data["metadata"]["name"]) for d in src.store.docs()}
        # after the relist the stream watches again, from the new resourceVersion
        wait_for(lambda: src._watch.status.state == "watching", what="watching again")
        real_api.delete(se)
        wait_for(lambda: any(("DELETED", "ext") in {(c.type, c.name) for c in u.changes} for u in updates),
                 what="the delete after the relist")


def test_watch_ended_by_the_server_resumes_without_losing_events(real_api, ns, kubeconfig):
    """The server ends every watch at its timeout (timeoutSeconds=2 here); meshtui resumes from
    the last resourceVersion it saw, with no relist, and no change made across the ends is lost."""
    updates, states = [], []
    with open_cluster(str(kubeconfig), "admin", ns, timeout=10) as src:
        src.list()
        src.watch(updates.append, on_state=lambda s: states.append(s.state), options=WatchOptions(watch_timeout=2))
        names = []
        for i in range(4):  # spread over ~3 server-side watch ends
            name = f"vs-{i}"
            names.append(name)
            real_api.apply({"apiVersion": ISTIO, "kind": "VirtualService", "metadata": {"name": name, "namespace": ns},
                            "spec": {"hosts": [f"h{i}"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]}})
            time.sleep(1.7)
        def got() -> set[str]:
            return {c.name for u in updates for c in u.changes if c.kind == "VirtualService"}

        wait_for(lambda: set(names) <= got(), what="every VirtualService across the watch ends")
        assert not any(u.relisted for u in updates)
        assert "relisting" not in states


def _fault(ns: str, **kw) -> FaultEdit:
    d = dict(id="gd1", target=FaultTarget(virtual_service=f"{ns}/reviews", rule=1), percent=100.0,
             abort_status=503, ttl_seconds=600, created_at=time.time(), reason="game day", owner="alice")
    d.update(kw)
    return FaultEdit(**d)


def _managers(obj: dict) -> dict[str, str]:
    """field manager -> its managed fields as JSON text."""
    return {m["manager"]: json.dumps(m.get("fieldsV1") or {}) for m in obj["metadata"].get("managedFields") or []}


def test_write_back_by_server_side_apply(real_api, ns, kubeconfig):
    journal: list = []
    vs_path = f"/apis/{ISTIO}/namespaces/{ns}/virtualservices/reviews"
    with open_cluster(str(kubeconfig), "admin", ns, timeout=10) as src:
        src.discover()
        writer = ClusterWriter.for_source(src, allow_write=True, journal=lambda ev, e: journal.append(ev))
        before = real_api.call("GET", vs_path)
        wp = writer.plan(_fault(ns))
        # the dry run went through the server's admission and schema, and wrote nothing
        assert wp.after is not None and wp.after["spec"]["http"][1]["fault"]["abort"]["httpStatus"] == 503
        assert real_api.call("GET", vs_path)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert "+      abort:" in wp.diff or "abort" in wp.diff
        res = writer.apply(wp, yes=True)
        assert res.applied and journal == ["applied"]
        live = real_api.call("GET", vs_path)
        assert live["spec"]["http"][1]["fault"]["abort"] == {"httpStatus": 503, "percentage": {"value": 100.0}} or \
            live["spec"]["http"][1]["fault"]["abort"]["httpStatus"] == 503
        record = json.loads(live["metadata"]["annotations"]["edit.meshtui.io/gd1"])
        assert record["owner"] == "alice" and record["reason"] == "game day" and record["expires"]
        # managed fields: meshtui took spec.http (forced: Istio's lists are atomic) from kubectl
        managers = _managers(live)
        assert '"f:http"' in managers["meshtui"] and '"f:http"' not in managers.get("kubectl", "")
        # kubectl applying its old http list again, without force, conflicts with meshtui
        mine = {k: before[k] for k in ("apiVersion", "kind", "spec")}
        mine["metadata"] = {"name": "reviews", "namespace": ns}
        status, body = real_api.request("PATCH", vs_path + "?fieldManager=kubectl", mine,
                                        content_type="application/apply-patch+yaml")
        causes = json.loads(body).get("details", {}).get("causes") or []
        assert status == 409 and {"reason": "FieldManagerConflict", "message": 'conflict with "meshtui"',
                                  "field": ".spec.http"} in causes, body[:300]
        # the revert restores the rule as it was and drops the annotation
        writer.revert("VirtualService", ns, "reviews", "gd1", yes=True)
        live = real_api.call("GET", vs_path)
        assert "fault" not in live["spec"]["http"][1]
        assert "edit.meshtui.io/gd1" not in (live["metadata"].get("annotations") or {})
        assert journal == ["applied", "reverted"]


def test_apply_refused_when_the_object_changed_after_the_dry_run(real_api, ns, kubeconfig):
    vs_path = f"/apis/{ISTIO}/namespaces/{ns}/virtualservices/reviews"
    with open_cluster(str(kubeconfig), "admin", ns, timeout=10) as src:
        src.discover()
        writer = ClusterWriter.for_source(src, allow_write=True, journal=None)
        wp = writer.plan(_fault(ns))
        other = real_api.call("GET", vs_path)
        other["spec"]["http"][0]["timeout"] = "3s"
        real_api.call("PUT", vs_path, other)  # someone else's update (resourceVersion moves)
        with pytest.raises(ClusterConflict) as ei:
            writer.apply(wp, yes=True)
        assert "changed meanwhile" in str(ei.value) or "409" in str(ei.value)
        assert "fault" not in real_api.call("GET", vs_path)["spec"]["http"][1]


def test_expired_edit_is_reverted(real_api, ns, kubeconfig):
    vs_path = f"/apis/{ISTIO}/namespaces/{ns}/virtualservices/reviews"
    now = [time.time()]
    with open_cluster(str(kubeconfig), "admin", ns, timeout=10) as src:
        src.discover()
        writer = ClusterWriter.for_source(src, allow_write=True, journal=None)
        writer.write(_fault(ns, id="short", ttl_seconds=30, created_at=now[0]), yes=True)
        reverter = ExpiryReverter(writer, namespace=ns, clock=lambda: now[0])
        assert reverter.check_once() == []  # not yet
        now[0] += 31
        [done] = reverter.check_once()
        assert done.applied
        live = real_api.call("GET", vs_path)
        assert "fault" not in live["spec"]["http"][1] and "edit.meshtui.io/short" not in (live["metadata"].get("annotations") or {})


def test_read_only_identity_is_refused_with_the_rbac_rule(real_api, ns, kubeconfig):
    """The viewer (ClusterRole view) may not patch Istio objects: the server's 403 reaches the user
    with the verb, the resource, the identity the server saw and the rule that would allow it."""
    with open_cluster(str(kubeconfig), "viewer", ns, timeout=10) as src:
        src.discover()
        writer = ClusterWriter.for_source(src, allow_write=True, journal=None)
        with pytest.raises(ClusterForbidden) as ei:
            writer.plan(_fault(ns))
    msg = str(ei.value)
    assert 'User "viewer" cannot' in msg and "virtualservices" in msg
    assert 'apiGroups: ["networking.istio.io"]' in msg and 'resources: ["virtualservices"]' in msg
    assert ei.value.exit_code == 69


def test_meshconfig_from_the_istio_configmap(real_api, ns, kubeconfig, capsys):
    """Cluster mode reads the MeshConfig istiod reads; the trace names it. A revision label picks
    istio-<rev>; a missing ConfigMap is a warning and Istio's defaults."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": ns},
          "data": {"mesh": "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"}}
    real_api.apply(cm)
    argv = ["trace", "--kubeconfig", str(kubeconfig), "--context", "admin", "-n", ns, "--from", f"{ns}/productpage-v1",
            "-o", "json", "http://example.org:9080/"]
    code, out, err = run_cli(capsys, *argv, "--istio-namespace", ns)
    t = json.loads(out)
    assert code == 0 and t["outcome"] == "blackhole", err
    assert any(f"mesh-wide REGISTRY_ONLY from MeshConfig, {ns}/istio" in s["detail"] for s in t["steps"])
    # a namespace labelled with a revision: istio-canary is read instead
    real_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"istio.io/rev": "canary"}}})
    real_api.apply({**cm, "metadata": {"name": "istio-canary", "namespace": ns}, "data": {"mesh": "rootNamespace: " + ns + "\n"}})
    code, out, err = run_cli(capsys, *argv, "--istio-namespace", ns)
    assert json.loads(out)["outcome"] == "passthrough"
    # --revision overrides the labels
    code, out, err = run_cli(capsys, *argv, "--istio-namespace", ns, "--revision", "default")
    assert json.loads(out)["outcome"] == "blackhole"
    # no ConfigMap there: a warning, and Istio's defaults
    code, out, err = run_cli(capsys, *argv, "--istio-namespace", "nowhere", "--revision", "default")
    assert json.loads(out)["outcome"] == "passthrough"
    assert "cannot read the MeshConfig (ConfigMap nowhere/istio)" in err and "not found" in err


def test_listing_is_bounded_by_rbac_for_the_viewer(real_api, ns, kubeconfig):
    """The built-in view role grants no Istio kinds: listing them is refused, naming the rule."""
    with open_cluster(str(kubeconfig), "viewer", ns, timeout=10) as src:
        try:
            src.list()
        except ClusterForbidden as exc:
            msg = str(exc)
            assert 'User "viewer" cannot list' in msg and "networking.istio.io" in msg
        else:
            assert any("forbidden" in w.lower() or "cannot" in w for w in src.warnings), src.warnings


async def test_tui_game_day_writes_to_the_real_cluster(real_api, ns, kubeconfig):
    """Pilot: game day in cluster mode with --allow-write. The fault dialog's edit is dry-run on the
    server, its diff shown in a confirm dialog, applied on yes (annotation with owner, reason and
    expiry), listed from the cluster, and reverted the same way."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
    from textual.widgets import DataTable, Input
    from tui_kit import screen_text, settle
    from tui_kit import wait_for as await_for

    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.controlplane import ClusterControlPlane
    from meshtui.tui.screens.dialogs import AddFaultScreen, ConfirmScreen
    from meshtui.tui.screens.gameday import GameDayScreen
    from meshtui.tui.tracing import TraceQuery
    from meshtui.tui.workspace import SourceInfo

    vs_path = f"/apis/{ISTIO}/namespaces/{ns}/virtualservices/reviews"
    journal: list = []
    with open_cluster(str(kubeconfig), "admin", ns, timeout=10) as src:
        result = src.load()
        writer = ClusterWriter.for_source(src, allow_write=True, journal=lambda ev, e: journal.append(ev))
        control = ClusterControlPlane(writer, "admin", ns)
        app = MeshtuiApp(result=result, source=SourceInfo("cluster", "cluster admin"), config=TuiConfig(),
                         trace=TraceQuery(source=f"{ns}/productpage-v1", url="http://reviews:9080/"),
                         control=control, start_view="gameday", cursor_blink=False, analyze=False)
        async with app.run_test(size=(130, 40)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, GameDayScreen)
            await await_for(pilot, lambda: "cluster admin: server-side apply" in screen_text(app), what="the head")
            await pilot.press("a")
            await settle(pilot)
            dlg = app.screen
            assert isinstance(dlg, AddFaultScreen)
            dlg.query_one("#f-reason", Input).value = "tui on the real cluster"
            await pilot.press("ctrl+s")
            await await_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=20, what="the dry-run confirm dialog")
            text = screen_text(app)
            assert "server-side dry run" in text and "fault" in text
            # nothing is written before the answer
            assert "fault" not in json.dumps(real_api.call("GET", vs_path)["spec"])
            await pilot.press("y")
            await await_for(pilot, lambda: "fault" in json.dumps(real_api.call("GET", vs_path)["spec"]), timeout=20,
                            what="the fault in the cluster")
            ann = real_api.call("GET", vs_path)["metadata"]["annotations"]
            [record] = [json.loads(v) for k, v in ann.items() if k.startswith("edit.meshtui.io/")]
            assert record["reason"] == "tui on the real cluster" and record["expires"] and record["owner"]
            await await_for(pilot, lambda: record["id"] in screen_text(app), timeout=15, what="the fault listed from the cluster")
            assert "istiod pushes it" in screen_text(app)
            table = app.screen.query_one("#gd-faults", DataTable)
            table.focus()
            table.move_cursor(row=0)
            await pilot.press("d")
            await await_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=20, what="the revert's confirm dialog")
            await pilot.press("y")
            await await_for(pilot, lambda: "fault" not in json.dumps(real_api.call("GET", vs_path)["spec"]), timeout=20,
                            what="the revert in the cluster")
        assert journal == ["applied", "reverted"]
        assert control.reverter is None  # the app stopped the expiry reverter when it closed


def test_two_real_clusters_merge_endpoints(real_api, ns, tmp_path, capsys):
    """A second API server (its own etcd) holds the same services with other pods, on network
    net-west: `--context east --context west` merges the endpoints, each with its cluster."""
    west = RealCluster(tmp_path / "west").start()
    try:
        populate(west, ns, 222)
        west.apply({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "istio-system", "labels": {"topology.istio.io/network": "net-west"}}})
        east_cfg = yaml.safe_load(real_api.kubeconfig(tmp_path / "east.yaml").read_text())
        west_cfg = yaml.safe_load(west.kubeconfig(tmp_path / "west.yaml").read_text())
        both = {"apiVersion": "v1", "kind": "Config", "current-context": "east",
                "clusters": [{"name": "east", "cluster": east_cfg["clusters"][0]["cluster"]},
                             {"name": "west", "cluster": west_cfg["clusters"][0]["cluster"]}],
                "users": [{"name": "east", "user": east_cfg["users"][0]["user"]},
                          {"name": "west", "user": west_cfg["users"][0]["user"]}],
                "contexts": [{"name": c, "context": {"cluster": c, "user": c}} for c in ("east", "west")]}
        kc = tmp_path / "both.yaml"
        kc.write_text(yaml.safe_dump(both))
        code, out, err = run_cli(capsys, "trace", "--kubeconfig", str(kc), "--context", "east", "--context", "west",
                                 "-n", f"{ns},istio-system", "--from", f"{ns}/productpage-v1", "-H", "end-user: jason",
                                 "-o", "json", "http://reviews:9080/")
        assert code == 0, err
        t = json.loads(out)
        [d] = t["destinations"]
        where = sorted((e["cluster"], e["network"], e["address"].startswith("10.222.")) for e in d["endpoints"])
        assert where == [("east", None, False), ("west", "net-west", True)]
        step = next(s for s in t["steps"] if s["stage"] == "endpoints")
        assert "across clusters: east 1, west 1" in step["detail"]
    finally:
        west.stop()
