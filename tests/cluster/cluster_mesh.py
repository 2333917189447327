"""A small bookinfo-shaped mesh as plain objects, for serving from the fake API server and
writing as a folder. Every kind cluster mode reads appears at least once, plus a Secret and a
ConfigMap that it must not read."""

from __future__ import annotations

import copy

NS = "bookinfo"
ISTIO = "networking.istio.io/v1"


def _deploy(app: str, version: str, port: int) -> list[dict]:
    labels = {"app": app, "version": version}
    name = f"{app}-{version}"
    out: list[dict] = [{
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": app, "image": f"docker.io/istio/examples-bookinfo-{name}:1.20",
                                                       "ports": [{"containerPort": port}]}]}}},
    }]
    return out


def _pod(app: str, version: str, port: int, ip: str) -> dict:
    labels = {"app": app, "version": version}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{app}-{version}-0", "namespace": NS, "labels": labels},
        "spec": {"containers": [{"name": app, "image": "example", "ports": [{"containerPort": port}]}],
                 "serviceAccountName": f"bookinfo-{app}"},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


def _service(app: str, port: int, ip: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": app, "namespace": NS, "labels": {"app": app, "service": app}},
        "spec": {"selector": {"app": app}, "clusterIP": ip,
                 "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}]},
    }


def _slice(app: str, port: int, pods: list[tuple[str, str]]) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{app}-x1", "namespace": NS, "labels": {"kubernetes.io/service-name": app}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True},
                       "targetRef": {"kind": "Pod", "namespace": NS, "name": pod}} for pod, ip in pods],
    }


def bookinfo() -> list[dict]:
    objs: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"istio-injection": "enabled"}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
    ]
    apps = {
        "productpage": (9080, ["v1"], "10.96.0.10"),
        "reviews": (9080, ["v1", "v2", "v3"], "10.96.0.11"),
        "ratings": (9080, ["v1"], "10.96.0.12"),
        "details": (9080, ["v1"], "10.96.0.13"),
    }
    n = 1
    for app, (port, versions, svc_ip) in apps.items():
        objs.append(_service(app, port, svc_ip))
        pods = []
        for v in versions:
            ip = f"10.1.0.{n}"
            n += 1
            objs += _deploy(app, v, port)
            objs.append(_pod(app, v, port, ip))
            pods.append((f"{app}-{v}-0", ip))
        objs.append(_slice(app, port, pods))
    objs += [
        {"apiVersion": ISTIO, "kind": "VirtualService", "metadata": {"name": "reviews", "namespace": NS},
         "spec": {"hosts": ["reviews"], "http": [
             {"name": "jason", "match": [{"headers": {"end-user": {"exact": "jason"}}}],
              "route": [{"destination": {"host": "reviews", "subset": "v2"}}]},
             {"name": "rest", "route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 80},
                                        {"destination": {"host": "reviews", "subset": "v3"}, "weight": 20}]}]}},
        {"apiVersion": ISTIO, "kind": "VirtualService", "metadata": {"name": "ratings", "namespace": NS},
         "spec": {"hosts": ["ratings"], "http": [{"route": [{"destination": {"host": "ratings", "subset": "v1"}}]}]}},
        {"apiVersion": ISTIO, "kind": "DestinationRule", "metadata": {"name": "reviews", "namespace": NS},
         "spec": {"host": "reviews", "subsets": [{"name": v, "labels": {"version": v}} for v in ("v1", "v2", "v3")]}},
        {"apiVersion": ISTIO, "kind": "DestinationRule", "metadata": {"name": "ratings", "namespace": NS},
         "spec": {"host": "ratings", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}},
        {"apiVersion": ISTIO, "kind": "Gateway", "metadata": {"name": "bookinfo-gateway", "namespace": NS},
         "spec": {"selector": {"istio": "ingressgateway"},
                  "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}},
        {"apiVersion": ISTIO, "kind": "ServiceEntry", "metadata": {"name": "httpbin-ext", "namespace": NS},
         "spec": {"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                  "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}},
        {"apiVersion": ISTIO, "kind": "Sidecar", "metadata": {"name": "default", "namespace": NS},
         "spec": {"egress": [{"hosts": ["./*", "istio-system/*"]}]}},
        {"apiVersion": ISTIO, "kind": "WorkloadEntry", "metadata": {"name": "ratings-vm", "namespace": NS},
         "spec": {"address": "10.2.0.5", "labels": {"app": "ratings", "version": "v1"}}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mysqldb", "namespace": NS},
         "spec": {"serviceName": "mysqldb", "replicas": 1, "selector": {"matchLabels": {"app": "mysqldb"}},
                  "template": {"metadata": {"labels": {"app": "mysqldb"}},
                               "spec": {"containers": [{"name": "mysql", "image": "mysql", "ports": [{"containerPort": 3306}]}]}}}},
        # never read by meshtui:
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password", "namespace": NS},
         "data": {"password": "aHVudGVyMg=="}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": NS},
         "data": {"a": "b"}},
    ]
    return copy.deepcopy(objs)
