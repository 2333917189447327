"""Rules and matches that earlier ones always take first (IST0130, IST0131).

istioctl compares matches as JSON (exact duplicates) and a few prefix overlaps. Here a later match
is reported when it *implies* an earlier one: every request it matches also matches the earlier
match (prefix /api/v1 under /api, exact under prefix, extra headers, narrower sourceLabels, ...).
That finds everything istioctl finds and more, and stays sound: implication is only claimed
where it is certain (regexes only when identical or when an exact value is tested against it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from meshtui.analyze.context import Context
from meshtui.analyze.message import Message
from meshtui.analyze.registry import analyzer
from meshtui.analyze.walk import rule_label
from meshtui.model.istio import HTTPMatchRequest, L4MatchAttributes, StringMatch, TLSMatchAttributes, VirtualService
from meshtui.model.regex import RegexError, full_match
from meshtui.translate.match import REQUEST_FIELDS, URI, RequestField, Where, config_covers, is_presence


def canon(value: Any) -> Any:
    """A hashable, position-free form of a parsed value (for 'same match' comparisons)."""
    if dataclasses.is_dataclass(value):
        return tuple((f.name, canon(getattr(value, f.name))) for f in dataclasses.fields(value)
                     if f.name not in ("src", "name"))
    if isinstance(value, dict):
        return tuple(sorted((k, canon(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(canon(v) for v in value)
    return value


def _kind(sm: StringMatch) -> str:
    return "present" if is_presence(sm) else sm.kind


def string_implies(b: StringMatch, a: StringMatch, fold: bool = False) -> bool:
    """Does every value matching `b` also match `a`? (`fold`: compare case-insensitively.)"""
    ka, kb = _kind(a), _kind(b)
    if ka == "present":
        return True
    if kb == "present":
        return False
    va, vb = a.value or "", b.value or ""
    if fold:
        va, vb = va.lower(), vb.lower()
    if ka == "exact":
        return kb == "exact" and va == vb
    if ka == "prefix":
        return kb in ("exact", "prefix") and vb.startswith(va)
    # a is a regex
    if kb == "regex":
        return a.regex == b.regex
    if kb == "exact":
        try:
            return full_match(a.regex or "", b.value or "")
        except RegexError:
            return False
    return False


def _uri_implies(b: HTTPMatchRequest, a: HTTPMatchRequest) -> bool:
    ua, ub = a.uri, b.uri
    if ua is None or (ua.kind == "prefix" and ua.prefix == "/"):
        return True
    if ub is None:
        return False
    if ua.kind == "regex" or ub.kind == "regex":
        return string_implies(ub, ua)  # ignoreUriCase does not apply to regexes
    if b.ignore_uri_case and not a.ignore_uri_case and any(c.isalpha() for c in (ua.value or "")):
        return False  # b also matches case variants that a rejects
    return string_implies(ub, ua, fold=a.ignore_uri_case)


def _entries_implied(f: RequestField, b: HTTPMatchRequest, a: HTTPMatchRequest) -> bool:
    """Does `b`'s condition on field `f` imply `a`'s? Every entry `a` names must be in `b`,
    narrower (or, for an inverted field, the same)."""
    fold = f.where is Where.HEADER  # header names are case-insensitive, query parameter names are not

    def norm(k: str) -> str:
        return k.lower() if fold else k

    bm = {norm(k): sm for k, sm in f.entries(b)}
    for k, sa in f.entries(a):
        sb = bm.get(norm(k))
        if sb is None or not (canon(sb) == canon(sa) if f.invert else string_implies(sb, sa)):
            return False
    return True


def match_implies(b: HTTPMatchRequest | None, a: HTTPMatchRequest | None) -> bool:
    """Does every request that `b` matches also match `a`? None stands for 'no match' (all)."""
    if a is None:
        return True
    if b is None:
        b = HTTPMatchRequest()
    if not _uri_implies(b, a):
        return False
    if not all(_entries_implied(f, b, a) for f in REQUEST_FIELDS if f is not URI):
        return False
    return config_covers(a, b)  # and kept on every proxy and port that keeps b


def _l4_implies(b: L4MatchAttributes | TLSMatchAttributes | None, a: L4MatchAttributes | TLSMatchAttributes | None) -> bool:
    """TCP/TLS matches: no match takes everything; otherwise only identical matches."""
    if a is None:
        return True
    return b is not None and canon(b) == canon(a)


@dataclass(frozen=True, slots=True)
class Dead:
    """A rule (match is None) or a match that earlier ones always take first."""

    rule: int
    match: int | None
    by_rule: tuple[int, ...]  # the earlier rule(s) that take its requests
    by_match: int | None = None
    reason: str = ""


M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)


class _Matched(Protocol[M_co]):
    """A rule of some kind: its matches (none: it takes every request)."""

    @property
    def match(self) -> Sequence[M_co]: ...


# does every request that matches b (None: no match, everything) also match a?
Implies = Callable[[M | None, M | None], bool]


def static_dead(rules: Sequence[_Matched[M]], implies: Implies[M]) -> list[Dead]:
    """Rules wholly taken by earlier rules, and single matches taken by earlier matches."""
    out: list[Dead] = []
    earlier: list[tuple[int, int, M | None]] = []  # (rule, match, match-or-None) of the rules before
    catch_all: int | None = None  # first earlier rule that takes every request
    for i, rule in enumerate(rules):
        matches: list[M | None] = [*rule.match] or [None]
        if catch_all is not None:
            reason = "only the last rule can have no matches" if not rule.match else "route without matches defined before"
            if rules[catch_all].match:
                reason = "all matches used by prior rules"
            out.append(Dead(i, None, (catch_all,), None, reason))
            continue
        covered: list[tuple[int, int, int]] = []  # (match, by rule, by match)
        for j, m in enumerate(matches):
            hit = next(((r, k) for r, k, em in earlier if implies(m, em)), None)
            if hit is None:
                hit = next(((i, k) for k in range(j) if implies(m, matches[k])), None)
            if hit is not None:
                covered.append((j, hit[0], hit[1]))
        by_earlier_rule = [c for c in covered if c[1] != i]
        if rule.match and len(by_earlier_rule) == len(matches):
            out.append(Dead(i, None, tuple(sorted({r for _, r, _ in by_earlier_rule})), None,
                            "all matches used by prior rules"))
        # each match an earlier one takes is named too, also in a rule that is wholly unused (istioctl does)
        out.extend(Dead(i, j, (r,), k) for j, r, k in covered)
        for j, m in enumerate(matches):
            earlier.append((i, j, m))
        if any(implies(None, m) for m in matches):
            catch_all = i
    return out


def _reachability(ctx: Context, vs: VirtualService, kind: str, rules: Sequence[_Matched[M]], implies: Implies[M]) -> Iterator[Message]:
    def name(i: int) -> str:
        return rule_label(getattr(rules[i], "name", ""), i)

    for d in static_dead(rules, implies):
        label = name(d.rule)
        if d.match is None:
            firsts = ", ".join(name(r) for r in d.by_rule)
            if d.reason == "all matches used by prior rules" and rules[d.rule].match and len(d.by_rule) >= 1 \
                    and not any(not rules[r].match or any(implies(None, m) for m in rules[r].match) for r in d.by_rule):
                text = (f"Every request it matches is taken first by rule {firsts}: move it above, make its match more "
                        "specific, or remove it.")
            else:
                text = (f"Rule {firsts} before it takes every request, so this rule never runs: remove it, or give it "
                        "a match and move it above that rule.")
            yield ctx.report("IST0130", vs, path=f"spec.{kind}[{d.rule}]", rule=label, reason=d.reason, detail=text)
        else:
            m = rules[d.rule].match[d.match] if rules[d.rule].match else None
            mlabel = rule_label(getattr(m, "name", "") if m is not None else "", d.match)
            dup = name(d.by_rule[0])
            yield ctx.report("IST0131", vs, path=f"spec.{kind}[{d.rule}].match[{d.match}]", rule=label, match=mlabel,
                             other=dup, detail=f"Match #{d.by_match} of rule {dup} takes every request this one matches; "
                                               "remove it or move it before that match.")


@analyzer("virtualservice.UnreachableRules", ("IST0130", "IST0131"),
          "Finds rules and matches that earlier rules of the same VirtualService always take first",
          inputs=("VirtualService",), istio="schema.ValidationAnalyzer.VirtualService")
def unreachable_rules(ctx: Context) -> Iterator[Message]:
    for vs in ctx.snap.virtual_services:
        yield from _reachability(ctx, vs, "http", vs.spec.http, match_implies)
        yield from _reachability(ctx, vs, "tcp", vs.spec.tcp, _l4_implies)
        yield from _reachability(ctx, vs, "tls", vs.spec.tls, _l4_implies)
