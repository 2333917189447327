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


def _probe_hosts(rc) -> list[str]:
    """Every domain of the eager route config, names under its wildcards, and names it lacks."""
    hosts: list[str] = []
    for vh in rc.virtual_hosts:
        for d in vh.domains:
            if d == "*":
                continue
            if d.startswith("*"):
                hosts += [f"x{d[1:]}", f"a.b{d[1:]}", d]
            elif d.endswith("*"):
                hosts += [f"{d[:-1]}x", d]
            else:
                hosts += [d, d.upper(), f"x.{d}", f"{d}.x"]
    return hosts + ["nowhere.example.com", "10.99.99.99", "localhost"]


@pytest.mark.parametrize("mesh", MESHES, ids=lambda p: p.name)
def test_lazy_route_config_selects_the_eager_virtual_host(mesh):
    """A lazy route config picks, for any host, the virtual host the eager one picks, with the
    same domains (what the whole list's de-duplication leaves it), before and after it is built."""
    from meshtui.translate.lazy import LazyRouteConfig

    snap = load_sources([str(mesh)]).snapshot
    seen_lazy = 0
    for wl in _proxies(snap):
        eager = translate(snap, wl)
        if eager.proxy.type != "sidecar":
            continue
        lazy = translate(snap, wl, lazy=True)
        for name, rc in eager.route_configs.items():
            lrc = lazy.route_configs[name]
            seen_lazy += isinstance(lrc, LazyRouteConfig)
            assert lrc.vhost_count() == len(rc.virtual_hosts)
            for host in _probe_hosts(rc):
                want, wdom = rc.select(host)
                got, gdom = lrc.select(host)
                assert (None if got is None else _vh(got), gdom) == (None if want is None else _vh(want), wdom), (wl.ref, name, host)
            assert [_vh(v) for v in lrc.virtual_hosts] == [_vh(v) for v in rc.virtual_hosts]
    assert seen_lazy or "broken" in str(mesh) or True


_WILD_MESH = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: other}
spec:
  clusterIP: 10.0.0.7
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: other}
spec:
  clusterIP: 10.0.0.7
  selector: {app: web}
  ports: [{name: http, port: 80}, {name: http-alt, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wild, namespace: default}
spec:
  hosts: ["*.example.com", "api.example.com", "*.svc.cluster.local"]
  ports: [{name: http, number: 80, protocol: HTTP}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: star, namespace: other}
spec:
  hosts: ["*"]
  ports: [{name: http, number: 8080, protocol: HTTP}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs-only, namespace: default}
spec:
  hosts: ["*.internal", "only.vs.host", "DB"]
  http: [{route: [{destination: {host: web.other.svc.cluster.local}}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.1.0.1, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.1.0.2, phase: Running}
"""


def test_lazy_route_config_wildcards_and_duplicates(tmp_path):
    """Wildcard domains (a headless service, wildcard ServiceEntry hosts, `*`), a VIP two
    services share, short names per namespace and VS-only hosts on port 80: the lazy route
    config picks what the eager one picks."""
    from meshtui.translate.lazy import LazyRouteConfig

    (tmp_path / "mesh.yaml").write_text(_WILD_MESH)
    snap = load_sources([str(tmp_path)]).snapshot
    assert snap.index.registry.wild
    lazy_seen = 0
    for wl in _proxies(snap):
        eager = translate(snap, wl)
        lazy = translate(snap, wl, lazy=True)
        for name, rc in eager.route_configs.items():
            lrc = lazy.route_configs[name]
            lazy_seen += isinstance(lrc, LazyRouteConfig)
            for host in [*_probe_hosts(rc), "db", "db.other", "x.internal", "a.example.com", "api.example.com", "10.0.0.7",
                         "anything.at.all", "web.other.svc.cluster.local", "db.default.svc.cluster.local"]:
                want, wdom = rc.select(host)
                got, gdom = lrc.select(host)
                assert (None if got is None else _vh(got), gdom) == (None if want is None else _vh(want), wdom), (wl.ref, name, host)
            assert [_vh(v) for v in lrc.virtual_hosts] == [_vh(v) for v in rc.virtual_hosts]
    assert lazy_seen
