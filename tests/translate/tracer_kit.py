"""Helpers for tracer semantics tests: a mesh from inline YAML, a trace in one call."""

from __future__ import annotations

import textwrap

import pytest

from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.model.yamlpos import parse_yaml
from meshtui.simulate import Request, simulate
from meshtui.translate import TranslateOptions, translate


def mesh(text: str):
    docs = [RawDoc(d.data, "<test>", d.line) for d in parse_yaml(textwrap.dedent(text))]
    result = build_snapshot(docs)
    errors = [str(d) for d in result.diagnostics if d.level == "Error"]
    assert not errors, errors
    return result.snapshot


def svc(name: str, ns: str = "default", port: int = 9080, port_name: str = "http", ip: str | None = None,
        versions=("v1",), extra_ports: str = "") -> str:
    """A Service with one ready Pod per version."""
    cluster_ip = f"\n  clusterIP: {ip}" if ip else ""
    out = f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:{cluster_ip}
  selector: {{app: {name}}}
  ports:
  - {{name: {port_name}, port: {port}, targetPort: {port}}}{extra_ports}
"""
    for i, v in enumerate(versions):
        out += f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}-{v}, namespace: {ns}, labels: {{app: {name}, version: {v}}}}}
status: {{podIP: 10.{abs(hash(ns)) % 200}.{abs(hash(name)) % 250}.{i + 1}, phase: Running}}
"""
    return out


def client(name: str = "client", ns: str = "default", labels: str = "{app: client}") -> str:
    return f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {labels}}}
status: {{podIP: 10.250.0.1, phase: Running}}
"""


def vs(name: str, body: str, ns: str = "default") -> str:
    """A VirtualService; `body`: its spec, indented two spaces."""
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {ns}}}
spec:
{body}
"""


def dr(name: str, host: str, ns: str = "default", extra: str = "") -> str:
    """A DestinationRule for `host` with subsets v1 and v2 (by a `version` label); `extra`: more
    of its spec, indented two spaces."""
    return f"""
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: {ns}}}
spec:
  host: {host}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
{extra}
"""


@pytest.fixture
def trace():
    def run(snapshot, url: str, proxy: str = "default/client", headers=(), method: str = "GET", proxy_type=None):
        cfg = translate(snapshot, proxy, TranslateOptions(proxy_type=proxy_type))
        return simulate(cfg, Request.parse(url, method, list(headers)))

    return run
