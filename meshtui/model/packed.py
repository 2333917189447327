"""Resource bodies kept packed until first read (issue 15: the snapshot cache).

A cached snapshot of 10,000 services is about two million small objects, and unpickling them all
takes well over a second, while a trace reads the spec of a handful of resources. So the cache
stores each resource's body (every field but its kind and apiVersion) as bytes of its own, and the
first read of any of those fields unpacks them all into the instance, where every later read finds
them at plain attribute speed.

How: each body field of every Resource class gets a non-data descriptor (`_Body`). Python looks in
the instance's __dict__ before a non-data descriptor, so a resource that is not packed (parsed,
or built by code) never reaches it; a packed one has no body fields in its __dict__, only the
bytes under PACKED, and the descriptor unpacks them. Equality, hashing, dataclasses.replace and
to_json all read fields through getattr, so they see the same values either way.

A body is pickled alone, so an object shared between two bodies, or between a body and something
outside it, comes back as two equal objects. Nothing in a snapshot keeps a reference into a body
(derived data such as the registry builds its own objects), and meshtui keys no cache on id()."""

from __future__ import annotations

import pickle
from collections.abc import Callable

from meshtui.model.istio import Resource

PACKED = "_packed"  # the __dict__ key holding a packed body
# Never packed: the kind, which the cache's readers test without unpacking. Metadata is packed too:
# a trace at 10,000 services reads the names of about a hundred resources (the snapshot's indexes
# are keyed by name already), and 50,000 ObjectMetas with their label maps and sources were a third
# of what was left to unpickle.
HEAD = frozenset({"api_version", "kind"})
_MISSING = object()


class _Body:
    """A body field of a Resource class: unpacks the instance's body on first read."""

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


_ready: set[type] = set()  # classes whose body fields have their descriptors


def _prepare(cls: type[Resource]) -> None:
    """Give each body field of `cls` its descriptor (once per class; done when the first resource of
    the class is packed or restored, since a class may be imported after this module)."""
    import dataclasses

    for f in dataclasses.fields(cls):
        if f.name in HEAD or isinstance(cls.__dict__.get(f.name), _Body):
            continue
        setattr(cls, f.name, _Body(f.name, f.default if f.default is not dataclasses.MISSING else _MISSING))
    _ready.add(cls)


def _restore(cls: type[Resource], head: dict[str, object], blob: bytes) -> Resource:
    if cls not in _ready:
        _prepare(cls)
    obj = object.__new__(cls)
    state = obj.__dict__
    state.update(head)
    state[PACKED] = blob
    return obj


Reduced = tuple[Callable[..., Resource], tuple[object, ...]]  # what a pickle reducer returns


def _pack(obj: Resource) -> Reduced:
    state = obj.__dict__
    unpack(state)  # a resource read from a cache and stored again: its body as read
    head = {k: v for k, v in state.items() if k in HEAD}
    body = {k: v for k, v in state.items() if k not in HEAD}
    return _restore, (type(obj), head, pickle.dumps(body, protocol=pickle.HIGHEST_PROTOCOL))


def dispatch_table() -> dict[type, Callable[[Resource], Reduced]]:
    """The reducers a Pickler uses to store resources with packed bodies (as pickle's
    dispatch_table: only these classes pay for a Python call per object)."""
    table: dict[type, Callable[[Resource], Reduced]] = {}
    todo: list[type[Resource]] = [Resource]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls not in _ready:
            _prepare(cls)
        table[cls] = _pack
    return table
