"""The trace workbench: a request form (source workload or gateway with completion, method, URL,
headers) that re-traces as you type, in a worker, never blocking; the verdict, status and
weighted destinations up front; the step ladder (⏎ on a step opens its YAML line), endpoints and
the effective policy below.

Re-tracing is latest-wins: a keystroke starts a trace at once when none is running, otherwise it
replaces the one waiting, so fast typing never queues stale work and never waits on a timer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, Label, OptionList, Select, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from meshtui.tui.screens.base import MeshScreen
from meshtui.tui.tracing import TraceQuery, TraceResult
from meshtui.tui.widgets import trace_render as tr

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


class HeaderEditor(Horizontal):
    """The request's headers as chips, and an input that adds one (`Name: value` ⏎). Backspace
    in the empty input removes the last header; ↑ takes it back into the input to edit."""

    class Changed(Message):
        pass

    def __init__(self, headers: tuple[str, ...] = ()) -> None:
        super().__init__(id="hdr-editor")
        self.headers: list[str] = list(headers)

    def compose(self) -> ComposeResult:
        yield Label("headers", classes="form-label")
        yield Static(id="hdr-chips")
        yield Input(placeholder="Name: value ⏎ adds", id="hdr-new", compact=True)

    def on_mount(self) -> None:
        self._show()

    def set_headers(self, headers: tuple[str, ...]) -> None:
        self.headers = list(headers)
        self.query_one("#hdr-new", Input).value = ""
        self._show()

    @property
    def pending(self) -> str:
        return self.query_one("#hdr-new", Input).value.strip()

    def all_headers(self) -> tuple[str, ...]:
        """The added headers and the one being typed, when it already reads `Name: value`."""
        p = self.pending
        extra = (p,) if p and ":" in p and p.split(":", 1)[0].strip() else ()
        return tuple(self.headers) + extra

    def _show(self) -> None:
        chips = self.query_one("#hdr-chips", Static)
        if not self.headers:
            chips.update("")
            chips.display = False
            return
        parts: list = []
        for i, h in enumerate(self.headers):
            parts.append(Content.assemble((f" {h} ", "reverse $secondary"), (" ✕", f"$error @click=remove_header({i})"), " "))
        chips.update(Content("").join(parts))
        chips.display = True

    def action_remove_header(self, index: int) -> None:
        if 0 <= index < len(self.headers):
            del self.headers[index]
            self._show()
            self.post_message(self.Changed())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "hdr-new":
            return
        event.stop()
        text = event.value.strip()
        if not text:
            return
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            self.notify(f"{text!r} is not a header: write it as Name: value", severity="warning")
            return
        self.headers.append(f"{name.strip()}: {value.strip()}")
        event.input.value = ""
        self._show()
        self.post_message(self.Changed())

    def on_key(self, event) -> None:
        inp = self.query_one("#hdr-new", Input)
        if not inp.has_focus or inp.value or not self.headers:
            return
        if event.key == "backspace":
            self.headers.pop()
            self._show()
            self.post_message(self.Changed())
            event.stop()
            event.prevent_default()
        elif event.key == "up":
            inp.value = self.headers.pop()
            inp.cursor_position = len(inp.value)
            self._show()
            self.post_message(self.Changed())
            event.stop()
            event.prevent_default()


class TraceScreen(MeshScreen):
    VIEW = "trace"
    DESCRIPTION = "where a request goes and why: type the request, read the verdict and the steps"

    BINDINGS = [
        Binding("i", "focus_url", "Edit request", id="trace.edit"),
        Binding("ctrl+l", "focus_url", "URL", show=False, id="trace.focus-url"),
        Binding("ctrl+r", "focus_steps", "Steps", id="trace.focus-steps"),
        Binding("ctrl+o", "pick_source", "Pick source", id="trace.pick-source"),
        Binding("ctrl+g", "toggle_gateway", "Sidecar/gateway", show=False, id="trace.toggle-gateway"),
        Binding("ctrl+f", "whatif", "What-if", id="trace.whatif"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0
        self._trace_busy = False
        self._trace_pending: tuple[TraceQuery, int] | None = None
        self._loading_query = False
        self._filled = False
        self._steps_width = 0
        self.result: TraceResult | None = None
        self._traced_snapshot: object = None  # the snapshot the last trace ran against

    def compose_body(self) -> ComposeResult:
        with Vertical(id="trace-form"):
            with Horizontal(classes="form-row"):
                yield Label("from", classes="form-label")
                yield Select([("sidecar", "sidecar"), ("gateway", "gateway")], value="sidecar", allow_blank=False,
                             compact=True, id="src-kind")
                yield Input(placeholder="ns/workload (empty: any sidecar in default)", id="src", compact=True)
                yield Label("method", classes="form-label-short")
                yield Input(value="GET", id="method", compact=True, suggester=SuggestFromList(METHODS, case_sensitive=False))
            with Horizontal(classes="form-row"):
                yield Label("url", classes="form-label")
                yield Input(placeholder="http://reviews:9080/reviews/1", id="url", compact=True)
            yield HeaderEditor()
        yield Static(id="verdict")
        with TabbedContent(id="trace-tabs"):
            with TabPane("Steps", id="tab-steps"):
                yield OptionList(id="steps")
            with TabPane("Endpoints", id="tab-endpoints"):
                yield DataTable(id="endpoints", cursor_type="row", zebra_stripes=True)
            with TabPane("Policy", id="tab-policy"), VerticalScroll():
                yield Static(id="policy")

    def on_mount(self) -> None:
        table = self.query_one("#endpoints", DataTable)
        table.add_columns("destination", "endpoint", "pod", "note", "labels")
        super().on_mount()
        # the steps take the focus, so the number keys still switch views; i (or ctrl+l) edits
        self.query_one("#steps", OptionList).focus()

    # ------------------------------------------------------------------ data

    def _theme_changed(self, _theme) -> None:
        if self.result is not None:
            self.show_result(self.result)

    def on_data(self) -> None:
        snap = self.mapp.trace_snapshot
        if snap is None:
            return
        self._update_suggestions()
        if not self._filled:
            # first data: fill the form; later changes (analysis done, a cluster update, a live
            # edit) re-trace what is in the form, never overwrite what the user is typing
            self._filled = True
            if self.mapp.trace_query is None:
                self.mapp.trace_query = default_query(snap)
            self.load_query(self.mapp.trace_query)
        elif snap is not self._traced_snapshot:
            # the mesh changed (a cluster update, a live edit): trace the form again; the
            # analyzer's findings arriving leave the snapshot, and so the trace, as they were
            self.request_trace()

    def _update_suggestions(self) -> None:
        snap = self.mapp.trace_snapshot
        if snap is None:
            return
        gateway = self.query_one("#src-kind", Select).value == "gateway"
        names = gateway_names(snap) if gateway else snap.workload_names()
        self.query_one("#src", Input).suggester = SuggestFromList(names, case_sensitive=False)

    def load_query(self, q: TraceQuery) -> None:
        """Fill the form from a query (another view asked for this trace) and run it."""
        self._loading_query = True
        try:
            self.query_one("#src-kind", Select).value = "gateway" if q.gateway else "sidecar"
            self.query_one("#src", Input).value = q.source
            self.query_one("#method", Input).value = q.method
            self.query_one("#url", Input).value = q.url
            self.query_one(HeaderEditor).set_headers(q.headers)
        finally:
            self._loading_query = False
        self._update_suggestions()
        self.request_trace()

    def set_url(self, url: str) -> None:
        self.query_one("#url", Input).value = url
        self.request_trace()

    def current_query(self) -> TraceQuery:
        return TraceQuery(
            source=self.query_one("#src", Input).value.strip(),
            gateway=self.query_one("#src-kind", Select).value == "gateway",
            method=(self.query_one("#method", Input).value.strip() or "GET").upper(),
            url=self.query_one("#url", Input).value.strip(),
            headers=self.query_one(HeaderEditor).all_headers(),
        )

    # ------------------------------------------------------------------ re-trace as you type

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("src", "method", "url", "hdr-new") and not self._loading_query:
            self.request_trace()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "src-kind" and not self._loading_query:
            self._update_suggestions()
            self.request_trace()

    def on_header_editor_changed(self, _event: HeaderEditor.Changed) -> None:
        self.request_trace()

    def request_trace(self) -> None:
        snap = self.mapp.trace_snapshot
        if snap is None:
            return
        q = self.current_query()
        self.mapp.trace_query = q
        self._generation += 1
        if self._trace_busy:
            self._trace_pending = (q, self._generation)
            return
        self._start(q, self._generation)

    def _start(self, q: TraceQuery, generation: int) -> None:
        self._trace_busy = True
        self.mapp.set_busy("trace", "tracing")
        snap = self.mapp.trace_snapshot
        self._traced_snapshot = snap
        engine = self.mapp.engine
        self.run_worker(lambda: engine.run(snap, q, generation), thread=True, group="trace", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "trace" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self._trace_busy = False
        if self._trace_pending is not None:
            q, gen = self._trace_pending
            self._trace_pending = None
            self._start(q, gen)
            return
        self.mapp.clear_busy("trace")
        if event.state == WorkerState.SUCCESS and isinstance(event.worker.result, TraceResult):
            self.show_result(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.show_result(TraceResult(self.current_query(), error=f"internal error: {event.worker.error}"))

    # ------------------------------------------------------------------ showing

    def show_result(self, res: TraceResult) -> None:
        self.result = res
        self.mapp.last_trace = res
        verdict = self.query_one("#verdict", Static)
        steps = self.query_one("#steps", OptionList)
        table = self.query_one("#endpoints", DataTable)
        policy = self.query_one("#policy", Static)
        steps.clear_options()
        table.clear()
        if res.trace is None:
            verdict.update(Content.assemble((" ? ", "bold reverse $warning"), (f"  {res.error}", "$warning")))
            policy.update("")
            self.post_message(TraceShown(res))
            return
        t = res.trace
        lines = [tr.verdict(t), tr.request_line(t)]
        lines.extend(tr.destination_lines(t, 20 if self.size.width < 100 else 30))
        lines.extend(tr.fault_lines(t))
        lines.append(tr.policy_line(t))
        verdict.update(Content("\n").join(lines))
        width = steps.scrollable_content_region.width or (self.size.width - 2)
        self._steps_width = width
        steps.add_options([Option(tr.step_wrapped(i, s, width), id=str(i - 1)) for i, s in enumerate(t.steps, 1)])
        selected = next((i for i, s in enumerate(t.steps) if s.stage == "route" and s.verdict == "selected"), None)
        if selected is not None:
            steps.highlighted = selected
        for cells in tr.endpoint_rows(t):
            table.add_row(*tr.row(self.app, *cells))
        body = tr.policy_details(t)
        body.append(Content(""))
        body.append(Content.styled("the same from a shell:", "$text-muted"))
        body.append(Content.styled(res.query.cli(), "bold"))
        policy.update(Content("\n").join(body))
        self.post_message(TraceShown(res))

    def on_resize(self) -> None:
        # the ladder is wrapped to its width: wrap it again when the width changes
        if self.result is not None and self.result.trace is not None:
            self.call_after_refresh(self._rewrap)

    def _rewrap(self) -> None:
        steps = self.query_one("#steps", OptionList)
        width = steps.scrollable_content_region.width
        if width and width != self._steps_width and self.result is not None:
            keep = steps.highlighted
            self.show_result(self.result)
            if keep is not None and keep < steps.option_count:
                steps.highlighted = keep

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "steps" or self.result is None or self.result.trace is None:
            return
        step = self.result.trace.steps[int(event.option.id or 0)]
        if step.ref is None or step.ref.kind in ("", "Proxy", "Listener"):
            self.notify(f"step '{step.stage}' comes from no object in the sources", severity="information")
            return
        self.mapp.open_ref(step.ref)

    # ------------------------------------------------------------------ actions

    def action_focus_url(self) -> None:
        self.query_one("#url", Input).focus()

    def action_focus_steps(self) -> None:
        self.query_one("#trace-tabs", TabbedContent).active = "tab-steps"
        self.query_one("#steps", OptionList).focus()

    def action_toggle_gateway(self) -> None:
        sel = self.query_one("#src-kind", Select)
        sel.value = "sidecar" if sel.value == "gateway" else "gateway"

    def action_pick_source(self) -> None:
        from meshtui.tui.screens.dialogs import PickerScreen

        snap = self.mapp.trace_snapshot
        if snap is None:
            return
        gateway = self.query_one("#src-kind", Select).value == "gateway"
        names = gateway_names(snap) if gateway else snap.workload_names()

        def picked(name: str | None) -> None:
            if name:
                self.query_one("#src", Input).value = name

        self.app.push_screen(PickerScreen("gateway" if gateway else "source workload", names,
                                          self.query_one("#src", Input).value), picked)

    def action_whatif(self) -> None:
        t = self.result.trace if self.result else None
        if t is None or t.virtual_service is None:
            self.notify("the trace matched no VirtualService; pick an object to edit in Resources (e)", severity="warning")
            return
        # a Gateway API route: edit the route as written, not the VirtualService istiod makes of it
        route = next((st.ref for st in t.steps if st.stage == "virtual-service" and st.ref is not None), None)
        if route is not None and route.kind not in ("", "VirtualService"):
            self.mapp.open_whatif((route.kind, route.namespace, route.name))
            return
        vs = t.virtual_service
        self.mapp.open_whatif(("VirtualService", vs.namespace, vs.name))

    def handle_back(self) -> bool:
        focused = self.focused
        if isinstance(focused, Input):
            self.query_one("#steps", OptionList).focus()
            return True
        return super().handle_back()


class TraceShown(Message):
    """A trace result reached the screen (tests and the benchmark wait for it)."""

    def __init__(self, result: TraceResult) -> None:
        super().__init__()
        self.result = result


def gateway_names(snap) -> list[str]:
    from meshtui.translate.gateway import is_gateway_workload

    return sorted({w.ref for w in snap.workloads if is_gateway_workload(snap, w)})


def default_query(snap) -> TraceQuery:
    """A first request worth looking at: the first mesh VirtualService's host, from a workload
    in its namespace that is not behind that host (bookinfo: productpage → reviews)."""
    from meshtui.translate.gateway import is_gateway_workload

    for vs in snap.virtual_services:
        if vs.spec.gateways and "mesh" not in vs.spec.gateways:
            continue
        hosts = [h for h in vs.spec.hosts if not h.startswith("*")]
        if not hosts or not vs.spec.http:
            continue
        host = hosts[0]
        short = host.split(".")[0]
        port = None
        for rs in snap.registry:
            if rs.hostname.split(".")[0] == short and rs.ports:
                port = rs.ports[0].port
                break
        src = ""
        for w in snap.workloads:
            if w.namespace == vs.namespace and w.labels.get("app") not in (short, None) and not is_gateway_workload(snap, w):
                src = w.ref
                break
        url = f"http://{host}{':' + str(port) if port else ''}/"
        return TraceQuery(source=src, url=url)
    for rs in snap.registry:
        if rs.origin == "k8s" and rs.ports:
            return TraceQuery(url=f"http://{rs.name}.{rs.namespace}:{rs.ports[0].port}/")
    return TraceQuery()

