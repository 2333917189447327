"""Proxies: the Envoys connected to meshtui's xDS server with their sync state per resource type
(when there is one, as in `meshtui demo`), and for any workload the config meshtui generates for
it, as tables in istioctl proxy-config's vocabulary, each row one ⏎ away from its source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from meshtui.simulate.present import path_pattern
from meshtui.tui.screens.base import MeshScreen, make_matcher
from meshtui.tui.widgets.lazy_table import LazyTable
from meshtui.tui.widgets.trace_render import row

if TYPE_CHECKING:
    from meshtui.translate.config import Route, VirtualHost

TYPES = ("CDS", "EDS", "LDS", "RDS", "RTDS")
WORKLOADS_TITLE = "Generated config, per workload (⏎)"

NO_SERVER = ("No Envoy is connected: proxies connect to meshtui's own xDS server (`meshtui demo`, or "
             "`meshtui serve` with `meshtui envoy-bootstrap`). Below, the config meshtui generates for "
             "each workload of these sources; ⏎ shows it.")


def type_cell(st: dict | None) -> Content:
    if not st:
        return Content.styled("-", "$text-muted")
    if st.get("lastNack") and st.get("lastNack", {}).get("version") == st.get("sent"):
        return Content.styled("NACK", "bold $error")
    if st.get("inFlight"):
        return Content.styled("SENT", "$warning")
    if st.get("acked") and st.get("acked") == st.get("sent"):
        return Content.styled(f"ACK {str(st.get('acked'))[:6]}", "$success")
    if st.get("sent"):
        return Content.styled("STALE", "$warning")
    return Content.styled("NOT SENT", "$text-muted")


def drift_cell(d) -> Content:
    """What the proxy's Envoy holds against what meshtui pushed (read from its admin endpoint)."""
    if d is None:
        return Content.styled("-", "$text-muted")
    if d.error:
        return Content.styled("unreadable", "$warning")
    return Content.styled("none", "$success") if not d.found else Content.styled(d.label, "bold $error")


def nack_text(p: dict) -> str:
    for t, st in (p.get("types") or {}).items():
        n = (st or {}).get("lastNack")
        if n:
            return f"{t}: {n.get('reason', '')}"
    return ""


class ProxiesScreen(MeshScreen):
    VIEW = "proxies"
    DESCRIPTION = "connected Envoys with their sync state, and the generated config of any proxy"

    BINDINGS = [Binding("enter", "open", "Config", id="proxies.open", show=True)]

    def __init__(self) -> None:
        super().__init__()
        self.connected: list[dict] = []
        self._reload_due = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="px-main"):
            if self.mapp.demo is not None:
                yield DataTable(id="px-connected", cursor_type="row", zebra_stripes=True)
            else:
                yield Static(Content.styled(" " + NO_SERVER, "$text-muted"), id="px-none", classes="notice-small")
            yield LazyTable(id="px-workloads", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        if self.mapp.demo is not None:
            t = self.query_one("#px-connected", DataTable)
            t.border_title = "Connected Envoys (xDS)"
            t.add_columns("proxy", "state", *TYPES, "drift", "last NACK")
        w = self.query_one("#px-workloads", LazyTable)
        w.border_title = WORKLOADS_TITLE
        w.add_columns("workload", "kind", "proxy", "labels")
        super().on_mount()
        (self.query_one("#px-connected", DataTable) if self.mapp.demo is not None else w).focus()

    def on_data(self) -> None:
        self._workloads()
        if self.mapp.demo is not None:
            self.reload()

    def on_xds_event(self, ev) -> None:
        # a push to 200 proxies is 400 events: one reload for a burst, not one per event
        if ev.kind in ("connect", "disconnect", "ack", "nack", "push") and self.is_mounted and not self._reload_due:
            self._reload_due = True
            self.set_timer(0.2, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_due = False
        self.reload()

    @work(thread=True, exclusive=True, group="proxies-reload", exit_on_error=False, description="reload")
    def reload(self) -> None:
        from meshtui.tui.drift import proxy_drift

        try:
            data = self.mapp.demo.proxies()
            drifts = {p["proxy"]: proxy_drift(self.mapp.demo, p["proxy"]) for p in data if p.get("synced")}
        except Exception as exc:  # noqa: BLE001 - a worker thread: the control plane's failure is shown
            self.app.call_from_thread(self.notify, f"cannot read the control plane: {exc}", severity="error")
            return
        self.app.call_from_thread(self._show_connected, data, drifts)

    def _show_connected(self, proxies: list[dict], drifts: dict | None = None) -> None:
        self.connected = proxies
        t = self.query_one("#px-connected", DataTable)
        keep = t.cursor_row
        t.clear()
        for p in proxies:
            state = ("SYNCED", "$success") if p.get("synced") else (("CONNECTED", "$warning") if p.get("connected") else ("GONE", "$error"))
            if p.get("translateError"):
                state = ("TRANSLATE ERROR", "bold $error")
            types = p.get("types") or {}
            t.add_row(*row(self.app, Content.styled(p["proxy"], "bold"), Content.styled(*state), *(type_cell(types.get(x)) for x in TYPES),
                           drift_cell((drifts or {}).get(p["proxy"])),
                           Content.styled(nack_text(p) or p.get("translateError") or "", "$error")), key=p["proxy"])
        if keep is not None and t.row_count:
            t.move_cursor(row=min(keep, t.row_count - 1))

    def _workloads(self) -> None:
        """The workloads, a page of rows at a time (20,000 at 10,000 services)."""
        ws = self.mapp.workspace
        table = self.query_one("#px-workloads", LazyTable)
        if ws is None:
            table.clear()
            return
        from meshtui.translate.gateway import is_gateway_workload

        snap = ws.snapshot
        items = [w for w in snap.workloads if not self.mapp.ns_filter or w.namespace == self.mapp.ns_filter]
        if self.filter_text.strip():
            match = make_matcher(self.filter_text)
            items = [w for w in items if match(f"{w.ref} {_labels(w)}")]

        def render(w) -> tuple[list, str]:
            kind = "router" if is_gateway_workload(snap, w) else "sidecar"
            return row(self.app, Content.styled(w.ref, "bold"), w.kind + (" (no pods: synthesized)" if w.synthesized else ""),
                       kind, Content.styled(_labels(w), "$text-muted")), w.ref

        table.show_items(items, render, WORKLOADS_TITLE)

    def apply_filter(self, text: str) -> None:
        super().apply_filter(text)
        self._workloads()

    def action_open(self) -> None:
        focused = self.focused
        if not isinstance(focused, DataTable) or not focused.row_count or focused.cursor_row is None:
            return
        key = focused.coordinate_to_cell_key(Coordinate(focused.cursor_row, 0)).row_key.value
        if key:
            self.app.push_screen(ProxyConfigScreen(key, live=focused.id == "px-connected"))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.push_screen(ProxyConfigScreen(event.row_key.value, live=event.data_table.id == "px-connected"))


class ProxyConfigScreen(MeshScreen):
    """Listeners, routes, clusters and endpoints of one proxy; ⏎ on a row opens its source."""

    DESCRIPTION = "the Envoy config meshtui generates for one proxy (as istioctl proxy-config shows it)"
    BINDINGS = [Binding("enter", "source", "Source", id="proxyconfig.source")]

    def __init__(self, proxy: str, live: bool = False) -> None:
        super().__init__()
        self.proxy = proxy
        self.live = live
        self.refs: dict[str, dict[str, object]] = {"listeners": {}, "routes": {}, "clusters": {}, "endpoints": {}}

    @property
    def VIEW(self) -> str:  # type: ignore[override]  # a property where the base has a class constant
        return "proxies"

    def compose_body(self) -> ComposeResult:
        yield Static(id="pc-head", classes="pane-title")
        with TabbedContent(id="pc-tabs"):
            for name in ("listeners", "routes", "clusters", "endpoints") + (("drift",) if self.live else ()):
                with TabPane(name.capitalize(), id=f"pc-tab-{name}"):
                    yield LazyTable(id=f"pc-{name}", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        cols = {"listeners": ("name", "address", "chains", "kind"),
                "routes": ("route", "virtual host", "match", "action", "virtual service", "domains"),
                "clusters": ("cluster", "type", "lb", "destination rule", "subset labels", "endpoints"),
                "endpoints": ("endpoint", "cluster", "pod", "origin"),
                "drift": ("what", "name", "cause", "field", "meshtui pushed", "Envoy holds")}
        for name, c in cols.items():
            if name != "drift" or self.live:
                self.query_one(f"#pc-{name}", DataTable).add_columns(*c)
        self.query_one("#pc-head", Static).update(Content.styled(f" {self.proxy}: generating…", "$warning"))
        super().on_mount()

    def status_extra(self) -> list[tuple[str, str]]:
        return [(f"proxy {self.proxy}", "$accent")]

    def on_data(self) -> None:
        self.mapp.set_busy("translate", f"translating for {self.proxy}")
        self.generate()

    @work(thread=True, exclusive=True, group="proxy-config", exit_on_error=False, description="generate")
    def generate(self) -> None:
        from meshtui.heap import keeping
        from meshtui.translate import translate
        from meshtui.tui.drift import proxy_drift

        drift = None
        try:
            if self.live and self.mapp.demo is not None:
                cfg = self.mapp.demo.proxy_config(self.proxy)
                drift = proxy_drift(self.mapp.demo, self.proxy)
            else:
                with keeping():
                    cfg = translate(self.mapp.trace_snapshot, self.proxy)
        except Exception as exc:  # noqa: BLE001 - shown in the view
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._show, cfg, drift)

    def _failed(self, msg: str) -> None:
        self.mapp.clear_busy("translate")
        self.query_one("#pc-head", Static).update(Content.styled(f" {self.proxy}: {msg}", "bold $error"))

    def _show_drift(self, drift) -> str:
        """The Drift tab; returns the header's word on it."""
        table = self.query_one("#pc-drift", DataTable)
        table.clear()
        if drift is None:
            table.add_row(*row(self.app, "-", "meshtui cannot read this proxy's Envoy admin endpoint", "", "", "", ""))
            return ""
        if drift.error:
            table.add_row(*row(self.app, "-", Content.styled(drift.error, "$warning"), "", "", "", ""))
            return "  ·  drift unreadable"
        for i, d in enumerate(drift.found):
            fields = d.fields or (("", "", ""),)
            for j, (path, left, right) in enumerate(fields):
                table.add_row(*row(self.app, d.kind if j == 0 else "", _short(d.name) if j == 0 else "",
                                   Content.styled(str(d.cause), "bold $error") if j == 0 else "", path or d.explanation,
                                   left, right), key=f"d{i}.{j}")
        for kind, n in sorted(drift.unmodelled.items()):
            table.add_row(*row(self.app, kind, Content.styled(f"{n} held by Envoy, not generated by meshtui", "$text-muted"),
                               "not-modelled", "", "", ""))
        if not drift.found:
            table.add_row(*row(self.app, "-", Content.styled("no drift: Envoy holds what meshtui pushed", "$success"), "", "", "", ""))
            return "  ·  no drift"
        return f"  ·  DRIFT: {drift.label}"

    def _show(self, cfg, drift=None) -> None:
        self.mapp.clear_busy("translate")
        match = make_matcher(self.filter_text)
        p = cfg.proxy
        scope = f"Sidecar {cfg.sidecar_scope.namespace}/{cfg.sidecar_scope.name}" if cfg.sidecar_scope else "no Sidecar (default scope)"
        self.query_one("#pc-head", Static).update(Content.assemble(
            (f" {p.type} ", "bold reverse $accent"), (f" {p.namespace}/{p.workload}", "bold"),
            (f"  ·  {len(cfg.listeners)} listeners, {sum(len(rc.virtual_hosts) for rc in cfg.route_configs.values())} virtual hosts, "
             f"{len(cfg.clusters)} clusters  ·  {scope}  ·  outbound {cfg.outbound_policy}", "$text-muted"),
            ("  ·  as pushed to the live proxy" if self.live else "", "$accent"),
            (self._show_drift(drift) if self.live else "", "bold $error" if drift is not None and drift.found else "$success")))
        # tables of thousands of rows at 10,000 services: filtered here, rows made a page at a time
        self.refs = {"listeners": {}, "routes": {}, "clusters": {}, "endpoints": {}}
        refs = self.refs
        listeners = [(f"l{i}", ls) for i, ls in enumerate(cfg.listeners) if match(f"{ls.name} {ls.address}:{ls.port}")]

        def listener_row(item) -> tuple[list, str]:
            k, ls = item
            chains = ", ".join(sorted({c.kind + (f"→{c.rds}" if c.rds else "") for c in ls.chains}))[:60]
            refs["listeners"][k] = ls.ref
            return row(self.app, ls.name, f"{ls.address}:{ls.port}", chains, ls.kind), k

        self.query_one("#pc-listeners", LazyTable).show_items(listeners, listener_row)
        routes: list[tuple[str, str, VirtualHost, Route, str]] = []
        for rc_name, rc in cfg.route_configs.items():
            for vh in rc.virtual_hosts:
                for r in vh.routes:
                    vs = f"{r.virtual_service[1]}.{r.virtual_service[0]}" if r.virtual_service else "-"
                    if self.filter_text.strip() and not match(
                            f"{rc_name} {vh.name} {' '.join(vh.domains)} {route_match_text(r)} {route_action_text(r)} {vs}"):
                        continue
                    routes.append((f"r{len(routes) + 1}", rc_name, vh, r, vs))

        def route_row(item) -> tuple[list, str]:
            k, rc_name, vh, r, vs = item
            domains = ", ".join(_short(d) for d in vh.domains[:2]) + (f" +{len(vh.domains) - 2}" if len(vh.domains) > 2 else "")
            refs["routes"][k] = r.ref or vh.ref
            return row(self.app, rc_name, _short(vh.name), route_match_text(r), route_action_text(r), vs, domains), k

        self.query_one("#pc-routes", LazyTable).show_items(routes, route_row)
        clusters = [(f"c{i}", name, c) for i, (name, c) in enumerate(sorted(cfg.clusters.items())) if match(name)]

        def cluster_row(item) -> tuple[list, str]:
            k, name, c = item
            dr = f"{c.destination_rule.name}.{c.destination_rule.namespace}" if c.destination_rule else "-"
            eps = len(cfg.endpoints.get(name, ()))
            labels = ",".join(f"{a}={b}" for a, b in sorted(c.subset_labels.items())) or "-"
            refs["clusters"][k] = c.destination_rule or (c.service.resource and _ref_of(c.service.resource) if c.service else None)
            return row(self.app, name, c.type, c.lb_policy, dr, labels, str(eps) if c.type == "EDS" else "-"), k

        self.query_one("#pc-clusters", LazyTable).show_items(clusters, cluster_row)
        endpoints = [(cname, e) for cname, eps in sorted(cfg.endpoints.items()) for e in eps
                     if match(f"{e.address}:{e.port} {cname} {e.pod}")]
        numbered = [(f"e{i}", cname, e) for i, (cname, e) in enumerate(endpoints, 1)]

        def endpoint_row(item) -> tuple[list, str]:
            k, cname, e = item
            refs["endpoints"][k] = ("Pod", *e.pod.split("/", 1)) if e.pod and "/" in e.pod else None
            return row(self.app, f"{e.address}:{e.port}", cname, e.pod or "-", Content.styled(e.origin, "$text-muted")), k

        self.query_one("#pc-endpoints", LazyTable).show_items(numbered, endpoint_row)
        active = self.query_one("#pc-tabs", TabbedContent).active.removeprefix("pc-tab-") or "routes"
        self.query_one(f"#pc-{active}", DataTable).focus()

    def apply_filter(self, text: str) -> None:
        super().apply_filter(text)
        self.generate()

    def action_source(self) -> None:
        tabs = self.query_one("#pc-tabs", TabbedContent)
        name = (tabs.active or "pc-tab-routes").removeprefix("pc-tab-")
        table = self.query_one(f"#pc-{name}", DataTable)
        if not table.row_count or table.cursor_row is None:
            return
        k = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        ref = self.refs.get(name, {}).get(k) if k is not None else None
        if ref is None:
            self.notify("this row comes from no object in the sources (a default or generated piece)", severity="information")
        elif isinstance(ref, tuple):
            self.mapp.show_resource(ref)  # a (kind, namespace, name) key
        else:
            self.mapp.open_ref(ref)

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_source()


def _labels(w) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(w.labels.items()))


def _short(host: str) -> str:
    return host.replace(".svc.cluster.local", "")


def _ref_of(resource):
    from meshtui.translate.config import Ref

    return Ref(resource.kind, resource.namespace, resource.name, "", resource.src.file, resource.src.line)


def route_match_text(r) -> str:
    m = r.match
    text = path_pattern(m)
    extra = [f"{h.name}{'!' if h.invert else ''}={h.match.value}" for h in m.headers if not h.name.startswith(":authority")]
    extra += [f"?{q.name}={q.match.value}" for q in m.query]
    return " ".join([text, *extra])[:50]


def route_action_text(r) -> str:
    if r.redirect is not None:
        return f"redirect {r.redirect.code}"
    if r.direct_response is not None:
        return f"direct {r.direct_response.status}"
    if r.action is None:
        return "-"
    parts = [f"{c.subset or c.host.split('.')[0]}:{c.weight}" if len(r.action.clusters) > 1 else _short(c.cluster)
             for c in r.action.clusters]
    text = ", ".join(parts)
    if r.fault is not None:
        text += " ⚡fault"
    return text[:60]
