"""Related objects from indexes (meshtui/tui/related.py) answer as a scan of every object would.

The look-ups start from what a cached snapshot can give without reading resource bodies (keys,
the model's indexes, the registry) and read only the candidates they find. Here each look-up is
replaced by a plain scan over the snapshot's objects (reading every body), and related() must
give the same list, in the same order, for every object of every fixture and of generated
meshes, both freshly parsed and read back from the snapshot cache (bodies packed). A last test
checks the point of it: showing the first object of a cached mesh reads a handful of bodies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from meshtui.model import packed
from meshtui.model.hosts import matches, resolve_short
from meshtui.model.snapshot import MeshSnapshot, labels_match
from meshtui.sources.loader import load_sources
from meshtui.tui import related as rel

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "oracle"))

Key = tuple[str, str, str]


# ---------------------------------------------------------------------- scans (every body read)


def _scan_drs_for_host(snap: MeshSnapshot, host: str) -> list[Key]:
    sfx = snap.mesh.domain_suffix
    return [dr.key for dr in snap.destination_rules if matches(resolve_short(dr.spec.host, dr.namespace, sfx), host)]


def _scan_vss_for_host(snap: MeshSnapshot, host: str) -> list[Key]:
    return [vs.key for vs in snap.virtual_services
            if any(h != "*" and matches(h, host) for h in rel._vs_hosts(snap, vs))
            or any(d == host for d, _ in rel._vs_destinations(snap, vs))]


def _scan_services_selecting(snap: MeshSnapshot, ns: str, labels: dict[str, str]) -> list[Key]:
    return [s.key for s in snap.services if s.namespace == ns and s.spec.selector and labels_match(s.spec.selector, labels)]


def _scan_controllers_in(snap: MeshSnapshot, ns: str) -> list:
    return [d for d in (*snap.deployments, *snap.statefulsets) if d.namespace == ns]


def _scan_registry_of(snap: MeshSnapshot, key: Key) -> list:
    return [rs for rs in snap.registry if rs.resource.key == key]


def _scan_svc_keys_for_host(snap: MeshSnapshot, host: str) -> list[Key]:
    out: list[Key] = []
    for rs in snap.registry:
        if (matches(host, rs.hostname) if host.startswith("*") else rs.hostname == host) and rs.resource.key not in out:
            out.append(rs.resource.key)
    return out


def _scan_route_refs(snap: MeshSnapshot) -> dict[Key, list[rel.Related]]:
    out: dict[Key, list[rel.Related]] = {}
    for route in (*snap.http_routes, *snap.grpc_routes, *snap.tcp_routes, *snap.tls_routes):
        for target, why in rel._route_targets(snap, route):
            out.setdefault(target, []).append(rel.Related(route.key, rel._BACK.get(why, why)))
    return out


SCANS = {"_drs_for_host": _scan_drs_for_host, "_vss_for_host": _scan_vss_for_host,
         "_services_selecting": _scan_services_selecting, "_controllers_in": _scan_controllers_in,
         "_registry_of": _scan_registry_of, "_svc_keys_for_host": _scan_svc_keys_for_host,
         "_route_refs": _scan_route_refs}


# ---------------------------------------------------------------------- meshes


def _folders() -> list[tuple[str, list[str]]]:
    out = [(p.name, [str(p)]) for p in sorted((ROOT / "fixtures").iterdir())
           if p.is_dir() and p.name not in ("scenarios", "broken")]
    out += [(f"scenarios/{p.name}", [str(p)]) for p in sorted((ROOT / "fixtures" / "scenarios").iterdir()) if p.is_dir()]
    out.append(("tests/tui/mesh", [str(ROOT / "tests" / "tui" / "mesh")]))
    return out


def _generated(folder: Path, count: int) -> list[tuple[str, list[str]]]:
    from hypothesis import HealthCheck, given, settings
    from istio_meshgen import meshes

    got: list[str] = []

    @settings(max_examples=count, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(m=meshes())
    def collect(m: str) -> None:
        got.append(m)

    collect()
    out = []
    for i, text in enumerate(got):
        f = folder / f"gen{i:02d}.yaml"
        f.write_text(text)
        out.append((f"generated {i}", [str(f)]))
    return out


@pytest.fixture(scope="module")
def meshes(tmp_path_factory) -> list[tuple[str, MeshSnapshot, MeshSnapshot]]:
    """(name, freshly parsed snapshot, the same read back from the snapshot cache)."""
    import scale_mesh

    tmp = tmp_path_factory.mktemp("related")
    scale = tmp / "scale"
    scale_mesh.generate(scale, 120)
    sources = [*_folders(), *_generated(tmp, 12), ("scale mesh, 120 services", [str(scale)])]
    out = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp / "xdg"))
        for name, paths in sources:
            fresh = load_sources(paths).snapshot
            load_sources(paths, cache=True)
            cached = load_sources(paths, cache=True).snapshot
            assert any(packed.PACKED in r.__dict__ for r in cached.by_key.values()), name
            out.append((name, fresh, cached))
    return out


def _hosts(snap: MeshSnapshot) -> list[str]:
    """Hosts the look-ups are asked about: every name the mesh uses, wildcards and other cases."""
    sfx = snap.mesh.domain_suffix
    hosts = {rs.hostname for rs in snap.registry}
    hosts |= {resolve_short(dr.spec.host, dr.namespace, sfx) for dr in snap.destination_rules}
    for vs in snap.virtual_services:
        hosts |= set(rel._vs_hosts(snap, vs)) | {d for d, _ in rel._vs_destinations(snap, vs)}
    hosts |= {f"*.{h.split('.', 1)[1]}" for h in list(hosts) if "." in h and not h.startswith("*")}
    hosts |= {h.upper() for h in list(hosts)} | {"*", "*.svc.cluster.local", "*.com", "nowhere.example"}
    return sorted(hosts)


# ---------------------------------------------------------------------- the comparisons


def test_every_objects_related_list_is_what_scans_give(meshes):
    compared = 0
    for name, fresh, cached in meshes:
        for snap in (fresh, cached):
            got = {key: rel.related(snap, key) for key in snap.by_key}
            with pytest.MonkeyPatch.context() as mp:
                for fn, scan in SCANS.items():
                    mp.setattr(rel, fn, scan)
                want = {key: rel.related(snap, key) for key in snap.by_key}
            for key in snap.by_key:
                assert got[key] == want[key], (name, key)
                compared += bool(want[key])
    assert compared > 1000  # related lists that are not empty, over all meshes


def test_each_look_up_is_a_scan_in_load_order(meshes):
    def in_by_key(snap: MeshSnapshot, keys: list[Key]) -> list[Key]:
        return [k for k in dict.fromkeys(keys) if k in snap.by_key]

    hits = 0
    for name, fresh, cached in meshes:
        for snap in (fresh, cached):
            for host in _hosts(snap):
                drs = rel._drs_for_host(snap, host)
                assert drs == in_by_key(snap, _scan_drs_for_host(snap, host)), (name, host)
                vss = rel._vss_for_host(snap, host)
                assert vss == in_by_key(snap, _scan_vss_for_host(snap, host)), (name, host)
                assert rel._svc_keys_for_host(snap, host) == _scan_svc_keys_for_host(snap, host), (name, host)
                hits += bool(drs) + bool(vss)
            for ns in {k[1] for k in snap.by_key}:
                assert rel._controllers_in(snap, ns) == [d for d in _scan_controllers_in(snap, ns) if d.key in snap.by_key]
                for w in snap.workloads:
                    assert rel._services_selecting(snap, ns, w.labels) == _scan_services_selecting(snap, ns, w.labels)
            for key in snap.by_key:
                assert rel._registry_of(snap, key) == _scan_registry_of(snap, key), (name, key)
    assert hits > 500


def test_a_look_up_finds_a_host_written_in_another_case(tmp_path):
    """The snapshot's VirtualService index keeps hosts in lower case; related objects compare them
    as written (a candidate from the index is checked against the VirtualService's own hosts)."""
    (tmp_path / "m.yaml").write_text("""\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: upper, namespace: shop}
spec:
  hosts: [Web.shop.svc.cluster.local]
  http: [{route: [{destination: {host: web}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: lower, namespace: shop}
spec:
  hosts: [web.shop.svc.cluster.local]
  http: [{route: [{destination: {host: other}}]}]
""")
    snap = load_sources([str(tmp_path)]).snapshot
    upper, lower = ("VirtualService", "shop", "upper"), ("VirtualService", "shop", "lower")
    assert rel._vss_for_host(snap, "web.shop.svc.cluster.local") == [upper, lower]  # upper routes there
    assert rel._vss_for_host(snap, "Web.shop.svc.cluster.local") == [upper]  # as written, not lowered
    assert rel._vss_for_host(snap, "WEB.shop.svc.cluster.local") == []


def test_the_first_object_of_a_cached_mesh_is_shown_reading_a_handful_of_bodies(tmp_path, monkeypatch):
    import scale_mesh

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    scale_mesh.generate(tmp_path / "m", 400)
    load_sources([str(tmp_path / "m")], cache=True)
    snap = load_sources([str(tmp_path / "m")], cache=True).snapshot

    def unpacked() -> int:
        return sum(1 for r in snap.by_key.values() if packed.PACKED not in r.__dict__)

    assert unpacked() == 0
    first = min(k for k in snap.by_key if k[0] == "VirtualService")
    shown = rel.related(snap, first)
    assert {k[0] for k in (r.key for r in shown)} >= {"DestinationRule", "Service", "Pod"}
    assert unpacked() <= 10, unpacked()  # the VirtualService, its Service, DestinationRule and Pods
    dr = ("DestinationRule", first[1], first[2])
    assert any(r.key == first for r in rel.related(snap, dr))  # "routes here" needs every VirtualService once
    assert all(packed.PACKED not in vs.__dict__ for vs in snap.virtual_services)
    rel.warm(snap)  # already made: nothing more is read
    svc = rel.related(snap, ("Service", first[1], first[2]))
    assert [r.key for r in svc][:2] == [first, dr]
