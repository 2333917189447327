"""meshtui against istiod on the same meshes: for every distinct proxy of the project's fixtures,
scenario meshes, the demo mesh, the Envoy oracle's corner-case mesh and Istio's samples (when
../shared has them), the listeners, route configurations, virtual hosts, ordered routes,
clusters and endpoints must agree, and so must the trace of every generated request with Istio's
simulation. A difference is a failure unless docs/oracle-differences.md documents it
(istio_known.py)."""

from __future__ import annotations

import pytest
from istio_known import KNOWN, classify
from istio_mesh import distinct, run_mesh
from oracle_cases import Case, cases, load

CASES = [c for c in cases() if not c.faults]  # live game-day faults are meshtui's own edits


def _report(diffs, limit: int = 40) -> str:
    lines = [str(d) for d in diffs[:limit]]
    if len(diffs) > limit:
        lines.append(f"... and {len(diffs) - limit} more")
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mesh_agrees_with_istiod(case: Case, record_tally):
    if case.missing:
        pytest.skip(case.missing)
    snap = load(case.paths)
    proxies = distinct(snap, list(case.proxies) or None)
    res = run_mesh(snap, case.paths, proxies)
    unknown, hits = classify(res.tally.diffs)
    record_tally({"kind": "translation", "case": case.id, "meshes": 1, "proxies": len(proxies),
                  "requests": res.requests, **res.tally.to_json(), "known": hits,
                  "unknown": len(unknown)})
    witnessed = {k.id for k in KNOWN if k.witness == case.id}
    missing = sorted(witnessed - set(hits))
    assert not missing, f"documented differences no longer occur in {case.id}: {missing} (update docs/oracle-differences.md)"
    assert not unknown, f"{len(unknown)} differences from istiod:\n{_report(unknown)}"
