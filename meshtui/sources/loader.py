"""Read YAML/JSON from files, folders and stdin into a snapshot (the `-f` source)."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

from meshtui.errors import InputError
from meshtui.model.meshconfig import MeshConfig
from meshtui.model.parse import LoadResult, RawDoc, build_snapshot
from meshtui.model.yamlpos import YamlSyntaxError, parse_yaml

__all__ = ["LoadResult", "RawDoc", "build_snapshot", "expand_paths", "load_sources", "read_docs"]

_EXTS = (".yaml", ".yml", ".json")


def expand_paths(paths: list[str]) -> list[str]:
    """Files in the order given; folders recursively, sorted, only *.yaml/*.yml/*.json."""
    out: list[str] = []
    for p in paths:
        if p == "-":
            out.append(p)
            continue
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(_EXTS) and not f.startswith("."):
                        out.append(os.path.join(root, f))
        elif path.exists():
            out.append(p)
        else:
            raise InputError(p, None, "no such file or folder")
    return out


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(name, line, "is not UTF-8 text (a binary file?)") from None


def read_docs(name: str, text: str) -> list[RawDoc]:
    """Every document of one file. Raises InputError (exit 2) if the file is not YAML or JSON."""
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(name, line, "is not YAML: it contains a NUL byte (a binary file?)")
    try:
        docs = parse_yaml(text)
    except YamlSyntaxError as exc:
        if name.endswith(".json") or text.lstrip()[:1] in ("{", "["):
            try:  # JSON that YAML 1.1 dislikes (tabs, odd escapes): no positions, but loadable
                data = json.loads(text)
                return [RawDoc(data, name, 1)]
            except json.JSONDecodeError as jexc:
                raise InputError(name, jexc.lineno, f"is not valid JSON: {jexc.msg}", jexc.colno) from None
            except RecursionError:  # nested deeper than JSON's decoder goes: the YAML error says where
                pass
        raise InputError(name, exc.line, f"is not valid YAML: {exc.reason}", exc.column) from None
    return [RawDoc(d.data, name, d.line, d.warnings) for d in docs]


def load_sources(paths: list[str], default_namespace: str = "default", mesh: MeshConfig = MeshConfig(),
                 stdin_text: str | None = None, cache: bool = False) -> LoadResult:
    """Load every file (later files win on the same kind/namespace/name; the clash is reported).
    With `cache`, a snapshot stored for the same unchanged files is used instead (see
    snapshot_cache; stdin is never cached)."""
    # Loading builds hundreds of thousands of small acyclic containers; the cyclic garbage
    # collector would rescan them over and over (half the load time on a large mesh).
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        files = expand_paths(paths)
        if cache and "-" not in files:
            from meshtui.sources.snapshot_cache import load_through_cache

            return load_through_cache(files, paths, default_namespace, mesh,
                                      lambda read: _load(files, default_namespace, mesh, stdin_text, read))
        return _load(files, default_namespace, mesh, stdin_text)
    finally:
        if gc_was_on:
            gc.enable()


def _read_bytes(f: str) -> bytes:
    return Path(f).read_bytes()


def _load(files: list[str], default_namespace: str, mesh: MeshConfig, stdin_text: str | None,
          read=_read_bytes) -> LoadResult:
    docs: list[RawDoc] = []
    for f in files:
        if f == "-":
            text = stdin_text if stdin_text is not None else sys.stdin.read()
            docs.extend(read_docs("<stdin>", text))
            continue
        try:
            raw = read(f)
        except OSError as exc:
            raise InputError(f, None, f"cannot be read: {exc.strerror}") from None
        docs.extend(read_docs(f, _decode(raw, f)))
    result = build_snapshot(docs, default_namespace, mesh)
    result.files = files
    return result
