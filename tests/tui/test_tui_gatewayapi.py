"""The Gateway API in the TUI (issue 13), on fixtures/gatewayapi/mesh: every kind in the resource
tree, the related objects each kind lists (a route's parent Gateway and backends, a Gateway's
routes, the ReferenceGrant that allows a cross-namespace backend), `t` on a route, and a trace
through an HTTPRoute whose route step opens the HTTPRoute at the rule that matched."""

from __future__ import annotations

from textual.widgets import OptionList, Tree
from tui_kit import load_mesh, make_app, screen_text, settle, wait_for

from meshtui.tui.related import related
from meshtui.tui.screens.resources import gateway_api_query
from meshtui.tui.screens.yaml_screen import YamlScreen
from meshtui.tui.tracing import TraceQuery
from meshtui.tui.widgets.yaml_view import YamlView

MESH = "fixtures/gatewayapi/mesh"
CANARY = TraceQuery(source="infra/public-istio", gateway=True, url="http://shop.example.com/api/users",
                    headers=("x-canary: true",))


def _rel(snap, key) -> dict:
    return {r.key: r.why for r in related(snap, key)}


def test_related_objects_of_each_kind():
    snap = load_mesh(MESH).snapshot
    gw = ("KubernetesGateway", "infra", "public")
    grant = ("ReferenceGrant", "payments", "shop-routes")
    checkout = _rel(snap, ("HTTPRoute", "shop", "checkout"))
    assert checkout[gw] == "parent Gateway"
    assert checkout[("Service", "payments", "payments")] == "backend"
    assert checkout[grant] == "allows the ref to payments/payments"
    # no grant in legacy: the cross-namespace backend is listed, no ReferenceGrant is
    bridge = _rel(snap, ("HTTPRoute", "shop", "legacy-bridge"))
    assert ("Service", "legacy", "old-shop") in bridge and not any(k[0] == "ReferenceGrant" for k in bridge)
    mesh = _rel(snap, ("HTTPRoute", "shop", "reviews"))
    assert mesh[("Service", "shop", "reviews")] == "parent Service (mesh route)"
    assert mesh[("Service", "shop", "reviews-v1")] == mesh[("Service", "shop", "reviews-v2")] == "backend"
    storefront = _rel(snap, ("HTTPRoute", "shop", "storefront"))
    assert {k for k, why in storefront.items() if why == "backend"} == {("Service", "shop", s) for s in ("web", "api-v1", "api-v2")}
    gateway = _rel(snap, gw)
    assert {k for k, why in gateway.items() if why == "attached route"} == {
        ("HTTPRoute", "shop", "checkout"), ("HTTPRoute", "shop", "legacy-bridge"), ("HTTPRoute", "shop", "storefront"),
        ("GRPCRoute", "shop", "catalog"), ("TCPRoute", "shop", "db"), ("TLSRoute", "shop", "secure")}
    assert [k for k, why in gateway.items() if why == "its class"] == [("GatewayClass", "", "istio")]
    assert _rel(snap, ("GatewayClass", "", "istio")) == {gw: "a Gateway of this class"}
    g = _rel(snap, grant)
    assert g == {("HTTPRoute", "shop", "checkout"): "its ref to payments is allowed",
                 ("Service", "payments", "payments"): "the target it may refer to"}
    # and back: a backend Service names the routes that send to it, a parent Service its mesh route
    assert _rel(snap, ("Service", "payments", "payments"))[("HTTPRoute", "shop", "checkout")] == "routes here"
    assert _rel(snap, ("Service", "shop", "reviews"))[("HTTPRoute", "shop", "reviews")] == "mesh route for it"
    assert _rel(snap, ("Pod", "shop", "api-v2-0"))[("HTTPRoute", "shop", "storefront")] == "routes to it"


def test_trace_queries_for_gateway_api_objects():
    snap = load_mesh(MESH).snapshot
    q = gateway_api_query(snap, ("HTTPRoute", "shop", "checkout"))
    assert q == TraceQuery(source="infra/public-istio", gateway=True, url="https://shop.example.com/checkout")
    q = gateway_api_query(snap, ("GRPCRoute", "shop", "catalog"))
    assert q is not None and q.method == "POST" and q.url == "http://grpc.example.com/shop.Catalog/List"
    q = gateway_api_query(snap, ("HTTPRoute", "shop", "reviews"), "shop/client-0")
    assert q == TraceQuery(source="shop/client-0", url="http://reviews.shop:9080/")
    assert gateway_api_query(snap, ("Service", "shop", "web")) is None


async def test_tree_lists_the_kinds_and_t_traces_a_route():
    app = make_app(MESH)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        tree = screen.query_one(Tree)
        groups = {str(n.label).rsplit(" ", 1)[0] for n in tree.root.children for n in n.children}
        assert {"Gateway API Gateways", "HTTPRoutes", "GRPCRoutes", "TCPRoutes", "TLSRoutes", "ReferenceGrants",
                "GatewayClasses"} <= groups
        app.run_command("httproute")
        await settle(pilot)
        assert tree.border_title == "HTTPRoutes (4)"
        screen.go_to(("HTTPRoute", "shop", "checkout"))
        await settle(pilot)
        text = screen_text(app)
        assert "HTTPRoute shop/checkout" in text and "refgrant payments/shop-routes" in text
        await pilot.press("t")
        await wait_for(pilot, lambda: app.last_trace is not None and app.last_trace.query.url == "https://shop.example.com/checkout",
                       what="the trace of the route")
        assert app.last_trace.trace is not None and app.last_trace.trace.outcome == "routed"


async def test_trace_step_opens_the_httproute_rule():
    app = make_app(MESH, start_view="trace", trace=CANARY)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.last_trace is not None and app.last_trace.query == CANARY, what="the trace")
        t = app.last_trace.trace
        assert t is not None and t.outcome == "routed"
        i = next(i for i, s in enumerate(t.steps) if s.stage == "route" and s.verdict == "selected")
        ref = t.steps[i].ref
        assert (ref.kind, ref.namespace, ref.name, ref.path) == ("HTTPRoute", "shop", "storefront", "spec.rules[2].matches[0]")
        steps = app.screen.query_one("#steps", OptionList)
        assert steps.highlighted == i
        steps.focus()
        await pilot.press("enter")
        await settle(pilot)
        ys = app.screen
        assert isinstance(ys, YamlScreen) and ys.key == ("HTTPRoute", "shop", "storefront")
        view = ys.query_one(YamlView)
        assert view.target == ref.line == view.cursor_file_line
        at = ref.line - view.doc.first_line
        assert view.doc.lines[at].strip() == "- path:"  # the canary rule's match, its x-canary header below
        assert view.doc.lines[at - 2].strip() == "# canary testers always get v2"
        assert "name: x-canary" in "".join(view.doc.lines[at:at + 6])


async def test_whatif_from_a_trace_edits_the_httproute():
    """ctrl+f on a trace through a mesh HTTPRoute edits the HTTPRoute as written (istiod's
    VirtualService made from it is not in the sources), and the edit re-routes the request."""
    from textual.widgets import TextArea

    q = TraceQuery(source="shop/client-0", url="http://reviews.shop:9080/reviews/1")
    app = make_app(MESH, start_view="trace", trace=q)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.last_trace is not None and app.last_trace.query == q, what="the trace")
        await pilot.press("ctrl+f")
        await settle(pilot)
        wi = app.screen
        assert app.whatif_key == ("HTTPRoute", "shop", "reviews")
        await wait_for(pilot, lambda: wi.before is not None, what="the route's trace before the edit")
        editor = wi.query_one("#wi-editor", TextArea)
        editor.load_text(editor.text.replace("weight: 80", "weight: 0"))
        await wait_for(pilot, lambda: wi.after is not None and wi.after.trace is not None
                       and [(d.host, d.weight) for d in wi.after.trace.destinations]
                       == [("reviews-v2.shop.svc.cluster.local", 100)], what="the edited route's trace")
        assert [d.weight for d in wi.before.trace.destinations] == [80, 20]
