"""Benchmark: `meshtui analyze` over a generated mesh of N resources (default 10,000).

    python bench/analyze.py [--resources 10000] [--namespaces 50] [--repeat 3]

The mesh: apps of Service + two versioned Deployments + two Pods + DestinationRule +
VirtualService (a header rule, a prefix rule with retries and a weighted split, a catch-all),
per-namespace Sidecars, ingress Gateways with gateway-bound VirtualServices, ServiceEntries; one
app in 40 carries a mistake (an undefined subset, a shadowed rule, a fault without percentage).
Prints the time to parse YAML into a snapshot and to analyse it, per analyzer, and the tracer's
work. Figures only: nothing here asserts on time."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from meshtui.analyze import all_analyzers
from meshtui.analyze.context import Context
from meshtui.analyze.registry import finish
from meshtui.analyze.tracing import Tracer
from meshtui.sources.loader import build_snapshot, read_docs

ISTIO = "networking.istio.io/v1"


def app(ns: str, name: str, n: int, broken: bool) -> list[dict]:
    out: list[dict] = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 8080}]}}]
    for v in ("v1", "v2"):
        labels = {"app": name, "version": v}
        out.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"{name}-{v}", "namespace": ns},
                    "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}})
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-{v}-0", "namespace": ns, "labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "x"}]},
                    "status": {"phase": "Running", "podIP": f"10.{n // 250 % 250}.{n % 250}.{1 if v == 'v1' else 2}"}})
    out.append({"apiVersion": ISTIO, "kind": "DestinationRule", "metadata": {"name": name, "namespace": ns},
                "spec": {"host": name, "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}},
                         "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]}})
    rules = [
        {"name": "tester", "match": [{"headers": {"end-user": {"exact": "tester"}}}],
         "route": [{"destination": {"host": name, "subset": "v9" if broken else "v2"}}]},
        {"name": "api", "match": [{"uri": {"prefix": "/api"}}], "timeout": "3s",
         "retries": {"attempts": 2, "perTryTimeout": "1s"},
         "route": [{"destination": {"host": name, "subset": "v1"}, "weight": 90},
                   {"destination": {"host": name, "subset": "v2"}, "weight": 10}]},
    ]
    if broken:
        rules.append({"name": "api-v2", "match": [{"uri": {"regex": "/api/v2/.*"}}],
                      "fault": {"abort": {"httpStatus": 503}},
                      "route": [{"destination": {"host": name, "subset": "v2"}}]})
    rules.append({"name": "default", "route": [{"destination": {"host": name, "subset": "v1"}}]})
    out.append({"apiVersion": ISTIO, "kind": "VirtualService", "metadata": {"name": name, "namespace": ns},
                "spec": {"hosts": [name], "http": rules}})
    return out


def mesh(total: int, namespaces: int) -> list[dict]:
    objs: list[dict] = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
         "spec": {"selector": {"matchLabels": {"istio": "ingressgateway"}},
                  "template": {"metadata": {"labels": {"istio": "ingressgateway"}}, "spec": {"containers": [{"name": "p", "image": "x"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
         "spec": {"selector": {"istio": "ingressgateway"}, "ports": [{"name": "http2", "port": 80, "targetPort": 8080}]}},
    ]
    for j in range(namespaces):
        ns = f"team-{j:03d}"
        objs.append({"apiVersion": ISTIO, "kind": "Sidecar", "metadata": {"name": "default", "namespace": ns},
                     "spec": {"egress": [{"hosts": ["./*", "istio-system/*"]}]}})
        objs.append({"apiVersion": ISTIO, "kind": "Gateway", "metadata": {"name": "public", "namespace": ns},
                     "spec": {"selector": {"istio": "ingressgateway"},
                              "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": [f"{ns}.example.com"]}]}})
        objs.append({"apiVersion": ISTIO, "kind": "ServiceEntry", "metadata": {"name": "partner", "namespace": ns},
                     "spec": {"hosts": [f"partner-{j}.example.com"], "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}],
                              "resolution": "DNS", "exportTo": ["."]}})
    n = 0
    while len(objs) + 8 <= total:
        ns = f"team-{n % namespaces:03d}"
        name = f"svc-{n:05d}"
        objs.extend(app(ns, name, n, broken=n % 40 == 7))
        if n < namespaces:  # one gateway-bound VirtualService per team
            objs.append({"apiVersion": ISTIO, "kind": "VirtualService", "metadata": {"name": "edge", "namespace": ns},
                         "spec": {"hosts": [f"{ns}.example.com"], "gateways": ["public"],
                                  "http": [{"match": [{"uri": {"prefix": "/"}}], "route": [{"destination": {"host": name}}]}]}})
        n += 1
    return objs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", type=int, default=10_000)
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    objs = mesh(a.resources, a.namespaces)
    text = yaml.safe_dump_all(objs, sort_keys=False)
    t0 = time.perf_counter()
    result = build_snapshot(read_docs("bench.yaml", text))
    load_s = time.perf_counter() - t0
    snap = result.snapshot
    print(f"mesh: {len(objs)} resources ({Counter(o['kind'] for o in objs).most_common()}), "
          f"{len(text) / 1e6:.1f} MB of YAML")
    print(f"load (YAML parse + validate + index): {load_s:.2f} s")

    runs: list[float] = []
    per: Counter = Counter()
    messages: list = []
    tracer = None
    for _ in range(a.repeat):
        tracer = Tracer(snap)
        ctx = Context(snap, tracer)
        ctx.diagnostics = list(result.diagnostics)  # type: ignore[attr-defined]  # finish() reads the load diagnostics from the context
        out = []
        t0 = time.perf_counter()
        for an in all_analyzers():
            t1 = time.perf_counter()
            out.extend(an.run(ctx))
            per[an.name] += time.perf_counter() - t1
        messages = finish(out, snap)
        runs.append(time.perf_counter() - t0)
    print(f"analyze: median {statistics.median(runs):.2f} s, best {min(runs):.2f} s over {a.repeat} runs "
          f"({len(messages)} messages: {dict(Counter(m.code for m in messages))})")
    print(f"tracer: {tracer.translations} proxy translations, {tracer.simulations} simulated requests per run")
    print("slowest analyzers (mean per run):")
    for name, secs in per.most_common(6):
        print(f"  {name:45s} {secs / a.repeat:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
