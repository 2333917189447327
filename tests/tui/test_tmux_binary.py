"""The real `meshtui` binary in a real terminal (tmux): start on the test mesh, type a trace, read
the screen with capture-pane, quit. Each test has its own tmux server (`tmux -L <unique>`), and
everything started is stopped by PID, also when the test fails."""

from __future__ import annotations

import shutil
import time

import pytest
from tui_kit import MESH, MESHTUI, Tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.stop()


def test_binary_traces_a_typed_request_and_quits(tmux):
    tmux.start(f"{MESHTUI} -f {MESH} --view trace")
    first = tmux.wait(lambda s: "ROUTED" in s, what="the first trace")
    assert "1 Resources" in first and "2 Trace" in first
    # a new URL (ctrl+l focuses it, ctrl+u clears it), then a header; a person's pace between
    # keys that move the focus (Textual moves it on its next turn)
    tmux.keys("C-l")
    time.sleep(0.3)
    tmux.keys("C-u")
    tmux.wait(lambda s: "type a URL" in s, what="the cleared URL")
    tmux.text("http://reviews:9080/reviews/1")
    tmux.wait(lambda s: "GET http://reviews:9080/reviews/1" in s, what="the typed URL traced")
    tmux.keys("Tab")  # to the header input
    time.sleep(0.2)
    tmux.text("end-user: jason")
    tmux.wait(lambda s: "end-user: jason" in s, what="the typed header")
    tmux.keys("Enter")
    screen = tmux.wait(lambda s: "end-user: jason" in s and "reviews.default v2" in s, what="jason's trace")
    assert "100.0%" in screen and "ROUTED" in screen
    assert "✓ route" in screen or "route" in screen
    # esc leaves the inputs, q quits with status 0
    tmux.keys("Escape")
    time.sleep(0.3)
    tmux.keys("q")
    assert tmux.exit_status() == 0


def test_binary_without_sources_says_what_to_do(tmux, tmp_path):
    tmux.start(f"env HOME={str(tmp_path)!r} KUBECONFIG={str(tmp_path / 'none')!r} {MESHTUI}")
    status = tmux.exit_status()
    screen = tmux.screen()
    assert status == 2
    assert "meshtui demo" in screen and "-f PATH" in screen


def test_binary_bad_file_exits_2_with_file_and_line(tmux, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x\n")
    tmux.start(f"{MESHTUI} -f {str(bad)!r}")
    status = tmux.exit_status(timeout=15)
    screen = tmux.screen()
    assert status == 2, screen
    assert "bad.yaml:" in screen and "Traceback" not in screen
