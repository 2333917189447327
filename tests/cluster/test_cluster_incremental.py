"""A cluster update that changes only routing objects is parsed and built around those objects
(model.parse.rebuild_snapshot), found by resourceVersion, and gives what a full build gives."""

from __future__ import annotations

import copy
from pathlib import Path

from meshtui.cluster.source import ClusterSource, open_cluster
from meshtui.model.parse import LoadResult, RawDoc


def _with(docs: list[RawDoc], kind: str, change) -> list[RawDoc]:
    """The docs with the first object of `kind` changed by change(data) (None removes it), at a
    new resourceVersion."""
    out: list[RawDoc] = []
    done = False
    for d in docs:
        if not done and d.data.get("kind") == kind:
            done = True
            data = copy.deepcopy(d.data)
            data = change(data)
            if data is None:
                continue
            data["metadata"]["resourceVersion"] = str(int(data["metadata"].get("resourceVersion") or 0) + 1000)
            out.append(RawDoc(data, d.file, d.line))
        else:
            out.append(d)
    assert done, kind
    return out


def _same(got: LoadResult, want: LoadResult) -> None:
    a, b = got.snapshot, want.snapshot
    assert a == b
    assert list(a.by_key) == list(b.by_key)
    assert dict(a.raw) == dict(b.raw) and a.rejected == b.rejected
    assert sorted(map(str, got.diagnostics)) == sorted(map(str, want.diagnostics))
    assert (got.loaded, got.left_out, got.skipped_kinds) == (want.loaded, want.left_out, want.skipped_kinds)


def _full(kubeconfig: Path, docs: list[RawDoc]) -> LoadResult:
    with open_cluster(str(kubeconfig), None, None, timeout=5) as fresh:
        fresh.list()  # what a source holds besides the docs: warnings, notes, the MeshConfig read
        return fresh.build(docs)  # its first build: whole


def _retarget(data: dict) -> dict:
    http = data["spec"].setdefault("http", [{}])
    http.insert(0, {"match": [{"headers": {"x-test": {"exact": "1"}}}], "route": [{"destination": {"host": data["spec"]["hosts"][0]}}]})
    return data


def test_a_changed_virtual_service_is_built_around(source: ClusterSource, kubeconfig: Path) -> None:
    docs = source.list()
    first = source.build(docs)
    docs2 = _with(docs, "VirtualService", _retarget)
    got = source.build(docs2)
    assert got.snapshot.registry is first.snapshot.registry  # built around: the registry is kept
    _same(got, _full(kubeconfig, docs2))
    # two changes since the last build (a coalesced update): one removed, one invalid
    docs3 = _with(_with(docs2, "DestinationRule", lambda d: None), "Sidecar" if any(
        d.data.get("kind") == "Sidecar" for d in docs2) else "VirtualService",
        lambda d: {**d, "spec": {**d["spec"], "hosts": []}} if d["kind"] == "VirtualService" else d)
    got3 = source.build(docs3)
    assert got3.snapshot.registry is first.snapshot.registry
    _same(got3, _full(kubeconfig, docs3))


def test_a_changed_service_is_a_full_build(source: ClusterSource, kubeconfig: Path) -> None:
    docs = source.list()
    first = source.build(docs)

    def relabel(d: dict) -> dict:
        d["spec"]["selector"] = {**d["spec"].get("selector", {}), "extra": "x"}
        return d

    docs2 = _with(docs, "Service", relabel)
    got = source.build(docs2)
    assert got.snapshot.registry is not first.snapshot.registry
    _same(got, _full(kubeconfig, docs2))
