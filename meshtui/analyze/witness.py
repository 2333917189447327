"""Concrete requests that satisfy an Istio HTTP match: the witnesses MT0101 replays through the
tracer. Pure: candidates are generated, then kept only if they really satisfy the match, judged by
the same matcher the tracer uses (so a witness is never assumed, always checked)."""

from __future__ import annotations

from itertools import islice

from meshtui.model.istio import HTTPMatchRequest, StringMatch
from meshtui.model.regex import RegexError, full_match
from meshtui.simulate import Request, explain_route
from meshtui.translate.config import Route
from meshtui.translate.routes import translate_match

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
FILLER = "zz"  # appended to prefixes to make a value that is not the prefix itself

# ---------------------------------------------------------------- regex samples


_CLASS = {"d": "1", "w": "a", "s": " ", "D": "a", "W": "-", "S": "a"}


def _sample(pattern: str, longer: bool) -> str:
    """One string the pattern probably matches: a small walk over common RE2 syntax (literals,
    escapes, classes, groups with alternation, ?, *, +, {n}). Checked afterwards by RE2."""
    out: list[str] = []
    i, n = 0, len(pattern)
    atom = ""
    while i < n:
        c = pattern[i]
        if c in "^$":
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            atom = _CLASS.get(nxt, nxt)
            i += 2
        elif c == "[":
            j = pattern.find("]", i + 2 if i + 1 < n and pattern[i + 1] == "]" else i + 1)
            body = pattern[i + 1: j if j > 0 else n]
            if body.startswith("^"):
                atom = "z" if "z" not in body else "#"
            else:
                atom = body[1:2] if body[:1] == "\\" else body[:1]
                atom = _CLASS.get(atom, atom) if body[:1] == "\\" else atom
            i = (j + 1) if j > 0 else n
        elif c == "(":
            depth, j = 1, i + 1
            while j < n and depth:
                if pattern[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(pattern[j], 0)
                j += 1
            inner = pattern[i + 1: j - 1]
            if inner.startswith("?:"):
                inner = inner[2:]
            atom = _sample(_first_alternative(inner), longer)
            i = j
        elif c == ".":
            atom = "a"
            i += 1
        elif c == "|":
            break  # top-level alternation: the first branch is enough
        else:
            atom = c
            i += 1
        # quantifier
        if i < n and pattern[i] in "?*+{":
            q = pattern[i]
            if q == "{":
                j = pattern.find("}", i)
                spec = pattern[i + 1: j] if j > 0 else "1"
                low = spec.split(",")[0] or "0"
                count = int(low) if low.isdigit() else 1
                i = (j + 1) if j > 0 else n
                out.append(atom * max(count, 1 if longer else count))
            else:
                i += 1
                if i < n and pattern[i] == "?":
                    i += 1  # lazy
                if q == "+":
                    out.append(atom * (2 if longer else 1))
                elif longer:
                    out.append(atom)
            continue
        out.append(atom)
    return "".join(out)


def _first_alternative(inner: str) -> str:
    depth = 0
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return inner[:i]
        i += 1
    return inner


def regex_samples(pattern: str) -> list[str]:
    """Strings that fully match `pattern` (RE2), from a few guesses; [] if none was found."""
    out: list[str] = []
    for guess in (_sample(pattern, False), _sample(pattern, True), pattern.strip("^$").replace("\\", "")):
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
    if sm.regex == "*" or sm.kind == "present":
        return ["x", FILLER]
    if sm.exact is not None:
        return [sm.exact]
    if sm.prefix is not None:
        return [sm.prefix, sm.prefix + FILLER]
    return regex_samples(sm.regex or "")


def path_values(m: HTTPMatchRequest | None) -> list[str]:
    uri = m.uri if m is not None else None
    if uri is None or uri.kind == "present":
        return ["/", "/" + FILLER, "/meshtui-probe/" + FILLER]
    if uri.exact is not None:
        return [uri.exact]
    if uri.prefix is not None:
        p = uri.prefix
        return [p, p + FILLER, p.rstrip("/") + "/" + FILLER]
    return [s for s in regex_samples(uri.regex or "") if s.startswith("/")] or regex_samples(uri.regex or "")


def method_values(m: HTTPMatchRequest | None) -> list[str]:
    sm = m.method if m is not None else None
    if sm is None:
        return list(METHODS)
    vals = [v for v in values_for(sm, ()) if v]
    return vals + [x for x in METHODS if x not in vals]


_ROUTES: dict[int, tuple[HTTPMatchRequest | None, Route]] = {}


def _route(m: HTTPMatchRequest | None) -> Route:
    """The Envoy route the translator makes of a match (cached: matches are immutable)."""
    hit = _ROUTES.get(id(m))
    if hit is not None and hit[0] is m:
        return hit[1]
    if len(_ROUTES) > 50_000:
        _ROUTES.clear()
    route = Route("", translate_match(m))
    _ROUTES[id(m)] = (m, route)
    return route


def satisfies(m: HTTPMatchRequest | None, req: Request) -> bool:
    """Do the runtime conditions of `m` (uri, method, authority, scheme, headers, query,
    withoutHeaders) accept `req`? Judged by the tracer's own route matcher."""
    return explain_route(_route(m), req) is None


def witnesses(m: HTTPMatchRequest | None, host: str, port: int, scheme: str = "http", limit: int = 6) -> list[Request]:
    """A few requests to host:port that satisfy `m`, plainest first."""
    paths = path_values(m) or []
    methods = method_values(m)
    base_headers: dict[str, str] = {}
    if m is not None:
        for name, sm in sorted(m.headers.items()):
            vals = values_for(sm, ())
            if not vals:
                return []
            base_headers[name.lower()] = vals[0]
        for name, sm in sorted(m.without_headers.items()):
            if sm.kind != "present" and sm.regex != "*":
                base_headers.setdefault(name.lower(), "meshtui-" + FILLER)
        if m.authority is not None:
            vals = values_for(m.authority, ())
            if not vals:
                return []
            base_headers["host"] = vals[0]
    query_parts: list[str] = []
    if m is not None:
        for name, sm in sorted(m.query_params.items()):
            vals = values_for(sm, ())
            if not vals:
                return []
            query_parts.append(f"{name}={vals[0]}")
    query = "&".join(query_parts)
    schemes = values_for(m.scheme if m is not None else None, (scheme,))
    out: list[Request] = []
    for path in paths:
        for method in islice(methods, 3):
            for sch in schemes[:1]:
                path_only, _, q = path.partition("?")
                req = Request(method, sch, host, port, path_only, "&".join(x for x in (q, query) if x),
                              dict(base_headers), False)
                if satisfies(m, req):
                    out.append(req)
                if len(out) >= limit:
                    return out
    return out


def variants(m: HTTPMatchRequest | None, req: Request, captor: HTTPMatchRequest | None, ports: list[int]) -> list[Request]:
    """Requests that still satisfy `m` but break one condition of `captor`, the earlier match
    that took `req`. Empty if the captor leaves no way out."""
    if captor is None:
        return []
    cands: list[Request] = []

    def with_(**kw) -> Request:
        fields = dict(method=req.method, scheme=req.scheme, host=req.host, port=req.port, path=req.path,
                      query=req.query, headers=dict(req.headers), port_explicit=req.port_explicit)
        fields.update(kw)
        return Request(**fields)

    if captor.uri is not None:
        for p in path_values(m) + ["/meshtui-probe/" + FILLER]:
            cands.append(with_(path=p))
    if captor.method is not None:
        for meth in method_values(m):
            cands.append(with_(method=meth))
    for name, sm in captor.headers.items():
        key = name.lower()
        hs = dict(req.headers)
        hs.pop(key, None)
        cands.append(with_(headers=hs))
        own = m.headers.get(name) if m is not None else None
        for v in values_for(own, ("meshtui-" + FILLER,)) + ["meshtui-" + FILLER]:
            cands.append(with_(headers={**req.headers, key: v}))
    for name in captor.without_headers:
        cands.append(with_(headers={**req.headers, name.lower(): "x"}))
    for name, sm in captor.query_params.items():
        params = [p for p in req.query.split("&") if p and p.split("=", 1)[0] != name]
        cands.append(with_(query="&".join(params)))
        cands.append(with_(query="&".join(params + [f"{name}=meshtui-{FILLER}"])))
    if captor.port is not None:
        for p in ports:
            if p != captor.port:
                cands.append(with_(port=p))
    return [c for c in cands if satisfies(m, c) and not (satisfies(captor, c) and (captor.port is None or captor.port == c.port))]
