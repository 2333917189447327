"""Plain objects (from YAML or the API server) → validated typed resources, with diagnostics.

Pure: no I/O. The loader (files, stdin) and the cluster source both feed this, so a folder and a
cluster with the same objects give the same snapshot."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from meshtui.model import validate
from meshtui.model.gatewayapi import gateway_api_class, model_kind
from meshtui.model.istio import ISTIO_KINDS, ISTIO_VERSIONS, Resource
from meshtui.model.k8s import K8S_KINDS, LAST_APPLIED, NO_RAW_KINDS
from meshtui.model.meshconfig import MeshConfig
from meshtui.model.schema import Ctx, parse_into, type_name
from meshtui.model.security import SECURITY_KINDS, SECURITY_VERSIONS
from meshtui.model.snapshot import ROUTING_FIELDS, MeshSnapshot, build, rebuild
from meshtui.model.source import ERROR, INFO, WARNING, Diagnostic, Source
from meshtui.model.yamlpos import position


@dataclass(frozen=True, slots=True)
class RawDoc:
    """One object as plain data (shaped like `kubectl get -o json`) and where it came from."""

    data: Any
    file: str
    line: int | None = None
    # (line, column, message) the YAML reader noticed, such as a key written twice
    warnings: tuple[tuple[int, int, str], ...] = ()
    # a document that could not be read at all (not YAML): why, and the column of the problem
    # (`line` is then where it is); it is reported as an Error and left out
    error: str | None = None
    column: int | None = None


@dataclass
class LoadResult:
    snapshot: MeshSnapshot
    diagnostics: list[Diagnostic]
    skipped_kinds: dict[str, int] = field(default_factory=dict)
    left_out: int = 0
    loaded: int = 0
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == ERROR]


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def locate(raw: Any, path: str) -> tuple[int | None, int | None]:
    """The (line, column) of `path` (`spec.http[0].route`) inside a position-aware object; the
    deepest known position when the path goes further than the data."""
    node = raw
    best: tuple[int | None, int | None] = (getattr(raw, "line", None), getattr(raw, "column", None))
    for m in _TOKEN.finditer(path):
        key: Any = m.group(1) if m.group(1) is not None else int(m.group(2))
        try:
            child = node[key]
        except (KeyError, IndexError, TypeError):
            break
        line, col = position(node, key)
        if line is not None:
            best = (line, col)
        node = child
    return best


def _kind_class(api_version: str, kind: str) -> tuple[type[Resource] | None, bool]:
    if kind in ISTIO_KINDS and api_version in ISTIO_VERSIONS:
        return ISTIO_KINDS[kind], True
    if kind in SECURITY_KINDS and api_version in SECURITY_VERSIONS:
        return SECURITY_KINDS[kind], True
    gw_api = gateway_api_class(api_version, kind)
    if gw_api is not None:
        return gw_api, True
    spec = K8S_KINDS.get(kind)
    if spec is not None:
        prefix, cls = spec
        if api_version == prefix or (prefix.endswith("/") and api_version.startswith(prefix)):
            return cls, False
    return None, False


def _flatten(doc: RawDoc, out: list[RawDoc], depth: int = 0) -> None:
    data = doc.data
    if isinstance(data, dict) and isinstance(data.get("kind"), str) and data["kind"].endswith("List") and isinstance(data.get("items"), list):
        items = data["items"]
        pos = getattr(items, "pos", None)
        for i, item in enumerate(items):
            line = pos[i][0] if pos else doc.line
            if depth < 4:
                _flatten(RawDoc(item, doc.file, line), out, depth + 1)
            else:  # a List nested five deep: keep the item as it is (reported as an unknown kind)
                out.append(RawDoc(item, doc.file, line))
        return
    out.append(doc)


def _flat(docs: Iterable[RawDoc], warnings: list[Diagnostic]) -> Iterator[RawDoc]:
    for d in docs:
        out: list[RawDoc] = []
        _flatten(d, out)
        for line, col, message in d.warnings:
            warnings.append(Diagnostic(WARNING, message, Source(d.file, line, col, ""), code="MT0004"))
        yield from out


# kinds without a namespace (the API server ignores metadata.namespace on them): keyed with "",
# never given the default namespace of the files or the context
CLUSTER_SCOPED_KINDS = frozenset({"Namespace", "Node", "GatewayClass"})


def parse_docs(docs: Iterable[RawDoc], default_namespace: str = "default",
               rejected: list[Resource] | None = None,
               keep_raw: Callable[[str], bool] | None = None
               ) -> tuple[list[Resource], list[Diagnostic], dict[str, int], int, dict[tuple[str, str, str], Any]]:
    """Validate and type every object. Returns (kept objects, diagnostics, skipped kinds,
    number left out, raw data by key). Later duplicates replace earlier ones. Objects that
    parsed but fail Istio's validation are appended to `rejected` when given: istioctl still
    analyzes them, so the analyzers that mirror its checks can too.

    `docs` is consumed once, in order (a generator that reads files as it goes keeps one file's
    YAML in memory at a time); with `keep_raw`, only the raw data of objects whose file it
    accepts is returned (the loader reads the others back from their files when needed)."""
    warnings: list[Diagnostic] = []  # the YAML reader's, reported first
    diags: list[Diagnostic] = []
    skipped: dict[str, int] = {}
    kept: dict[tuple[str, str, str], tuple[Resource, Source]] = {}
    raws: dict[tuple[str, str, str], Any] = {}
    left_out = 0
    for doc in _flat(docs, warnings):
        data = doc.data
        if doc.error is not None:
            diags.append(Diagnostic(ERROR, doc.error, Source(doc.file, doc.line, doc.column, "")))
            left_out += 1
            continue
        where = Source(doc.file, doc.line, None, "")
        if data is None:
            continue
        if not isinstance(data, dict):
            diags.append(Diagnostic(ERROR, f"expected a Kubernetes object (a map with apiVersion and kind), got {type_name(data)}", where))
            left_out += 1
            continue
        kind, api = data.get("kind"), data.get("apiVersion")
        if not isinstance(kind, str) or not isinstance(api, str):
            missing = "kind" if not isinstance(kind, str) else "apiVersion"
            line = getattr(data, "line", doc.line)
            diags.append(Diagnostic(ERROR, f"{missing} is missing or not a string", Source(doc.file, line, None, missing)))
            left_out += 1
            continue
        cls, is_istio = _kind_class(api, kind)
        if cls is None:
            skipped[f"{api}/{kind}"] = skipped.get(f"{api}/{kind}", 0) + 1
            continue
        meta = data.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
            line, col = locate(data, "metadata.name")
            bad = meta.get("name") if isinstance(meta, dict) else None
            path = "metadata.name"
            if meta is not None and not isinstance(meta, dict):
                path, reason = "metadata", f"metadata must be a map, got {type_name(meta)}"
            elif bad in (None, ""):
                reason = "metadata.name is required"
            else:
                reason = f"metadata.name must be a string, got {type_name(bad)} {bad!r}"
            diags.append(Diagnostic(ERROR, reason, Source(doc.file, line, col, path), kind))
            left_out += 1
            continue
        name = meta["name"]
        ns = meta.get("namespace") if kind not in CLUSTER_SCOPED_KINDS else ""
        if ns is None or ns == "":
            ns = "" if kind in CLUSTER_SCOPED_KINDS else default_namespace
        if not isinstance(ns, str):
            line, col = locate(data, "metadata.namespace")
            diags.append(Diagnostic(ERROR, "metadata.namespace must be a string", Source(doc.file, line, col, "metadata.namespace"), kind, "", name))
            left_out += 1
            continue
        ctx = Ctx(doc.file, diags, strict=is_istio)
        ctx.kind, ctx.namespace, ctx.name = kind, ns, name
        obj = parse_into(cls, data, "", ctx)
        if (keyed := model_kind(api, kind)) != kind:
            object.__setattr__(obj, "kind", keyed)  # keyed apart from Istio's Gateway
        if not obj.metadata.namespace and kind not in CLUSTER_SCOPED_KINDS:
            object.__setattr__(obj.metadata, "namespace", ns)
        if kind in NO_RAW_KINDS and LAST_APPLIED in obj.metadata.annotations:
            object.__setattr__(obj.metadata, "annotations",
                               {k: v for k, v in obj.metadata.annotations.items() if k != LAST_APPLIED})
        invalid_only = ctx.errors == 0  # parsed; what follows is Istio's validation
        if is_istio and obj.spec_missing:
            line, col = locate(data, "spec")
            diags.append(Diagnostic(ERROR, "spec is required", Source(doc.file, line, col, "spec"), kind, ns, name))
            ctx.errors += 1
        if ctx.errors == 0:
            for problem in validate.check(obj):
                path, reason = problem
                line, col = locate(data, path)
                if isinstance(problem, validate.Warn):  # Istio accepts it with a warning: keep the object
                    diags.append(Diagnostic(WARNING, reason, Source(doc.file, line, col, path), kind, ns, name, code="MT0003"))
                    continue
                diags.append(Diagnostic(ERROR, reason, Source(doc.file, line, col, path), kind, ns, name))
                ctx.errors += 1
        if ctx.errors:
            left_out += 1
            if invalid_only and rejected is not None:
                rejected.append(obj)
            continue
        key = obj.key
        if key in kept:
            _, prev = kept[key]
            diags.append(Diagnostic(WARNING, f"defined twice: {prev.at() or prev.file} and {obj.src.at() or obj.src.file}; the later one is used",
                                    obj.src, kind, ns, name, code="MT0001"))
        kept[key] = (obj, obj.src)
        if kind not in NO_RAW_KINDS and (keep_raw is None or keep_raw(doc.file)):
            raws[key] = data
        else:
            raws.pop(key, None)  # an earlier duplicate's
    diags[:0] = warnings
    for k, n in sorted(skipped.items()):
        diags.append(Diagnostic(INFO, f"skipped {n} object{'s' if n != 1 else ''} of kind {k} (meshtui does not use it)", Source(), code="MT0002"))
    return [o for o, _ in kept.values()], diags, skipped, left_out, raws


def rebuild_snapshot(previous: LoadResult, docs: Iterable[RawDoc], changed: set[tuple[str, str, str]],
                     default_namespace: str = "default") -> LoadResult | None:
    """build_snapshot(docs) for docs that differ from the ones `previous` was built from only in
    the objects `changed` names (added, modified or removed), all of model.snapshot.ROUTING_FIELDS
    kinds: only those docs are parsed again and the snapshot is remade by model.snapshot.rebuild
    (a watched VirtualService at 10,000 services: milliseconds, not a parse of every object).
    None when that does not hold: the caller builds whole. The diagnostics are previous's less
    those naming a changed object, then the new ones (a full build lists them in document order)."""
    prev = previous.snapshot
    if not changed or any(k[0] not in ROUTING_FIELDS for k in changed):
        return None
    # an Istio Gateway's diagnostics name it as a Gateway API Gateway of the same name would be named
    if any(k[0] == "Gateway" and ("KubernetesGateway", k[1], k[2]) in prev.by_key for k in changed):
        return None
    order: dict[tuple[str, str, str], Resource | None] = {}
    fresh: list[RawDoc] = []
    for doc in docs:
        data = doc.data
        meta = data.get("metadata") if isinstance(data, dict) else None
        if not isinstance(meta, dict):
            return None
        kind = data.get("kind")
        ns = "" if kind in CLUSTER_SCOPED_KINDS else str(meta.get("namespace") or default_namespace)
        key = (model_kind(data.get("apiVersion"), kind), ns, str(meta.get("name") or ""))
        if key in changed:
            fresh.append(doc)
            order[key] = None  # its place, filled below
        else:
            kept = prev.by_key.get(key)
            if kept is not None:
                order[key] = kept
    if sum(1 for v in order.values() if v is not None) != sum(1 for k in prev.by_key if k not in changed):
        return None  # an unchanged object not found where parse_docs keys it: build whole
    rejected = [r for r in prev.rejected if r.key not in changed]
    objects, diags, skipped, left_out, raws = parse_docs(fresh, default_namespace, rejected)
    new = {o.key: o for o in objects}
    if not set(new) <= changed or skipped:
        return None  # a key read differently by the parser, or a kind it skips: build whole
    by_key = {k: v if v is not None else new[k] for k, v in order.items() if v is not None or k in new}
    was_left_out = sum(1 for k in changed if k not in prev.by_key
                       and any(d.level == ERROR and (d.kind, d.namespace, d.name) == k for d in prev.diagnostics))
    diagnostics = [d for d in prev.diagnostics if (d.kind, d.namespace, d.name) not in changed] + diags
    raw = {k: v for k, v in prev.raw.items() if k not in changed}
    raw.update(raws)
    snap = rebuild(prev, by_key, diagnostics, raw, rejected)
    return LoadResult(snap, list(diagnostics), dict(previous.skipped_kinds), previous.left_out - was_left_out + left_out,
                      len(by_key))


def build_snapshot(docs: Iterable[RawDoc], default_namespace: str = "default", mesh: MeshConfig = MeshConfig(),
                   keep_raw: Callable[[str], bool] | None = None) -> LoadResult:
    rejected: list[Resource] = []
    objects, diags, skipped, left_out, raws = parse_docs(docs, default_namespace, rejected, keep_raw)
    snap = build(objects, diags, mesh, raws, rejected)
    return LoadResult(snap, diags, skipped, left_out, len(objects))
