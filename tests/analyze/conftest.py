"""Fixtures for the analyzer tests; helpers live in analyze_helpers.py."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def analyze_files():
    from meshtui.analyze import analyze
    from meshtui.sources.loader import load_sources

    def run(*paths, namespace: str = "default"):
        result = load_sources([str(p) for p in paths], default_namespace=namespace)
        # certificates are judged at a fixed time (the fixtures' are valid 2025-2125 or expired in 2021)
        return analyze(result.snapshot, result.diagnostics, now=datetime(2026, 6, 1, tzinfo=UTC))

    return run
