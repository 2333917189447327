"""The proxies view reads each demo Envoy's admin endpoint: what it holds against what meshtui
pushed. With the real demo that is no drift; a live fault changes only the runtime, never the
config, so there is still none."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable
from tui_kit import settle, wait_for

pytestmark = [pytest.mark.envoy]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from meshtui.demo.session import DemoSession
    from meshtui.xds.journal_file import JournalFile

    tmp = tmp_path_factory.mktemp("demo")
    session = DemoSession(journal=JournalFile(tmp / "journal.jsonl"), workdir=tmp / "work", restore=False,
                          with_gateway=False)
    try:
        session.start(timeout=60)
    except Exception as exc:  # noqa: BLE001 - a machine that cannot run Envoy says why
        session.stop()
        pytest.skip(f"the demo cannot start here: {exc}")
    yield session
    session.stop()


def _rows(table: DataTable) -> list[str]:
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def test_connected_proxies_show_no_drift_and_the_drift_tab_says_so(demo):
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.screens.proxies import ProxyConfigScreen
    from meshtui.tui.workspace import SourceInfo

    demo.add_fault(host="reviews.default.svc.cluster.local", abort=503, percent=50.0, ttl=120)
    assert demo.wait_synced(timeout=15)
    app = MeshtuiApp(demo=demo, source=SourceInfo("demo", "demo"), config=TuiConfig(), start_view="proxies",
                     cursor_blink=False)
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#px-connected", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1 and "none" in _rows(table)[0], timeout=20,
                       what=f"the sidecar with its drift read: {_rows(table)}")
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        pc = app.screen
        assert isinstance(pc, ProxyConfigScreen) and pc.live
        drift = pc.query_one("#pc-drift", DataTable)
        await wait_for(pilot, lambda: drift.row_count > 0, timeout=20, what="the drift tab")
        assert any("no drift: Envoy holds what meshtui pushed" in r for r in _rows(drift)), _rows(drift)
