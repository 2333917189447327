"""The game-day control plane behind the TUI, one interface and three implementations:

- DemoControlPlane: the embedded demo (meshtui's own xDS server, real Envoys, live events);
- ServeControlPlane: a running `meshtui serve`, over its control API (`meshtui --server ADDR`);
- ClusterControlPlane: a cluster with `--allow-write`: server-side apply, the dry-run diff shown
  for confirmation first, the edit recorded in an annotation (owner, reason, expiry), reverted
  at its expiry while the TUI runs, every write in the game-day journal.

Every change goes in two steps, plan() then commit(): a plan that carries a diff is shown in a
confirm dialog and committed only on yes. `--readonly` keeps the control plane visible (what is
live, and where) but refuses every plan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from meshtui.edits.model import FaultEdit, FaultTarget, ScopeEdit
from meshtui.errors import UsageError


class ReadOnly(UsageError):
    """--readonly: the control plane is shown, never changed."""


@dataclass
class Plan:
    """One change ready to commit. `diff` (text) is shown for confirmation when it is set."""

    what: str  # "fault", "scope", "revert"
    summary: str
    run: Callable[[], dict]
    diff: str | None = None


@dataclass
class Capabilities:
    probe: bool = False  # send real requests through a proxy (only the demo has one)
    live_events: bool = False  # events arrive by subscription; otherwise the view polls
    pushes: bool = True  # edits go to proxies over xDS (False: to the cluster, istiod pushes)


class ControlPlane(Protocol):
    kind: str  # "demo" | "serve" | "cluster"
    label: str  # shown in the game-day head: where edits go
    readonly: bool
    caps: Capabilities

    def faults(self, include_ended: bool = False) -> list[dict]: ...
    def scopes(self, include_ended: bool = False) -> list[dict]: ...
    def proxies(self) -> list[dict]: ...
    def plan(self, method: str, kwargs: dict) -> Plan: ...
    def clear_faults(self) -> list[str]: ...
    def journal_entries(self) -> list: ...
    def close(self) -> None: ...


def _refuse(cp: Any) -> None:
    if cp.readonly:
        raise ReadOnly("--readonly: game-day edits are off (nothing is pushed or written)")


# ---------------------------------------------------------------------------- the demo


@dataclass
class DemoControlPlane:
    """The embedded demo's session (meshtui.demo.session.DemoSession or the same API)."""

    session: Any
    readonly: bool = False
    kind: str = "demo"
    caps: Capabilities = field(default_factory=lambda: Capabilities(probe=True, live_events=True))

    @property
    def label(self) -> str:
        info = getattr(self.session, "info", None)
        return f"demo xDS {getattr(info, 'server', '') or 'running'}"

    def faults(self, include_ended: bool = False) -> list[dict]:
        return self.session.faults(include_ended=include_ended)

    def scopes(self, include_ended: bool = False) -> list[dict]:
        return self.session.scopes(include_ended=include_ended)

    def proxies(self) -> list[dict]:
        return self.session.proxies()

    def plan(self, method: str, kwargs: dict) -> Plan:
        _refuse(self)
        s = self.session
        if method == "remove":
            return Plan("revert", f"revert {kwargs['edit_id']}", lambda: s.remove(kwargs["edit_id"], kwargs.get("reason", "")))
        fn = {"add_fault": s.add_fault, "set_scope": s.set_scope}[method]
        return Plan("fault" if method == "add_fault" else "scope", method, lambda: fn(**kwargs))

    def clear_faults(self) -> list[str]:
        _refuse(self)
        return self.session.clear_faults()

    def remove_now(self, edit_id: str, reason: str) -> dict:
        _refuse(self)
        return self.session.remove(edit_id, reason)

    def journal_entries(self) -> list:
        return self.session.journal_entries()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------- meshtui serve


def fault_request(form: dict) -> dict:
    """The TUI's fault form (add_fault() keyword arguments) as a control-API AddFault request."""
    out: dict[str, Any] = {"percent": form.get("percent", 100.0), "reason": form.get("reason", "")}
    for src, dst in (("virtual_service", "virtualService"), ("rule", "rule"), ("host", "host"), ("subset", "subset"),
                     ("abort", "abort"), ("delay", "delay"), ("ttl", "ttl")):
        if form.get(src) is not None:
            out[dst] = form[src]
    return out


def scope_request(form: dict) -> dict:
    out: dict[str, Any] = {"namespace": form["namespace"], "egressHosts": list(form.get("egress_hosts") or ()),
                           "selector": dict(form.get("workload_labels") or {}), "reason": form.get("reason", "")}
    if form.get("outbound_policy"):
        out["outboundTrafficPolicy"] = form["outbound_policy"]
    if form.get("ttl") is not None:
        out["ttl"] = form["ttl"]
    return out


@dataclass
class ServeControlPlane:
    """A running `meshtui serve`, through meshtui.xds.control_api.ControlClient."""

    client: Any
    readonly: bool = False
    kind: str = "serve"
    caps: Capabilities = field(default_factory=Capabilities)

    @property
    def label(self) -> str:
        return f"meshtui serve at {self.client.server}"

    def _edits(self, kind: str, include_ended: bool) -> list[dict]:
        return list(self.client.call("ListEdits", {"kind": kind, "all": include_ended}).get("edits") or [])

    def faults(self, include_ended: bool = False) -> list[dict]:
        return self._edits("fault", include_ended)

    def scopes(self, include_ended: bool = False) -> list[dict]:
        return self._edits("scope", include_ended)

    def proxies(self) -> list[dict]:
        return list(self.client.call("ListProxies").get("proxies") or [])

    def plan(self, method: str, kwargs: dict) -> Plan:
        _refuse(self)
        c = self.client
        if method == "remove":
            req = {"id": kwargs["edit_id"], "reason": kwargs.get("reason", "")}
            return Plan("revert", f"revert {kwargs['edit_id']}", lambda: c.call("RemoveEdit", req))
        if method == "add_fault":
            req = fault_request(kwargs)
            return Plan("fault", "add fault", lambda: c.call("AddFault", req))
        req = scope_request(kwargs)
        return Plan("scope", "set scope", lambda: c.call("AddScope", req))

    def clear_faults(self) -> list[str]:
        _refuse(self)
        return list(self.client.call("ClearFaults").get("cleared") or [])

    def remove_now(self, edit_id: str, reason: str) -> dict:
        _refuse(self)
        return self.client.call("RemoveEdit", {"id": edit_id, "reason": reason})

    def journal_entries(self) -> list:
        from meshtui.edits.journal import JournalEntry

        return [JournalEntry.from_dict(d) for d in self.client.call("Journal").get("entries") or []]

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------------------- a cluster


def _fault_fields(applied: Any) -> dict:
    """abort_status / delay_seconds / percent from the HTTPFaultInjection meshtui applied."""
    from meshtui.model.schema import parse_duration

    out: dict[str, Any] = {}
    if not isinstance(applied, dict):
        return out
    for key in ("abort", "delay"):
        block = applied.get(key)
        if not isinstance(block, dict):
            continue
        pct = (block.get("percentage") or {}).get("value")
        if pct is not None:
            out["percent"] = float(pct)
        if key == "abort":
            out["abort_status"] = block.get("httpStatus")
        else:
            out["delay_seconds"] = parse_duration(str(block.get("fixedDelay") or "0s"))
    return out


@dataclass
class ClusterControlPlane:
    """Write-back to a cluster (meshtui.cluster.writeback): istiod pushes what is applied.
    The TUI reverts expired edits while it runs (meshtui.cluster.expiry)."""

    writer: Any  # meshtui.cluster.writeback.ClusterWriter with allow_write
    context: str
    namespace: str | None = None  # the namespaces read; None: all
    readonly: bool = False
    kind: str = "cluster"
    caps: Capabilities = field(default_factory=lambda: Capabilities(pushes=False))
    clock: Callable[[], float] = time.time
    reverter: Any = None

    @property
    def label(self) -> str:
        return f"cluster {self.context}: server-side apply as `meshtui` (istiod pushes)"

    def start_expiry(self, interval: float = 5.0, on_revert: Callable[[Any], None] | None = None,
                     on_error: Callable[[str], None] | None = None) -> None:
        from meshtui.cluster.expiry import ExpiryReverter

        if self.readonly or self.reverter is not None:
            return
        self.reverter = ExpiryReverter(self.writer, interval=interval, namespace=self.namespace, clock=self.clock,
                                       on_revert=on_revert, on_error=on_error)
        self.reverter.start()

    def _views(self, type_: str, include_ended: bool) -> list[dict]:
        now = self.clock()
        out = []
        for kind, ns, name, r in self.writer.edits(self.namespace):
            if r.type != type_:
                continue
            state = "expired" if r.expires_at is not None and r.expires_at <= now else "active"
            if state != "active" and not include_ended:
                continue
            v: dict[str, Any] = {"id": r.id, "type": r.type, "state": state, "owner": r.owner, "reason": r.reason,
                                 "createdAt": r.created_at, "expiresAt": r.expires_at, "proxies": {},
                                 "pushText": "in the cluster; istiod pushes it",
                                 "object": f"{kind} {ns}/{name}"}
            if r.type == "fault":
                rules = ",".join(str(i) for i in r.rules)
                v["targetText"] = f"vs/{ns}/{name} rule {rules}"
                v.update(_fault_fields(r.applied))
            else:
                v["namespace"] = ns
                v["egress_hosts"] = [str(h) for h in (r.applied or {}).get("hosts", [])] if isinstance(r.applied, dict) else []
                v["outbound_traffic_policy"] = (r.applied or {}).get("outboundTrafficPolicy") if isinstance(r.applied, dict) else None
            out.append(v)
        return out

    def faults(self, include_ended: bool = False) -> list[dict]:
        return self._views("fault", include_ended)

    def scopes(self, include_ended: bool = False) -> list[dict]:
        return self._views("scope", include_ended)

    def proxies(self) -> list[dict]:
        return []  # istiod's proxies, not meshtui's: see `istioctl proxy-status`

    def _edit(self, method: str, kwargs: dict):
        from meshtui.xds.control_plane import default_owner, new_edit_id

        now = self.clock()
        if method == "add_fault":
            return FaultEdit(id=new_edit_id("f"), target=FaultTarget(virtual_service=kwargs.get("virtual_service"),
                                                                     rule=kwargs.get("rule"), host=kwargs.get("host"),
                                                                     subset=kwargs.get("subset")),
                             percent=float(kwargs.get("percent", 100.0)), abort_status=kwargs.get("abort"),
                             delay_seconds=kwargs.get("delay"), ttl_seconds=kwargs.get("ttl", 600.0), created_at=now,
                             reason=kwargs.get("reason", ""), owner=default_owner())
        return ScopeEdit(id=new_edit_id("s"), namespace=kwargs["namespace"], egress_hosts=tuple(kwargs.get("egress_hosts") or ()),
                         outbound_traffic_policy=kwargs.get("outbound_policy"),
                         workload_labels=dict(kwargs.get("workload_labels") or {}), ttl_seconds=kwargs.get("ttl"),
                         created_at=now, reason=kwargs.get("reason", ""), owner=default_owner())

    def plan(self, method: str, kwargs: dict) -> Plan:
        """Server-side dry run now (dryRun=All); the apply on commit."""
        _refuse(self)
        w = self.writer
        if method == "remove":
            edit_id = kwargs["edit_id"]
            found = next(((k, ns, n) for k, ns, n, r in w.edits(self.namespace) if r.id == edit_id), None)
            if found is None:
                raise UsageError(f"no meshtui edit {edit_id} in the cluster")
            wp = w.plan_revert(*found, edit_id)
            what = "revert"
        else:
            wp = w.plan(self._edit(method, kwargs))
            what = "fault" if method == "add_fault" else "scope"

        def run() -> dict:
            res = w.apply(wp, yes=True)
            return {"id": wp.record.id if wp.record else "", "summary": res.message}

        return Plan(what, wp.plan.summary, run, diff=wp.diff or "(the dry run changes nothing)")

    def clear_faults(self) -> list[str]:
        _refuse(self)
        done = []
        for kind, ns, name, r in self.writer.edits(self.namespace):
            if r.type == "fault":
                self.writer.revert(kind, ns, name, r.id, yes=True)
                done.append(r.id)
        return done

    def remove_now(self, edit_id: str, reason: str) -> dict:
        return self.plan("remove", {"edit_id": edit_id, "reason": reason}).run()

    def journal_entries(self) -> list:
        from meshtui.xds.journal_file import JournalFile

        jf = JournalFile()
        try:
            entries, _ = jf.read()
        finally:
            jf.close()
        return entries

    def close(self) -> None:
        if self.reverter is not None:
            self.reverter.stop()
            self.reverter = None
