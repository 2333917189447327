"""Live faults decorate a translated config without touching it (issue 14): with_live_faults
builds new route configs and virtual hosts where a fault lands, shares the rest, and leaves the
config it was given exactly as it was."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from meshtui.edits.model import FaultEdit, FaultTarget
from meshtui.sources.loader import load_sources
from meshtui.translate import translate, with_live_faults

REPO = Path(__file__).resolve().parents[2]
REVIEWS = "reviews.default.svc.cluster.local"


def _snapshot():
    return load_sources([str(REPO / "fixtures" / "bookinfo")]).snapshot


def test_with_live_faults_builds_new_config_and_leaves_the_translated_one_alone():
    cfg = translate(_snapshot(), "default/productpage-v1")
    before = json.dumps(cfg.envoy_resources().routes, sort_keys=True)
    vhosts_before = {name: list(rc.virtual_hosts) for name, rc in cfg.route_configs.items()}
    edit = FaultEdit("f1", FaultTarget(host=REVIEWS), 50, abort_status=503, ttl_seconds=60, created_at=0)

    live = with_live_faults(cfg, [edit])

    assert live is not cfg
    assert json.dumps(cfg.envoy_resources().routes, sort_keys=True) == before  # nothing mutated
    assert {n: list(rc.virtual_hosts) for n, rc in cfg.route_configs.items()} == vhosts_before
    assert all(r.fault is None or not r.fault.live_id
               for rc in cfg.route_configs.values() for vh in rc.virtual_hosts for r in vh.routes)
    hit = 0
    for name, rc in live.route_configs.items():
        old = cfg.route_configs[name]
        for new_vh, old_vh in zip(rc.virtual_hosts, old.virtual_hosts, strict=True):
            faulted = [r for r in new_vh.routes if r.fault is not None and r.fault.live_id == "f1"]
            if faulted:
                hit += 1
                assert new_vh is not old_vh and all(r.fault is None or not r.fault.live_id for r in old_vh.routes)
            else:
                assert new_vh is old_vh  # untouched virtual hosts are shared, not copied
        if rc is not old:
            assert any(a is not b for a, b in zip(rc.virtual_hosts, old.virtual_hosts, strict=True))
    assert hit >= 1 and any(k.startswith("meshtui.fault.f1.") for k in live.runtime)
    assert not any(k.startswith("meshtui.fault.") for k in cfg.runtime)


def test_a_replaced_config_does_not_inherit_the_listener_index():
    cfg = translate(_snapshot(), "default/productpage-v1")
    ls = cfg.listeners[0]
    assert cfg.listener_for(ls.address, ls.port) is ls  # builds the index
    other = replace(cfg, listeners=[replace(ls, name="other")])
    found = other.listener_for(ls.address, ls.port)
    assert found is not None and found.name == "other"
