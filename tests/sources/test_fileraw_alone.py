"""FileRaw reads an object back from its own lines (a List item, one document of several), with
the same values and positions as parsing the whole file, and parses the whole file only for what
cannot be read alone (flow style)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtui.sources.fileraw import FileRaw
from meshtui.sources.loader import load_sources

REPO = Path(__file__).resolve().parents[2]

ITEM = """- apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata:
    name: vs-{i}
    namespace: default
    annotations:
      note: |
        two
        lines
  spec:
    hosts:
    - svc-{i}
    http:
    - route:
      - destination:
          host: svc-{i}
# a comment at column 0 inside the list

"""
MULTI = """# leading comment
apiVersion: v1
kind: Service
metadata:
  name: a
spec:
  ports:
  - port: 80
    name: http
...
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  ports: [{port: 80, name: http}]
"""


def _positions(d: object, path: str = "") -> dict[str, object]:
    """Every value with the positions recorded for it, flattened by path."""
    out: dict[str, object] = {}
    if isinstance(d, dict):
        out[path + "#"] = (d.line, d.column, sorted(d.pos.items(), key=str))  # type: ignore[attr-defined]  # a PosDict
        for k, v in d.items():
            out.update(_positions(v, f"{path}.{k}"))
    elif isinstance(d, list):
        out[path + "#"] = (d.line, d.column, list(d.pos))  # type: ignore[attr-defined]  # a PosList
        for i, v in enumerate(d):
            out.update(_positions(v, f"{path}[{i}]"))
    else:
        out[path] = d
    return out


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    (tmp_path / "list.yaml").write_text("apiVersion: v1\nitems:\n" + "".join(ITEM.format(i=i) for i in range(40))
                                        + 'kind: List\nmetadata:\n  resourceVersion: ""\n')
    (tmp_path / "multi.yaml").write_text(MULTI)
    vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "j", "namespace": "default"},
          "spec": {"hosts": ["j"], "http": [{"route": [{"destination": {"host": "j"}}]}]}}
    (tmp_path / "obj.json").write_text(json.dumps(vs, indent=2))
    return tmp_path


def test_objects_read_alone_match_the_whole_file(mesh: Path) -> None:
    raw = load_sources([str(mesh)]).snapshot.raw
    assert isinstance(raw, FileRaw)
    keys = sorted(raw._where)
    assert len(keys) == 43
    alone = 0
    for key in keys:
        file, line, column = raw._where[key]
        got = raw._alone(file, line, column)
        whole = raw._parsed(file).get(line)
        if got is not None:
            alone += 1
            assert _positions(got) == _positions(whole), key
    assert alone == 42  # all but the JSON object (flow style: the whole file is parsed)


def test_a_list_item_is_read_without_parsing_its_file(mesh: Path) -> None:
    raw = load_sources([str(mesh)]).snapshot.raw
    assert isinstance(raw, FileRaw)
    vs = raw[("VirtualService", "default", "vs-39")]
    assert vs["spec"]["hosts"] == ["svc-39"]
    assert vs.line == 2 + 39 * 18 + 1 and vs.column == 3
    assert vs["metadata"]["annotations"]["note"] == "two\nlines\n"
    assert not raw._files  # no file was parsed whole
    assert raw[("VirtualService", "default", "j")]["spec"]["hosts"] == ["j"]
    assert list(raw._files) == [str(mesh / "obj.json")]


def test_an_object_the_file_no_longer_holds_is_not_returned(mesh: Path) -> None:
    raw = load_sources([str(mesh)]).snapshot.raw
    (mesh / "multi.yaml").write_text(MULTI.replace("name: a", "name: renamed"))
    assert raw.get(("Service", "default", "a")) is None
    assert raw[("Service", "default", "b")]["metadata"]["name"] == "b"


def test_every_fixture_and_sample_reads_alone_as_whole() -> None:
    from tests.istio_samples import PRESENT, SAMPLES

    folders = [p for p in sorted((REPO / "fixtures").iterdir()) if p.is_dir()]
    if PRESENT:  # Istio's samples, when they are beside the checkout
        folders.append(SAMPLES)
    checked = 0
    for folder in folders:
        raw = load_sources([str(folder)]).snapshot.raw
        assert isinstance(raw, FileRaw)
        for key, (file, line, column) in raw._where.items():
            got = raw._alone(file, line, column)
            if got is not None:
                checked += 1
                assert _positions(got) == _positions(raw._parsed(file).get(line)), (key, file)
    assert checked > 100
