"""The real `meshtui` binary in a real terminal (tmux): start on the test mesh, type a trace, read
the screen with capture-pane, quit. Each test has its own tmux server (`tmux -L <unique>`), and
everything started is stopped by PID, also when the test fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import MESH, ROOT

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

MESHTUI = str(Path(sys.executable).parent / "meshtui")


def _clean_signals() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def _zombie_status(pid: int | None) -> int | None:
    """The exit status of a process that has exited but is not reaped yet (Linux /proc)."""
    if not pid:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if not fields or fields[0] != "Z" or len(fields) < 50:
        return None
    code = int(fields[49])  # exit_code, encoded as by waitpid
    return (code >> 8) & 0xFF if code & 0x7F == 0 else -(code & 0x7F)


class Tmux:
    def __init__(self) -> None:
        self.socket = f"meshtui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.pid: int | None = None

    def run(self, *args: str, check: bool = True) -> str:
        # the tmux server forks from this client: give it a clean signal mask, or a SIGCHLD blocked
        # in the test process (asyncio, Textual) leaves exited panes as zombies it never reaps
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10,
                             preexec_fn=_clean_signals)
        if check and out.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def start(self, command: str, width: int = 100, height: int = 30) -> None:
        env = {"MESHTUI_CONFIG_FILE": "/nonexistent/meshtui/config.yaml", "TEXTUAL_ANIMATIONS": "none",
               "TERM": "xterm-256color", "HOME": os.environ.get("HOME", "/tmp"), "PATH": os.environ.get("PATH", "")}
        envs = " ".join(f"{k}={v!r}" for k, v in env.items())
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                 f"cd {str(ROOT)!r} && exec env -i {envs} {command}")
        self.run("set-option", "-t", "t", "remain-on-exit", "on")
        self.pid = int(self.run("display-message", "-p", "-t", "t", "#{pane_pid}").strip())

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-S", "-200", "-t", "t")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def text(self, text: str) -> None:
        self.run("send-keys", "-t", "t", "-l", text)

    def wait(self, predicate, timeout: float = 20.0, what: str = "the screen") -> str:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            last = self.screen()
            if predicate(last):
                return last
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{last}")

    def exit_status(self, timeout: float = 10.0) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.run("display-message", "-p", "-t", "t", "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}",
                           check=False).strip().split("|")
            if len(out) == 3 and out[0] == "1" and (out[1] or out[2]):  # tmux fills the status a moment later
                return int(out[1]) if out[1] else -int(out[2])
            zombie = _zombie_status(self.pid)  # exited, but tmux has not reaped it yet
            if zombie is not None:
                return zombie
            time.sleep(0.1)
        return None

    def stop(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.run("kill-server", check=False)


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
