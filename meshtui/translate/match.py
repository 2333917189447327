"""What a VirtualService match means: the one place for its fields.

Two kinds of field, two halves of this module:

- Config-time fields (port, gateways, sourceLabels, sourceNamespace) are judged while Istio
  generates a proxy's configuration, not per request. Each predicate returns a `MatchVerdict`
  that says which field decided and why; translation, the analyzers and the trace use them.
- Request-property fields (uri, scheme, method, authority, headers, withoutHeaders, queryParams,
  with ignoreUriCase as uri's modifier) become Envoy route matchers. `REQUEST_FIELDS` holds one
  `RequestField` each: its Istio name, the model attribute, what Envoy matcher it becomes
  (`route_match`), how the trace names it (`header_label`), how the analyzers compare two
  matches on it (`match_implies` in analyze/rules, delegate merging) and how the shadowing
  analyzer builds and varies a request for it (`Vary`, analyze/witness).

How to add a request-property field:
1. model/istio.py: the attribute on HTTPMatchRequest (model/validate/virtualservice.py: its checks).
2. here: one `RequestField` in `REQUEST_FIELDS` (where Envoy matches it, its Envoy header name if
   it is a single value, and how the analyzer varies it). The table's order is the order of
   Envoy's header matchers. Translation, the trace's reasons, witnesses, implication and delegate
   merging follow from the entry.
3. simulate/request.py, only if the request carries a property it did not have: `Request.value`
   reads it by its Envoy name and `Request.with_value` sets it.
4. tests: tests/translate/test_request_fields.py (every model field is in one of the tables).
A field that needs a kind of Envoy matcher RouteMatch does not have yet (dynamic metadata, a
path_separated_prefix) also needs it in translate/config.py (RouteMatch), translate/envoy_json.py
(rendered), actual/dump.py (read back) and simulate/matching.py (evaluated and explained).
A config-time field: a predicate here, called from `http_verdict`/the L4 verdicts, and a
`MatchField`. A field Istio parses but does not route on: `ignored_fields`/`ignored_request_keys`
report it, so no field is dropped silently.

Istio's config-time functions differ by protocol, and so do these:
- HTTP (route.go sourceMatchHTTP + the port check in translateRoute): a match that names
  gateways is kept on any of them and its sourceLabels/sourceNamespace are not looked at.
- TCP/TLS on a sidecar (tls.go matchTCP/matchTLS): every field must hold.
- TCP/TLS on a gateway (gateway.go l4SingleMatch): only port and gateways are looked at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from meshtui.model.hosts import resolve_gateway_name
from meshtui.model.istio import HTTPMatchRequest, L4MatchAttributes, StringMatch, TLSMatchAttributes
from meshtui.translate.config import HeaderMatcher, QueryMatcher, RouteMatch, StringMatcher

L4Match = L4MatchAttributes | TLSMatchAttributes
ConfigMatch = HTTPMatchRequest | L4MatchAttributes | TLSMatchAttributes

MESH = "mesh"


class MatchField(StrEnum):
    """The config-time fields of a match, spelled as in the Istio API."""

    PORT = "port"
    GATEWAYS = "gateways"
    SOURCE_LABELS = "sourceLabels"
    SOURCE_NAMESPACE = "sourceNamespace"
    SOURCE_SUBNET = "sourceSubnet"
    DESTINATION_SUBNETS = "destinationSubnets"


@dataclass(frozen=True, slots=True)
class ProxySide:
    """The proxy and listener port a configuration is generated for: what config-time matches
    are judged against. `gateways` is {"mesh"} for a sidecar, {"ns/name"} for a gateway server."""

    port: int
    gateways: frozenset[str]
    labels: Mapping[str, str]
    namespace: str

    @classmethod
    def sidecar(cls, port: int, labels: Mapping[str, str], namespace: str) -> ProxySide:
        return cls(port, frozenset({MESH}), labels, namespace)


@dataclass(frozen=True, slots=True)
class MatchVerdict:
    """Whether a match is kept for a proxy; when not, the field that dropped it and why."""

    applies: bool
    field: MatchField | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.applies


KEPT = MatchVerdict(True)


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(none)"


def _port(m: ConfigMatch, side: ProxySide) -> MatchVerdict:
    if m.port is not None and m.port != side.port:
        return MatchVerdict(False, MatchField.PORT, f"port {m.port} is not this listener's port {side.port}")
    return KEPT


def _gateways(m: ConfigMatch, side: ProxySide, vs_ns: str) -> MatchVerdict:
    if m.gateways and not any(resolve_gateway_name(g, vs_ns) in side.gateways for g in m.gateways):
        names = ", ".join(resolve_gateway_name(g, vs_ns) for g in m.gateways)
        return MatchVerdict(False, MatchField.GATEWAYS, f"gateways [{names}] do not include this proxy ({', '.join(sorted(side.gateways))})")
    return KEPT


def _source(m: ConfigMatch, side: ProxySide) -> MatchVerdict:
    wrong = [k for k, v in m.source_labels.items() if side.labels.get(k) != v]
    if wrong:
        have = ", ".join(f"{k}={side.labels[k]}" if k in side.labels else f"{k} unset" for k in sorted(wrong))
        return MatchVerdict(False, MatchField.SOURCE_LABELS,
                            f"sourceLabels {_labels_text(m.source_labels)} does not match {have}")
    if m.source_namespace and m.source_namespace != side.namespace:
        return MatchVerdict(False, MatchField.SOURCE_NAMESPACE,
                            f"sourceNamespace {m.source_namespace} is not this proxy's namespace {side.namespace}")
    return KEPT


def http_verdict(m: HTTPMatchRequest | None, side: ProxySide, vs_ns: str) -> MatchVerdict:
    """Is an HTTP match kept in this proxy's route for this port? (port, then sourceMatchHTTP:
    gateways when named, else sourceLabels and sourceNamespace)."""
    if m is None:
        return KEPT
    v = _port(m, side)
    if not v:
        return v
    if m.gateways:
        return _gateways(m, side, vs_ns)
    return _source(m, side)


def sidecar_l4_verdict(m: L4Match | None, side: ProxySide, vs_ns: str) -> MatchVerdict:
    """matchTCP/matchTLS: every config-time field must hold."""
    if m is None:
        return KEPT
    return _port(m, side) and _gateways(m, side, vs_ns) and _source(m, side)


def gateway_l4_verdict(m: L4Match | None, side: ProxySide, vs_ns: str) -> MatchVerdict:
    """l4SingleMatch: a gateway looks at port and gateways only (source fields are not checked)."""
    if m is None:
        return KEPT
    return _port(m, side) and _gateways(m, side, vs_ns)


def ignored_fields(m: ConfigMatch | None, gateway: bool = False) -> tuple[tuple[MatchField, str], ...]:
    """Fields set on a match that Istio parses but does not route on here, with why."""
    if m is None:
        return ()
    out: list[tuple[MatchField, str]] = []
    if isinstance(m, L4MatchAttributes) and m.source_subnet:
        out.append((MatchField.SOURCE_SUBNET, f"sourceSubnet {m.source_subnet} is ignored: Istio does not use it for routing"))
    if gateway and isinstance(m, (L4MatchAttributes, TLSMatchAttributes)):
        if m.source_labels or m.source_namespace:
            out.append((MatchField.SOURCE_LABELS if m.source_labels else MatchField.SOURCE_NAMESPACE,
                        "sourceLabels and sourceNamespace are ignored on a gateway's TCP/TLS routes (as Istio does)"))
        if m.destination_subnets:
            out.append((MatchField.DESTINATION_SUBNETS,
                        "destinationSubnets is ignored on a gateway's TCP/TLS routes (as Istio does)"))
    return tuple(out)


def delegate_contained(root: HTTPMatchRequest, child: HTTPMatchRequest) -> bool:
    """A delegate's match must stay inside its root's, by config-time fields (Istio's
    mergeHTTPMatchRequest refuses conflicting port, sourceNamespace, sourceLabels, gateways)."""
    if root.port is not None and child.port is not None and root.port != child.port:
        return False
    if root.source_namespace and child.source_namespace and root.source_namespace != child.source_namespace:
        return False
    if any(k in child.source_labels and child.source_labels[k] != v for k, v in root.source_labels.items()):
        return False
    return not (root.gateways and child.gateways and not set(child.gateways) <= set(root.gateways))


def delegate_merged(root: HTTPMatchRequest, child: HTTPMatchRequest) -> HTTPMatchRequest:
    """`child` with the config-time fields of its root's match merged in (the child's win)."""
    return replace(child, port=child.port if child.port is not None else root.port,
                   source_namespace=child.source_namespace or root.source_namespace,
                   gateways=child.gateways or root.gateways, source_labels={**root.source_labels, **child.source_labels})


def source_covers(a: ConfigMatch | None, b: ConfigMatch | None, b_namespace: str | None = None) -> bool:
    """Does every proxy that keeps `b` also keep `a`, by source fields? `b_namespace` stands in
    for b's sourceNamespace when b has none but only one namespace can see it."""
    if a is None:
        return True
    labels = b.source_labels if b is not None else {}
    if any(labels.get(k) != v for k, v in a.source_labels.items()):
        return False
    if a.source_namespace:
        own = (b.source_namespace if b is not None and b.source_namespace else None) or b_namespace
        if a.source_namespace != own:
            return False
    return True


def config_covers(a: ConfigMatch | None, b: ConfigMatch | None) -> bool:
    """Is `a` kept wherever `b` is (same port, gateways and source fields or broader)? Gateway
    names are compared as written."""
    if a is None:
        return True
    if b is None:
        return a.port is None and not a.gateways and not a.source_labels and not a.source_namespace
    if a.port is not None and a.port != b.port:
        return False
    if a.gateways and (not b.gateways or not set(b.gateways) <= set(a.gateways)):
        return False
    return source_covers(a, b)


# ---------------------------------------------------------------- request-property fields


class Where(StrEnum):
    """The part of Envoy's RouteMatch a request field becomes."""

    PATH = "path"  # the path specifier (prefix, path or safe_regex), one per route
    HEADER = "header"  # header matchers; a single-valued field matches a pseudo-header (:method)
    QUERY = "query"  # query-parameter matchers


class Vary(StrEnum):
    """How the shadowing analyzer breaks an earlier match's condition on this field while keeping
    the later match's (analyze/witness.variants). Declared in the order the variants are tried."""

    PATHS = "paths"  # every path the later match allows, and one outside any prefix
    METHODS = "methods"  # the methods the later match allows, then the common ones
    VALUES = "values"  # the header dropped, then the later match's values and fresh ones
    REFUSED = "refused"  # a value the earlier match's withoutHeaders refuses
    MISSING = "missing"  # the parameter dropped, then a value no match names
    NONE = "none"  # not varied


@dataclass(frozen=True, slots=True)
class RequestField:
    """One request-property field of HTTPMatchRequest and everything that follows from it."""

    name: str  # Istio's spelling (the YAML key)
    attr: str  # the HTTPMatchRequest attribute: a StringMatch | None, or a dict name -> StringMatch
    where: Where
    envoy: str = ""  # the pseudo-header a single-valued field matches; "" for a map (its keys name them)
    invert: bool = False  # withoutHeaders: Envoy's invert_match, a missing header taken as empty
    vary: Vary = Vary.NONE

    @property
    def keyed(self) -> bool:
        """A map (headers, withoutHeaders, queryParams) rather than one value."""
        return not self.envoy and self.where is not Where.PATH

    def entries(self, m: HTTPMatchRequest) -> list[tuple[str, StringMatch]]:
        """(key, match) pairs set on `m`, as written: one with key "" for a single-valued field."""
        value: StringMatch | dict[str, StringMatch] | None = getattr(m, self.attr)
        if not value:
            return []
        if isinstance(value, dict):
            return list(value.items())
        return [("", value)]

    def get(self, m: HTTPMatchRequest | None, key: str = "") -> StringMatch | None:
        """The match this field sets on `m` for `key` (as written), or None."""
        return dict(self.entries(m)).get(key) if m is not None else None

    def envoy_name(self, key: str = "") -> str:
        """The header (lower-case) or query parameter Envoy matches for this key."""
        if self.envoy:
            return self.envoy
        return key.lower() if self.where is Where.HEADER else key


URI = RequestField("uri", "uri", Where.PATH, vary=Vary.PATHS)
METHOD = RequestField("method", "method", Where.HEADER, ":method", vary=Vary.METHODS)
# The order is that of the header matchers in a translated route (headers, withoutHeaders, then the
# pseudo-headers), which the trace reports in. Authority is not varied (it also picks the virtual
# host, so another value leaves the VirtualService), nor is scheme (a witness keeps the one it was built with).
REQUEST_FIELDS: tuple[RequestField, ...] = (
    URI,
    RequestField("headers", "headers", Where.HEADER, vary=Vary.VALUES),
    RequestField("withoutHeaders", "without_headers", Where.HEADER, invert=True, vary=Vary.REFUSED),
    METHOD,
    RequestField("authority", "authority", Where.HEADER, ":authority"),
    RequestField("scheme", "scheme", Where.HEADER, ":scheme"),
    RequestField("queryParams", "query_params", Where.QUERY, vary=Vary.MISSING),
)
# ignoreUriCase is uri's modifier (RouteMatch.case_sensitive); name and statPrefix name the route
MODIFIER_FIELDS = ("ignoreUriCase",)
ROUTE_NAMING_FIELDS = ("name", "statPrefix")
PSEUDO_HEADERS: Mapping[str, RequestField] = {f.envoy: f for f in REQUEST_FIELDS if f.envoy}
# `headers` keys the API reserves (the single-valued fields' names): Istio ignores them there
RESERVED_HEADER_KEYS = frozenset(f.name for f in REQUEST_FIELDS if f.envoy or f.where is Where.PATH)
JWT_CLAIM_PREFIX = "@request.auth.claims"


def is_presence(sm: StringMatch) -> bool:
    """Istio's canBeConvertedToPresentMatch: an empty match or regex `*` only asks for presence."""
    return sm.kind == "present" or sm.regex == "*"


def envoy_string(sm: StringMatch) -> StringMatcher:
    """Istio's ConvertToEnvoyMatch, with presence matches as such."""
    if is_presence(sm):
        return StringMatcher("present")
    if sm.exact is not None:
        return StringMatcher("exact", sm.exact)
    if sm.prefix is not None:
        return StringMatcher("prefix", sm.prefix)
    return StringMatcher("regex", sm.regex)


def _routable(f: RequestField, key: str) -> bool:
    """Does this entry become an Envoy header matcher? (`ignored_request_keys` says why not.)"""
    if f.attr != "headers":
        return True
    return key.lower() not in RESERVED_HEADER_KEYS and not key.startswith(JWT_CLAIM_PREFIX)


def routed_entries(f: RequestField, m: HTTPMatchRequest) -> list[tuple[str, StringMatch]]:
    """The entries of `f` on `m` that Envoy matches, sorted by key (as route.go sorts them)."""
    found = f.entries(m)
    if f.attr == "headers":  # only `headers` has keys Envoy does not match (_routable)
        found = [e for e in found if _routable(f, e[0])]
    return sorted(found, key=_entry_key) if len(found) > 1 else found


def _entry_key(e: tuple[str, StringMatch]) -> str:
    return e[0]


def _path(uri: StringMatch | None) -> tuple[str, str]:
    if uri is None or uri.kind == "present":
        return "prefix", "/"
    if uri.exact is not None:
        return "path", uri.exact
    if uri.prefix is not None:
        return "prefix", uri.prefix
    return "regex", uri.regex or ""


_MATCH_ALL = RouteMatch()  # a value: one shared by every rule without a match
_MATCHER_FIELDS = tuple(f for f in REQUEST_FIELDS if f.where is not Where.PATH)  # the uri is the path match


def route_match(m: HTTPMatchRequest | None) -> RouteMatch:
    """Istio's TranslateRouteMatch: the Envoy RouteMatch of an HTTP match's request fields."""
    if m is None:
        return _MATCH_ALL
    kind, path = _path(m.uri)
    headers: list[HeaderMatcher] = []
    query: list[QueryMatcher] = []
    for f in _MATCHER_FIELDS:
        if not getattr(m, f.attr):  # most matches set one or two fields
            continue
        for key, sm in routed_entries(f, m):
            em = envoy_string(sm)
            if f.where is Where.QUERY:
                query.append(QueryMatcher(f.envoy_name(key), em))
            else:
                headers.append(HeaderMatcher(f.envoy_name(key), em, invert=f.invert,
                                             treat_missing_as_empty=f.invert and em.kind != "present"))
    return RouteMatch(kind, path, not m.ignore_uri_case, tuple(headers), tuple(query))


def header_label(name: str) -> str:
    """How the trace names an Envoy header matcher's header: the Istio field of a pseudo-header."""
    f = PSEUDO_HEADERS.get(name)
    return f.name if f is not None else f"header {name!r}"


def ignored_request_keys(m: HTTPMatchRequest | None) -> tuple[str, ...]:
    """Request-field entries Istio parses but meshtui does not turn into matchers, with why."""
    if m is None:
        return ()
    out: list[str] = []
    for attr in ("headers", "without_headers"):
        for key in getattr(m, attr):
            where = f"{'headers' if attr == 'headers' else 'withoutHeaders'}.{key}"
            if key.startswith(JWT_CLAIM_PREFIX):
                # Istio makes it a metadata matcher on the JWT filter's claims; meshtui reads no
                # RequestAuthentication: a claim condition is left out, a refused claim is matched
                # as a header no request can carry (so, as without a JWT, never refused)
                done = "left out" if attr == "headers" else "treated as absent"
                out.append(f"{where} matches a JWT claim (Envoy dynamic metadata after RequestAuthentication), "
                           f"which meshtui does not model: the condition is {done} here")
            elif attr == "headers" and key.lower() in RESERVED_HEADER_KEYS:
                out.append(f"{where} is ignored: the API reserves the keys uri, scheme, method and authority in headers")
    return tuple(out)
