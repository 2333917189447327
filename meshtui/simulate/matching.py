"""Does a request match an Envoy route, and if not, why: Envoy's RouteMatch evaluation over the
translated (or read-back) configuration, with expected and actual values. The words for each
request property come from the match layer (translate/match.py), so the reasons name the Istio
field the condition was written as."""

from __future__ import annotations

from meshtui.model.regex import full_match
from meshtui.simulate.request import Request
from meshtui.translate.config import HeaderMatcher, Route, RouteMatch, StringMatcher
from meshtui.translate.match import PSEUDO_HEADERS, URI, header_label


def string_matches(m: StringMatcher, value: str) -> bool:
    if m.kind == "exact":
        return value.lower() == (m.value or "").lower() if m.ignore_case else value == m.value
    if m.kind == "prefix":
        return value.lower().startswith((m.value or "").lower()) if m.ignore_case else value.startswith(m.value or "")
    if m.kind == "regex":
        return full_match(m.value or "", value)
    return True


def describe(m: StringMatcher) -> str:
    return "present" if m.kind == "present" else f"{m.kind} {m.value!r}"


def header_matches(h: HeaderMatcher, req: Request) -> bool:
    """Envoy's HeaderUtility::matchHeaders, including its rules for a missing header."""
    value = req.value(h.name)
    if value is None and not h.treat_missing_as_empty:
        # a missing header only satisfies a presence matcher that asks for absence
        return h.match.kind == "present" and h.invert
    if value is None:
        value = ""
    # a header sent more than once: Envoy 1.40 matches when any one of its values matches (the
    # inversion applies to that), not the values joined by ","
    values = req.repeated.get(h.name) if not h.name.startswith(":") else None
    ok = any(string_matches(h.match, v) for v in values) if values else string_matches(h.match, value)
    return ok != h.invert


def path_matches(m: RouteMatch, req: Request) -> bool:
    if m.path_kind == "prefix":
        p, target = m.path, req.path_with_query
        return target.lower().startswith(p.lower()) if not m.case_sensitive else target.startswith(p)
    if m.path_kind == "path":
        return req.path.lower() == m.path.lower() if not m.case_sensitive else req.path == m.path
    if m.path_kind == "path_separated_prefix":  # the whole path, or it followed by `/` (query ignored)
        p, target = (m.path, req.path) if m.case_sensitive else (m.path.lower(), req.path.lower())
        return target == p or target.startswith(p.rstrip("/") + "/")
    return full_match(m.path, req.path)


_PATH_WORD = {"prefix": "prefix", "path": "exact", "regex": "regex", "path_separated_prefix": "path prefix"}


def explain_route(route: Route, req: Request) -> str | None:
    """None if the route matches the request; otherwise why not, with expected and actual."""
    m = route.match
    if not path_matches(m, req):
        actual = req.path_with_query if m.path_kind == "prefix" else req.path
        case = " (ignoring case)" if not m.case_sensitive and m.path_kind != "regex" else ""
        return f"{URI.name} {_PATH_WORD[m.path_kind]} {m.path!r}{case} does not match {actual!r}"
    for h in m.headers:
        if not header_matches(h, req):
            value = req.value(h.name)
            label = header_label(h.name)
            if h.invert:
                if h.match.kind == "present":
                    return f"withoutHeaders: {label} must be absent, but it is {value!r}"
                return f"withoutHeaders: {label} must not be {describe(h.match)}, but it is {value!r}"
            if value is None:
                return f"{label} must be {describe(h.match)}, but the request has no such header"
            return f"{label} must be {describe(h.match)}, but it is {value!r}"
    params = req.query_params() if m.query else {}
    for q in m.query:
        param = params.get(q.name)
        if param is None:
            return f"query parameter {q.name!r} must be {describe(q.match)}, but the request has none"
        if not string_matches(q.match, param):
            return f"query parameter {q.name!r} must be {describe(q.match)}, but it is {param!r}"
    return None


def match_text(m: RouteMatch) -> str:
    """A route's conditions in one line, as the trace shows the route that matched."""
    parts = [f"{URI.name} {_PATH_WORD[m.path_kind]} {m.path!r}"]
    for h in m.headers:
        f = PSEUDO_HEADERS.get(h.name)
        parts.append(f"{'!' if h.invert else ''}{f.name if f is not None else h.name} {describe(h.match)}")
    for q in m.query:
        parts.append(f"?{q.name} {describe(q.match)}")
    return ", ".join(parts)
