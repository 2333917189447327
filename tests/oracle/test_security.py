"""The server side against Istio: fixtures/bookinfo with each fixtures/security overlay
(PeerAuthentication modes, AuthorizationPolicies), every proxy's config compared as in
test_translation.py (the virtualInbound chains once meshtui generates them: category "inbound")
and every generated request's server-side verdict (allowed, denied by which policy, refused at the
TLS layer) compared with Istio's inbound simulation and istiod's RBAC filters (category "server")."""

from __future__ import annotations

from pathlib import Path

import pytest
from istio_check import check

REPO = Path(__file__).resolve().parents[2]
BOOKINFO = REPO / "fixtures" / "bookinfo"
OVERLAYS = sorted((REPO / "fixtures" / "security").glob("*.yaml"))


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[f"security-{p.stem}" for p in OVERLAYS])
def test_server_side_agrees_with_istio(overlay: Path, record_tally):
    # every overlay's verdicts concern bookinfo's calls: productpage's and reviews' clients
    check(f"security-{overlay.stem}", (str(BOOKINFO), str(overlay)), (), record_tally, kind="security", min_server=20)
