"""Edits as server-side-apply bodies, and their reverts. Pure: no kubernetes import, no clock,
no I/O; times are epoch seconds handed in.

Why the bodies look the way they do:
- Istio's CRD lists (`spec.http`, `spec.egress`) are atomic for server-side apply, so a fault on
  one rule is applied as the whole `http` list with that rule's `fault` set. The live object's
  resourceVersion goes into the body, so the apply fails (409) rather than overwrite a change
  made since we read it.
- Apply is forced: the list is usually owned by whoever created the VS (kubectl, Argo CD), and
  taking it is the point of a game-day edit. The diff shown first is the safeguard.
- Each edit is one annotation, `edit.meshtui.io/<id>`, holding JSON: who, why, when it expires,
  and what the fields held before, so a revert (by any meshtui, even after a crash) restores
  exactly that. meshtui's body always carries every meshtui annotation still in force: server-
  side apply deletes fields a manager stops sending.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meshtui.edits.model import FaultEdit, ScopeEdit

FIELD_MANAGER = "meshtui"
ANNOTATION_PREFIX = "edit.meshtui.io/"
SCOPE_SIDECAR_NAME = "default"  # Istio's convention for the namespace-wide Sidecar
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")


class PatchError(ValueError):
    """An edit that cannot be written back as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class EditRecord:
    """What the `edit.meshtui.io/<id>` annotation holds."""

    id: str
    type: str  # "fault" or "scope"
    owner: str
    reason: str
    created_at: float
    expires_at: float | None
    rules: tuple[int, ...] = ()  # fault: the http rule indexes that got the fault
    applied: Any = None  # fault: the HTTPFaultInjection set on each rule
    previous: dict[str, Any] = field(default_factory=dict)  # fault: {rule index: old fault|None}; scope: old fields
    created_object: bool = False  # scope: meshtui created this Sidecar, so a revert deletes it

    @property
    def annotation(self) -> str:
        return ANNOTATION_PREFIX + self.id

    def to_json(self) -> str:
        data = {
            "id": self.id, "type": self.type, "owner": self.owner, "reason": self.reason,
            "created": rfc3339(self.created_at),
            "expires": rfc3339(self.expires_at) if self.expires_at is not None else None,
            "rules": list(self.rules), "applied": self.applied, "previous": self.previous,
            "createdObject": self.created_object,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> EditRecord:
        try:
            d = json.loads(text)
            return EditRecord(
                id=str(d["id"]), type=str(d["type"]), owner=str(d.get("owner", "")),
                reason=str(d.get("reason", "")), created_at=parse_rfc3339(d["created"]),
                expires_at=parse_rfc3339(d["expires"]) if d.get("expires") else None,
                rules=tuple(int(r) for r in d.get("rules") or ()), applied=d.get("applied"),
                previous=dict(d.get("previous") or {}), created_object=bool(d.get("createdObject")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PatchError(f"unreadable meshtui edit annotation: {exc}") from None


@dataclass(frozen=True, slots=True)
class ApplyPlan:
    """One write: a server-side-apply body, or a delete (undoing a Sidecar meshtui created)."""

    kind: str
    namespace: str
    name: str
    api_version: str
    body: dict | None  # None when `delete`
    delete: bool = False
    resource_version: str = ""
    summary: str = ""


# -- time, as text in annotations -----------------------------------------------------------------
def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


# -- reading what is there -------------------------------------------------------------------------
def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def edit_records(obj: dict) -> list[EditRecord]:
    """Every meshtui edit recorded on an object (unreadable annotations are skipped)."""
    out: list[EditRecord] = []
    for k, v in sorted((_meta(obj).get("annotations") or {}).items()):
        if k.startswith(ANNOTATION_PREFIX):
            try:
                out.append(EditRecord.from_json(v))
            except PatchError:
                continue
    return out


def expired(obj: dict, now: float) -> list[EditRecord]:
    return [r for r in edit_records(obj) if r.expires_at is not None and r.expires_at <= now]


def _meshtui_annotations(obj: dict, drop: str | None = None) -> dict[str, str]:
    ann = _meta(obj).get("annotations") or {}
    return {k: v for k, v in ann.items() if k.startswith(ANNOTATION_PREFIX) and k != (ANNOTATION_PREFIX + drop if drop else None)}


def _body(obj: dict, kind: str, api_version: str, annotations: dict[str, str], spec: dict,
          namespace: str | None = None, name: str | None = None, with_rv: bool = True) -> dict:
    meta = _meta(obj)
    md: dict[str, Any] = {"name": name or meta.get("name"), "namespace": namespace or meta.get("namespace")}
    if with_rv and meta.get("resourceVersion"):
        md["resourceVersion"] = meta["resourceVersion"]
    if annotations:
        md["annotations"] = dict(sorted(annotations.items()))
    return {"apiVersion": api_version, "kind": kind, "metadata": md, "spec": spec}


# -- faults ----------------------------------------------------------------------------------------
def fault_injection(edit: FaultEdit) -> dict:
    """Istio's HTTPFaultInjection for an edit."""
    pct = {"value": float(edit.percent)}
    if edit.abort_status is not None:
        return {"abort": {"httpStatus": int(edit.abort_status), "percentage": pct}}
    if edit.delay_seconds is not None:
        return {"delay": {"fixedDelay": duration(edit.delay_seconds), "percentage": pct}}
    raise PatchError(f"fault {edit.id} has neither an abort status nor a delay")


def duration(seconds: float) -> str:
    """Istio duration text: whole seconds as `2s`, else milliseconds as `250ms`."""
    ms = round(seconds * 1000)
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def vs_ref(edit: FaultEdit) -> tuple[str, str]:
    t = edit.target
    if not t.virtual_service:
        raise PatchError(
            f"fault {edit.id} targets {t.describe()}: cluster write-back needs a VirtualService rule "
            "(--virtual-service NS/NAME [--rule N]); host targets are for the local xDS server only"
        )
    if "/" not in t.virtual_service:
        raise PatchError(f"--virtual-service must be NS/NAME, got '{t.virtual_service}'")
    ns, name = t.virtual_service.split("/", 1)
    return ns, name


def fault_patch(live: dict, edit: FaultEdit, api_version: str) -> tuple[ApplyPlan, EditRecord]:
    """The apply body that adds `edit`'s fault to the targeted rule(s) of the live VirtualService."""
    ns, name = vs_ref(edit)
    http = (live.get("spec") or {}).get("http")
    if not isinstance(http, list) or not http:
        raise PatchError(f"VirtualService {ns}/{name} has no http rules to put a fault on")
    rule = edit.target.rule
    if rule is not None and not 0 <= rule < len(http):
        raise PatchError(f"VirtualService {ns}/{name} has {len(http)} http rule(s); there is no rule {rule}")
    rules = (rule,) if rule is not None else tuple(range(len(http)))
    for r in edit_records(live):
        if r.type == "fault" and set(r.rules) & set(rules):
            raise PatchError(f"VirtualService {ns}/{name} rule(s) {sorted(set(r.rules) & set(rules))} already carry "
                             f"meshtui fault {r.id}; remove it first")
        if r.id == edit.id:
            raise PatchError(f"edit {edit.id} is already recorded on VirtualService {ns}/{name}")
    fault = fault_injection(edit)
    new_http = copy.deepcopy(http)
    previous: dict[str, Any] = {}
    for i in rules:
        rule_obj = new_http[i] if isinstance(new_http[i], dict) else {}
        previous[str(i)] = copy.deepcopy(rule_obj.get("fault"))
        rule_obj["fault"] = copy.deepcopy(fault)
        new_http[i] = rule_obj
    record = EditRecord(edit.id, "fault", edit.owner, edit.reason, edit.created_at, edit.expires_at,
                        rules, fault, previous)
    ann = _meshtui_annotations(live)
    ann[record.annotation] = record.to_json()
    body = _body(live, "VirtualService", api_version, ann, {"http": new_http}, ns, name)
    what = f"{edit.kind} {edit.percent:g}%" + (f" {edit.abort_status}" if edit.abort_status is not None else
                                               f" {duration(edit.delay_seconds or 0)}")
    where = f"rule {rule}" if rule is not None else "every rule"
    plan = ApplyPlan("VirtualService", ns, name, api_version, body,
                     resource_version=str(_meta(live).get("resourceVersion") or ""),
                     summary=f"fault {edit.id}: {what} on VirtualService {ns}/{name} {where}")
    return plan, record


def fault_revert(live: dict, record: EditRecord, api_version: str) -> ApplyPlan:
    """Take a fault back out. A rule whose fault is no longer the one meshtui set (someone
    changed it since) is left as it is now."""
    meta = _meta(live)
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    http = copy.deepcopy((live.get("spec") or {}).get("http") or [])
    for key, old in record.previous.items():
        i = int(key)
        if i >= len(http) or not isinstance(http[i], dict):
            continue
        if http[i].get("fault") != record.applied:
            continue
        if old is None:
            http[i].pop("fault", None)
        else:
            http[i]["fault"] = copy.deepcopy(old)
    ann = _meshtui_annotations(live, drop=record.id)
    body = _body(live, "VirtualService", api_version, ann, {"http": http}, ns, name)
    return ApplyPlan("VirtualService", ns, name, api_version, body,
                     resource_version=str(meta.get("resourceVersion") or ""),
                     summary=f"revert fault {record.id} on VirtualService {ns}/{name}")


# -- Sidecar scope ---------------------------------------------------------------------------------
def pick_sidecar(sidecars: list[dict], edit: ScopeEdit) -> dict | None:
    """The Sidecar the edit is about: the one whose workloadSelector labels equal the edit's
    (none for a namespace-wide edit); the oldest wins, as in Istio."""
    want = dict(edit.workload_labels or {})
    matches = []
    for sc in sidecars:
        meta = _meta(sc)
        if meta.get("namespace") not in (None, edit.namespace):
            continue
        labels = ((sc.get("spec") or {}).get("workloadSelector") or {}).get("labels") or {}
        if dict(labels) == want:
            matches.append(sc)
    matches.sort(key=lambda s: (str(_meta(s).get("creationTimestamp") or ""), str(_meta(s).get("name") or "")))
    return matches[0] if matches else None


def sidecar_name_for(edit: ScopeEdit) -> str:
    return SCOPE_SIDECAR_NAME if not edit.workload_labels else f"meshtui-{edit.id}".lower()[:63]


_POLICIES = ("ALLOW_ANY", "REGISTRY_ONLY")


def scope_patch(live: dict | None, edit: ScopeEdit, api_version: str) -> tuple[ApplyPlan, EditRecord]:
    """The apply body that sets the Sidecar's egress hosts and/or outbound traffic policy,
    creating a Sidecar when none applies yet."""
    if not edit.egress_hosts and not edit.outbound_traffic_policy:
        raise PatchError(f"scope edit {edit.id} changes nothing: give egress hosts or an outbound traffic policy")
    if edit.outbound_traffic_policy and edit.outbound_traffic_policy not in _POLICIES:
        raise PatchError(f"outbound traffic policy must be one of {', '.join(_POLICIES)}, "
                         f"got '{edit.outbound_traffic_policy}'")
    for h in edit.egress_hosts:
        if "/" not in h:
            raise PatchError(f"egress host '{h}' must be namespace/dnsName (as `./*` or `istio-system/*`)")
    created = live is None
    obj = live or {"metadata": {"name": sidecar_name_for(edit), "namespace": edit.namespace}}
    if not created:
        for r in edit_records(obj):
            if r.type == "scope":
                raise PatchError(f"Sidecar {edit.namespace}/{_meta(obj).get('name')} already carries meshtui "
                                 f"scope edit {r.id}; revert it first")
    spec_live = obj.get("spec") or {}
    spec: dict[str, Any] = {}
    previous: dict[str, Any] = {}
    if edit.egress_hosts:
        previous["egress"] = copy.deepcopy(spec_live.get("egress"))
        spec["egress"] = [{"hosts": list(edit.egress_hosts)}]
    if edit.outbound_traffic_policy:
        previous["outboundTrafficPolicy"] = copy.deepcopy(spec_live.get("outboundTrafficPolicy"))
        spec["outboundTrafficPolicy"] = {"mode": edit.outbound_traffic_policy}
    if created and edit.workload_labels:
        spec["workloadSelector"] = {"labels": dict(edit.workload_labels)}
    record = EditRecord(edit.id, "scope", edit.owner, edit.reason, edit.created_at, edit.expires_at,
                        previous=previous, created_object=created)
    ann = _meshtui_annotations(obj)
    ann[record.annotation] = record.to_json()
    name = str(_meta(obj).get("name"))
    body = _body(obj, "Sidecar", api_version, ann, spec, edit.namespace, name)
    parts = []
    if edit.egress_hosts:
        parts.append("egress " + ", ".join(edit.egress_hosts))
    if edit.outbound_traffic_policy:
        parts.append(f"outbound {edit.outbound_traffic_policy}")
    plan = ApplyPlan("Sidecar", edit.namespace, name, api_version, body,
                     resource_version=str(_meta(obj).get("resourceVersion") or ""),
                     summary=f"scope {edit.id}: {'; '.join(parts)} on {'new ' if created else ''}"
                             f"Sidecar {edit.namespace}/{name}")
    return plan, record


def scope_revert(live: dict, record: EditRecord, api_version: str) -> ApplyPlan:
    """Restore the fields the scope edit replaced; a Sidecar meshtui created is deleted (unless
    other meshtui edits still live on it)."""
    meta = _meta(live)
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    ann = _meshtui_annotations(live, drop=record.id)
    rv = str(meta.get("resourceVersion") or "")
    if record.created_object and not ann:
        return ApplyPlan("Sidecar", ns, name, api_version, None, delete=True, resource_version=rv,
                         summary=f"revert scope {record.id}: delete Sidecar {ns}/{name} (meshtui created it)")
    spec_live = live.get("spec") or {}
    spec: dict[str, Any] = {}
    # A field that had no value before is left out: server-side apply then removes it, as
    # meshtui (holding it by force) is its only manager.
    for fld in ("egress", "outboundTrafficPolicy"):
        if fld in record.previous:
            if record.previous[fld] is not None:
                spec[fld] = copy.deepcopy(record.previous[fld])
        elif fld in spec_live and record.created_object:
            spec[fld] = copy.deepcopy(spec_live[fld])
    if record.created_object and "workloadSelector" in spec_live:
        spec["workloadSelector"] = copy.deepcopy(spec_live["workloadSelector"])
    body = _body(live, "Sidecar", api_version, ann, spec, ns, name)
    return ApplyPlan("Sidecar", ns, name, api_version, body, resource_version=rv,
                     summary=f"revert scope {record.id} on Sidecar {ns}/{name}")


def revert_plan(live: dict, record: EditRecord, api_version: str) -> ApplyPlan:
    if record.type == "fault":
        return fault_revert(live, record, api_version)
    if record.type == "scope":
        return scope_revert(live, record, api_version)
    raise PatchError(f"unknown meshtui edit type '{record.type}' in annotation {record.annotation}")


# -- showing a change ------------------------------------------------------------------------------
def clean(obj: dict | None) -> dict | None:
    """An object without the fields the server keeps for itself, for a readable diff."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for f in SERVER_FIELDS:
            meta.pop(f, None)
    out.pop("status", None)
    return out


def diff(before: dict | None, after: dict | None, label: str) -> str:
    """A unified diff of two objects as YAML (server-kept fields left out); empty if equal."""
    import difflib

    import yaml

    def text(o: dict | None) -> list[str]:
        if o is None:
            return []
        return yaml.safe_dump(clean(o), sort_keys=True, default_flow_style=False, width=1000).splitlines(keepends=True)

    a, b = text(before), text(after)
    if a == b:
        return ""
    return "".join(difflib.unified_diff(a, b, f"{label} (live)", f"{label} (after)", n=3))
