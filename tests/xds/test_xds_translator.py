"""MeshTranslator's fault fast path gives exactly what a full translation gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit
from meshtui.sources.loader import load_sources
from meshtui.translate import TranslateOptions
from meshtui.xds.translator import MeshTranslator

REPO = Path(__file__).resolve().parents[2]
REVIEWS = "reviews.default.svc.cluster.local"


def fault(fid, **target):
    kind = target.pop("kind", "abort")
    return FaultEdit(id=fid, target=FaultTarget(**target), percent=37.5, ttl_seconds=600, created_at=1000.0,
                     abort_status=503 if kind == "abort" else None, delay_seconds=0.25 if kind == "delay" else None)


CASES = [
    [],
    [fault("a", host=REVIEWS, subset="v2")],
    [fault("a", host=REVIEWS)],
    [fault("a", virtual_service="default/reviews", rule=1, kind="delay")],
    [fault("a", virtual_service="default/reviews"), fault("b", host="ratings.default.svc.cluster.local", kind="delay")],
    [fault("a", host="productpage.default.svc.cluster.local"),
     ScopeEdit(id="s", namespace="default", egress_hosts=("./reviews.default.svc.cluster.local",),
               outbound_traffic_policy="REGISTRY_ONLY", created_at=1000.0)],
]


def canon(res) -> str:
    return json.dumps({"l": res.listeners, "r": res.routes, "c": res.clusters, "e": res.endpoints,
                       "rt": res.runtime}, sort_keys=True)


@pytest.mark.parametrize("mesh", ["meshtui/demo/mesh", "fixtures/bookinfo"])
def test_fast_path_equals_full_translation(mesh):
    snap = load_sources([str(REPO / mesh)]).snapshot
    opts = TranslateOptions(bind_address="127.3.4.5")
    fast = MeshTranslator(snap, lambda p: opts)
    full = MeshTranslator(snap, lambda p: opts, fast=False)
    proxies = [w.ref for w in snap.workloads][:4]
    for edits in CASES + CASES[::-1]:  # also going back: the cache must not leak
        for proxy in proxies:
            assert canon(fast.resources(proxy, edits, 1001.0)) == canon(full.resources(proxy, edits, 1001.0)), (
                mesh, proxy, [e.id for e in edits])
    # an expired fault is gone on both paths
    assert canon(fast.resources(proxies[0], CASES[1], 5000.0)) == canon(full.resources(proxies[0], [], 5000.0))


def test_incremental_fault_merge_equals_full_translation():
    """The pre-armed fast path merges per-fault runtime values and extends the last merge on an
    add (bench/control_api.py): after adds, a removal in the middle and re-adds it still gives
    what a full translation gives, for split routes and subset faults too (distinct routes per
    fault kind, where applying in turn and merging agree)."""
    snap = load_sources([str(REPO / "meshtui/demo/mesh")]).snapshot
    fast = MeshTranslator(snap)
    full = MeshTranslator(snap, fast=False)
    proxy = next(w.ref for w in snap.workloads if w.labels.get("app") == "productpage")
    pool = [fault("a1", host=REVIEWS, subset="v1"), fault("d1", host=REVIEWS, subset="v3", kind="delay"),
            fault("a2", host="ratings.default.svc.cluster.local"), fault("a3", host=REVIEWS, subset="v1"),
            fault("d2", virtual_service="default/details", kind="delay")]
    live: list = []
    steps = [*pool, "-d1", "-a1", pool[0], "-a2"]
    for step in steps:
        if isinstance(step, str):
            live = [e for e in live if e.id != step[1:]]
        else:
            live = [*live, step]
        assert canon(fast.resources(proxy, list(live), 1001.0)) == canon(full.resources(proxy, list(live), 1001.0)), \
            [e.id for e in live]
