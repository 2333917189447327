"""Bounds on every field of an edit, checked where an edit enters (the control API, the demo,
a journal being restored) so nothing out of range reaches translation or Envoy.

Pure: limits come in as data (the server's --max-ttl), no clock, no I/O."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TypeGuard

from meshtui.edits.model import Edit, FaultEdit, ScopeEdit

# Edit ids end up in runtime keys and journal lines: a short DNS-label-like token.
EDIT_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_HOST = re.compile(r"(\*|\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?|\*")
_SUBSET = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_KEY = re.compile(r"([A-Za-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


@dataclass(frozen=True, slots=True)
class EditLimits:
    max_ttl: float = 24 * 3600.0  # serve --max-ttl
    max_delay: float = 3600.0  # a fixed delay longer than an hour is an outage, not a fault
    max_reason: int = 1024  # characters
    max_owner: int = 256
    max_rule: int = 10_000
    max_egress_hosts: int = 256
    max_labels: int = 64


DEFAULT_LIMITS = EditLimits()


def _finite(x: object) -> TypeGuard[float]:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _text_ok(s: object, limit: int) -> bool:
    return isinstance(s, str) and len(s) <= limit and not any(ord(c) < 32 and c not in "\t" for c in s)


def _show(seconds: float) -> str:
    from meshtui.edits.ttl import format_duration

    return format_duration(seconds) if seconds < 1e7 else f"{seconds:g}s"


def _ttl(errs: list[str], ttl: object, limits: EditLimits) -> None:
    if not _finite(ttl):
        errs.append(f"--ttl {ttl!r}: must be a finite duration, e.g. 10m")
    elif not 0 < ttl <= limits.max_ttl:
        errs.append(f"--ttl {_show(float(ttl))}: must be more than 0 and at most "
                    f"{_show(limits.max_ttl)} (the server's --max-ttl)")


def validate_edit(edit: Edit, limits: EditLimits = DEFAULT_LIMITS) -> list[str]:
    """Everything that can be checked without the mesh: types, ranges, lengths. Each message
    names the flag it is about."""
    errs: list[str] = []
    if not isinstance(edit.id, str) or not EDIT_ID.fullmatch(edit.id):
        errs.append(f"id {edit.id!r}: lower-case letters, digits and '-', at most 48 characters")
    if not _finite(edit.created_at):
        errs.append("createdAt: not a finite time")
    if not _text_ok(edit.reason, limits.max_reason):
        errs.append(f"--reason: at most {limits.max_reason} characters, no control characters")
    if not _text_ok(edit.owner, limits.max_owner):
        errs.append(f"owner: at most {limits.max_owner} characters, no control characters")
    if isinstance(edit, FaultEdit):
        _fault(errs, edit, limits)
    elif isinstance(edit, ScopeEdit):
        _scope(errs, edit, limits)
    return errs


def _fault(errs: list[str], edit: FaultEdit, limits: EditLimits) -> None:
    if not _finite(edit.percent) or not 0.0 <= edit.percent <= 100.0:
        errs.append(f"--percent {edit.percent!r}: must be a number between 0 and 100")
    if (edit.abort_status is None) == (edit.delay_seconds is None):
        errs.append("a fault is either an abort (--abort STATUS) or a delay (--delay DURATION)")
    if edit.abort_status is not None and (not isinstance(edit.abort_status, int) or isinstance(edit.abort_status, bool)
                                          or not 200 <= edit.abort_status <= 599):
        errs.append(f"--abort {edit.abort_status!r}: an HTTP status between 200 and 599")
    d = edit.delay_seconds
    if d is not None:
        if not _finite(d):
            errs.append(f"--delay {d!r}: must be a finite duration, e.g. 200ms")
        elif not 0.001 <= d <= limits.max_delay:
            errs.append(f"--delay {_show(float(d))}: must be at least 1ms and at most {_show(limits.max_delay)}")
    _ttl(errs, edit.ttl_seconds, limits)
    t = edit.target
    for name, v in (("--virtual-service", t.virtual_service), ("--host", t.host), ("--subset", t.subset)):
        if v is not None and not isinstance(v, str):
            errs.append(f"{name}: expected a string")
            return
    if t.rule is not None and (not isinstance(t.rule, int) or isinstance(t.rule, bool)):
        errs.append("--rule: an index into spec.http, from 0")
        return
    if bool(t.virtual_service) == bool(t.host):
        errs.append("a fault targets either --virtual-service NS/NAME or --host HOST")
    if t.rule is not None and not t.virtual_service:
        errs.append("--rule needs --virtual-service")
    if t.subset is not None and not t.host:
        errs.append("--subset needs --host")
    if t.virtual_service:
        ns, sep, name = t.virtual_service.partition("/")
        if not sep or not _DNS_LABEL.fullmatch(ns) or not name or len(name) > 253 or "/" in name:
            errs.append(f"--virtual-service {t.virtual_service[:80]!r}: expected NAMESPACE/NAME")
    if t.rule is not None and not 0 <= t.rule <= limits.max_rule:
        errs.append("--rule: an index into spec.http, from 0")
    if t.host and not _HOST.fullmatch(t.host):
        errs.append(f"--host {t.host[:80]!r}: not a host name")
    if t.subset is not None and not _SUBSET.fullmatch(t.subset):
        errs.append(f"--subset {t.subset[:80]!r}: not a subset name")


def _scope(errs: list[str], edit: ScopeEdit, limits: EditLimits) -> None:
    if not edit.namespace:
        errs.append("--namespace is required for a scope edit")
    elif not isinstance(edit.namespace, str) or not _DNS_LABEL.fullmatch(edit.namespace):
        errs.append(f"--namespace {str(edit.namespace)[:80]!r}: not a namespace name")
    if edit.outbound_traffic_policy not in (None, "ALLOW_ANY", "REGISTRY_ONLY"):
        errs.append(f"--outbound-policy {str(edit.outbound_traffic_policy)[:40]!r}: ALLOW_ANY or REGISTRY_ONLY")
    if len(edit.egress_hosts) > limits.max_egress_hosts:
        errs.append(f"--egress-host: at most {limits.max_egress_hosts}")
    for h in edit.egress_hosts[: limits.max_egress_hosts]:
        ns, sep, host = h.partition("/") if isinstance(h, str) else ("", "", "")
        if not sep or not (ns in (".", "*", "~") or _DNS_LABEL.fullmatch(ns)) or not _HOST.fullmatch(host):
            errs.append(f"--egress-host {str(h)[:80]!r}: expected NAMESPACE/HOST, e.g. ./* or istio-system/*")
    if len(edit.workload_labels) > limits.max_labels:
        errs.append(f"--selector: at most {limits.max_labels} labels")
    for k, v in list(edit.workload_labels.items())[: limits.max_labels]:
        if not _LABEL_KEY.fullmatch(k) or not _LABEL_VALUE.fullmatch(v):
            errs.append(f"--selector {k[:60]}={v[:60]}: not a Kubernetes label")
    if edit.ttl_seconds is not None:
        _ttl(errs, edit.ttl_seconds, limits)
