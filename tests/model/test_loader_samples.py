"""Istio's own sample YAML (../shared/samples/istio when present, see tests/istio_samples.py): every file
loads alone and all of them together without an error. The samples are alternatives meant to be
applied one at a time, so loading them together gives duplicates: those are warnings only."""

from __future__ import annotations

from collections import Counter

import pytest
from istio_samples import PRESENT, SAMPLES, SKIP_REASON

from meshtui.model.gatewayapi import gateway_api_class
from meshtui.model.source import ERROR, WARNING
from meshtui.sources.loader import expand_paths, load_sources

pytestmark = pytest.mark.skipif(not PRESENT, reason=SKIP_REASON)

FILES = sorted(expand_paths([str(SAMPLES)])) if PRESENT else []
USED = {"VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry",
        "Namespace", "Service", "EndpointSlice", "Endpoints", "Pod", "Deployment", "StatefulSet", "Secret", "Node"}


def _kinds(path: str) -> Counter:
    """What the file holds, by a plain YAML read (independent of meshtui's loader)."""
    import yaml

    out: Counter = Counter()
    with open(path, encoding="utf-8") as fh:
        for doc in yaml.safe_load_all(fh):
            if isinstance(doc, dict) and "kind" in doc:
                out[(doc.get("apiVersion", ""), doc["kind"])] += 1
    return out


def _used(api: str, kind: str) -> bool:
    """Istio and Kubernetes kinds meshtui reads, and the Gateway API at the versions istiod reads."""
    if api.startswith("gateway.networking.k8s.io"):
        return gateway_api_class(api, kind) is not None
    return kind in USED


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p).split("samples/istio/")[-1])
def test_each_sample_file_loads(path):
    result = load_sources([path])
    assert result.errors == [], "\n".join(map(str, result.errors))
    kinds = _kinds(path)
    used = sum(n for (api, kind), n in kinds.items() if _used(api, kind))
    # every object of a kind meshtui uses is loaded (or reported as a duplicate inside the file)
    dups = sum(1 for d in result.diagnostics if d.code == "MT0001")
    assert result.loaded + dups == used
    # every other kind is counted and skipped
    skipped = {f"{api}/{kind}": n for (api, kind), n in kinds.items() if not _used(api, kind)}
    assert result.skipped_kinds == skipped


def test_all_samples_together():
    result = load_sources([str(SAMPLES)])
    assert result.errors == []
    others = [d for d in result.diagnostics if d.level == WARNING and d.code != "MT0001"]
    assert others == [], "\n".join(map(str, others))
    assert "v1/Secret" not in result.skipped_kinds  # read, as a summary (gateway credentials)
    assert result.skipped_kinds["v1/ServiceAccount"] >= 1
    assert "gateway.networking.k8s.io/v1/HTTPRoute" not in result.skipped_kinds
    snap = result.snapshot
    assert len(snap.virtual_services) > 5 and len(snap.destination_rules) > 3 and len(snap.gateways) >= 3
    assert len(snap.service_entries) >= 3 and len(snap.services) > 10
    assert len(snap.http_routes) >= 3 and len(snap.k8s_gateways) >= 1
    # there are no Pods in the samples: every selecting Service's endpoints come from templates
    assert snap.pods == ()
    reviews = snap.services_by_host["reviews.default.svc.cluster.local"][0]
    assert reviews.endpoint_origin == "synthesized"
    assert {e.labels["version"] for e in reviews.endpoints} == {"v1", "v2", "v3"}
    assert all(e.synthesized and e.port == 9080 for e in reviews.endpoints)
    assert all(d.level != ERROR for d in result.diagnostics)
