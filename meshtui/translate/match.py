"""Config-time match predicates: the parts of a VirtualService match that Istio evaluates while it
generates a proxy's configuration (port, gateways, sourceLabels, sourceNamespace), not at request
time. One place for them, so translation, the analyzers and the trace agree; each predicate
returns a `MatchVerdict` that says which field decided and why.

Istio's own functions differ by protocol, and so do these:
- HTTP (route.go sourceMatchHTTP + the port check in translateRoute): a match that names
  gateways is kept on any of them and its sourceLabels/sourceNamespace are not looked at.
- TCP/TLS on a sidecar (tls.go matchTCP/matchTLS): every field must hold.
- TCP/TLS on a gateway (gateway.go l4SingleMatch): only port and gateways are looked at.

Fields Istio parses but never uses for routing (`sourceSubnet`) are reported by `ignored_fields`
so the caller can say so instead of silently dropping them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from meshtui.model.hosts import resolve_gateway_name
from meshtui.model.istio import HTTPMatchRequest, L4MatchAttributes, TLSMatchAttributes

L4Match = L4MatchAttributes | TLSMatchAttributes
ConfigMatch = HTTPMatchRequest | L4MatchAttributes | TLSMatchAttributes

MESH = "mesh"


class MatchField(StrEnum):
    """The config-time fields of a match, spelled as in the Istio API."""

    PORT = "port"
    GATEWAYS = "gateways"
    SOURCE_LABELS = "sourceLabels"
    SOURCE_NAMESPACE = "sourceNamespace"
    SOURCE_SUBNET = "sourceSubnet"
    DESTINATION_SUBNETS = "destinationSubnets"


@dataclass(frozen=True, slots=True)
class ProxySide:
    """The proxy and listener port a configuration is generated for: what config-time matches
    are judged against. `gateways` is {"mesh"} for a sidecar, {"ns/name"} for a gateway server."""

    port: int
    gateways: frozenset[str]
    labels: Mapping[str, str]
    namespace: str

    @classmethod
    def sidecar(cls, port: int, labels: Mapping[str, str], namespace: str) -> ProxySide:
        return cls(port, frozenset({MESH}), labels, namespace)


@dataclass(frozen=True, slots=True)
class MatchVerdict:
    """Whether a match is kept for a proxy; when not, the field that dropped it and why."""

    applies: bool
    field: MatchField | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.applies


KEPT = MatchVerdict(True)


def gateway_ref(name: str, vs_namespace: str) -> str:
    """A `gateways` entry as `ns/name` (or `mesh`), resolved against the VirtualService's namespace."""
    return resolve_gateway_name(name, vs_namespace)


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(none)"


def _port(m: ConfigMatch, side: ProxySide) -> MatchVerdict:
    if m.port is not None and m.port != side.port:
        return MatchVerdict(False, MatchField.PORT, f"port {m.port} is not this listener's port {side.port}")
    return KEPT


def _gateways(m: ConfigMatch, side: ProxySide, vs_ns: str) -> MatchVerdict:
    if m.gateways and not any(gateway_ref(g, vs_ns) in side.gateways for g in m.gateways):
        names = ", ".join(gateway_ref(g, vs_ns) for g in m.gateways)
        return MatchVerdict(False, MatchField.GATEWAYS, f"gateways [{names}] do not include this proxy ({', '.join(sorted(side.gateways))})")
    return KEPT


def _source(m: ConfigMatch, side: ProxySide) -> MatchVerdict:
    wrong = [k for k, v in m.source_labels.items() if side.labels.get(k) != v]
    if wrong:
        have = ", ".join(f"{k}={side.labels[k]}" if k in side.labels else f"{k} unset" for k in sorted(wrong))
        return MatchVerdict(False, MatchField.SOURCE_LABELS,
                            f"sourceLabels {_labels_text(m.source_labels)} does not match {have}")
    if m.source_namespace and m.source_namespace != side.namespace:
        return MatchVerdict(False, MatchField.SOURCE_NAMESPACE,
                            f"sourceNamespace {m.source_namespace} is not this proxy's namespace {side.namespace}")
    return KEPT


def http_verdict(m: HTTPMatchRequest | None, side: ProxySide, vs_ns: str) -> MatchVerdict:
    """Is an HTTP match kept in this proxy's route for this port? (port, then sourceMatchHTTP:
    gateways when named, else sourceLabels and sourceNamespace)."""
    if m is None:
        return KEPT
    v = _port(m, side)
    if not v:
        return v
    if m.gateways:
        return _gateways(m, side, vs_ns)
    return _source(m, side)


def sidecar_l4_verdict(m: L4Match | None, side: ProxySide, vs_ns: str) -> MatchVerdict:
    """matchTCP/matchTLS: every config-time field must hold."""
    if m is None:
        return KEPT
    return _port(m, side) and _gateways(m, side, vs_ns) and _source(m, side)


def gateway_l4_verdict(m: L4Match | None, side: ProxySide, vs_ns: str) -> MatchVerdict:
    """l4SingleMatch: a gateway looks at port and gateways only (source fields are not checked)."""
    if m is None:
        return KEPT
    return _port(m, side) and _gateways(m, side, vs_ns)


def ignored_fields(m: ConfigMatch | None, gateway: bool = False) -> tuple[tuple[MatchField, str], ...]:
    """Fields set on a match that Istio parses but does not route on here, with why."""
    if m is None:
        return ()
    out: list[tuple[MatchField, str]] = []
    if isinstance(m, L4MatchAttributes) and m.source_subnet:
        out.append((MatchField.SOURCE_SUBNET, f"sourceSubnet {m.source_subnet} is ignored: Istio does not use it for routing"))
    if gateway and isinstance(m, (L4MatchAttributes, TLSMatchAttributes)):
        if m.source_labels or m.source_namespace:
            out.append((MatchField.SOURCE_LABELS if m.source_labels else MatchField.SOURCE_NAMESPACE,
                        "sourceLabels and sourceNamespace are ignored on a gateway's TCP/TLS routes (as Istio does)"))
        if m.destination_subnets:
            out.append((MatchField.DESTINATION_SUBNETS,
                        "destinationSubnets is ignored on a gateway's TCP/TLS routes (as Istio does)"))
    return tuple(out)


def delegate_contained(root: HTTPMatchRequest, child: HTTPMatchRequest) -> bool:
    """A delegate's match must stay inside its root's, by config-time fields (Istio's
    mergeHTTPMatchRequest refuses conflicting port, sourceNamespace, sourceLabels, gateways)."""
    if root.port is not None and child.port is not None and root.port != child.port:
        return False
    if root.source_namespace and child.source_namespace and root.source_namespace != child.source_namespace:
        return False
    if any(k in child.source_labels and child.source_labels[k] != v for k, v in root.source_labels.items()):
        return False
    return not (root.gateways and child.gateways and not set(child.gateways) <= set(root.gateways))


def delegate_merged(root: HTTPMatchRequest, child: HTTPMatchRequest) -> HTTPMatchRequest:
    """`child` with the config-time fields of its root's match merged in (the child's win)."""
    return replace(child, port=child.port if child.port is not None else root.port,
                   source_namespace=child.source_namespace or root.source_namespace,
                   gateways=child.gateways or root.gateways, source_labels={**root.source_labels, **child.source_labels})


def source_covers(a: ConfigMatch | None, b: ConfigMatch | None, b_namespace: str | None = None) -> bool:
    """Does every proxy that keeps `b` also keep `a`, by source fields? `b_namespace` stands in
    for b's sourceNamespace when b has none but only one namespace can see it."""
    if a is None:
        return True
    labels = b.source_labels if b is not None else {}
    if any(labels.get(k) != v for k, v in a.source_labels.items()):
        return False
    if a.source_namespace:
        own = (b.source_namespace if b is not None and b.source_namespace else None) or b_namespace
        if a.source_namespace != own:
            return False
    return True


def config_covers(a: ConfigMatch | None, b: ConfigMatch | None) -> bool:
    """Is `a` kept wherever `b` is (same port, gateways and source fields or broader)? Gateway
    names are compared as written."""
    if a is None:
        return True
    if b is None:
        return a.port is None and not a.gateways and not a.source_labels and not a.source_namespace
    if a.port is not None and a.port != b.port:
        return False
    if a.gateways and (not b.gateways or not set(b.gateways) <= set(a.gateways)):
        return False
    return source_covers(a, b)
