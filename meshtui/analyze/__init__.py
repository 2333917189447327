"""meshtui.analyze: find what is wrong in a mesh before it pages someone.

    messages = analyze(snapshot)            # list[Message], most severe first

Pure: no I/O, no clock, no UI imports. One module per family of checks; each declares its
analyzers with `registry.analyzer` (codes, the kinds it reads, the istioctl analyzer it mirrors)
and the registry finds them by scanning this package. `codes.CODES` lists every code with its
level and message template.

istioctl-compatible codes (same check, same level, istioctl's wording first): IST0101
ReferencedResourceNotFound (host, host:port, subset, gateway, selector), IST0106, IST0109,
IST0110, IST0111, IST0112, IST0128, IST0129, IST0130, IST0131, IST0132, IST0134, IST0138,
IST0140, IST0145, IST0162, IST0165, IST0167, IST0173, IST0174, IST0177. Where meshtui differs
from istioctl on purpose: docs/oracle-differences.md, "analyze". Loader codes: IST0133 unknown
field, MT0001 duplicate object, MT0002 skipped kind.

meshtui's own codes. The numbers are stable: never renumber, never reuse.

    MT0101  Warning  ShadowedRule: no request can reach a rule; the earlier rule that takes its
                     requests is named (found by replaying requests through the tracer).
    MT0102  Error    SubsetWithoutEndpointsReceivesTraffic: a route gives weight to a subset with
                     no ready endpoint, so that share of requests gets 503 UH.
    MT0103  Warning  SidecarScopeHidesVirtualService: a Sidecar imports a service but not the
                     VirtualService that routes it (egress `ns/` is where the VS is defined).
    MT0104  Warning  VirtualServiceHostNotInRegistry: a mesh VirtualService host no service has;
                     sidecars only apply it on port 80.
    MT0105  Warning  FaultWithoutPercentage: a fault abort/delay without percentage injects nothing.
    MT0106  Warning  RetryTimeoutNotBelowRouteTimeout: perTryTimeout >= the route timeout, so a
                     slow upstream is never retried.
    MT0107  Warning  DestinationRuleShadowedByWildcard: a wildcard DestinationRule in a client
                     namespace is found first and hides a more specific rule from those clients.
"""

from meshtui.analyze.codes import CODES, ERROR, INFO, LEVELS, WARNING, level_rank, parse_level
from meshtui.analyze.message import Message, at_or_above
from meshtui.analyze.registry import Analyzer, all_analyzers, analyze
from meshtui.analyze.suppress import Suppression

__all__ = [
           "CODES",
           "ERROR",
           "INFO",
           "LEVELS",
           "WARNING",
           "Analyzer",
           "Message",
           "Suppression",
           "all_analyzers",
           "analyze",
           "at_or_above",
           "level_rank",
           "parse_level",
]
