"""The analyzers, registered by the modules that define them, and `analyze()`, which runs them.

Each analyzer is a function Context -> iterable of Message, registered with the codes it can
report. `analyze()` runs every analyzer (or a chosen few), drops messages suppressed by object
annotation, de-duplicates and sorts."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from meshtui.analyze.context import Context
from meshtui.analyze.message import Message, sort_key
from meshtui.analyze.suppress import annotation_codes
from meshtui.model.snapshot import MeshSnapshot
from meshtui.model.source import Diagnostic

Run = Callable[[Context], Iterable[Message]]

# the modules that register analyzers, in the order they run
_MODULES = ("schema", "virtualservice", "rules", "destinationrule", "gateway", "sidecar", "serviceentry",
            "routing", "shadowing")


@dataclass(frozen=True)
class Analyzer:
    name: str  # family.Check, e.g. virtualservice.DestinationHosts
    description: str
    codes: tuple[str, ...]
    run: Run
    uses_tracer: bool = False


_REGISTRY: list[Analyzer] = []


def analyzer(name: str, codes: tuple[str, ...], description: str, uses_tracer: bool = False) -> Callable[[Run], Run]:
    def register(fn: Run) -> Run:
        _REGISTRY.append(Analyzer(name, description, codes, fn, uses_tracer))
        return fn

    return register


def all_analyzers() -> list[Analyzer]:
    for mod in _MODULES:
        importlib.import_module(f"meshtui.analyze.{mod}")
    return list(_REGISTRY)


def analyze(snapshot: MeshSnapshot, diagnostics: Iterable[Diagnostic] | None = None, *,
            only: Iterable[str] | None = None, tracer: Any = None) -> list[Message]:
    """Every message for this snapshot. `diagnostics` are the loader's (default: the snapshot's
    own); `only` picks analyzers by name (fnmatch patterns); `tracer` overrides the tracer used by
    the checks that replay requests (default: meshtui's translate + simulate when installed)."""
    from fnmatch import fnmatchcase

    ctx = Context(snapshot, tracer)
    ctx.diagnostics = list(snapshot.diagnostics if diagnostics is None else diagnostics)
    chosen = all_analyzers()
    if only is not None:
        pats = list(only)
        chosen = [a for a in chosen if any(fnmatchcase(a.name, p) for p in pats)]
    out: list[Message] = []
    for a in chosen:
        try:
            out.extend(a.run(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            out.append(Message("IST0001", "Error", "", "", "",
                               f"Internal error in analyzer {a.name}: {type(exc).__name__}: {exc}. "
                               "This is a bug in meshtui; please report it with the input that caused it."))
    return finish(out, snapshot)


def finish(messages: Iterable[Message], snapshot: MeshSnapshot) -> list[Message]:
    """Drop annotation-suppressed and duplicate messages; sort."""
    seen: set[Message] = set()
    kept: list[Message] = []
    for m in messages:
        if m in seen:
            continue
        seen.add(m)
        obj = snapshot.by_key.get((m.kind, m.namespace, m.name))
        if obj is not None and obj.metadata is not None:
            codes = annotation_codes(obj.metadata.annotations)
            if "*" in codes or m.code in codes:
                continue
        kept.append(m)
    kept.sort(key=sort_key)
    return kept
