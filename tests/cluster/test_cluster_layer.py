"""-f files over --cluster: replace or add by kind/namespace/name, through the shared loader."""

from __future__ import annotations

import argparse

import yaml
from cluster_mesh import NS

from meshtui.cluster.source import layer, load_cluster_snapshot, read_overlay_docs
from meshtui.model.parse import RawDoc

OVERLAY = f"""\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
  namespace: {NS}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {{host: reviews, subset: v3}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: details
  namespace: {NS}
spec:
  host: details
  subsets:
  - name: v1
    labels: {{version: v1}}
"""


def _args(kubeconfig, **kw) -> argparse.Namespace:
    d = dict(kubeconfig=str(kubeconfig), context=None, namespace=None, all_namespaces=False, request_timeout=5.0)
    d.update(kw)
    return argparse.Namespace(**d)


def test_files_replace_and_add_over_the_cluster(mesh_api, kubeconfig, tmp_path):
    f = tmp_path / "whatif.yaml"
    f.write_text(OVERLAY)
    result = load_cluster_snapshot(_args(kubeconfig), [str(f)])
    snap = result.snapshot
    vs = snap.get("VirtualService", NS, "reviews")
    assert [r.route[0].destination.subset for r in vs.spec.http] == ["v3"]  # the file's version
    assert vs.src.file == str(f) and vs.src.line == 1
    assert snap.get("DestinationRule", NS, "details").src.file == str(f)
    assert snap.get("DestinationRule", NS, "reviews").src.file == "cluster:test-ctx"  # untouched
    assert not [d for d in result.diagnostics if "defined twice" in d.message]
    notes = [d.message for d in result.diagnostics if d.code == "MT0602"]
    assert notes == [f"-f replaces the cluster's VirtualService {NS}/reviews", f"-f adds DestinationRule {NS}/details"]
    assert result.files[0] == "cluster:test-ctx" and str(f) in result.files
    assert not result.errors


def test_layer_keys_and_order():
    base = [RawDoc({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "default"}}, "cluster:x"),
            RawDoc({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}, "cluster:x")]
    over = [
        RawDoc({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}, "f.yaml", 1),  # no namespace: default
        RawDoc({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "other"}}, "f.yaml", 5),
        RawDoc({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "labels": {"x": "y"}}}]}, "f.yaml", 9),
        RawDoc({"kind": "Service"}, "f.yaml", 20),  # no name: passed to the loader to report
    ]
    lr = layer(base, over, "default")
    assert [(d.file, d.line) for d in lr.docs] == [("f.yaml", 1), ("f.yaml", 9), ("f.yaml", 5), ("f.yaml", 20)]
    assert lr.replaced == [("", "Service", "default", "a"), ("", "Namespace", "", "default")]
    assert lr.added == [("", "Service", "other", "a")]


def test_default_namespace_from_flag(mesh_api, kubeconfig, tmp_path):
    f = tmp_path / "svc.yaml"
    f.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ratings"},
                                 "spec": {"selector": {"app": "ratings"}, "ports": [{"name": "http", "port": 9999}]}}))
    result = load_cluster_snapshot(_args(kubeconfig, namespace=NS), [str(f)])
    svc = result.snapshot.get("Service", NS, "ratings")
    assert svc.src.file == str(f) and svc.spec.ports[0].port == 9999


def test_overlay_reader_reports_bad_yaml(tmp_path):
    import pytest

    from meshtui.errors import InputError

    f = tmp_path / "bad.yaml"
    f.write_text("kind: [\n")
    with pytest.raises(InputError) as ei:
        read_overlay_docs([str(f)])
    assert str(f) in str(ei.value)
