"""Load benchmark: a synthetic mesh through load_sources against a bare C-YAML parse.

Generates N services, each with a Service, 2-3 Pods (with status.podIP and Ready), a
VirtualService of several rules and a DestinationRule with subsets, one file per service, into a
temporary folder. Then times `load_sources` (read + parse with positions + validate + index) and
`yaml.load_all(Loader=CSafeLoader)` over the same files, and prints both and their ratio.

    .venv/bin/python bench/load.py [--services N] [--repeat R] [--profile]

Targets (issue 2): 5,000 resources in under 2 s, at most 1.5x the bare parse. This script prints
figures; it never fails on them (tests never assert on wall-clock time)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meshtui.sources.loader import load_sources

try:
    from yaml import CSafeLoader
except ImportError:  # pragma: no cover
    sys.exit("PyYAML was built without libyaml: the C loader is needed for a fair comparison")


def service_yaml(i: int, ns: str) -> str:
    """Service, pods, VirtualService and DestinationRule of one synthetic service, written the
    way people write them (block style, comments, quoted strings here and there)."""
    name = f"svc-{i:05d}"
    pods = 2 + i % 2
    versions = ["v1", "v2", "v3"][:pods]
    out = [f"""# service {name}
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: {name}
spec:
  selector:
    app: {name}
  ports:
  - name: http
    port: 8080
    targetPort: http-web
  - name: grpc-api
    port: 9090
    targetPort: 9090
"""]
    for j, v in enumerate(versions):
        out.append(f"""---
apiVersion: v1
kind: Pod
metadata:
  name: {name}-{v}-{j}
  namespace: {ns}
  labels:
    app: {name}
    version: {v}
spec:
  containers:
  - name: app
    image: "example.com/{name}:{v}"
    ports:
    - name: http-web
      containerPort: 8081
    - containerPort: 9090
status:
  phase: Running
  podIP: 10.{(i >> 8) & 255}.{i & 255}.{j + 1}
  conditions:
  - type: Ready
    status: "True"
""")
    out.append(f"""---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
  namespace: {ns}
spec:
  hosts:
  - {name}
  http:
  - name: canary
    match:
    - headers:
        x-canary:
          exact: "true"
      uri:
        prefix: /api/
    route:
    - destination:
        host: {name}
        subset: {versions[-1]}
    timeout: 3s
  - name: legacy
    match:
    - uri:
        regex: "/v[0-9]+/legacy/.*"
    rewrite:
      uri: /legacy/
    route:
    - destination:
        host: {name}
        subset: v1
    retries:
      attempts: 3
      perTryTimeout: 500ms
      retryOn: 5xx,reset
  - name: health
    match:
    - uri:
        exact: /healthz
    directResponse:
      status: 200
      body:
        string: ok
  - name: default
    route:
    - destination:
        host: {name}
        subset: v1
      weight: 90
    - destination:
        host: {name}
        subset: v2
      weight: 10
    fault:
      delay:
        fixedDelay: 100ms
        percentage:
          value: 0.5
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: {name}
  namespace: {ns}
spec:
  host: {name}.{ns}.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
    connectionPool:
      http:
        http1MaxPendingRequests: 100
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
  subsets:
""")
    for v in versions:
        out.append(f"""  - name: {v}
    labels:
      version: {v}
""")
    return "".join(out)


def generate(folder: Path, services: int) -> tuple[int, list[Path]]:
    files = []
    resources = 0
    for i in range(services):
        ns = f"ns-{i % 10}"
        f = folder / f"{ns}" / f"svc-{i:05d}.yaml"
        f.parent.mkdir(exist_ok=True)
        f.write_text(service_yaml(i, ns))
        files.append(f)
        resources += 3 + (2 + i % 2)
    return resources, files


def time_both(bare, load, repeat: int) -> tuple[float, float]:
    """Best of `repeat` runs of each, interleaved so that a busy machine slows both alike."""
    best_bare = best_load = float("inf")
    for _ in range(repeat):
        for fn, which in ((bare, "bare"), (load, "load")):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if which == "bare":
                best_bare = min(best_bare, dt)
            else:
                best_load = min(best_load, dt)
    return best_bare, best_load


def stage_times(files: list[Path], repeat: int) -> dict[str, float]:
    """The stages of load_sources timed apart (best of `repeat`, GC paused as load_sources does)."""
    from meshtui.model.parse import RawDoc, parse_docs
    from meshtui.model.snapshot import build
    from meshtui.model.yamlpos import parse_yaml

    best = {"read+YAML with positions": float("inf"), "typing+validation": float("inf"), "snapshot indexes": float("inf")}
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            docs = []
            for f in files:
                docs.extend(RawDoc(d.data, str(f), d.line) for d in parse_yaml(f.read_bytes().decode()))
            t1 = time.perf_counter()
            objects, diags, _, _, raws = parse_docs(docs)
            t2 = time.perf_counter()
            build(objects, diags, raw=raws)
            t3 = time.perf_counter()
        finally:
            gc.enable()
        for k, v in zip(best, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            best[k] = min(best[k], v)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=1000, help="synthetic services (5 resources each on average; default 1000 = 5,000 resources)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each measurement; the best is printed")
    ap.add_argument("--profile", action="store_true", help="profile one load_sources run with cProfile and print the top entries")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="meshtui-bench-") as tmp:
        folder = Path(tmp)
        resources, files = generate(folder, args.services)
        size = sum(f.stat().st_size for f in files)

        def bare() -> int:
            n = 0
            for f in sorted(files):
                with open(f, "rb") as fh:
                    n += sum(1 for d in yaml.load_all(fh.read().decode(), Loader=CSafeLoader) if d is not None)
            return n

        result = load_sources([str(folder)])
        if result.errors:
            for d in result.errors[:10]:
                print(d, file=sys.stderr)
            print(f"the synthetic mesh has {len(result.errors)} errors: the generator is wrong", file=sys.stderr)
            return 1
        assert result.loaded == resources, (result.loaded, resources)
        assert bare() == resources

        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            load_sources([str(folder)])
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)

        t_bare, t_load = time_both(bare, lambda: load_sources([str(folder)]), args.repeat)
        stages = stage_times(sorted(files), args.repeat)
        eps = sum(len(r.endpoints) for r in result.snapshot.registry)
        print(f"synthetic mesh: {args.services} services, {resources} resources, {len(files)} files, "
              f"{size / 1e6:.1f} MB, {eps} endpoints")
        print(f"yaml.load_all (CSafeLoader):       {t_bare:7.3f} s")
        print(f"load_sources (parse+validate+index): {t_load:7.3f} s  ({resources / t_load:,.0f} resources/s)")
        print(f"ratio load_sources / bare parse:   {t_load / t_bare:7.2f}x   (target: <= 1.5x, and < 2 s for 5,000)")
        print("  of which: " + ", ".join(f"{k} {v:.3f} s" for k, v in stages.items()))
        print(f"python {sys.version.split()[0]}, pyyaml {yaml.__version__} with libyaml, {os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
