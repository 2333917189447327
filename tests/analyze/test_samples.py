"""Istio's own samples (../shared/samples/istio when present, see tests/istio_samples.py), applied as their authors intend: the platform
files with the networking files of the same task, over the ingress gateway of a demo-profile
install (fixtures/analyze/platform). Every message is listed here and is a true finding; the
only Info allowed besides is MT0002 (kinds meshtui skips, e.g. ServiceAccount)."""

from __future__ import annotations

import pytest
from analyze_helpers import FIXTURES, assert_findings
from istio_samples import PRESENT, SAMPLES, SKIP_REASON
from sample_cases import CASES, B, N

pytestmark = pytest.mark.skipif(not PRESENT, reason=SKIP_REASON)

INSTALL = FIXTURES / "platform" / "istio-demo-ingressgateway.yaml"


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample(name, analyze_files):
    files, expected = CASES[name]
    assert_findings(analyze_files(INSTALL, *(SAMPLES / f for f in files)), expected)


def test_without_the_install_the_standard_gateway_is_assumed(analyze_files):
    """Files alone: like `istioctl analyze --use-kube=false`, a Gateway on Istio's standard ingress
    (istio=ingressgateway) is judged against the stand-in gateway istioctl assumes, not reported."""
    messages = analyze_files(SAMPLES / B, SAMPLES / N / "bookinfo-gateway.yaml")
    assert [(m.code, m.resource) for m in messages if m.code != "MT0002"] == []
