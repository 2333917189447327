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
from istio_analyze import GRID_MISSING, SECURITY, GridRow, grid_rows, istio_module, meshtui_analyze

MODULE = istio_module()
ROWS: list[GridRow] = grid_rows(MODULE) if MODULE is not None else []
SECURITY_ROWS: list[GridRow] = grid_rows(MODULE, SECURITY) if MODULE is not None else []

# row name -> why meshtui is deliberately different (docs/oracle-differences.md, "analyze")
KNOWN: dict[str, str] = {
    "dupmatches": "meshtui proves more: a rule whose every match is implied by earlier ones (prefixes, not only "
                  "duplicates) is IST0130, and a match implied by an earlier match of the same rule is IST0131",
}
# row name -> MeshConfig setting the row depends on that meshtui does not model
NEEDS_MESH: dict[str, str] = {}
# security row name -> kinds of its expected messages meshtui does not read (MT0002): those messages
# are left out of the comparison, and must still be in the row, so the list cannot drift
NOT_READ: dict[str, tuple[str, ...]] = {
    "KubernetesGatewaySelector": ("WasmPlugin", "Telemetry"),
}


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
@pytest.mark.parametrize("row", SECURITY_ROWS, ids=[r.name for r in SECURITY_ROWS])
def test_istio_security_analyzer_row(row: GridRow, record_tally):
    """Issue 13's security findings where istioctl has a code: the AuthorizationPolicy analyzer
    (IST0127, IST0101) and the Kubernetes Gateway selector analyzer (IST0166)."""
    got, want = _compare(row)
    skipped = NOT_READ.get(row.name, ())
    left_out = Counter({k: n for k, n in want.items() if k[1].split(" ")[0] in skipped})
    assert {k[1].split(" ")[0] for k in left_out} == set(skipped), f"{row.name}: NOT_READ names kinds the row no longer has"
    want -= left_out
    agree = got == want
    record_tally({"kind": "analyze", "compared": {"analyze grid rows (security)": 1},
                  "agreed": {"analyze grid rows (security)": int(agree)},
                  "not_modelled": {f"analyze grid: {k[0]} on {k[1].split(' ')[0]} (kind not read)": n
                                   for k, n in left_out.items()}})
    assert agree, f"{row.name} ({row.analyzer}):\nmeshtui also: {sorted((got - want).elements())}\n" \
                  f"meshtui lacks: {sorted((want - got).elements())}"


@pytest.mark.skipif(MODULE is None, reason=GRID_MISSING)
def test_the_grid_is_the_one_measured():
    """The rows are read from Istio's source, so a new Istio version changes them: the counts here
    say which grid the figures in the issue note are about."""
    assert len([r for r in ROWS if not r.mesh_config]) == 53
    assert len([r for r in ROWS if r.mesh_config]) == 2
    assert [r.name for r in SECURITY_ROWS] == ["authorizationpolicies", "KubernetesGatewaySelector"]
    assert set(KNOWN) | set(NEEDS_MESH) <= {r.name for r in ROWS}
