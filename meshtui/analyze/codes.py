"""Every code `meshtui analyze` can report, with its name and level. IST codes are istioctl's
(same name, same level, same check); MT codes are meshtui's own. Numbers are never reused."""

from __future__ import annotations

from dataclasses import dataclass

INFO, WARNING, ERROR = "Info", "Warning", "Error"
LEVELS = (INFO, WARNING, ERROR)
_RANK = {INFO: 0, WARNING: 1, ERROR: 2}


def level_rank(level: str) -> int:
    return _RANK.get(level, 0)


def parse_level(text: str) -> str | None:
    """'error', 'Warn', 'WARNING' → canonical level name; None if it is not one."""
    t = text.strip().lower()
    for name in LEVELS:
        if t == name.lower():
            return name
    return WARNING if t == "warn" else None


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    name: str
    level: str
    summary: str


_ALL = [
    Code("IST0001", "InternalError", ERROR, "an analyzer failed; this is a bug in meshtui"),
    Code("IST0101", "ReferencedResourceNotFound", ERROR, "a host, host:port, subset, gateway or selector that a resource names does not exist"),
    Code("IST0106", "SchemaValidationError", ERROR, "the resource fails validation and was left out"),
    Code("IST0109", "ConflictingMeshGatewayVirtualServiceHosts", ERROR, "several mesh VirtualServices define the same host"),
    Code("IST0110", "ConflictingSidecarWorkloadSelectors", ERROR, "several Sidecars select the same workload"),
    Code("IST0111", "MultipleSidecarsWithoutWorkloadSelectors", ERROR, "several Sidecars without selector in one namespace"),
    Code("IST0112", "VirtualServiceDestinationPortSelectorRequired", ERROR, "a destination without port on a service with several ports"),
    Code("IST0128", "NoServerCertificateVerificationDestinationLevel", WARNING, "DestinationRule TLS SIMPLE/MUTUAL without caCertificates"),
    Code("IST0129", "NoServerCertificateVerificationPortLevel", WARNING, "port-level TLS SIMPLE/MUTUAL without caCertificates"),
    Code("IST0130", "VirtualServiceUnreachableRule", WARNING, "a rule that earlier rules always take first"),
    Code("IST0131", "VirtualServiceIneffectiveMatch", INFO, "a match that an earlier match always takes first"),
    Code("IST0132", "VirtualServiceHostNotFoundInGateway", WARNING, "no VirtualService host is served by a Gateway it binds to"),
    Code("IST0133", "SchemaWarning", WARNING, "the resource has an unknown or deprecated field"),
    Code("IST0134", "ServiceEntryAddressesRequired", WARNING, "a ServiceEntry with TCP ports and no addresses"),
    Code("IST0145", "ConflictingGateways", ERROR, "Gateways with the same selector, port and overlapping hosts"),
    Code("IST0162", "GatewayPortNotDefinedOnService", WARNING, "a Gateway port that the gateway's Service does not expose"),
    Code("IST0173", "DestinationRuleSubsetNotSelectPods", ERROR, "a subset whose labels select no endpoint"),
    Code("IST0174", "UnknownDestinationRuleHost", WARNING, "a DestinationRule host that matches no service"),
    Code("IST0177", "ConflictingServiceEntryProtocol", WARNING, "ServiceEntries giving one host:port different protocols"),
    Code("MT0001", "DuplicateObject", WARNING, "the same kind/namespace/name is defined twice in the sources; the later one is used"),
    Code("MT0002", "SkippedKind", INFO, "objects of a kind meshtui does not read were skipped"),
    Code("MT0003", "ValidationWarning", WARNING, "Istio's validation accepts the object with a warning"),
    Code("MT0004", "DuplicateYamlKey", WARNING, "a YAML mapping repeats a key; the later value is used"),
    Code("MT0005", "OutsideDiscoverySelectors", INFO, "a namespace MeshConfig discoverySelectors leave out: istiod ignores its objects"),
    Code("MT0006", "NonRegularFileSkipped", WARNING, "a FIFO, socket or device named like YAML in a folder was not read"),
    Code("MT0101", "ShadowedRule", WARNING, "no request can reach a rule: an earlier rule takes every request it matches"),
    Code("MT0102", "SubsetWithoutEndpointsReceivesTraffic", ERROR, "a route sends traffic to a subset with no ready endpoint (503 UH)"),
    Code("MT0103", "SidecarScopeHidesVirtualService", WARNING, "a Sidecar imports a host but not the VirtualService that routes it"),
    Code("MT0104", "VirtualServiceHostNotInRegistry", WARNING, "a mesh VirtualService host that no service has: it only acts on port 80"),
    Code("MT0105", "FaultWithoutPercentage", WARNING, "a fault without percentage, which injects nothing"),
    Code("MT0106", "RetryTimeoutNotBelowRouteTimeout", WARNING, "perTryTimeout at or above the route timeout, so no retry can happen"),
    Code("MT0107", "DestinationRuleShadowedByWildcard", WARNING, "a wildcard DestinationRule in a client namespace hides a more specific one"),
    Code("MT0601", "ClusterReadWarning", WARNING, "part of the cluster could not be read"),
    Code("MT0604", "ConfigDiffersBetweenClusters", WARNING, "several clusters hold different copies of one Istio object; each istiod uses its own"),
    Code("MT0603", "MeshConfigNotRead", WARNING, "the cluster's MeshConfig (the istio ConfigMap) could not be read: Istio's defaults are used"),
    Code("MT0602", "FileOverCluster", INFO, "a -f file replaces or adds an object read from the cluster"),
]

CODES: dict[str, Code] = {c.code: c for c in _ALL}


def level_of(code: str, default: str = WARNING) -> str:
    c = CODES.get(code)
    return c.level if c else default
