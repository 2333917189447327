"""Concrete requests that satisfy an Istio HTTP match: the witnesses MT0101 replays through the
tracer. Pure: candidates are generated, then kept only if they really satisfy the match, judged by
the same matcher the tracer uses (so a witness is never assumed, always checked)."""

from __future__ import annotations

from dataclasses import replace
from itertools import islice

from meshtui.model.istio import HTTPMatchRequest, StringMatch
from meshtui.model.regex import RegexError, full_match
from meshtui.simulate import Request, explain_route
from meshtui.translate.config import Route
from meshtui.translate.match import (
    METHOD,
    REQUEST_FIELDS,
    URI,
    RequestField,
    Vary,
    Where,
    is_presence,
    route_match,
    routed_entries,
)

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
FILLER = "zz"  # appended to prefixes to make a value that is not the prefix itself

# ---------------------------------------------------------------- regex samples
#
# A small enumerator over common RE2 syntax (literals, escapes, classes with ranges and negation,
# groups with alternation, ?, *, +, {n,m}, anchors). It explores every choice point a little
# (each alternation branch, both ends and the middle of each range, 0/1/2 repetitions) so the
# samples spread over the pattern's language; RE2 then keeps only real matches.

_PROBE_CHARS = "a/0Z.-_~z9A%"
_ESC = {"d": "09", "w": "aZ0_", "s": " ", "D": "a/", "W": "-/", "S": "a/"}
_MAX_ALTS = 64


def _cls(body: str) -> list[str]:
    neg = body.startswith("^")
    if neg:
        body = body[1:]
    members: list[str] = []
    ranges: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            members.extend(_ESC.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        if i + 2 < len(body) and body[i + 1] == "-":
            ranges.append((c, body[i + 2]))
            i += 3
            continue
        members.append(c)
        i += 1
    if neg:
        inside = set(members)
        pool = [ch for ch in _PROBE_CHARS + "bcxy" if ch not in inside and not any(lo <= ch <= hi for lo, hi in ranges)]
        return pool[:4] or ["#"]
    out = list(dict.fromkeys(members))
    for lo, hi in ranges:
        mid = chr((ord(lo) + ord(hi)) // 2)
        out.extend(x for x in (lo, hi, mid) if x not in out)
    return out or [""]


def _group_end(p: str, i: int) -> int:
    depth, j = 1, i + 1
    while j < len(p) and depth:
        if p[j] == "\\":
            j += 2
            continue
        if p[j] == "[":
            k = p.find("]", j + 2)
            j = (k + 1) if k > 0 else len(p)
            continue
        depth += {"(": 1, ")": -1}.get(p[j], 0)
        j += 1
    return j


def _split_top(p: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            k = p.find("]", i + 2)
            i = (k + 1) if k > 0 else len(p)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(p[start:i])
            start = i + 1
        i += 1
    parts.append(p[start:])
    return parts


def _combine(items: list[list[str]]) -> list[str]:
    """Strings from one choice per item: the plain one, each item varied alone, then products."""
    base = [alts[0] for alts in items]
    out = ["".join(base)]
    for k, alts in enumerate(items):
        for a in alts[1:]:
            out.append("".join(base[:k] + [a] + base[k + 1:]))
    total = 1
    for alts in items:
        total *= max(len(alts), 1)
    if total <= _MAX_ALTS:
        from itertools import product

        out.extend("".join(combo) for combo in product(*items))
    return list(dict.fromkeys(out))[:_MAX_ALTS]


def _expand(p: str) -> list[str]:
    branches = _split_top(p)
    if len(branches) > 1:
        out: list[str] = []
        for b in branches:
            out.extend(_expand(b))
        return list(dict.fromkeys(out))[:_MAX_ALTS]
    items: list[list[str]] = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c in "^$":
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            alts = list(_ESC.get(p[i + 1], p[i + 1]))
            i += 2
        elif c == "[":
            k = p.find("]", i + 2 if i + 1 < n and p[i + 1] in "]^" else i + 1)
            k = k if k > 0 else n
            alts = _cls(p[i + 1: k])
            i = k + 1
        elif c == "(":
            j = _group_end(p, i)
            inner = p[i + 1: j - 1]
            if inner.startswith("?:"):
                inner = inner[2:]
            elif inner.startswith("?"):
                return []  # flags and other group syntax: no guess
            alts = _expand(inner) or [""]
            i = j
        elif c == ".":
            alts = list("a/0Z.")
            i += 1
        else:
            alts = [c]
            i += 1
        # quantifier
        if i < n and p[i] in "?*+{":
            q = p[i]
            lo, hi = 0, 2
            if q == "{":
                j = p.find("}", i)
                spec = p[i + 1: j] if j > 0 else "1"
                i = (j + 1) if j > 0 else n
                a, comma, b = spec.partition(",")
                lo = int(a) if a.isdigit() else 0
                hi = int(b) if b.isdigit() else (lo + 2 if comma else lo)
            else:
                i += 1
                lo = {"?": 0, "*": 0, "+": 1}[q]
                hi = {"?": 1, "*": 2, "+": 2}[q]
            if i < n and p[i] == "?":
                i += 1  # lazy
            reps: list[str] = []
            for count in sorted({lo, min(lo + 1, hi), hi}):
                if count == 0:
                    reps.append("")
                else:
                    reps.extend(a * count for a in alts)
                    if count > 1 and len(alts) > 1:
                        reps.append(alts[0] + alts[-1] * (count - 1))
            alts = list(dict.fromkeys(reps))
        items.append(alts)
    return _combine(items)


def regex_samples(pattern: str) -> list[str]:
    """Strings that fully match `pattern` (RE2), spread over its language; [] if none was found."""
    out: list[str] = []
    try:
        guesses = _expand(pattern) + [pattern.strip("^$").replace("\\", "")]
    except (IndexError, ValueError):
        guesses = []
    for guess in guesses:
        try:
            if guess not in out and full_match(pattern, guess):
                out.append(guess)
        except RegexError:
            return []
    return out


# ---------------------------------------------------------------- candidate values


def values_for(sm: StringMatch | None, default: tuple[str, ...]) -> list[str]:
    """Values that satisfy a string match, most plain first."""
    if sm is None:
        return list(default)
    if is_presence(sm):
        return ["x", FILLER, ""] + list(_PROBE_CHARS)
    if sm.exact is not None:
        return [sm.exact]
    if sm.prefix is not None:
        return [sm.prefix, sm.prefix + FILLER] + [sm.prefix + c for c in _PROBE_CHARS]
    return regex_samples(sm.regex or "")


def path_values(m: HTTPMatchRequest | None) -> list[str]:
    uri = m.uri if m is not None else None
    if uri is None or uri.kind == "present":
        return ["/", "/" + FILLER, "/meshtui-probe/" + FILLER] + ["/" + c for c in _PROBE_CHARS if c != "/"]
    if uri.exact is not None:
        return [uri.exact]
    if uri.prefix is not None:
        p = uri.prefix
        return [p, p + FILLER, p.rstrip("/") + "/" + FILLER] + [p + c for c in _PROBE_CHARS]
    return [s for s in regex_samples(uri.regex or "") if s.startswith("/")] or regex_samples(uri.regex or "")


def method_values(m: HTTPMatchRequest | None) -> list[str]:
    sm = m.method if m is not None else None
    if sm is None:
        return list(METHODS)
    vals = [v for v in values_for(sm, ()) if v]
    return vals + [x for x in METHODS if x not in vals]


class Judge:
    """Judges requests against matches with the tracer's own route matcher, translating each match
    once. One lives as long as an analysis: it holds the matches it translated, so their ids stay
    theirs while it lives (matches are immutable)."""

    def __init__(self) -> None:
        self._routes: dict[int, tuple[HTTPMatchRequest | None, Route]] = {}

    def route(self, m: HTTPMatchRequest | None) -> Route:
        hit = self._routes.get(id(m))
        if hit is None:
            hit = self._routes[id(m)] = (m, Route("", route_match(m)))
        return hit[1]

    def satisfies(self, m: HTTPMatchRequest | None, req: Request) -> bool:
        """Do the request fields of `m` accept `req`?"""
        return explain_route(self.route(m), req) is None


def satisfies(m: HTTPMatchRequest | None, req: Request, judge: Judge | None = None) -> bool:
    """Do the request fields of `m` accept `req`? Judged by the tracer's own route matcher on the
    route the translator makes of `m`."""
    return (judge or Judge()).satisfies(m, req)


def witnesses(m: HTTPMatchRequest | None, host: str, port: int, scheme: str = "http", limit: int = 6,
              judge: Judge | None = None) -> list[Request]:
    """A few requests to host:port that satisfy `m`, plainest first: paths and methods are
    enumerated, every other request field takes its plainest value."""
    paths = path_values(m) or []
    methods = method_values(m)
    base = Request("GET", scheme, host, port, "/", "", {}, False)
    if m is not None:
        for f in REQUEST_FIELDS:
            if f is URI or f is METHOD:
                continue
            for key, sm in routed_entries(f, m):
                name = f.envoy_name(key)
                if f.invert:
                    if not is_presence(sm) and name not in base.headers:
                        base = base.with_value(name, "meshtui-" + FILLER)  # a value it hardly refuses; checked below
                    continue
                vals = values_for(sm, ())
                if not vals:
                    return []
                base = base.with_query_param(name, vals[0]) if f.where is Where.QUERY else base.with_value(name, vals[0])
    judge = judge or Judge()
    out: list[Request] = []
    for path in paths:
        for method in islice(methods, 3):
            path_only, _, q = path.partition("?")
            req = Request(method, base.scheme, host, port, path_only, "&".join(x for x in (q, base.query) if x),
                          dict(base.headers), False)
            if judge.satisfies(m, req):
                out.append(req)
            if len(out) >= limit:
                return out
    return out


def variants(m: HTTPMatchRequest | None, req: Request, captor: HTTPMatchRequest | None, ports: list[int],
             judge: Judge | None = None) -> list[Request]:
    """Requests that still satisfy `m` but break one condition of `captor`, the earlier match
    that took `req`, field by field in `Vary`'s order. Empty if the captor leaves no way out."""
    if captor is None:
        return []
    cands: list[Request] = []
    for how in Vary:
        for f in (f for f in REQUEST_FIELDS if f.vary is how):
            for key, sm in f.entries(captor):
                cands.extend(_break(how, f, key, sm, m, req))
    if captor.port is not None:
        cands.extend(replace(req, port=p) for p in ports if p != captor.port)
    judge = judge or Judge()
    return [c for c in cands
            if judge.satisfies(m, c) and not (judge.satisfies(captor, c) and (captor.port is None or captor.port == c.port))]


def _break(how: Vary, f: RequestField, key: str, sm: StringMatch, m: HTTPMatchRequest | None, req: Request) -> list[Request]:
    """Candidates that may break the captor's condition `sm` on field `f` (key `key`)."""
    name = f.envoy_name(key)
    if how is Vary.PATHS:
        return [replace(req, path=p) for p in path_values(m) + ["/meshtui-probe/" + FILLER]]
    if how is Vary.METHODS:
        return [replace(req, method=meth) for meth in method_values(m)]
    if how is Vary.VALUES:
        dropped = {k: v for k, v in req.headers.items() if k != name}
        fresh = ("meshtui-" + FILLER, "", *_PROBE_CHARS)
        return [replace(req, headers=dropped)] + [req.with_value(name, v)
                                                  for v in values_for(f.get(m, key), fresh) + ["meshtui-" + FILLER]]
    if how is Vary.REFUSED:
        return [req.with_value(name, v) for v in values_for(sm, ("x",))[:4]]
    if how is Vary.MISSING:
        params = [p for p in req.query.split("&") if p and p.split("=", 1)[0] != name]
        return [replace(req, query="&".join(params)), replace(req, query="&".join(params + [f"{name}=meshtui-{FILLER}"]))]
    return []
