"""Shared set-up for the TUI tests: a fixed mesh (tests/tui/mesh), no user config, no
animations, paths relative to the repository (so snapshots do not depend on where it lives)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESH = "tests/tui/mesh"
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _tui_env(monkeypatch, tmp_path):
    # a fixed path that does not exist: no user config is read, and the help screen is stable
    monkeypatch.setenv("MESHTUI_CONFIG_FILE", "/nonexistent/meshtui/config.yaml")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("EDITOR", "true")
    monkeypatch.chdir(ROOT)


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


def run(coro):
    return asyncio.run(coro)
