"""Unit tests of the analyzer's parts: match implication, witnesses and regex samples, host
helpers, DestinationRule tier lookup, suppression parsing, and the core's purity."""

from __future__ import annotations

import subprocess
import sys

import pytest
from analyze_helpers import FIXTURES

from meshtui.analyze import hosts
from meshtui.analyze.message import Message
from meshtui.analyze.rules import match_implies, static_dead, string_implies
from meshtui.analyze.suppress import Suppression
from meshtui.analyze.witness import regex_samples, satisfies, witnesses
from meshtui.model.istio import HTTPMatchRequest, HTTPRoute, StringMatch


def sm(**kw) -> StringMatch:
    return StringMatch(**kw)


def m(**kw) -> HTTPMatchRequest:
    return HTTPMatchRequest(**kw)


@pytest.mark.parametrize(("b", "a", "expected"), [
    (sm(exact="/a"), sm(prefix="/"), True),
    (sm(prefix="/api/v1"), sm(prefix="/api"), True),
    (sm(prefix="/api"), sm(prefix="/api/v1"), False),
    (sm(exact="/x"), sm(exact="/x"), True),
    (sm(exact="/x"), sm(exact="/y"), False),
    (sm(regex="a.*"), sm(regex="a.*"), True),
    (sm(exact="/products/12"), sm(regex="/products/[0-9]+"), True),
    (sm(prefix="/products/"), sm(regex="/products/[0-9]+"), False),
    (sm(exact="jason"), sm(regex="*"), True),  # regex "*" is a presence match in Istio
])
def test_string_implies(b, a, expected):
    assert string_implies(b, a) is expected


@pytest.mark.parametrize(("b", "a", "expected"), [
    (None, None, True),
    (m(uri=sm(prefix="/a")), None, True),
    (None, m(uri=sm(prefix="/")), True),  # prefix / takes everything
    (None, m(uri=sm(prefix="/a")), False),
    (m(uri=sm(prefix="/a/b"), headers={"x": sm(exact="1")}), m(uri=sm(prefix="/a")), True),
    (m(uri=sm(prefix="/a")), m(uri=sm(prefix="/a"), headers={"x": sm(exact="1")}), False),
    (m(headers={"End-User": sm(exact="j")}), m(headers={"end-user": sm(prefix="")}), True),  # names are case-free
    (m(uri=sm(prefix="/A"), ignore_uri_case=True), m(uri=sm(prefix="/a")), False),
    (m(uri=sm(prefix="/A")), m(uri=sm(prefix="/a"), ignore_uri_case=True), True),
    (m(source_labels={"app": "x", "v": "1"}), m(source_labels={"app": "x"}), True),
    (m(source_labels={"app": "x"}), m(source_labels={"app": "x", "v": "1"}), False),
    (m(port=80), m(port=8080), False),
    (m(without_headers={"x": sm(exact="1")}), m(without_headers={"x": sm(exact="1")}), True),
    (m(), m(without_headers={"x": sm(exact="1")}), False),
])
def test_match_implies(b, a, expected):
    assert match_implies(b, a) is expected


def test_static_dead():
    rules = (HTTPRoute(match=(m(uri=sm(prefix="/a")),)),
             HTTPRoute(match=(m(uri=sm(prefix="/a/b")), m(uri=sm(prefix="/c")))),  # match 0 covered
             HTTPRoute(match=(m(uri=sm(exact="/a/x")),)),  # wholly covered
             HTTPRoute(),  # catch-all
             HTTPRoute(match=(m(uri=sm(prefix="/z")),)))  # after the catch-all
    dead = {(d.rule, d.match, d.by_rule) for d in static_dead(rules, match_implies)}
    # a wholly covered rule is named, and so is its covered match (as istioctl: IST0130 and IST0131)
    assert dead == {(1, 0, (0,)), (2, None, (0,)), (2, 0, (0,)), (4, None, (3,))}


@pytest.mark.parametrize("pattern", ["/api/v[0-9]+/.*", r"^/products/\d+$", "(foo|bar)-[a-z]{3}", "[^/]+", "/x(/.*)?",
                                     "v1|v2", r"\w+@example\.com"])
def test_regex_samples_really_match(pattern):
    from meshtui.model.regex import full_match

    samples = regex_samples(pattern)
    assert samples and all(full_match(pattern, s) for s in samples)


def test_witnesses_satisfy_their_match():
    match = m(uri=sm(regex="/api/v[0-9]+/.*"), method=sm(exact="POST"), headers={"end-user": sm(prefix="ja")},
              query_params={"debug": sm(exact="1")}, without_headers={"x-canary": sm(exact="")})
    ws = witnesses(match, "reviews", 9080)
    assert ws and all(satisfies(match, w) for w in ws)
    w = ws[0]
    assert w.method == "POST" and w.headers["end-user"].startswith("ja") and "debug=1" in w.query
    assert "x-canary" in w.headers  # absent would count as "" and be refused


def test_hosts():
    assert hosts.expand("reviews", "default") == "reviews.default.svc.cluster.local"
    assert hosts.expand("reviews.default", "x") == "reviews.default"  # dotted names are literal
    assert hosts.covers("*.example.com", "a.example.com") and not hosts.covers("*.example.com", "example.com")
    assert hosts.covers("*", "*.x") and not hosts.covers("a.b", "*.b")
    assert hosts.matches("*.com", "*.example.com")
    assert hosts.gateway_ref("gw", "ns") == "ns/gw" and hosts.gateway_ref("./gw", "ns") == "ns/gw"
    assert hosts.gateway_ref("gw.istio-system.svc.cluster.local", "ns") == "istio-system/gw"


def test_findings_agree_with_traces(tmp_path):
    """What MT0107, MT0102 and MT0101 claim is what `meshtui trace` shows for the same request."""
    from meshtui.analyze import analyze
    from meshtui.simulate import Request, simulate
    from meshtui.sources.loader import load_sources
    from meshtui.translate import TranslateOptions, translate

    extra = tmp_path / "route.yaml"
    extra.write_text("""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
""")
    snap = load_sources([str(FIXTURES / "mt0107-dr-shadowed-by-wildcard.yaml"), str(extra)]).snapshot
    assert [(m.code, m.resource) for m in analyze(snap)] == [("MT0107", "DestinationRule bookinfo/reviews")]
    req = Request("GET", "http", "reviews.bookinfo.svc.cluster.local", 9080, "/", "", {})

    def outcome(ns):
        return simulate(translate(snap, f"{ns}/{'web' if ns == 'frontend' else 'reviews-v2'}",
                                  TranslateOptions(proxy_type="sidecar")), req).outcome

    assert outcome("frontend") == "cluster-not-found"  # the subset is hidden from frontend's clients
    assert outcome("bookinfo") == "routed"

    snap = load_sources([str(FIXTURES / "mt0102-subset-without-endpoints.yaml")]).snapshot
    cfg = translate(snap, __import__("meshtui.model.snapshot", fromlist=["Workload"]).Workload("Pod", "default", "c", {}),
                    TranslateOptions(proxy_type="sidecar"))
    trace = simulate(cfg, Request("GET", "http", "reviews.default.svc.cluster.local", 9080, "/", "", {}))
    v2 = next(d for d in trace.destinations if d.subset == "v2")
    assert v2.endpoints == [] and round(v2.probability, 2) == 0.2  # MT0102: 20% to a subset with no ready endpoint

    snap = load_sources([str(FIXTURES / "mt0101-shadowed-rule.yaml")]).snapshot
    cfg = translate(snap, "default/reviews", TranslateOptions(proxy_type="sidecar"))
    shadowed = Request("GET", "http", "reviews.default.svc.cluster.local", 9080, "/api/v2/x", "", {"end-user": "jason"})
    assert simulate(cfg, shadowed).route_name == "api"  # the request rule "v2-api" wants goes to "api"


@pytest.mark.parametrize(("rule", "hit"), [
    ("IST0101=VirtualService reviews.default", True),
    ("IST0101=VirtualService default/reviews", True),
    ("IST01*=* *.default", True),
    ("IST0101=VirtualService reviews.prod", False),
    ("MT0101=VirtualService reviews.default", False),
])
def test_suppression_match(rule, hit):
    msg = Message("IST0101", "Error", "VirtualService", "default", "reviews", "x.")
    assert Suppression.parse(rule).matches(msg) is hit


def test_analyze_core_is_pure():
    """meshtui.analyze imports no UI, grpc or kubernetes code (DESIGN: the core is pure)."""
    code = ("import sys, meshtui.analyze; from meshtui.analyze import all_analyzers; all_analyzers(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'grpc', 'kubernetes')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
