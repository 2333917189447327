"""Walks over the parts of resources that several analyzers read."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from meshtui.model.istio import (
    Destination,
    HTTPMatchRequest,
    HTTPRouteDestination,
    L4MatchAttributes,
    RouteDestination,
    TCPRoute,
    TLSMatchAttributes,
    TLSRoute,
    VirtualService,
)


class Rule(Protocol):
    """What the three kinds of rule (http, tcp, tls) have in common."""

    @property
    def route(self) -> Sequence[HTTPRouteDestination | RouteDestination]: ...

    @property
    def match(self) -> Sequence[HTTPMatchRequest | L4MatchAttributes | TLSMatchAttributes]: ...


@dataclass(frozen=True, slots=True)
class RoutedDestination:
    """One destination of a VirtualService rule (or a mirror), with its share of the rule's traffic."""

    dest: Destination
    kind: str  # http | tcp | tls
    rule: int
    index: int  # position in route[] (or mirrors[]); -1 for `mirror`
    mirror: bool
    share: float  # fraction of the rule's requests sent here (0 for mirrors)

    @property
    def path(self) -> str:
        return self.dest.src.path


def _shares(weights: list[int | None]) -> list[float]:
    if len(weights) == 1:
        return [1.0]  # a single destination ignores its weight
    ws = [max(w or 0, 0) for w in weights]
    total = sum(ws)
    return [w / total if total else 0.0 for w in ws]


def destinations(vs: VirtualService) -> Iterator[RoutedDestination]:
    s = vs.spec
    for i, r in enumerate(s.http):
        shares = _shares([d.weight for d in r.route])
        for j, d in enumerate(r.route):
            if d.destination is not None:
                yield RoutedDestination(d.destination, "http", i, j, False, shares[j])
        if r.mirror is not None:
            yield RoutedDestination(r.mirror, "http", i, -1, True, 0.0)
        for j, m in enumerate(r.mirrors):
            if m.destination is not None:
                yield RoutedDestination(m.destination, "http", i, j, True, 0.0)
    l4_rules: tuple[tuple[str, tuple[TCPRoute | TLSRoute, ...]], ...] = (("tcp", s.tcp), ("tls", s.tls))
    for kind, rules in l4_rules:
        for i, l4 in enumerate(rules):
            shares = _shares([x.weight for x in l4.route])
            for j, rd in enumerate(l4.route):
                if rd.destination is not None:
                    yield RoutedDestination(rd.destination, kind, i, j, False, shares[j])


def rules_by_kind(vs: VirtualService) -> tuple[tuple[str, Sequence[Rule]], ...]:
    """The rules of `vs` by kind: ("http", spec.http), ("tcp", spec.tcp), ("tls", spec.tls)."""
    return (("http", vs.spec.http), ("tcp", vs.spec.tcp), ("tls", vs.spec.tls))


def rule_label(name: str, index: int) -> str:
    """How istioctl names a rule or a match: its name in quotes, else `#index`."""
    return f'"{name}"' if name else f"#{index}"


def percent(share: float) -> str:
    p = share * 100
    return f"{p:.0f}%" if abs(p - round(p)) < 0.05 else f"{p:.1f}%"
