"""A trace as Textual Content: the verdict up front, weighted destinations as bars, fault
probabilities, the effective policy, and one line per step with ✓/✗ and the reason.

Meaning never rides on colour alone (NO_COLOR, snapshot diffs): every verdict has a glyph and a
word. Styles are theme variables, so light and dark themes both read well."""

from __future__ import annotations

import json

from textual.content import Content

from meshtui.simulate.present import (
    SHOWS_DESTINATIONS,
    fault_texts,
    header_flags,
    outcome_look,
    policy_parts,
    request_text,
    short_cluster,
    stage_label,
    verdict_look,
)
from meshtui.simulate.trace import Step, Trace
from meshtui.tui.yamltext import short_path


def outcome_style(outcome: str) -> str:
    return outcome_look(outcome).theme


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
    route = next((s.ref for s in t.steps if s.stage == "route" and s.verdict == "selected"), None)
    if route is not None and route.kind not in ("", "VirtualService"):
        # a Gateway API route (istiod's VirtualService made from it is not what the user wrote)
        return f"via {route.kind} {route.namespace}/{route.name}" + (f" {route.path.split('.matches')[0]}" if route.path else "")
    if who is not None:
        rule = f"VirtualService {who.namespace}/{who.name}"
        if t.route_name or t.rule_index is not None:
            rule += f" rule {t.route_name or t.rule_index}"
    else:
        rule = "default route (no VirtualService)"
    return f"via {rule}"


def destination_lines(t: Trace, bar_width: int = 20) -> list[Content]:
    out: list[Content] = []
    if not t.destinations or t.outcome not in SHOWS_DESTINATIONS:
        return out
    for d in t.destinations:
        filled = round(d.probability * bar_width)
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
    return [Content.assemble(("⚡ fault ", "bold $warning"), (text, "$warning")) for text in fault_texts(t.fault)]


def policy_line(t: Trace) -> Content:
    return Content.styled("  " + " · ".join(policy_parts(t)), "$text-muted")


def request_line(t: Trace) -> Content:
    p = t.proxy
    hdrs = header_flags(t.request)
    return Content.assemble((request_text(t.request), "bold"), (f" {hdrs}" if hdrs else "", ""),
                            (f"  from {p.type} {p.namespace}/{p.workload}", "$text-muted"))


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
        out.append(Content.styled(f"rewrite: {json.dumps(t.rewritten.to_json(), sort_keys=True)}", ""))
    if t.location:
        out.append(Content.styled(f"redirect to {t.location}", "$accent"))
    return out


def endpoint_rows(t: Trace) -> list[tuple[str, str, str, str, str]]:
    """(destination, address:port, pod, note, labels)."""
    rows = []
    for d in t.destinations:
        for e in d.endpoints:
            labels = ",".join(f"{k}={v}" for k, v in sorted(e.labels))
            note = "synthesized from a Deployment" if e.synthesized else ""
            if e.cluster:  # several clusters: where the endpoint lives
                note = f"cluster {e.cluster}" + (f", network {e.network}" if e.network else "") + (f"; {note}" if note else "")
            rows.append((short_cluster(d.cluster), f"{e.address}:{e.port}", e.pod or "-", note, labels))
    return rows


def theme_vars(app) -> dict:
    """The app's CSS variables for its current theme, computed once per theme (generating the
    colour system is costly, and every table cell and tree label needs it). Kept on the app, so
    the cache lives and dies with it."""
    theme = getattr(app, "theme", "")
    hit: tuple[str, dict] | None = getattr(app, "_meshtui_theme_vars", None)
    if hit is None or hit[0] != theme:
        hit = (theme, app.get_css_variables())
        app._meshtui_theme_vars = hit
    return hit[1]


def rich_text(app, parts: list[tuple[str, str] | str]):
    """Rich Text for widgets that take Rich labels (Tree): theme variables resolved by hand,
    so the labels follow the theme like the rest (rebuild them when the theme changes)."""
    from rich.errors import StyleSyntaxError
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
        except StyleSyntaxError:  # an odd colour value: plain text is still right
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
    for d in t.destinations if t.outcome in SHOWS_DESTINATIONS else ():
        filled = round(d.probability * bar_width)
        ok = d.cluster_found and bool(d.endpoints)
        host = d.host.split(".")[0]
        lines.append(Content.assemble((f"{d.probability:5.0%} ", "bold"), ("█" * filled, "$success" if ok else "$error"),
                                      ("░" * (bar_width - filled), "$text-muted"), (f" {host} {d.subset}".rstrip(), "")))
    for f in fault_lines(t):
        lines.append(f)
    return lines


def step_line(i: int, s: Step) -> Content:
    """One step on one line, for the side-by-side what-if ladder."""
    look = verdict_look(s.verdict)
    return Content.assemble((f"{i:>2} ", "$text-muted"), (f"{look.glyph} ", f"bold {look.theme}"),
                            (f"{stage_label(s.stage)[:12]:<12} ", "bold" if look.emphasis else ""),
                            (s.detail, "$text-muted" if look.muted else ""))


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
    from rich.errors import StyleSyntaxError
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
                    except StyleSyntaxError:
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

    look = verdict_look(s.verdict)
    head = Content.assemble((f"{i:>2} ", "$text-muted"), (f"{look.glyph} ", f"bold {look.theme}"),
                            (f"{stage_label(s.stage):<16} ", "bold" if look.emphasis else ""))
    indent = head.cell_length
    avail = max(16, width - indent - 1)
    detail_style = "$text-muted" if look.muted else ""
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
