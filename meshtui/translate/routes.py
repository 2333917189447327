"""VirtualService HTTP rules → Envoy routes (Istio's route.go), and the default route.

Config-time filters (port, sourceLabels, sourceNamespace, gateways) drop routes here; runtime
matchers (uri, headers, query, method, authority, scheme) become RouteMatch for the tracer and
for Envoy alike. What each match field means is translate/match.py's."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from meshtui.model.gatewayapi_convert import go_quote_meta, is_gateway_semantics, origin_of
from meshtui.model.hosts import resolve_short
from meshtui.model.istio import (
    Destination,
    Headers,
    HTTPMatchRequest,
    HTTPRedirect,
    HTTPRetry,
    HTTPRoute,
    Percent,
    VirtualService,
)
from meshtui.model.meshconfig import DEFAULT_MESH, MeshConfig
from meshtui.model.snapshot import RegistryService
from meshtui.model.value import value
from meshtui.translate.config import (
    DirectResponse,
    DroppedMatch,
    Fault,
    HashPolicy,
    HeaderOps,
    Mirror,
    Redirect,
    Ref,
    Retry,
    Route,
    RouteAction,
    RouteMatch,
    WeightedCluster,
    mesh_ref,
)
from meshtui.translate.match import ProxySide, http_verdict, ignored_request_keys, route_match

DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
DEFAULT_RETRY = Retry(attempts=2, retry_on=DEFAULT_RETRY_ON)

# gRPC status names → codes (Istio accepts the names in fault.abort.grpcStatus)
GRPC_CODES = {
    "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
    "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
    "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}


@dataclass
class RouteContext:
    """What the route builder needs to know about the proxy and the port being built."""

    listen_port: int
    gateway_names: frozenset[str]  # {"mesh"} for sidecars, {"ns/gw"} for a gateway server
    proxy_labels: dict[str, str]
    proxy_namespace: str
    domain_suffix: str
    lookup_service: Callable[[str, str], RegistryService | None]  # (host, VirtualService namespace)
    hash_policy_for: Callable[[str, int], tuple[HashPolicy, ...]]  # (host, port)
    tls: bool = False  # the route config serves a TLS-terminating server (a gateway's HTTPS)
    mesh: MeshConfig = DEFAULT_MESH
    # False when no registry service is an alias (ExternalName): a destination is then looked up
    # only when its port depends on the service (_cluster_of)
    aliases: bool = True
    notes: list[str] = field(default_factory=list)  # what was left out, and why (read by the caller)
    dropped: list[DroppedMatch] = field(default_factory=list)  # matches config-time fields left out (read by the caller)

    @property
    def side(self) -> ProxySide:
        return ProxySide(self.listen_port, self.gateway_names, self.proxy_labels, self.proxy_namespace)

    def take_notes(self) -> tuple[tuple[str, ...], tuple[DroppedMatch, ...]]:
        """The notes and dropped matches gathered since the last call (then cleared)."""
        out = (tuple(self.notes), tuple(self.dropped))
        self.notes.clear()
        self.dropped.clear()
        return out


def vs_ref(vs: VirtualService, path: str = "", line: int | None = None) -> Ref:
    if type(vs) is not VirtualService:  # a subclass: derived by istiod, maybe from a Gateway API route
        o = origin_of(vs, path)
        if o is not None:  # point at the route
            return Ref(o.kind, o.namespace, o.name, o.path, o.file, o.line)
    meta, src = vs.metadata, vs.src  # a few refs per rule of every VirtualService: read once
    return Ref("VirtualService", meta.namespace, meta.name, path, src.file, line if line is not None else src.line)


_NO_OPS = HeaderOps()  # frozen: one shared empty value (most rules set no headers)


def _header_ops(h: Headers | None, which: str) -> HeaderOps:
    if h is None:
        return _NO_OPS
    ops = getattr(h, which)
    if ops is None:
        return _NO_OPS
    return HeaderOps(tuple(sorted(ops.set.items())), tuple(sorted(ops.add.items())), tuple(ops.remove))


def _merge_ops(a: HeaderOps, b: HeaderOps) -> HeaderOps:
    if not b:
        return a
    if not a:
        return b
    return HeaderOps(a.set + b.set, a.add + b.add, a.remove + b.remove)


def destination_cluster(dest: Destination, vs_ns: str, ctx: RouteContext, http: bool = True) -> tuple[str, str, int]:
    """(cluster name, host, port) for a destination: explicit port, else the service's only port,
    else the listener port. Alias (ExternalName) services point at their target.

    A sidecar's HTTP routes see each service only through its port on the listener being built
    (istiod's per-port serviceRegistry in buildSidecarOutboundHTTPRouteConfig, whose services
    carry that one port), so there a destination without a port always takes the listener's."""
    return _cluster_of(dest, resolve_short(dest.host, vs_ns, ctx.domain_suffix), vs_ns, ctx, http)


def _cluster_of(dest: Destination, host: str, vs_ns: str, ctx: RouteContext, http: bool = True) -> tuple[str, str, int]:
    """destination_cluster, its host already resolved in `vs_ns`. The service is looked up only
    when an answer depends on it: its only port, or an alias (ExternalName) to follow."""
    svc: RegistryService | None = None
    if ctx.aliases:
        svc = ctx.lookup_service(host, vs_ns)
    if dest.port is not None and dest.port.number:
        port = dest.port.number
    elif http and "mesh" in ctx.gateway_names and ctx.listen_port:
        port = ctx.listen_port
    else:
        if not ctx.aliases:
            svc = ctx.lookup_service(host, vs_ns)
        port = svc.ports[0].port if svc is not None and len(svc.ports) == 1 else ctx.listen_port
    if svc is not None and svc.resolution == "Alias" and svc.alias_target:
        host = svc.alias_target
    return f"outbound|{port}|{dest.subset}|{host}", host, port


def _percent(p: Percent | None, default: float) -> float:
    return default if p is None else p.value


def _fault(r: HTTPRoute, ref: Ref) -> Fault | None:
    f = r.fault
    if f is None:
        return None
    delay_s, delay_pct = None, 0.0
    if f.delay is not None and f.delay.fixed_delay is not None:  # exponentialDelay is unsupported
        delay_s = f.delay.fixed_delay.seconds
        if f.delay.percentage is not None:
            delay_pct = f.delay.percentage.value
        elif f.delay.percent is not None:
            delay_pct = float(f.delay.percent)
    abort_http = abort_grpc = None
    abort_pct = 0.0
    if f.abort is not None:
        abort_http = f.abort.http_status
        if f.abort.grpc_status is not None:
            abort_grpc = GRPC_CODES.get(f.abort.grpc_status.upper(), 14)
        abort_pct = _percent(f.abort.percentage, 0.0)  # unset percentage: nothing is aborted
    if delay_s is None and abort_http is None and abort_grpc is None:
        return None
    fref = Ref(ref.kind, ref.namespace, ref.name, ref.path + ".fault", ref.file, f.src.line or ref.line)
    return Fault(delay_s, delay_pct, abort_http, abort_grpc, abort_pct, ref=fref)


def _retry(r: HTTPRoute, mesh: MeshConfig) -> Retry | None:
    """The rule's retries; without any, MeshConfig defaultHttpRetryPolicy; without that, Istio's
    default (route.go: `policy := in.Retries; if nil, mesh.GetDefaultHttpRetryPolicy()`)."""
    if r.retries is not None:
        return convert_retry(r.retries)
    return mesh_default_retry(mesh)


def mesh_default_retry(mesh: MeshConfig) -> Retry | None:
    rt = mesh.default_http_retry_policy
    if rt is None:
        return DEFAULT_RETRY
    out = convert_retry(rt)
    return replace(out, ref=mesh_ref(mesh, "defaultHttpRetryPolicy")) if out is not None else None


@functools.lru_cache(maxsize=1024)  # a value of its fields alone; meshes repeat a few policies everywhere
def convert_retry(rt: HTTPRetry) -> Retry | None:
    """retry.ConvertPolicy for a policy that is set."""
    if rt.attempts <= 0:
        return None
    codes: list[int] = []
    tokens: list[str] = []
    for tok in (t.strip() for t in rt.retry_on.split(",") if t.strip()):
        if tok.isdigit():
            codes.append(int(tok))
        else:
            tokens.append(tok)
    if codes and "retriable-status-codes" not in tokens:
        tokens.append("retriable-status-codes")
    retry_on = ",".join(tokens) if tokens else DEFAULT_RETRY_ON
    return Retry(
        attempts=rt.attempts, retry_on=retry_on,
        per_try_timeout=rt.per_try_timeout.seconds if rt.per_try_timeout is not None else None,
        retriable_status_codes=tuple(codes),
        previous_hosts=rt.retry_ignore_previous_hosts is not False,
        retry_remote_localities=bool(rt.retry_remote_localities),
        backoff=rt.backoff.seconds if rt.backoff is not None else None,
    )


def _cors(r: HTTPRoute) -> dict[str, Any] | None:
    c = r.cors_policy
    if c is None:
        return None
    out: dict[str, Any] = {}
    origins = [{"kind": sm.kind, "value": sm.value} for sm in c.allow_origins] + [{"kind": "exact", "value": o} for o in c.allow_origin]
    if origins:
        out["allowOrigins"] = origins
    if c.allow_methods:
        out["allowMethods"] = ",".join(c.allow_methods)
    if c.allow_headers:
        out["allowHeaders"] = ",".join(c.allow_headers)
    if c.expose_headers:
        out["exposeHeaders"] = ",".join(c.expose_headers)
    if c.max_age is not None:
        out["maxAge"] = str(int(c.max_age.seconds))
    if c.allow_credentials is not None:
        out["allowCredentials"] = c.allow_credentials
    out["forwardNotMatchingPreflights"] = c.unmatched_preflights != "IGNORE"
    return out


def _host_rewrite(r: HTTPRoute) -> str | None:
    """rewrite.authority wins over headers.request.set[host|:authority], which wins over add."""
    if r.rewrite is not None and r.rewrite.authority:
        return r.rewrite.authority
    req = r.headers.request if r.headers is not None else None
    if req is not None:
        for src in (req.set, req.add):
            for k, v in src.items():
                if k.lower() in ("host", ":authority"):
                    return v
    return None


def _strip_pseudo(ops: HeaderOps) -> HeaderOps:
    if not ops:
        return ops

    def keep(k: str) -> bool:
        return not k.startswith(":") and k.lower() != "host"

    return HeaderOps(tuple(x for x in ops.set if keep(x[0])), tuple(x for x in ops.add if keep(x[0])),
                     tuple(x for x in ops.remove if keep(x)))


@value
class RuleSource:
    """One HTTP rule to translate: the rule (merged with its root when delegated), the VS that
    defines it (for provenance), its field path there, and its index in the root VS."""

    rule: HTTPRoute
    owner: VirtualService
    path: str
    index: int


def vs_rules(vs: VirtualService) -> tuple[RuleSource, ...]:
    return tuple(RuleSource(r, vs, f"spec.http[{i}]", i) for i, r in enumerate(vs.spec.http))


def build_vs_routes(vs: VirtualService, rules: tuple[RuleSource, ...], ctx: RouteContext,
                    templates: tuple[RuleTemplate, ...] | None = None) -> list[Route]:
    """Envoy routes of one VS for one port, in order, stopping after the first catch-all.
    `rules` come after delegate expansion; `templates`, when given, are theirs (rule_templates:
    what does not depend on the proxy or the port, made once per snapshot)."""
    if templates is None:
        templates = tuple(RuleTemplate.of(vs, src, ctx.domain_suffix, ctx.mesh) for src in rules)
    routes: list[Route] = []
    side: ProxySide | None = None
    for t in templates:
        for mt in t.matches:
            m = mt.m
            if mt.config_time:
                assert m is not None  # only a match block has config-time fields
                if side is None:
                    side = ctx.side
                verdict = http_verdict(m, side, vs.namespace)
                if not verdict:
                    assert verdict.field is not None and mt.drop_ref is not None  # only a match block can be left out
                    ctx.dropped.append(DroppedMatch(mt.drop_ref, mt.drop_label, verdict.field, verdict.reason))
                    continue
            if mt.ignored:
                ctx.notes.extend(mt.ignored)
            if t.bad_redirect:
                # Istio builds this route without an action; Envoy then rejects the whole route
                # configuration (NACK) and keeps the previous one. meshtui leaves the route out.
                ctx.notes.append(t.bad_redirect)
                continue
            routes.append(t.route(mt, ctx, vs))
            if mt.rm.catch_all:
                return routes
    return routes


def _body_bytes(text: str | None) -> str | None:
    """directResponse.body.bytes is base64 in YAML (proto JSON bytes); Istio hands Envoy the
    decoded bytes (inline_bytes), so the client gets them, not the base64 text. Rendered as a
    string: bytes that are not UTF-8 are shown with replacement characters."""
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=False).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return text


def _redirect_port(rd: HTTPRedirect, ctx: RouteContext) -> int | None:
    """Istio's ApplyRedirect: derivePort FROM_REQUEST_PORT becomes the listener port (Envoy cannot
    derive it), and a port that is the scheme's default (80 for http, 443 for https; the scheme
    is the redirect's, else the listener's) is left out, because Envoy writes any port_redirect
    into the Location as given."""
    port = rd.port
    if rd.derive_port == "FROM_REQUEST_PORT":
        port = ctx.listen_port
    scheme = rd.scheme or ("https" if ctx.tls else "http")
    if (port == 80 and scheme == "http") or (port == 443 and scheme == "https"):
        return None
    return port or None


class _RouteCommon(TypedDict):
    """What every Route made from one VirtualService match carries, whatever its action."""

    name: str
    match: RouteMatch
    ref: Ref
    match_ref: Ref
    rule_index: int
    match_index: int | None
    virtual_service: tuple[str, str]
    stat_prefix: str


@dataclass(slots=True)
class _DestTemplate:
    """One destination of a rule, as far as it does not depend on the listener port."""

    dest: Destination
    host: str  # resolved in the rule's namespace
    weight: int
    request_headers: HeaderOps
    response_headers: HeaderOps
    ref: Ref


@dataclass(slots=True)
class MatchTemplate:
    """One match block of a rule (or the rule's lack of one), proxy- and port-independent."""

    m: HTTPMatchRequest | None
    j: int | None
    config_time: bool  # port, gateways, sourceLabels or sourceNamespace set: judged per proxy and port
    drop_ref: Ref | None
    drop_label: str
    ignored: tuple[str, ...]  # request keys meshtui does not match on, as notes
    rm: RouteMatch
    name: str
    match_ref: Ref
    prefix_rewrite: str | None
    regex_rewrite: tuple[str, str] | None
    stat_prefix: str


def _config_time(m: HTTPMatchRequest | None) -> bool:
    return m is not None and (m.port is not None or bool(m.gateways) or bool(m.source_labels) or bool(m.source_namespace))


@dataclass(slots=True)
class RuleTemplate:
    """What one HTTP rule of a VirtualService gives every proxy and port alike (its matches, refs,
    header operations, retry, fault, CORS...): route() adds the listener's clusters. Made once
    per snapshot (rule_templates) so neither another port nor another proxy translates it again."""

    src: RuleSource
    root: tuple[str, str]  # the VirtualService owning the host: (namespace, name)
    gateway_semantics: bool
    rule_ref: Ref
    matches: tuple[MatchTemplate, ...]
    bad_redirect: str  # a note: the route is left out
    request_headers: HeaderOps
    response_headers: HeaderOps
    redirect: HTTPRedirect | None
    direct_response: DirectResponse | None
    dests: tuple[_DestTemplate, ...]
    weighted: bool
    timeout: float
    retry: Retry | None
    host_rewrite: str | None
    fault: Fault | None
    cors: dict[str, Any] | None
    mirrors: tuple[tuple[Destination, str, float], ...]  # (destination, resolved host, percent)

    @staticmethod
    def of(root: VirtualService, src: RuleSource, suffix: str, mesh: MeshConfig) -> RuleTemplate:
        # made for every rule of the mesh by the first full translation (30,000 at 10,000
        # services): the common case (no headers, rewrite, redirect or mirror) takes no detour
        rule, path, i, owner = src.rule, src.path, src.index, src.owner
        owner_ns = owner.namespace
        rule_ref = vs_ref(owner, path, rule.src.line)
        gateway_semantics = is_gateway_semantics(root)
        matches: list[MatchTemplate] = []
        rewrite = rule.rewrite
        blocks: Iterable[tuple[int | None, HTTPMatchRequest | None]] = enumerate(rule.match) if rule.match else ((None, None),)
        for j, m in blocks:
            drop_ref, label, name = None, "", rule.name
            ignored: tuple[str, ...] = ()
            if m is not None:
                label = f"http[{i}].match[{j}]" + (f" ({rule.name})" if rule.name else "")
                drop_ref = vs_ref(owner, f"{path}.match[{j}]", m.src.line)
                if m.headers or m.without_headers:
                    ignored = tuple(f"{owner_ns}/{owner.name} {path}.match[{j}]: {why}" for why in ignored_request_keys(m))
                if m.name:
                    name = f"{name}.{m.name}" if name else m.name
            rm = route_match(m)
            if gateway_semantics and rm.path_kind == "prefix" and rm.path != "/":
                # istiod's Gateway API semantics: PathPrefix matches whole path segments
                rm = replace(rm, path_kind="path_separated_prefix", path=rm.path.rstrip("/"))
            prefix_rewrite = regex_rewrite = None
            if rewrite is not None:
                if rewrite.uri == "/" and gateway_semantics and rm.path_kind == "path_separated_prefix":
                    # istiod removes the matched prefix with a regex, keeping the `/` after it
                    regex_rewrite = (f"^{go_quote_meta(rm.path)}(/?)(.*)", r"/\2")
                elif rewrite.uri is not None:
                    prefix_rewrite = rewrite.uri
                elif rewrite.uri_regex_rewrite is not None:
                    regex_rewrite = (rewrite.uri_regex_rewrite.match, rewrite.uri_regex_rewrite.rewrite)
            matches.append(MatchTemplate(m, j, _config_time(m), drop_ref, label, ignored, rm, name,
                                         drop_ref if drop_ref is not None else rule_ref,
                                         prefix_rewrite, regex_rewrite, m.stat_prefix if m is not None else ""))
        code = rule.redirect.redirect_code if rule.redirect is not None else None
        bad_redirect = ""
        if code not in (None, 0, 301, 302, 303, 307, 308):
            bad_redirect = (f"{path} has redirectCode {code}: Istio cannot translate it (only 301, 302, 303, 307, 308); "
                            "on a real proxy Envoy rejects this whole route configuration and keeps the previous one. "
                            "meshtui leaves the route out")
        direct = None
        if rule.redirect is None and rule.direct_response is not None:
            dr = rule.direct_response
            body = None
            if dr.body is not None:
                body = dr.body.string if dr.body.string is not None else _body_bytes(dr.body.bytes)
            direct = DirectResponse(dr.status, body)
        dests: list[_DestTemplate] = []
        dpath = path or rule_ref.path
        for d in rule.route:
            dest = d.destination
            if dest is None:
                continue
            k = len(dests)  # counted over the destinations that are set
            h = d.headers
            dests.append(_DestTemplate(dest, resolve_short(dest.host, owner_ns, suffix), d.weight or 0,
                                       _NO_OPS if h is None else _strip_pseudo(_header_ops(h, "request")),
                                       _NO_OPS if h is None else _header_ops(h, "response"),
                                       vs_ref(owner, f"{dpath}.route[{k}]", d.src.line)))
        mirrors: list[tuple[Destination, str, float]] = []
        if rule.mirror is not None:
            pct = 100.0
            if rule.mirror_percentage is not None:
                pct = rule.mirror_percentage.value
            elif rule.mirror_percent is not None:
                pct = float(rule.mirror_percent)
            if pct > 0:
                mirrors.append((rule.mirror, resolve_short(rule.mirror.host, owner_ns, suffix), pct))
        for mp in rule.mirrors:
            if mp.destination is None:
                continue
            pct = _percent(mp.percentage, 100.0)
            if pct > 0:
                mirrors.append((mp.destination, resolve_short(mp.destination.host, owner_ns, suffix), pct))
        headers = rule.headers
        return RuleTemplate(
            src, (root.namespace, root.name), gateway_semantics, rule_ref, tuple(matches), bad_redirect,
            _NO_OPS if headers is None else _strip_pseudo(_header_ops(headers, "request")),
            _NO_OPS if headers is None else _header_ops(headers, "response"),
            rule.redirect, direct, tuple(dests), len(dests) > 1,
            rule.timeout.seconds if rule.timeout is not None else 0.0, _retry(rule, mesh),
            _host_rewrite(rule), _fault(rule, rule_ref), _cors(rule), tuple(mirrors))

    def route(self, mt: MatchTemplate, ctx: RouteContext, root: VirtualService) -> Route:
        """The Envoy route of match `mt` on the listener `ctx` builds (`root` owns the host)."""
        src = self.src
        req_ops, resp_ops = self.request_headers, self.response_headers
        rd = self.redirect
        if rd is not None:
            common = _RouteCommon(name=mt.name, match=mt.rm, ref=self.rule_ref, match_ref=mt.match_ref, rule_index=src.index,
                                  match_index=mt.j, virtual_service=self.root, stat_prefix=mt.stat_prefix)
            return Route(redirect=Redirect(code=rd.redirect_code or 301, scheme=rd.scheme, host=rd.authority,
                                           port=_redirect_port(rd, ctx), path=rd.uri, prefix_rewrite=rd.prefix_rewrite or None,
                                           derive_port_from_request=rd.derive_port == "FROM_REQUEST_PORT"),
                         request_headers=req_ops, response_headers=resp_ops, **common)
        if self.direct_response is not None:
            common = _RouteCommon(name=mt.name, match=mt.rm, ref=self.rule_ref, match_ref=mt.match_ref, rule_index=src.index,
                                  match_index=mt.j, virtual_service=self.root, stat_prefix=mt.stat_prefix)
            return Route(direct_response=self.direct_response, request_headers=req_ops, response_headers=resp_ops,
                         **common)
        weighted = self.weighted
        owner_ns = src.owner.namespace
        clusters: list[WeightedCluster] = []
        for d in self.dests:
            if weighted and d.weight == 0:
                continue  # zero-weight destinations are dropped
            cname, host, port = _cluster_of(d.dest, d.host, owner_ns, ctx)
            clusters.append(WeightedCluster(cname, d.weight if weighted else 100, host, port, d.dest.subset,
                                            d.request_headers, d.response_headers, d.ref))
        hash_policy: tuple[HashPolicy, ...] = ()
        if len(clusters) == 1:
            first = clusters[0]
            if not weighted:  # a single destination's header operations apply at the route, after the rule's own
                req_ops = _merge_ops(req_ops, first.request_headers)
                resp_ops = _merge_ops(resp_ops, first.response_headers)
            hash_policy = ctx.hash_policy_for(first.host, first.port)
            decorator = f"{first.host}:{first.port}/*"
        else:
            decorator = f"{root.name}:{ctx.listen_port}/*"
        retry = self.retry
        if retry is not None and hash_policy and retry.previous_hosts:
            retry = replace(retry, previous_hosts=False)  # consistent hashing keeps the host
        mirrors: tuple[Mirror, ...] = ()
        if self.mirrors:
            mirrors = tuple(Mirror(name, host, pct, dest.subset)
                            for dest, resolved, pct in self.mirrors
                            for name, host, _ in (_cluster_of(dest, resolved, owner_ns, ctx),))
        # RouteAction(clusters, timeout, retry, prefix_rewrite, regex_rewrite, host_rewrite, mirrors, hash_policy,
        # weighted, cluster_not_found_status: Gateway API's missing backend is a 500)
        action = RouteAction(tuple(clusters), self.timeout, retry, mt.prefix_rewrite, mt.regex_rewrite, self.host_rewrite,
                             mirrors, hash_policy, weighted, 500 if self.gateway_semantics else 503)
        # Route(name, match, action, redirect, direct_response, fault, request_headers, response_headers, cors, ref,
        # match_ref, rule_index, match_index, virtual_service, decorator, stat_prefix)
        return Route(mt.name, mt.rm, action, None, None, self.fault, req_ops, resp_ops, self.cors, self.rule_ref,
                     mt.match_ref, src.index, mt.j, self.root, decorator, mt.stat_prefix)


def default_route(svc: RegistryService, port: int, hash_policy: tuple[HashPolicy, ...], mesh: MeshConfig = DEFAULT_MESH) -> Route:
    cluster = f"outbound|{port}||{svc.alias_target or svc.hostname}"
    retry = mesh_default_retry(mesh)
    if retry is not None and hash_policy and retry.previous_hosts:
        retry = replace(retry, previous_hosts=False)  # consistent hashing keeps the host
    ref = Ref(svc.resource.kind, svc.namespace, svc.name, "", svc.resource.src.file, svc.resource.src.line)
    return Route(name="default", match=RouteMatch(),
                 action=RouteAction((WeightedCluster(cluster, 100, svc.alias_target or svc.hostname, port),), 0.0, retry,
                                    hash_policy=hash_policy),
                 ref=ref, decorator=f"{svc.hostname}:{port}/*")
