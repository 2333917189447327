"""The sweep: hypothesis-generated meshes (istio_meshgen.py) through meshtui and istiod, every
proxy's config and generated requests compared as in test_translation.py. ORACLE_SWEEP sets how
many meshes: 100 by default and in CI (make oracle), ORACLE_SWEEP=2000 for the large local run,
0 to leave it out; bench/oracle.py prints the time per mesh. A failing example is shrunk by
hypothesis to a small mesh; each divergence it found is fixed in meshtui and kept as a named
mesh in tests/oracle/regressions (docs/oracle-differences.md, "Fixed")."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from istio_diff import Tally
from istio_known import classify
from istio_mesh import distinct, run_mesh
from istio_meshgen import PROXIES, meshes

from meshtui.sources.loader import load_sources

SWEEP = int(os.environ.get("ORACLE_SWEEP", "100"))
pytestmark = pytest.mark.skipif(SWEEP == 0, reason="ORACLE_SWEEP=0: the generated-mesh sweep is left out (ORACLE_SWEEP=N runs N meshes)")
# requests per proxy in the sweep (the fixtures send every generated one)
PROBES_PER_PROXY = 80

_TOTAL = Tally()
_COUNT = {"meshes": 0, "proxies": 0, "requests": 0, "rejected": 0}


def check_mesh(text: str) -> tuple[list, Tally, int, int]:
    """(undocumented differences, tally, proxies, requests) for one generated mesh."""
    with tempfile.TemporaryDirectory(prefix="meshtui-oracle-") as d:
        path = Path(d) / "mesh.yaml"
        path.write_text(text)
        result = load_sources([str(path)])
        errors = [x for x in result.diagnostics if x.level == "Error"]
        if errors:
            _COUNT["rejected"] += 1
        assume(not errors)
        proxies = distinct(result.snapshot, list(PROXIES))
        res = run_mesh(result.snapshot, (str(path),), proxies, probe_limit=PROBES_PER_PROXY)
    unknown, _ = classify(res.tally.diffs)
    return unknown, res.tally, len(proxies), res.requests


@settings(max_examples=max(SWEEP, 1), deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(mesh=meshes())
def test_generated_meshes_agree_with_istiod(mesh: str, record_tally):
    unknown, tally, nproxies, nrequests = check_mesh(mesh)
    _TOTAL.add(tally)
    _COUNT["meshes"] += 1
    _COUNT["proxies"] += nproxies
    _COUNT["requests"] += nrequests
    _, hits = classify(_TOTAL.diffs)
    record_tally({"kind": "generated", **_COUNT, **_TOTAL.to_json(), "known": hits,
                  "unknown": len(classify(_TOTAL.diffs)[0])})
    assert not unknown, "generated mesh differs from istiod:\n" + "\n".join(str(d) for d in unknown[:30]) + "\n\n" + mesh
