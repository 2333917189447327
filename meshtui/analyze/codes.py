"""Every code `meshtui analyze` can report, with its name and level. IST codes are istioctl's
(same name, same level, same check); MT codes are meshtui's own. Numbers are never reused."""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

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
    """One finding kind. `template` is the message's first sentence with `{field}` slots (for IST
    codes istioctl's wording, so the two tools' messages read alike); every message of the code
    starts with it, and meshtui's explanation and fix follow as free text."""

    code: str
    name: str
    level: str
    summary: str
    template: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for _, f, _, _ in Formatter().parse(self.template) if f)

    def render(self, **values: object) -> str:
        """The template filled in; a missing or unknown field is a bug at the call site."""
        unknown = set(values) - set(self.fields)
        if unknown:
            raise KeyError(f"{self.code} has no field {', '.join(sorted(unknown))}")
        return self.template.format(**values)


_ALL = [
    Code("IST0001", "InternalError", ERROR, "an analyzer failed; this is a bug in meshtui",
         "Internal error in analyzer {analyzer}: {error}."),
    Code("IST0101", "ReferencedResourceNotFound", ERROR,
         "a host, host:port, subset, gateway, selector or credential that a resource names does not exist",
         'Referenced {reftype} not found: "{ref}".'),
    Code("IST0106", "SchemaValidationError", ERROR, "the resource fails validation",
         "Schema validation error: {error}."),
    Code("IST0109", "ConflictingMeshGatewayVirtualServiceHosts", ERROR, "several mesh VirtualServices define the same host",
         "The VirtualServices {names} associated with mesh gateway define the same host {host} which can lead to "
         "undefined behavior."),
    Code("IST0110", "ConflictingSidecarWorkloadSelectors", ERROR, "several Sidecars select the same workload",
         'The Sidecars [{names}] in namespace "{namespace}" select the same workload pod "{pod}", which can lead to '
         "undefined behavior."),
    Code("IST0111", "MultipleSidecarsWithoutWorkloadSelectors", ERROR, "several Sidecars without selector in one namespace",
         'The Sidecars [{names}] in namespace "{namespace}" have no workload selector, which can lead to undefined behavior.'),
    Code("IST0112", "VirtualServiceDestinationPortSelectorRequired", ERROR, "a destination without port on a service with several ports",
         'This VirtualService routes to a service "{host}" that exposes multiple ports [{ports}]. Specifying a port in '
         "the destination is required to disambiguate."),
    Code("IST0127", "NoMatchingWorkloadsFound", WARNING, "an AuthorizationPolicy selector matches no workload",
         "No matching workloads for this resource with the following labels: {labels}."),
    Code("IST0128", "NoServerCertificateVerificationDestinationLevel", WARNING, "DestinationRule TLS SIMPLE/MUTUAL without caCertificates",
         "DestinationRule {rule} in namespace {namespace} has TLS mode set to {mode} but no caCertificates are set to "
         "validate server identity for host: {host}."),
    Code("IST0129", "NoServerCertificateVerificationPortLevel", WARNING, "port-level TLS SIMPLE/MUTUAL without caCertificates",
         "DestinationRule {rule} in namespace {namespace} has TLS mode set to {mode} but no caCertificates are set to "
         "validate server identity for host: {host} at port number:{port}."),
    Code("IST0130", "VirtualServiceUnreachableRule", WARNING, "a rule that earlier rules always take first",
         "VirtualService rule {rule} not used ({reason})."),
    Code("IST0131", "VirtualServiceIneffectiveMatch", INFO, "a match that an earlier match always takes first",
         "VirtualService rule {rule} match {match} is not used (duplicate/overlapping match in rule {other})."),
    Code("IST0132", "VirtualServiceHostNotFoundInGateway", WARNING, "no VirtualService host is served by a Gateway it binds to",
         "one or more host [{hosts}] defined in VirtualService {vs} not found in Gateway {gateway}."),
    Code("IST0133", "SchemaWarning", WARNING, "the resource has an unknown or deprecated field",
         "Schema validation warning: {warning}."),
    Code("IST0134", "ServiceEntryAddressesRequired", WARNING, "a ServiceEntry with TCP ports and no addresses",
         "ServiceEntry addresses are required for this protocol."),
    Code("IST0138", "GatewayDuplicateCertificate", WARNING, "several Gateways serve the same certificate",
         "Duplicate certificate in multiple gateways {gateways} may cause 404s if clients re-use HTTP2 connections."),
    Code("IST0140", "IngressRouteRulesNotAffected", WARNING,
         "a gateway route to a host whose mesh routes pick subsets: the subset rules do not apply to gateway requests",
         "Subset in virtual service {vs} has no effect on ingress gateway {gateway} requests."),
    Code("IST0145", "ConflictingGateways", ERROR, "Gateways with the same selector, port and overlapping hosts",
         "Conflict with gateways {gateways} (workload selector {selector}, port {port}, hosts {hosts})."),
    Code("IST0149", "JwtClaimBasedRoutingWithoutRequestAuthN", ERROR,
         "a gateway route matches JWT claims but no RequestAuthentication applies to the gateway pods",
         "The virtual service uses the JWT claim based routing (key: {key}) but found no request authentication for "
         "the gateway ({gateway}) pod ({pod}). The request authentication must first be applied for the gateway pods "
         "to validate the JWT token and make the claims available for routing."),
    Code("IST0161", "InvalidGatewayCredential", ERROR, "a Gateway's credentialName Secret holds no usable certificate",
         "The credential referenced by the Gateway {gateway} in namespace {namespace} is invalid, which can cause the "
         "traffic not to work as expected."),
    Code("IST0162", "GatewayPortNotDefinedOnService", WARNING, "a Gateway port that the gateway's Service does not expose",
         "The gateway is listening on a target port (port {port}) that is not defined in the Service associated with "
         "its workload instances (Pod selector {selector})."),
    Code("IST0165", "ReferencedInternalGateway", WARNING, "a VirtualService binds a Gateway generated from a Kubernetes Gateway",
         "Gateway reference in VirtualService {vs} is to an implementation-generated internal Gateway: {gateway}."),
    Code("IST0166", "IneffectiveSelector", WARNING, "a policy selects a Kubernetes Gateway's pods by label instead of targetRef",
         "Ineffective selector on Kubernetes Gateway {gateway}. Use the TargetRef field instead."),
    Code("IST0167", "IneffectivePolicy", WARNING, "a policy that has no effect (e.g. a Sidecar in an ambient namespace)",
         "The policy has no impact: {why}."),
    Code("IST0173", "DestinationRuleSubsetNotSelectPods", ERROR, "a subset whose labels select no pod",
         "The Subset {subset} defined in the DestinationRule does not select any pods, which may result in 503 "
         "errors (no healthy upstream)."),
    Code("IST0174", "UnknownDestinationRuleHost", WARNING, "a DestinationRule host that matches no service",
         "The host {host} defined in the DestinationRule does not match any services in the mesh."),
    Code("IST0177", "ConflictingServiceEntryProtocol", WARNING, "ServiceEntries giving one host:port different protocols",
         "ServiceEntries {names} define host {host} port {port} with different protocols ({protocols})."),
    Code("MT0001", "DuplicateObject", WARNING, "the same kind/namespace/name is defined twice in the sources; the later one is used",
         "{text}"),
    Code("MT0002", "SkippedKind", INFO, "objects of a kind meshtui does not read were skipped", "{text}"),
    Code("MT0003", "ValidationWarning", WARNING, "Istio's validation accepts the object with a warning", "{text}"),
    Code("MT0004", "DuplicateYamlKey", WARNING, "a YAML mapping repeats a key; the later value is used", "{text}"),
    Code("MT0005", "OutsideDiscoverySelectors", INFO, "a namespace MeshConfig discoverySelectors leave out: istiod ignores its objects",
         "{text}"),
    Code("MT0006", "NonRegularFileSkipped", WARNING, "a FIFO, socket or device named like YAML in a folder was not read", "{text}"),
    Code("MT0101", "ShadowedRule", WARNING, "no request can reach a rule: an earlier rule takes every request it matches",
         "No request reaches rule {rule}: every request its match accepts is taken first by {captors}."),
    Code("MT0102", "SubsetWithoutEndpointsReceivesTraffic", ERROR, "a route sends traffic to a subset with no ready endpoint (503 UH)",
         "Rule {rule} sends {share} of its requests to subset {subset} of {host}{port}, but {why}: those requests fail "
         "with 503 (no healthy upstream)."),
    Code("MT0103", "SidecarScopeHidesVirtualService", WARNING, "a Sidecar imports a host but not the VirtualService that routes it",
         "This Sidecar imports service {host} but not VirtualService {vs}, which routes that host."),
    Code("MT0104", "VirtualServiceHostNotInRegistry", WARNING, "a mesh VirtualService host that no service has: it only acts on port 80",
         "Host {host} matches no Service or ServiceEntry."),
    Code("MT0105", "FaultWithoutPercentage", WARNING, "a fault without percentage, which injects nothing",
         "The {fault} fault of rule {rule} has no percentage, so no request is {effect}."),
    Code("MT0106", "RetryTimeoutNotBelowRouteTimeout", WARNING, "perTryTimeout at or above the route timeout, so no retry can happen",
         "Rule {rule} allows {attempts} with perTryTimeout {per_try}, but its timeout is {timeout}."),
    Code("MT0107", "DestinationRuleShadowedByWildcard", WARNING, "a wildcard DestinationRule in a client namespace hides a more specific one",
         "For clients in namespace {client}, DestinationRule {wildcard} (host {pattern}) is found first, so this rule's "
         "traffic policy and subsets never apply to their requests to {host}."),
    Code("MT0201", "StrictMtlsPlaintextClient", ERROR, "a DestinationRule sends plaintext to workloads whose PeerAuthentication is STRICT (503)",
         "tls.mode DISABLE sends plaintext to {pod}, whose PeerAuthentication is STRICT on port {ports}: every request "
         "fails with 503 (connection reset)."),
    Code("MT0202", "IdentityRuleWithoutMtls", WARNING, "an ALLOW rule on principals or namespaces for a workload with mTLS DISABLE never matches",
         "Rule {rule} matches on {field}, but {pod} has mTLS DISABLE on port {port}: without mTLS there is no peer "
         "identity, so the rule never matches."),
    Code("MT0203", "AllowShadowedByDeny", WARNING, "a DENY rule matching every request an ALLOW rule admits makes that ALLOW rule dead",
         "DENY policy {deny} rule {deny_rule} matches every request rule {rule} admits on {pod}, and DENY is evaluated "
         "first: rule {rule} of this ALLOW policy never lets a request through."),
    Code("MT0204", "IdentityRuleWithPlaintextClient", WARNING, "an ALLOW rule on peer identity for a workload that clients reach in plaintext",
         "Rule {rule} matches only on {field}, but {dr} sends plaintext to {pod} (port {port}): a plaintext request has no "
         "peer identity, so requests through it are denied."),
    Code("MT0205", "IdentityDenyBypassedByPlaintext", WARNING, "a DENY rule on peer identity for a workload that accepts plaintext (PERMISSIVE)",
         "Rule {rule} denies by {field}, but {pod} accepts plaintext on port {port} (PERMISSIVE): a plaintext request has "
         "no peer identity, so the same client in plaintext is not denied."),
    Code("MT0206", "AuthenticationSelectsNothing", WARNING, "a PeerAuthentication or RequestAuthentication selector matches no workload",
         "No pod with a proxy in {where} has the labels {labels}, so this {kind} applies to nothing: {effect}."),
    Code("MT0301", "RouteNotAccepted", ERROR, "a Gateway API route is not accepted by a parent it names (istiod's Accepted condition)",
         "{route} parentRef {parent}: Accepted False, reason {reason}: {message}."),
    Code("MT0302", "RouteRefsNotResolved", ERROR, "a Gateway API route has a backend or filter istiod cannot use (ResolvedRefs)",
         "{route} parentRef {parent}: ResolvedRefs False, reason {reason}: {message}."),
    Code("MT0303", "RouteParentNotFound", WARNING, "a Gateway API route names a parent istiod does not manage: nothing attaches, no status",
         "{route} parentRefs[{index}] {parent}: {why}."),
    Code("MT0304", "GatewayListenerNotAccepted", ERROR, "a Gateway listener istiod rejects or cannot program (listener conditions)",
         "Gateway {gateway} listener {listener}: {type} {status}, reason {reason}: {message}."),
    Code("MT0305", "GatewayNotAccepted", ERROR, "istiod does not accept a Gateway (Accepted False)",
         "Gateway {gateway}: Accepted False, reason {reason}: {message}."),
    Code("MT0601", "ClusterReadWarning", WARNING, "part of the cluster could not be read", "{text}"),
    Code("MT0602", "FileOverCluster", INFO, "a -f file replaces or adds an object read from the cluster", "{text}"),
]

CODES: dict[str, Code] = {c.code: c for c in _ALL}


def level_of(code: str, default: str = WARNING) -> str:
    c = CODES.get(code)
    return c.level if c else default
