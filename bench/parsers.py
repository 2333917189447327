"""YAML parsers side by side on the same files (issue 15: "parse faster than PyYAML can").

    .venv/bin/python bench/parsers.py [--services 10000 | --folder DIR] [--runs 3]

Every file is read into memory first; each row is the CPU time (median of --runs) of parsing all of
them, nothing else:

  CSafeLoader load_all     PyYAML's C parser and constructor: Python objects, no positions (the floor
                           the issue measured against)
  meshtui parse            model.yamlpos.iter_yaml_documents: libyaml's composer, our constructor,
                           the line and column of every value kept (what loading uses)
  rapidyaml tree           rapidyaml (C++, `pip install rapidyaml`) parse_in_arena: its node tree
                           only, not one Python object made from it
  rapidyaml -> Python      that tree walked into dicts and lists with the line and column of every
                           value, scalars left as strings (no YAML 1.1 int/bool/null resolution yet,
                           so a lower bound of what a rapidyaml loader would cost)

rapidyaml's Python binding gives no node locations; the walk finds them from where each key and
value sits in the parsed buffer (parse_in_place keeps them there). Figures only, and the machine
may be shared: compare rows of one run, not runs."""

from __future__ import annotations

import argparse
import bisect
import ctypes
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale_mesh  # noqa: E402
import yaml  # noqa: E402

from meshtui.model.yamlpos import iter_yaml_documents  # noqa: E402

try:
    import ryml
except ImportError:  # optional: only this comparison uses it
    ryml = None


class _PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_release = ctypes.pythonapi.PyBuffer_Release
_release.argtypes = [ctypes.POINTER(_PyBuffer)]


def _address(view: memoryview) -> int:
    """Where a memoryview's bytes are (rapidyaml hands keys and values out as views into the buffer)."""
    b = _PyBuffer()
    _get_buffer(view, ctypes.byref(b), 0)
    addr = b.buf or 0
    _release(ctypes.byref(b))
    return addr


def ryml_tree(data: bytes) -> Any:
    return ryml.parse_in_arena(data)


def ryml_python(data: bytes) -> list[Any]:
    """Documents as dicts/lists; each container gets `pos`: key or index -> (line, column)."""
    buf = bytearray(data)
    tree = ryml.parse_in_place(buf)
    base = _address(memoryview(buf))
    starts = [0]
    find = buf.find
    i = find(b"\n")
    while i >= 0:
        starts.append(i + 1)
        i = find(b"\n", i + 1)

    def where(view: memoryview) -> tuple[int, int]:
        off = _address(view) - base
        line = bisect.bisect_right(starts, off)
        return line, off - starts[line - 1] + 1

    t = tree

    def build(node: int) -> Any:
        if t.is_map(node):
            out: dict[str, Any] = {}
            pos: dict[str, tuple[int, int]] = {}
            child = t.first_child(node)
            while child != ryml.NONE:
                key = bytes(t.key(child)).decode()
                out[key] = build(child)
                pos[key] = where(t.key(child))
                child = t.next_sibling(child)
            out["__pos__"] = pos
            return out
        if t.is_seq(node):
            items: list[Any] = []
            child = t.first_child(node)
            while child != ryml.NONE:
                items.append(build(child))
                child = t.next_sibling(child)
            return items
        if t.has_val(node):
            if t.val_is_null(node):
                return None
            return bytes(t.val(node)).decode()
        return None

    root = tree.root_id()
    if tree.is_stream(root):
        docs = []
        child = tree.first_child(root)
        while child != ryml.NONE:
            docs.append(build(child))
            child = tree.next_sibling(child)
        return docs
    return [build(root)]


def csafe(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def meshtui_parse(text: str) -> Any:
    return list(iter_yaml_documents(text))


def measure(fn: Callable[[Any], Any], inputs: list[Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.process_time()
        for x in inputs:
            fn(x)
        times.append(time.process_time() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--folder", help="parse the YAML files of this folder instead of a generated mesh")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = None
    if args.folder:
        folder = Path(args.folder)
    else:
        tmp = folder = Path(tempfile.mkdtemp(prefix="meshtui-parsers-"))
        scale_mesh.generate(folder, args.services)
    try:
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))
        raw = [p.read_bytes() for p in files]
        texts = [b.decode() for b in raw]
        mb = sum(len(b) for b in raw) / 1e6
        print(f"{len(files)} files, {mb:.1f} MB, {args.runs} runs each (median CPU seconds)")
        rows: list[tuple[str, float | None]] = [
            ("CSafeLoader load_all (no positions)", measure(csafe, texts, args.runs)),
            ("meshtui parse (libyaml + positions)", measure(meshtui_parse, texts, args.runs)),
        ]
        if ryml is None:
            rows += [("rapidyaml tree (not installed)", None), ("rapidyaml -> Python + positions", None)]
        else:
            rows += [("rapidyaml tree only (C++)", measure(ryml_tree, raw, args.runs)),
                     ("rapidyaml -> Python + positions", measure(ryml_python, raw, args.runs))]
        floor = rows[0][1] or 1.0
        for name, secs in rows:
            cell = "-" if secs is None else f"{secs:6.2f} s  {secs / floor:4.2f}x CSafeLoader"
            print(f"  {name:38s} {cell}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
