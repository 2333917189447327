"""Shared helpers for the analyzer tests: load fixtures and reduce messages to comparable keys."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "analyze"
SAMPLES = Path("/work/shared/samples/istio")

sys.path.insert(0, str(Path(__file__).resolve().parent))


def expectations(path: Path) -> Counter:
    """The `# expect: CODE Kind ns/name` lines at the top of a fixture, as a multiset."""
    out: Counter = Counter()
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# expect:"):
            what = line.split(":", 1)[1].strip()
            if what != "nothing":
                code, kind, ref = what.split()
                out[(code, f"{kind} {ref}")] += 1
    return out


def keys(messages) -> Counter:
    return Counter((m.code, m.resource) for m in messages)


@pytest.fixture
def analyze_files():
    from meshtui.analyze import analyze
    from meshtui.sources.loader import load_sources

    def run(*paths: str | Path, namespace: str = "default"):
        result = load_sources([str(p) for p in paths], default_namespace=namespace)
        return analyze(result.snapshot, result.diagnostics)

    return run
