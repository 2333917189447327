"""snapshot.raw for objects read from files, without keeping a second copy of the YAML in memory.

The raw objects (with the line and column of every value) are what a message needs to point at a
field such as `spec.http[0].route[1].weight`, and what the TUI shows as YAML. On a large mesh they
are as big as the typed snapshot itself (issue 15). For objects that came from files, `FileRaw`
keeps only where each object starts (file, line, column) and reads it back when it is asked for.

It reads only that object's lines: a block-style mapping at column c runs until the first line
indented less than c (or the next document), which a scan of the file's line starts finds without
parsing; the slice is parsed alone with the first line's prefix (`- ` of a List item) blanked, so
columns stay, and its lines counted from where it stands. A 75 MB file of 172,000 objects is
then never parsed, or held, whole. An object in flow style (JSON), one whose slice does not read
alone (an alias of an anchor outside it), and anything unexpected fall back to parsing the whole
file; the last few files so parsed stay parsed. A file that changed since it was loaded gives no
raw object for the ones it no longer holds at that line (callers fall back to the object's own
line, as for objects from the cluster).

Objects from stdin cannot be read twice: they stay in memory as given (`kept`)."""

from __future__ import annotations

import os
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from meshtui.model.gatewayapi import model_kind  # the Gateway API Gateway is keyed as KubernetesGateway

Key = tuple[str, str, str]
Where = tuple[str, int | None, int | None]  # file, line and column where the object's mapping starts
_FILES_KEPT = 64  # files parsed whole (the fallback)
_OBJECTS_KEPT = 4096  # objects read back on their own
_TEXT_KEPT = 256 << 20  # bytes of file text kept with their line starts, for the next object of the same file
_DOC_MARK = re.compile(rb"(?:---|\.\.\.)(?:[ \t\r\n]|$)")


class FileRaw(Mapping):
    """key -> the raw object, read back from its file on first use."""

    def __init__(self, where: dict[Key, Where], kept: dict[Key, Any] | None = None) -> None:
        self._setup(where, kept)

    def _setup(self, where: dict[Key, Where], kept: dict[Key, Any] | None) -> None:
        self._where = where
        self._kept = dict(kept or {})
        self._files: OrderedDict[str, dict[int | None, Any]] = OrderedDict()
        self._objects: OrderedDict[Key, Any] = OrderedDict()
        self._texts: OrderedDict[str, tuple[tuple[int, int], bytes, array[int]]] = OrderedDict()
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
        file, line, column = self._where[key]
        with self._lock:
            hit = self._objects.get(key)
            if hit is not None:
                self._objects.move_to_end(key)
                return hit
        data = self._alone(file, line, column)
        if not _is(data, key):
            data = self._parsed(file).get(line)
            if not _is(data, key):  # the file changed since: not this object any more
                raise KeyError(key)
        with self._lock:
            self._objects[key] = data
            while len(self._objects) > _OBJECTS_KEPT:
                self._objects.popitem(last=False)
        return data

    def _alone(self, file: str, line: int | None, column: int | None) -> Any:
        """The object at (line, column) of `file`, read from its own lines; None when it cannot be
        read that way (the caller parses the whole file)."""
        if line is None or column is None:
            return None
        try:
            text, starts = self._text(file)
            if line > len(starts):
                return None
            first = starts[line - 1]
            c = column - 1
            head = text[first:first + c + 1]
            if len(head) <= c or head[c:c + 1] in (b"{", b"[", b"") or head[:c].strip(b" -") != b"":
                return None  # flow style, or the line is not what the loader saw
            end = len(text)
            for i in range(line, len(starts)):
                at = starts[i]
                row = text[at:at + c + 4]
                body = row.lstrip(b" ")
                if not body or body[:1] in (b"\n", b"\r", b"#"):
                    continue  # blank or comment lines do not end a block
                if len(row) - len(body) < c or (c == 0 and _DOC_MARK.match(row)):
                    end = at
                    break
            chunk = b" " * c + text[first + c:end]
            from meshtui.model.yamlpos import parse_yaml

            docs = parse_yaml(chunk.decode("utf-8"), line)  # positions as lines of the file
        except Exception:  # noqa: BLE001 - gone, unreadable, or not readable alone: the whole file decides
            return None
        if len(docs) != 1:
            return None
        return docs[0].data

    def _text(self, file: str) -> tuple[bytes, array[int]]:
        """A file's bytes and the offset where each line starts, kept while the file is unchanged."""
        st = os.stat(file)
        stamp = (st.st_size, st.st_mtime_ns)
        with self._lock:
            hit = self._texts.get(file)
            if hit is not None and hit[0] == stamp:
                self._texts.move_to_end(file)
                return hit[1], hit[2]
        with open(file, "rb") as fh:
            text = fh.read()
        starts = array("q", [0])
        starts.extend(m.end() for m in re.finditer(b"\n", text))
        if starts[-1] == len(text):
            starts.pop()  # the file ends with a newline: no line starts after it
        with self._lock:
            self._texts[file] = (stamp, text, starts)
            while len(self._texts) > 1 and sum(len(t[1]) for t in self._texts.values()) > _TEXT_KEPT:
                self._texts.popitem(last=False)
        return text, starts

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

    where: dict[Key, Where] = {}
    for key, obj in objects.items():
        src = obj.src
        file = src.file
        if key[0] in NO_RAW_KINDS:
            continue  # a Secret's values are never read back
        if key not in raw and file and not file.startswith("<"):
            where[key] = (file, src.line, src.column)
    return FileRaw(where, dict(raw))
