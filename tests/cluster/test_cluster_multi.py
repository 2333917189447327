"""Several clusters as one multi-primary mesh: `--context east --context west`. Two loopback API
servers hold the same Services with different pods; the trace merges their endpoints, each
labelled with its cluster and network; cluster-local hosts keep to the proxy's cluster."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from cluster_mesh import NS, bookinfo
from fakeapi import FakeApiServer

from meshtui.cli import main


def _kubeconfig(path, servers: dict[str, str]):
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": next(iter(servers)),
           "clusters": [{"name": n, "cluster": {"server": url}} for n, url in servers.items()],
           "users": [{"name": "u", "user": {}}],
           "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in servers]}
    path.write_text(yaml.safe_dump(cfg))
    return path


def _west() -> list[dict]:
    """The same mesh in a second cluster: its own pod IPs and names, its system namespace on network
    net-west, one VirtualService that differs, and a kube-system service (cluster-local)."""
    objs = []
    for o in bookinfo():
        o = copy.deepcopy(o)
        if o["kind"] == "Pod":
            o["metadata"]["name"] = o["metadata"]["name"].replace("-0", "-w")
            ip = o["status"]["podIP"].replace("10.1.", "10.9.")
            o["status"]["podIP"], o["status"]["podIPs"] = ip, [{"ip": ip}]
        if o["kind"] == "EndpointSlice":
            o["metadata"]["name"] = o["metadata"]["name"] + "-w"
            for e in o["endpoints"]:
                e["addresses"] = [a.replace("10.1.", "10.9.") for a in e["addresses"]]
                e["targetRef"]["name"] = e["targetRef"]["name"].replace("-0", "-w")
        if o["kind"] == "Namespace" and o["metadata"]["name"] == "istio-system":
            o["metadata"]["labels"] = {"topology.istio.io/network": "net-west"}
        if o["kind"] == "VirtualService" and o["metadata"]["name"] == "ratings":
            o["spec"]["http"][0]["timeout"] = "9s"
        objs.append(o)
    return objs


def _metrics(ip: str, cluster_objs: list[dict]) -> None:
    """A metrics service with one pod per cluster (made cluster-local by MeshConfig in a test)."""
    cluster_objs += [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metrics", "namespace": NS},
         "spec": {"selector": {"k8s-app": "metrics"}, "clusterIP": "10.96.0.53",
                  "ports": [{"name": "http-metrics", "port": 9153, "targetPort": 9153}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"metrics-{ip}", "namespace": NS,
                                                          "labels": {"k8s-app": "metrics"}},
         "spec": {"containers": [{"name": "coredns", "image": "x", "ports": [{"containerPort": 9153}]}]},
         "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "conditions": [{"type": "Ready", "status": "True"}]}},
    ]


@pytest.fixture
def two_clusters(tmp_path):
    east, west = FakeApiServer().start(), FakeApiServer().start()
    try:
        e_objs, w_objs = bookinfo(), _west()
        _metrics("10.1.9.9", e_objs)
        _metrics("10.9.9.9", w_objs)
        east.add_all(e_objs)
        west.add_all(w_objs)
        yield _kubeconfig(tmp_path / "kubeconfig", {"east": east.url, "west": west.url})
    finally:
        east.stop()
        west.stop()


def _trace(capsys, kubeconfig, url: str, *extra: str) -> tuple[dict, str]:
    code = main(["trace", "--kubeconfig", str(kubeconfig), "--context", "east", "--context", "west",
                 "--from", f"{NS}/productpage-v1-0", "-o", "json", *extra, url])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out), err


def test_endpoints_merge_across_clusters(two_clusters, capsys):
    t, err = _trace(capsys, two_clusters, "http://reviews:9080/", "-H", "end-user: jason")
    [d] = t["destinations"]
    eps = {(e["address"], e["cluster"], e["network"]) for e in d["endpoints"]}
    assert eps == {("10.1.0.3", "east", None), ("10.9.0.3", "west", "net-west")}  # reviews-v2 in each
    step = next(s for s in t["steps"] if s["stage"] == "endpoints")
    assert "cluster east" in step["detail"] and "cluster west, network net-west" in step["detail"]
    assert "across clusters: east 1, west 1" in step["detail"]
    assert t["proxy"]["cluster"] == "east"
    # the VirtualService that differs is reported, and east's copy is traced
    assert "VirtualService bookinfo/ratings differs between clusters" in err
    t, _ = _trace(capsys, two_clusters, "http://ratings:9080/")
    assert t["timeout"] is None


def test_cluster_local_hosts_keep_to_the_proxy_cluster(two_clusters, capsys, tmp_path):
    t, _ = _trace(capsys, two_clusters, "http://metrics:9153/")
    assert {e["cluster"] for e in t["destinations"][0]["endpoints"]} == {"east", "west"}
    mc = tmp_path / "mesh.yaml"
    mc.write_text("serviceSettings:\n- settings: {clusterLocal: true}\n  hosts: [metrics.bookinfo.svc.cluster.local]\n")
    t, _ = _trace(capsys, two_clusters, "http://metrics:9153/", "--mesh-config", str(mc))
    [d] = t["destinations"]
    assert [(e["address"], e["cluster"]) for e in d["endpoints"]] == [("10.1.9.9", "east")]
    assert any("cluster-local host: only the endpoints of this proxy's cluster east (1 in other clusters left out)"
               in s["detail"] for s in t["steps"])


def test_one_context_is_one_cluster(two_clusters, capsys):
    code = main(["trace", "--kubeconfig", str(two_clusters), "--context", "west", "--from", f"{NS}/productpage-v1-w",
                 "-o", "json", "http://reviews:9080/", "-H", "end-user: jason"])
    t = json.loads(capsys.readouterr().out)
    assert code == 0
    [d] = t["destinations"]
    assert [e["address"] for e in d["endpoints"]] == ["10.9.0.3"] and "cluster" not in d["endpoints"][0]


def test_istio_default_cluster_local_hosts():
    from meshtui.model.meshconfig import MeshConfig

    m = MeshConfig()
    assert m.cluster_local("kube-dns.kube-system.svc.cluster.local")
    assert m.cluster_local("kubernetes.default.svc.cluster.local")
    assert not m.cluster_local("reviews.bookinfo.svc.cluster.local")
    # serviceSettings clusterLocal: false takes a default back
    assert not MeshConfig(cluster_global_hosts=("*.kube-system.svc.cluster.local",)).cluster_local("kube-dns.kube-system.svc.cluster.local")


def test_the_tui_trace_table_names_the_cluster():
    from meshtui.simulate.trace import Destination, Trace, TraceEndpoint
    from meshtui.tui.widgets.trace_render import endpoint_rows

    t = Trace.__new__(Trace)
    t.destinations = [Destination("reviews", "v2", 9080, 100, 1.0, "outbound|9080|v2|reviews",
                                  endpoints=[TraceEndpoint("10.9.0.3", 9080, "bookinfo/reviews-v2-w", (), False, "west", "net-west"),
                                             TraceEndpoint("10.1.0.3", 9080, "bookinfo/reviews-v2-0", (), False, "east", "")])]
    notes = [row[3] for row in endpoint_rows(t)]
    assert notes == ["cluster west, network net-west", "cluster east"]


def test_single_cluster_commands_refuse_several_contexts(two_clusters, capsys):
    code = main(["fault", "list", "--cluster", "--kubeconfig", str(two_clusters), "--context", "east", "--context", "west"])
    assert code == 2 and "--context was given 2 times" in capsys.readouterr().err
