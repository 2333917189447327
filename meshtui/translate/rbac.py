"""AuthorizationPolicy → the RBAC filters of a server sidecar (istiod's authz builder and model),
and their evaluation against one request as Envoy's RBAC engine does it.

What istiod generates, and so what this holds:
* One RBAC filter per action, in the order AUDIT (action LOG), DENY, ALLOW; CUSTOM policies feed an
  ext_authz filter (their RBAC only marks which requests the provider sees), placed before them.
* One Envoy policy per rule, named `ns[NS]-policy[NAME]-rule[N]`; a policy without rules becomes
  `...-rule[0]` that never matches (so an ALLOW without rules denies everything).
* A rule is OR over its `from` (principals) AND OR over its `to` (permissions); `when`
  conditions join every principal or permission, by attribute. Each field is an OR of its values
  and, separately, NOT of the OR of its notValues.
* Identity fields (principals, namespaces, serviceAccounts, trustDomains, source.principal ...)
  match the peer certificate's URI SAN, so they can only match over mTLS.
* On a TCP chain, HTTP-only fields (hosts, methods, paths, headers, JWT) make an ALLOW rule vanish
  (allow less) and are dropped from DENY and AUDIT rules (deny more).
* Principals written in the trust domain `cluster.local`, or in one of the mesh's trust domains,
  are widened to every trust domain of the mesh (trustDomain and its aliases)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

from meshtui.model.security import AuthorizationPolicy, AuthorizationRule, Condition
from meshtui.translate.config import Ref

SPIFFE = "spiffe://"


class RbacAction(StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"
    LOG = "LOG"  # AUDIT policies
    CUSTOM = "CUSTOM"  # the RBAC filter that marks requests for an ext_authz provider


# Istio's attribute names; the `from`/`to` fields map onto them
PRINCIPAL_ATTRS = ("source.principal", "source.namespace", "source.serviceAccount", "source.trustDomain")
IDENTITY_FIELDS = {"principals": "source.principal", "namespaces": "source.namespace",
                   "serviceAccounts": "source.serviceAccount", "trustDomains": "source.trustDomain"}
HTTP_ONLY = ("request.headers", ":authority", ":method", "url_path", "request.auth")
KNOWN_WHEN = ("request.headers[", "source.ip", "remote.ip", "source.namespace", "source.serviceAccount",
              "source.trustDomain", "source.principal", "request.auth.principal", "request.auth.audiences",
              "request.auth.presenter", "request.auth.claims[", "destination.ip", "destination.port",
              "connection.sni", "experimental.envoy.filters.")


@dataclass(frozen=True, slots=True)
class Cond:
    """One AND-ed condition of an Envoy principal or permission: an Istio attribute, its values
    (any of them) and notValues (none of them), and the policy field it came from."""

    attr: str  # source.principal, source.namespace, source.ip, remote.ip, :authority, :method, url_path, ...
    field: str  # as written: principals, notPrincipals..., or the `when` key
    values: tuple[str, ...] = ()
    not_values: tuple[str, ...] = ()
    path: str = ""  # spec.rules[0].from[0].source.principals
    line: int | None = None
    default_ns: str = ""  # serviceAccounts without a namespace: the policy's

    @property
    def http_only(self) -> bool:
        return self.attr.startswith(HTTP_ONLY)

    @property
    def identity(self) -> bool:
        return self.attr in PRINCIPAL_ATTRS


@dataclass(frozen=True, slots=True)
class RbacPolicy:
    name: str  # ns[NS]-policy[NAME]-rule[N]
    principals: tuple[tuple[Cond, ...], ...]  # OR of AND-lists; an empty AND-list is `any`
    permissions: tuple[tuple[Cond, ...], ...]
    ref: Ref  # the AuthorizationPolicy and rule (spec.rules[N])
    rule: int
    never: bool = False  # a policy with no rules: matches nothing


@dataclass(frozen=True, slots=True)
class RbacFilter:
    action: RbacAction
    policies: tuple[RbacPolicy, ...]  # by name, the order Envoy's engine walks them
    shadow: tuple[RbacPolicy, ...] = ()  # dry-run policies (istio.io/dry-run): evaluated, never enforced
    provider: str = ""  # CUSTOM: the ext_authz extension provider
    tcp: bool = False  # a network (TCP) RBAC filter, not an HTTP one


@dataclass(frozen=True, slots=True)
class RbacRequest:
    """What the server sidecar's RBAC filter sees of a request."""

    principal: str  # the peer certificate's URI SAN (spiffe://...), "" without mTLS
    source_ip: str
    destination_ip: str
    destination_port: int
    headers: dict[str, str]  # lower-cased names, with :authority, :method, :path
    sni: str = ""
    http: bool = True


@dataclass(frozen=True, slots=True)
class Miss:
    """Why a condition did not match: the field, what it wants, what the request has."""

    cond: Cond
    expected: str
    actual: str

    def text(self) -> str:
        return f"{self.cond.field} {self.expected}, the request has {self.actual}"


# ------------------------------------------------------------------ building


def policy_name(namespace: str, name: str, rule: int) -> str:
    return f"ns[{namespace}]-policy[{name}]-rule[{rule}]"


def _ref(ap: AuthorizationPolicy, path: str = "", line: int | None = None) -> Ref:
    return Ref(ap.kind, ap.namespace, ap.name, path, ap.src.file, line or ap.src.line)


def widen_principals(values: tuple[str, ...], trust_domains: tuple[str, ...]) -> tuple[str, ...]:
    """istiod's trust-domain migration: a principal in `cluster.local` or a mesh trust domain is
    accepted in each of the mesh's trust domains."""
    out: list[str] = []
    for v in values:
        parts = v.split("/")
        if len(parts) != 5 or parts[0] == "*" or not (parts[0] in trust_domains or parts[0] == "cluster.local"):
            if v not in out:
                out.append(v)
            continue
        for td in trust_domains:
            w = "/".join([td, *parts[1:]])
            if w not in out:
                out.append(w)
    return tuple(out)


def _widen_domains(values: tuple[str, ...], trust_domains: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        for w in (trust_domains if v in trust_domains else (v,)):
            if w not in out:
                out.append(w)
    return tuple(out)


def _cond(attr: str, field: str, values: tuple[str, ...], not_values: tuple[str, ...], path: str, line: int | None,
          ns: str, tds: tuple[str, ...]) -> Cond | None:
    if not values and not not_values:
        return None
    if attr == "source.principal":
        values, not_values = widen_principals(values, tds), widen_principals(not_values, tds)
    elif attr == "source.trustDomain":
        values, not_values = _widen_domains(values, tds), _widen_domains(not_values, tds)
    return Cond(attr, field, values, not_values, path, line, ns)


def _when_attr(key: str) -> str | None:
    if key.startswith("request.headers[") and key.endswith("]"):
        return key
    if key.startswith(("request.auth.claims[", "experimental.envoy.filters.")):
        return key
    return key if key in KNOWN_WHEN else None


def rule_model(ap: AuthorizationPolicy, i: int, rule: AuthorizationRule,
               tds: tuple[str, ...]) -> tuple[tuple[tuple[Cond, ...], ...], tuple[tuple[Cond, ...], ...]] | str:
    """(principals, permissions) of one rule, or why istiod skips it (an unknown `when` key)."""
    ns = ap.namespace
    base = f"spec.rules[{i}]"
    when_p: list[Cond] = []
    when_q: list[Cond] = []
    for k, c in enumerate(rule.when):
        attr = _when_attr(c.key)
        if attr is None:
            return f"unknown attribute {c.key!r} in {base}.when[{k}]"
        cond = _cond(attr, f"when {c.key}", c.values, c.not_values, f"{base}.when[{k}]", c.src.line, ns, tds)
        if cond is None:
            continue
        (when_q if attr in ("destination.ip", "destination.port", "connection.sni") or attr.startswith("experimental.")
         else when_p).append(cond)
    principals: list[tuple[Cond, ...]] = []
    for j, f in enumerate(rule.from_):
        s = f.source
        conds: list[Cond] = []
        if s is not None:
            p = f"{base}.from[{j}].source"
            line = s.src.line
            for attr, name, vals, nots in (
                    ("source.principal", "principals", s.principals, s.not_principals),
                    ("request.auth.principal", "requestPrincipals", s.request_principals, s.not_request_principals),
                    ("source.serviceAccount", "serviceAccounts", s.service_accounts, s.not_service_accounts),
                    ("source.trustDomain", "trustDomains", s.trust_domains, s.not_trust_domains),
                    ("source.namespace", "namespaces", s.namespaces, s.not_namespaces),
                    ("remote.ip", "remoteIpBlocks", s.remote_ip_blocks, s.not_remote_ip_blocks),
                    ("source.ip", "ipBlocks", s.ip_blocks, s.not_ip_blocks)):
                cond = _cond(attr, name, vals, nots, f"{p}.{name}", line, ns, tds)
                if cond is not None:
                    conds.append(cond)
        principals.append(tuple(conds) + tuple(when_p))
    if not rule.from_:
        principals.append(tuple(when_p))
    permissions: list[tuple[Cond, ...]] = []
    for j, t in enumerate(rule.to):
        op = t.operation
        conds = []
        if op is not None:
            p = f"{base}.to[{j}].operation"
            line = op.src.line
            # istiod's order (model.go inserts ports, paths, methods, hosts each at the front)
            for attr, name, vals, nots in ((":authority", "hosts", op.hosts, op.not_hosts),
                                           (":method", "methods", op.methods, op.not_methods),
                                           ("url_path", "paths", op.paths, op.not_paths),
                                           ("destination.port", "ports", op.ports, op.not_ports)):
                cond = _cond(attr, name, vals, nots, f"{p}.{name}", line, ns, tds)
                if cond is not None:
                    conds.append(cond)
        permissions.append(tuple(conds) + tuple(when_q))
    if not rule.to:
        permissions.append(tuple(when_q))
    return tuple(principals), tuple(permissions)


def _for_tcp(conds: tuple[Cond, ...], action: RbacAction) -> tuple[Cond, ...] | None:
    """A condition list on a TCP chain: None when an HTTP-only field drops the whole ALLOW rule."""
    if not any(c.http_only for c in conds):
        return conds
    if action is RbacAction.ALLOW:
        return None
    return tuple(c for c in conds if not c.http_only)


def _dry_run(ap: AuthorizationPolicy) -> bool:
    return ap.metadata.annotations.get("istio.io/dry-run", "").lower() in ("true", "1", "t")


def build_filters(policies: list[AuthorizationPolicy], trust_domains: tuple[str, ...], tcp: bool,
                  notes: list[str] | None = None) -> tuple[RbacFilter, ...]:
    """The RBAC filters of one inbound chain, in the order istiod puts them (CUSTOM, AUDIT, DENY,
    ALLOW), from the policies that select the workload."""
    out: list[RbacFilter] = []
    by_action: dict[str, list[AuthorizationPolicy]] = {}
    for ap in policies:
        if ap.spec is not None:
            by_action.setdefault(ap.spec.action, []).append(ap)
    for istio_action, action in (("CUSTOM", RbacAction.CUSTOM), ("AUDIT", RbacAction.LOG), ("DENY", RbacAction.DENY),
                                 ("ALLOW", RbacAction.ALLOW)):
        aps = by_action.get(istio_action, [])
        if not aps:
            continue
        providers = sorted({ap.spec.provider.name if ap.spec.provider else "" for ap in aps}) if action is RbacAction.CUSTOM else [""]
        for provider in providers:
            enforced: list[RbacPolicy] = []
            shadow: list[RbacPolicy] = []
            for ap in aps:
                if action is RbacAction.CUSTOM and (ap.spec.provider.name if ap.spec.provider else "") != provider:
                    continue
                into = shadow if _dry_run(ap) else enforced
                rules = ap.spec.rules or ()
                if not rules:
                    into.append(RbacPolicy(policy_name(ap.namespace, ap.name, 0), (), (), _ref(ap, "spec"), 0, never=True))
                    continue
                for i, rule in enumerate(rules):
                    model = rule_model(ap, i, rule, trust_domains)
                    if isinstance(model, str):
                        if notes is not None:
                            notes.append(f"AuthorizationPolicy {ap.namespace}/{ap.name} rule {i} is skipped: {model}")
                        continue
                    principals, permissions = model
                    if tcp:
                        ps = [_for_tcp(p, action) for p in principals]
                        qs = [_for_tcp(q, action) for q in permissions]
                        if any(x is None for x in ps) or any(x is None for x in qs):
                            if notes is not None:
                                notes.append(f"AuthorizationPolicy {ap.namespace}/{ap.name} rule {i} uses HTTP-only "
                                             "fields: it is left out of the TCP chain (ALLOW)")
                            continue
                        principals = tuple(p for p in ps if p is not None)
                        permissions = tuple(q for q in qs if q is not None)
                    into.append(RbacPolicy(policy_name(ap.namespace, ap.name, i), principals, permissions,
                                           _ref(ap, f"spec.rules[{i}]", rule.src.line), i))
            enforced.sort(key=lambda p: p.name)
            shadow.sort(key=lambda p: p.name)
            out.append(RbacFilter(action, tuple(enforced), tuple(shadow), provider, tcp))
    return tuple(out)


# ------------------------------------------------------------------ evaluation (Envoy's RBAC engine)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _in_cidr(block: str, ip: str) -> bool:
    addr = _ip(ip)
    try:
        return addr is not None and addr in ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False


def string_match(pattern: str, value: str, prefix: str = "", ignore_case: bool = False) -> bool:
    """Istio's value forms as its StringMatcher builds them: `*` any non-empty value, `x*` a
    prefix, `*x` a suffix, else exact (with `prefix` put in front of the pattern)."""
    if ignore_case:
        pattern, value, prefix = pattern.lower(), value.lower(), prefix.lower()
    if pattern == "*":
        return value != ""
    if pattern.startswith("*"):
        return value.startswith(prefix) and value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(prefix + pattern[:-1])
    return value == prefix + pattern


def _path_template(pattern: str) -> re.Pattern[str]:
    out = []
    for part in pattern.split("/"):
        out.append(".*" if part == "{**}" else "[^/]+" if part == "{*}" else re.escape(part))
    return re.compile("/".join(out))


def _one(c: Cond, v: str, req: RbacRequest) -> bool:
    """Does one value of condition `c` match the request?"""
    a = c.attr
    pr = req.principal
    if a == "source.principal":
        return bool(pr) and string_match(v, pr, SPIFFE)
    if a == "source.namespace":
        rx = ".*".join(re.escape(x) for x in v.split("*"))
        return bool(pr) and re.fullmatch(f".*/ns/{rx}/.*", pr) is not None
    if a == "source.serviceAccount":
        ns, _, sa = v.partition("/") if "/" in v else (c.default_ns, "", v)
        return bool(pr) and re.fullmatch(f"spiffe://.+/ns/{re.escape(ns)}/(.+/|)sa/{re.escape(sa)}(/.+)?", pr) is not None
    if a == "source.trustDomain":
        if v == "*":
            return pr.startswith(SPIFFE)
        if "*" not in v:
            return pr.startswith(f"{SPIFFE}{v}/")
        head, _, tail = v.partition("*")
        return re.fullmatch(f"spiffe://{re.escape(head)}[^/]*{re.escape(tail)}/.*", pr) is not None
    if a in ("source.ip", "remote.ip"):
        return _in_cidr(v, req.source_ip)
    if a == "destination.ip":
        return _in_cidr(v, req.destination_ip)
    if a == "destination.port":
        return v.isdigit() and int(v) == req.destination_port
    if a == "connection.sni":
        return string_match(v, req.sni)
    if a == ":authority":
        host = req.headers.get(":authority")
        return host is not None and (v == "*" or string_match(v, host, ignore_case=True))
    if a == ":method":
        m = req.headers.get(":method")
        return m is not None and (v == "*" or string_match(v, m))
    if a == "url_path":
        path = req.headers.get(":path", "").split("?", 1)[0]
        if "{*}" in v or "{**}" in v:
            return _path_template(v).fullmatch(path) is not None
        return string_match(v, path)
    if a.startswith("request.headers["):
        h = req.headers.get(a[len("request.headers["):-1].lower())
        return h is not None and (v == "*" or string_match(v, h))
    return False  # JWT attributes (no RequestAuthentication is modelled) and Envoy metadata


def _actual(c: Cond, req: RbacRequest) -> str:
    a = c.attr
    if c.identity:
        return repr(req.principal) if req.principal else "no peer identity (no mTLS)"
    if a in ("source.ip", "remote.ip"):
        return req.source_ip or "no source address"
    if a == "destination.ip":
        return req.destination_ip
    if a == "destination.port":
        return str(req.destination_port)
    if a == "connection.sni":
        return repr(req.sni) if req.sni else "no SNI"
    if a.startswith(("request.auth", "experimental.")):
        return "nothing: meshtui models no RequestAuthentication (JWT) or filter metadata"
    key = {":authority": ":authority", ":method": ":method", "url_path": ":path"}.get(a, a[len("request.headers["):-1].lower())
    if not req.http:
        return "a TCP connection (no HTTP attributes)"
    v = req.headers.get(key)
    if v is None:
        return "no such header"
    return repr(v.split("?", 1)[0] if a == "url_path" else v)


def check(c: Cond, req: RbacRequest) -> Miss | None:
    """None when the condition holds; else what it expected and what the request has."""
    if c.values and not any(_one(c, v, req) for v in c.values):
        return Miss(c, f"must be one of {list(c.values)}", _actual(c, req))
    if c.not_values and any(_one(c, v, req) for v in c.not_values):
        return Miss(c, f"must be none of {list(c.not_values)}", _actual(c, req))
    return None


def _all(conds: tuple[Cond, ...], req: RbacRequest) -> Miss | None:
    for c in conds:
        m = check(c, req)
        if m is not None:
            return m
    return None


def policy_misses(p: RbacPolicy, req: RbacRequest) -> list[Miss]:
    """[] when the policy matches; else why each alternative failed: every principal (`from`)
    alternative when none holds, else every permission (`to`) alternative."""
    if p.never:
        return []
    pm = [_all(alt, req) for alt in p.principals]
    if all(m is not None for m in pm):
        return [m for m in pm if m is not None]
    qm = [_all(alt, req) for alt in p.permissions]
    if all(m is not None for m in qm):
        return [m for m in qm if m is not None]
    return []


def matches(p: RbacPolicy, req: RbacRequest) -> bool:
    return not p.never and not policy_misses(p, req)


def first_match(f: RbacFilter, req: RbacRequest) -> RbacPolicy | None:
    """The policy Envoy reports as the effective one (the first by name that matches)."""
    return next((p for p in f.policies if matches(p, req)), None)


def identity_conditions(rule: AuthorizationRule) -> list[str]:
    """The fields of a rule that need a peer identity (they never match a plaintext request)."""
    out = []
    for f in rule.from_:
        s = f.source
        if s is None:
            continue
        for name, vals in (("principals", s.principals), ("namespaces", s.namespaces),
                           ("serviceAccounts", s.service_accounts), ("trustDomains", s.trust_domains)):
            if vals:
                out.append(name)
    out += [f"when {c.key}" for c in rule.when if isinstance(c, Condition) and c.key in PRINCIPAL_ATTRS and c.values]
    return out
