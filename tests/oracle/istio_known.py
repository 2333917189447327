"""Differences between meshtui and istiod that are deliberate (an Istio bug, or meshtui more
precise), each documented in docs/oracle-differences.md under its id. A difference the oracle
finds is accepted only when one of these claims it; each one names a case where it must still
occur, so a fix on either side makes the test fail until the entry and the document go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from istio_diff import Diff


@dataclass(frozen=True)
class Known:
    id: str  # the heading in docs/oracle-differences.md
    title: str
    claims: Callable[[Diff], bool]
    witness: str  # a case id where it occurs


def _extra_vhosts(d: Diff) -> set[str]:
    if d.category != "route_configs" or d.field != "virtual_hosts":
        return set()
    return set(d.istio) - set(d.meshtui) if set(d.meshtui) <= set(d.istio) else set()


def _listener_port(d: Diff, port: str) -> bool:
    return d.category == "listeners" and d.field == "present" and d.key.endswith(f"_{port}")


def _trace_on(d: Diff, listener_suffix: str) -> bool:
    return d.category == "traces" and "on listener " in d.key and d.key.split(" on listener ")[1].split(" ")[0].endswith(
        listener_suffix)


KNOWN: tuple[Known, ...] = (
    Known("synthesized-endpoints",
          "meshtui gives a Deployment without Pods endpoints from its template; istiod has none (or, for a managed "
          "Gateway's Deployment, the oracle's own made-up Pod in 240.0.0.0/24)",
          lambda d: d.category == "endpoints" and d.field == "endpoints (synthesized)" and (
              d.istio == [] or all(e[0].startswith("240.0.0.") for e in d.istio)),
          "fixture-multi-namespace"),
    Known("endpointslice-without-pod",
          "istiod holds back an EndpointSlice endpoint whose targetRef Pod is not in the sources",
          lambda d: d.category == "endpoints" and d.field == "endpoints" and d.istio == []
          and d.key.endswith("|inventory.backend.svc.cluster.local"),
          "fixture-multi-namespace"),
    Known("headless-pod-listeners",
          "istiod gives each Pod of a headless TCP service its own listener; meshtui one 0.0.0.0 listener",
          lambda d: d.proxy.split("/")[0] in ("backend", "shared") and (_listener_port(d, "5432")
                                                                     or _trace_on(d, "0.0.0.0_5432")),
          "fixture-multi-namespace"),
    Known("serviceentry-several-addresses",
          "a ServiceEntry with several addresses (or a CIDR) gets one listener per address from istiod; meshtui uses the first",
          lambda d: _listener_port(d, "22") or _trace_on(d, "_22"),
          "scenario-external"),
    Known("gateway-namespaced-redirect-domain",
          "istiod keeps a Gateway server host's namespace/ prefix in an httpsRedirect-only vhost (an Istio bug)",
          lambda d: bool(_extra_vhosts(d)) and all("/" in v for v in _extra_vhosts(d)),
          "oracle-corners"),
    Known("gatewayapi-refused-backend-cluster",
          "a backendRef istiod refuses (no ReferenceGrant, a kind it cannot route to) routes to istiod's cluster "
          "UnknownService; meshtui names an empty outbound|80|| cluster (open, meshtui's Gateway API conversion)",
          lambda d: d.category in ("routes", "traces") and d.istio == [("UnknownService", 100)]
          and d.meshtui == [("outbound|80||", 100)],
          "gatewayapi-mesh"),
    Known("gatewayapi-gateway-conditions",
          "istiod writes Accepted, Programmed and ResolvedRefs on a Gateway; meshtui only Accepted (open, meshtui's "
          "Gateway API conversion)",
          lambda d: d.category == "gateway_status" and d.key.startswith("Gateway ") and d.field == "conditions"
          and d.meshtui == [("Accepted", True, "Accepted")]
          and {c[0] for c in d.istio or []} == {"Accepted", "Programmed", "ResolvedRefs"},
          "gatewayapi-mesh"),
    Known("gatewayapi-invalid-gateway-read",
          "the API server refuses a Gateway whose listeners break the CRD's rules (CEL: port, protocol and hostname "
          "unique per listener), so istiod never sees it; meshtui reads it and reports listener conflicts (open)",
          lambda d: d.category == "admission" and d.key.startswith("Gateway "),
          "gatewayapi-admission-listener-conflict"),
)


def classify(diffs: list[Diff]) -> tuple[list[Diff], dict[str, int]]:
    """(the differences no known entry claims, how many each known entry claimed)."""
    unknown: list[Diff] = []
    hits: dict[str, int] = {}
    for d in diffs:
        k = next((k for k in KNOWN if k.claims(d)), None)
        if k is None:
            unknown.append(d)
        else:
            hits[k.id] = hits.get(k.id, 0) + 1
    return unknown, hits
