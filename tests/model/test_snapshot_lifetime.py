"""A replaced snapshot must be freed by reference counting alone. The processes that keep a
snapshot (serve, the TUI) gc.freeze() their heap after loading, and a frozen cycle is never
collected: any cycle through a snapshot (its index pointing back at it, a translation's
closures) would keep every snapshot a watch or an edit replaced alive for the whole session."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshtui.simulate import Request
from meshtui.simulate.tracer import Tracer
from meshtui.sources.loader import load_sources
from meshtui.translate import Translator

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def collector_off() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def test_a_replaced_snapshot_and_what_was_built_from_it_are_freed_without_the_collector() -> None:
    snap = load_sources([str(ROOT / "fixtures" / "bookinfo")]).snapshot
    with collector_off():
        snap.index.warm()
        tr = Translator(snap)
        configs = [tr.translate(w, lazy=lazy) for w in snap.workloads[:4] for lazy in (False, True)]
        built = sum(len(rc.virtual_hosts) for cfg in configs for rc in cfg.route_configs.values())  # lazy ones built now
        assert built
        tracer = Tracer(snap)
        trace = tracer.trace(Request.parse("http://reviews:9080/"), source="default/productpage-v1")
        assert trace.outcome
        # an edit or a watch event: a new snapshot sharing most parts with the old one
        new = dataclasses.replace(snap, virtual_services=snap.virtual_services[1:])
        new.index.warm()
        old = weakref.ref(snap)
        del snap, tr, configs, tracer, trace
        assert old() is None, "the old snapshot is only freed by the cycle collector (a frozen heap keeps it)"
        assert new.index.owns(new) and new.index.vs is not None
