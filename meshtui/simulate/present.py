"""How a trace is shown to people, the same in the CLI and the TUI: one glyph, word and colour per
verdict and outcome, and the sentences for fault, retries and mirrors. Meaning never rides on
colour alone (NO_COLOR): every verdict has a glyph. Colours are given for both renderers: a Rich
colour for the terminal, a Textual theme variable for the TUI (so light and dark themes work)."""

from __future__ import annotations

from dataclasses import dataclass

from meshtui.simulate.request import Request
from meshtui.simulate.trace import Outcome, Stage, Trace, TraceFault, TraceRetries, Verdict
from meshtui.translate.config import RouteMatch


@dataclass(frozen=True, slots=True)
class Look:
    glyph: str
    rich: str  # Rich style
    theme: str  # Textual style with theme variables
    emphasis: bool = False  # the stage name in bold
    muted: bool = False  # the detail dimmed


VERDICT_LOOK: dict[Verdict, Look] = {
    Verdict.SELECTED: Look("✓", "green", "$success", emphasis=True),
    Verdict.NO_MATCH: Look("✗", "red", "$error"),
    Verdict.SKIPPED: Look("-", "dim", "$text-muted", muted=True),
    Verdict.INFO: Look("·", "cyan", "$accent"),
    Verdict.WARNING: Look("!", "yellow", "$warning"),
    Verdict.FINAL: Look("→", "bold", "bold", emphasis=True),
}
UNKNOWN_LOOK = Look("?", "", "")

_GOOD = Look("", "bold green", "$success")
_SOFT = Look("", "bold yellow", "$warning")
_TURN = Look("", "bold cyan", "$accent")
_BAD = Look("", "bold red", "$error")
OUTCOME_LOOK: dict[Outcome, Look] = {
    Outcome.ROUTED: _GOOD, Outcome.PASSTHROUGH: _SOFT, Outcome.REDIRECT: _TURN, Outcome.DIRECT_RESPONSE: _TURN,
    Outcome.FAULT_ABORT: _BAD, Outcome.NO_VIRTUAL_HOST: _BAD, Outcome.NO_ROUTE: _BAD, Outcome.CLUSTER_NOT_FOUND: _BAD,
    Outcome.NO_HEALTHY_UPSTREAM: _BAD, Outcome.BLACKHOLE: _BAD, Outcome.REJECTED: _BAD,
    Outcome.DENIED: _BAD, Outcome.TLS_REFUSED: _BAD,
}

# outcomes whose destinations are worth drawing (the request reached, or failed at, a cluster)
SHOWS_DESTINATIONS = frozenset({Outcome.ROUTED, Outcome.FAULT_ABORT, Outcome.NO_HEALTHY_UPSTREAM, Outcome.CLUSTER_NOT_FOUND,
                                Outcome.DENIED, Outcome.TLS_REFUSED})


# stage names longer than the renderers' 16-column stage field, shortened for people (the JSON
# keeps the full name)
STAGE_LABEL: dict[Stage, str] = {Stage.PEER_AUTHENTICATION: "peer-authn"}


def stage_label(stage: str) -> str:
    try:
        return STAGE_LABEL.get(Stage(stage), str(stage))
    except ValueError:
        return str(stage)


def verdict_look(v: str) -> Look:
    try:
        return VERDICT_LOOK[Verdict(v)]
    except ValueError:
        return UNKNOWN_LOOK


def outcome_look(o: str) -> Look:
    try:
        return OUTCOME_LOOK[Outcome(o)]
    except ValueError:
        return _BAD


def fault_texts(fault: TraceFault | None) -> list[str]:
    """One sentence per injected fault (delay, abort), naming a live game-day fault."""
    if not fault:
        return []
    live = f" (live game-day fault {fault.live.id})" if fault.live is not None else ""
    out = []
    if fault.delay is not None:
        out.append(f"delay {fault.delay.seconds:g}s for {fault.delay.probability:.1%} of requests{live}")
    if fault.abort is not None:
        out.append(f"abort {fault.abort.code_text} for {fault.abort.probability:.1%} of requests{live}")
    return out


def short_cluster(name: str) -> str:
    """outbound|9080|v2|reviews.default.svc.cluster.local -> reviews.default v2 :9080"""
    parts = name.split("|")
    if len(parts) == 4:
        _, port, subset, host = parts
        host = host.removesuffix(".svc.cluster.local")
        return f"{host}{' ' + subset if subset else ''} :{port}"
    return name


def retries_text(r: TraceRetries, width: int = 32) -> str:
    if not r.attempts:
        return "no retries"
    on = r.retry_on
    if width and len(on) > width:
        on = on[: width - 1] + "…"
    return f"{r.attempts} retries ({on})"


def policy_parts(t: Trace, retry_width: int = 32) -> list[str]:
    """timeout · retries · mirrors, as the route sets them."""
    parts = [f"timeout {t.timeout:g}s" if t.timeout else "no timeout"]
    if t.retries is not None:
        parts.append(retries_text(t.retries, retry_width))
    if t.mirrors:
        parts.append(f"mirrors to {', '.join(short_cluster(m.cluster) for m in t.mirrors)}")
    return parts


def request_text(r: Request) -> str:
    """The request as the trace's first line shows it: method and URL, with the Host header as sent."""
    return f"{r.method} {r.scheme}://{r.authority or r.host}{r.path_with_query}"


def header_flags(r: Request) -> str:
    """The request's headers as curl's -H flags (empty without headers)."""
    return " ".join(f"-H '{k}: {v}'" for k, v in r.headers.items())


# a route's path condition in a listing column, one form per Envoy path matcher (the trace's
# sentences say it in words: simulate/matching)
_PATH_PATTERN = {"prefix": "{}*", "path": "{}", "regex": "~{}", "path_separated_prefix": "{}[/*]"}


def path_pattern(m: RouteMatch) -> str:
    """`/api*` (prefix), `/x` (exact), `~re` (regex), `/p[/*]` (path-separated prefix)."""
    return _PATH_PATTERN.get(m.path_kind, "{}").format(m.path)
