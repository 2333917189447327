"""The snapshot cache: a second load of unchanged files gives the same result without reading them,
and any change (content, a file added or removed, other code, an unsafe folder) is a miss."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui.sources import snapshot_cache
from meshtui.sources.loader import load_sources

REPO = Path(__file__).resolve().parents[2]
VS = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
  namespace: default
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subset: {subset}
"""
SVC = """apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: default
spec:
  selector: {app: reviews}
  ports:
  - name: http
    port: 9080
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "meshtui"


@pytest.fixture
def mesh(tmp_path):
    d = tmp_path / "mesh"
    d.mkdir()
    (d / "svc.yaml").write_text(SVC)
    (d / "vs.yaml").write_text(VS.format(name="reviews", subset="v1"))
    return d


def _snapshots(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.snap"))


def _key(mesh: Path) -> str:
    from meshtui.model.snapshot import MeshConfig

    return snapshot_cache.entry_key([str(mesh)], "default", MeshConfig())


def test_second_load_is_the_cached_snapshot(cache, mesh):
    first = load_sources([str(mesh)], cache=True)
    assert len(_snapshots(cache)) == 1
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    second = snapshot_cache.read(_key(mesh), first.files)
    assert second is not None
    assert second.snapshot.content_hash() == first.snapshot.content_hash()
    assert second.files == first.files and second.loaded == first.loaded
    assert [str(d) for d in second.diagnostics] == [str(d) for d in first.diagnostics]
    # the raw objects (positions for field paths) are read back from the YAML files on first use
    key = ("VirtualService", "default", "reviews")
    raw = second.snapshot.raw.get(key)
    assert raw is not None and raw.pos["spec"] == first.snapshot.raw[key].pos["spec"]
    assert load_sources([str(mesh)], cache=True).snapshot.content_hash() == first.snapshot.content_hash()


def test_an_edit_in_the_same_tick_is_seen(cache, mesh):
    """Same size, written right after the entry: the stat may not change, the hash does."""
    load_sources([str(mesh)], cache=True)
    f = mesh / "vs.yaml"
    st = f.stat()
    f.write_text(VS.format(name="reviews", subset="v2"))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # as if the clock had not ticked
    again = load_sources([str(mesh)], cache=True)
    vs = again.snapshot.get("VirtualService", "default", "reviews")
    assert vs.spec.http[0].route[0].destination.subset == "v2"


def test_an_old_file_with_unchanged_stat_is_trusted_and_a_changed_one_rehashed(cache, mesh):
    result = load_sources([str(mesh)], cache=True)
    for f in mesh.iterdir():  # long before the entry: outside the racy window
        os.utime(f, (1_000_000_000, 1_000_000_000))
    result = load_sources([str(mesh)], cache=True)  # stat changed, content did not: re-hashed, a hit
    assert snapshot_cache.read(_key(mesh), result.files) is not None
    (mesh / "vs.yaml").write_text(VS.format(name="reviews", subset="v3"))
    os.utime(mesh / "vs.yaml", (1_000_000_000, 1_000_000_000))  # mtime back, but ctime moved
    assert snapshot_cache.read(_key(mesh), result.files) is None


def test_a_file_added_or_removed_is_a_miss(cache, mesh):
    result = load_sources([str(mesh)], cache=True)
    (mesh / "vs2.yaml").write_text(VS.format(name="other", subset="v1"))
    again = load_sources([str(mesh)], cache=True)
    assert again.snapshot.get("VirtualService", "default", "other") is not None
    (mesh / "vs2.yaml").unlink()
    third = load_sources([str(mesh)], cache=True)
    assert third.snapshot.get("VirtualService", "default", "other") is None
    assert third.snapshot.content_hash() == result.snapshot.content_hash()


def test_an_entry_written_by_other_code_is_not_read(cache, mesh):
    result = load_sources([str(mesh)], cache=True)
    snap = _snapshots(cache)[0]
    lines = snap.read_bytes().split(b"\n", 2)
    snap.write_bytes(lines[0] + b"\n" + b"0" * len(lines[1]) + b"\n" + lines[2])
    assert snapshot_cache.read(_key(mesh), result.files) is None
    snap.write_bytes(b"garbage")
    assert snapshot_cache.read(_key(mesh), result.files) is None
    assert load_sources([str(mesh)], cache=True).snapshot.content_hash() == result.snapshot.content_hash()


def test_a_folder_others_can_write_is_not_used(cache, mesh):
    result = load_sources([str(mesh)], cache=True)
    cache.chmod(0o777)
    try:
        assert snapshot_cache.read(_key(mesh), result.files) is None
    finally:
        cache.chmod(0o700)
    _snapshots(cache)[0].chmod(0o666)
    assert snapshot_cache.read(_key(mesh), result.files) is None


def test_no_cache_flag_and_concurrent_writers(cache, mesh, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "xdg"), NO_COLOR="1")
    cmd = [sys.executable, "-m", "meshtui", "trace", "-f", str(mesh), "http://reviews:9080/"]
    out = subprocess.run([*cmd, "--no-cache"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not cache.exists() or not _snapshots(cache)
    # four runs at once write the same entry: each reads a whole one or none, the last rename wins
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert len({o for o, _ in outs} | {out.stdout}) == 1
    assert len(_snapshots(cache)) == 1 and not list(cache.glob(".*.tmp"))
    cached = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert cached.stdout == out.stdout


def test_raw_objects_are_read_back_from_their_files(tmp_path):
    """No second copy of the YAML stays in memory: snapshot.raw re-reads a file when asked, with
    the same positions; an object its file no longer holds has none (stdin objects stay kept)."""
    from meshtui.model.parse import locate

    f = tmp_path / "mesh.yaml"
    f.write_text(SVC + "---\n" + VS.format(name="reviews", subset="v1"))
    result = load_sources([str(f), "-"], stdin_text=VS.format(name="from-stdin", subset="v9"))
    raw = result.snapshot.raw
    key = ("VirtualService", "default", "reviews")
    assert type(raw).__name__ == "FileRaw" and not raw._files
    from meshtui.model.yamlpos import parse_yaml

    in_memory = parse_yaml(f.read_text())[1].data
    path = "spec.http[0].route[0].destination.subset"
    assert locate(raw[key], path) == locate(in_memory, path) and locate(in_memory, path)[0] > 13
    assert raw[("VirtualService", "default", "from-stdin")]["spec"]["http"][0]["route"][0]["destination"]["subset"] == "v9"
    assert set(raw) == set(result.snapshot.by_key) and len(raw) == len(result.snapshot.by_key)
    f.write_text(SVC)  # the VirtualService is gone from the file
    fresh = load_sources([str(f)]).snapshot.raw
    assert fresh.get(key) is None and raw.get(key) is not None  # the first one kept its parse


def test_the_schema_hash_reads_every_module_that_shapes_a_snapshot():
    """An edit of a validation rule (model/validate, a subpackage) must make old entries misses,
    as an edit of model/ or sources/ itself does."""
    import meshtui

    root = Path(meshtui.__file__).parent
    hashed = {f.relative_to(root).as_posix() for f in snapshot_cache.code_files()}
    wanted = {f.relative_to(root).as_posix() for d in ("model", "sources") for f in (root / d).rglob("*.py")}
    assert wanted and hashed == wanted
    assert any(name.startswith("model/validate/") for name in hashed)


def test_settling_freezes_the_load_before_the_collector_runs_again(mesh):
    """The CLI loads inside settling(): the collector stays off while loading and until what was
    loaded is frozen, so no collection walks the new objects; its state is given back after."""
    import gc

    from meshtui.heap import YOUNG_GC_THRESHOLD, settling

    threshold = gc.get_threshold()
    collections: list[str] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(phase)

    gc.enable()
    gc.callbacks.append(seen)
    try:
        frozen = gc.get_freeze_count()
        with settling():
            assert not gc.isenabled()
            result = load_sources([str(mesh)])
        assert gc.isenabled()
        assert collections == []
        assert gc.get_freeze_count() > frozen
        assert gc.get_threshold()[0] == YOUNG_GC_THRESHOLD
        assert result.snapshot.virtual_services
    finally:
        gc.callbacks.remove(seen)
        gc.unfreeze()
        gc.set_threshold(*threshold)
