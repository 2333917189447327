"""A snapshot read back from the cache keeps each resource's body packed until first read
(model/packed): it must translate, trace and analyze exactly as the snapshot it was stored from."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from meshtui.analyze import analyze
from meshtui.model import packed
from meshtui.model.istio import VirtualService
from meshtui.sources.loader import load_sources
from meshtui.translate import Translator

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ["bookinfo", "gatewayapi", "security", "multi-namespace", "whatif"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _fresh_and_packed(folder: Path):
    fresh = load_sources([str(folder)])
    load_sources([str(folder)], cache=True)  # stored
    cached = load_sources([str(folder)], cache=True)  # read back
    return fresh, cached


@pytest.mark.parametrize("name", FOLDERS)
def test_a_packed_snapshot_translates_and_analyzes_as_the_one_it_was_stored_from(name):
    fresh, cached = _fresh_and_packed(REPO / "fixtures" / name)
    snap = cached.snapshot
    packed_now = [k for k, r in snap.by_key.items() if packed.PACKED in r.__dict__]
    assert packed_now, "nothing came back packed: the cache stores whole objects again"
    assert set(snap.by_key) == set(fresh.snapshot.by_key)
    for key, res in fresh.snapshot.by_key.items():
        assert snap.by_key[key] == res, key  # every field, read through the descriptors
    assert all(packed.PACKED not in r.__dict__ for r in snap.by_key.values())
    a, b = Translator(fresh.snapshot), Translator(snap)
    for wl in fresh.snapshot.workloads:
        if wl.synthesized:
            continue
        assert b.translate(wl.ref).envoy_resources() == a.translate(wl.ref).envoy_resources(), wl.ref
    assert [m.to_dict() for m in analyze(snap)] == [m.to_dict() for m in analyze(fresh.snapshot)]


def test_a_body_is_unpacked_once_whatever_reads_it_first():
    _, cached = _fresh_and_packed(REPO / "fixtures" / "bookinfo")
    vss = [r for r in cached.snapshot.by_key.values() if isinstance(r, VirtualService)]
    assert vss and all(packed.PACKED in vs.__dict__ for vs in vss)
    vs = vss[0]
    seen: list[object] = []
    start = threading.Barrier(4)

    def read() -> None:
        start.wait(timeout=10)
        seen.append(vs.spec)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(seen) == 4 and all(s is seen[0] for s in seen)
    assert vs.metadata.name and vs.src.file.endswith(".yaml")
    # the class attribute is still the dataclass default, and replace() reads the unpacked body
    assert VirtualService.status is None
    other = vss[1]
    moved = dataclasses.replace(other, kind=other.kind)
    assert moved == other and moved.spec is other.spec


def test_a_resource_read_from_the_cache_can_be_stored_again(tmp_path):
    """A snapshot rebuilt from a cached one (the TUI's what-if edits) is pickled with its bodies
    as they were read, packed or not."""
    import pickle

    _, cached = _fresh_and_packed(REPO / "fixtures" / "bookinfo")
    res = next(iter(cached.snapshot.by_key.values()))
    assert packed.PACKED in res.__dict__
    out = pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)
    again = pickle.loads(out)
    assert again == res


@pytest.mark.parametrize("name", FOLDERS)
def test_nothing_outside_a_packed_body_refers_into_it(name):
    """Packing relies on it: a body comes back as its own objects, so an outside reference to a
    part of it would come back as a second copy, equal but no longer the same object."""
    import gc

    result = load_sources([str(REPO / "fixtures" / name)])
    table = packed.dispatch_table()
    atoms = (str, bytes, int, float, bool, type(None), type)

    def body_fields(obj: object) -> frozenset[str]:
        return packed._body_of(type(obj)) if type(obj) in table else frozenset()

    inside: dict[int, str] = {}
    for obj in _all_objects(result):
        for f in body_fields(obj):
            stack = [getattr(obj, f)]
            while stack:
                x = stack.pop()
                if isinstance(x, atoms) or id(x) in inside:
                    continue
                inside[id(x)] = f"{type(obj).__name__}.{f}"
                if type(x) in table:
                    continue  # packed on its own
                stack.extend(gc.get_referents(x))
    shared: list[str] = []
    seen: set[int] = set()
    stack = [result]
    while stack:
        x = stack.pop()
        if isinstance(x, atoms) or id(x) in seen:
            continue
        seen.add(id(x))
        # a shared immutable value (a Source a diagnostic also names, a Gateway API listener the
        # conversion keeps, a tuple) may come back as an equal copy: meshtui compares them by
        # value. A shared mutable object (a dict, a list, a plain instance) may not.
        if id(x) in inside:
            if not _immutable(x):
                shared.append(f"{type(x).__name__} inside {inside[id(x)]}")
            continue
        fields = body_fields(x)
        if fields:
            stack.extend(v for k, v in x.__dict__.items() if k not in fields)
        elif hasattr(x, "__dict__") or isinstance(x, (dict, list, tuple, set, frozenset)) or hasattr(x, "__slots__"):
            stack.extend(gc.get_referents(x))
    assert not shared, shared[:10]


def _immutable(x: object) -> bool:
    import dataclasses

    if isinstance(x, (tuple, frozenset)):
        return True
    params = getattr(type(x), "__dataclass_params__", None)
    return dataclasses.is_dataclass(x) and params is not None and params.frozen


def _all_objects(result):
    import gc

    seen: set[int] = set()
    stack = [result]
    while stack:
        x = stack.pop()
        if isinstance(x, (str, bytes, int, float, bool, type(None), type)) or id(x) in seen:
            continue
        seen.add(id(x))
        yield x
        stack.extend(gc.get_referents(x))
