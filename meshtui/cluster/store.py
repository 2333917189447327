"""The objects cluster mode holds: what the lists returned, kept current by the watch."""

from __future__ import annotations

import threading

from meshtui.cluster.kinds import KIND_ORDER
from meshtui.model.gatewayapi import model_kind
from meshtui.model.parse import RawDoc

# model kind (KubernetesGateway for the Gateway API's Gateway, apart from Istio's Gateway),
# namespace ("" when cluster-scoped), name
Key = tuple[str, str, str]


def _meta(obj: dict) -> dict:
    """The object's metadata; a server may send anything there (the parser reports it)."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def key_of(obj: dict) -> Key:
    meta = _meta(obj)
    return (model_kind(obj.get("apiVersion"), obj.get("kind")), str(meta.get("namespace") or ""),
            str(meta.get("name") or ""))


def resource_version(obj: dict) -> str:
    return str(_meta(obj).get("resourceVersion") or "")


def _unchanged(old: RawDoc | None, obj: dict) -> bool:
    """The object is the one held: both carry the same (non-empty) resourceVersion."""
    rv = resource_version(obj)
    return old is not None and bool(rv) and resource_version(old.data) == rv


def _order(key: Key) -> tuple[int, str, str]:
    return (KIND_ORDER.get(key[0], 99), key[1], key[2])


class ObjectStore:
    """Thread-safe map kind/namespace/name -> RawDoc, with a stable document order."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._lock = threading.Lock()
        self._docs: dict[Key, RawDoc] = {}
        self._sorted: list[RawDoc] | None = None

    def load(self, objects: list[dict]) -> None:
        with self._lock:
            for obj in objects:
                self._docs[key_of(obj)] = RawDoc(obj, self.file, None)
            self._sorted = None

    def apply(self, typ: str, obj: dict) -> tuple[str, str, str, str] | None:
        """One watch event; returns (type, kind, namespace, name), or None if nothing changed."""
        key = key_of(obj)
        with self._lock:
            old = self._docs.get(key)
            if typ == "DELETED":
                if old is None:
                    return None
                del self._docs[key]
            else:
                if _unchanged(old, obj):
                    return None
                typ = "MODIFIED" if old is not None else "ADDED"
                self._docs[key] = RawDoc(obj, self.file, None)
            self._sorted = None
        return (typ, *key)

    def replace(self, kind: str, namespace: str | None, objects: list[dict]) -> list[tuple[str, str, str, str]]:
        """A relist of one kind (its model kind; in one namespace, or all): the changes against
        what we held."""
        fresh = {key_of(o): o for o in objects}
        changes: list[tuple[str, str, str, str]] = []
        with self._lock:
            held = [k for k in self._docs if k[0] == kind and (namespace is None or k[1] == namespace)]
            for k in held:
                if k not in fresh:
                    del self._docs[k]
                    changes.append(("DELETED", *k))
            for k, o in fresh.items():
                old = self._docs.get(k)
                if old is None:
                    changes.append(("ADDED", *k))
                elif not _unchanged(old, o):
                    changes.append(("MODIFIED", *k))
                else:
                    continue
                self._docs[k] = RawDoc(o, self.file, None)
            if changes:
                self._sorted = None
        return changes

    def docs(self) -> list[RawDoc]:
        """All docs, ordered by kind (as in a dump), then namespace and name."""
        with self._lock:
            if self._sorted is None:
                self._sorted = [self._docs[k] for k in sorted(self._docs, key=_order)]
            return list(self._sorted)

    def __len__(self) -> int:
        return len(self._docs)
