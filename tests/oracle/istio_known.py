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


KNOWN: tuple[Known, ...] = ()


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
