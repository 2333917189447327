"""Resource bodies (and a service's endpoints) kept packed until first read (issue 15: the
snapshot cache).

A cached snapshot of 10,000 services is about two million small objects, and unpickling them all
takes well over a second, while a trace reads the spec of a handful of resources. So the cache
stores each resource's body (every field but its kind and apiVersion) as bytes of its own, and the
first read of any of those fields unpacks them all into the instance, where every later read finds
them at plain attribute speed.

A registry service's endpoints are packed the same way (PACKED_FIELDS).

How: each body field of every Resource class gets a non-data descriptor (`_Body`). Python looks in
the instance's __dict__ before a non-data descriptor, so a resource that is not packed (parsed,
or built by code) never reaches it; a packed one has no body fields in its __dict__, only the
bytes under PACKED, and the descriptor unpacks them. Equality, hashing, dataclasses.replace and
to_json all read fields through getattr, so they see the same values either way.

A body is pickled alone, so an object shared between two bodies, or between a body and something
outside it, comes back as two equal objects. Nothing in a snapshot keeps a reference into a body
(derived data such as the registry builds its own objects; tests/sources/test_packed_snapshot.py
checks it on every fixture), and meshtui keys no cache on id()."""

from __future__ import annotations

import pickle
from collections.abc import Callable

from meshtui.model.istio import Resource
from meshtui.model.snapshot import RegistryService

PACKED = "_packed"  # the __dict__ key holding a packed body
# Never packed: the kind, which the cache's readers test without unpacking. Metadata is packed too:
# a trace at 10,000 services reads the names of about a hundred resources (the snapshot's indexes
# are keyed by name already), and 50,000 ObjectMetas with their label maps and sources were a third
# of what was left to unpickle.
HEAD = frozenset({"api_version", "kind"})
# Derived objects with a large part a trace reads for one service in thousands: a service's
# endpoints (40,000 Endpoints with their label maps at 10,000 services).
PACKED_FIELDS: dict[type, tuple[str, ...]] = {RegistryService: ("endpoints",)}
_MISSING = object()


class _Body:
    """A packed field of a class: unpacks the instance's body on first read."""

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: object) -> None:
        self.name = name
        self.default = default

    def __get__(self, obj: object, owner: type | None = None) -> object:
        if obj is None:  # the class attribute, as the dataclass left it (a default, or none)
            if self.default is _MISSING:
                raise AttributeError(self.name)
            return self.default
        state = obj.__dict__
        if self.name not in state:
            unpack(state)
        try:
            return state[self.name]
        except KeyError:
            raise AttributeError(f"{type(obj).__name__!r} object has no attribute {self.name!r}") from None


def unpack(state: dict[str, object]) -> None:
    """Unpack a packed body into an instance's __dict__. Two threads may both unpack (the TUI reads
    on its analysis thread too): setdefault makes the first values stored the ones both return."""
    blob = state.get(PACKED)
    if not isinstance(blob, bytes):
        return
    for name, value in pickle.loads(blob).items():
        state.setdefault(name, value)
    state.pop(PACKED, None)


# class -> the fields packed (once per class: when the first object of the class is packed or
# restored, since a class may be imported after this module)
_body: dict[type, frozenset[str]] = {}


def _body_of(cls: type) -> frozenset[str]:
    names = _body.get(cls)
    if names is None:
        import dataclasses

        fields = dataclasses.fields(cls)
        if issubclass(cls, Resource):
            names = frozenset(f.name for f in fields if f.name not in HEAD)
        else:
            names = frozenset(PACKED_FIELDS[cls])
        for f in fields:
            if f.name in names and not isinstance(cls.__dict__.get(f.name), _Body):
                setattr(cls, f.name, _Body(f.name, f.default if f.default is not dataclasses.MISSING else _MISSING))
        _body[cls] = names
    return names


def _restore(cls: type, head: dict[str, object], blob: bytes) -> object:
    _body_of(cls)  # its descriptors (the class may be new to this process)
    obj: object = object.__new__(cls)
    state = obj.__dict__
    state.update(head)
    state[PACKED] = blob
    return obj


Reduced = tuple[Callable[..., object], tuple[object, ...]]  # what a pickle reducer returns


def _pack(obj: object) -> Reduced:
    state = obj.__dict__
    unpack(state)  # an object read from a cache and stored again: its body as read
    names = _body_of(type(obj))
    head = {k: v for k, v in state.items() if k not in names}
    body = {k: v for k, v in state.items() if k in names}
    return _restore, (type(obj), head, pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL))


def dispatch_table() -> dict[type, Callable[[object], Reduced]]:
    """The reducers a Pickler uses to store objects with packed bodies (as pickle's dispatch_table:
    only these classes pay for a Python call per object)."""
    table: dict[type, Callable[[object], Reduced]] = dict.fromkeys(PACKED_FIELDS, _pack)
    todo: list[type[Resource]] = [Resource]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        table[cls] = _pack
    for cls in table:
        _body_of(cls)
    return table
