"""Weighted routes: the split a real Envoy makes over 1,000 requests lies within three standard
deviations (binomial, per destination) of the probabilities simulate predicts.

A destination that names a missing cluster shows up as 503 cluster_not_found in its share. A
3-sigma band is missed by chance 0.27% of the time per destination; a run that misses it is
repeated once with fresh requests, so chance alone fails a test about once in 100,000 runs while a
wrong weight fails both runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle_cases import HERE, REPO, SCENARIOS, load
from oracle_compare import observe, three_sigma
from oracle_envoy import Client
from oracle_requests import weighted_routes, weighted_tcp

from meshtui.simulate import simulate
from meshtui.translate import translate

pytestmark = pytest.mark.envoy

N = 1000
NOT_FOUND = "<503 cluster_not_found>"

CASES = [
    ("fixture-bookinfo", (str(REPO / "fixtures" / "bookinfo"),), "default/productpage-v1"),
    ("oracle-corners", (str(HERE / "meshes" / "corners"),), "corners/client-0"),
    ("scenario-reviews-90-10", (str(SCENARIOS / "bookinfo" / "app.yaml"), str(SCENARIOS / "bookinfo" / "subsets.yaml"),
                                str(SCENARIOS / "bookinfo" / "reviews-v1-90-v2-10.yaml")), "default/productpage-v1"),
]


def _observe_new_connection(envoy, probe):
    """tcp_proxy picks its cluster per connection: one connection per request."""
    addr, port = envoy.rewired.listeners[probe.listener]
    client = Client(addr, port)
    try:
        return client.send(probe.method, probe.target, [*probe.wire_headers(), ("Connection", "close")])
    finally:
        client.close()


def _split(envoy, probe) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _ in range(N):
        obs = _observe_new_connection(envoy, probe) if probe.tcp else observe(envoy, probe)
        assert obs is not None, f"{probe.describe()}: connection closed"
        b = obs.backend
        if b is not None:
            key = b["cluster"]
        elif obs.status == 503 and obs.details == "cluster_not_found":
            key = NOT_FOUND
        else:
            raise AssertionError(f"{probe.describe()}: Envoy answered {obs.short()}")
        counts[key] = counts.get(key, 0) + 1
    return counts


def _misses(expected: dict[str, float], counts: dict[str, int]) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(counts)):
        p = expected.get(key, 0.0)
        got = counts.get(key, 0)
        band = three_sigma(N, p)
        if abs(got - N * p) > band or (p == 0 and got):
            out.append(f"{key}: {got}/{N}, predicted {p:.3f} (expected {N * p:.0f} ± {band:.0f})")
    return out


@pytest.mark.parametrize("case_id,paths,proxy", CASES, ids=[c[0] for c in CASES])
def test_weighted_split_matches_simulate(case_id, paths, proxy, start_envoy, oracle_tally):
    if not all(Path(p).exists() for p in paths):
        pytest.skip(f"{case_id}: sources not present")
    cfg = translate(load(paths), proxy)
    envoy = start_envoy(cfg, name=case_id)
    routes = [p for p, _ in weighted_routes(cfg, envoy.rewired.listeners)] + weighted_tcp(cfg, envoy.rewired.listeners)
    assert routes, f"{case_id}: no weighted route on a bound listener"
    report = []
    for probe in routes:
        trace = simulate(cfg, probe.request())
        # every share may name a missing cluster (then all of them are 503 NC, which is checked too)
        assert trace.outcome in ("routed", "cluster-not-found") and len(trace.destinations) > 1, \
            f"{probe.describe()}: simulate says {trace.summary()}"
        expected: dict[str, float] = {}
        for d in trace.destinations:
            key = d.cluster if d.cluster_found else NOT_FOUND
            expected[key] = expected.get(key, 0.0) + d.probability
        counts = _split(envoy, probe)
        misses = _misses(expected, counts)
        if misses:  # once more with fresh requests: chance rarely misses twice, a wrong weight always does
            counts = _split(envoy, probe)
            misses = _misses(expected, counts)
        assert not misses, f"{probe.describe()}: Envoy's split differs from simulate's:\n  " + "\n  ".join(misses)
        report.append(f"{probe.aim}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("\n".join(report))
    oracle_tally(f"weights {case_id}", weighted_routes=len(routes), weighted_requests=N * len(routes))
