"""meshtui against istiod on the same meshes: for every distinct proxy of the project's fixtures,
scenario meshes, the demo mesh, the Envoy oracle's corner-case mesh and Istio's samples (when
../shared has them), the listeners, route configurations, virtual hosts, ordered routes,
clusters and endpoints must agree, and so must the trace of every generated request with Istio's
simulation. A difference is a failure unless docs/oracle-differences.md documents it
(istio_known.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from istio_check import check
from oracle_cases import Case, cases

HERE = Path(__file__).resolve().parent
# divergences the hypothesis sweep found, fixed, and kept as concrete meshes (each file says what)
REGRESSIONS = [Case(f"regression-{p.stem}", (str(p),)) for p in sorted((HERE / "regressions").glob("*.yaml"))]
# live game-day faults are meshtui's own edits; the Gateway API fixtures are test_gatewayapi_istiod.py's,
# which compares each status file with the mesh and a Gateway the API server refuses for admission only
CASES = [c for c in cases() if not c.faults and not c.id.startswith("fixture-gatewayapi")] + REGRESSIONS


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mesh_agrees_with_istiod(case: Case, record_tally):
    if case.missing:
        pytest.skip(case.missing)
    check(case.id, case.paths, case.proxies, record_tally)
