"""Helpers for the TUI tests (a module with its own name: `from conftest import` can resolve to
another folder's conftest when the whole suite runs)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
MESH = "tests/tui/mesh"


def load_mesh(path: str = MESH):
    from meshtui.sources.loader import load_sources

    return load_sources([path])


def make_app(path: str = MESH, **kw):
    """The app on a loaded mesh, as `meshtui -f PATH` would open it."""
    from meshtui.tui.app import MeshtuiApp
    from meshtui.tui.config import TuiConfig
    from meshtui.tui.workspace import SourceInfo

    kw.setdefault("config", TuiConfig())
    kw.setdefault("cursor_blink", False)
    if "demo" not in kw:
        kw.setdefault("result", load_mesh(path))
        kw.setdefault("source", SourceInfo("files", path, [path]))
    return MeshtuiApp(**kw)


async def settle(pilot, rounds: int = 3) -> None:
    """Let workers finish and messages drain (workers start more work: a few rounds)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for(pilot, predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll (bounded in time) until predicate() is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def screen_text(app) -> str:
    """The app's screen as plain text, as a person (or tmux capture-pane) reads it."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    render = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    console.print(render)
    return console.export_text(styles=False)


# ---------------------------------------------------------------- the real binary in tmux

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
