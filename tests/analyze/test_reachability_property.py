"""Property: the unreachable-rule findings (IST0130, IST0131, MT0101) are sound and complete on
random VirtualServices over a small vocabulary of matches. Every request of a finite request space
is replayed through the tracer: a rule reported unreachable is never reached, and a rule no request
reaches is reported (for this vocabulary the witnesses always exist)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshtui.analyze import analyze
from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.model.snapshot import Workload
from meshtui.simulate import Request, simulate
from meshtui.translate import TranslateOptions, translate

URIS = [None, {"prefix": "/"}, {"prefix": "/a"}, {"prefix": "/a/b"}, {"exact": "/a"}, {"exact": "/a/b"},
        {"regex": "/a/[a-z]+"}, {"regex": "/a.*"}, {"regex": "/[ab]"}]
METHODS = [None, {"exact": "GET"}, {"exact": "POST"}, {"regex": "GET|PUT"}]
WITHOUT = [None, None, {"exact": "1"}, {}]
HEADERS = [None, {"exact": "1"}, {"exact": "2"}, {"prefix": "1"}, {"regex": "[12]"}, {}]
PATHS = ["/", "/a", "/a/b", "/a/c", "/b", "/a/bz", "/a/b/c", "/c", "/ab", "/a/1", "/A"]
VERBS = ["GET", "POST", "PUT", "DELETE"]
XS = [None, "1", "2", "12", "3", ""]  # one of each class the vocabulary can tell apart


@st.composite
def a_match(draw):
    out = {}
    uri, method, header = draw(st.sampled_from(URIS)), draw(st.sampled_from(METHODS)), draw(st.sampled_from(HEADERS))
    without = draw(st.sampled_from(WITHOUT))
    if without is not None and header is None:
        out["withoutHeaders"] = {"x": without}
    if uri:
        out["uri"] = uri
    if method:
        out["method"] = method
    if header is not None:
        out["headers"] = {"x": header}
    return out or {"uri": {"prefix": "/"}}


@st.composite
def a_rule(draw):
    matches = draw(st.lists(a_match(), min_size=0, max_size=2))
    rule = {"route": [{"destination": {"host": "svc"}}]}
    if matches:
        rule["match"] = matches
    return rule


def _mesh(rules):
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "default"},
         "spec": {"selector": {"app": "svc"}, "ports": [{"name": "http", "port": 8080}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "svc-0", "namespace": "default", "labels": {"app": "svc"}},
         "spec": {"containers": [{"name": "a", "image": "a"}]}, "status": {"podIP": "10.0.0.1", "phase": "Running"}},
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "vs", "namespace": "default"},
         "spec": {"hosts": ["svc"], "http": rules}},
    ]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(a_rule(), min_size=2, max_size=5))
def test_unreachable_findings_are_sound_and_complete(rules):
    result = build_snapshot([RawDoc(d, "mesh.yaml", 1) for d in _mesh(rules)])
    assert not result.errors, result.errors
    messages = analyze(result.snapshot, only=["virtualservice.UnreachableRules", "virtualservice.ShadowedRules"])
    dead_rules = {int(m.path.split("[")[1].split("]")[0]) for m in messages if m.code in ("IST0130", "MT0101")}
    dead_matches = {m.path for m in messages if m.code == "IST0131"}
    assert not [m for m in messages if m.code == "IST0001"]

    cfg = translate(result.snapshot, Workload("Pod", "default", "client", {}), TranslateOptions(proxy_type="sidecar"))
    reached: set[tuple[int, int | None]] = set()
    for path in PATHS:
        for verb in VERBS:
            for x in XS:
                req = Request(verb, "http", "svc.default.svc.cluster.local", 8080, path, "", {"x": x} if x else {})
                t = simulate(cfg, req)
                if t.rule_index is not None:
                    reached.add((t.rule_index, t.match_index))
    reached_rules = {r for r, _ in reached}
    # sound: nothing reported unreachable is reached
    assert not dead_rules & reached_rules, (rules, [m.log_line() for m in messages])
    for p in dead_matches:
        i = int(p.split("[")[1].split("]")[0])
        j = int(p.rsplit("[", 1)[1].rstrip("]"))
        assert (i, j) not in reached, (rules, p)
    # complete: every rule no request reaches is reported
    unreached = set(range(len(rules))) - reached_rules
    assert unreached <= dead_rules, (rules, unreached, [m.log_line() for m in messages])
