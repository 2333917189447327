"""Pilot in cluster mode, against the loopback Kubernetes API server the cluster tests use: the
status line names the context and the watch state, a change in the cluster marks the object and
re-runs the trace, and :ctx lists the kubeconfig's contexts."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from textual.widgets import Tree
from tui_kit import screen_text, settle, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cluster_mesh import NS, bookinfo
from fakeapi import FakeApiServer, write_kubeconfig


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    api = FakeApiServer().start()
    try:
        api.add_all(bookinfo())
        kc = write_kubeconfig(tmp_path / "kubeconfig", api.url, context="test-ctx")
        monkeypatch.setenv("KUBECONFIG", str(kc))
        yield api, kc
    finally:
        api.stop()


def _label(tree: Tree, key) -> str:
    found = []

    def walk(node):
        for child in node.children:
            if child.data == key:
                found.append(str(child.label))
            walk(child)

    walk(tree.root)
    return found[0] if found else ""


async def test_cluster_watch_marks_changes_and_retraces(cluster):
    from meshtui.cluster.source import WatchOptions, open_cluster
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.workspace import SourceInfo

    api, kc = cluster
    src = open_cluster(str(kc), None, None, timeout=5)
    real_watch = src.watch
    src.watch = lambda cb, **kw: real_watch(cb, **{**kw, "options": WatchOptions(coalesce=0.05)})  # type: ignore[method-assign]  # a faster coalesce for this test only
    try:
        app = MeshtuiApp(load=lambda progress: src.load([]), cluster=src, config=TuiConfig(), cursor_blink=False,
                         source=SourceInfo("cluster", "cluster test-ctx", context="test-ctx"))
        async with app.run_test(size=(110, 32)) as pilot:
            await wait_for(pilot, lambda: app.workspace is not None, what="the cluster load")
            await wait_for(pilot, lambda: app.watch_state.startswith("watching"), what="the watch")
            await settle(pilot)
            text = screen_text(app)
            assert "cluster test-ctx" in text and "ctx test-ctx" in text and "watch: watching" in text
            vs_key = ("VirtualService", NS, "reviews")
            assert vs_key in app.workspace.snapshot.by_key

            # someone edits the reviews VirtualService in the cluster
            vs = copy.deepcopy(api.get("VirtualService", NS, "reviews"))
            vs["spec"]["http"][0].setdefault("timeout", "7s")
            api.add(vs)
            await wait_for(pilot, lambda: vs_key in app.workspace.changed, what="the watch event in the app")
            await settle(pilot)
            assert "•" in _label(app.screen.query_one(Tree), vs_key)
            assert any("changed" in n.message for n in app._notifications)

            # :ctx lists the kubeconfig's contexts
            await pilot.press("colon")
            await settle(pilot)  # the command line has the focus before the letters come
            await pilot.press("c", "t", "x", "enter")
            from meshtui.tui.screens.dialogs import PickerScreen

            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), timeout=5, what="the context picker")
            assert app.screen.items == ["test-ctx"]
            await pilot.press("escape")
    finally:
        src.close()


@pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="tmux is not installed")
def test_binary_in_cluster_mode_and_unreachable_server(cluster, tmp_path):
    from tui_kit import MESHTUI, Tmux

    _api, kc = cluster
    t = Tmux()
    try:
        t.start(f"env KUBECONFIG={str(kc)!r} {MESHTUI} --cluster")
        screen = t.wait(lambda s: "cluster test-ctx" in s and "watch: watching" in s, what="the cluster view")
        assert "VirtualServices" in screen
        t.keys("q")
        assert t.exit_status() == 0
    finally:
        t.stop()
    dead = write_kubeconfig(tmp_path / "dead", "http://127.0.0.1:9", context="dead-ctx")
    t = Tmux()
    try:
        t.start(f"{MESHTUI} --cluster --kubeconfig {str(dead)!r}")
        status = t.exit_status(timeout=20)
        screen = t.screen()
        assert status == 69, (status, screen)
        assert "127.0.0.1:9" in screen and "dead-ctx" in screen and "Traceback" not in screen
    finally:
        t.stop()
