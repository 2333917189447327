"""Shared set-up for the TUI tests: a fixed mesh (tests/tui/mesh), no user config, no
animations, paths relative to the repository (so snapshots do not depend on where it lives).
Helpers live in tui_kit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tui_kit import ROOT


@pytest.fixture(autouse=True)
def _tui_env(monkeypatch):
    # a fixed path that does not exist: no user config is read, and the help screen is stable
    monkeypatch.setenv("MESHTUI_CONFIG_FILE", "/nonexistent/meshtui/config.yaml")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("EDITOR", "true")
    monkeypatch.chdir(ROOT)
