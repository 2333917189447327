"""Mirrors: where simulate says a route mirrors 100% of its requests, Envoy sends a copy of every
one to that cluster (Host suffixed "-shadow"), besides the request itself."""

from __future__ import annotations

import time

import pytest
from oracle_cases import HERE, load
from oracle_compare import compare, observe
from oracle_requests import dial_port, domain_variants, make_probe, satisfy

from meshtui.simulate import simulate
from meshtui.translate import translate

pytestmark = pytest.mark.envoy

K = 20


def _mirrored_routes(cfg, bound):
    for ls in cfg.listeners:
        if ls.name not in bound:
            continue
        for ch in ls.chains:
            rc = cfg.route_configs.get(ch.rds or "") if ch.kind == "http" else None
            for vh in rc.virtual_hosts if rc else []:
                for r in vh.routes:
                    if r.action is not None and r.action.mirrors:
                        spec = satisfy(r.match)
                        port = dial_port(cfg, ls.port)
                        doms = domain_variants(vh, port)
                        if spec is not None and doms:
                            yield make_probe(ls.name, port, spec, doms[0], f"{vh.name} route {r.name!r} mirrors")


def test_envoy_mirrors_what_simulate_says(start_envoy, echo_pool, oracle_tally):
    cfg = translate(load((str(HERE / "meshes" / "corners"),)), "corners/client-0")
    envoy = start_envoy(cfg, name="mirrors")
    probes = list(_mirrored_routes(cfg, envoy.rewired.listeners))
    assert probes, "the corner mesh has mirrored routes"
    checked = 0
    for probe in probes:
        trace = simulate(cfg, probe.request())
        assert trace.mirrors, f"{probe.describe()}: simulate reports no mirror"
        # a mirror to a cluster the proxy lacks sends nothing (the trace warns so)
        full = [m for m in trace.mirrors if m.percentage >= 100 and m.cluster in cfg.clusters]
        def shadows(cluster: str) -> int:
            return sum(1 for h in echo_pool.hosts_seen(cluster) if h.endswith("-shadow"))

        before = {m.cluster: shadows(m.cluster) for m in full}
        for _ in range(K):
            obs = observe(envoy, probe)
            why = compare(trace, obs, probe)
            assert why is None, f"{probe.describe()}: {why}"
        for m in full:
            deadline = time.monotonic() + 5.0  # shadows are fire-and-forget: give them a moment
            while shadows(m.cluster) < before[m.cluster] + K and time.monotonic() < deadline:
                time.sleep(0.02)
            got = shadows(m.cluster) - before[m.cluster]
            assert got == K, f"{probe.describe()}: simulate says 100% are mirrored to {m.cluster}, it got {got} of {K}"
            checked += 1
    assert checked >= 3
    oracle_tally("mirrors", mirrors=checked)
