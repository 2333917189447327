"""The one tracer: translate a proxy once, simulate requests through it. The CLI
(`meshtui trace`), the TUI and the analyzers all trace through a `Tracer` of the snapshot they
hold; it owns the snapshot's Translator and the proxy configurations it built (bounded when asked),
so they live as long as the tracer does.

Not thread-safe by itself (the core takes no locks): the TUI, which traces from worker threads,
serialises config() calls (tui/tracing.py)."""

from __future__ import annotations

from collections import OrderedDict

from meshtui.model.snapshot import MeshSnapshot, Workload
from meshtui.simulate.engine import simulate
from meshtui.simulate.request import Request
from meshtui.simulate.trace import Trace
from meshtui.translate import Translator
from meshtui.translate.config import ProxyConfig, TranslateOptions

# without --from: a sidecar in namespace default with no labels (docs/CONTRACT.md)
ANY_SOURCE = Workload("Pod", "default", "(any)", {})
PROBE = "meshtui-analyze-probe"


class Tracer:
    def __init__(self, snapshot: MeshSnapshot, max_configs: int | None = None) -> None:
        self.snapshot = snapshot
        self.translator = Translator(snapshot)
        self.max_configs = max_configs
        self._configs: OrderedDict[tuple[object, ...], ProxyConfig] = OrderedDict()
        self.translations = 0
        self.simulations = 0

    def _cached(self, key: tuple[object, ...], proxy: str | Workload, options: TranslateOptions, lazy: bool) -> ProxyConfig:
        hit = self._configs.get(key)
        if hit is not None:
            self._configs.move_to_end(key)
            return hit
        cfg = self.translator.translate(proxy, options, lazy=lazy)
        self.translations += 1
        self._configs[key] = cfg
        while self.max_configs is not None and len(self._configs) > self.max_configs:
            self._configs.popitem(last=False)
        return cfg

    def config(self, source: str | Workload | None = None, gateway: bool = False) -> ProxyConfig:
        """The proxy a request starts from: the gateway `source` (a router), the sidecar of
        workload `source`, or without one a sidecar in namespace default with no labels. A
        sidecar is translated lazily (only what the traces read is built; the same results)."""
        proxy = source or ANY_SOURCE
        name = proxy if isinstance(proxy, str) else f"{proxy.namespace}/{proxy.name}"
        if gateway:
            return self._cached(("router", name), proxy, TranslateOptions(proxy_type="router"), lazy=False)
        return self._cached(("sidecar", name), proxy, TranslateOptions(proxy_type="sidecar"), lazy=True)

    def sidecar(self, namespace: str, labels: dict[str, str]) -> ProxyConfig:
        """A probe: the sidecar of a pod in `namespace` with exactly these labels (no such pod
        needs to exist, as for `meshtui trace` without --from)."""
        wl = Workload("Pod", namespace, PROBE, dict(labels), synthesized=True)
        key = ("probe", namespace, tuple(sorted(labels.items())))
        return self._cached(key, wl, TranslateOptions(proxy_type="sidecar"), lazy=True)

    def router(self, workload: Workload) -> ProxyConfig:
        return self._cached(("router", f"{workload.namespace}/{workload.name}"), workload,
                            TranslateOptions(proxy_type="router"), lazy=False)

    def run(self, config: ProxyConfig, request: Request) -> Trace:
        self.simulations += 1
        return simulate(config, request)

    def trace(self, request: Request, source: str | Workload | None = None, gateway: bool = False) -> Trace:
        return self.run(self.config(source, gateway), request)
