"""The server side of a trace: the destination pod's sidecar, PeerAuthentication against what the
client sends, and AuthorizationPolicy in Istio's order. Each fixture overlay in
fixtures/security decides one thing; the trace must say what, naming the policy, the rule and
the condition that failed with its expected and actual values."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshtui.model.snapshot import MeshSnapshot
from meshtui.simulate import Request, simulate
from meshtui.simulate.server import ServerOutcome
from meshtui.simulate.trace import Outcome, Stage, Trace
from meshtui.sources.loader import load_sources
from meshtui.translate import translate
from meshtui.translate.rbac import string_match

REPO = Path(__file__).resolve().parents[2]
BOOKINFO = REPO / "fixtures" / "bookinfo"
SEC = REPO / "fixtures" / "security"


def snap(*overlays: str) -> MeshSnapshot:
    return load_sources([str(BOOKINFO), *(str(SEC / o) for o in overlays)]).snapshot


def trace(s: MeshSnapshot, url: str, headers: dict[str, str] | None = None, source: str = "default/productpage-v1") -> Trace:
    return simulate(translate(s, source), Request.parse(url, headers=headers or {}))


def steps(t: Trace, stage: Stage) -> list[str]:
    return [s.detail for s in t.steps if s.stage == stage]


def test_without_policies_every_destination_is_allowed_over_auto_mtls():
    t = trace(snap(), "http://reviews:9080/")
    assert t.outcome == Outcome.ROUTED
    assert [v.outcome for v in t.server] == [ServerOutcome.ALLOWED, ServerOutcome.ALLOWED]
    assert {v.client_tls for v in t.server} == {"mtls"} and {v.mtls_mode for v in t.server} == {"PERMISSIVE"}
    assert t.to_json()["server"][0]["outcome"] == "allowed"


def test_strict_mesh_with_auto_mtls_is_allowed():
    t = trace(snap("strict-mesh.yaml"), "http://reviews:9080/", {"end-user": "jason"})
    assert t.outcome == Outcome.ROUTED and t.server[0].mtls_mode == "STRICT" and t.server[0].client_tls == "mtls"


def test_strict_server_refuses_a_plaintext_client_with_503():
    t = trace(snap("strict-plaintext-client.yaml"), "http://reviews:9080/", {"end-user": "jason"})
    assert t.outcome == Outcome.TLS_REFUSED and t.status == 503 and t.response_flags == "UC"
    v = t.server[0]
    assert v.outcome is ServerOutcome.TLS_REFUSED and v.mtls_mode == "STRICT" and v.client_tls == "plaintext"
    final = next(s for s in t.steps if s.stage == Stage.PEER_AUTHENTICATION and s.expected is not None)
    assert (final.expected, final.actual) == ("mtls", "plaintext")
    assert final.ref is not None and final.ref.kind == "PeerAuthentication" and final.ref.namespace == "istio-system"
    assert any("tls.mode DISABLE" in d for d in steps(t, Stage.PEER_AUTHENTICATION))


def test_deny_policy_on_a_header_denies_jason_only():
    s = snap("deny-jason.yaml")
    t = trace(s, "http://reviews:9080/", {"end-user": "jason"})
    assert t.outcome == Outcome.DENIED and t.status == 403
    assert t.server[0].policy is not None and t.server[0].policy.name == "deny-jason" and t.server[0].rule == 0
    assert t.server[0].policy.line == 12  # the rule's line (`- when:`), for the TUI to jump to
    other = trace(s, "http://reviews:9080/", {"end-user": "alice"})
    assert other.outcome == Outcome.ROUTED
    assert any("when request.headers[end-user] must be one of ['jason'], the request has 'alice'" in d
               for d in steps(other, Stage.AUTHORIZATION))


def test_allow_policy_names_the_principal_expected_and_seen():
    s = snap("ratings-allow-reviews.yaml")
    t = trace(s, "http://ratings:9080/ratings/1")
    assert t.outcome == Outcome.DENIED and t.status == 403
    why = " ".join(steps(t, Stage.AUTHORIZATION))
    assert "principals must be one of ['cluster.local/ns/default/sa/bookinfo-reviews']" in why
    assert "the request has 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage'" in why
    # reviews' own call to ratings carries the admitted identity
    ok = trace(s, "http://ratings:9080/ratings/1", source="default/reviews-v2")
    assert ok.outcome == Outcome.ROUTED and ok.server[0].outcome is ServerOutcome.ALLOWED
    # the operation part must match too: a POST is not admitted
    post = simulate(translate(s, "default/reviews-v2"), Request.parse("http://ratings:9080/ratings/1", method="POST"))
    assert post.outcome == Outcome.DENIED and "methods must be one of ['GET'], the request has 'POST'" in " ".join(steps(post, Stage.AUTHORIZATION))


def test_an_allow_policy_without_rules_allows_nothing():
    t = trace(snap("details-allow-nothing.yaml"), "http://details:9080/details/1")
    assert t.outcome == Outcome.DENIED
    assert any("it has no rules, so it allows nothing" in d for d in steps(t, Stage.AUTHORIZATION))


def test_a_deny_on_one_subset_denies_only_its_share():
    t = trace(snap("deny-reviews-v3.yaml"), "http://reviews:9080/")
    assert t.outcome == Outcome.ROUTED
    by_subset = {v.cluster.split("|")[2]: v.outcome for v in t.server}
    assert by_subset == {"v1": ServerOutcome.ALLOWED, "v3": ServerOutcome.DENIED}
    assert any("20% of requests are refused at the server" in s.detail for s in t.steps if s.stage == Stage.OUTCOME)


def test_plaintext_into_a_permissive_server_has_no_identity_to_match():
    t = trace(snap("permissive-principal.yaml"), "http://ratings:9080/ratings/1")
    v = t.server[0]
    assert v.mtls_mode == "PERMISSIVE" and v.client_tls == "plaintext" and t.outcome == Outcome.DENIED
    assert "the request has no peer identity (no mTLS)" in " ".join(steps(t, Stage.AUTHORIZATION))


@pytest.mark.parametrize("pattern, value, expected", [
    ("*", "x", True), ("*", "", False), ("/ratings/*", "/ratings/1", True), ("/ratings/*", "/ratingsx", False),
    ("*.example.com", "a.example.com", True), ("GET", "GET", True), ("GET", "get", False),
])
def test_istio_string_matching(pattern, value, expected):
    assert string_match(pattern, value) is expected


def test_a_tcp_connection_meets_the_network_rbac_filter():
    s = snap("tcp-db.yaml")
    t = trace(s, "http://db:5432/")
    assert t.outcome == Outcome.DENIED and t.status is None
    v = t.server[0]
    assert v.outcome is ServerOutcome.DENIED and v.filter_chain == "0.0.0.0_5432"
    text = " ".join(steps(t, Stage.AUTHORIZATION))
    # the method rule is not in the TCP chain's filter; the principal rule is, and names who is admitted
    assert "rule 1" not in text and "principals must be one of ['cluster.local/ns/default/sa/bookinfo-reviews']" in text
    assert "the network RBAC filter closes the connection" in text
    ok = trace(s, "http://db:5432/", source="default/reviews-v2")
    assert ok.outcome == Outcome.ROUTED and ok.server[0].rbac_policy == "ns[default]-policy[db-clients]-rule[0]"
