"""Write game-day edits to the cluster: server-side apply as field manager `meshtui`, a
server-side dry run first, the diff shown and confirmed, then the apply; reverts likewise.

istiod then pushes the change to every proxy, which is how a game day reaches past one machine.
Only with --allow-write, never with --readonly.
"""

from __future__ import annotations

import builtins
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

from meshtui.cluster.errors import Action, ClusterNotFound
from meshtui.cluster.http import KubeHttp, parse_json
from meshtui.cluster.kinds import ResourceKind, kind_by_name
from meshtui.cluster.patch import (
    FIELD_MANAGER,
    ApplyPlan,
    EditRecord,
    PatchError,
    diff,
    edit_records,
    expired,
    fault_patch,
    pick_sidecar,
    revert_plan,
    scope_patch,
    vs_ref,
)
from meshtui.edits.model import Edit, FaultEdit, ScopeEdit
from meshtui.errors import UsageError

Confirm = Callable[[str], bool]
# journal(event, record): "applied" / "reverted" / "expired" with the edit's record and object
JournalHook = Callable[[str, dict], None]


@dataclass
class WritePlan:
    """What an apply would do: the plan, the live object, the dry-run result and their diff."""

    plan: ApplyPlan
    record: EditRecord | None
    live: dict | None
    after: dict | None
    diff: str
    edit: Edit | None = None  # the edit being applied (None for a revert)

    @property
    def changes_anything(self) -> bool:
        return bool(self.diff)


@dataclass
class WriteResult:
    plan: WritePlan
    applied: bool
    result: dict | None  # the object as the server returned it (None for a delete)
    message: str


class WriteRefused(UsageError):
    """Write-back not allowed by the flags, or not confirmed."""


def check_allowed(allow_write: bool, readonly: bool) -> None:
    if readonly:
        raise WriteRefused("--readonly is set: meshtui will not write to the cluster")
    if not allow_write:
        raise WriteRefused("writing edits to the cluster needs --allow-write (dry run and diff come first)")


class ClusterWriter:
    """Reads the live object, builds the apply body (meshtui.cluster.patch), dry-runs it, shows
    the diff, and applies it once confirmed."""

    def __init__(self, http: KubeHttp, kinds: list[ResourceKind], *, allow_write: bool = False,
                 readonly: bool = False, journal: JournalHook | bool | None = True) -> None:
        self.http = http
        self.allow_write = allow_write
        self.readonly = readonly
        # journal=True: the game-day journal on disk; False/None: none; a callable: that.
        self.journal: JournalHook | None = default_journal() if journal is True else (journal or None)
        by_kind = {k.kind: k for k in kinds}
        vs = by_kind.get("VirtualService") or kind_by_name("VirtualService")
        sc = by_kind.get("Sidecar") or kind_by_name("Sidecar")
        assert vs is not None and sc is not None
        self.vs, self.sidecar = vs, sc

    @classmethod
    def for_source(cls, source, **kw) -> ClusterWriter:  # source: meshtui.cluster.source.ClusterSource
        return cls(source.http, source.kinds, **kw)

    # -- reading ------------------------------------------------------------------------------
    def _kind(self, kind: str) -> ResourceKind:
        return self.vs if kind == "VirtualService" else self.sidecar

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        rk = self._kind(kind)
        action = Action("get", rk.plural, rk.group, namespace, name)
        try:
            resp = self.http.request("GET", rk.object_path(namespace, name), action)
        except ClusterNotFound:
            return None
        return parse_json(resp.body, self.http.endpoint, action)

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        rk = self._kind(kind)
        data = self.http.get_json(rk.collection_path(namespace),
                                  Action("list", rk.plural, rk.group, namespace))
        items = [i for i in data.get("items") or [] if isinstance(i, dict)]
        for i in items:
            i.setdefault("kind", rk.kind)
            i.setdefault("apiVersion", rk.api_version)
        return items

    # -- planning -----------------------------------------------------------------------------
    def plan(self, edit: Edit) -> WritePlan:
        """Build the apply body from the live object and dry-run it (dryRun=All)."""
        try:
            if isinstance(edit, FaultEdit):
                ns, name = vs_ref(edit)
                live = self.get("VirtualService", ns, name)
                if live is None:
                    raise UsageError(f"VirtualService {ns}/{name} does not exist on {self.http.endpoint.describe()}")
                plan, record = fault_patch(live, edit, self.vs.api_version)
            elif isinstance(edit, ScopeEdit):
                live = pick_sidecar(self.list("Sidecar", edit.namespace), edit)
                plan, record = scope_patch(live, edit, self.sidecar.api_version)
            else:
                raise UsageError(f"cannot write {type(edit).__name__} to the cluster")
        except PatchError as exc:
            raise UsageError(str(exc)) from None
        wp = self._dry_run(plan, record, live)
        wp.edit = edit
        return wp

    def plan_revert(self, kind: str, namespace: str, name: str, edit_id: str) -> WritePlan:
        live = self.get(kind, namespace, name)
        if live is None:
            raise UsageError(f"{kind} {namespace}/{name} does not exist on {self.http.endpoint.describe()}")
        record = next((r for r in edit_records(live) if r.id == edit_id), None)
        if record is None:
            raise UsageError(f"{kind} {namespace}/{name} carries no meshtui edit {edit_id}")
        try:
            plan = revert_plan(live, record, self._kind(kind).api_version)
        except PatchError as exc:
            raise UsageError(str(exc)) from None
        return self._dry_run(plan, record, live)

    def _dry_run(self, plan: ApplyPlan, record: EditRecord | None, live: dict | None) -> WritePlan:
        after = self._send(plan, dry_run=True)
        label = f"{plan.kind} {plan.namespace}/{plan.name}"
        return WritePlan(plan, record, live, after, diff(live, after, label))

    # -- writing ------------------------------------------------------------------------------
    def _send(self, plan: ApplyPlan, dry_run: bool) -> dict | None:
        rk = self._kind(plan.kind)
        path = rk.object_path(plan.namespace, plan.name)
        query: list[tuple[str, object]] = []
        if dry_run:
            query.append(("dryRun", "All"))
        if plan.delete:
            action = Action("delete", rk.plural, rk.group, plan.namespace, plan.name)
            body = {"kind": "DeleteOptions", "apiVersion": "v1",
                    "preconditions": {"resourceVersion": plan.resource_version} if plan.resource_version else {}}
            self.http.request("DELETE", path, action, query=query, body=body, content_type="application/json")
            return None
        action = Action("patch", rk.plural, rk.group, plan.namespace, plan.name)
        query += [("fieldManager", FIELD_MANAGER), ("force", "true")]
        # JSON is YAML: the apply content type takes it as is.
        resp = self.http.request("PATCH", path, action, query=query, body=json.dumps(plan.body).encode(),
                                 content_type="application/apply-patch+yaml")
        return parse_json(resp.body, self.http.endpoint, action)

    def apply(self, wp: WritePlan, *, confirm: Confirm | None = None, yes: bool = False) -> WriteResult:
        """Apply a dry-run plan after confirmation (`yes` skips asking)."""
        check_allowed(self.allow_write, self.readonly)
        if not wp.changes_anything:
            return WriteResult(wp, False, wp.live, f"{wp.plan.summary}: nothing to change")
        if not yes:
            if confirm is None:
                raise WriteRefused("write-back needs confirmation: run in a terminal or pass --yes")
            if not confirm(wp.diff):
                return WriteResult(wp, False, wp.live, f"{wp.plan.summary}: not applied (not confirmed)")
        result = self._send(wp.plan, dry_run=False)
        event = "applied" if wp.edit is not None else "reverted"
        self._journal(event, wp)
        return WriteResult(wp, True, result, f"{wp.plan.summary}: applied")

    def write(self, edit: Edit, *, confirm: Confirm | None = None, yes: bool = False) -> WriteResult:
        """plan() then apply(): the whole dry run, diff, confirm, apply sequence."""
        check_allowed(self.allow_write, self.readonly)
        return self.apply(self.plan(edit), confirm=confirm, yes=yes)

    def revert(self, kind: str, namespace: str, name: str, edit_id: str, *,
               confirm: Confirm | None = None, yes: bool = False) -> WriteResult:
        check_allowed(self.allow_write, self.readonly)
        return self.apply(self.plan_revert(kind, namespace, name, edit_id), confirm=confirm, yes=yes)

    # -- what is there, and what has expired ----------------------------------------------------
    def edits(self, namespace: str | None = None) -> builtins.list[tuple[str, str, str, EditRecord]]:
        """(kind, namespace, name, record) for every meshtui edit on VirtualServices and Sidecars."""
        out = []
        for kind in ("VirtualService", "Sidecar"):
            for obj in self.list(kind, namespace):
                meta = obj.get("metadata") or {}
                for r in edit_records(obj):
                    out.append((kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""), r))
        return out

    def revert_expired(self, now: float, namespace: str | None = None) -> builtins.list[WriteResult]:
        """Revert every meshtui edit whose expiry has passed. No confirmation: the expiry was the
        confirmed part of the edit."""
        check_allowed(self.allow_write, self.readonly)
        done: list[WriteResult] = []
        for kind in ("VirtualService", "Sidecar"):
            for obj in self.list(kind, namespace):
                for r in expired(obj, now):
                    meta = obj.get("metadata") or {}
                    wp = self.plan_revert(kind, str(meta.get("namespace")), str(meta.get("name")), r.id)
                    res = self.apply(wp, yes=True)
                    self._journal("expired", wp)
                    done.append(res)
        return done

    def _journal(self, event: str, wp: WritePlan) -> None:
        if self.journal is None or wp.record is None:
            return
        entry = {
            "event": event, "id": wp.record.id, "type": wp.record.type, "owner": wp.record.owner,
            "reason": wp.record.reason, "createdAt": wp.record.created_at, "expiresAt": wp.record.expires_at,
            "target": {"cluster": self.http.endpoint.context, "server": self.http.endpoint.server,
                       "kind": wp.plan.kind, "namespace": wp.plan.namespace, "name": wp.plan.name},
            "summary": wp.plan.summary,
            "edit": wp.edit,
        }
        try:
            self.journal(event, entry)
        except Exception as exc:  # noqa: BLE001 - the cluster write happened; say the journal failed
            print(f"meshtui: warning: could not journal {event} of edit {wp.record.id}: {exc}", file=sys.stderr)


# Journal kinds of their own: the xDS server's replay restores only `edit-add` entries, and a
# cluster edit must never be restored into local proxies.
JOURNAL_KINDS = {"applied": "cluster-apply", "reverted": "cluster-revert", "expired": "cluster-expire"}


def default_journal(path=None) -> JournalHook:
    """Append cluster write-back events to the game-day journal (meshtui/edits/journal.py, on
    disk through meshtui/xds/journal_file.py), so `meshtui journal` shows them in the timeline."""
    import time

    from meshtui.edits.journal import JournalEntry, edit_to_dict
    from meshtui.xds.journal_file import JournalFile

    jf = JournalFile(path)

    def hook(event: str, entry: dict) -> None:
        edit = entry.get("edit")
        t = entry["target"]
        detail = f"{entry['summary']} (cluster {t['cluster']} at {t['server']})"
        jf.append(JournalEntry(at=time.time(), kind=JOURNAL_KINDS.get(event, f"cluster-{event}"),
                               edit_id=str(entry["id"]), edit=edit_to_dict(edit) if edit is not None else None,
                               detail=detail))

    return hook


def tty_confirm(stream_in=None, stream_out=None) -> Confirm | None:
    """A prompt on the terminal that shows the diff and asks y/N; None when not on a terminal
    (the caller must then pass --yes)."""
    sin = stream_in or sys.stdin
    sout = stream_out or sys.stderr
    if not (hasattr(sin, "isatty") and sin.isatty()):
        return None

    def ask(diff_text: str) -> bool:
        sout.write(diff_text if diff_text.endswith("\n") else diff_text + "\n")
        sout.write("Apply this change to the cluster? [y/N] ")
        sout.flush()
        answer = sin.readline().strip().lower()
        return answer in ("y", "yes")

    return ask
