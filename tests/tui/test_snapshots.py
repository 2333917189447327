"""SVG snapshots of every view at fixed sizes (80x24, the floor, and larger), on the fixed mesh
in tests/tui/mesh, with the cursor blink and animations off. Update after a deliberate change:

    .venv/bin/python -m pytest tests/tui/test_snapshots.py --snapshot-update

and look at the report (snapshot_report.html) before committing the new SVGs."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, TextArea
from tui_kit import make_app, settle, wait_for

from meshtui.tui.tracing import TraceQuery

JASON = TraceQuery(source="default/productpage-v1-0", url="http://reviews:9080/reviews/1", headers=("end-user: jason",))


async def _ready(pilot) -> None:
    app = pilot.app
    await settle(pilot)
    await wait_for(pilot, lambda: app.workspace is not None and app.workspace.findings is not None, what="analysis")
    await settle(pilot)


def test_resources_80x24(snap_compare):
    async def run_before(pilot):
        await _ready(pilot)
        pilot.app.screen.go_to(("VirtualService", "default", "reviews"))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_resources_wide_with_finding(snap_compare):
    async def run_before(pilot):
        await _ready(pilot)
        pilot.app.screen.go_to(("DestinationRule", "default", "details"))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(130, 36), run_before=run_before)


def _trace_ready(app):
    return lambda: app.last_trace is not None and app.last_trace.query == JASON


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_trace(snap_compare, size):
    async def run_before(pilot):
        await _ready(pilot)
        await wait_for(pilot, _trace_ready(pilot.app), what="the trace")
        pilot.app.screen.query_one("#steps").focus()
        await settle(pilot)

    assert snap_compare(make_app(start_view="trace", trace=JASON), terminal_size=size, run_before=run_before)


def test_trace_light_theme_fault(snap_compare):
    q = TraceQuery(source="default/productpage-v1-0", url="http://ratings:9080/ratings/1", headers=("x-test: delay",))

    async def run_before(pilot):
        pilot.app.theme = "meshtui-light"
        await _ready(pilot)
        await wait_for(pilot, lambda: pilot.app.last_trace is not None and pilot.app.last_trace.query == q)
        pilot.app.screen.query_one("#steps").focus()
        await settle(pilot)

    assert snap_compare(make_app(start_view="trace", trace=q), terminal_size=(100, 30), run_before=run_before)


def test_whatif_after_an_edit(snap_compare):
    async def run_before(pilot):
        await _ready(pilot)
        wi = pilot.app.screen
        await wait_for(pilot, lambda: wi.before is not None)
        editor = wi.query_one("#wi-editor", TextArea)
        editor.load_text(editor.text.replace("exact: jason", "exact: alice"))
        await wait_for(pilot, lambda: wi.after is not None and wi.after.trace is not None
                       and wi.after.trace.route_name == "default", what="the edited trace")
        wi.query_one("#wi-diff").focus()
        await settle(pilot)

    app = make_app(start_view="whatif", trace=JASON)
    app.whatif_key = ("VirtualService", "default", "reviews")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_gameday_without_a_control_plane(snap_compare):
    assert snap_compare(make_app(start_view="gameday"), terminal_size=(80, 24), run_before=_ready)


def test_proxies_and_generated_routes(snap_compare):
    async def run_before(pilot):
        await _ready(pilot)
        table = pilot.app.screen.query_one("#px-workloads", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await settle(pilot)
        pc = pilot.app.screen
        pc.query_one("#pc-tabs").active = "pc-tab-routes"
        await wait_for(pilot, lambda: pc.query_one("#pc-routes", DataTable).row_count > 0)
        pc.query_one("#pc-routes", DataTable).focus()
        await settle(pilot)

    assert snap_compare(make_app(start_view="proxies"), terminal_size=(120, 30), run_before=run_before)


def test_findings(snap_compare):
    assert snap_compare(make_app(start_view="findings"), terminal_size=(100, 24), run_before=_ready)


def test_help(snap_compare):
    async def run_before(pilot):
        await _ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=run_before)


def test_command_line_open(snap_compare):
    async def run_before(pilot):
        await _ready(pilot)
        await pilot.press("colon", "d")
        await settle(pilot)
        assert pilot.app.screen.query_one("#cmdline", Input).has_focus

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


GWAPI = "fixtures/gatewayapi/mesh"


def test_gatewayapi_resources(snap_compare):
    """An HTTPRoute with a cross-namespace backend: its YAML, its parent Gateway, the
    ReferenceGrant that allows the backend, the backend and its endpoints."""

    async def run_before(pilot):
        await _ready(pilot)
        pilot.app.screen.go_to(("HTTPRoute", "shop", "checkout"))
        await settle(pilot)

    assert snap_compare(make_app(GWAPI), terminal_size=(120, 36), run_before=run_before)


def test_gatewayapi_trace(snap_compare):
    """A request through the Gateway API Gateway's proxy: the steps name the HTTPRoute's rules."""
    q = TraceQuery(source="infra/public-istio", gateway=True, url="http://shop.example.com/api/users",
                   headers=("x-canary: true",))

    async def run_before(pilot):
        await _ready(pilot)
        await wait_for(pilot, lambda: pilot.app.last_trace is not None and pilot.app.last_trace.query == q, what="the trace")
        pilot.app.screen.query_one("#steps").focus()
        await settle(pilot)

    assert snap_compare(make_app(GWAPI, start_view="trace", trace=q), terminal_size=(120, 36), run_before=run_before)
