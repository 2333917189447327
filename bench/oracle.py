"""The Istio oracle harness's time per mesh, so the sweep size (ORACLE_SWEEP) is a conscious
choice: fixture meshes (every proxy, every generated request) and generated meshes (the sweep's
proxies and request cap), split into meshtui's side and the oracle process. Needs Go (or a built
.cache/oracle/meshtui-oracle); prints figures, asserts nothing."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for p in (REPO, REPO / "tests", REPO / "tests" / "envoy", REPO / "tests" / "oracle"):
    sys.path.insert(0, str(p))

import istio_oracle


def main() -> int:
    ok, why = istio_oracle.available()
    if not ok:
        print(f"bench/oracle.py: {why}")
        return 0
    istio_oracle.ensure_binary()
    import istio_mesh
    from hypothesis import HealthCheck, given, settings
    from istio_meshgen import PROXIES, meshes
    from oracle_cases import cases, load

    from meshtui.sources.loader import load_sources

    rows = []
    for c in cases():
        if c.faults or c.missing or not c.id.startswith(("fixture-", "demo", "oracle-")):
            continue
        snap = load(c.paths)
        px = istio_mesh.distinct(snap, list(c.proxies) or None)
        t0 = time.perf_counter()
        res = istio_mesh.run_mesh(snap, c.paths, px)
        rows.append((c.id, len(px), res.requests, time.perf_counter() - t0))
    print("fixture meshes (every proxy, every generated request):")
    for cid, n, reqs, s in rows:
        print(f"  {cid:<28} {n:>3} proxies {reqs:>6} requests {s:6.2f} s")

    times: list[float] = []
    oracle_times: list[float] = []
    orig = istio_oracle._run

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return orig(*a, **k)
        finally:
            oracle_times.append(time.perf_counter() - t)

    istio_oracle._run = timed
    import tempfile

    @settings(max_examples=20, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(mesh=meshes())
    def one(mesh: str) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "mesh.yaml"
            path.write_text(mesh)
            t = time.perf_counter()
            result = load_sources([str(path)])
            if any(x.level == "Error" for x in result.diagnostics):
                return
            px = istio_mesh.distinct(result.snapshot, list(PROXIES))
            istio_mesh.run_mesh(result.snapshot, (str(path),), px, probe_limit=80)
            times.append(time.perf_counter() - t)

    one()
    istio_oracle._run = orig
    if times:
        med, p90 = statistics.median(times), sorted(times)[int(0.9 * (len(times) - 1))]
        print(f"generated meshes ({len(times)}, 4 proxies, <=80 requests each): median {med:.2f} s/mesh, p90 {p90:.2f} s; "
              f"oracle process median {statistics.median(oracle_times):.2f} s")
        for n in (100, 2000):  # one hypothesis test runs on one worker: -n 2 does not split it
            print(f"  ORACLE_SWEEP={n}: about {n * med / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
