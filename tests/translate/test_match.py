"""Config-time match predicates (translate/match.py): one verdict with its reason, used by the
HTTP routes, the TCP/TLS chains of sidecars and gateways, and the trace."""

from __future__ import annotations

from tracer_kit import client, mesh, svc, vs

from meshtui.model.istio import HTTPMatchRequest, L4MatchAttributes, TLSMatchAttributes
from meshtui.translate import TranslateOptions, translate
from meshtui.translate.match import (
    MatchField,
    ProxySide,
    config_covers,
    gateway_l4_verdict,
    http_verdict,
    ignored_fields,
    sidecar_l4_verdict,
    source_covers,
)

FRONTEND = ProxySide.sidecar(9080, {"app": "frontend"}, "shop")


def test_http_verdict_names_the_field_and_the_values():
    v = http_verdict(HTTPMatchRequest(source_labels={"app": "cart"}), FRONTEND, "shop")
    assert not v and v.field == MatchField.SOURCE_LABELS
    assert v.reason == "sourceLabels app=cart does not match app=frontend"
    v = http_verdict(HTTPMatchRequest(source_labels={"team": "a"}), FRONTEND, "shop")
    assert v.reason == "sourceLabels team=a does not match team unset"
    v = http_verdict(HTTPMatchRequest(port=8080), FRONTEND, "shop")
    assert v.field == MatchField.PORT and "8080" in v.reason and "9080" in v.reason
    v = http_verdict(HTTPMatchRequest(source_namespace="other"), FRONTEND, "shop")
    assert v.field == MatchField.SOURCE_NAMESPACE
    assert http_verdict(None, FRONTEND, "shop") and http_verdict(HTTPMatchRequest(source_labels={"app": "frontend"}), FRONTEND, "shop")


def test_http_match_with_gateways_ignores_source_fields_but_l4_does_not():
    """sourceMatchHTTP keeps a match on a named gateway whatever its sourceLabels; matchTCP/matchTLS
    require every field; a gateway's l4SingleMatch looks at port and gateways only."""
    gw = ProxySide(443, frozenset({"istio-system/gw"}), {"istio": "ingressgateway"}, "istio-system")
    m = HTTPMatchRequest(gateways=("istio-system/gw",), source_labels={"app": "x"})
    assert http_verdict(m, gw, "shop")
    assert not http_verdict(HTTPMatchRequest(gateways=("mesh",)), gw, "shop").applies
    l4 = L4MatchAttributes(gateways=("istio-system/gw",), source_labels={"app": "x"})
    assert not sidecar_l4_verdict(l4, gw, "shop") and sidecar_l4_verdict(l4, gw, "shop").field == MatchField.SOURCE_LABELS
    assert gateway_l4_verdict(l4, gw, "shop")
    # gateway names resolve against the VirtualService's namespace, in every spelling Istio accepts
    for name in ("gw.istio-system.svc.cluster.local", "istio-system/gw"):
        assert gateway_l4_verdict(L4MatchAttributes(gateways=(name,)), gw, "shop")
    assert gateway_l4_verdict(L4MatchAttributes(gateways=("gw",)), gw, "istio-system")
    assert not gateway_l4_verdict(L4MatchAttributes(gateways=("gw",)), gw, "shop")


def test_ignored_fields_are_reported_not_dropped_silently():
    assert ignored_fields(L4MatchAttributes(source_subnet="10.0.0.0/8"))[0][0] == MatchField.SOURCE_SUBNET
    assert ignored_fields(L4MatchAttributes(destination_subnets=("10.0.0.0/8",))) == ()
    fields = {f for f, _ in ignored_fields(TLSMatchAttributes(sni_hosts=("a",), destination_subnets=("10.0.0.0/8",),
                                                              source_labels={"a": "b"}), gateway=True)}
    assert fields == {MatchField.DESTINATION_SUBNETS, MatchField.SOURCE_LABELS}


def test_covers():
    narrow = HTTPMatchRequest(source_labels={"app": "a", "v": "1"}, port=80)
    broad = HTTPMatchRequest(source_labels={"app": "a"})
    assert config_covers(broad, narrow) and not config_covers(narrow, broad)
    assert not config_covers(HTTPMatchRequest(port=80), None) and config_covers(None, narrow)
    assert source_covers(HTTPMatchRequest(source_namespace="x"), HTTPMatchRequest(), "x")
    assert not source_covers(HTTPMatchRequest(source_namespace="x"), HTTPMatchRequest(), None)


def test_trace_says_which_match_was_dropped_for_this_proxy_and_why(trace):
    m = mesh(svc("reviews", versions=("v1", "v2")) + client(labels="{app: frontend}") + vs("r", """
  hosts: [reviews]
  http:
  - name: cart-only
    match: [{sourceLabels: {app: cart}}]
    route: [{destination: {host: reviews}}]
  - route: [{destination: {host: reviews}}]
"""))
    t = trace(m, "http://reviews:9080/")
    skipped = [s for s in t.steps if s.verdict == "skipped"]
    assert [s.detail for s in skipped] == ["http[0].match[0] (cart-only) dropped for this proxy: sourceLabels app=cart does not match app=frontend"]
    assert skipped[0].ref is not None and skipped[0].ref.path == "spec.http[0].match[0]"
    assert t.rule_index == 1


TCP = svc("db", port=5432, port_name="tcp", ip="10.96.0.50")


def test_sidecar_tcp_match_for_a_gateway_is_not_kept_on_sidecars():
    """matchTCP checks gateways too: a match bound to a gateway is not a sidecar's (it used to be)."""
    m = mesh(TCP + client() + vs("db", """
  hosts: [db]
  tcp:
  - match: [{gateways: [istio-system/gw]}]
    route: [{destination: {host: db, subset: gw}}]
  - route: [{destination: {host: db}}]
"""))
    cfg = translate(m, "default/client")
    ls = cfg.listener_for("10.96.0.50", 5432)
    assert ls is not None
    chains = ls.chains + ([ls.default_chain] if ls.default_chain else [])
    assert chains[0].name == "spec.tcp[1]"
    assert any("tcp[0].match[0] dropped for this proxy: gateways [istio-system/gw]" in n for n in cfg.notes)
    from meshtui.simulate import Request, simulate

    t = simulate(cfg, Request.parse("http://db:5432/"))
    skipped = [s for s in t.steps if s.verdict == "skipped"]
    assert len(skipped) == 1 and skipped[0].stage == "filter-chain" and skipped[0].ref.path == "spec.tcp[0].match[0]"
    assert "tcp[0].match[0] dropped for this proxy: gateways [istio-system/gw] do not include this proxy (mesh)" in skipped[0].detail
    assert t.destinations[0].subset == ""


def test_source_subnet_is_said_to_be_ignored():
    m = mesh(TCP + client() + vs("db", """
  hosts: [db]
  tcp:
  - match: [{sourceSubnet: 10.0.0.0/8}]
    route: [{destination: {host: db}}]
"""))
    cfg = translate(m, "default/client")
    assert any("sourceSubnet 10.0.0.0/8 is ignored" in n for n in cfg.notes)


def test_stat_prefix_is_rendered_on_the_route():
    m = mesh(svc("reviews") + client() + vs("r", """
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /a}, statPrefix: reviews-a}]
    route: [{destination: {host: reviews}}]
"""))
    res = translate(m, "default/client", TranslateOptions()).envoy_resources()
    routes = [r for rc in res.routes for vh in rc["virtual_hosts"] for r in vh["routes"]]
    assert [r.get("stat_prefix") for r in routes if r["name"] != "allow_any"][:1] == ["reviews-a"]
