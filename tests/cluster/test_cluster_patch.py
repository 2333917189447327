"""The pure patch building: apply bodies for faults and Sidecar scope, and their reverts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cluster_mesh import NS, bookinfo

from meshtui.cluster import patch as P
from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit

T0 = 1_700_000_000.0


def _vs(name: str = "reviews") -> dict:
    vs = next(o for o in bookinfo() if o["kind"] == "VirtualService" and o["metadata"]["name"] == name)
    vs["metadata"]["resourceVersion"] = "42"
    return vs


def _fault(**kw) -> FaultEdit:
    d = dict(id="f1", target=FaultTarget(virtual_service=f"{NS}/reviews", rule=1), percent=50.0,
             abort_status=503, ttl_seconds=600, created_at=T0, reason="game day", owner="alice")
    d.update(kw)
    return FaultEdit(**d)


def test_fault_body_is_the_whole_http_list_with_the_fault_on_one_rule():
    live = _vs()
    plan, rec = P.fault_patch(live, _fault(), "networking.istio.io/v1")
    body = plan.body
    assert body["apiVersion"] == "networking.istio.io/v1" and body["kind"] == "VirtualService"
    assert body["metadata"]["name"] == "reviews" and body["metadata"]["namespace"] == NS
    assert body["metadata"]["resourceVersion"] == "42"  # optimistic concurrency
    http = body["spec"]["http"]
    assert len(http) == 2 and "fault" not in http[0]
    assert http[1]["fault"] == {"abort": {"httpStatus": 503, "percentage": {"value": 50.0}}}
    assert http[1]["route"] == live["spec"]["http"][1]["route"]
    assert set(body["spec"]) == {"http"}  # nothing else is claimed
    ann = body["metadata"]["annotations"]
    assert list(ann) == ["edit.meshtui.io/f1"]
    data = json.loads(ann["edit.meshtui.io/f1"])
    assert data["owner"] == "alice" and data["reason"] == "game day"
    assert data["created"] == "2023-11-14T22:13:20Z" and data["expires"] == "2023-11-14T22:23:20Z"
    assert data["rules"] == [1] and data["previous"] == {"1": None}
    assert rec.expires_at == T0 + 600
    assert "live" not in json.dumps(live)  # the live object was not modified
    assert "fault" not in live["spec"]["http"][1]
    assert plan.summary.startswith("fault f1: abort 50% 503 on VirtualService bookinfo/reviews rule 1")


def test_delay_on_every_rule():
    plan, rec = P.fault_patch(_vs(), _fault(target=FaultTarget(virtual_service=f"{NS}/reviews"),
                                            abort_status=None, delay_seconds=1.5, percent=10), "networking.istio.io/v1")
    for rule in plan.body["spec"]["http"]:
        assert rule["fault"] == {"delay": {"fixedDelay": "1500ms", "percentage": {"value": 10.0}}}
    assert rec.rules == (0, 1)


@pytest.mark.parametrize("edit,msg", [
    (dict(target=FaultTarget(host="reviews.bookinfo.svc.cluster.local")), "needs a VirtualService rule"),
    (dict(target=FaultTarget(virtual_service="reviews", rule=0)), "must be NS/NAME"),
    (dict(target=FaultTarget(virtual_service=f"{NS}/reviews", rule=7)), "there is no rule 7"),
    (dict(abort_status=None, delay_seconds=None), "neither an abort status nor a delay"),
])
def test_fault_refusals(edit, msg):
    with pytest.raises(P.PatchError, match=msg):
        P.fault_patch(_vs(), _fault(**edit), "networking.istio.io/v1")


def test_second_fault_keeps_the_first_and_refuses_the_same_rule():
    live = _vs()
    plan1, rec1 = P.fault_patch(live, _fault(), "networking.istio.io/v1")
    live2 = {**plan1.body, "metadata": {**plan1.body["metadata"], "resourceVersion": "43"}}
    with pytest.raises(P.PatchError, match="already carry meshtui fault f1"):
        P.fault_patch(live2, _fault(id="f2"), "networking.istio.io/v1")
    plan2, _ = P.fault_patch(live2, _fault(id="f2", target=FaultTarget(virtual_service=f"{NS}/reviews", rule=0),
                                           abort_status=None, delay_seconds=2), "networking.istio.io/v1")
    assert set(plan2.body["metadata"]["annotations"]) == {"edit.meshtui.io/f1", "edit.meshtui.io/f2"}
    assert plan2.body["spec"]["http"][0]["fault"]["delay"]["fixedDelay"] == "2s"
    assert plan2.body["spec"]["http"][1]["fault"]["abort"]["httpStatus"] == 503
    # reverting f1 keeps f2 (fault and annotation)
    live3 = {**plan2.body, "metadata": {**plan2.body["metadata"], "resourceVersion": "44"}}
    rev = P.revert_plan(live3, rec1, "networking.istio.io/v1")
    assert "fault" not in rev.body["spec"]["http"][1] and "fault" in rev.body["spec"]["http"][0]
    assert set(rev.body["metadata"]["annotations"]) == {"edit.meshtui.io/f2"}


def test_revert_restores_a_previous_fault_and_leaves_changed_rules_alone():
    live = _vs()
    live["spec"]["http"][1]["fault"] = {"delay": {"fixedDelay": "1s", "percentage": {"value": 1}}}
    plan, rec = P.fault_patch(live, _fault(target=FaultTarget(virtual_service=f"{NS}/reviews")), "networking.istio.io/v1")
    after = plan.body
    rev = P.fault_revert(after, rec, "networking.istio.io/v1")
    assert rev.body["spec"]["http"][1]["fault"] == {"delay": {"fixedDelay": "1s", "percentage": {"value": 1}}}
    assert "fault" not in rev.body["spec"]["http"][0]
    assert "annotations" not in rev.body["metadata"]
    # someone changed rule 0's fault since: the revert does not touch it
    after["spec"]["http"][0]["fault"] = {"abort": {"httpStatus": 418, "percentage": {"value": 5}}}
    rev = P.fault_revert(after, rec, "networking.istio.io/v1")
    assert rev.body["spec"]["http"][0]["fault"]["abort"]["httpStatus"] == 418


def _scope(**kw) -> ScopeEdit:
    d = dict(id="s1", namespace=NS, egress_hosts=("./*",), outbound_traffic_policy="REGISTRY_ONLY",
             ttl_seconds=300, created_at=T0, reason="isolate", owner="bob")
    d.update(kw)
    return ScopeEdit(**d)


def test_scope_on_an_existing_sidecar_and_back():
    sc = next(o for o in bookinfo() if o["kind"] == "Sidecar")
    sc["metadata"]["resourceVersion"] = "7"
    assert P.pick_sidecar([sc], _scope()) is sc
    plan, rec = P.scope_patch(sc, _scope(), "networking.istio.io/v1")
    assert plan.name == "default" and not rec.created_object
    assert plan.body["spec"] == {"egress": [{"hosts": ["./*"]}], "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    assert rec.previous == {"egress": [{"hosts": ["./*", "istio-system/*"]}], "outboundTrafficPolicy": None}
    live = {**plan.body, "metadata": {**plan.body["metadata"], "resourceVersion": "8"}}
    with pytest.raises(P.PatchError, match="already carries meshtui scope edit s1"):
        P.scope_patch(live, _scope(id="s2"), "networking.istio.io/v1")
    rev = P.revert_plan(live, rec, "networking.istio.io/v1")
    assert not rev.delete
    # outboundTrafficPolicy had no value: left out, so server-side apply removes it
    assert rev.body["spec"] == {"egress": [{"hosts": ["./*", "istio-system/*"]}]}


def test_scope_creates_a_sidecar_and_the_revert_deletes_it():
    edit = _scope(workload_labels={"app": "reviews"}, outbound_traffic_policy=None)
    assert P.pick_sidecar([next(o for o in bookinfo() if o["kind"] == "Sidecar")], edit) is None
    plan, rec = P.scope_patch(None, edit, "networking.istio.io/v1")
    assert rec.created_object and plan.name == "meshtui-s1"
    assert plan.body["spec"]["workloadSelector"] == {"labels": {"app": "reviews"}}
    assert "resourceVersion" not in plan.body["metadata"]
    rev = P.revert_plan({**plan.body, "metadata": {**plan.body["metadata"], "resourceVersion": "9"}}, rec,
                        "networking.istio.io/v1")
    assert rev.delete and rev.body is None and rev.resource_version == "9"


@pytest.mark.parametrize("edit,msg", [
    (dict(egress_hosts=(), outbound_traffic_policy=None), "changes nothing"),
    (dict(outbound_traffic_policy="DENY"), "must be one of"),
    (dict(egress_hosts=("reviews",)), "namespace/dnsName"),
])
def test_scope_refusals(edit, msg):
    with pytest.raises(P.PatchError, match=msg):
        P.scope_patch(None, _scope(**edit), "networking.istio.io/v1")


def test_records_round_trip_and_expiry():
    plan, rec = P.fault_patch(_vs(), _fault(), "networking.istio.io/v1")
    obj = plan.body
    assert P.edit_records(obj) == [rec]
    assert P.expired(obj, T0 + 599) == []
    assert P.expired(obj, T0 + 600) == [rec]
    obj["metadata"]["annotations"]["edit.meshtui.io/junk"] = "{not json"
    assert P.edit_records(obj) == [rec]  # unreadable annotations are skipped


def test_diff_shows_only_what_changes():
    live = _vs()
    live["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    plan, _ = P.fault_patch(live, _fault(), "networking.istio.io/v1")
    after = {**live, "spec": {**live["spec"], **plan.body["spec"]},
             "metadata": {**live["metadata"], "annotations": plan.body["metadata"]["annotations"], "resourceVersion": "43"}}
    text = P.diff(live, after, "VirtualService bookinfo/reviews")
    assert "+  - fault:" in text and "+        httpStatus: 503" in text
    assert "-  - name: rest" in text and "hosts" not in text
    assert "managedFields" not in text and "resourceVersion" not in text
    assert P.diff(live, live, "x") == ""


def test_patch_module_is_pure():
    code = ("import sys, meshtui.cluster.patch; "
            "bad = [m for m in ('kubernetes', 'urllib3', 'textual', 'rich', 'grpc') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""
