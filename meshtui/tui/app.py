"""The meshtui app: views (resources, trace, what-if, game day, proxies, findings) as Textual
modes, k9s' key grammar on top (`:` commands, `/` filter, `?` help, `esc` back), every binding
with an id a config file can remap, and all slow work in worker threads.

Entry point for the shells: `run_app(...)` (see its docstring). Tests build `MeshtuiApp(...)`
directly and drive it with `App.run_test()`."""

from __future__ import annotations

import collections
import functools
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, TextArea

from meshtui.errors import MeshtuiError
from meshtui.heap import settle, settling
from meshtui.model.parse import LoadResult
from meshtui.tui import themes
from meshtui.tui.commands import Command, parse
from meshtui.tui.config import TuiConfig, load_config
from meshtui.tui.related import warm as warm_related
from meshtui.tui.tracing import TraceEngine, TraceQuery, TraceResult
from meshtui.tui.workspace import SourceInfo, Workspace, run_analysis

Key = tuple[str, str, str]
LoadFn = Callable[[Callable[[str], None]], LoadResult]

# event kinds after which the live snapshot (active edits overlaid) must be rebuilt
EDIT_EVENTS = {"edit-add", "edit-remove", "expire", "revert", "clear", "restore", "nack"}


class XdsEventMessage(Message):
    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class ClusterUpdated(Message):
    def __init__(self, result: LoadResult | None, changes: list, error: str = "") -> None:
        super().__init__()
        self.result = result
        self.changes = changes
        self.error = error


class WatchStateChanged(Message):
    def __init__(self, state: str, detail: str) -> None:
        super().__init__()
        self.state = state
        self.detail = detail


class MeshtuiApp(App[int]):
    """See run_app() for the arguments."""

    CSS_PATH = "app.tcss"
    TITLE = "meshtui"
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        # priority: run as the key arrives, so the keys typed right after it reach the open line
        # (a normal binding runs only after the focused widget passed the key up, and the next keys
        # were already on their way to the view); check_action lets text fields keep `:` and `/`
        Binding("colon", "command_line(':')", "Command", key_display=":", id="app.command", priority=True),
        Binding("slash", "command_line('/')", "Filter", key_display="/", id="app.filter", priority=True),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("escape", "back", "Back", show=False, id="app.back"),
        Binding("1", "view('resources')", "Resources", show=False, id="view.resources"),
        Binding("2", "view('trace')", "Trace", show=False, id="view.trace"),
        Binding("3", "view('whatif')", "What-if", show=False, id="view.whatif"),
        Binding("4", "view('gameday')", "Game day", show=False, id="view.gameday"),
        Binding("5", "view('proxies')", "Proxies", show=False, id="view.proxies"),
        Binding("6", "view('findings')", "Findings", show=False, id="view.findings"),
        Binding("ctrl+t", "toggle_theme", "Light/dark", show=False, id="app.toggle-theme"),
        Binding("f8", "screenshot", "Screenshot", show=False, id="app.screenshot"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, *, load: LoadFn | None = None, result: LoadResult | None = None,
                 source: SourceInfo | None = None, demo: Any = None, cluster: Any = None,
                 overlays: list | None = None, readonly: bool = False, config: TuiConfig | None = None,
                 start_view: str = "resources", trace: TraceQuery | None = None, analyze: bool = True,
                 watch: bool = True, cursor_blink: bool = True, kubeconfig: str | None = None,
                 control: Any = None, own_process: bool = False) -> None:
        self.config = config if config is not None else load_config()
        super().__init__()
        from meshtui.tui.screens import VIEW_SCREENS, make_view

        for mode in VIEW_SCREENS:
            self.add_mode(mode, functools.partial(make_view, mode))
        for t in themes.THEMES:
            self.register_theme(t)
        self.theme = themes.DEFAULT_DARK
        self._load = load
        self.demo = demo
        self.cluster = cluster
        self.kubeconfig = kubeconfig  # for :ctx (None: $KUBECONFIG or ~/.kube/config, as kubectl)
        self.overlays = list(overlays or [])
        self.readonly = bool(readonly or self.config.readonly)
        # the game-day control plane (meshtui.tui.controlplane): the demo's, a `meshtui serve`, or a
        # cluster with --allow-write; read-only keeps it visible and refuses every change
        if control is None and demo is not None:
            from meshtui.tui.controlplane import DemoControlPlane

            control = DemoControlPlane(demo)
        self.control = control
        if control is not None:
            control.readonly = self.readonly
        self.source = source or SourceInfo("files", "sources")
        self.start_view = start_view if start_view in VIEW_SCREENS else "resources"
        self.engine = TraceEngine()
        self.trace_query: TraceQuery | None = trace
        self.last_trace: TraceResult | None = None  # shown last in the trace view
        self.whatif_key: Key | None = None
        self.ns_filter: str | None = None
        self.analyze_enabled = analyze
        self.cursor_blink = cursor_blink  # False in snapshot tests and screenshots: stable pictures
        self.watch_enabled = watch
        self.own_process = own_process  # run_app: the process is the app's (see _mark_first_paint)
        self.workspace: Workspace | None = None
        self.live_snapshot = None  # demo: the snapshot with active edits overlaid
        self.data_version = 0
        self.views: set = set()
        self.xds_events: collections.deque = collections.deque(maxlen=500)
        self.watch_state = ""
        self.load_error = ""
        self.busy: dict[str, str] = {}
        self._history: list[str] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._cluster_watch = None
        self._t0 = time.perf_counter()
        self.first_data_paint: float | None = None  # seconds from construction to the data on screen
        if result is not None:
            self.workspace = Workspace(result, self.source)
        elif demo is not None and getattr(demo, "base_snapshot", None) is not None:
            snap = demo.base_snapshot
            self.workspace = Workspace(LoadResult(snap, list(snap.diagnostics), loaded=len(snap.by_key)), self.source)

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        theme = themes.resolve(self.config.theme) if self.config.theme else None
        if theme:
            if theme in self.available_themes:
                self.theme = theme
            else:
                self.notify(f"{self.config.path}: theme {theme!r} is not known; "
                            f"known: {', '.join(sorted(self.available_themes))}", severity="warning", timeout=8)
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        for w in self.config.warnings:
            self.notify(w, severity="warning", timeout=10)
        self.switch_mode(self.start_view)
        start_expiry = getattr(self.control, "start_expiry", None)
        if start_expiry is not None:  # a cluster: edits past their expiry are reverted while the TUI runs
            start_expiry(on_revert=lambda r: self.call_from_thread(self.notify, f"expired, reverted: {r.message}"),
                         on_error=lambda e: self.call_from_thread(self.notify, f"expiry check: {e}", severity="warning"))
        if self.demo is not None:
            try:
                self._unsubscribe = self.demo.subscribe(lambda ev: self.post_message(XdsEventMessage(ev)))
            except Exception as exc:  # noqa: BLE001 - the game-day panel says what went wrong
                self.notify(f"cannot follow the control plane's events: {exc}", severity="error")
            self.refresh_live()
        if self.workspace is None and self._load is not None:
            self.set_busy("load", f"loading {self.source.label}")
            self.load_workspace()
        elif self.workspace is not None:
            self._workspace_ready()

    def on_unmount(self) -> None:
        if self.control is not None and self.demo is None:
            try:
                self.control.close()  # a serve client's channel, a cluster's expiry reverter
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except Exception:  # noqa: BLE001 - unsubscribing is best effort while the app exits
                pass
        if self._cluster_watch is not None:
            try:
                self._cluster_watch.stop()
            except Exception:  # noqa: BLE001 - stopping the watch is best effort while the app exits
                pass

    @work(thread=True, group="load", exit_on_error=False, description="load_workspace")
    def load_workspace(self) -> None:
        def progress(msg: str) -> None:
            self.call_from_thread(self.set_busy, "load", msg)


        try:
            # the app keeps this snapshot (millions of acyclic objects) to the end: the collector
            # stays off while it loads and it is frozen out of the collector's generations before
            # the collector comes back, or the first collections rescan all of it (0.8 s of CPU
            # after a cached load at 10,000 services, on the UI's time), as the one-shot commands do
            with settling():
                result = self._load(progress)  # type: ignore[misc]  # a callable attribute, not a method
        except MeshtuiError as exc:
            self.call_from_thread(self.exit, None, exc.exit_code, f"meshtui: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - never a traceback for a user
            self.call_from_thread(self.exit, None, 1,
                                  f"meshtui: internal error while loading ({type(exc).__name__}: {exc}); this is a bug in meshtui")
            return
        self.call_from_thread(self._set_workspace, result)

    def _set_workspace(self, result: LoadResult, changed: set | None = None) -> None:
        old = self.workspace
        self.workspace = Workspace(result, self.source, changed=set(changed or ()),
                                   version=(old.version + 1) if old else 0)
        if old is not None and old.findings is not None and changed is None:
            self.workspace.findings = None
        self._workspace_ready()

    def _workspace_ready(self) -> None:
        self.clear_busy("load")
        self.engine.clear()
        self.bump()
        if self.analyze_enabled:
            self.set_busy("analyze", "analyzing")
            # once the objects are on screen: the analysis thread holds the GIL for seconds on a
            # large mesh, and the first paint would share the interpreter with it
            ws = self.workspace
            self.call_after_refresh(lambda: self.call_after_refresh(self._analyze_if_current, ws))
        else:
            self.workspace.analyzer_note = "analysis is off"  # type: ignore[union-attr]  # set by the load above
        if self.cluster is not None and self.watch_enabled and self._cluster_watch is None:
            self.start_watch()
        if self.first_data_paint is None:
            self.call_after_refresh(self._mark_first_paint)

    def _mark_first_paint(self) -> None:
        if self.first_data_paint is None:
            self.first_data_paint = time.perf_counter() - self._t0
            if self.own_process:
                # what exists now (the screens, the workspace's 50,000-entry lists) lives as long as
                # the app: out of the cycle collector's way too, or each full collection (one per
                # ~20,000 new objects, as after a freeze the old generation is small) walks it
                # again: 80 ms at 10,000 services, in the middle of a keystroke
                settle()

    def _analyze_if_current(self, ws: Workspace | None) -> None:
        if ws is not None and ws is self.workspace:
            self.analyze_workspace(ws)

    @work(thread=True, group="analyze", exclusive=True, exit_on_error=False, description="analyze_workspace")
    def analyze_workspace(self, ws: Workspace) -> None:
        # first the one related-objects look-up that reads every VirtualService body (a cached
        # snapshot's are packed): off the UI thread, before someone selects a DestinationRule
        warm_related(ws.snapshot)
        findings, note = run_analysis(ws.snapshot, list(ws.result.diagnostics))
        self.call_from_thread(self._set_findings, ws, findings, note)

    def _set_findings(self, ws: Workspace, findings, note: str) -> None:
        self.clear_busy("analyze")
        if ws is not self.workspace:
            return
        ws.findings = findings
        ws.analyzer_note = note
        self.bump()

    def prepare_screen(self, screen: Screen) -> None:
        """Called by every screen and dialog once mounted."""
        if not self.cursor_blink:
            for field in screen.query(Input):
                field.cursor_blink = False
            for area in screen.query(TextArea):
                area.cursor_blink = False

    def bump(self) -> None:
        """The data changed: every view redraws (the visible one now, the others on resume)."""
        self.data_version += 1
        for view in list(self.views):
            view.data_changed()

    # ------------------------------------------------------------------ live snapshot (demo)

    @property
    def trace_snapshot(self):
        """What traces run against: the live snapshot with game-day edits, else the sources."""
        if self.live_snapshot is not None:
            return self.live_snapshot
        return self.workspace.snapshot if self.workspace else None

    @work(thread=True, group="live", exclusive=True, exit_on_error=False, description="refresh_live")
    def refresh_live(self) -> None:
        try:
            snap = self.demo.snapshot()
        except Exception as exc:  # noqa: BLE001 - a worker thread: the failure is shown, never a traceback
            self.call_from_thread(self.notify, f"cannot read the live mesh from the control plane: {exc}", severity="error")
            return
        self.call_from_thread(self._set_live, snap)

    def _set_live(self, snap) -> None:
        self.live_snapshot = snap
        self.bump()

    def on_xds_event_message(self, message: XdsEventMessage) -> None:
        ev = message.event
        if getattr(ev, "kind", "") == "heartbeat":
            return
        self.xds_events.append(ev)
        for view in list(self.views):
            handler = getattr(view, "on_xds_event", None)
            if handler is not None:
                handler(ev)
        if ev.kind in EDIT_EVENTS:
            self.refresh_live()

    # ------------------------------------------------------------------ cluster watch

    def start_watch(self) -> None:
        def on_update(update) -> None:
            try:
                result = update.load()
                self.post_message(ClusterUpdated(result, list(update.changes)))
            except Exception as exc:  # noqa: BLE001 - a watch thread: the failure is shown in the app
                self.post_message(ClusterUpdated(None, [], f"{type(exc).__name__}: {exc}"))

        def on_state(status) -> None:
            self.post_message(WatchStateChanged(status.state, status.detail))

        try:
            self._cluster_watch = self.cluster.watch(on_update, on_state=on_state, overlays=self.overlays)
            self.watch_state = "watching"
        except Exception as exc:  # noqa: BLE001 - the kubernetes client raises many types; the app keeps its last view
            self.watch_state = "not watching"
            self.notify(f"cannot watch the cluster ({exc}); the view will not update", severity="warning")
        self.refresh_status()

    def on_cluster_updated(self, message: ClusterUpdated) -> None:
        if message.result is None:
            self.notify(f"cluster update could not be read: {message.error}", severity="error")
            return
        changed = {(c.kind, c.namespace, c.name) for c in message.changes}
        self._set_workspace(message.result, changed)
        if changed:
            n = len(changed)
            self.notify(f"cluster: {n} object{'s' if n != 1 else ''} changed; traces are re-run", timeout=3)

    def on_watch_state_changed(self, message: WatchStateChanged) -> None:
        self.watch_state = message.state + (f" ({message.detail})" if message.detail else "")
        self.refresh_status()

    # ------------------------------------------------------------------ status

    def set_busy(self, key: str, text: str) -> None:
        self.busy[key] = text
        self._show_busy()

    def clear_busy(self, key: str) -> None:
        self.busy.pop(key, None)
        self._show_busy()

    def _show_busy(self) -> None:
        text = " · ".join(self.busy.values())
        screen = self.screen
        if hasattr(screen, "set_busy"):
            screen.set_busy(text)

    def status_parts(self) -> list[tuple[str, str]]:
        parts: list[tuple[str, str]] = [(self.source.label, "bold")]
        if self.source.context:
            parts.append((f"ctx {self.source.context}", ""))
        parts.append((f"ns {self.ns_filter or 'all'}", ""))
        ws = self.workspace
        if ws is None:
            parts.append(("loading…", "$warning"))
        else:
            parts.append((f"{len(ws.snapshot.by_key)} objects", ""))
            errs = len(ws.load_errors())
            if errs:
                parts.append((f"{errs} left out", "$error"))
            if ws.findings is not None:
                e = sum(1 for m in ws.findings if m.level == "Error")
                w = sum(1 for m in ws.findings if m.level == "Warning")
                if e or w:
                    parts.append((f"✗{e} ⚠{w}", "$error" if e else "$warning"))
        if self.demo is not None:
            parts.append(("live xDS", "$accent"))
        elif self.control is not None:
            parts.append(({"serve": "meshtui serve", "cluster": "write-back"}.get(self.control.kind, self.control.kind), "$accent"))
        if self.watch_state:
            parts.append((f"watch: {self.watch_state}", "$success" if self.watch_state == "watching" else "$warning"))
        if self.readonly:
            parts.append(("READ-ONLY", "bold $warning"))
        return parts

    def refresh_status(self) -> None:
        for view in list(self.views):
            view.refresh_status()

    # ------------------------------------------------------------------ navigation

    def action_view(self, mode: str) -> None:
        if mode == self.current_mode and len(self.screen_stack) == 1:
            return
        if mode != self.current_mode:
            self._history.append(self.current_mode)
            del self._history[:-20]
            self.switch_mode(mode)
        else:
            while len(self.screen_stack) > 1:
                self.pop_screen()
        self.call_after_refresh(self._show_busy)

    async def action_back(self) -> None:  # async as textual's own, which it replaces
        screen = self.screen
        if isinstance(screen, ModalScreen):
            screen.dismiss(None)
            return
        handle = getattr(screen, "handle_back", None)
        if handle is not None and handle():
            return
        if len(self.screen_stack) > 1:
            self.pop_screen()
            return
        if self._history:
            self.switch_mode(self._history.pop())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "command_line" and isinstance(self.focused, (Input, TextArea)):
            return False  # there `:` and `/` are text (a URL, YAML, the command line itself)
        return True

    def action_command_line(self, mode: str) -> None:
        opener = getattr(self.screen, "open_command_line", None)
        if opener is not None:
            opener(mode)

    def action_help(self) -> None:
        from meshtui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        current = self.available_themes.get(self.theme)
        self.theme = themes.DEFAULT_LIGHT if current is None or current.dark else themes.DEFAULT_DARK

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        path = self.save_screenshot(filename, path=path or os.getcwd())
        self.notify(f"screenshot saved: {path}")

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        from meshtui.tui.widgets.chrome import VIEWS

        for mode, label, _ in VIEWS:
            yield SystemCommand(f"Go to {label}", f"switch to the {label} view", lambda m=mode: self.action_view(m))
        yield SystemCommand("Theme: meshtui dark", "dark theme", lambda: setattr(self, "theme", themes.DEFAULT_DARK))
        yield SystemCommand("Theme: meshtui light", "light theme", lambda: setattr(self, "theme", themes.DEFAULT_LIGHT))
        ws = self.workspace
        if ws is not None:
            for key in ws.objects()[:2000]:
                kind, ns, name = key
                yield SystemCommand(f"Open {kind} {ns}/{name}", "show its YAML and related objects",
                                    lambda k=key: self.show_resource(k))
            for wl in ws.snapshot.workload_names()[:500]:
                yield SystemCommand(f"Trace from {wl}", "use this workload as the request's source",
                                    lambda w=wl: self.trace_from(w))
        if self.control is not None and not self.readonly:
            yield SystemCommand("Game day: add a fault", "inject an abort or a delay", lambda: self._gameday("add_fault"))
            yield SystemCommand("Game day: revert every edit", "the kill switch (asks first)",
                                lambda: self._gameday("revert_all"))

    def _gameday(self, action: str) -> None:
        self.action_view("gameday")
        self.call_after_refresh(lambda: getattr(self.screen, f"action_{action}", lambda: None)())

    # ------------------------------------------------------------------ commands

    def run_command(self, text: str) -> None:
        cmd = parse(text, self.config.aliases)
        if isinstance(cmd, str):
            self.notify(cmd, severity="warning")
            return
        self.execute(cmd)

    def execute(self, cmd: Command) -> None:
        name = cmd.name
        if name == "quit":
            self.exit(0)
        elif name == "help":
            self.action_help()
        elif name == "theme":
            self._set_theme(cmd.arg)
        elif name == "ns":
            self.set_namespace(cmd.arg)
        elif name == "ctx":
            self.switch_context(cmd.arg)
        elif name == "resources":
            self.action_view("resources")
            self.call_after_refresh(lambda: self.screen.show_kind(cmd.kind, cmd.arg) if hasattr(self.screen, "show_kind") else None)
        elif name == "trace":
            if cmd.arg:
                self.trace_to(cmd.arg if "://" in cmd.arg or "/" in cmd.arg or "." in cmd.arg or ":" in cmd.arg
                              else f"http://{cmd.arg}/")
            else:
                self.action_view("trace")
        else:
            self.action_view(name)

    def _set_theme(self, arg: str) -> None:
        if not arg:
            self.notify("themes: " + ", ".join(sorted(self.available_themes)), timeout=8)
            return
        name = themes.resolve(arg)
        if name not in self.available_themes:
            self.notify(f"no theme {arg!r}; known: {', '.join(sorted(self.available_themes))}", severity="warning")
            return
        self.theme = name

    def set_namespace(self, arg: str) -> None:
        arg = arg.strip()
        if arg in ("all", "-", "*", "-A", ""):
            self.ns_filter = None
        else:
            known = self.workspace.namespaces() if self.workspace else []
            if known and arg not in known:
                self.notify(f"no objects in namespace {arg!r}; namespaces: {', '.join(known)}", severity="warning")
                return
            self.ns_filter = arg
        self.bump()

    def switch_context(self, name: str) -> None:
        if self.cluster is None:
            self.notify("contexts are for cluster mode (meshtui --cluster); these objects come from "
                        f"{self.source.label}", severity="warning")
            return
        try:
            from kubernetes import config as kconfig

            # resolved here, not by the client (it reads $KUBECONFIG once, when first imported)
            path = self.kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
            files = [f for f in path.split(os.pathsep) if f and os.path.exists(f)]
            contexts, active = kconfig.list_kube_config_contexts(config_file=files[0] if files else path)
        except Exception as exc:  # noqa: BLE001 - the kubernetes config loader raises many types; say it and stay
            self.notify(f"cannot read the kubeconfig: {exc}", severity="error")
            return
        names = [c["name"] for c in contexts]
        if not name:
            from meshtui.tui.screens.dialogs import PickerScreen

            current = self.source.context or (active or {}).get("name", "")
            self.push_screen(PickerScreen("kubeconfig context", names, current),
                             lambda picked: self.switch_context(picked) if picked else None)
            return
        if name not in names:
            self.notify(f"no context {name!r} in the kubeconfig; contexts: {', '.join(names)}", severity="warning")
            return
        self._reopen_cluster(name)

    @work(thread=True, group="load", exclusive=True, exit_on_error=False, description="_reopen_cluster")
    def _reopen_cluster(self, context: str) -> None:
        from meshtui.cluster.source import open_cluster

        self.call_from_thread(self.set_busy, "load", f"connecting to context {context}")
        old = self.cluster
        try:
            src = open_cluster(self.kubeconfig, context, self.source.namespaces,
                               progress=lambda m: self.call_from_thread(self.set_busy, "load", m))
            result = src.load(self.overlays)
        except Exception as exc:  # noqa: BLE001 - said in the app; the old context stays
            self.call_from_thread(self.clear_busy, "load")
            self.call_from_thread(self.notify, f"context {context}: {exc}", severity="error", timeout=10)
            return

        def swap() -> None:
            if self._cluster_watch is not None:
                self._cluster_watch.stop()
                self._cluster_watch = None
            if old is not None:
                try:
                    old.close()
                except Exception:  # noqa: BLE001 - closing the old context is best effort; the new one is in use
                    pass
            self.cluster = src
            self.source = replace(self.source, context=context, label=f"cluster {context}")
            self._set_workspace(result)

        self.call_from_thread(swap)

    # ------------------------------------------------------------------ cross-view jumps

    def show_resource(self, key: Key, line: int | None = None, path: str = "") -> None:
        """The YAML of an object (at a line or field), pushed over the current view."""
        from meshtui.tui.screens.yaml_screen import YamlScreen

        ws = self.workspace
        if ws is None or key not in ws.snapshot.by_key:
            kind, ns, name = key
            self.notify(f"{kind} {ns}/{name} is not in the sources (it may be generated or implicit)",
                        severity="warning")
            return
        target = ws.line_for(key, line, path)
        self.push_screen(YamlScreen(key, target, path))

    def open_ref(self, ref) -> None:
        """Jump to where a trace step, route or cluster came from."""
        if ref is None:
            self.notify("this step has no source object", severity="information")
            return
        if ref.kind == "Fault":
            self.action_view("gameday")
            return
        self.show_resource((ref.kind, ref.namespace, ref.name), ref.line, ref.path)

    def trace_from(self, workload: str, gateway: bool = False) -> None:
        self.trace_with(replace(self.trace_query or TraceQuery(), source=workload, gateway=gateway))

    def trace_to(self, url: str) -> None:
        self.trace_with(replace(self.trace_query or TraceQuery(), url=url))

    def trace_with(self, query: TraceQuery) -> None:
        """Open the trace workbench on `query` (it becomes the current query)."""
        self.trace_query = query
        self.action_view("trace")
        self.call_after_refresh(lambda: self.screen.load_query(self.trace_query) if hasattr(self.screen, "load_query") else None)

    def open_whatif(self, key: Key) -> None:
        self.whatif_key = key
        self.action_view("whatif")
        self.call_after_refresh(lambda: self.screen.edit(key) if hasattr(self.screen, "edit") else None)


def _source_label(paths: list[str]) -> str:
    if not paths:
        return "sources"
    shown = [os.path.relpath(p) if p != "-" and os.path.isabs(p) and len(os.path.relpath(p)) < len(p) else p for p in paths]
    text = ", ".join("stdin" if p == "-" else p for p in shown[:2])
    return text + (f" +{len(paths) - 2}" if len(paths) > 2 else "")


def run_app(*, load: LoadFn | None = None, result: LoadResult | None = None, paths: list[str] | None = None,
            demo: Any = None, session: Any = None, cluster: Any = None, overlays: list | None = None,
            context: str = "", namespaces: list[str] | None = None, kubeconfig: str | None = None,
            readonly: bool = False,
            config_path: str | None = None, start_view: str = "resources", trace: TraceQuery | None = None,
            analyze: bool = True, control: Any = None) -> int:
    """Run the TUI until the user quits; returns the exit code.

    Keyword arguments (all optional; give one source):
      load        callable(progress) -> LoadResult, run in a worker thread after the first paint;
                  `progress(text)` shows what it is doing. MeshtuiError ends the app with its exit
                  code and message (InputError: 2, cluster unreachable: 69).
      result      an already loaded LoadResult.
      paths       the -f paths, for the status line (and loading, when `load` is not given).
      demo / session
                  a running meshtui.demo.session.DemoSession (or an object with its API:
                  base_snapshot, snapshot(), proxies(), faults(), scopes(), add_fault(), set_scope(),
                  remove(), clear_faults(), subscribe(), proxy_config(), request(), info). Enables
                  the game-day and connected-proxies panels; traces run against the live snapshot.
      cluster     a meshtui.cluster.source.ClusterSource: loaded with `overlays` (file RawDocs)
                  layered on top, then watched; `context`, `namespaces` and `kubeconfig` label it
                  and let :ctx list and switch the kubeconfig's contexts.
      control     a game-day control plane (meshtui.tui.controlplane) other than the demo's: a
                  ServeControlPlane (`meshtui --server ADDR`) or a ClusterControlPlane (--allow-write).
      readonly    disable every push and write (also `readonly: true` in the config file).
      config_path the TUI config file (default: $MESHTUI_CONFIG_FILE or the XDG path).
      start_view  resources | trace | whatif | gameday | proxies | findings.
      trace       a TraceQuery to start the trace workbench with.
      analyze     run the analyzer after loading (findings, badges).
    """
    demo = demo if demo is not None else session
    config = load_config(config_path)
    paths = list(paths or [])
    if demo is not None:
        source = SourceInfo("demo", "demo (bundled bookinfo, live Envoys)")
    elif cluster is not None:
        ctx = context or getattr(cluster, "context_name", "") or ""
        label = f"cluster {ctx}" + (f" + {_source_label(paths)}" if paths else "")
        source = SourceInfo("cluster", label, paths, ctx, namespaces)
        if load is None:
            the_cluster = cluster

            def load_cluster(progress: Callable[[str], None]) -> LoadResult:
                return the_cluster.load(overlays or [])

            load = load_cluster
    else:
        source = SourceInfo("files", _source_label(paths), paths)
        if load is None and result is None and paths:
            from meshtui.sources.loader import load_sources

            def load_files(progress: Callable[[str], None]) -> LoadResult:
                return load_sources(paths)

            load = load_files
    app = MeshtuiApp(load=load, result=result, source=source, demo=demo, cluster=cluster, overlays=overlays,
                     readonly=readonly, config=config, start_view=start_view, trace=trace, analyze=analyze,
                     kubeconfig=kubeconfig, control=control, own_process=True)
    app.run()
    return int(app.return_code or 0)


__all__ = ["MeshtuiApp", "run_app"]
