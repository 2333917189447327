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
