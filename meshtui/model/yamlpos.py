"""YAML → plain Python data that remembers where every value stood.

PyYAML's C parser composes the node tree (fast); we construct it ourselves instead of using
SafeConstructor so each mapping and sequence can carry the 1-based line/column of its items.
`PosDict`/`PosList` are ordinary dict/list subclasses: code that ignores positions still works
(and cluster objects, which have no positions, are plain dicts)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

try:  # the C parser; the pure-Python one is a slow but correct fallback
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - libyaml is part of the PyYAML wheels
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]  # SafeLoader stands in when libyaml's CSafeLoader is missing


class _Loader(_BaseLoader):
    """The safe loader with the same tag resolution, made cheaper: the composer calls resolve()
    for every node and descend/ascend_resolver() around each one; PyYAML's versions rebuild the
    candidate list each time and check for path resolvers that the safe loader never has."""

    # first character of a plain scalar -> the (tag, pattern) pairs to try, in PyYAML's order
    _candidates: ClassVar[dict[str, tuple[tuple[str, re.Pattern[str]], ...]]] = {
        first: tuple(rs) + tuple(_BaseLoader.yaml_implicit_resolvers.get(None, ()))
        for first, rs in _BaseLoader.yaml_implicit_resolvers.items() if first is not None}
    _wildcards: ClassVar[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(_BaseLoader.yaml_implicit_resolvers.get(None, ()))

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in self._candidates.get(value[:1], self._wildcards):
                    if regexp.match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        if kind is yaml.SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return self.DEFAULT_MAPPING_TAG

    def descend_resolver(self, current_node: yaml.Node | None, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


assert not _BaseLoader.yaml_path_resolvers  # what makes the shortcuts above exact


class PosDict(dict[Any, Any]):
    """A mapping with `pos[key] = (line, column)` of each value and its own `line`/`column`."""

    __slots__ = ("column", "key_pos", "line", "pos")
    line: int
    column: int
    pos: dict[Any, tuple[int, int]]  # where each value starts
    key_pos: dict[Any, tuple[int, int]]  # where each key is written


class PosList(list[Any]):
    """A sequence with `pos[i] = (line, column)` of each item and its own `line`/`column`."""

    __slots__ = ("column", "line", "pos")
    line: int
    column: int
    pos: list[tuple[int, int]]


class YamlSyntaxError(Exception):
    def __init__(self, line: int | None, column: int | None, reason: str):
        super().__init__(reason)
        self.line = line
        self.column = column
        self.reason = reason


@dataclass(frozen=True, slots=True)
class YamlDoc:
    data: Any
    line: int  # 1-based line where the document starts
    # (line, column, message) of things YAML allows but that are surely mistakes (a key twice)
    warnings: tuple[tuple[int, int, str], ...] = ()


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_BINARY = "tag:yaml.org,2002:binary"

_ScalarNode = yaml.ScalarNode

_BOOLS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def _int(text: str) -> int:
    t = text.replace("_", "")
    sign = -1 if t.startswith("-") else 1
    if t[:1] in "+-":
        t = t[1:]
    if t == "0":
        return 0
    if t.startswith("0b"):
        return sign * int(t[2:], 2)
    if t.startswith("0x"):
        return sign * int(t[2:], 16)
    if t.startswith("0o"):
        return sign * int(t[2:], 8)
    if t.startswith("0") and len(t) > 1:
        return sign * int(t, 8)
    if ":" in t:  # sexagesimal, YAML 1.1
        value = 0
        for part in t.split(":"):
            value = value * 60 + int(part)
        return sign * value
    return sign * int(t)


def _float(text: str) -> float:
    t = text.replace("_", "").lower()
    if t in (".inf", "+.inf"):
        return float("inf")
    if t == "-.inf":
        return float("-inf")
    if t == ".nan":
        return float("nan")
    if ":" in t:  # sexagesimal, YAML 1.1 (`1:30.5` is 90.5)
        sign = -1.0 if t.startswith("-") else 1.0
        value = 0.0
        for part in t.lstrip("+-").split(":"):
            value = value * 60 + float(part)
        return sign * value
    return float(t)


_TAG_NAMES = {_INT: "integer", _FLOAT: "number", _BOOL: "boolean", _BINARY: "base64 binary"}


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    value = node.value
    if tag == _STR:
        return value
    try:
        if tag == _INT:
            return _int(value)
        if tag == _FLOAT:
            return _float(value)
        if tag == _BOOL:
            return _BOOLS[value.lower()]
        if tag == _BINARY:
            return base64.b64decode(value.encode("ascii"), validate=False)
    except (ValueError, KeyError, UnicodeEncodeError, binascii.Error):
        # only reachable with an explicit tag (`!!int abc`): the resolver never tags such text
        raise YamlSyntaxError(node.start_mark.line + 1, node.start_mark.column + 1,
                              f"{value!r} is not a valid {_TAG_NAMES[tag]}") from None
    if tag == _NULL:
        return None
    # timestamps and anything else stay as the text the user wrote
    return value


# Aliases let a small document expand into a huge tree ("billion laughs"); every later stage
# walks the expanded tree, so a document may expand to at most this many values, or to
# _ALIAS_RATIO times its own size when that is larger (as Kubernetes' YAML decoder limits it).
_MAX_EXPANDED = 200_000
_ALIAS_RATIO = 10
_MAX_DEPTH = 200


class _Builder:
    """Node tree → PosDict/PosList/scalars for one document. Anchored nodes are built once and
    shared (as PyYAML does); `expanded` counts values as if every alias were copied."""

    __slots__ = ("base", "expanded", "memo", "sizes", "unique", "warnings")

    def __init__(self, first_line: int = 1) -> None:
        # positions are recorded as lines of the outer text when this text starts at its line
        # `first_line` (an object read back on its own: no walk moving them afterwards)
        self.base = first_line
        self.memo: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}
        self.expanded = 0
        self.unique = 0
        self.warnings: list[tuple[int, int, str]] = []

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise YamlSyntaxError(node.start_mark.line + 1, node.start_mark.column + 1, "nesting is too deep")
        if isinstance(node, yaml.ScalarNode):
            self.expanded += 1
            return _scalar(node)
        key = id(node)
        memo = self.memo
        if key in memo:  # an alias of a node built before
            self.expanded += self.sizes[key]
            if self.expanded > _MAX_EXPANDED and self.expanded > _ALIAS_RATIO * self.unique:
                raise YamlSyntaxError(node.start_mark.line + 1, node.start_mark.column + 1,
                                      f"too many aliases: the document expands to more than {self.expanded:,} values")
            return memo[key]
        before = self.expanded
        self.expanded += 1
        self.unique += 1
        base = self.base
        mark = node.start_mark
        # Most nodes are scalars: they are converted inline (no call to build) and counted in bulk.
        scalars = 0
        out: PosList | PosDict
        if isinstance(node, yaml.SequenceNode):
            seq = out = PosList()
            seq.line = mark.line + base
            seq.column = mark.column + 1
            item_pos: list[tuple[int, int]] = []
            append, pappend, build = seq.append, item_pos.append, self.build
            for item in node.value:
                if item.__class__ is _ScalarNode:
                    scalars += 1
                    append(item.value if item.tag == _STR else _scalar(item))
                else:
                    append(build(item, depth + 1))
                m = item.start_mark
                pappend((m.line + base, m.column + 1))
            seq.pos = item_pos
        elif isinstance(node, yaml.MappingNode):
            mapping = out = PosDict()
            mapping.line = mark.line + base
            mapping.column = mark.column + 1
            pos: dict[Any, tuple[int, int]] = {}
            key_pos: dict[Any, tuple[int, int]] = {}
            build = self.build
            for knode, vnode in node.value:
                ktag = knode.tag
                if ktag == _STR and knode.__class__ is _ScalarNode:
                    scalars += 1
                    k = knode.value
                elif ktag == _MERGE:  # `<<: *anchor` (Helm output sometimes has it)
                    merged = build(vnode, depth + 1)
                    for src in merged if isinstance(merged, list) else [merged]:
                        if isinstance(src, dict):
                            src_pos = getattr(src, "pos", {})
                            for k, v in src.items():
                                if k not in mapping:
                                    mapping[k] = v
                                    pos[k] = src_pos.get(k, (vnode.start_mark.line + base, 1))
                    continue
                else:
                    k = build(knode, depth + 1)
                    if isinstance(k, (dict, list)):
                        raise YamlSyntaxError(knode.start_mark.line + 1, knode.start_mark.column + 1,
                                              "a mapping key must be a scalar")
                km = knode.start_mark
                if k in key_pos:  # YAML keeps the last one silently; kubectl would refuse the file
                    self.warnings.append((km.line + base, km.column + 1,
                                          f"duplicate key {k!r} (first on line {key_pos[k][0]}): the later value is used"))
                if vnode.__class__ is _ScalarNode:
                    scalars += 1
                    mapping[k] = vnode.value if vnode.tag == _STR else _scalar(vnode)
                else:
                    mapping[k] = build(vnode, depth + 1)
                m = vnode.start_mark
                pos[k] = (m.line + base, m.column + 1)
                key_pos[k] = (km.line + base, km.column + 1)
            mapping.pos = pos
            mapping.key_pos = key_pos
        else:
            raise YamlSyntaxError(mark.line + 1, None, f"unsupported YAML node {type(node).__name__}")
        self.expanded += scalars
        memo[key] = out
        self.sizes[key] = self.expanded - before
        return out


def _construct(node: yaml.Node, depth: int = 0) -> Any:
    return _Builder().build(node, depth)


def _line_of(text: str, offset: int) -> tuple[int, int]:
    if _BaseLoader.__name__.startswith("C"):  # libyaml reports a UTF-8 byte offset, not a character index
        offset = len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


def parse_yaml(text: str, first_line: int = 1) -> list[YamlDoc]:
    """Every document of a YAML (or JSON) stream, with positions; `first_line`: the line of an
    outer text where this text starts (positions are then that text's). Raises YamlSyntaxError
    with the line (in `text`) and column of the first problem."""
    docs: list[YamlDoc] = []
    for doc in _compose_iter(text, first_line):
        docs.append(doc)
    return docs


def _compose_iter(text: str, first_line: int = 1) -> Iterator[YamlDoc]:
    """Each document of `text` as it is read (one document's nodes in memory at a time: a 75 MB
    file of 172,000 objects is not held whole); YamlSyntaxError at the first problem."""
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is None:
                continue
            builder = _Builder(first_line)
            data = builder.build(node)
            yield YamlDoc(data, node.start_mark.line + first_line, tuple(builder.warnings))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or str(exc)
        if exc.context:
            reason = f"{exc.context}: {reason}" if exc.problem else exc.context
        raise YamlSyntaxError(mark.line + 1 if mark else None, mark.column + 1 if mark else None, reason) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: no mark, an offset
        line, col = _line_of(text, exc.position) if isinstance(exc.position, int) else (None, None)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character) if isinstance(exc.character, int) else "?"
        raise YamlSyntaxError(line, col, f"the character {char!r} is not allowed in YAML ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, None, str(exc)) from None
    except RecursionError:
        raise YamlSyntaxError(None, None, "nesting is too deep") from None


# A line that starts a document (`---` at column 0): YAML ends any scalar or collection there,
# so a stream can be cut into its documents at these lines without parsing it.
_DOC_START = re.compile(r"---(?:[ \t\r\n]|\Z)")


@dataclass(frozen=True, slots=True)
class BrokenDoc:
    """A document of a stream that could not be read: where it starts and the problem."""

    line: int  # 1-based line where the document starts
    error: YamlSyntaxError


def iter_yaml_documents(text: str) -> Iterator[YamlDoc | BrokenDoc]:
    """Each document of a stream in order, readable or not: one broken document does not hide
    the others. A stream without problems is read once, as parse_yaml reads it, a document at a
    time; after a problem, each document (cut at the `---` lines) is read on its own, and those
    already given are not given again."""
    given = 0  # the line of the last document given before a problem
    try:
        for doc in _compose_iter(text):
            given = doc.line
            yield doc
        return
    except YamlSyntaxError:
        pass
    lines = text.splitlines(keepends=True)
    starts = [0] + [i for i, ln in enumerate(lines) if i and ln.startswith("---") and _DOC_START.match(ln)]
    for k, begin in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        try:
            got = parse_yaml("".join(lines[begin:end]), begin + 1)
        except YamlSyntaxError as exc:
            line = exc.line + begin if exc.line is not None else None
            yield BrokenDoc(begin + 1, YamlSyntaxError(line, exc.column, exc.reason))
            continue
        for d in got:
            if d.line > given:
                yield d


def position(container: object, key: object) -> tuple[int | None, int | None]:
    """(line, column) of `container[key]` when known: where its key is written for a mapping
    (`weight: abc`, or `redirect:` above a nested block), where the item starts for a list.
    Plain dicts and lists (cluster objects) have no positions."""
    if isinstance(container, PosDict):
        if isinstance(key, (str, int, float, bool, type(None))):
            found = container.key_pos.get(key)
            if found is not None:
                return found
        try:
            return container.pos[key]
        except (KeyError, TypeError):  # TypeError: an unhashable key
            return (None, None)
    if isinstance(container, PosList) and isinstance(key, int):
        try:
            return container.pos[key]
        except IndexError:
            return (None, None)
    return (None, None)
