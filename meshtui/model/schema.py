"""A small typed parser: plain data (from YAML or the API server) → frozen dataclasses.

Each model class declares its fields with type hints; `parse(cls, data, ...)` checks types the way
the API server's schema and Istio's admission would, records the source of every object, reports
bad values as errors (the object is then left out) and unknown fields as warnings. Field names are
the camelCase of the attribute unless `fld(name=...)` says otherwise."""

from __future__ import annotations

import dataclasses
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from meshtui.model.source import ERROR, NOWHERE, WARNING, Diagnostic, Source
from meshtui.model.yamlpos import position


@dataclass(frozen=True, kw_only=True)
class Node:
    """Base of every parsed object: where it came from."""

    src: Source = field(default=NOWHERE, compare=False, repr=False)


class IntOrString:
    """Marker type for Kubernetes int-or-string fields (targetPort)."""


class Duration(str):
    """A duration as written (`1.5s`, `100ms`, `1h30m`), validated; `.seconds` is its value."""

    seconds: float

    def __new__(cls, text: str, seconds: float) -> Duration:
        obj = super().__new__(cls, text)
        obj.seconds = seconds
        return obj

    def __reduce__(self) -> tuple[type[Duration], tuple[str, float]]:  # pickling (the snapshot cache)
        return (Duration, (str(self), self.seconds))


_DUR_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Go's time.ParseDuration grammar (what Istio accepts in YAML); None if it is not one."""
    t = text.strip()
    if not t:
        return None
    sign = 1.0
    if t[0] in "+-":
        sign = -1.0 if t[0] == "-" else 1.0
        t = t[1:]
    if t == "0":
        return 0.0
    total = 0.0
    pos = 0
    while pos < len(t):
        m = _DUR_PART.match(t, pos)
        if not m:
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return sign * total


def fld(default: Any = None, *, name: str | None = None, required: bool = False,
        check: Check | None = None) -> Any:
    """A model field. `check(value)` returns an error message or None."""
    meta = {"name": name, "required": required, "check": check}
    if isinstance(default, (list, dict, set)):
        return field(default_factory=type(default), metadata=meta)
    return field(default=default, metadata=meta)


class Ctx:
    """Collects diagnostics while one object is parsed."""

    __slots__ = ("diagnostics", "errors", "file", "kind", "name", "namespace", "strict")

    def __init__(self, file: str, diagnostics: list[Diagnostic], strict: bool = True):
        self.file = file
        self.strict = strict
        self.diagnostics = diagnostics
        self.errors = 0
        self.kind = ""
        self.namespace = ""
        self.name = ""

    def src(self, container: Any, key: Any, path: str) -> Source:
        line, col = position(container, key)
        if line is None:  # a missing field: point at the mapping that lacks it
            line, col = getattr(container, "line", None), getattr(container, "column", None)
        return Source(self.file, line, col, path)

    def error(self, container: Any, key: Any, path: str, message: str) -> None:
        self.errors += 1
        self.diagnostics.append(Diagnostic(ERROR, message, self.src(container, key, path),
                                           self.kind, self.namespace, self.name))

    def warn(self, container: Any, key: Any, path: str, message: str, code: str = "IST0133") -> None:
        self.diagnostics.append(Diagnostic(WARNING, message, self.src(container, key, path),
                                           self.kind, self.namespace, self.name, code=code))


class _Bad(Exception):
    pass


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


# Python types as YAML and JSON name them, for messages (never a Python class name)
TYPE_NAMES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object",
                               list: "array", bytes: "binary", type(None): "null"}


def type_name(value: Any) -> str:
    """A value's type as YAML and JSON name it, never a Python class (PosList is an "array")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bytes):
        return "binary"
    return "value"


# value (YAML data), path, context, the container holding the value and its key there -> the typed value
Conv = Callable[[Any, str, Ctx, Any, Any], Any]
# a field's own check: the parsed value -> an error message, or None when it is fine
Check = Callable[[Any], str | None]
T = TypeVar("T")


def _conv_str(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
    if isinstance(v, str):
        # namespaces, label keys and values, hosts, port names repeat across thousands of objects:
        # one copy each (memory, and the snapshot cache pickles each string once)
        return _intern(v) if len(v) <= 253 else v
    raise _Bad(f"must be a string, got {type_name(v)} {v!r}")


def _conv_int(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise _Bad(f"must be an integer, got {type_name(v)} {v!r}")


def _conv_float(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise _Bad(f"must be a number, got {type_name(v)} {v!r}")


def _conv_bool(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
    if isinstance(v, bool):
        return v
    raise _Bad(f"must be true or false, got {type_name(v)} {v!r}")


def _conv_any(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
    return v


def _conv_int_or_str(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
    if isinstance(v, (int, str)) and not isinstance(v, bool):
        return v
    raise _Bad(f"must be an integer or a string, got {type_name(v)} {v!r}")


def _conv_duration(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
    if not isinstance(v, str):
        raise _Bad(f"must be a duration such as '1s' or '250ms', got {type_name(v)} {v!r}")
    seconds = parse_duration(v)
    if seconds is None:
        raise _Bad(f"{v!r} is not a duration (write e.g. '10s', '250ms', '1m30s')")
    if seconds < 0:
        raise _Bad(f"duration {v!r} must not be negative")
    return Duration(v, seconds)


def _literal(options: tuple[str, ...]) -> Conv:
    allowed = frozenset(options)

    def conv(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
        if isinstance(v, str) and v in allowed:
            return v
        raise _Bad(f"must be one of {', '.join(options)}; got {v!r}")

    return conv


def _tuple(item: Conv) -> Conv:
    def conv(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
        if not isinstance(v, list):
            raise _Bad(f"must be a list, got {type_name(v)}")
        out: list[Any] = []
        for i, x in enumerate(v):
            p = f"{path}[{i}]"
            try:
                out.append(item(x, p, ctx, v, i))
            except _Bad as exc:
                ctx.error(v, i, p, str(exc))
        return tuple(out)

    return conv


def _mapping(item: Conv) -> Conv:
    def conv(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
        if not isinstance(v, dict):
            raise _Bad(f"must be a map, got {type_name(v)}")
        out: dict[str, Any] = {}
        for key, x in v.items():
            if not isinstance(key, str):
                ctx.error(v, key, f"{path}.{key}", f"keys must be strings, got {type_name(key)} {key!r}")
                continue
            p = f"{path}.{key}"
            try:
                out[_intern(key)] = item(x, p, ctx, v, key)
            except _Bad as exc:
                ctx.error(v, key, p, str(exc))
        return out

    return conv


def _model(cls: type) -> Conv:
    def conv(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
        if not isinstance(v, dict):
            raise _Bad(f"must be an object, got {type_name(v)} {v!r}")
        return parse_into(cls, v, path, ctx, c, k)

    return conv


_intern = sys.intern

_SIMPLE: dict[Any, Conv] = {
    str: _conv_str, int: _conv_int, float: _conv_float, bool: _conv_bool, Any: _conv_any,
    IntOrString: _conv_int_or_str, Duration: _conv_duration, dict: _conv_any,
}


def _custom(tp: Any) -> Conv:
    def conv(v: Any, path: str, ctx: Ctx, c: Any, k: Any) -> Any:
        try:
            return tp.from_yaml(v)
        except ValueError as exc:
            raise _Bad(str(exc)) from None

    return conv


def _converter(tp: Any) -> Conv:
    if tp in _SIMPLE:
        return _SIMPLE[tp]
    if isinstance(tp, type) and hasattr(tp, "from_yaml"):
        # a value the model keeps only a summary of (a Secret's data): `from_yaml(value)` builds
        # it, raising ValueError with the reason for a bad value
        return _custom(tp)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _converter(args[0])
        return _conv_any
    if origin is Literal:
        return _literal(get_args(tp))
    if origin is tuple:
        return _tuple(_converter(get_args(tp)[0]))
    if origin is dict:
        return _mapping(_converter(get_args(tp)[1]))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _model(tp)
    raise TypeError(f"no converter for {tp!r}")


@dataclass
class _Plan:
    fields: list[tuple[str, str, Conv, bool, Check | None]]  # attr, yaml name, converter, required, check
    by_yaml: dict[str, int]
    # the same, shaped for parse_into's inner loop: yaml name -> (attr, converter, check)
    lookup: dict[str, tuple[str, Conv, Check | None]] = field(default_factory=dict)
    required: tuple[tuple[str, str], ...] = ()  # (attr, yaml name)
    defaults: dict[str, Any] = field(default_factory=dict)  # attr -> default value
    factories: tuple[tuple[str, Callable[[], Any]], ...] = ()  # attr -> default_factory


def _defaults(cls: type) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    values: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            factories.append((f.name, f.default_factory))
    return values, tuple(factories)


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        entries: list[tuple[str, str, Conv, bool, Check | None]] = []
        for f in dataclasses.fields(cls):
            if f.name == "src" or not f.init:
                continue
            meta: Mapping[str, Any] = f.metadata or {}
            yname = meta.get("name") or camel(f.name)
            entries.append((f.name, yname, _converter(hints[f.name]), bool(meta.get("required")), meta.get("check")))
        plan = _Plan(entries, {e[1]: i for i, e in enumerate(entries)},
                     {e[1]: (e[0], e[2], e[4]) for e in entries},
                     tuple((e[0], e[1]) for e in entries if e[3]), *_defaults(cls))
        _PLANS[cls] = plan
    return plan


def parse_into(cls: type[T], data: dict[str, Any], path: str, ctx: Ctx, container: Any = None, key: Any = None) -> T:
    """Parse `data` into `cls`, recording errors in ctx. Fields with bad values are left at their
    defaults (the caller checks ctx.errors to decide whether to keep the object).

    This runs once per mapping of every loaded object, so it is written for speed: one dict
    look-up per field, no per-field Source unless something is reported. The object's own
    position is that of its mapping (the same place `container.pos[key]` records)."""
    plan = _PLANS.get(cls) or _plan(cls)
    kwargs: dict[str, Any] = {}
    lookup = plan.lookup
    prefix = f"{path}." if path else ""
    for yname, value in data.items():
        entry = lookup.get(yname)
        if entry is None:
            if ctx.strict:
                ctx.warn(data, yname, prefix + str(yname), f"unknown field {yname!r}")
            continue
        if value is None:
            continue  # null is "unset", as protobuf JSON treats it
        attr, conv, check = entry
        p = prefix + yname
        try:
            out = conv(value, p, ctx, data, yname)
            if check is not None:
                msg = check(out)
                if msg:
                    raise _Bad(msg)
            kwargs[attr] = out
        except _Bad as exc:
            ctx.error(data, yname, p, str(exc))
    for attr, yname in plan.required:
        if attr not in kwargs and data.get(yname) is None:  # missing, or written as `field:` (null)
            ctx.error(data, yname if yname in data else None, prefix + yname, f"{yname} is required")
    line = getattr(data, "line", None)
    kwargs["src"] = Source(ctx.file, line, getattr(data, "column", None) if line is not None else None, _intern(path))
    # What the frozen dataclass __init__ would do, minus one object.__setattr__ call per field
    # (a third of the parse time): defaults, fresh containers for factory fields, the values.
    obj: T = _new(cls)
    state = obj.__dict__
    state.update(plan.defaults)
    for attr, factory in plan.factories:
        if attr not in kwargs:
            state[attr] = factory()
    state.update(kwargs)
    return obj


_new = object.__new__


# to_json, per type: the (attr, yaml name) of a dataclass's fields, None for any other type
_JSON_FIELDS: dict[type, tuple[tuple[str, str], ...] | None] = {}
# types to_json gives back as they are, and whose only "unset" value is "" (str)
_SCALARS = frozenset({str, int, float, bool})


def _json_fields(cls: type) -> tuple[tuple[str, str], ...] | None:
    fields = (tuple((attr, yname) for attr, yname, _, _, _ in _plan(cls).fields)
              if dataclasses.is_dataclass(cls) else None)
    _JSON_FIELDS[cls] = fields
    return fields


def to_json(value: Any) -> Any:
    """A parsed model back to Istio's JSON shape (camelCase, unset fields left out)."""
    cls = type(value)
    fields = _JSON_FIELDS[cls] if cls in _JSON_FIELDS else _json_fields(cls)
    if fields is not None:  # a dataclass instance
        out: dict[str, Any] = {}
        for attr, yname in fields:
            v = getattr(value, attr)
            if v is None:
                continue
            t = type(v)
            if t in _SCALARS:  # the common case, without the comparisons below
                if v != "":
                    out[yname] = v
                continue
            if v == () or v == {} or v == "":
                continue
            out[yname] = to_json(v)
        return out
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, Duration):
        return str(value)
    return value
