"""The trace as a step ladder for people: the verdict up front, then every step Envoy takes with
✓/✗ and the reason, readable without colour (NO_COLOR) as well as with it. Glyphs, colours and
sentences come from simulate/present.py, which the TUI uses too."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from meshtui.simulate.present import (
    SHOWS_DESTINATIONS,
    fault_texts,
    header_flags,
    outcome_look,
    policy_parts,
    request_text,
    stage_label,
    verdict_look,
)
from meshtui.simulate.trace import Trace


def outcome_line(t: Trace) -> Text:
    style = outcome_look(t.outcome).rich
    head = Text()
    head.append(t.outcome.upper(), style=style)
    if t.status is not None:
        head.append(f"  {t.status}" + (f" {t.response_flags}" if t.response_flags else ""), style=style)
    head.append("  " + t.summary())
    return head


def trace_lines(t: Trace) -> list[Text]:
    out: list[Text] = []
    r = t.request
    who = f"{t.proxy.type} {t.proxy.namespace}/{t.proxy.workload}"
    assumed = ""
    if not r.port_explicit and r.port:  # the URL had none: say which one the trace used, and why
        default = 443 if r.scheme == "https" else 80
        assumed = (f"   (no port given: {r.port} assumed, the {r.scheme} default)" if r.port == default else
                   f"   (no port given: {r.port} assumed, the service's only port; curl would dial {default})")
    out.append(Text(f"{request_text(r)} {header_flags(r)}".rstrip() + f"   from {who}{assumed}",
                    style="bold"))
    out.append(outcome_line(t))
    if t.outcome in SHOWS_DESTINATIONS:
        for d in t.destinations:
            bar = "█" * round(d.probability * 20)
            line = Text(f"  {d.probability:6.1%} ", style="bold")
            line.append(bar.ljust(20), style="green" if d.cluster_found and d.endpoints else "red")
            line.append(f" {d.cluster}")
            if not d.cluster_found:
                line.append("  (cluster not found: 503 NC)", style="red")
            elif not d.endpoints:
                line.append("  (no endpoints: 503 UH)", style="red")
            else:
                line.append(f"  {len(d.endpoints)} endpoint{'s' if len(d.endpoints) != 1 else ''}", style="dim")
            out.append(line)
    for text in fault_texts(t.fault):
        out.append(Text(f"  fault: {text}", style="yellow"))
    if t.retries is not None:  # a route action was taken
        out.append(Text("  " + " · ".join(policy_parts(t, retry_width=0)), style="dim"))
    out.append(Text(""))
    for i, s in enumerate(t.steps, 1):
        look = verdict_look(s.verdict)
        line = Text(f"{i:3} ")
        line.append(f"{look.glyph} ", style=look.rich)
        line.append(f"{stage_label(s.stage):<17}", style="bold" if look.emphasis else "")
        line.append(s.detail, style="dim" if look.muted else "")
        if s.ref is not None and s.ref.file:
            line.append(f"  [{s.ref.file}:{s.ref.line}" + (f" {s.ref.path}" if s.ref.path else "") + "]", style="dim")
        out.append(line)
    return out


def print_trace(t: Trace, color: bool) -> None:
    console = Console(no_color=not color, force_terminal=color, highlight=False, soft_wrap=True,
                      color_system="auto" if color else None)
    for line in trace_lines(t):
        console.print(line)
