"""A trace as Textual Content: the verdict up front, weighted destinations as bars, fault
probabilities, the effective policy, and one line per step with ✓/✗ and the reason.

Meaning never rides on colour alone (NO_COLOR, snapshot diffs): every verdict has a glyph and a
word. Styles are theme variables, so light and dark themes both read well."""

from __future__ import annotations

import json

from textual.content import Content

from meshtui.simulate.trace import Step, Trace
from meshtui.tui.yamltext import short_path

MARK = {"selected": ("✓", "$success"), "no-match": ("✗", "$error"), "skipped": ("-", "$text-muted"),
        "info": ("·", "$accent"), "warning": ("!", "$warning"), "final": ("→", "bold")}
GOOD = {"routed": "$success", "passthrough": "$warning", "redirect": "$accent", "direct-response": "$accent"}


def outcome_style(outcome: str) -> str:
    return GOOD.get(outcome, "$error")


def short_cluster(name: str) -> str:
    """outbound|9080|v2|reviews.default.svc.cluster.local -> reviews.default v2 :9080"""
    parts = name.split("|")
    if len(parts) == 4:
        _, port, subset, host = parts
        host = host.removesuffix(".svc.cluster.local")
        return f"{host}{' ' + subset if subset else ''} :{port}"
    return name


def verdict(t: Trace) -> Content:
    style = outcome_style(t.outcome)
    head = Content.assemble((f" {t.outcome.upper()} ", f"bold reverse {style}"))
    if t.status is not None:
        head = head.append(Content.styled(f" {t.status}" + (f" {t.response_flags}" if t.response_flags else ""),
                                          f"bold {style}"))
    head = head.append(Content("  ")).append(Content(t.summary() if t.outcome != "routed" else _routed_summary(t)))
    return head


def _routed_summary(t: Trace) -> str:
    who = t.virtual_service
    rule = ""
    if who is not None:
        rule = f"VirtualService {who.namespace}/{who.name}"
        if t.route_name or t.rule_index is not None:
            rule += f" rule {t.route_name or t.rule_index}"
    else:
        rule = "default route (no VirtualService)"
    return f"via {rule}"


def destination_lines(t: Trace, bar_width: int = 20) -> list[Content]:
    out: list[Content] = []
    if not t.destinations or t.outcome not in ("routed", "fault-abort", "no-healthy-upstream", "cluster-not-found"):
        return out
    for d in t.destinations:
        filled = int(round(d.probability * bar_width))
        ok = d.cluster_found and bool(d.endpoints)
        line = Content.assemble(
            (f"{d.probability:6.1%} ", "bold"),
            ("█" * filled, "$success" if ok else "$error"),
            ("░" * (bar_width - filled), "$text-muted"),
            (f" {short_cluster(d.cluster)}", ""),
        )
        if not d.cluster_found:
            line = line.append(Content.styled("  cluster not found → 503 NC", "$error"))
        elif not d.endpoints:
            line = line.append(Content.styled("  no endpoints → 503 UH", "$error"))
        else:
            n = len(d.endpoints)
            line = line.append(Content.styled(f"  {n} endpoint{'s' if n != 1 else ''}", "$text-muted"))
        out.append(line)
    return out


def fault_lines(t: Trace) -> list[Content]:
    out: list[Content] = []
    live_info = (t.fault or {}).get("live") or {}
    live = f"  (live game-day fault {live_info.get('id', '')})" if live_info else ""
    for kind, f in (t.fault or {}).items():
        if kind not in ("delay", "abort") or not f:
            continue
        what = f.get("fixedDelay") if kind == "delay" else (f.get("httpStatus") or f"grpc {f.get('grpcStatus')}")
        out.append(Content.assemble(("⚡ fault ", "bold $warning"),
                                    (f"{kind} {what} for {f.get('probability', 0):.1%} of requests{live}", "$warning")))
    return out


def policy_line(t: Trace) -> Content:
    parts = []
    parts.append(f"timeout {t.timeout:g}s" if t.timeout else "no timeout")
    if t.retries is not None:
        a = t.retries.get("attempts")
        on = t.retries.get("retryOn", "") or ""
        on = on if len(on) <= 32 else on[:31] + "…"
        parts.append("no retries" if not a else f"{a} retries ({on})")
    if t.mirrors:
        parts.append(f"mirrors to {', '.join(short_cluster(m.get('cluster', '')) for m in t.mirrors)}")
    return Content.styled("  " + " · ".join(parts), "$text-muted")


def request_line(t: Trace) -> Content:
    r = t.request
    hdrs = " ".join(f"-H '{k}: {v}'" for k, v in r.headers.items())
    p = t.proxy
    return Content.assemble((f"{r.method} {r.scheme}://{r.authority or r.host}{r.path_with_query}", "bold"),
                            (f" {hdrs}" if hdrs else "", ""),
                            (f"  from {p['type']} {p['namespace']}/{p['workload']}", "$text-muted"))


def policy_details(t: Trace) -> list[Content]:
    """The effective policy per destination, as Istio JSON (what the DestinationRule layering
    produced), plus timeout, retries and fault."""
    out: list[Content] = [policy_line(t)]
    out.extend(fault_lines(t))
    for d in t.destinations:
        out.append(Content(""))
        dr = f"DestinationRule {d.destination_rule.namespace}/{d.destination_rule.name}" if d.destination_rule else "no DestinationRule"
        out.append(Content.assemble((short_cluster(d.cluster), "bold"), (f"  {dr}", "$text-muted"),
                                    (f"  lb {d.lb_policy or 'LEAST_REQUEST'}", "")))
        pol = json.dumps(d.traffic_policy, indent=2, sort_keys=True) if d.traffic_policy else "{} (Istio defaults)"
        for ln in pol.splitlines():
            out.append(Content.styled("  " + ln, "$text-muted" if not d.traffic_policy else ""))
    if t.rewritten:
        out.append(Content(""))
        out.append(Content.styled(f"rewrite: {json.dumps(t.rewritten, sort_keys=True)}", ""))
    if t.location:
        out.append(Content.styled(f"redirect to {t.location}", "$accent"))
    return out


def endpoint_rows(t: Trace) -> list[tuple[str, str, str, str, str]]:
    """(destination, address:port, pod, note, labels)."""
    rows = []
    for d in t.destinations:
        for e in d.endpoints:
            labels = ",".join(f"{k}={v}" for k, v in sorted((e.get("labels") or {}).items()))
            ready = "synthesized from a Deployment" if e.get("synthesized") else ""
            rows.append((short_cluster(d.cluster), f"{e.get('address')}:{e.get('port')}", e.get("pod") or "-", ready, labels))
    return rows


_VARS: dict[int, tuple[str, dict]] = {}


def theme_vars(app) -> dict:
    """The app's CSS variables for its current theme, computed once per theme (generating the
    colour system is costly, and every table cell and tree label needs it)."""
    hit = _VARS.get(id(app))
    theme = getattr(app, "theme", "")
    if hit is None or hit[0] != theme:
        hit = (theme, app.get_css_variables())
        if len(_VARS) > 16:
            _VARS.clear()
        _VARS[id(app)] = hit
    return hit[1]


def rich_text(app, parts: list[tuple[str, str] | str]):
    """Rich Text for widgets that take Rich labels (Tree): theme variables resolved by hand,
    so the labels follow the theme like the rest (rebuild them when the theme changes)."""
    from rich.style import Style
    from rich.text import Text

    variables = theme_vars(app)
    out = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        words = []
        for w in style.split():
            if w.startswith("$"):
                value = variables.get(w[1:])
                if value:
                    words.append(value if value.startswith("#") else "")
            elif w in ("bold", "italic", "dim", "reverse", "underline"):
                words.append(w)
        try:
            out.append(text, Style.parse(" ".join(x for x in words if x)) if words else None)
        except Exception:  # noqa: BLE001 - an odd colour value: plain text is still right
            out.append(text)
    return out


def verdict_compact(t: Trace, bar_width: int = 10) -> list[Content]:
    """The verdict in a narrow box (what-if's before/after): outcome, rule, destinations."""
    style = outcome_style(t.outcome)
    head = Content.assemble((f" {t.outcome.upper()} ", f"bold reverse {style}"),
                            (f" {t.status}" if t.status is not None else "", f"bold {style}"))
    if t.virtual_service is not None:
        rule = t.route_name or (f"#{t.rule_index}" if t.rule_index is not None else "")
        head = head.append(Content.styled(f" {t.virtual_service.name}{' ' + rule if rule else ''}", "$text-muted"))
    lines = [head]
    for d in t.destinations if t.outcome in ("routed", "fault-abort", "no-healthy-upstream", "cluster-not-found") else ():
        filled = int(round(d.probability * bar_width))
        ok = d.cluster_found and bool(d.endpoints)
        host = d.host.split(".")[0]
        lines.append(Content.assemble((f"{d.probability:5.0%} ", "bold"), ("█" * filled, "$success" if ok else "$error"),
                                      ("░" * (bar_width - filled), "$text-muted"), (f" {host} {d.subset}".rstrip(), "")))
    for f in fault_lines(t):
        lines.append(f)
    return lines


def step_line(i: int, s: Step) -> Content:
    """One step on one line, for the side-by-side what-if ladder."""
    mark, style = MARK.get(s.verdict, ("?", ""))
    return Content.assemble((f"{i:>2} ", "$text-muted"), (f"{mark} ", f"bold {style}"),
                            (f"{s.stage[:12]:<12} ", "bold" if s.verdict in ("selected", "final") else ""),
                            (s.detail, "$text-muted" if s.verdict == "skipped" else ""))


def _resolve_style(variables: dict, style: str) -> str:
    words = []
    for w in str(style).split():
        if w.startswith("$"):
            value = variables.get(w[1:], "")
            if value.startswith("#"):
                words.append(value)
        elif w in ("bold", "italic", "dim", "reverse", "underline", "strike"):
            words.append(w)
    return " ".join(words)


def to_text(app, item):
    """A table cell as Rich Text: DataTable reads plain strings as Rich markup (so `[` in a
    label would vanish) and cannot measure Textual Content, so every cell goes through here."""
    from rich.style import Style
    from rich.text import Text

    if isinstance(item, Text):
        return item
    if isinstance(item, Content):
        variables = theme_vars(app)
        text = Text(item.plain, no_wrap=True, end="")
        for span in item.spans:
            if isinstance(span.style, str) and span.style:
                resolved = _resolve_style(variables, span.style)
                if resolved:
                    try:
                        text.stylize(Style.parse(resolved), span.start, span.end)
                    except Exception:  # noqa: BLE001
                        pass
        return text
    return Text("" if item is None else str(item), no_wrap=True, end="")


def row(app, *items):
    return [to_text(app, x) for x in items]


def step_wrapped(i: int, s: Step, width: int, with_ref: bool = True) -> Content:
    """One step for the ladder: the reason wrapped under itself (a hanging indent), and the
    source reference on its own line. Plain Content, wrapped here to `width` (the list's width),
    because laying out a Rich table per step on every keystroke costs more than the trace."""
    import textwrap

    mark, style = MARK.get(s.verdict, ("?", ""))
    head = Content.assemble((f"{i:>2} ", "$text-muted"), (f"{mark} ", f"bold {style}"),
                            (f"{s.stage:<16} ", "bold" if s.verdict in ("selected", "final") else ""))
    indent = head.cell_length
    avail = max(16, width - indent - 1)
    detail_style = "$text-muted" if s.verdict == "skipped" else ""
    chunks = textwrap.wrap(s.detail, avail, break_long_words=True, break_on_hyphens=False) or [""]
    lines = [head.append(Content.styled(chunks[0], detail_style))]
    pad = "\u00a0" * indent  # no-break spaces: the list's own wrapping keeps them (plain spaces it strips)
    lines.extend(Content.styled(pad + c, detail_style) for c in chunks[1:])
    if with_ref and s.ref is not None and (s.ref.file or s.ref.name):
        where = f"{short_path(s.ref.file)}:{s.ref.line}" if s.ref.file and s.ref.line else s.ref.short()
        path = f" {s.ref.path}" if s.ref.path and s.ref.file else ""
        for c in textwrap.wrap(f"⏎ {where}{path}", avail, break_long_words=True) or [""]:
            lines.append(Content.styled(pad + c, "$text-muted italic"))
    return Content("\n").join(lines)
