"""Helpers for the analyzer tests (a uniquely named module: several conftest.py exist)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "analyze"
SCENARIOS = ROOT / "fixtures" / "scenarios"


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


def assert_findings(messages, expected: dict[tuple[str, str], int]) -> None:
    """Exactly the expected (code, resource) findings; MT0002 (kinds meshtui skips) is allowed as Info."""
    got = Counter((m.code, m.resource) for m in messages if m.code != "MT0002")
    assert got == Counter(expected), "\n".join(m.log_line() for m in messages)
    assert all(m.level == "Info" for m in messages if m.code == "MT0002")
