"""Istio's own analyzer test rows for networking (testGrid in pkg/config/analysis/analyzers/
analyzers_test.go, read from the Go module cache with its testdata): for each row, meshtui's
analyzers that mirror the row's Istio analyzer run on the row's input files, and their findings
(code and resource, as a multiset) must be the row's expected messages.

A row where meshtui is deliberately different is listed in KNOWN with the reason (the evidence
is in docs/oracle-differences.md, section "analyze") and must stay different, so the list cannot
drift. Rows that need a MeshConfig setting meshtui does not model are xfail with the reason."""

from __future__ import annotations

from collections import Counter

import pytest
from istio_analyze import GRID_MISSING, GridRow, grid_rows, istio_module, meshtui_analyze

MODULE = istio_module()
ROWS: list[GridRow] = grid_rows(MODULE) if MODULE is not None else []

# row name -> why meshtui is deliberately different (docs/oracle-differences.md, "analyze")
KNOWN: dict[str, str] = {
    "dupmatches": "meshtui proves more: a rule whose every match is implied by earlier ones (prefixes, not only "
                  "duplicates) is IST0130, and a match implied by an earlier match of the same rule is IST0131",
}
# row name -> MeshConfig setting the row depends on that meshtui does not model
NEEDS_MESH: dict[str, str] = {}


def _compare(row: GridRow) -> tuple[Counter, Counter]:
    from meshtui.analyze import all_analyzers

    assert MODULE is not None
    base = MODULE / "pkg/config/analysis/analyzers"
    mine = [a.name for a in all_analyzers() if a.istio == row.analyzer]
    got: Counter = Counter()
    if mine:
        mesh = str(base / row.mesh_config) if row.mesh_config else None
        messages = meshtui_analyze([base / f for f in row.inputs], mesh, only=mine, as_cluster=True)
        got = Counter((m.code, m.resource) for m in messages if m.code.startswith("IST"))
    return got, Counter(row.expected)


@pytest.mark.skipif(MODULE is None, reason=GRID_MISSING)
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_istio_analyzer_row(row: GridRow, record_tally):
    got, want = _compare(row)
    agree = got == want
    category = "analyze grid rows (MeshConfig)" if row.mesh_config else "analyze grid rows"
    record_tally({"kind": "analyze", "compared": {category: 1}, "agreed": {category: int(agree)}})
    diff = f"meshtui also: {sorted((got - want).elements())}\nmeshtui lacks: {sorted((want - got).elements())}"
    if row.name in NEEDS_MESH:
        if not agree:
            pytest.xfail(NEEDS_MESH[row.name])
        return
    if row.name in KNOWN:
        assert not agree, f"{row.name} now agrees with Istio: drop it from KNOWN and docs/oracle-differences.md"
        return
    assert agree, f"{row.name} ({row.analyzer}):\n{diff}"


@pytest.mark.skipif(MODULE is None, reason=GRID_MISSING)
def test_the_grid_is_the_one_measured():
    """The rows are read from Istio's source, so a new Istio version changes them: the counts here
    say which grid the figures in the issue note are about."""
    assert len([r for r in ROWS if not r.mesh_config]) == 53
    assert len([r for r in ROWS if r.mesh_config]) == 2
    assert set(KNOWN) | set(NEEDS_MESH) <= {r.name for r in ROWS}
