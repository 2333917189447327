"""Fixtures for the loader and model tests; the helpers live in model_kit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model_kit import REPO


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository as working directory, so file names in messages are relative."""
    monkeypatch.chdir(REPO)
    return REPO
