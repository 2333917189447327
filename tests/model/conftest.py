"""Shared paths and helpers for the loader and model tests (pure, in-process, parallel-safe)."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
BROKEN = FIXTURES / "broken"
# Istio's own sample YAML lives next to the repository (../shared/samples/istio) in the team's
# workspace; MESHTUI_ISTIO_SAMPLES points elsewhere. Tests that need it skip when it is absent.
SAMPLES = Path(os.environ.get("MESHTUI_ISTIO_SAMPLES", REPO.parent / "shared" / "samples" / "istio"))


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`meshtui ARGV` in this process: (exit code, stdout, stderr)."""
    from meshtui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def rel(path: str | Path) -> str:
    """A fixture path as the loader names it when given relative to the repository."""
    return str(Path(path).resolve().relative_to(REPO))


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository as working directory, so file names in messages are relative."""
    monkeypatch.chdir(REPO)
    return REPO
