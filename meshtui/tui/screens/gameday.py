"""Game day on any control plane the TUI has (meshtui.tui.controlplane): the embedded demo, a
running `meshtui serve` (--server ADDR), or a cluster with --allow-write. Active faults with a
TTL countdown and per-proxy push state, Sidecar-scope edits, the control plane's events with NACK
reasons, and (demo) a traffic probe that sends real requests through the Envoy sidecar.

a adds a fault, s edits a Sidecar scope, d reverts the selected edit, X reverts every edit
(after a confirmation), p probes traffic. A cluster write shows its server-side dry-run diff
and asks first. All edits are off with --readonly, and the head says so."""

from __future__ import annotations

import collections
import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.coordinate import Coordinate
from textual.css.query import NoMatches
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist

from meshtui.tui.screens.base import MeshScreen, make_matcher
from meshtui.tui.screens.dialogs import AddFaultScreen, ConfirmScreen, FaultPreset, ScopeScreen
from meshtui.tui.widgets.trace_render import row, to_text

NO_CONTROL_PLANE = (
    "Game day needs a control plane to change: meshtui's own xDS server, which pushes faults and "
    "Sidecar-scope edits straight to Envoy proxies and takes them back at their TTL even if meshtui "
    "dies, or a cluster meshtui may write to.\n\n"
    "  meshtui demo                       the bundled bookinfo mesh, real Envoys, and this view live\n"
    "  meshtui --server ADDR [-f …]       a running `meshtui serve` (its faults, scopes and proxies)\n"
    "  meshtui --cluster --allow-write    server-side apply to the cluster, dry-run diff first\n\n"
    "These sources are files or a cluster, and no proxy is connected to them, so this view shows "
    "no faults rather than made-up ones. Traces (2) and what-if (3) work on any source."
)

PUSH_MARK = {"acked": ("✓", "$success"), "pending": ("…", "$warning"), "rejected": ("✗", "$error")}


def push_cell(proxies: dict[str, str], detail: str = "") -> Content:
    if not proxies:
        return Content.styled("not pushed yet", "$text-muted")
    parts = []
    for proxy, state in sorted(proxies.items()):
        mark, style = PUSH_MARK.get(state, ("?", ""))
        parts.append((f"{mark} {proxy.split('/')[-1][:18]} {state}  ", style))
    return Content.assemble(*parts)


def expires_cell(view: dict, now: float) -> Content:
    exp = view.get("expiresAt")
    if exp is None:
        return Content.styled("never", "$text-muted")
    left = exp - now
    if left <= 0:
        return Content.styled("expired", "$error")
    m, s = divmod(int(left), 60)
    h, m = divmod(m, 60)
    text = f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
    return Content.styled(text, "bold $warning" if left < 30 else "")


class EventLog(VerticalScroll):
    """The last events, newest at the bottom, in theme colours."""

    def __init__(self, *, id: str | None = None, max_lines: int = 300) -> None:
        super().__init__(id=id)
        self.lines: collections.deque = collections.deque(maxlen=max_lines)

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("no events yet", "$text-muted"), id="gd-events-text")

    def write(self, line: Content) -> None:
        self.lines.append(line)
        self.query_one("#gd-events-text", Static).update(Content("\n").join(self.lines))
        self.call_after_refresh(self.scroll_end, animate=False)


class GameDayScreen(MeshScreen):
    VIEW = "gameday"
    DESCRIPTION = "live faults and Sidecar scopes pushed over xDS, with TTLs, push state and NACKs"

    BINDINGS = [
        Binding("a", "add_fault", "Add fault", id="gameday.add-fault"),
        Binding("s", "edit_scope", "Scope", id="gameday.scope"),
        Binding("d,delete", "revert", "Revert", id="gameday.revert"),
        Binding("X", "revert_all", "Revert all", id="gameday.revert-all"),
        Binding("p", "probe", "Probe traffic", id="gameday.probe"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[dict] = []
        self.scopes: list[dict] = []
        self.proxies: list[dict] = []
        self.probe_text: Content = Content.styled(" p sends 20 requests to the host of the selected fault through the sidecar.", "$text-muted")

    @property
    def control(self):
        return self.mapp.control

    def compose_body(self) -> ComposeResult:
        if self.control is None:
            yield Static(Content.styled(NO_CONTROL_PLANE, ""), id="gd-none", classes="notice")
            return
        with Vertical(id="gd-main"):
            yield Static(id="gd-head", classes="pane-title")
            yield DataTable(id="gd-faults", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="gd-scopes", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="gd-bottom"):
                yield EventLog(id="gd-events")
                yield Static(id="gd-probe")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("add_fault", "edit_scope", "revert", "revert_all", "probe"):
            if self.control is None:
                return False  # no control plane: the view says so, the keys are not offered
            if action == "probe" and not self.control.caps.probe:
                return False  # only the demo has a sidecar to send requests through
            if self.mapp.readonly and action != "probe":
                return None
        return True

    def on_mount(self) -> None:
        if self.control is not None:
            faults = self.query_one("#gd-faults", DataTable)
            faults.add_columns("fault", "target", "what", "%", "expires", "push state", "reason")
            faults.border_title = "Faults"
            scopes = self.query_one("#gd-scopes", DataTable)
            scopes.add_columns("scope", "namespace", "egress", "outbound", "expires", "push state")
            scopes.border_title = "Sidecar scopes"
            log = self.query_one("#gd-events", EventLog)
            log.border_title = "Control plane events"
            events = list(self.mapp.xds_events)[-200:]
            for ev in events:
                self._log(ev)
            if not events:
                self._journal_tail()
            self.query_one("#gd-probe", Static).border_title = "Traffic"
            self.query_one("#gd-probe", Static).update(self.probe_text)
            self.set_interval(1.0, self._tick)
            if not self.control.caps.live_events:
                self.set_interval(2.0, self.reload)  # no event stream: poll the control plane
            faults.focus()
        super().on_mount()

    # ------------------------------------------------------------------ data

    def on_data(self) -> None:
        if self.control is not None:
            self.reload()

    def on_xds_event(self, ev) -> None:
        if self.control is None or not self.is_mounted:
            return
        self._log(ev)
        if ev.kind in ("push", "ack", "nack", "connect", "disconnect", "edit-add", "edit-remove", "expire",
                       "revert", "clear", "translate-error"):
            self.reload()

    @work(thread=True, exclusive=True, group="gameday-reload", exit_on_error=False, description="reload")
    def reload(self) -> None:
        cp = self.control
        try:
            data = (cp.faults(include_ended=True), cp.scopes(include_ended=True), cp.proxies())
        except Exception as exc:  # noqa: BLE001 - a worker thread: the control plane's failure is shown
            self.app.call_from_thread(self.notify, f"cannot read the control plane: {exc}", severity="error")
            return
        self.app.call_from_thread(self._show, *data)

    def _show(self, faults: list[dict], scopes: list[dict], proxies: list[dict]) -> None:
        now = time.time()
        recent = now - 120  # ended edits stay listed for two minutes, so a revert is visible
        self.faults = [f for f in faults if f.get("state") == "active" or (f.get("expiresAt") or now) > recent]
        self.scopes = [s for s in scopes if s.get("state") == "active" or (s.get("expiresAt") or now) > recent]
        self.proxies = proxies
        match = make_matcher(self.filter_text)
        table = self.query_one("#gd-faults", DataTable)
        keep = table.cursor_row
        table.clear()
        for f in self.faults:
            if not match(f"{f.get('id')} {f.get('targetText', '')} {f.get('reason', '')}"):
                continue
            state = f.get("state", "active")
            what = f"abort {f.get('abort_status')}" if f.get("abort_status") is not None else f"delay {f.get('delay_seconds')}s"
            if state != "active":
                what += f" ({state})"
            table.add_row(*row(self.app, Content.styled(f.get("id", ""), "bold" if state == "active" else "$text-muted"),
                          f.get("targetText", ""), Content.styled(what, "$warning" if state == "active" else "$text-muted"),
                          f"{f.get('percent', 0):g}", expires_cell(f, now) if state == "active" else Content.styled(state, "$text-muted"),
                          (Content.styled(f["pushText"], "$text-muted") if f.get("pushText") else push_cell(f.get("proxies") or {}))
                          if state != "rejected" else Content.styled(f.get("detail", "rejected")[:60], "$error"),
                          f.get("reason", "")), key=f.get("id"))
        if not self.faults:
            table.add_row(*row(self.app, Content.styled("no faults", "$text-muted"),
                               Content.styled("a adds one" if not self.mapp.readonly else "read-only", "$text-muted"), "", "", "", "", ""))
        if keep is not None and table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        st = self.query_one("#gd-scopes", DataTable)
        st.clear()
        for s in self.scopes:
            state = s.get("state", "active")
            st.add_row(*row(self.app, Content.styled(s.get("id", ""), "bold" if state == "active" else "$text-muted"),
                       s.get("namespace", "") + (" [" + ",".join(f"{k}={v}" for k, v in (s.get("workload_labels") or {}).items()) + "]"
                                                 if s.get("workload_labels") else ""),
                       ", ".join(s.get("egress_hosts") or []) or "(unchanged)", s.get("outbound_traffic_policy") or "(unchanged)",
                       expires_cell(s, now) if state == "active" else Content.styled(state, "$text-muted"),
                       (Content.styled(s["pushText"], "$text-muted") if s.get("pushText") else push_cell(s.get("proxies") or {}))
                       if state != "rejected" else Content.styled(s.get("detail", "")[:60], "$error")),
                       key=s.get("id"))
        st.display = bool(self.scopes)
        self._head()

    def _head(self) -> None:
        cp = self.control
        synced = sum(1 for p in self.proxies if p.get("synced"))
        connected = sum(1 for p in self.proxies if p.get("connected"))
        active = sum(1 for f in self.faults if f.get("state") == "active")
        nacks = [p for p in self.proxies if any((t or {}).get("lastNack") for t in (p.get("types") or {}).values())]
        parts = [(" control plane ", "bold"), (cp.label, "$accent")]
        if cp.caps.pushes:
            parts.append((f"  ·  {connected} proxies connected, {synced} synced", "$success" if synced == connected else "$warning"))
        parts.append((f"  ·  {active} active fault{'s' if active != 1 else ''}", "bold $warning" if active else ""))
        if nacks:
            parts.append((f"  ·  NACK from {', '.join(p['proxy'] for p in nacks)} (see Proxies, 5)", "bold $error"))
        if self.mapp.readonly:
            # say what the control plane reports, not what read-only is meant to be
            live = active + sum(1 for sc in self.scopes if sc.get("state") == "active")
            parts.append(("  ·  read-only: edits are off (a, s, d, X)" if not live else
                          f"  ·  read-only, yet {live} edit(s) live", "bold $warning" if not live else "bold $error"))
        self.query_one("#gd-head", Static).update(Content.assemble(*parts))

    def _tick(self) -> None:
        """TTL countdown: redraw the expiry cells once a second (no control-plane call)."""
        if self.faults or self.scopes:
            now = time.time()
            table = self.query_one("#gd-faults", DataTable)
            for f in self.faults:
                if f.get("state") == "active" and f.get("id") in table.rows:
                    try:
                        table.update_cell(f["id"], table.ordered_columns[4].key, to_text(self.app, expires_cell(f, now)))
                    except Exception:  # noqa: BLE001 - the row went away meanwhile
                        pass

    def _log(self, ev) -> None:
        try:
            log = self.query_one("#gd-events", EventLog)
        except NoMatches:
            return
        C = Content
        stamp = time.strftime("%H:%M:%S", time.localtime(getattr(ev, "wall", time.time())))
        kind = ev.kind
        style = {"nack": "bold $error", "revert": "bold $error", "translate-error": "bold $error", "ack": "$success",
                 "edit-add": "bold $warning", "expire": "$accent", "clear": "bold $warning", "edit-remove": "$accent",
                 "refused": "bold $error"}.get(kind, "")
        who = ev.proxy.split("/")[-1][:24] if ev.proxy else ""
        text = C.assemble((f"{stamp} ", "$text-muted"), (f"{kind.upper():<9}", style), (f"{who} ", "bold"),
                          (f"{ev.type} " if ev.type else "", ""), (ev.detail or "", "$error" if kind == "nack" else ""))
        log.write(text)

    @work(thread=True, group="journal", exit_on_error=False, description="_journal_tail")
    def _journal_tail(self, n: int = 12) -> None:
        """Before any live event: what the journal says happened last (restored faults too)."""
        try:
            from meshtui.edits.journal import summarize

            entries = self.control.journal_entries()[-n:]
            lines = [(e.at, e.kind, summarize(e)) for e in entries]
        except Exception:  # noqa: BLE001 - the journal is a nicety here
            return
        self.app.call_from_thread(self._show_journal, lines)

    def _show_journal(self, lines: list) -> None:
        log = self.query_one("#gd-events", EventLog)
        if log.lines:
            return
        for at, kind, text in lines:
            stamp = time.strftime("%H:%M:%S", time.localtime(at))
            log.write(Content.assemble((f"{stamp} ", "$text-muted"), (f"{kind.upper():<11}", "$text-muted"), (text, "$text-muted")))
        if lines:
            log.write(Content.styled("── journal above, live events below ──", "$text-muted"))

    # ------------------------------------------------------------------ actions

    def _selected(self) -> dict | None:
        table = self.query_one("#gd-faults", DataTable)
        if table.has_focus or not self.query_one("#gd-scopes", DataTable).has_focus:
            if table.row_count and table.cursor_row is not None:
                try:
                    key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
                except CellDoesNotExist:
                    return None
                return next((f for f in self.faults if f.get("id") == key), None)
        st = self.query_one("#gd-scopes", DataTable)
        if st.row_count and st.cursor_row is not None:
            key = st.coordinate_to_cell_key(Coordinate(st.cursor_row, 0)).row_key.value
            return next((s for s in self.scopes if s.get("id") == key), None)
        return None

    def action_add_fault(self, preset: FaultPreset | None = None) -> None:
        snap = self.mapp.workspace.snapshot if self.mapp.workspace else None
        if snap is None:
            return
        if preset is None:
            res = self.mapp.last_trace
            if res is None:
                from meshtui.tui.screens.trace import default_query

                res = self.mapp.engine.run(self.mapp.trace_snapshot, self.mapp.trace_query or default_query(snap))
            preset = preset_from_trace(res)
        self.app.push_screen(AddFaultScreen(snap, preset), self._add_fault)

    def _add_fault(self, form: dict | None) -> None:
        if form:
            self._push("add_fault", form, "fault")

    def action_edit_scope(self) -> None:
        snap = self.mapp.workspace.snapshot if self.mapp.workspace else None
        if snap is None:
            return
        q = self.mapp.trace_query
        ns = q.source.split("/")[0] if q and q.source and "/" in q.source else None

        def chosen(form: dict | None) -> None:
            if form:
                self._push("set_scope", form, "scope")

        self.app.push_screen(ScopeScreen(snap, ns), chosen)

    def action_revert(self) -> None:
        item = self._selected()
        if item is None or item.get("state") != "active":
            self.notify("select an active fault or scope to revert", severity="warning")
            return
        self._push("remove", {"edit_id": item["id"], "reason": "reverted in the TUI"}, "revert")

    def action_revert_all(self) -> None:
        active = [e for e in (*self.faults, *self.scopes) if e.get("state") == "active"]
        if not active:
            self.notify("nothing to revert: no active fault or scope", severity="information")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._revert_all([e["id"] for e in active if e.get("type") == "scope"])

        self.app.push_screen(ConfirmScreen(f"Revert all {len(active)} edits on every proxy?",
                                           "Faults are cleared in one push (the kill switch); scopes are removed."), answer)

    @work(thread=True, group="push", exit_on_error=False, description="_revert_all")
    def _revert_all(self, scope_ids: list[str]) -> None:
        cp = self.control
        self.app.call_from_thread(self.mapp.set_busy, "push", "reverting every edit")
        try:
            cleared = cp.clear_faults()
            for sid in scope_ids:
                cp.remove_now(sid, "reverted in the TUI (revert all)")
            msg = f"reverted {len(cleared)} fault(s) and {len(scope_ids)} scope(s)" + (" on every proxy" if cp.caps.pushes else "")
            self.app.call_from_thread(self.notify, msg)
        except Exception as exc:  # noqa: BLE001 - a worker thread: the failure is shown; the finally clears the busy mark
            self.app.call_from_thread(self.notify, f"revert failed: {exc}", severity="error", timeout=10)
        finally:
            self.app.call_from_thread(self.mapp.clear_busy, "push")
        self.app.call_from_thread(self.reload)

    @work(thread=True, group="push", exit_on_error=False, description="_push")
    def _push(self, method: str, kwargs: dict, what: str) -> None:
        """Plan the change (a cluster dry-runs it here); a plan with a diff is confirmed first."""
        cp = self.control
        if self.mapp.readonly:
            self.app.call_from_thread(self.notify, "read-only: nothing is pushed", severity="warning")
            return
        self.app.call_from_thread(self.mapp.set_busy, "push", f"planning {what}" if not cp.caps.pushes else f"pushing {what}")
        try:
            plan = cp.plan(method, kwargs)
        except Exception as exc:  # noqa: BLE001 - the control plane's refusal, said as such
            self.app.call_from_thread(self.notify, f"{what} not applied: {exc}", severity="error", timeout=10)
            self.app.call_from_thread(self.mapp.clear_busy, "push")
            return
        self.app.call_from_thread(self.mapp.clear_busy, "push")
        if plan.diff is None:
            self._commit(plan, method)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._commit_async(plan, method)
            else:
                self.notify(f"{plan.summary}: not applied")

        lines = plan.diff.splitlines()
        shown = "\n".join(lines[:40]) + (f"\n… {len(lines) - 40} more lines" if len(lines) > 40 else "")
        self.app.call_from_thread(self.app.push_screen, ConfirmScreen(
            f"Apply to {cp.label.split(':')[0]}? {plan.summary}", "server-side dry run:\n" + shown), answer)

    @work(thread=True, group="push", exit_on_error=False, description="_commit_async")
    def _commit_async(self, plan, method: str) -> None:
        self._commit(plan, method)

    def _commit(self, plan, method: str) -> None:
        """Run a plan (in a worker thread)."""
        self.app.call_from_thread(self.mapp.set_busy, "push", plan.summary)
        try:
            view = plan.run() or {}
            summary = view.get("summary") or view.get("id") or plan.summary
            done = "reverted" if method == "remove" else "pushed" if self.control.caps.pushes else "applied"
            self.app.call_from_thread(self.notify, f"{done}: {summary}")
        except Exception as exc:  # noqa: BLE001 - the control plane's refusal, said as such
            self.app.call_from_thread(self.notify, f"{plan.what} not applied: {exc}", severity="error", timeout=10)
        finally:
            self.app.call_from_thread(self.mapp.clear_busy, "push")
        self.app.call_from_thread(self.reload)

    def action_probe(self) -> None:
        snap = self.mapp.workspace.snapshot if self.mapp.workspace else None
        target = probe_target(snap, self._selected(), self.mapp.trace_query, getattr(self.mapp.demo, "info", None))
        if isinstance(target, str):
            self.notify(target, severity="warning")
            return
        self._probe(*target)

    @work(thread=True, exclusive=True, group="probe", exit_on_error=False, description="_probe")
    def _probe(self, host: str, path: str, headers: dict, port: int, via: str, n: int = 20) -> None:
        demo = self.mapp.demo
        self.app.call_from_thread(self.mapp.set_busy, "probe", f"sending {n} requests to {host}")
        counts: collections.Counter = collections.Counter()
        who: collections.Counter = collections.Counter()
        slowest = 0.0
        errors = ""
        for _ in range(n):
            try:
                status, body, secs = demo.request(host, path, headers=headers, port=port, via=via, timeout=5.0)
            except Exception as exc:  # noqa: BLE001 - any failure of one request is counted as an error
                errors = str(exc)
                counts["error"] += 1
                continue
            counts[status] += 1
            slowest = max(slowest, secs)
            if isinstance(body, dict):
                who[f"{body.get('app') or body.get('service') or '?'} {body.get('version', '')}".strip()] += 1
        hdrs = " ".join(f"{k}: {v}" for k, v in headers.items())
        lines = [Content.assemble((f" {n} × GET {host}:{port}{path}", "bold"), (f" {hdrs}" if hdrs else "", ""),
                                  (f"\n via the {via} Envoy", "$text-muted"))]
        for status, c in sorted(counts.items(), key=lambda x: str(x[0])):
            style = "$success" if isinstance(status, int) and status < 400 else "$error"
            bar = "█" * max(1, round(c * 20 / n))
            lines.append(Content.assemble((f"  {status!s:>5} ", f"bold {style}"), (bar, style), (f" {c}", "")))
        for name, c in who.most_common(4):
            lines.append(Content.styled(f"  answered by {name}: {c}", "$text-muted"))
        lines.append(Content.styled(f"  slowest {slowest * 1000:.0f} ms", "$text-muted"))
        if errors:
            lines.append(Content.styled(f"  {errors}", "$error"))
        self.app.call_from_thread(self._show_probe, Content("\n").join(lines))

    def _show_probe(self, text: Content) -> None:
        self.mapp.clear_busy("probe")
        self.probe_text = text
        self.query_one("#gd-probe", Static).update(text)

    def apply_filter(self, text: str) -> None:
        super().apply_filter(text)
        if self.control is not None:
            self._show(self.faults, self.scopes, self.proxies)


def preset_from_trace(res) -> FaultPreset:
    """Target the rule the last trace matched (what the user was looking at)."""
    t = getattr(res, "trace", None) if res is not None else None
    if t is not None and t.virtual_service is not None:
        return FaultPreset(virtual_service=f"{t.virtual_service.namespace}/{t.virtual_service.name}", rule=t.rule_index)
    if t is not None and t.destinations:
        d = t.destinations[0]
        return FaultPreset(host=d.host, subset=d.subset or None)
    return FaultPreset()


def probe_target(snap, item: dict | None, query, info) -> tuple[str, str, dict, int, str] | str:
    """Where to send real requests to see a fault: (host, path, headers, port, via), or why not.
    A fault on a gateway VirtualService is probed through the ingress gateway, with the path and
    headers its rule matches; a host fault through the sidecar on the service's port."""
    from meshtui.model.hosts import resolve_gateway_name

    if snap is None:
        return "the mesh is not loaded yet"
    gw_ports = sorted(int(p) for p in (getattr(info, "gateway_listeners", None) or {}))
    if item and item.get("type") == "fault":
        t = item.get("target") or {}
        if t.get("virtual_service"):
            ns, _, name = t["virtual_service"].partition("/")
            vs = snap.get("VirtualService", ns, name)
            if vs is None:
                return f"VirtualService {ns}/{name} is not in the sources"
            rules = vs.spec.http
            rule = rules[t.get("rule") or 0] if rules and (t.get("rule") or 0) < len(rules) else None
            path, headers = "/", {}
            if rule is not None and rule.match:
                m = rule.match[0]
                if m.uri is not None and m.uri.kind in ("exact", "prefix") and m.uri.value:
                    path = m.uri.value
                headers = {k: v.value for k, v in m.headers.items() if v.kind == "exact" and v.value is not None}
            gateways = [resolve_gateway_name(g, ns) for g in vs.spec.gateways]
            on_gateway = bool(gateways) and "mesh" not in gateways
            hosts = [h for h in vs.spec.hosts if not h.startswith("*")]
            if on_gateway:
                if not gw_ports:
                    return "this VirtualService is bound to a gateway, and the demo runs no gateway Envoy"
                return (hosts[0] if hosts else "bookinfo.example.com", path, headers, gw_ports[0], "gateway")
            host = (hosts[0] if hosts else name).split(".")[0]
            return (host, path, headers, _port_of(snap, host, ns), "sidecar")
        host = (t.get("host") or "").split(".")
        if host and host[0]:
            ns = host[1] if len(host) > 1 else "default"
            return (host[0], "/", {}, _port_of(snap, host[0], ns), "sidecar")
    if query is not None and query.url:
        from meshtui.errors import UsageError
        from meshtui.simulate import Request

        try:
            r = Request.parse(query.url, query.method, list(query.headers))
        except UsageError as exc:
            return f"the traced request cannot be sent: {exc}"
        short = r.host.split(".")[0]
        port = r.port or _port_of(snap, short, "default")
        via = "gateway" if query.gateway else "sidecar"
        if via == "gateway" and gw_ports:
            port = gw_ports[0]
        return (r.host if via == "gateway" else short, r.path_with_query, dict(r.headers), port, via)
    return "select a fault (or trace a request) to know where to send traffic"


def _port_of(snap, short: str, ns: str) -> int:
    for rs in snap.registry:
        if rs.name == short and rs.namespace == ns and rs.ports:
            return rs.ports[0].port
    return 9080
