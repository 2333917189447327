"""What the app is looking at: the loaded snapshot, where it came from, the analyzer's findings,
and the helpers the screens share (object YAML, badges, what-if rebuilds). No Textual here, so
the logic is tested without a terminal."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from meshtui.model.istio import Resource
from meshtui.model.parse import LoadResult, RawDoc, build_snapshot, parse_docs
from meshtui.model.snapshot import MeshSnapshot, rebuild
from meshtui.model.source import ERROR, Diagnostic
from meshtui.tui.related import KIND_ORDER, KIND_SHORT, Key
from meshtui.tui.yamltext import YamlText, yaml_for

TREE_KINDS = KIND_ORDER


@dataclass
class SourceInfo:
    kind: str  # files | cluster | demo
    label: str  # for the status bar: "fixtures/bookinfo", "cluster kind-dev", "demo"
    files: list[str] = field(default_factory=list)
    context: str = ""
    namespaces: list[str] | None = None


@dataclass
class Workspace:
    result: LoadResult
    source: SourceInfo
    findings: list[Any] | None = None  # analyze() messages; None: not analysed (yet)
    analyzer_note: str = ""  # why there are no findings (not available, failed)
    changed: set[Key] = field(default_factory=set)  # objects the last cluster update touched
    version: int = 0
    # objects() per (namespace, kind): the snapshot never changes, so each list is sorted once
    _objects: dict[tuple[str | None, str | None], list[Key]] = field(default_factory=dict, repr=False, compare=False)
    _texts: dict[tuple[str | None, str | None], list[str]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def snapshot(self) -> MeshSnapshot:
        return self.result.snapshot

    # ------------------------------------------------------------------ listing

    def namespaces(self) -> list[str]:
        return sorted({k[1] for k in self.snapshot.by_key if k[0] in TREE_KINDS})

    def objects(self, namespace: str | None = None, kind: str | None = None) -> list[Key]:
        hit = self._objects.get((namespace, kind))
        if hit is None:
            rank = {k: i for i, k in enumerate(TREE_KINDS)}
            hit = [k for k in self.snapshot.by_key if k[0] in rank
                   and (namespace is None or k[1] == namespace) and (kind is None or k[0] == kind)]
            hit.sort(key=lambda k: (k[1], rank[k[0]], k[2]))
            self._objects[(namespace, kind)] = hit
        return list(hit)

    def search_texts(self, namespace: str | None = None, kind: str | None = None) -> list[str]:
        """What `/` matches for each of objects(namespace, kind), in the same order, made once and
        in lower case (the filter ignores case): "kind ns/name short" (typing in the filter
        re-reads these, it does not re-format them)."""
        hit = self._texts.get((namespace, kind))
        if hit is None:
            hit = [f"{k[0]} {k[1]}/{k[2]} {KIND_SHORT.get(k[0], '')}".lower() for k in self.objects(namespace, kind)]
            self._texts[(namespace, kind)] = hit
        return hit

    def yaml(self, key: Key) -> YamlText | None:
        obj = self.snapshot.by_key.get(key)
        if obj is None:
            return None
        return yaml_for(obj.src.file, obj.src.line, self.snapshot.raw.get(key))

    def line_for(self, key: Key, line: int | None, path: str = "") -> int | None:
        """The line to show for a reference: its own line, else the line of its field path."""
        if line:
            return line
        yt = self.yaml(key)
        if yt is None:
            return None
        return yt.line_of(path) if path else yt.first_line

    # ------------------------------------------------------------------ findings

    def findings_by_key(self) -> dict[Key, list[Any]]:
        out: dict[Key, list[Any]] = defaultdict(list)
        for m in self.findings or ():
            if m.kind and m.name:
                out[(m.kind, m.namespace, m.name)].append(m)
        return out

    def load_errors(self) -> list[Diagnostic]:
        return [d for d in self.result.diagnostics if d.level == ERROR]


def run_analysis(snapshot: MeshSnapshot, diagnostics: list[Diagnostic]) -> tuple[list[Any] | None, str]:
    """(messages, note). When the analyzer fails, the app says so instead of showing nothing."""
    from meshtui.analyze import analyze

    try:
        return analyze(snapshot, diagnostics, now=datetime.now(UTC)), ""
    except Exception as exc:  # noqa: BLE001 - a broken check must not hide the rest of the app
        return None, f"the analyzer failed ({type(exc).__name__}: {exc}); this is a bug in meshtui"


# ---------------------------------------------------------------------- badges


def fault_targets(faults: list[dict], snapshot: MeshSnapshot) -> dict[Key, int]:
    """Active game-day faults per object they act on (a VS, or the Service/SE of a host)."""
    out: dict[Key, int] = defaultdict(int)
    for f in faults:
        t = f.get("target") or {}
        vs = t.get("virtual_service")
        if vs:
            ns, _, name = vs.partition("/")
            out[("VirtualService", ns, name)] += 1
        host = t.get("host")
        if host:
            for rs in snapshot.services_by_host.get(host, ()):
                out[rs.resource.key] += 1
    return out


# ---------------------------------------------------------------------- what-if


@dataclass
class WhatIf:
    """The result of re-parsing an edited copy of one object with every other object."""

    result: LoadResult | None
    errors: list[str]  # for people: file:line: field: reason
    warnings: list[str]
    replaced: Key
    new_keys: list[Key]


def rebuild_with(snapshot: MeshSnapshot, key: Key, text: str, label: str, default_namespace: str = "default") -> WhatIf:
    """The snapshot with `key` replaced by the objects in `text` (usually the same one, edited).
    Only the edited text is parsed again; the other objects are reused as they are."""
    from meshtui.errors import InputError
    from meshtui.sources.loader import read_docs

    try:
        docs = read_docs(label, text)
    except InputError as exc:
        return WhatIf(None, [str(exc)], [], key, [])
    objects, diags, _skipped, left_out, raws = parse_docs(docs, default_namespace)
    errors = [str(d) for d in diags if d.level == ERROR]
    warnings = [str(d) for d in diags if d.level != ERROR and d.code not in ("MT0002",)]
    if left_out or errors:
        return WhatIf(None, errors or [f"{label}: the edited object was left out"], warnings, key, [])
    if not objects:
        return WhatIf(None, [f"{label}: no Kubernetes or Istio object in the edited text"], warnings, key, [])
    new_keys = [o.key for o in objects]
    # the edited object keeps its place (load order breaks ties in Istio's precedence)
    merged: dict[Key, Resource] = {}
    for k, o in snapshot.by_key.items():
        if k == key:
            merged.update((n.key, n) for n in objects)
        elif k not in new_keys:
            merged[k] = o
    if key not in snapshot.by_key:
        merged.update((n.key, n) for n in objects)
    derive = getattr(snapshot.raw, "derive", None)  # a FileRaw: re-reads files on demand, so no walk over it
    if derive is not None:
        all_raw = derive({key}, raws)
    else:
        all_raw = {k: v for k, v in snapshot.raw.items() if k != key}
        all_raw.update(raws)
    # an edit of a routing object remakes only its kind's field (model.snapshot.rebuild)
    snap = rebuild(snapshot, merged, list(snapshot.diagnostics), all_raw)
    if snapshot.live_faults:
        snap = replace(snap, live_faults=snapshot.live_faults)
    return WhatIf(LoadResult(snap, list(snap.diagnostics), loaded=len(snap.by_key)), [], warnings, key, new_keys)


def docs_of(snapshot: MeshSnapshot) -> list[RawDoc]:
    """Every object as a RawDoc again (for a full rebuild)."""
    return [RawDoc(raw, snapshot.by_key[k].src.file, snapshot.by_key[k].src.line)
            for k, raw in snapshot.raw.items() if k in snapshot.by_key]


__all__ = [
    "SourceInfo",
    "WhatIf",
    "Workspace",
    "build_snapshot",
    "docs_of",
    "fault_targets",
    "rebuild_with",
    "run_analysis",
]
