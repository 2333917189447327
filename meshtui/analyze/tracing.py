"""The tracer as the analyzers use it: the one Tracer (simulate/tracer.py). Probes are cached by
(namespace, labels), so one translation serves every rule that needs the same proxy."""

from __future__ import annotations

from meshtui.model.snapshot import MeshSnapshot
from meshtui.simulate.tracer import Tracer

__all__ = ["Tracer", "default_tracer"]


def default_tracer(snapshot: MeshSnapshot) -> Tracer:
    return Tracer(snapshot)
