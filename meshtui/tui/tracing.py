"""Tracing for the TUI: the request form as data, and an engine over the one Tracer
(simulate/tracer.py) that keeps each proxy's translated config, so typing in the URL or a header
only re-runs the (fast) simulation. Thread-safe, as the Tracer is."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from meshtui.errors import MeshtuiError
from meshtui.model.snapshot import MeshSnapshot
from meshtui.simulate import Request
from meshtui.simulate.trace import Trace
from meshtui.simulate.tracer import Tracer
from meshtui.translate.config import ProxyConfig


@dataclass(frozen=True)
class TraceQuery:
    source: str = ""  # "ns/workload"; "" = a sidecar in 'default' with no labels (as `meshtui trace`)
    gateway: bool = False  # enter at the gateway named by `source`
    method: str = "GET"
    url: str = ""
    headers: tuple[str, ...] = ()  # "Name: value"

    def cli(self) -> str:
        """The same request as a `meshtui trace` command line."""
        parts = ["meshtui trace"]
        if self.source:
            parts.append(f"{'--gateway' if self.gateway else '--from'} {self.source}")
        if self.method and self.method.upper() != "GET":
            parts.append(f"-X {self.method.upper()}")
        parts.extend(f"-H '{h}'" for h in self.headers)
        parts.append(self.url or "URL")
        return " ".join(parts)


@dataclass
class TraceResult:
    query: TraceQuery
    trace: Trace | None = None
    error: str | None = None  # for people: what is wrong with the request, or the bug
    seconds: float = 0.0
    generation: int = 0
    snapshot: MeshSnapshot | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.trace is not None


def parse_headers(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """Well-formed 'Name: value' entries, and an error for the first malformed one."""
    good: list[str] = []
    for h in items:
        h = h.strip()
        if not h:
            continue
        name, sep, _ = h.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            return tuple(good), f"header {h!r} is not of the form 'Name: value'"
        good.append(h)
    return tuple(good), None


class TraceEngine:
    """The TUI's tracer: one Tracer (translations cached, bounded) for the snapshot being traced;
    a new snapshot gets a new one. simulate() runs per request."""

    def __init__(self, max_configs: int = 16) -> None:
        self.max_configs = max_configs
        self._tracer: Tracer | None = None
        self._guard = threading.Lock()
        self._translating = threading.Lock()

    def clear(self) -> None:
        with self._guard:
            self._tracer = None

    def tracer(self, snapshot: MeshSnapshot) -> Tracer:
        with self._guard:
            if self._tracer is None or self._tracer.snapshot is not snapshot:
                self._tracer = Tracer(snapshot, self.max_configs)
            return self._tracer

    def config_for(self, snapshot: MeshSnapshot, source: str, gateway: bool) -> ProxyConfig:
        """Translations are serialised here: two workers asking for the same proxy get one."""
        with self._translating:
            return self.tracer(snapshot).config(source or None, gateway)

    def run(self, snapshot: MeshSnapshot, query: TraceQuery, generation: int = 0) -> TraceResult:
        t0 = time.perf_counter()
        res = TraceResult(query, generation=generation, snapshot=snapshot)
        try:
            if not query.url.strip():
                res.error = "type a URL to trace, e.g. http://reviews:9080/reviews/1"
                return res
            if query.gateway and "/" not in query.source:
                res.error = "a gateway is NAMESPACE/NAME, e.g. istio-system/istio-ingressgateway"
                return res
            headers, herr = parse_headers(query.headers)
            if herr:
                res.error = herr
                return res
            req = Request.parse(query.url.strip(), query.method.strip() or "GET", list(headers))
            # the whole trace under one lock: configs are translated lazily (parts are built on
            # first read, as a trace walks them) and the core takes no locks of its own
            with self._translating:
                cfg = self.tracer(snapshot).config(query.source.strip() or None, query.gateway)
                res.trace = self.tracer(snapshot).run(cfg, req)
        except MeshtuiError as exc:
            res.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a tracer bug must not take the app down
            res.error = f"internal error while tracing ({type(exc).__name__}: {exc}); this is a bug in meshtui"
        finally:
            res.seconds = time.perf_counter() - t0
        return res
