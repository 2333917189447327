"""Read YAML/JSON from files, folders and stdin into a snapshot (the `-f` source)."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from meshtui.errors import InputError
from meshtui.heap import paused
from meshtui.model.meshconfig import MeshConfig
from meshtui.model.parse import LoadResult, RawDoc, build_snapshot
from meshtui.model.source import WARNING, Diagnostic, Source
from meshtui.model.yamlpos import BrokenDoc, iter_yaml_documents
from meshtui.sources.fileraw import file_backed

__all__ = ["LoadResult", "RawDoc", "build_snapshot", "expand_paths", "iter_docs", "load_sources", "read_docs"]

_EXTS = (".yaml", ".yml", ".json")


def expand_paths(paths: list[str], skipped: list[str] | None = None) -> list[str]:
    """Files in the order given; folders recursively, sorted, only *.yaml/*.yml/*.json regular
    files. A FIFO, socket or device found in a folder is not read (reading a FIFO blocks until
    someone writes to it): its name goes to `skipped`. A path named explicitly is read whatever
    it is (`-f <(kubectl get ...)` is a pipe)."""
    out: list[str] = []
    for p in paths:
        if p == "-":
            out.append(p)
            continue
        path = Path(p)
        if path.is_dir():
            _walk(str(path), out, skipped)
        elif path.exists():
            out.append(p)
        else:
            raise InputError(p, None, "no such file or folder")
    return out


def _walk(folder: str, out: list[str], skipped: list[str] | None) -> None:
    """A folder's files sorted, then its subfolders', as os.walk (links to folders are not
    followed). scandir's entry types come with the listing: a regular file costs no stat (10,000
    files: a tenth of a cached run)."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return  # unreadable: os.walk skips it too
    subfolders: list[str] = []
    for e in entries:
        try:
            is_dir = e.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if not e.is_symlink():
                subfolders.append(e.path)
            continue
        if not e.name.endswith(_EXTS) or e.name.startswith("."):
            continue
        if (e.is_symlink() and _is_regular(e.path)) or (not e.is_symlink() and e.is_file()):
            out.append(e.path)
        elif skipped is not None:
            skipped.append(e.path)
    for sub in subfolders:
        _walk(sub, out, skipped)


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # follows a symlink to what it names
    except OSError:
        return True  # a dangling link or a race: reading it reports the error


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(name, line, "is not UTF-8 text (a binary file?)") from None


def read_text(path: str) -> str:
    """One named file as text (UTF-8, a BOM allowed); InputError (exit 2) naming the file, and the
    line for bytes that are not UTF-8."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, None, f"cannot be read: {exc.strerror}") from None
    return _decode(raw, path)


def read_docs(name: str, text: str) -> list[RawDoc]:
    """Every document of one file (see iter_docs)."""
    return list(iter_docs(name, text))


def iter_docs(name: str, text: str) -> Iterator[RawDoc]:
    """Each document of one file in order, as it is read: a file of 172,000 objects is never
    held whole, one document's YAML at a time. A document that is not YAML comes back as an
    error RawDoc at its line (the others still load); raises InputError (exit 2), before giving
    anything, when nothing in the file can be read."""
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(name, line, "is not YAML: it contains a NUL byte (a binary file?)")
    held: list[BrokenDoc] = []  # broken documents before the first readable one
    readable = False
    for d in iter_yaml_documents(text):
        if isinstance(d, BrokenDoc):
            if readable:
                yield _broken(name, d)
            else:
                held.append(d)
            continue
        if not readable:
            readable = True
            yield from (_broken(name, b) for b in held)
        yield RawDoc(d.data, name, d.line, d.warnings)
    if readable or not held:
        return
    exc = held[0].error
    if name.endswith(".json") or text.lstrip()[:1] in ("{", "["):
        try:  # JSON that YAML 1.1 dislikes (tabs, odd escapes): no positions, but loadable
            data = json.loads(text)
        except json.JSONDecodeError as jexc:
            raise InputError(name, jexc.lineno, f"is not valid JSON: {jexc.msg}", jexc.colno) from None
        except RecursionError:  # nested deeper than JSON's decoder goes: the YAML error says where
            pass
        else:
            yield RawDoc(data, name, 1)
            return
    if len(held) == 1:
        raise InputError(name, exc.line, f"is not valid YAML: {exc.reason}", exc.column) from None
    yield from (_broken(name, b) for b in held)


def _broken(name: str, b: BrokenDoc) -> RawDoc:
    return RawDoc(None, name, b.error.line or b.line, error=f"this document is not valid YAML: {b.error.reason}",
                  column=b.error.column)


def load_sources(paths: list[str], default_namespace: str = "default", mesh: MeshConfig = MeshConfig(),
                 stdin_text: str | None = None, cache: bool = False) -> LoadResult:
    """Load every file (later files win on the same kind/namespace/name; the clash is reported).
    With `cache`, a snapshot stored for the same unchanged files is used instead (see
    snapshot_cache; stdin is never cached)."""
    # Loading builds hundreds of thousands of small acyclic containers; the cyclic garbage
    # collector would rescan them over and over (half the load time on a large mesh).
    with paused():
        skipped: list[str] = []
        files = expand_paths(paths, skipped)
        if cache and "-" not in files:
            from meshtui.sources.snapshot_cache import load_through_cache

            result = load_through_cache(files, paths, default_namespace, mesh,
                                        lambda read: _load(files, default_namespace, mesh, stdin_text, read))
        else:
            result = _load(files, default_namespace, mesh, stdin_text)
        if skipped:  # a new list: a cached result is not changed
            result.diagnostics = [Diagnostic(WARNING, "is not a regular file (a FIFO, socket or device): skipped",
                                             Source(f), code="MT0006") for f in skipped] + result.diagnostics
        return result


def _read_bytes(f: str) -> bytes:
    return Path(f).read_bytes()


def _load(files: list[str], default_namespace: str, mesh: MeshConfig, stdin_text: str | None,
          read=_read_bytes) -> LoadResult:
    def docs() -> Iterator[RawDoc]:  # one file's YAML in memory at a time
        for f in files:
            try:
                yield from _read_file(f, stdin_text, read)
            except InputError as exc:  # a file that cannot be read at all is one error; the others still load
                yield RawDoc(None, exc.file, exc.line, error=f"the file {exc.reason}", column=exc.column)

    # no second copy of the YAML: objects from files are read back from them when a position is
    # needed (only stdin, which cannot be read twice, keeps its raw objects)
    result = build_snapshot(docs(), default_namespace, mesh, keep_raw=_unreadable_again)
    object.__setattr__(result.snapshot, "raw", file_backed(result.snapshot.raw, result.snapshot.by_key))
    result.files = files
    return result


def _unreadable_again(file: str) -> bool:
    return file.startswith("<")


def _read_file(f: str, stdin_text: str | None, read) -> Iterator[RawDoc]:
    if f == "-":
        return iter_docs("<stdin>", stdin_text if stdin_text is not None else sys.stdin.read())
    try:
        raw = read(f)
    except OSError as exc:
        raise InputError(f, None, f"cannot be read: {exc.strerror}") from None
    return iter_docs(f, _decode(raw, f))
