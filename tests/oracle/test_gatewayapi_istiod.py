"""Kubernetes Gateway API against istiod: fixtures/gatewayapi/mesh (an Istio-managed ingress
Gateway with HTTP, HTTPS, TLS passthrough and TCP listeners and their routes, a mesh HTTPRoute
on a Service parentRef, cross-namespace backendRefs with and without a ReferenceGrant), alone and
with each fixtures/gatewayapi/status file, and the oracle's own small Gateway API mesh
(tests/oracle/gatewayapi). For every proxy (the managed gateway `<name>-istio` and the sidecars)
the config and every generated request are compared as in test_translation.py, and the status
istiod's gateway controller writes on each route parent and Gateway with meshtui's
(category gateway_status). What the API server would refuse (the oracle admits Gateway API
objects against their CRDs, as a cluster does) is compared on its own (category admission)."""

from __future__ import annotations

from pathlib import Path

import istio_oracle
import pytest
from istio_check import check, report
from istio_diff import Diff
from istio_known import KNOWN, classify
from istio_mesh import distinct, snap_has
from oracle_cases import load

REPO = Path(__file__).resolve().parents[2]
MESH = REPO / "fixtures" / "gatewayapi" / "mesh"
STATUS = sorted((REPO / "fixtures" / "gatewayapi" / "status").glob("*.yaml"))
OWN = Path(__file__).resolve().parent / "gatewayapi"
# a Gateway the API server refuses: istiod never sees it, so only its admission is compared
REFUSED = {"listener-conflict"}

CASES = [("gatewayapi-mesh", (str(MESH),)), ("oracle-gatewayapi", (str(OWN),))] + [
    (f"gatewayapi-status-{f.stem}", (str(MESH), str(f))) for f in STATUS if f.stem not in REFUSED]
ADMISSION = [(f"gatewayapi-admission-{f.stem}", (str(MESH), str(f))) for f in STATUS]


@pytest.mark.parametrize("paths", [p for _, p in CASES], ids=[c for c, _ in CASES])
def test_gateway_api_agrees_with_istiod(paths: tuple[str, ...], request, record_tally):
    res = check(request.node.callspec.id, paths, (), record_tally, kind="gatewayapi")
    assert res.tally.compared["gateway_status"] >= 3, "too few Gateway API statuses compared"


@pytest.mark.parametrize("paths", [p for _, p in ADMISSION], ids=[c for c, _ in ADMISSION])
def test_gateway_api_admission(paths: tuple[str, ...], request, record_tally):
    """Every Gateway API object the API server refuses is one meshtui refuses too."""
    case_id = request.node.callspec.id
    snap = load(paths)
    name, cfg = distinct(snap)[0]
    run = istio_oracle.run(paths, [(name, cfg.proxy.type)], [])
    diffs = [Diff("admission", r.get("file", ""), f"{r['kind']} {r.get('name', '')}", "accepted", "loaded by meshtui",
                  r.get("reason", "")) for r in run.rejected if r.get("kind") and snap_has(snap, r["kind"], r.get("name", ""))]
    unknown, hits = classify(diffs)
    record_tally({"kind": "gatewayapi", "case": case_id, "compared": {"admission": len(run.rejected) or 1},
                  "agreed": {"admission": (len(run.rejected) or 1) - len(diffs)}, "known": hits, "unknown": len(unknown)})
    missing = sorted({k.id for k in KNOWN if k.witness == case_id} - set(hits))
    assert not missing, f"documented differences no longer occur in {case_id}: {missing}"
    assert not unknown, report(unknown)
