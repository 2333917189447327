"""model.snapshot.rebuild: a snapshot that differs in routing objects only is remade from the
previous one, and must be what a full build of the same objects gives."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from meshtui.model.snapshot import ROUTING_FIELDS, MeshSnapshot, build, rebuild
from meshtui.sources.loader import load_sources
from meshtui.translate import Translator

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ["bookinfo", "gatewayapi", "security", "multi-namespace", "whatif"]


def _same(a: MeshSnapshot, b: MeshSnapshot) -> None:
    assert a == b
    assert list(a.by_key) == list(b.by_key)
    assert a.rejected == b.rejected and dict(a.raw) == dict(b.raw)
    for part in ("vs", "registry", "sidecars", "destination_rules"):
        assert repr(getattr(a.index, part)) is not None  # built
    ta, tb = Translator(a), Translator(b)
    for wl in a.workloads:
        if not wl.synthesized:
            assert ta.translate(wl.ref).envoy_resources() == tb.translate(wl.ref).envoy_resources(), wl.ref


def _variants(snap: MeshSnapshot):
    """(what, objects): one routing object removed, replaced by an equal copy, moved last, plus a
    Service removed (not a routing kind: a full build)."""
    objects = list(snap.by_key.values())
    routing = [o for o in objects if o.kind in ROUTING_FIELDS]
    for o in routing[:6]:
        yield f"remove {o.key}", [x for x in objects if x is not o], True
        yield f"copy {o.key}", [copy.copy(x) if x is o else x for x in objects], True
        yield f"last {o.key}", [x for x in objects if x is not o] + [o], True
    services = [o for o in objects if o.kind == "Service"]
    if services:
        yield f"remove {services[0].key}", [x for x in objects if x is not services[0]], False


@pytest.mark.parametrize("name", FOLDERS)
def test_rebuild_is_a_full_build(name: str) -> None:
    snap = load_sources([str(REPO / "fixtures" / name)]).snapshot
    cases = 0
    for what, objects, fast in _variants(snap):
        raw = {k: v for k, v in snap.raw.items() if k in {o.key for o in objects}}
        got = rebuild(snap, {o.key: o for o in objects}, list(snap.diagnostics), raw)
        want = build(objects, list(snap.diagnostics), snap.mesh, raw)
        _same(got, want)
        # the routing-only path reuses what it did not remake; anything else is built whole
        assert (got.registry is snap.registry) == fast, what
        cases += 1
    assert cases >= 1


def test_a_whatif_edit_of_a_virtual_service_keeps_the_registry() -> None:
    from meshtui.tui.workspace import rebuild_with

    snap = load_sources([str(REPO / "fixtures" / "bookinfo")]).snapshot
    key = next(k for k in snap.by_key if k[0] == "VirtualService")
    text = (REPO / "fixtures" / "bookinfo").joinpath(Path(snap.by_key[key].src.file).name).read_text()
    w = rebuild_with(snap, key, text.split("\n---\n")[0] if "\n---\n" in text else text, "edited.yaml")
    assert w.result is not None, w.errors
    new = w.result.snapshot
    assert new.registry is snap.registry and new.workloads is snap.workloads
