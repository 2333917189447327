"""The game-day journal as data: entries, their JSON-lines form, replay (which edits are still
alive after a restart) and the timeline export (Markdown and JSON).

Pure: no file access and no clock here. The server appends lines to a file in the user's state
directory (meshtui/xds/journal_file.py) and passes `now` in."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meshtui.edits.model import Edit, FaultEdit, FaultTarget, ScopeEdit
from meshtui.edits.ttl import format_duration, is_expired

# Entry kinds
EDIT_ADD = "edit-add"
EDIT_REMOVE = "edit-remove"  # removed by a person (fault rm / scope rm)
CLEAR = "clear"  # the kill switch: every fault at once
EXPIRE = "expire"  # TTL reached while meshtui ran
REVERT = "revert"  # taken back by meshtui itself, e.g. after a NACK
RESTORE = "restore"  # re-applied from the journal on start
DROP_EXPIRED = "drop-expired"  # found expired on start, not restored
PUSH = "push"
ACK = "ack"
NACK = "nack"
SERVER_START = "server-start"
SERVER_STOP = "server-stop"

EDIT_KINDS = {EDIT_ADD, EDIT_REMOVE, CLEAR, EXPIRE, REVERT, RESTORE, DROP_EXPIRED}
ENDED = {EDIT_REMOVE, EXPIRE, REVERT, DROP_EXPIRED}


@dataclass(frozen=True, slots=True)
class JournalEntry:
    at: float  # epoch seconds
    kind: str
    edit_id: str = ""
    edit: dict[str, Any] | None = None  # the whole edit, on edit-add and restore
    proxy: str = ""
    type: str = ""  # CDS/EDS/LDS/RDS/RTDS for push/ack/nack
    version: str = ""
    detail: str = ""
    edit_ids: tuple[str, ...] = field(default=())  # for clear, and pushes caused by edits

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"at": round(self.at, 6), "kind": self.kind}
        for k in ("edit_id", "proxy", "type", "version", "detail"):
            v = getattr(self, k)
            if v:
                d[k] = v
        if self.edit is not None:
            d["edit"] = self.edit
        if self.edit_ids:
            d["edit_ids"] = list(self.edit_ids)
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> JournalEntry:
        if not isinstance(d, dict) or not isinstance(d.get("kind"), str):
            raise ValueError("not a journal entry")
        at = d.get("at")
        if not isinstance(at, (int, float)):
            raise ValueError("journal entry without a time")
        edit = d.get("edit")
        ids = d.get("edit_ids") or ()
        return JournalEntry(
            at=float(at), kind=d["kind"], edit_id=str(d.get("edit_id", "")),
            edit=edit if isinstance(edit, dict) else None, proxy=str(d.get("proxy", "")),
            type=str(d.get("type", "")), version=str(d.get("version", "")), detail=str(d.get("detail", "")),
            edit_ids=tuple(str(x) for x in ids) if isinstance(ids, list) else (),
        )


def encode_line(entry: JournalEntry) -> str:
    if entry.edit is None:
        return encode_fields(entry.at, entry.kind, entry.edit_id, entry.proxy, entry.type, entry.version,
                             entry.detail, entry.edit_ids)
    return json.dumps(entry.to_dict(), separators=(",", ":"), sort_keys=True)


_quote = json.encoder.encode_basestring_ascii  # what json.dumps quotes a str with (ensure_ascii)


def encode_fields(at: float, kind: str, edit_id: str = "", proxy: str = "", xds_type: str = "",
                  version: str = "", detail: str = "", edit_ids: tuple[str, ...] = ()) -> str:
    """encode_line(JournalEntry(at, kind, ...)) of an entry without an edit, byte for byte, made
    without the entry, its dict or json.dumps: the server journals every push and ACK (400 lines
    for a fault's fan-out to 200 proxies). Anything out of the ordinary (a non-str field, a time
    that is not a finite float) goes through json.dumps."""
    t = round(at, 6)
    plain = (type(t) is float and t - t == 0.0 and type(kind) is str and type(edit_id) is str
             and type(proxy) is str and type(xds_type) is str and type(version) is str and type(detail) is str)
    for x in edit_ids:
        if type(x) is not str:
            plain = False
    if not plain:
        entry = JournalEntry(at, kind, edit_id, None, proxy, xds_type, version, detail, tuple(edit_ids))
        return json.dumps(entry.to_dict(), separators=(",", ":"), sort_keys=True)
    parts = ['{"at":', float.__repr__(t)]
    if detail:
        parts += [',"detail":', _quote(detail)]
    if edit_id:
        parts += [',"edit_id":', _quote(edit_id)]
    if edit_ids:
        parts += [',"edit_ids":[', ",".join([_quote(x) for x in edit_ids]), "]"]
    parts += [',"kind":', _quote(kind)]
    if proxy:
        parts += [',"proxy":', _quote(proxy)]
    if xds_type:
        parts += [',"type":', _quote(xds_type)]
    if version:
        parts += [',"version":', _quote(version)]
    parts.append("}")
    return "".join(parts)


def decode_lines(lines: Iterable[str]) -> tuple[list[JournalEntry], list[tuple[int, str]]]:
    """Entries, and (line number, reason) for lines that could not be read: a journal cut short
    by a crash must not stop meshtui from starting."""
    entries: list[JournalEntry] = []
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            entries.append(JournalEntry.from_dict(json.loads(line)))
        except (ValueError, TypeError) as exc:
            bad.append((n, str(exc) or "unreadable"))
    return entries, bad


# ---- edits <-> dicts ------------------------------------------------------------------------


def edit_to_dict(edit: Edit) -> dict[str, Any]:
    if isinstance(edit, FaultEdit):
        t = edit.target
        return {
            "type": "fault", "id": edit.id,
            "target": {k: v for k, v in (("virtual_service", t.virtual_service), ("rule", t.rule),
                                         ("host", t.host), ("subset", t.subset)) if v is not None},
            "percent": edit.percent, "abort_status": edit.abort_status, "delay_seconds": edit.delay_seconds,
            "ttl_seconds": edit.ttl_seconds, "created_at": edit.created_at, "reason": edit.reason,
            "owner": edit.owner,
        }
    return {
        "type": "scope", "id": edit.id, "namespace": edit.namespace, "egress_hosts": list(edit.egress_hosts),
        "outbound_traffic_policy": edit.outbound_traffic_policy, "workload_labels": dict(edit.workload_labels),
        "ttl_seconds": edit.ttl_seconds, "created_at": edit.created_at, "reason": edit.reason, "owner": edit.owner,
    }


def edit_from_dict(d: dict[str, Any]) -> Edit:
    """Raises ValueError naming the field when d is not an edit."""
    if not isinstance(d, dict):
        raise ValueError("edit: expected an object")
    kind = d.get("type")
    try:
        if kind == "fault":
            t = d.get("target") or {}
            return FaultEdit(
                id=str(d["id"]),
                target=FaultTarget(virtual_service=t.get("virtual_service"), rule=t.get("rule"),
                                   host=t.get("host"), subset=t.get("subset")),
                percent=float(d["percent"]),
                abort_status=None if d.get("abort_status") is None else int(d["abort_status"]),
                delay_seconds=None if d.get("delay_seconds") is None else float(d["delay_seconds"]),
                ttl_seconds=float(d.get("ttl_seconds", 600.0)), created_at=float(d.get("created_at", 0.0)),
                reason=str(d.get("reason", "")), owner=str(d.get("owner", "")),
            )
        if kind == "scope":
            ttl = d.get("ttl_seconds")
            return ScopeEdit(
                id=str(d["id"]), namespace=str(d["namespace"]),
                egress_hosts=tuple(str(h) for h in d.get("egress_hosts") or ()),
                outbound_traffic_policy=d.get("outbound_traffic_policy"),
                workload_labels={str(k): str(v) for k, v in (d.get("workload_labels") or {}).items()},
                ttl_seconds=None if ttl is None else float(ttl), created_at=float(d.get("created_at", 0.0)),
                reason=str(d.get("reason", "")), owner=str(d.get("owner", "")),
            )
    except KeyError as exc:
        raise ValueError(f"edit: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise ValueError(f"edit: {exc}") from None
    raise ValueError(f"edit: unknown type {kind!r} (expected 'fault' or 'scope')")


# ---- replay ---------------------------------------------------------------------------------


@dataclass
class Replay:
    active: list[Edit]  # alive at `now`: to restore
    expired: list[Edit]  # were alive when meshtui stopped, but their TTL has passed
    unreadable: list[str] = field(default_factory=list)


def replay(entries: Iterable[JournalEntry], now: float) -> Replay:
    """Which edits the journal says are in force, split by whether they have expired by now."""
    live: dict[str, Edit] = {}
    unreadable: list[str] = []
    for e in entries:
        if e.kind in (EDIT_ADD, RESTORE) and e.edit is not None:
            try:
                edit = edit_from_dict(e.edit)
            except ValueError as exc:
                unreadable.append(f"{e.edit_id or '?'}: {exc}")
                continue
            live[edit.id] = edit
        elif e.kind in ENDED:
            live.pop(e.edit_id, None)
        elif e.kind == CLEAR:
            for eid in e.edit_ids:
                live.pop(eid, None)
    active = [ed for ed in live.values() if not is_expired(ed, now)]
    expired = [ed for ed in live.values() if is_expired(ed, now)]
    return Replay(active, expired, unreadable)


# ---- timeline export ------------------------------------------------------------------------


def describe_edit(edit: Edit) -> str:
    if isinstance(edit, FaultEdit):
        what = f"abort {edit.abort_status}" if edit.abort_status is not None else f"delay {format_duration(edit.delay_seconds or 0)}"
        return f"fault {what} at {edit.percent:g}% on {edit.target.describe()} (ttl {format_duration(edit.ttl_seconds)})"
    hosts = ", ".join(edit.egress_hosts) or "(none)"
    sel = ",".join(f"{k}={v}" for k, v in sorted(edit.workload_labels.items()))
    pol = f", outbound {edit.outbound_traffic_policy}" if edit.outbound_traffic_policy else ""
    ttl = f" (ttl {format_duration(edit.ttl_seconds)})" if edit.ttl_seconds is not None else ""
    return f"sidecar scope in {edit.namespace}{' [' + sel + ']' if sel else ''}: egress {hosts}{pol}{ttl}"


def _ts(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def summarize(entry: JournalEntry, edits: dict[str, Edit] | None = None) -> str:
    """One line for a person."""
    edits = edits or {}
    k = entry.kind
    if k in (EDIT_ADD, RESTORE) and entry.edit is not None:
        try:
            desc = describe_edit(edit_from_dict(entry.edit))
        except ValueError:
            desc = "(unreadable edit)"
        verb = "added" if k == EDIT_ADD else "restored from the journal"
        reason = entry.edit.get("reason") or ""
        owner = entry.edit.get("owner") or ""
        tail = "".join([f" by {owner}" if owner else "", f": {reason}" if reason else ""])
        return f"{entry.edit_id} {verb}: {desc}{tail}"
    if k == EDIT_REMOVE:
        return f"{entry.edit_id} removed" + (f" ({entry.detail})" if entry.detail else "")
    if k == EXPIRE:
        return f"{entry.edit_id} expired (TTL reached)"
    if k == REVERT:
        return f"{entry.edit_id} reverted: {entry.detail}"
    if k == DROP_EXPIRED:
        return f"{entry.edit_id} dropped on start: expired while meshtui was not running"
    if k == CLEAR:
        return f"kill switch: {len(entry.edit_ids)} fault(s) cleared ({', '.join(entry.edit_ids) or 'none'})"
    if k == PUSH:
        cause = f" for {', '.join(entry.edit_ids)}" if entry.edit_ids else ""
        return f"pushed {entry.type} {entry.version} to {entry.proxy}{cause}"
    if k == ACK:
        return f"{entry.proxy} accepted {entry.type} {entry.version}"
    if k == NACK:
        cause = f" (from {', '.join(entry.edit_ids)})" if entry.edit_ids else ""
        return f"{entry.proxy} REJECTED {entry.type} {entry.version}{cause}: {entry.detail}"
    if k == SERVER_START:
        return f"meshtui started{': ' + entry.detail if entry.detail else ''}"
    if k == SERVER_STOP:
        return "meshtui stopped"
    return f"{k} {entry.edit_id} {entry.detail}".strip()


def timeline_json(entries: Iterable[JournalEntry]) -> dict[str, Any]:
    items = list(entries)
    return {
        "apiVersion": "meshtui/v1alpha1",
        "kind": "GameDayTimeline",
        "entries": [{**e.to_dict(), "time": _ts(e.at), "summary": summarize(e)} for e in items],
    }


def timeline_markdown(entries: Iterable[JournalEntry], title: str = "Game-day timeline") -> str:
    items = list(entries)
    lines = [f"# {title}", ""]
    if not items:
        lines.append("_The journal is empty._")
        return "\n".join(lines) + "\n"
    lines.append(f"From {_ts(items[0].at)} to {_ts(items[-1].at)}, {len(items)} entries.")
    lines.append("")
    edits_added = [e for e in items if e.kind == EDIT_ADD]
    nacks = [e for e in items if e.kind == NACK]
    lines.append(f"- edits: {len(edits_added)}; rejected pushes: {len(nacks)}")
    lines.append("")
    lines.append("| time (UTC) | event | detail |")
    lines.append("| --- | --- | --- |")
    for e in items:
        detail = summarize(e).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {_ts(e.at)} | {e.kind} | {detail} |")
    return "\n".join(lines) + "\n"
