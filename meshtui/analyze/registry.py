"""The analyzers and `analyze()`, which runs them.

An analyzer is a function Context -> iterable of Message, declared with `@analyzer(...)` in any
module of this package: the package is scanned once (registration by discovery, no list to keep).
Each declares the codes it reports, the kinds it reads (`inputs`) and, when it mirrors one, the
istioctl analyzer it corresponds to (Istio's analyzer name, used by the oracle tests).

Inputs, as in istioctl: an analyzer is skipped when one of its inputs was not loaded. An input
is a kind, or alternatives `Pod|Deployment` (any one loaded is enough). Istio config kinds,
Services and ServiceEntries are always loaded (the sources are the whole configuration);
runtime kinds (Pods, workloads, endpoints, Namespaces, Secrets, Nodes) count as loaded only
when the sources hold some (a folder of Istio YAML says nothing about which pods run), unless
the caller says what it loaded (a cluster read lists every kind it could)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from meshtui.analyze.context import Context
from meshtui.analyze.message import Message, sort_key
from meshtui.analyze.suppress import annotation_codes
from meshtui.model.snapshot import MeshSnapshot
from meshtui.model.source import Diagnostic

if TYPE_CHECKING:
    from meshtui.simulate.tracer import Tracer

Run = Callable[[Context], Iterable[Message]]

# kinds a source of configuration always provides in full (absent means none exist)
ALWAYS_LOADED = frozenset({"VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "Sidecar", "WorkloadEntry",
                           "Service", "MeshConfig", "PeerAuthentication", "AuthorizationPolicy",
                           "RequestAuthentication",
                           # the Kubernetes Gateway API (gateway.networking.k8s.io; its Gateway keyed as KubernetesGateway)
                           "GatewayClass", "KubernetesGateway", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "ReferenceGrant"})


@dataclass(frozen=True)
class Analyzer:
    name: str  # family.Check, e.g. virtualservice.DestinationHosts
    description: str
    codes: tuple[str, ...]
    inputs: tuple[str, ...]  # kinds read; "A|B" means either
    run: Run
    istio: str = ""  # the istioctl analyzer this one mirrors (Istio's Metadata().Name), if any
    uses_tracer: bool = False

    def missing(self, loaded: frozenset[str]) -> list[str]:
        """The inputs none of whose kinds were loaded (empty: the analyzer can run)."""
        return [i for i in self.inputs if not any(k in loaded for k in i.split("|"))]


_REGISTRY: dict[str, Analyzer] = {}
_discovered = False


def analyzer(name: str, codes: tuple[str, ...], description: str, *, inputs: tuple[str, ...], istio: str = "",
             uses_tracer: bool = False) -> Callable[[Run], Run]:
    def register(fn: Run) -> Run:
        if name in _REGISTRY and _REGISTRY[name].run is not fn:
            raise ValueError(f"analyzer {name} is registered twice")
        _REGISTRY[name] = Analyzer(name, description, codes, inputs, fn, istio, uses_tracer)
        return fn

    return register


def all_analyzers() -> list[Analyzer]:
    """Every analyzer of the package, found by importing each of its modules once."""
    global _discovered
    if not _discovered:
        import meshtui.analyze as package

        for mod in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
            importlib.import_module(f"{package.__name__}.{mod}")
        _discovered = True
    return sorted(_REGISTRY.values(), key=lambda a: a.name)


def loaded_kinds(snapshot: MeshSnapshot) -> frozenset[str]:
    """The kinds these sources provide: config kinds always, runtime kinds when present."""
    present = {k for k, _, _ in snapshot.by_key} | {r.kind for r in snapshot.rejected}
    return frozenset(ALWAYS_LOADED | present)


def plan(snapshot: MeshSnapshot, only: Iterable[str] | None = None,
         loaded: Iterable[str] | None = None) -> tuple[list[Analyzer], list[tuple[Analyzer, list[str]]]]:
    """The analyzers to run, and those skipped with the inputs they lack."""
    have = frozenset(loaded) if loaded is not None else loaded_kinds(snapshot)
    chosen = all_analyzers()
    if only is not None:
        pats = list(only)
        chosen = [a for a in chosen if any(fnmatchcase(a.name, p) for p in pats)]
    run, skipped = [], []
    for a in chosen:
        lacking = a.missing(have)
        if lacking:
            skipped.append((a, lacking))
        else:
            run.append(a)
    return run, skipped


def analyze(snapshot: MeshSnapshot, diagnostics: Iterable[Diagnostic] | None = None, *,
            only: Iterable[str] | None = None, tracer: Tracer | None = None,
            loaded: Iterable[str] | None = None, now: datetime | None = None) -> list[Message]:
    """Every message for this snapshot. `diagnostics` are the loader's (default: the snapshot's
    own); `only` picks analyzers by name (fnmatch patterns); `tracer` overrides the tracer used by
    the checks that replay requests (default: meshtui's translate + simulate); `loaded` names the
    kinds the sources provided (default: see the module docstring); `now` is when certificates
    are judged valid (default: their validity window is not checked)."""
    ctx = Context(snapshot, tracer)
    ctx.now = now
    ctx.diagnostics = list(snapshot.diagnostics if diagnostics is None else diagnostics)
    run, _ = plan(snapshot, only, loaded)
    out: list[Message] = []
    for a in run:
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
