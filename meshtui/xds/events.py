"""What the xDS server reports: connects, pushes, ACKs, NACKs, stale requests, disconnects.

Events carry both clocks: `mono` (time.monotonic, for latency figures, comparable across
processes on one machine) and `wall` (epoch seconds, for the journal and people)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import asdict, field

from meshtui.model.value import value

CONNECT = "connect"
DISCONNECT = "disconnect"
PUSH = "push"
ACK = "ack"
NACK = "nack"
STALE = "stale"
HEARTBEAT = "heartbeat"
UNSUPPORTED = "unsupported"  # Envoy subscribed to a type meshtui does not serve
UNAUTHENTICATED = "unauthenticated"  # a call or stream without the credential, refused
REFUSED = "refused"  # a snapshot the server would not push (e.g. a non-loopback address in demo mode)


@value  # immutable as a frozen dataclass, made at a plain class's speed: two per stream and edit
class XdsEvent:
    kind: str
    proxy: str
    stream: int = 0
    type: str = ""  # CDS/EDS/LDS/RDS/RTDS
    version: str = ""
    nonce: str = ""
    detail: str = ""
    names: tuple[str, ...] = ()
    cause: tuple[str, ...] = ()
    mono: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["names"] = list(self.names)
        d["cause"] = list(self.cause)
        return d


EventListener = Callable[[XdsEvent], None]


class EventBus:
    """Fan-out of events to listeners, with a bounded history. Listener errors never reach the
    server: a broken TUI widget must not break a push."""

    def __init__(self, history: int = 2000) -> None:
        self._listeners: tuple[EventListener, ...] = ()  # replaced, never changed: emit walks it as is
        self.history: collections.deque[XdsEvent] = collections.deque(maxlen=history)
        self.errors = 0

    def subscribe(self, cb: EventListener) -> Callable[[], None]:
        self._listeners = (*self._listeners, cb)

        def unsubscribe() -> None:
            ls = list(self._listeners)
            try:
                ls.remove(cb)
            except ValueError:
                return
            self._listeners = tuple(ls)

        return unsubscribe

    def emit(self, ev: XdsEvent) -> None:
        self.history.append(ev)
        for cb in self._listeners:
            try:
                cb(ev)
            except Exception:  # noqa: BLE001 - see class docstring
                self.errors += 1
