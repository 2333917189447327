"""Pilot: trace a request, read the verdict, open the YAML at the matched rule, come back."""

from __future__ import annotations

from textual.widgets import Input, OptionList
from tui_kit import make_app, screen_text, settle, wait_for

from meshtui.tui.screens.trace import TraceScreen
from meshtui.tui.screens.yaml_screen import YamlScreen
from meshtui.tui.widgets.yaml_view import YamlView


async def _type(pilot, text: str) -> None:
    await pilot.press(*[c if c != " " else "space" for c in text])


async def test_trace_then_open_the_matched_rule(pilot_size=(100, 32)):
    app = make_app(start_view="trace")
    async with app.run_test(size=pilot_size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        # the form starts with a request worth looking at, already traced
        await wait_for(pilot, lambda: app.last_trace is not None, what="the first trace")

        # type our own request: from productpage, jason's reviews
        screen.query_one("#src", Input).value = "default/productpage-v1-0"
        url = screen.query_one("#url", Input)
        url.value = ""
        url.focus()
        await _type(pilot, "http://reviews:9080/reviews/1")
        hdr = screen.query_one("#hdr-new", Input)
        hdr.focus()
        await _type(pilot, "end-user: jason")
        await pilot.press("enter")  # adds the header to the list
        await wait_for(pilot, lambda: app.last_trace and app.last_trace.trace
                       and app.last_trace.query.headers == ("end-user: jason",)
                       and app.last_trace.query.url.endswith("/reviews/1"), what="the typed trace")
        t = app.last_trace.trace
        assert t.outcome == "routed"
        assert [d.subset for d in t.destinations] == ["v2"]
        text = screen_text(app)
        assert "ROUTED" in text and "reviews.default v2" in text and "100.0%" in text

        # Enter on the highlighted step (the selected route) opens the VS at that rule
        steps = screen.query_one("#steps", OptionList)
        route_index = next(i for i, s in enumerate(t.steps) if s.stage == "route" and s.verdict == "selected")
        assert steps.highlighted == route_index
        steps.focus()
        await pilot.press("enter")
        await settle(pilot)
        ys = app.screen
        assert isinstance(ys, YamlScreen)
        assert ys.key == ("VirtualService", "default", "reviews")
        view = ys.query_one(YamlView)
        rule_line = t.steps[route_index].ref.line
        assert view.target == rule_line
        assert view.cursor_file_line == rule_line
        # the step points at the match that matched: spec.http[0].match[0] of the jason rule
        assert t.steps[route_index].ref.path == "spec.http[0].match[0]"
        lines = view.doc.lines
        at = rule_line - view.doc.first_line
        assert lines[at].strip() == "- headers:"
        assert "- name: jason" in [x.strip() for x in lines[at - 3:at]]
        await wait_for(pilot, lambda: "▶" in screen_text(app), what="▶")
        # esc goes back to the workbench with the trace still there
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert app.last_trace.trace is t


async def test_retrace_as_you_type_and_errors_in_place():
    app = make_app(start_view="trace")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        screen = app.screen
        url = screen.query_one("#url", Input)
        url.value = "http://ratings:9080/"
        await wait_for(pilot, lambda: app.last_trace and app.last_trace.query.url == "http://ratings:9080/")
        assert app.last_trace.trace.route_name == "default"
        assert app.last_trace.trace.timeout == 3.0
        # a header typed but not yet added already counts
        hdr = screen.query_one("#hdr-new", Input)
        hdr.value = "x-test: delay"
        await wait_for(pilot, lambda: app.last_trace.query.headers == ("x-test: delay",))
        t = app.last_trace.trace
        assert t.route_name == "testers" and t.fault.delay.probability == 0.5
        await wait_for(pilot, lambda: "⚡ fault" in screen_text(app), what="⚡ fault")
        # a broken URL is said in place, and nothing crashes
        url.value = "http://reviews:99999/"
        await wait_for(pilot, lambda: app.last_trace.query.url == "http://reviews:99999/")
        assert app.last_trace.trace is None
        assert "port" in app.last_trace.error and "99999" in screen_text(app)


async def test_header_editor_keys():
    app = make_app(start_view="trace")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        screen = app.screen
        hdr = screen.query_one("#hdr-new", Input)
        hdr.focus()
        await _type(pilot, "end-user: jason")
        await pilot.press("enter")
        await _type(pilot, "x-b: 1")
        await pilot.press("enter")
        editor = screen.query_one("HeaderEditor")
        assert editor.headers == ["end-user: jason", "x-b: 1"]
        await pilot.press("up")  # the last header comes back into the input to edit
        assert hdr.value == "x-b: 1" and editor.headers == ["end-user: jason"]
        hdr.value = ""
        await pilot.press("backspace")  # empty input: removes the last header
        assert editor.headers == []
        await pilot.press("enter")


async def test_gateway_trace_and_source_picker():
    app = make_app(start_view="trace")
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("ctrl+g")  # sidecar -> gateway
        await pilot.press("ctrl+o")  # the picker lists gateway workloads only
        await settle(pilot)
        picker = app.screen
        items = picker.items
        assert items == ["istio-system/istio-ingressgateway-0"]
        await pilot.press("enter")
        await settle(pilot)
        assert screen.query_one("#src", Input).value == "istio-system/istio-ingressgateway-0"
        screen.query_one("#url", Input).value = "http://bookinfo.example.com/productpage"
        await wait_for(pilot, lambda: app.last_trace and app.last_trace.query.gateway
                       and app.last_trace.query.url.endswith("/productpage") and app.last_trace.trace is not None)
        t = app.last_trace.trace
        assert t.proxy.type == "router" and t.outcome == "routed"
        assert t.destinations[0].host == "productpage.default.svc.cluster.local"
