"""Security findings: istioctl's IST0127 and IST0101 for AuthorizationPolicies, and meshtui's
MT0201-MT0203 for what the server side of a trace would refuse."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from meshtui.analyze import analyze
from meshtui.sources.loader import load_sources

REPO = Path(__file__).resolve().parents[2]
SEC = REPO / "fixtures" / "security"
SECURITY_CODES = {"IST0127", "MT0201", "MT0202", "MT0203"}


def findings(*overlays: str) -> Counter:
    snap = load_sources([str(REPO / "fixtures" / "bookinfo"), *(str(SEC / o) for o in overlays)]).snapshot
    return Counter((m.code, m.kind, f"{m.namespace}/{m.name}") for m in analyze(snap)
                   if m.code in SECURITY_CODES or (m.code == "IST0101" and m.kind == "AuthorizationPolicy"))


def test_bookinfo_alone_has_no_security_findings():
    assert findings() == Counter()


def test_each_security_finding_once_on_its_resource():
    assert findings("analyze-findings.yaml") == Counter({
        ("IST0127", "AuthorizationPolicy", "default/nobody"): 1,
        ("IST0101", "AuthorizationPolicy", "default/nobody"): 1,
        ("MT0202", "AuthorizationPolicy", "default/allow-pp"): 1,
        ("MT0203", "AuthorizationPolicy", "default/allow-pp"): 1,
    })


def test_plaintext_to_strict_is_an_error_on_the_destination_rule():
    got = findings("strict-plaintext-client.yaml")
    assert set(got) == {("MT0201", "DestinationRule", "default/reviews")}


def test_the_overlays_the_trace_denies_are_not_findings_by_themselves():
    # a DENY on a header, or an ALLOW that admits one identity, is policy, not a mistake
    assert findings("deny-jason.yaml") == Counter() and findings("ratings-allow-reviews.yaml") == Counter()
