"""The request-property match fields (translate/match.py REQUEST_FIELDS): one entry per field, and
everything that follows from it: the Envoy RouteMatch, the trace's reasons, the analyzer's
implication and witnesses, delegate merging, and fields reported instead of dropped silently."""

from __future__ import annotations

import dataclasses

from tracer_kit import client, mesh, svc, vs

from meshtui.analyze.rules import match_implies
from meshtui.analyze.witness import satisfies, variants, witnesses
from meshtui.model.istio import HTTPMatchRequest, L4MatchAttributes, StringMatch, TLSMatchAttributes
from meshtui.model.schema import camel
from meshtui.simulate import Request, explain_route
from meshtui.translate import translate
from meshtui.translate.config import HeaderMatcher, QueryMatcher, Route, RouteMatch, StringMatcher
from meshtui.translate.match import (
    MODIFIER_FIELDS,
    REQUEST_FIELDS,
    ROUTE_NAMING_FIELDS,
    MatchField,
    ignored_request_keys,
    route_match,
)


def sm(**kw: str) -> StringMatch:
    return StringMatch(**kw)


def test_every_model_field_of_a_match_has_one_home():
    """A field added to HTTPMatchRequest must be placed: a request field, a config-time field, a
    modifier or a route name. Else translation, the trace and the analyzers would skip it silently."""
    homes = [f.name for f in REQUEST_FIELDS] + [str(f) for f in MatchField] + list(MODIFIER_FIELDS) + list(ROUTE_NAMING_FIELDS)
    model = {camel(f.name) for f in dataclasses.fields(HTTPMatchRequest) if f.name != "src"}
    assert model <= set(homes), model - set(homes)
    assert len(homes) == len(set(homes))
    for f in REQUEST_FIELDS:  # each entry names a real attribute
        assert camel(f.attr) == f.name
    # TCP/TLS matches: config-time fields, and SNI (the chain's server names)
    for cls in (L4MatchAttributes, TLSMatchAttributes):
        fields = {camel(f.name) for f in dataclasses.fields(cls) if f.name != "src"}
        assert fields <= {str(f) for f in MatchField} | {"sniHosts"}, fields


FULL = HTTPMatchRequest(uri=sm(prefix="/api"), ignore_uri_case=True, method=sm(exact="GET"), authority=sm(prefix="shop"),
                        scheme=sm(exact="http"), headers={"X-User": sm(exact="jason"), "x-any": sm(regex="*")},
                        without_headers={"x-debug": sm(), "x-env": sm(exact="test")}, query_params={"v": sm(regex="[0-9]+")})


def test_route_match_in_istio_order():
    assert route_match(FULL) == RouteMatch("prefix", "/api", False, (
        HeaderMatcher("x-user", StringMatcher("exact", "jason")),
        HeaderMatcher("x-any", StringMatcher("present")),
        HeaderMatcher("x-debug", StringMatcher("present"), invert=True),
        HeaderMatcher("x-env", StringMatcher("exact", "test"), invert=True, treat_missing_as_empty=True),
        HeaderMatcher(":method", StringMatcher("exact", "GET")),
        HeaderMatcher(":authority", StringMatcher("prefix", "shop")),
        HeaderMatcher(":scheme", StringMatcher("exact", "http")),
    ), (QueryMatcher("v", StringMatcher("regex", "[0-9]+")),))
    assert route_match(None) == RouteMatch() and route_match(HTTPMatchRequest(uri=sm(exact="/a"))).path_kind == "path"


def test_the_trace_names_each_field_with_expected_and_actual():
    route = Route("", route_match(FULL))
    ok = Request.parse("http://shop.example/API/x?v=12", "GET", ["X-User: jason", "x-any: 1"])
    assert explain_route(route, ok) is None
    cases = {
        "http://shop.example/other": "uri prefix '/api' (ignoring case) does not match '/other'",
        "http://shop.example/api?v=x": "query parameter 'v' must be regex '[0-9]+', but it is 'x'",
        "http://shop.example/api": "query parameter 'v' must be regex '[0-9]+', but the request has none",
        "http://cart.example/api?v=1": "authority must be prefix 'shop', but it is 'cart.example'",
    }
    for url, why in cases.items():
        assert explain_route(route, Request.parse(url, "GET", ["X-User: jason", "x-any: 1"])) == why
    assert explain_route(route, Request.parse("http://shop.example/api?v=1", "POST", ["X-User: jason", "x-any: 1"])) == \
        "method must be exact 'GET', but it is 'POST'"
    assert explain_route(route, Request.parse("http://shop.example/api?v=1", "GET", ["x-any: 1"])) == \
        "header 'x-user' must be exact 'jason', but the request has no such header"
    assert explain_route(route, Request.parse("http://shop.example/api?v=1", "GET", ["X-User: jason", "x-any: 1", "x-env: test"])) == \
        "withoutHeaders: header 'x-env' must not be exact 'test', but it is 'test'"
    assert explain_route(route, Request.parse("http://shop.example/api?v=1", "GET", ["X-User: jason", "x-any: 1", "x-debug: 1"])) == \
        "withoutHeaders: header 'x-debug' must be absent, but it is '1'"


def test_witnesses_and_variants_come_from_the_table():
    ws = witnesses(FULL, "shop.example", 80)
    assert ws and all(satisfies(FULL, w) for w in ws)
    w = ws[0]
    assert w.method == "GET" and w.scheme == "http" and w.authority.startswith("shop")
    assert w.headers["x-user"] == "jason" and "x-debug" not in w.headers and w.query_params()["v"].isdigit()
    # a later match that only differs by a header escapes the earlier one by dropping it
    later = HTTPMatchRequest(uri=sm(prefix="/api"))
    escapes = variants(later, Request("GET", "http", "shop.example", 80, "/api", "", {"x-user": "jason"}),
                       HTTPMatchRequest(headers={"x-user": sm(exact="jason")}), [80])
    assert escapes and all("x-user" not in e.headers or e.headers["x-user"] != "jason" for e in escapes)


def test_implication_field_by_field():
    a = HTTPMatchRequest(method=sm(prefix="G"), headers={"X-A": sm(prefix="1")}, query_params={"q": sm()})
    assert match_implies(HTTPMatchRequest(method=sm(exact="GET"), headers={"x-a": sm(exact="12")}, query_params={"q": sm(exact="")}), a)
    assert not match_implies(HTTPMatchRequest(method=sm(exact="GET"), headers={"x-a": sm(exact="12")}, query_params={"Q": sm()}), a)
    assert not match_implies(HTTPMatchRequest(headers={"x-a": sm(exact="12")}, query_params={"q": sm()}), a)
    w = HTTPMatchRequest(without_headers={"x": sm(exact="1")})
    assert match_implies(HTTPMatchRequest(without_headers={"X": sm(exact="1")}), w)
    assert not match_implies(HTTPMatchRequest(without_headers={"x": sm(exact="2")}), w)


def test_reserved_and_jwt_claim_keys_are_reported_not_dropped_silently():
    m = HTTPMatchRequest(headers={"method": sm(exact="GET"), "@request.auth.claims.group": sm(exact="admin"), "x": sm()},
                         without_headers={"@request.auth.claims.iss": sm(exact="evil")})
    why = ignored_request_keys(m)
    assert len(why) == 3
    assert "headers.method is ignored" in why[0] and "headers.@request.auth.claims.group" in why[1] and "left out" in why[1]
    assert "withoutHeaders.@request.auth.claims.iss" in why[2] and "treated as absent" in why[2]
    assert [h.name for h in route_match(m).headers] == ["x", "@request.auth.claims.iss"]
    cfg = translate(mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - match: [{headers: {"@request.auth.claims.group": {exact: admin}}}]
    route: [{destination: {host: reviews}}]
""")), "default/client")
    notes = [n for rc in cfg.route_configs.values() for vh in rc.virtual_hosts for n in vh.notes]
    assert any("default/r spec.http[0].match[0]: headers.@request.auth.claims.group matches a JWT claim" in n for n in notes)


def test_delegate_merge_takes_every_request_field():
    from meshtui.translate.delegate import _merge_match

    root = HTTPMatchRequest(uri=sm(prefix="/a"), headers={"x": sm(exact="1")}, query_params={"r": sm()})
    child = HTTPMatchRequest(uri=sm(prefix="/a/b"), method=sm(exact="GET"), headers={"y": sm(exact="2")})
    merged = _merge_match(root, child)
    assert merged.uri == sm(prefix="/a/b") and merged.method == sm(exact="GET")
    assert set(merged.headers) == {"x", "y"} and set(merged.query_params) == {"r"}
