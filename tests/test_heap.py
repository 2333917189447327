"""meshtui.heap: the collector is paused while long-lived structures are built, and a whole
translation that a shell keeps (proxy-config, the proxy view, serve) in a process that settled its
snapshot is frozen with it, without freezing anyone's garbage."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshtui import heap
from meshtui.sources.loader import load_sources
from meshtui.translate import Translator

ROOT = Path(__file__).resolve().parents[1]


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector(monkeypatch) -> Iterator[list[int]]:
    """The collector on, its state given back after; yields the generations collected."""
    threshold = gc.get_threshold()
    was_on = gc.isenabled()
    seen: list[int] = []

    def cb(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(info["generation"])

    monkeypatch.setattr(heap, "_settled", False)
    gc.enable()
    gc.callbacks.append(cb)
    try:
        yield seen
    finally:
        gc.callbacks.remove(cb)
        gc.unfreeze()
        gc.set_threshold(*threshold)
        if not was_on:
            gc.disable()


def test_pauses_nest_and_give_the_collector_back(collector) -> None:
    with heap.paused():
        assert not gc.isenabled()
        with heap.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    with heap.paused():
        pass
    assert not gc.isenabled()  # off before, off after
    gc.enable()


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_a_translation_in_a_settled_process_is_frozen_without_the_garbage_made_before(collector) -> None:
    snap = load_sources([str(ROOT / "fixtures" / "bookinfo")]).snapshot
    with heap.settling():
        pass
    frozen = gc.get_freeze_count()
    garbage = _cycle()  # unreachable, only the collector can free it
    collector.clear()
    with heap.keeping():
        cfg = Translator(snap).translate("default/productpage-v1")
    assert garbage() is None  # collected before the freeze, not frozen for good
    assert all(g == 2 for g in collector)  # that one full collection, none while translating
    assert gc.get_freeze_count() > frozen
    # out of the collector's sight: in no generation it walks (the permanent one is not listed)
    assert cfg.clusters and gc.is_tracked(cfg.clusters)
    assert not any(o is cfg.clusters for o in gc.get_objects())
    assert gc.isenabled()


def test_a_library_caller_that_never_settled_freezes_nothing(collector) -> None:
    snap = load_sources([str(ROOT / "fixtures" / "bookinfo")]).snapshot
    frozen = gc.get_freeze_count()
    collector.clear()
    with heap.keeping():
        cfg = Translator(snap).translate("default/productpage-v1")
    assert gc.get_freeze_count() == frozen
    assert any(o is cfg.clusters for o in gc.get_objects())
    assert collector == []  # paused while translating
    assert gc.isenabled()
