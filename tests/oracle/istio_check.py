"""One mesh checked against istiod, as every differential test does it: run both sides, classify
the differences against the documented ones, record the figures, and fail on an undocumented
difference or on a documented one that no longer occurs in its witness case."""

from __future__ import annotations

from istio_gatewayapi import compare_status
from istio_known import KNOWN, classify
from istio_mesh import MeshResult, distinct, run_mesh
from oracle_cases import load


def report(diffs, limit: int = 40) -> str:
    lines = [str(d) for d in diffs[:limit]]
    if len(diffs) > limit:
        lines.append(f"... and {len(diffs) - limit} more")
    return "\n".join(lines)


def check(case_id: str, paths: tuple[str, ...], proxies: tuple[str, ...], record_tally, kind: str = "translation",
          min_server: int = 0) -> MeshResult:
    snap = load(paths)
    chosen = distinct(snap, list(proxies) or None)
    res = run_mesh(snap, paths, chosen)
    if snap.gateway_api or res.gateway_status:
        res.tally.add(compare_status(snap, res.gateway_status))
    unknown, hits = classify(res.tally.diffs)
    record_tally({"kind": kind, "case": case_id, "meshes": 1, "proxies": len(chosen), "requests": res.requests,
                  **res.tally.to_json(), "known": hits, "unknown": len(unknown)})
    witnessed = {k.id for k in KNOWN if k.witness == case_id}
    missing = sorted(witnessed - set(hits))
    assert not missing, f"documented differences no longer occur in {case_id}: {missing} (update docs/oracle-differences.md)"
    assert not unknown, f"{len(unknown)} differences from istiod:\n{report(unknown)}"
    assert res.server >= min_server, f"{case_id}: only {res.server} server-side verdicts compared (want {min_server})"
    return res
