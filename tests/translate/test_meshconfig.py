"""MeshConfig fields that change routing, scope or findings: each one on a trace (and a finding
where it changes one), with the step naming the MeshConfig that decided it."""

from __future__ import annotations

import json
import textwrap

import pytest
from tracer_kit import client, svc, trace  # noqa: F401  (the `trace` fixture)

from meshtui.analyze import analyze
from meshtui.errors import InputError
from meshtui.model.meshconfig import MeshConfig
from meshtui.model.parse import RawDoc, build_snapshot
from meshtui.model.yamlpos import parse_yaml
from meshtui.sources.meshconfig import read_mesh_config
from meshtui.translate import TranslateOptions, translate

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
{body}
"""


def mesh_file(tmp_path, body: str, configmap: bool = True) -> tuple[MeshConfig, str]:
    body = textwrap.dedent(body).strip("\n")
    text = CONFIGMAP.format(body=textwrap.indent(body, "    ")) if configmap else body + "\n"
    path = tmp_path / "mesh.yaml"
    path.write_text(text)
    diags: list = []
    mc = read_mesh_config(str(path), diags)
    assert not [d for d in diags if d.level == "Error"], diags
    return mc, str(path)


def snap(text: str, mc: MeshConfig):
    docs = [RawDoc(d.data, "<test>", d.line) for d in parse_yaml(textwrap.dedent(text))]
    result = build_snapshot(docs, mesh=mc)
    assert not [d for d in result.diagnostics if d.level == "Error"]
    return result


def steps(t) -> list[str]:
    return [s.detail for s in t.steps]


def step_with(t, text: str):
    found = [s for s in t.steps if text in s.detail]
    assert found, f"no step mentions {text!r}: {steps(t)}"
    return found[0]


BASE = svc("reviews") + client()


def test_registry_only_from_meshconfig_blocks_unknown_hosts(tmp_path, trace):
    mc, path = mesh_file(tmp_path, "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY")
    t = trace(snap(BASE, mc).snapshot, "http://example.org:9080/")
    assert (t.outcome, t.status) == ("blackhole", 502)
    step = step_with(t, "mesh-wide REGISTRY_ONLY from MeshConfig, istio-system/istio")
    assert step.ref is not None and (step.ref.kind, step.ref.file, step.ref.line) == ("MeshConfig", path, 9)
    # at Istio's default the same request passes through, and the trace says whose default it is
    t = trace(snap(BASE, MeshConfig()).snapshot, "http://example.org:9080/")
    assert t.outcome == "passthrough"
    step_with(t, "mesh-wide ALLOW_ANY from Istio's MeshConfig default")


def test_sidecar_outbound_policy_overrides_meshconfig(tmp_path, trace):
    mc, _ = mesh_file(tmp_path, "outboundTrafficPolicy: {mode: REGISTRY_ONLY}")
    text = BASE + """
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  outboundTrafficPolicy: {mode: ALLOW_ANY}
"""
    t = trace(snap(text, mc).snapshot, "http://example.org:9080/")
    assert t.outcome == "passthrough"
    step = step_with(t, "ALLOW_ANY from Sidecar default/default spec.outboundTrafficPolicy")
    assert step.ref is not None and step.ref.kind == "Sidecar"


def test_root_namespace_moves_the_mesh_wide_sidecar(tmp_path, trace):
    text = BASE + svc("ratings", versions=("v1",)) + """
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: mesh-root}
spec:
  egress:
  - hosts: ["./ratings.default.svc.cluster.local"]
"""
    mc, _ = mesh_file(tmp_path, "rootNamespace: mesh-root")
    t = trace(snap(text, mc).snapshot, "http://reviews:9080/")
    assert "the mesh-wide Sidecar in the root namespace mesh-root" in steps(t)[0]
    assert t.outcome == "passthrough"  # reviews is not imported by the root Sidecar
    t = trace(snap(text, MeshConfig()).snapshot, "http://reviews:9080/")
    assert t.outcome == "routed"  # in istio-system's world, mesh-root is an ordinary namespace


VS_ELSEWHERE = BASE + """
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-timeout, namespace: other}
spec:
  hosts: [reviews.default.svc.cluster.local]
  http:
  - timeout: 3s
    route: [{destination: {host: reviews.default.svc.cluster.local}}]
"""


def test_default_virtual_service_export_to(tmp_path, trace):
    t = trace(snap(VS_ELSEWHERE, MeshConfig()).snapshot, "http://reviews:9080/")
    assert t.virtual_service is not None and t.timeout == 3.0
    mc, _ = mesh_file(tmp_path, 'defaultVirtualServiceExportTo: ["."]')
    t = trace(snap(VS_ELSEWHERE, mc).snapshot, "http://reviews:9080/")
    assert t.virtual_service is None and t.timeout is None  # private to namespace other now


DR_ELSEWHERE = BASE + """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: other}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
"""


def test_default_destination_rule_export_to(tmp_path, trace):
    # a DR in a third namespace is found in no tier; put it in the root namespace instead
    text = DR_ELSEWHERE.replace("namespace: other}", "namespace: istio-system}")
    t = trace(snap(text, MeshConfig()).snapshot, "http://reviews:9080/")
    assert t.destinations[0].lb_policy == "RANDOM"
    mc, _ = mesh_file(tmp_path, 'defaultDestinationRuleExportTo: ["."]')
    t = trace(snap(text, mc).snapshot, "http://reviews:9080/")
    assert t.destinations[0].destination_rule is None and t.destinations[0].lb_policy == "LEAST_REQUEST"


def test_default_service_export_to(tmp_path, trace):
    text = svc("ratings", ns="other") + client()
    t = trace(snap(text, MeshConfig()).snapshot, "http://ratings.other:9080/")
    assert t.outcome == "routed"
    mc, _ = mesh_file(tmp_path, 'defaultServiceExportTo: ["."]\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}')
    t = trace(snap(text, mc).snapshot, "http://ratings.other:9080/")
    assert t.outcome == "blackhole"  # not exported to default, and the mesh allows only the registry


def test_default_http_retry_policy(tmp_path, trace):
    body = """\
    defaultHttpRetryPolicy:
      attempts: 5
      retryOn: 5xx,gateway-error
      perTryTimeout: 2s
    """
    mc, _path = mesh_file(tmp_path, body)
    t = trace(snap(BASE, mc).snapshot, "http://reviews:9080/")
    assert t.retries is not None and t.retries.to_json() == {"attempts": 5, "retryOn": "5xx,gateway-error", "perTryTimeout": "2s"}
    step = step_with(t, "MeshConfig defaultHttpRetryPolicy applies (istio-system/istio)")
    assert step.ref.line == 8
    # a rule with its own retries keeps them; attempts 0 disables retrying
    vs = BASE + """
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - retries: {attempts: 1}
    route: [{destination: {host: reviews}}]
"""
    assert trace(snap(vs, mc).snapshot, "http://reviews:9080/").retries.attempts == 1
    off, _ = mesh_file(tmp_path, "defaultHttpRetryPolicy: {attempts: 0}")
    assert trace(snap(BASE, off).snapshot, "http://reviews:9080/").retries.to_json() == {"attempts": 0}
    # the Envoy route carries the mesh's policy too
    cfg = translate(snap(BASE, mc).snapshot, "default/client", TranslateOptions())
    routes = cfg.envoy_resources().routes
    rp = [r["route"]["retry_policy"] for rc in routes for vh in rc["virtual_hosts"] for r in vh["routes"]
          if r.get("route", {}).get("retry_policy")]
    assert rp and all(p["num_retries"] == 5 for p in rp)


def test_default_retry_policy_feeds_the_retry_timeout_finding(tmp_path):
    vs = BASE + """
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - timeout: 1s
    route: [{destination: {host: reviews}}]
"""
    mc, _ = mesh_file(tmp_path, "defaultHttpRetryPolicy: {attempts: 3, perTryTimeout: 2s}")
    found = [m for m in analyze(snap(vs, mc).snapshot) if m.code == "MT0106"]
    assert len(found) == 1 and "defaultHttpRetryPolicy" in found[0].message
    assert not [m for m in analyze(snap(vs, MeshConfig()).snapshot) if m.code == "MT0106"]


def test_enable_auto_mtls_false_says_plaintext(tmp_path, trace):
    mc, _ = mesh_file(tmp_path, "enableAutoMtls: false")
    t = trace(snap(BASE, mc).snapshot, "http://reviews:9080/")
    step_with(t, "upstream TLS: plaintext: enableAutoMtls is false in MeshConfig, istio-system/istio")
    on, _ = mesh_file(tmp_path, "enableAutoMtls: true")
    step_with(trace(snap(BASE, on).snapshot, "http://reviews:9080/"), "Istio mutual TLS to endpoints that run a sidecar")


def test_locality_failover_needs_outlier_detection(tmp_path, trace):
    body = """\
    localityLbSetting:
      enabled: true
      failover: [{from: us-east, to: us-west}]
    """
    mc, _ = mesh_file(tmp_path, body)
    t = trace(snap(BASE, mc).snapshot, "http://reviews:9080/")
    step_with(t, "locality failover us-east → us-west (inactive: the cluster has no outlierDetection")
    # defaultTrafficPolicy supplies the outlier detection, which both activates failover and
    # reaches the Envoy cluster
    mc, _ = mesh_file(tmp_path, textwrap.dedent(body) + "defaultTrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 7}\n")
    t = trace(snap(BASE, mc).snapshot, "http://reviews:9080/")
    step_with(t, "outlierDetection from MeshConfig, istio-system/istio defaultTrafficPolicy")
    assert "inactive" not in step_with(t, "locality failover us-east → us-west").detail
    assert t.destinations[0].traffic_policy == {"outlierDetection": {"consecutive5xxErrors": 7}}
    cfg = translate(snap(BASE, mc).snapshot, "default/client", TranslateOptions())
    cl = next(c for c in cfg.envoy_resources().clusters if c["name"] == "outbound|9080||reviews.default.svc.cluster.local")
    assert cl["outlier_detection"]["consecutive_5xx"] == 7
    # a DestinationRule's own outlierDetection wins over the mesh baseline
    dr = BASE + """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 2}}
"""
    t = trace(snap(dr, mc).snapshot, "http://reviews:9080/")
    assert t.destinations[0].traffic_policy["outlierDetection"] == {"consecutive5xxErrors": 2}


def test_connect_timeout(tmp_path):
    mc, _ = mesh_file(tmp_path, "connectTimeout: 2.5s")
    cfg = translate(snap(BASE, mc).snapshot, "default/client", TranslateOptions())
    cl = next(c for c in cfg.envoy_resources().clusters if c["name"] == "outbound|9080||reviews.default.svc.cluster.local")
    assert cl["connect_timeout"] == "2.5s"


def test_discovery_selectors_hide_namespaces(tmp_path, trace):
    text = svc("ratings", ns="legacy") + client() + """
---
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-discovery: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
"""
    mc, _ = mesh_file(tmp_path, "discoverySelectors:\n- matchLabels: {istio-discovery: enabled}\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}")
    result = snap(text, mc)
    assert not [s for s in result.snapshot.registry if s.namespace == "legacy"]
    notes = [d for d in result.diagnostics if d.code == "MT0005"]
    assert len(notes) == 1 and notes[0].name == "legacy" and "istiod ignores its 2 objects" in notes[0].message
    assert trace(result.snapshot, "http://ratings.legacy:9080/").outcome == "blackhole"
    assert trace(snap(text, MeshConfig()).snapshot, "http://ratings.legacy:9080/").outcome == "routed"
    # matchExpressions too
    mc, _ = mesh_file(tmp_path, "discoverySelectors:\n- matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [legacy]}]")
    assert not [s for s in snap(text, mc).snapshot.registry if s.namespace == "legacy"]


def test_plain_meshconfig_file_and_bad_values(tmp_path):
    mc, path = mesh_file(tmp_path, "rootNamespace: ops\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}", configmap=False)
    assert (mc.root_namespace, mc.outbound_traffic_policy, mc.where("root_namespace")) == ("ops", "REGISTRY_ONLY", f"MeshConfig, {path}")
    assert mc.where("enable_auto_mtls") == "Istio's MeshConfig default"
    bad = tmp_path / "bad.yaml"
    bad.write_text("outboundTrafficPolicy:\n  mode: SOMETIMES\n")
    diags: list = []
    mc = read_mesh_config(str(bad), diags)
    assert mc.outbound_traffic_policy == "ALLOW_ANY"
    assert [(d.level, d.source.line, d.source.path) for d in diags] == [("Error", 2, "outboundTrafficPolicy.mode")]
    # a ConfigMap without the mesh key, and YAML that is not YAML, name the file and line
    cm = tmp_path / "cm.yaml"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  meshNetworks: x\n")
    with pytest.raises(InputError, match=r"has no data\.mesh"):
        read_mesh_config(str(cm), [])
    cm.write_text(CONFIGMAP.format(body="    a: [b"))
    with pytest.raises(InputError) as exc:
        read_mesh_config(str(cm), [])
    assert exc.value.line is not None and exc.value.line >= 8
    assert json.dumps(str(exc.value))


def test_configmap_positions_of_an_aliased_block_move_once(tmp_path):
    # the MeshConfig inside `mesh: |-` starts on line 8; a node used twice (anchor and alias) is one
    # object, and it was moved down once per use: the error named line 16 for a value on line 9
    body = "x: &p\n  mode: SOMETIMES\noutboundTrafficPolicy: *p"
    path = tmp_path / "mesh.yaml"
    path.write_text(CONFIGMAP.format(body=textwrap.indent(body, "    ")))
    diags: list = []
    read_mesh_config(str(path), diags)
    assert [(d.level, d.source.line, d.source.path) for d in diags] == [("Error", 9, "outboundTrafficPolicy.mode")]


def test_cli_mesh_config_flag(tmp_path, capsys):
    from meshtui.cli import main

    mc = tmp_path / "istio-cm.yaml"
    mc.write_text(CONFIGMAP.format(body="    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY"))
    rc = main(["trace", "-f", "fixtures/bookinfo", "--mesh-config", str(mc), "--from", "default/productpage-v1",
               "-o", "json", "http://example.org/"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and (out["outcome"], out["status"]) == ("blackhole", 502)
    final = out["steps"][-1]
    assert "mesh-wide REGISTRY_ONLY from MeshConfig, istio-system/istio" in final["detail"]
    assert (final["ref"]["kind"], final["ref"]["line"]) == ("MeshConfig", 9)
    # a file that is not a MeshConfig is a usage error naming the file
    bad = tmp_path / "vs.yaml"
    bad.write_text("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\n")
    assert main(["analyze", "-f", "fixtures/bookinfo", "--mesh-config", str(bad)]) == 2
    assert "not a VirtualService" in capsys.readouterr().err


SE_WITHOUT_ADDRESSES = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: DNS
"""


@pytest.mark.parametrize(("metadata", "reported"), [
    (["ISTIO_META_DNS_CAPTURE", "ISTIO_META_DNS_AUTO_ALLOCATE"], False),
    (["ISTIO_META_DNS_CAPTURE", "PILOT_ENABLE_IP_AUTOALLOCATE"], False),
    (["ISTIO_META_DNS_CAPTURE"], True),  # capture alone allocates nothing
    (["ISTIO_META_DNS_AUTO_ALLOCATE"], True),  # nor allocation without capture
])
def test_proxy_metadata_dns_auto_allocation(tmp_path, metadata, reported):
    """defaultConfig.proxyMetadata: with the proxies' DNS capture and auto-allocation on, a TCP
    ServiceEntry without addresses gets one, so IST0134 does not apply."""
    mc, _ = mesh_file(tmp_path, "defaultConfig:\n  proxyMetadata:\n" + "".join(f"    {k}: 'true'\n" for k in metadata))
    assert mc.dns_auto_allocate is not reported
    result = snap(SE_WITHOUT_ADDRESSES, mc)
    codes = [m.code for m in analyze(result.snapshot, result.diagnostics)]
    assert ("IST0134" in codes) is reported


def test_service_entry_status_addresses_count_as_addresses():
    """An entry istiod already allocated addresses to (status.addresses) needs none written."""
    allocated = SE_WITHOUT_ADDRESSES + "status:\n  addresses: [{host: db.example.com, value: 240.240.0.1}]\n"
    result = snap(allocated, MeshConfig())
    se = result.snapshot.service_entries[0]
    assert se.allocated_addresses == ("240.240.0.1",)
    assert "IST0134" not in [m.code for m in analyze(result.snapshot, result.diagnostics)]
    plain = snap(SE_WITHOUT_ADDRESSES, MeshConfig())
    assert "IST0134" in [m.code for m in analyze(plain.snapshot, plain.diagnostics)]
