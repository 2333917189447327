"""simulate(config, request) → Trace: Envoy's routing replayed step by step."""

from meshtui.simulate.engine import resolve_dns, simulate
from meshtui.simulate.matching import explain_route, header_matches
from meshtui.simulate.request import Request
from meshtui.simulate.trace import Destination, Step, Trace

__all__ = ["Destination", "Request", "Step", "Trace", "explain_route", "header_matches", "resolve_dns", "simulate"]
