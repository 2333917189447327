"""A real Envoy as the oracle of meshtui's tracer.

For each case (a mesh) and each distinct proxy in it, meshtui's static bootstrap runs in Envoy
with listeners bound on a loopback address and every endpoint an echo backend. Requests generated
from the proxy's own route tables go through Envoy and through `simulate`; they must agree on
every one: cluster and pod, status, redirect Location, direct response body, 404/503 details."""

from __future__ import annotations

import pytest
from oracle_cases import Case, cases, distinct_proxies
from oracle_compare import run_probes
from oracle_requests import probes_for

pytestmark = pytest.mark.envoy

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_envoy_agrees_with_simulate(case: Case, start_envoy, oracle_tally):
    if not case.available():
        pytest.skip(case.missing or f"{case.id}: sources not present ({', '.join(case.paths)})")
    proxies, dups = distinct_proxies(case)
    assert proxies, f"{case.id}: no workloads"
    sent = agreed = not_bound = 0
    problems: list[str] = []
    for name, cfg in proxies:
        envoy = start_envoy(cfg, name=name.replace("/", "_"))
        probes, _skipped = probes_for(cfg, envoy.rewired.listeners)
        res = run_probes(cfg, envoy, probes)
        sent += res.sent
        agreed += res.agreed
        not_bound += res.not_bound
        problems += [f"[{name}] {d}" for d in res.disagreements]
        envoy.stop()
    oracle_tally(case.id, sent=sent, agreed=agreed, not_bound=not_bound, duplicates=dups)
    assert not problems, f"{case.id}: {len(problems)} of {sent} requests disagree:\n" + "\n".join(problems[:40])
    assert sent >= case.min_sent, f"{case.id}: only {sent} requests generated (want at least {case.min_sent})"
