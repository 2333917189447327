"""The Istio oracle suite: every test here runs Istio's own Go packages (oracle/). Without Go
(and no built binary) they are skipped with one line saying so. Each test records what it
compared in .cache/oracle/tally/, which `make oracle` sums (tests/oracle/summary.py), so the
figures survive pytest-xdist workers."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "envoy"))  # the Envoy oracle's cases and request generator

import istio_oracle

TALLY_DIR = istio_oracle.REPO / ".cache" / "oracle" / "tally"


def pytest_collection_modifyitems(config, items):
    ok, why = istio_oracle.available()
    mine = [it for it in items if Path(str(it.fspath)).resolve().is_relative_to(HERE)]
    for it in mine:
        it.add_marker(pytest.mark.oracle)
        if not ok:
            it.add_marker(pytest.mark.skip(reason=why))
    config._oracle_missing = "" if ok or not mine else why


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    why = getattr(config, "_oracle_missing", "")
    if why:
        terminalreporter.write_line(why)


@pytest.fixture
def record_tally(request):
    """Write this test's figures (a dict) where the summary printer finds them."""

    def write(data: dict) -> None:
        TALLY_DIR.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-180:]
        (TALLY_DIR / f"{name}.json").write_text(json.dumps(data, sort_keys=True))

    return write
