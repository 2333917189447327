"""Every fixture under fixtures/analyze reports exactly the messages its `# expect:` lines name
(a multiset of code and resource); `# expect: nothing` fixtures report nothing at all."""

from __future__ import annotations

import pytest
from analyze_helpers import FIXTURES, ROOT, expectations, keys

from meshtui.analyze import CODES

FILES = sorted(FIXTURES.glob("*.yaml"))


def test_there_is_a_fixture_for_every_check():
    covered = {code for f in FILES for code, _ in expectations(f)}
    checks = {c for c in CODES if c.startswith(("IST01", "MT01"))} - {"IST0133"}
    assert checks - covered == set(), "checks without a fixture"
    assert any(not expectations(f) for f in FILES), "no clean fixture"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_fixture(path, analyze_files):
    messages = analyze_files(path)
    assert keys(messages) == expectations(path), "\n".join(m.log_line() for m in messages)
    for m in messages:
        # a subset that selects no pod but receives no traffic either is a note, not an error
        assert m.level == CODES[m.code].level or (m.code, m.level) == ("IST0173", "Info")
        assert m.file.endswith(path.name) and m.line, f"{m.code} has no position: {m}"
        assert m.message.endswith("."), m.message  # whole sentences: what is wrong and what to do


def test_project_bookinfo_fixture_findings(analyze_files):
    """The team's bookinfo mesh (fixtures/bookinfo): one finding at Warning or above, which istioctl
    makes too: the mesh pins productpage to a subset, the gateway route does not."""
    messages = analyze_files(ROOT / "fixtures" / "bookinfo")
    assert [(m.code, m.resource) for m in messages if m.level != "Info"] == [("IST0140", "VirtualService default/bookinfo")]


def test_messages_point_at_the_field(analyze_files):
    """file:line and the field path land on the offending field, not just the object."""
    path = FIXTURES / "ist0101-subset.yaml"
    [m] = analyze_files(path)
    lines = path.read_text().splitlines()
    assert m.path == "spec.http[0].route[1].destination"
    assert "subset: v9" in lines[m.line - 1]


def test_project_multi_namespace_fixture(analyze_files):
    """fixtures/multi-namespace holds one intended problem: a wildcard DestinationRule in frontend
    that hides backend's orders rule from frontend's clients (fixtures/README.md)."""
    messages = analyze_files(ROOT / "fixtures" / "multi-namespace")
    got = sorted((m.code, m.resource) for m in messages if m.level != "Info")
    # and what istioctl also reports there: the api canary pair and the gateway route past its subsets
    assert got == [("IST0109", "VirtualService backend/api"), ("IST0109", "VirtualService backend/api-canary"),
                   ("IST0140", "VirtualService frontend/shop"), ("MT0107", "DestinationRule backend/orders")]
