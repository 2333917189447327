"""Before/after of a trace for the what-if view: what changed in the verdict, and the two step
ladders aligned so the changed steps line up side by side. Pure."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from meshtui.simulate.trace import Step, Trace


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side ladder. `left`/`right` are None where that side has no step."""

    left: Step | None
    right: Step | None
    tag: str  # equal | changed | removed | added


def _step_key(s: Step) -> tuple[str, str, str]:
    return (s.stage, s.verdict, s.detail)


def align(before: Trace | None, after: Trace | None) -> list[Row]:
    a = before.steps if before else []
    b = after.steps if after else []
    sm = difflib.SequenceMatcher(a=[_step_key(s) for s in a], b=[_step_key(s) for s in b], autojunk=False)
    rows: list[Row] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            rows.extend(Row(a[i], b[j], "equal") for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
        elif op == "replace":
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                left = a[i1 + k] if i1 + k < i2 else None
                right = b[j1 + k] if j1 + k < j2 else None
                rows.append(Row(left, right, "changed" if left and right else ("removed" if left else "added")))
        elif op == "delete":
            rows.extend(Row(a[i], None, "removed") for i in range(i1, i2))
        else:
            rows.extend(Row(None, b[j], "added") for j in range(j1, j2))
    return rows


def _cluster_text(name: str) -> str:
    """outbound|9080|v2|reviews.default.svc.cluster.local -> reviews.default v2:9080"""
    parts = name.split("|")
    if len(parts) == 4:
        _, port, subset, host = parts
        return f"{host.removesuffix('.svc.cluster.local')}{' ' + subset if subset else ''}:{port}"
    return name


def _dests(t: Trace) -> dict[str, float]:
    return {d.cluster: d.probability for d in t.destinations}


def _fault_text(t: Trace) -> str:
    f = t.fault
    parts = []
    if f is not None and f.delay is not None:
        parts.append(f"delay {f.delay.seconds:g}s {f.delay.probability:.0%}")
    if f is not None and f.abort is not None:
        parts.append(f"abort {f.abort.code_text} {f.abort.probability:.0%}")
    return ", ".join(parts) or "none"


def changes(before: Trace | None, after: Trace | None) -> list[str]:
    """Sentences for people: what is different for this request after the edit."""
    if before is None or after is None:
        return []
    out: list[str] = []
    if (before.outcome, before.status) != (after.outcome, after.status):
        b = before.outcome + (f" {before.status}" if before.status else "")
        a = after.outcome + (f" {after.status}" if after.status else "")
        out.append(f"outcome: {b} → {a}")
    if before.route_name != after.route_name or before.rule_index != after.rule_index:
        out.append(f"matched rule: {before.route_name or before.rule_index} → {after.route_name or after.rule_index}")
    db, da = _dests(before), _dests(after)
    if db != da:
        for c in sorted(set(db) | set(da)):
            pb, pa = db.get(c, 0.0), da.get(c, 0.0)
            if abs(pb - pa) > 1e-9:
                out.append(f"{_cluster_text(c)}: {pb:.0%} → {pa:.0%}")
    fb, fa = _fault_text(before), _fault_text(after)
    if fb != fa:
        out.append(f"fault: {fb} → {fa}")
    if before.timeout != after.timeout:
        out.append(f"timeout: {before.timeout or 'none'} → {after.timeout or 'none'}")
    if before.retries != after.retries:
        rb = before.retries.attempts if before.retries is not None else 0
        ra = after.retries.attempts if after.retries is not None else 0
        out.append(f"retries: {rb} → {ra} attempts" if rb != ra else "retry policy changed")
    return out
