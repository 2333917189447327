"""Lazy translation (translate(..., lazy=True), used by traces) gives exactly the eager
translation: every listener, virtual host (routes, owner, notes, dropped matches), cluster and
endpoint list, and every trace, over the fixture meshes and every proxy in them."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshtui.model.snapshot import Workload
from meshtui.simulate import Request, simulate
from meshtui.sources.loader import load_sources
from meshtui.translate import translate
from meshtui.translate.lazy import LazyVirtualHost

REPO = Path(__file__).resolve().parents[2]
# every fixture mesh that loads (broken/ holds files that stop the load on purpose), each analyze
# fixture (one corner case per file) and the demo mesh
MESHES = sorted([p for p in (REPO / "fixtures").iterdir() if p.is_dir() and p.name not in ("scenarios", "broken", "analyze")]
                + [p for p in (REPO / "fixtures" / "scenarios").iterdir() if p.is_dir()]
                + sorted((REPO / "fixtures" / "analyze").glob("*.yaml"))
                + [REPO / "meshtui" / "demo" / "mesh"])


def _vh(vh) -> tuple:
    return (vh.name, vh.domains, vh.routes, vh.require_tls, vh.kind, vh.service, vh.ref, vh.notes, vh.dropped)


def _proxies(snap) -> list:
    out = [Workload("Pod", "default", "(any)", {})]
    for w in snap.workloads:
        out.append(w)
    return out


def _requests(cfg) -> list[Request]:
    reqs = []
    for rc in cfg.route_configs.values():
        port = rc.name if rc.name.isdigit() else rc.name.rpartition(":")[2]
        for vh in rc.virtual_hosts:
            for d in vh.domains[:3]:
                if "*" in d:
                    continue
                reqs.append(Request.parse(f"http://{d}:{port}/", "GET", []))
                reqs.append(Request.parse(f"http://{d}:{port}/api/v1?x=1", "POST", ["end-user: jason"]))
    return reqs[:60]


@pytest.mark.parametrize("mesh", MESHES, ids=lambda p: p.name)
def test_lazy_translation_is_the_eager_one(mesh):
    snap = load_sources([str(mesh)]).snapshot
    compared = 0
    for wl in _proxies(snap):
        eager = translate(snap, wl)
        if eager.proxy.type != "sidecar":
            continue
        # traces first, on a fresh lazy config: each builds only what it reads
        lazy = translate(snap, wl, lazy=True)
        for req in _requests(eager):
            assert simulate(lazy, req).to_json() == simulate(eager, req).to_json(), (wl.ref, req)
        lazy = translate(snap, wl, lazy=True)
        lazy_vhosts = [vh for rc in lazy.route_configs.values() for vh in rc.virtual_hosts if isinstance(vh, LazyVirtualHost)]
        if lazy_vhosts:  # nothing is built until read
            assert not any(vh.built for vh in lazy_vhosts)
            first = lazy_vhosts[len(lazy_vhosts) // 2]
            assert first.routes is not None and first.built
        some = next(iter(eager.clusters))
        assert lazy.clusters.get(some) == eager.clusters[some]  # one host built on demand, then all
        assert lazy.listeners == eager.listeners
        assert lazy.route_configs.keys() == eager.route_configs.keys()
        for name, rc in eager.route_configs.items():
            assert [_vh(v) for v in lazy.route_configs[name].virtual_hosts] == [_vh(v) for v in rc.virtual_hosts]
        assert list(lazy.clusters.items()) == list(eager.clusters.items())
        assert list(lazy.endpoints.items()) == list(eager.endpoints.items())
        assert lazy.notes == eager.notes
        compared += 1
    assert compared
