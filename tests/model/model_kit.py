"""Shared paths and helpers for the loader and model tests (pure, in-process, parallel-safe).
A module of its own name: several test folders have a conftest.py, and `from conftest import`
would find whichever was imported last."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
BROKEN = FIXTURES / "broken"


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
