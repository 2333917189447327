"""The tracer as the analyzers use it: translate() a probe proxy once, then simulate() requests
through it. Probes are cached by (kind, namespace, labels), so one translation serves every rule
that needs the same proxy."""

from __future__ import annotations

from typing import Any

from meshtui.model.snapshot import MeshSnapshot, Workload


class Tracer:
    def __init__(self, snapshot: MeshSnapshot) -> None:
        from meshtui.simulate import simulate
        from meshtui.translate import TranslateOptions, translate

        self._snapshot = snapshot
        self._translate = translate
        self._options = TranslateOptions
        self._simulate = simulate
        self._configs: dict[tuple, Any] = {}
        self.translations = 0
        self.simulations = 0

    def sidecar(self, namespace: str, labels: dict[str, str]) -> Any:
        """The config of a sidecar in `namespace` with exactly these labels (a probe: no such pod
        needs to exist, as for `meshtui trace` without --from)."""
        key = ("sidecar", namespace, tuple(sorted(labels.items())))
        if key not in self._configs:
            wl = Workload("Pod", namespace, "meshtui-analyze-probe", dict(labels), synthesized=True)
            self._configs[key] = self._translate(self._snapshot, wl, self._options(proxy_type="sidecar"))
            self.translations += 1
        return self._configs[key]

    def router(self, workload: Workload) -> Any:
        key = ("router", workload.namespace, workload.name)
        if key not in self._configs:
            self._configs[key] = self._translate(self._snapshot, workload, self._options(proxy_type="router"))
            self.translations += 1
        return self._configs[key]

    def run(self, config: Any, request: Any) -> Any:
        self.simulations += 1
        return self._simulate(config, request)


def default_tracer(snapshot: MeshSnapshot) -> Tracer | None:
    try:
        return Tracer(snapshot)
    except ImportError:  # a build without the translator: the tracer checks are skipped
        return None
