"""What a pod's Envoy holds, through the real API server's port-forward subresource: the errors a
user meets (a pod no kubelet runs, an identity without pods/portforward) are one clear line and
exit 69, never a traceback. (A kubelet and a running Envoy are beyond a bare API server; the read
itself is covered with the demo's real Envoys in tests/actual.)"""

from __future__ import annotations

import time

import pytest
from realapi import RealCluster, missing

from meshtui.cli import main

_WHY = missing()
if _WHY:
    pytest.skip(_WHY, allow_module_level=True)


@pytest.fixture
def pod_ns(real_api: RealCluster) -> str:
    ns = f"pf-{int(time.time() * 1000) % 100000}"
    real_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for app in ("productpage", "reviews"):
        real_api.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
                        "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 9080}]}})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{app}-v1", "namespace": ns, "labels": {"app": app}},
               "spec": {"containers": [{"name": app, "image": "example", "ports": [{"containerPort": 9080}]}]}}
        real_api.apply(pod)
        real_api.set_status(pod, {"phase": "Running", "podIP": "10.7.0.1" if app == "reviews" else "10.7.0.2",
                                  "conditions": [{"type": "Ready", "status": "True"}]})
    # the viewer may read what meshtui reads (the README's read-only ClusterRole), not port-forward
    real_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "meshtui-read"},
                    "rules": [{"apiGroups": ["networking.istio.io"], "verbs": ["get", "list", "watch"],
                               "resources": ["virtualservices", "destinationrules", "gateways", "serviceentries", "sidecars",
                                             "workloadentries"]},
                              {"apiGroups": [""], "resources": ["services", "pods", "namespaces", "configmaps"],
                               "verbs": ["get", "list", "watch"]},
                              {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
                              {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list", "watch"]}]})
    real_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": "meshtui-read-viewer"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "meshtui-read"},
                    "subjects": [{"kind": "User", "name": "viewer", "apiGroup": "rbac.authorization.k8s.io"}]})
    return ns


def _actual(capsys, kubeconfig, context: str, ns: str) -> tuple[int, str]:
    code = main(["trace", "--kubeconfig", str(kubeconfig), "--context", context, "-n", ns, "--from",
                 f"{ns}/productpage-v1", "--actual", "--request-timeout", "5", "http://reviews:9080/"])
    return code, capsys.readouterr().err


def test_a_pod_no_kubelet_runs_is_a_clear_unreachable(real_api, pod_ns, kubeconfig, capsys):
    code, err = _actual(capsys, kubeconfig, "admin", pod_ns)
    assert code == 69, err
    assert f"pod {pod_ns}/productpage-v1 admin port 15000 (port-forward)" in err
    assert "Traceback" not in err


def test_an_identity_without_portforward_is_told_the_rbac_rule(real_api, pod_ns, kubeconfig, capsys):
    code, err = _actual(capsys, kubeconfig, "viewer", pod_ns)
    assert code == 69, err
    assert "pods/portforward" in err and "create" in err and "Traceback" not in err
