"""Security findings: istioctl's IST0127 and IST0101 for AuthorizationPolicies and its IST0133 for a
DENY rule of HTTP attributes only, and meshtui's MT0201-MT0205 for what the server side of a trace
would refuse or let slip."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from meshtui.analyze import analyze
from meshtui.sources.loader import load_sources

REPO = Path(__file__).resolve().parents[2]
SEC = REPO / "fixtures" / "security"
SECURITY_CODES = {"IST0127", "MT0201", "MT0202", "MT0203", "MT0204", "MT0205", "MT0206"}


def findings(*overlays: str) -> Counter:
    snap = load_sources([str(REPO / "fixtures" / "bookinfo"), *(str(SEC / o) for o in overlays)]).snapshot
    return Counter((m.code, m.kind, f"{m.namespace}/{m.name}") for m in analyze(snap)
                   if m.code in SECURITY_CODES or (m.code in ("IST0101", "IST0133") and m.kind == "AuthorizationPolicy"))


def test_bookinfo_alone_has_no_security_findings():
    assert findings() == Counter()


def test_each_security_finding_once_on_its_resource():
    assert findings("analyze-findings.yaml") == Counter({
        ("IST0127", "AuthorizationPolicy", "default/nobody"): 1,
        ("IST0101", "AuthorizationPolicy", "default/nobody"): 1,
        ("MT0202", "AuthorizationPolicy", "default/allow-pp"): 1,
        ("MT0203", "AuthorizationPolicy", "default/allow-pp"): 1,
    })


def test_a_principal_rule_under_mtls_disable_alone():
    assert findings("analyze-disable-principal.yaml") == Counter({
        ("MT0202", "AuthorizationPolicy", "default/ratings-reviews-only"): 1})


def test_plaintext_to_strict_is_an_error_on_the_destination_rule():
    got = findings("strict-plaintext-client.yaml")
    assert set(got) == {("MT0201", "DestinationRule", "default/reviews")}


def test_dead_allow_rules_plaintext_identity_and_bypassable_denies():
    assert findings("analyze-identity.yaml") == Counter({
        # rule 0 (GET /details/*) is inside the DENY on GET; rule 1 (PUT) is not: one finding
        ("MT0203", "AuthorizationPolicy", "default/details-rules"): 1,
        ("MT0204", "AuthorizationPolicy", "default/ratings-from-productpage"): 1,
        # three reviews pods, one finding for the rule
        ("MT0205", "AuthorizationPolicy", "default/reviews-deny-istio-system"): 1,
        # a DENY on GET alone: on a TCP port the method cannot be read, so the rule denies every connection
        ("IST0133", "AuthorizationPolicy", "default/details-no-reads"): 1,
    })


def test_the_trace_overlays_with_a_plaintext_identity_rule_is_a_finding():
    # the trace denies this (tests/translate/test_server_side.py); analyze says why before any request
    assert findings("permissive-principal.yaml") == Counter({("MT0204", "AuthorizationPolicy", "default/ratings-from-productpage"): 1})


def test_a_deny_that_does_not_cover_the_allow_rule_is_no_finding():
    from meshtui.analyze.security import deny_covers
    from meshtui.model.security import AuthorizationRule, Operation, RuleTo

    def rule(**op) -> AuthorizationRule:
        return AuthorizationRule(to=(RuleTo(operation=Operation(**op)),))

    assert deny_covers(AuthorizationRule(), rule(methods=("GET",)))  # a DENY on everything covers all
    assert deny_covers(rule(methods=("GET", "HEAD")), rule(methods=("GET",), paths=("/x",)))
    assert not deny_covers(rule(methods=("GET",)), rule(methods=("GET", "PUT")))  # PUT slips past
    assert not deny_covers(rule(methods=("GET",)), AuthorizationRule())  # the ALLOW admits more than GET
    assert not deny_covers(rule(not_methods=("GET",)), rule(methods=("PUT",)))  # negations are not judged


def test_the_overlays_the_trace_denies_are_not_findings_by_themselves():
    # a DENY on a header, or an ALLOW that admits one identity, is policy, not a mistake
    assert findings("deny-jason.yaml") == Counter() and findings("ratings-allow-reviews.yaml") == Counter()


def test_a_deny_rule_of_http_attributes_only_closes_tcp_ports():
    """Istio's validation rule (IST0133), field by field: only `from` attributes a TCP filter reads
    (principals, namespaces, IP blocks, service accounts) or `to` ports keep the rule off TCP ports."""
    from meshtui.analyze.security import denies_tcp_for_http_only as closes
    from meshtui.model.security import AuthorizationRule, Condition, Operation, RuleFrom, RuleSource, RuleTo

    def rule(src: RuleSource | None = None, op: Operation | None = None, when: tuple[Condition, ...] = ()):
        return AuthorizationRule(from_=(RuleFrom(source=src),) if src else (), to=(RuleTo(operation=op),) if op else (),
                                 when=when)

    assert closes(rule(op=Operation(methods=("GET",))))
    assert closes(rule(op=Operation(paths=("/admin",), hosts=("a",))))
    assert closes(rule(src=RuleSource(request_principals=("*",))))  # a JWT principal is HTTP only
    assert closes(rule(src=RuleSource(trust_domains=("td",))))  # not among the TCP fields Istio lists
    assert closes(rule(src=RuleSource(principals=("p",)), op=Operation(methods=("GET",))))  # the `to` has no port
    assert not closes(rule(src=RuleSource(principals=("p",))))
    assert not closes(rule(src=RuleSource(not_ip_blocks=("10.0.0.0/8",))))
    assert not closes(rule(op=Operation(ports=("8080",), methods=("GET",))))
    assert not closes(rule(op=Operation(not_ports=("9000",), paths=("/x",))))
    assert not closes(rule(when=(Condition(key="request.headers[x]", values=("1",)),)))  # `when` alone: no warning
    assert not closes(AuthorizationRule())


def test_http_only_deny_is_warned_once_per_policy_and_never_for_allow(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("""apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-two, namespace: default}
spec:
  action: DENY
  rules:
  - to: [{operation: {methods: [DELETE]}}]
  - to: [{operation: {paths: [/admin]}}]
  - to: [{operation: {ports: ["8080"], methods: [PUT]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-get, namespace: default}
spec:
  rules:
  - to: [{operation: {methods: [GET]}}]
""")
    messages = [m for m in analyze(load_sources([str(f)]).snapshot) if m.code == "IST0133"]
    assert [(m.resource, m.path) for m in messages] == [("AuthorizationPolicy default/deny-two", "spec.rules[0]")]
    assert "Rules 0, 1:" in messages[0].message and messages[0].level == "Warning"
