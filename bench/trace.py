"""Tracer benchmark: a synthetic mesh of N services (a VirtualService of 5 rules and a
DestinationRule with 3 subsets each), then the time to translate one sidecar's config and the
p50/p99 of one trace after that. Prints figures; asserts nothing.

    .venv/bin/python bench/trace.py [--services 1000] [--traces 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.simulate import Request, simulate
from meshtui.translate import translate


def synthetic(n: int) -> list[RawDoc]:
    docs = []
    for i in range(n):
        name, ns = f"svc-{i}", f"ns-{i % 10}"
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                     "spec": {"selector": {"app": name}, "clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                              "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}})
        for v in range(3):
            docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-v{v}", "namespace": ns,
                                                                         "labels": {"app": name, "version": f"v{v}"}},
                         "status": {"podIP": f"10.{1 + v}.{i // 250}.{i % 250 + 1}", "phase": "Running"}})
        docs.append({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name, "namespace": ns},
                     "spec": {"host": name, "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}},
                              "subsets": [{"name": f"v{v}", "labels": {"version": f"v{v}"}} for v in range(3)]}})
        docs.append({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": ns},
                     "spec": {"hosts": [name], "http": [
                         {"name": "canary", "match": [{"headers": {"x-canary": {"exact": "1"}}}],
                          "route": [{"destination": {"host": name, "subset": "v2"}}]},
                         {"name": "api", "match": [{"uri": {"prefix": "/api/v2"}}],
                          "route": [{"destination": {"host": name, "subset": "v1"}, "weight": 90},
                                    {"destination": {"host": name, "subset": "v2"}, "weight": 10}]},
                         {"name": "legacy", "match": [{"uri": {"regex": "/legacy/[0-9]+"}}], "redirect": {"uri": "/api/v2"}},
                         {"name": "health", "match": [{"uri": {"exact": "/healthz"}}], "directResponse": {"status": 200}},
                         {"name": "default", "route": [{"destination": {"host": name, "subset": "v0"}}]},
                     ]}})
    docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "ns-0", "labels": {"app": "client"}},
                 "status": {"podIP": "10.9.9.9", "phase": "Running"}})
    return [RawDoc(d, "<synthetic>") for d in docs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--traces", type=int, default=2000)
    a = ap.parse_args()
    t0 = time.perf_counter()
    snap = build_snapshot(synthetic(a.services)).snapshot
    t1 = time.perf_counter()
    times = []
    for _ in range(3):
        s = time.perf_counter()
        cfg = translate(snap, "ns-0/client")
        times.append(time.perf_counter() - s)
    rng = random.Random(7)
    paths = ["/", "/api/v2/items", "/legacy/42", "/healthz", "/other"]
    reqs = []
    for _ in range(a.traces):
        i = rng.randrange(a.services)
        headers = ["x-canary: 1"] if rng.random() < 0.2 else []
        reqs.append(Request.parse(f"http://svc-{i}.ns-{i % 10}:8080{rng.choice(paths)}", "GET", headers))
    lat = []
    outcomes: dict[str, int] = {}
    for r in reqs:
        s = time.perf_counter()
        t = simulate(cfg, r)
        lat.append(time.perf_counter() - s)
        outcomes[t.outcome] = outcomes.get(t.outcome, 0) + 1
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    print(f"synthetic mesh: {a.services} services, {len(snap.by_key)} objects, built in {t1 - t0:.2f} s")
    print(f"translate one sidecar (ns-0/client): first {times[0]:.3f} s, then {min(times[1:]):.3f} s "
          f"({len(cfg.clusters)} clusters, {sum(len(rc.virtual_hosts) for rc in cfg.route_configs.values())} vhosts) [target < 1 s]")
    print(f"trace: p50 {p50:.3f} ms, p99 {p99:.3f} ms over {len(lat)} traces [target p50 < 0.5 ms]; outcomes {outcomes}")


if __name__ == "__main__":
    main()
