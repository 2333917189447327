"""Fixtures for the analyzer tests; helpers live in analyze_helpers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def analyze_files():
    from meshtui.analyze import analyze
    from meshtui.sources.loader import load_sources

    def run(*paths, namespace: str = "default"):
        result = load_sources([str(p) for p in paths], default_namespace=namespace)
        return analyze(result.snapshot, result.diagnostics)

    return run
