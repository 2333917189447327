"""The trace as a step ladder for people: the verdict up front, then every step Envoy takes with
✓/✗ and the reason, readable without colour (NO_COLOR) as well as with it."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from meshtui.simulate.trace import Trace

MARK = {"selected": ("✓", "green"), "no-match": ("✗", "red"), "skipped": ("-", "dim"), "info": ("·", "cyan"),
        "warning": ("!", "yellow"), "final": ("→", "bold")}
OUTCOME_STYLE = {"routed": "bold green", "passthrough": "bold yellow", "redirect": "bold cyan",
                 "direct-response": "bold cyan"}


def outcome_line(t: Trace) -> Text:
    style = OUTCOME_STYLE.get(t.outcome, "bold red")
    head = Text()
    head.append(t.outcome.upper(), style=style)
    if t.status is not None:
        head.append(f"  {t.status}" + (f" {t.response_flags}" if t.response_flags else ""), style=style)
    head.append("  " + t.summary())
    return head


def trace_lines(t: Trace) -> list[Text]:
    out: list[Text] = []
    r = t.request
    hdrs = " ".join(f"-H '{k}: {v}'" for k, v in r.headers.items())
    proxy = t.proxy
    who = f"{proxy['type']} {proxy['namespace']}/{proxy['workload']}"
    out.append(Text(f"{r.method} {r.scheme}://{r.authority or r.host}{r.path_with_query} {hdrs}".rstrip() + f"   from {who}", style="bold"))
    out.append(outcome_line(t))
    if t.destinations and t.outcome in ("routed", "fault-abort"):
        for d in t.destinations:
            bar = "█" * round(d.probability * 20)
            line = Text(f"  {d.probability:6.1%} ", style="bold")
            line.append(bar.ljust(20), style="green" if d.cluster_found else "red")
            line.append(f" {d.cluster}")
            if not d.cluster_found:
                line.append("  (cluster not found: 503 NC)", style="red")
            elif not d.endpoints:
                line.append("  (no endpoints: 503 UH)", style="red")
            else:
                line.append(f"  {len(d.endpoints)} endpoint{'s' if len(d.endpoints) != 1 else ''}", style="dim")
            out.append(line)
    if t.fault:
        for kind, f in t.fault.items():
            if kind in ("delay", "abort"):
                what = f.get("fixedDelay") if kind == "delay" else (f.get("httpStatus") or f"grpc {f.get('grpcStatus')}")
                out.append(Text(f"  fault: {kind} {what} with probability {f['probability']:.2%}", style="yellow"))
    extras = []
    if t.timeout:
        extras.append(f"timeout {t.timeout:g}s")
    if t.retries is not None:
        extras.append("no retries" if not t.retries.get("attempts") else f"retries {t.retries['attempts']} on {t.retries['retryOn']}")
    if extras:
        out.append(Text("  " + ", ".join(extras), style="dim"))
    out.append(Text(""))
    for i, s in enumerate(t.steps, 1):
        mark, style = MARK.get(s.verdict, ("?", ""))
        line = Text(f"{i:3} ")
        line.append(f"{mark} ", style=style)
        line.append(f"{s.stage:<17}", style="bold" if s.verdict in ("selected", "final") else "")
        line.append(s.detail, style="dim" if s.verdict in ("skipped",) else "")
        if s.ref is not None and s.ref.file:
            line.append(f"  [{s.ref.file}:{s.ref.line}" + (f" {s.ref.path}" if s.ref.path else "") + "]", style="dim")
        out.append(line)
    return out


def print_trace(t: Trace, color: bool) -> None:
    console = Console(no_color=not color, force_terminal=color, highlight=False, soft_wrap=True,
                      color_system="auto" if color else None)
    for line in trace_lines(t):
        console.print(line)
