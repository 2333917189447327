"""`-f` files over `--cluster`: a file's object replaces the cluster's object of the same
kind/namespace/name, or is added; "what if I apply this" before applying it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from meshtui.model.parse import CLUSTER_SCOPED_KINDS, RawDoc

LayerKey = tuple[str, str, str, str]  # api group, kind, namespace, name


def _group(api_version: object) -> str:
    text = str(api_version or "")
    return text.split("/", 1)[0] if "/" in text else ""


def layer_key(doc: RawDoc, default_namespace: str) -> LayerKey | None:
    data = doc.data
    if not isinstance(data, dict):
        return None
    raw_meta = data.get("metadata")
    meta = raw_meta if isinstance(raw_meta, dict) else {}
    name = meta.get("name")
    kind = data.get("kind")
    if not name or not kind:
        return None
    ns = "" if kind in CLUSTER_SCOPED_KINDS else str(meta.get("namespace") or default_namespace)
    # networking.istio.io/v1 and /v1beta1 name the same object: compare groups, not versions.
    return (_group(data.get("apiVersion")), str(kind), ns, str(name))


@dataclass
class LayerResult:
    docs: list[RawDoc]
    replaced: list[LayerKey] = field(default_factory=list)
    added: list[LayerKey] = field(default_factory=list)


def _flatten(docs: Sequence[RawDoc]) -> list[RawDoc]:
    """`kind: List` documents (a `kubectl get -o yaml` dump) count item by item."""
    out: list[RawDoc] = []
    for d in docs:
        data = d.data
        items = data.get("items") if isinstance(data, dict) else None
        if isinstance(data, dict) and str(data.get("kind", "")).endswith("List") and isinstance(items, list):
            pos = getattr(items, "pos", None)
            for i, item in enumerate(items):
                line = pos[i][0] if pos else d.line
                out.append(RawDoc(item, d.file, line))
        else:
            out.append(d)
    return out


def layer(base: Sequence[RawDoc], overlays: Sequence[RawDoc], default_namespace: str = "default") -> LayerResult:
    """Base docs with overlays applied: a replaced object keeps its place, new ones go last.
    Overlay docs that cannot be keyed (no kind or name) are passed through for the loader to
    report with their file and line."""
    index: dict[LayerKey, int] = {}
    out: list[RawDoc] = list(base)
    for i, d in enumerate(out):
        k = layer_key(d, default_namespace)
        if k is not None:
            index[k] = i
    result = LayerResult(out)
    for d in _flatten(overlays):
        k = layer_key(d, default_namespace)
        if k is not None and k in index:
            out[index[k]] = d
            if k not in result.replaced:
                result.replaced.append(k)
            continue
        if k is not None:
            index[k] = len(out)
            result.added.append(k)
        out.append(d)
    return result
