"""simulate(config, request) → Trace: Envoy's routing replayed step by step."""

from meshtui.simulate.engine import explain_route, header_matches, resolve_dns, simulate
from meshtui.simulate.request import Request
from meshtui.simulate.trace import Destination, Step, Trace

__all__ = ["simulate", "Request", "Trace", "Step", "Destination", "explain_route", "header_matches", "resolve_dns"]
