"""snapshot.raw for objects read from files, without keeping a second copy of the YAML in memory.

The raw objects (with the line and column of every value) are what a message needs to point at a
field such as `spec.http[0].route[1].weight`, and what the TUI shows as YAML. On a large mesh they
are as big as the typed snapshot itself (issue 15). For objects that came from files, `FileRaw`
keeps only where each object starts (file, line) and re-reads that file the first time one of its
objects is asked for; the last few files read stay parsed. A file that changed since it was loaded
gives no raw object for the ones it no longer holds at that line (callers fall back to the
object's own line, as for objects from the cluster).

Objects from stdin cannot be read twice: they stay in memory as given (`kept`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from meshtui.model.gatewayapi import model_kind  # the Gateway API Gateway is keyed as KubernetesGateway

Key = tuple[str, str, str]
_FILES_KEPT = 64


class FileRaw(Mapping):
    """key -> the raw object, read back from its file on first use."""

    def __init__(self, where: dict[Key, tuple[str, int | None]], kept: dict[Key, Any] | None = None) -> None:
        self._setup(where, kept)

    def _setup(self, where: dict[Key, tuple[str, int | None]], kept: dict[Key, Any] | None) -> None:
        self._where = where  # key -> (file, line where the object's mapping starts)
        self._kept = dict(kept or {})
        self._files: OrderedDict[str, dict[int | None, Any]] = OrderedDict()
        self._lock = threading.Lock()

    # pickled (the snapshot cache) without the parsed files or the lock
    def __getstate__(self) -> dict[str, Any]:
        return {"where": self._where, "kept": self._kept}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(state["where"], state["kept"])

    def _parsed(self, file: str) -> dict[int | None, Any]:
        with self._lock:
            hit = self._files.get(file)
            if hit is not None:
                self._files.move_to_end(file)
                return hit
        by_line: dict[int | None, Any] = {}
        try:
            from meshtui.model.parse import RawDoc, _flatten
            from meshtui.sources.loader import _decode, read_docs

            with open(file, "rb") as fh:
                docs = read_docs(file, _decode(fh.read(), file))
            flat: list[RawDoc] = []
            for d in docs:
                _flatten(d, flat)  # List items are objects of their own, as when loading
            for d in flat:
                by_line[getattr(d.data, "line", d.line)] = d.data
        except Exception:  # noqa: BLE001 - gone, unreadable or no longer YAML: no raw objects, no positions
            by_line = {}
        with self._lock:
            self._files[file] = by_line
            while len(self._files) > _FILES_KEPT:
                self._files.popitem(last=False)
        return by_line

    def __getitem__(self, key: Key) -> Any:
        if key in self._kept:
            return self._kept[key]
        file, line = self._where[key]
        data = self._parsed(file).get(line)
        if not _is(data, key):  # the file changed since: not this object any more
            raise KeyError(key)
        return data

    def get(self, key: Key, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in self._kept or key in self._where

    def __iter__(self) -> Iterator[Key]:
        yield from self._kept
        yield from (k for k in self._where if k not in self._kept)

    def __len__(self) -> int:
        return len(self._kept) + sum(1 for k in self._where if k not in self._kept)

    def derive(self, drop: set[Key], add: dict[Key, Any]) -> FileRaw:
        """The same, with some objects gone and others given as raw objects (an edit)."""
        where = {k: v for k, v in self._where.items() if k not in drop and k not in add}
        kept = {k: v for k, v in self._kept.items() if k not in drop}
        kept.update(add)
        return FileRaw(where, kept)


def _is(data: Any, key: Key) -> bool:
    if not isinstance(data, dict):
        return False
    if model_kind(data.get("apiVersion"), data.get("kind")) != key[0]:
        return False
    meta = data.get("metadata")
    return isinstance(meta, dict) and meta.get("name") == key[2]


def file_backed(raw: Mapping[Key, Any], objects: Mapping[Key, Any]) -> FileRaw:
    """FileRaw for a freshly built snapshot: `raw` holds the raw objects that cannot be read again
    (stdin), kept as they are; every other object is read back from its file when needed."""
    from meshtui.model.k8s import NO_RAW_KINDS

    where: dict[Key, tuple[str, int | None]] = {}
    for key, obj in objects.items():
        file = obj.src.file
        if key[0] in NO_RAW_KINDS:
            continue  # a Secret's values are never read back
        if key not in raw and file and not file.startswith("<"):
            where[key] = (file, obj.src.line)
    return FileRaw(where, dict(raw))
