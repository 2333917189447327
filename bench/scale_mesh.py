"""The synthetic large mesh of issue 15, written as YAML files into a folder.

Per service: a Service (ports http 8080 and grpc 9090), a VirtualService of 3 HTTP rules (a header
match to the v2 subset with a timeout, a prefix rule with retries, a weighted 90/10 default), a
DestinationRule with subsets v1 and v2, and 2 Pods (v1 and v2, Ready, with an IP). Services are
spread over N/100 namespaces (at least 10), one file per service; every other namespace also holds
a namespace-wide Sidecar importing its own namespace and istio-system.

    python bench/scale_mesh.py --services 10000 DIR     # writes DIR, prints the object count

Importable: `generate(folder, services) -> (objects, files)`, `namespaces(services)`,
`a_pod(services)`, `a_url(services)`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def namespaces(services: int) -> int:
    return max(10, services // 100)


def ns_of(i: int, services: int) -> str:
    return f"ns-{i % namespaces(services):03d}"


def service_yaml(i: int, ns: str) -> str:
    name = f"svc-{i:05d}"
    a, b = (i >> 8) & 255, i & 255
    return f"""# service {name}
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
    targetPort: 8080
  - name: grpc-api
    port: 9090
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}-v1-0
  namespace: {ns}
  labels:
    app: {name}
    version: v1
spec:
  containers:
  - name: app
    image: "example.com/{name}:v1"
    ports:
    - containerPort: 8080
    - containerPort: 9090
status:
  phase: Running
  podIP: 10.{a}.{b}.1
  conditions:
  - type: Ready
    status: "True"
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}-v2-0
  namespace: {ns}
  labels:
    app: {name}
    version: v2
spec:
  containers:
  - name: app
    image: "example.com/{name}:v2"
    ports:
    - containerPort: 8080
    - containerPort: 9090
status:
  phase: Running
  podIP: 10.{a}.{b}.2
  conditions:
  - type: Ready
    status: "True"
---
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
    route:
    - destination:
        host: {name}
        subset: v2
    timeout: 3s
  - name: api
    match:
    - uri:
        prefix: /api/
    route:
    - destination:
        host: {name}
        subset: v1
    retries:
      attempts: 3
      perTryTimeout: 500ms
      retryOn: 5xx,reset
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
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
"""


def sidecar_yaml(ns: str) -> str:
    return f"""apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: {ns}
spec:
  egress:
  - hosts:
    - "./*"
    - "istio-system/*"
"""


def generate(folder: Path, services: int) -> tuple[int, list[Path]]:
    """Write the mesh; returns (number of objects, files written)."""
    files: list[Path] = []
    objects = 0
    n_ns = namespaces(services)
    for k in range(n_ns):
        d = folder / f"ns-{k:03d}"
        d.mkdir(parents=True, exist_ok=True)
        if k % 2 == 1:
            f = d / "sidecar.yaml"
            f.write_text(sidecar_yaml(d.name))
            files.append(f)
            objects += 1
    for i in range(services):
        ns = ns_of(i, services)
        f = folder / ns / f"svc-{i:05d}.yaml"
        f.write_text(service_yaml(i, ns))
        files.append(f)
        objects += 5
    return objects, files


def a_pod(services: int) -> str:
    """A client in a namespace without a Sidecar (its scope is the whole mesh)."""
    return f"{ns_of(0, services)}/svc-00000-v1-0"


def a_url(services: int) -> str:
    i = services // 2
    return f"http://svc-{i:05d}.{ns_of(i, services)}:8080/api/orders"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("folder")
    args = ap.parse_args()
    n, files = generate(Path(args.folder), args.services)
    print(f"{n} objects in {len(files)} files under {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
