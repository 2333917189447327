"""A redirect keeps the Host header as the client sent it: Envoy writes it into the Location
unchanged (no lower-casing), and so must simulate, for a host typed in the URL (no -H Host)."""

from __future__ import annotations

import pytest
from oracle_cases import HERE, load
from oracle_compare import observe
from oracle_requests import Probe, dial_port

from meshtui.simulate import Request, simulate
from meshtui.translate import translate

pytestmark = pytest.mark.envoy


def test_redirect_location_keeps_the_host_case_as_sent(start_envoy, echo_pool):
    cfg = translate(load((str(HERE / "meshes" / "corners"),)), "corners/client-0")
    envoy = start_envoy(cfg, name="redirect-case")
    listener = next(ls for ls in cfg.listeners if ls.port == 80 and ls.name in envoy.rewired.listeners)
    port = dial_port(cfg, listener.port)
    checked = 0
    for host, path in (("Front.Corners", "/r-uri"), ("FRONT.corners.svc.cluster.local", "/r-scheme"), ("Front", "/r-port")):
        trace = simulate(cfg, Request.parse(f"http://{host}{path}"))
        assert trace.outcome == "redirect", trace.summary()
        assert host in (trace.location or ""), trace.location  # the case survives
        obs = observe(envoy, Probe(listener.name, port, "GET", host, path))
        assert obs is not None and obs.headers.get("location") == trace.location, (host, path, obs and obs.headers)
        checked += 1
    assert checked == 3
