"""Listing through the real kubernetes client against the loopback API server."""

from __future__ import annotations

import socket

import pytest
from cluster_mesh import NS, bookinfo
from fakeapi import FakeApiServer, write_kubeconfig

from meshtui.cluster import listing as cluster_list
from meshtui.cluster.source import (
    ClusterError,
    ClusterForbidden,
    ClusterTimeout,
    ClusterUnauthorized,
    ClusterUnreachable,
    KubeconfigError,
    open_cluster,
)
from meshtui.errors import EXIT_UNREACHABLE, EXIT_USAGE

READ_KINDS = {"Namespace", "VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar",
              "WorkloadEntry", "Service", "EndpointSlice", "Pod", "Deployment", "StatefulSet"}


def test_list_reads_every_kind_and_never_secrets(source, mesh_api):
    docs = source.list()
    assert {d.data["kind"] for d in docs} == READ_KINDS
    expected = [o for o in bookinfo() if o["kind"] in READ_KINDS]
    assert len(docs) == len(expected)
    for d in docs:
        assert d.file == "cluster:test-ctx" and d.line is None
        meta = d.data["metadata"]
        assert meta["resourceVersion"]
        assert "managedFields" not in meta  # as `kubectl get -o json` shows it
        assert d.data["apiVersion"]
    assert not mesh_api.requests_for("secrets")
    # one ConfigMap only, by name: the MeshConfig (istio-system/istio); ConfigMaps are never listed
    assert [r[1] for r in mesh_api.requests_for("configmaps")] == ["/api/v1/namespaces/istio-system/configmaps/istio"]
    assert source.warnings == []
    assert source.context_name == "test-ctx"
    assert source.server == mesh_api.url


def test_prefers_v1_when_served(source, mesh_api):
    source.list()
    istio = [k for k in source.kinds if k.group == "networking.istio.io"]
    assert len(istio) == 6 and {k.version for k in istio} == {"v1"}
    vs = [r for r in mesh_api.requests if r[1].endswith("/virtualservices")]
    assert vs and all("/networking.istio.io/v1/" in r[1] for r in vs)


@pytest.mark.parametrize("served,picked", [(("v1beta1", "v1alpha3"), "v1beta1"), (("v1alpha3",), "v1alpha3")])
def test_falls_back_to_older_istio_versions(tmp_path, served, picked):
    with FakeApiServer(istio_versions=served) as srv:
        srv.add_all(bookinfo())
        kc = write_kubeconfig(tmp_path / "kc", srv.url)
        with open_cluster(str(kc)) as src:
            docs = src.list()
            vs = [d for d in docs if d.data["kind"] == "VirtualService"]
            assert vs and all(d.data["apiVersion"] == f"networking.istio.io/{picked}" for d in vs)
            result = src.load()
            assert result.snapshot.get("VirtualService", NS, "reviews") is not None
            assert not result.errors


def test_missing_istio_crds_said_plainly(tmp_path):
    with FakeApiServer(istio_versions=()) as srv:
        srv.add_all([o for o in bookinfo() if not o["apiVersion"].startswith("networking.istio.io")])
        kc = write_kubeconfig(tmp_path / "kc", srv.url)
        with open_cluster(str(kc)) as src:
            docs = src.list()
            assert {d.data["kind"] for d in docs} == READ_KINDS - {
                "VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry"}
            assert src.discovery is not None and src.discovery.istio_missing
            assert any("Istio CRDs are not installed" in w for w in src.warnings)
            result = src.load()
            warn = [d for d in result.diagnostics if "Istio CRDs are not installed" in d.message]
            assert warn and warn[0].level == "Warning" and warn[0].source.file == "cluster:test-ctx"
            assert srv.url in warn[0].message and "test-ctx" in warn[0].message


def test_namespace_flag_reads_only_those_namespaces(mesh_api, kubeconfig):
    mesh_api.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other", "namespace": "elsewhere"},
                  "spec": {"ports": [{"port": 80}]}})
    with open_cluster(str(kubeconfig), namespaces=f"{NS},nosuchns") as src:
        docs = src.list()
        assert {d.data["metadata"].get("namespace") for d in docs if d.data["kind"] != "Namespace"} == {NS}
        assert [d.data["metadata"]["name"] for d in docs if d.data["kind"] == "Namespace"] == [NS]
        assert any("namespace 'nosuchns' does not exist" in w for w in src.warnings)
    paths = [r[1] for r in mesh_api.requests if r[0] == "GET"]
    assert f"/api/v1/namespaces/{NS}/pods" in paths
    assert "/api/v1/pods" not in paths


def test_pages_are_followed(mesh_api, kubeconfig, monkeypatch):
    monkeypatch.setattr(cluster_list, "PAGE_SIZE", 2)
    with open_cluster(str(kubeconfig)) as src:
        docs = src.list()
    pods = [d for d in docs if d.data["kind"] == "Pod"]
    assert len(pods) == 6
    assert any("continue" in r[2] for r in mesh_api.requests_for("pods"))


def test_forbidden_names_verb_resource_and_rule(mesh_api, kubeconfig):
    mesh_api.forbidden.add(("list", "virtualservices.networking.istio.io"))
    with open_cluster(str(kubeconfig)) as src, pytest.raises(ClusterForbidden) as ei:
        src.list()
    err = ei.value
    msg = str(err)
    assert err.exit_code == EXIT_UNREACHABLE
    assert "refused to list virtualservices.networking.istio.io across all namespaces" in msg
    assert "403 Forbidden" in msg and mesh_api.url in msg and "test-ctx" in msg
    assert 'apiGroups: ["networking.istio.io"]' in msg
    assert 'resources: ["virtualservices"]' in msg
    assert '"list"' in msg and "ClusterRole" in msg
    assert 'cannot list resource "virtualservices"' in msg  # the server's own words too


def test_forbidden_in_a_namespace_suggests_a_role(mesh_api, kubeconfig):
    mesh_api.forbidden.add(("list", "pods"))
    with open_cluster(str(kubeconfig), namespaces=NS) as src, pytest.raises(ClusterForbidden) as ei:
        src.list()
    msg = str(ei.value)
    assert f"refused to list pods in namespace '{NS}'" in msg
    assert 'apiGroups: [""]' in msg and "Role (in that namespace)" in msg


def test_unauthorized_token(tmp_path):
    with FakeApiServer() as srv:
        srv.token = "right-token"
        srv.add_all(bookinfo())
        bad = write_kubeconfig(tmp_path / "bad", srv.url, token="wrong-token", context="prod")
        with open_cluster(str(bad)) as src, pytest.raises(ClusterUnauthorized) as ei:
            src.list()
        msg = str(ei.value)
        assert ei.value.exit_code == EXIT_UNREACHABLE
        assert "refused the credentials (401 Unauthorized)" in msg and "'prod'" in msg and srv.url in msg
        good = write_kubeconfig(tmp_path / "good", srv.url, token="right-token")
        with open_cluster(str(good)) as src:
            assert src.list()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_server(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}"
    kc = write_kubeconfig(tmp_path / "kc", url, context="gone-ctx")
    with open_cluster(str(kc)) as src, pytest.raises(ClusterUnreachable) as ei:
        src.list()
    msg = str(ei.value)
    assert ei.value.exit_code == EXIT_UNREACHABLE
    assert url in msg and "'gone-ctx'" in msg and "connection refused" in msg


def test_slow_server_times_out_with_advice(mesh_api, kubeconfig):
    mesh_api.latency = 5.0
    seen: list[str] = []
    with open_cluster(str(kubeconfig), timeout=0.3, progress=seen.append) as src, pytest.raises(ClusterTimeout) as ei:
        src.list()
    msg = str(ei.value)
    assert "did not answer after 0.3s" in msg and "--request-timeout" in msg
    assert seen and "connecting to" in seen[0]


def test_server_error_is_reported(mesh_api, kubeconfig):
    mesh_api.fail_next = [503]
    with open_cluster(str(kubeconfig)) as src, pytest.raises(ClusterError) as ei:
        src.list()
    assert ei.value.status == 503 and "answered 503" in str(ei.value)


def test_progress_reports_lists(source):
    seen: list[str] = []
    source.progress = seen.append
    source.list()
    assert any(m.startswith("listed pods") for m in seen)
    assert any("15/15 lists" in m for m in seen)  # 6 Istio, 3 security, 6 Kubernetes kinds


def test_kubeconfig_problems_are_usage_errors(tmp_path, api):
    with pytest.raises(KubeconfigError) as ei:
        open_cluster(str(tmp_path / "missing"))
    assert ei.value.exit_code == EXIT_USAGE and "no kubeconfig" in str(ei.value)
    kc = write_kubeconfig(tmp_path / "kc", api.url, context="one")
    with pytest.raises(KubeconfigError) as ei:
        open_cluster(str(kc), context="two")
    assert "no context 'two'" in str(ei.value) and "one" in str(ei.value)
    (tmp_path / "junk").write_text("::: not yaml [")
    with pytest.raises(KubeconfigError):
        open_cluster(str(tmp_path / "junk"))


def test_kubeconfig_env_and_context(tmp_path, mesh_api, monkeypatch):
    kc = write_kubeconfig(tmp_path / "kc", mesh_api.url, context="envctx")
    monkeypatch.setenv("KUBECONFIG", str(kc))
    with open_cluster() as src:
        assert src.context_name == "envctx"
        assert src.list()


def test_contexts_for_the_picker(tmp_path, mesh_api):
    import yaml

    from meshtui.cluster.source import kube_contexts

    kc = write_kubeconfig(tmp_path / "kc", mesh_api.url, context="a")
    cfg = yaml.safe_load(kc.read_text())
    cfg["contexts"].append({"name": "b", "context": {"cluster": "test-cluster", "user": "test-user"}})
    kc.write_text(yaml.safe_dump(cfg))
    assert kube_contexts(str(kc)) == (["a", "b"], "a")
    with open_cluster(str(kc), context="b") as src:
        assert src.context_name == "b" and src.list()


def test_expired_continue_token_restarts_the_list(mesh_api, kubeconfig, monkeypatch):
    monkeypatch.setattr(cluster_list, "PAGE_SIZE", 2)
    with open_cluster(str(kubeconfig), namespaces=NS) as src:
        src.discover()
        mesh_api.compact_after_pages = 1  # the first page's continue token expires at once
        result = cluster_list.list_kind(src.http, next(k for k in src.kinds if k.kind == "Pod"), NS)
    assert len(result.items) == 6
    pod_lists = [r for r in mesh_api.requests_for("pods") if r[0] == "GET"]
    assert sum(1 for r in pod_lists if "continue" not in r[2]) == 2  # started over once


def test_progress_printer_waits_then_speaks():
    import io

    from meshtui.cluster.source import stderr_progress

    buf = io.StringIO()
    quiet = stderr_progress(after=60, stream=buf)
    quiet("listed pods")
    assert buf.getvalue() == ""
    loud = stderr_progress(after=0, stream=buf)
    loud("listed pods (1/12 lists, 10 objects)")
    loud.done()
    assert buf.getvalue() == "meshtui: listed pods (1/12 lists, 10 objects)\n"


def test_a_kind_the_server_does_not_serve_is_skipped_with_a_warning(mesh_api, kubeconfig):
    mesh_api.unserved.add("endpointslices.discovery.k8s.io")
    with open_cluster(str(kubeconfig)) as src:
        docs = src.list()
        assert docs and not [d for d in docs if d.data["kind"] == "EndpointSlice"]
        assert any("does not serve endpointslices.discovery.k8s.io" in w for w in src.warnings)
