"""FileRaw finds a document by the key the model gives it: the Gateway API's Gateway is keyed
KubernetesGateway, an Istio Gateway of the same name is not (model.gatewayapi.model_kind)."""

from __future__ import annotations

from meshtui.sources.fileraw import _is

ISTIO_GW = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "infra"}}
K8S_GW = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "infra"}}


def test_gateway_documents_match_their_own_kind_only() -> None:
    assert _is(K8S_GW, ("KubernetesGateway", "infra", "public"))
    assert not _is(ISTIO_GW, ("KubernetesGateway", "infra", "public"))
    assert _is(ISTIO_GW, ("Gateway", "infra", "public"))
    assert not _is(K8S_GW, ("Gateway", "infra", "public"))
