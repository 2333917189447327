"""Pilot: the TUI's game day on a separate `meshtui serve` process (`meshtui --server ADDR`), over
the control API: add a fault in the dialog, see it in the table (polled, no event stream), see it
with the CLI, revert it; with --readonly the view shows the control plane and refuses edits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input
from tui_kit import screen_text, settle, wait_for

from meshtui.sources.loader import load_sources
from meshtui.tui.controlplane import ServeControlPlane
from meshtui.tui.screens.dialogs import AddFaultScreen
from meshtui.tui.screens.gameday import GameDayScreen
from meshtui.tui.tracing import TraceQuery
from meshtui.xds.control_api import ControlClient

REPO = Path(__file__).resolve().parents[2]
MESH = REPO / "meshtui/demo/mesh"
SOURCE = "default/productpage-v1-6f9c7d5b8-pp01"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "meshtui", "serve", "-f", str(MESH), "--listen", "127.0.0.1:0",
                             "--proxy", SOURCE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"meshtui serve did not start: {proc.stderr.read()[-2000:]}")
        yield json.loads(line)["server"], str(state / "meshtui" / "token")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def control(server):
    addr, token = server
    cp = ServeControlPlane(ControlClient(addr, token_file=token))
    yield cp  # the app closes it when it exits
    with ControlClient(addr, token_file=token) as c:
        for e in c.call("ListEdits", {"kind": "fault"})["edits"]:
            c.call("RemoveEdit", {"id": e["id"], "reason": "test cleanup"})


def _app(control, **kw):
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.workspace import SourceInfo

    result = load_sources([str(MESH)])
    q = TraceQuery(source=SOURCE, url="http://reviews:9080/reviews/1")
    return MeshtuiApp(result=result, source=SourceInfo("files", str(MESH)), config=TuiConfig(), trace=q,
                      control=control, start_view="gameday", cursor_blink=False, analyze=False, **kw)


async def test_add_and_revert_a_fault_on_a_serve_process(control, server):
    addr, token = server
    app = _app(control)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        gd = app.screen
        assert isinstance(gd, GameDayScreen)
        await wait_for(pilot, lambda: f"meshtui serve at {addr}" in screen_text(app), what="the control plane in the head")
        await pilot.press("a")
        await settle(pilot)
        dlg = app.screen
        assert isinstance(dlg, AddFaultScreen)
        dlg.query_one("#f-reason", Input).value = "pilot on serve"
        await pilot.press("ctrl+s")
        # the fault is on the server (another client sees it) and in the table
        await wait_for(pilot, lambda: any(f.get("reason") == "pilot on serve" for f in control.faults()), what="the fault on the server")
        with ControlClient(addr, token_file=token) as other:
            [seen] = [e for e in other.call("ListEdits", {"kind": "fault"})["edits"] if e.get("reason") == "pilot on serve"]
        await wait_for(pilot, lambda: seen["id"] in screen_text(app), timeout=15, what="the fault in the table (polled)")
        table = gd.query_one("#gd-faults", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("d")
        await wait_for(pilot, lambda: not control.faults(), what="the revert on the server")


async def test_readonly_shows_the_control_plane_and_refuses_edits(control, server):
    control.client.call("AddFault", {"virtualService": "default/reviews", "rule": 0, "abort": 503, "percent": 5,
                                     "reason": "someone else's"})
    app = _app(control, readonly=True)
    async with app.run_test(size=(160, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "read-only, yet 1 edit(s) live" in screen_text(app), timeout=15,
                       what="read-only with the live edit")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, GameDayScreen)  # no dialog opens
        await pilot.press("X")
        await settle(pilot)
        assert isinstance(app.screen, GameDayScreen)
        assert len(control.faults()) == 1  # nothing was reverted
        assert control.readonly
