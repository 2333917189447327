"""What-if: edit a copy of one object (here or in $EDITOR), and see the current request traced
before and after the edit, side by side. The copy is local: it is never pushed or written back
(ctrl+s saves it to a new file, which --readonly turns off)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Static, TextArea

from meshtui.tui.screens.base import MeshScreen
from meshtui.tui.screens.trace import default_query
from meshtui.tui.tracediff import align, changes
from meshtui.tui.tracing import TraceResult
from meshtui.tui.widgets import trace_render as tr
from meshtui.tui.workspace import rebuild_with
from meshtui.tui.yamltext import short_path

Key = tuple[str, str, str]
TAG = {"equal": (" ", ""), "changed": ("~", "bold $warning"), "added": ("+", "bold $success"), "removed": ("-", "bold $error")}


class WhatIfScreen(MeshScreen):
    VIEW = "whatif"
    DESCRIPTION = "edit a copy of a resource and compare the trace before and after"

    BINDINGS = [
        Binding("i", "edit_here", "Edit YAML", id="whatif.edit"),
        Binding("ctrl+e", "editor", "$EDITOR", priority=True, id="whatif.editor"),
        Binding("ctrl+o", "reset", "Original", id="whatif.reset"),
        Binding("ctrl+s", "save", "Save copy", id="whatif.save"),
        Binding("ctrl+r", "focus_diff", "Steps", id="whatif.focus-diff"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.key: Key | None = None
        self.original = ""
        self.first_line = 1
        self.file = ""
        self.before: TraceResult | None = None
        self.after: TraceResult | None = None
        self.errors: list[str] = []
        self._timer: Timer | None = None
        self._generation = 0
        self._rows: list = []

    def compose_body(self) -> ComposeResult:
        yield Static(id="wi-head", classes="pane-title")
        yield Static(id="wi-request")
        yield TextArea(id="wi-editor", show_line_numbers=True, soft_wrap=False, tab_behavior="indent")
        yield Static(id="wi-changes")
        with Horizontal(id="wi-verdicts"):
            yield Static(id="wi-before")
            yield Static(id="wi-after")
        yield DataTable(id="wi-diff", cursor_type="row", show_header=True)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "save" and self.mapp.readonly:
            return None
        if action in ("editor", "reset", "save", "edit_here") and self.key is None:
            return None
        return True

    def on_mount(self) -> None:
        self.query_one("#wi-before", Static).border_title = "before"
        self.query_one("#wi-after", Static).border_title = "after the edit"
        super().on_mount()

    def on_data(self) -> None:
        if self.key is None:
            key = self.mapp.whatif_key or self._default_key()
            if key is not None:
                self.edit(key)
            else:
                self._show_empty()
        else:
            self._retrace()

    def _default_key(self) -> Key | None:
        """The VirtualService the current request goes through (what one usually edits)."""
        res = self.mapp.last_trace
        snap = self.mapp.trace_snapshot
        if res is None and snap is not None:
            res = self.mapp.engine.run(snap, self.mapp.trace_query or default_query(snap))
        t = getattr(res, "trace", None)
        if t is not None and t.virtual_service is not None:
            return ("VirtualService", t.virtual_service.namespace, t.virtual_service.name)
        ws = self.mapp.workspace
        if ws is not None and ws.snapshot.virtual_services:
            return ws.snapshot.virtual_services[0].key
        return None

    def _show_empty(self) -> None:
        self.query_one("#wi-head", Static).update(Content.styled(
            " Nothing to edit yet: pick an object in Resources (1) and press e, or trace a request (2) and press ctrl+f",
            "$text-muted"))

    def edit(self, key: Key) -> None:
        """Start a what-if on a copy of `key` (replacing any edit in progress)."""
        ws = self.mapp.workspace
        if ws is None:
            return
        yt = ws.yaml(key)
        if yt is None:
            self.notify(f"{key[0]} {key[1]}/{key[2]} is not in the sources", severity="warning")
            return
        self.key = key
        self.mapp.whatif_key = key
        self.original = yt.text
        self.first_line = yt.first_line
        self.file = yt.file
        editor = self.query_one("#wi-editor", TextArea)
        editor.line_number_start = yt.first_line
        editor.load_text(yt.text)
        self.query_one("#wi-head", Static).update(Content.assemble(
            (" What-if ", "bold reverse $secondary"), (f" {key[0]} {key[1]}/{key[2]}", "bold"),
            (f"  {short_path(yt.file)}", "$text-muted"),
            ("  ·  a local copy: never pushed, never written back", "$accent")))
        self.refresh_bindings()
        # the comparison takes the focus (number keys keep switching views); i edits the YAML
        self.query_one("#wi-diff", DataTable).focus()
        self._schedule(0)

    # ------------------------------------------------------------------ re-trace on edit

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        self._schedule(0.35)

    def _schedule(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(delay, self._retrace) if delay else None
        if not delay:
            self._retrace()

    def _retrace(self) -> None:
        if self.key is None or self.mapp.trace_snapshot is None:
            return
        q = self.mapp.trace_query or default_query(self.mapp.trace_snapshot)
        self.mapp.trace_query = q
        self._generation += 1
        text = self.query_one("#wi-editor", TextArea).text
        self.mapp.set_busy("whatif", "re-tracing the edit")
        self._compute(self.mapp.trace_snapshot, self.key, text, q, self._generation)

    @work(thread=True, exclusive=True, group="whatif", exit_on_error=False, description="_compute")
    def _compute(self, snap, key: Key, text: str, q, generation: int) -> None:
        engine = self.mapp.engine
        before = engine.run(snap, q, generation)
        # pad so the parser's line numbers are the file's (and the editor's) line numbers
        padded = "\n" * (self.first_line - 1) + text
        wi = rebuild_with(snap, key, padded, f"{short_path(self.file) or key[2]} (edited copy)", key[1] or "default")
        after = engine.run(wi.result.snapshot, q, generation) if wi.result is not None else None
        self.app.call_from_thread(self._show, generation, before, after, wi.errors, wi.warnings)

    def _show(self, generation: int, before: TraceResult, after: TraceResult | None, errors: list[str], warnings: list[str]) -> None:
        if generation != self._generation:
            return
        self.mapp.clear_busy("whatif")
        self.before, self.after, self.errors = before, after, errors
        q = before.query
        self.query_one("#wi-request", Static).update(Content.assemble(
            (" request ", "bold"), (f"{q.method} {q.url}", ""), (" " + " ".join(f"-H '{h}'" for h in q.headers) if q.headers else "", ""),
            (f" from {q.source or 'any sidecar'}" + (" (gateway)" if q.gateway else ""), "$text-muted"),
            ("  ·  change it in Trace (2)", "$text-muted")))
        box = self.query_one("#wi-changes", Static)
        if errors:
            box.update(Content("\n").join([Content.styled(" the edited copy does not load, so nothing is compared:", "bold $error")]
                                          + [Content.styled(f"   {e}", "$error") for e in errors[:4]]))
        else:
            lines = changes(before.trace, after.trace if after else None)
            if before.trace is None:
                box.update(Content.styled(f" {before.error}", "$warning"))
            elif not lines:
                box.update(Content.styled(" = this request is routed exactly as before (edit the YAML above to compare)", "$text-muted"))
            else:
                box.update(Content("\n").join([Content.styled(" what changes for this request:", "bold")]
                                              + [Content.assemble(("  ~ ", "bold $warning"), (c, "")) for c in lines]))
            for w in warnings[:2]:
                self.notify(w, severity="warning", timeout=4)
        self._verdict("#wi-before", before)
        self._verdict("#wi-after", after if not errors else None)
        self._table()

    def _verdict(self, sel: str, res: TraceResult | None) -> None:
        box = self.query_one(sel, Static)
        if res is None or res.trace is None:
            box.update(Content.styled(" (no trace)" if res is None else f" {res.error}", "$text-muted"))
            return
        t = res.trace
        box.update(Content("\n").join(tr.verdict_compact(t, 10 if self.size.width < 120 else 20)))

    def _table(self) -> None:
        table = self.query_one("#wi-diff", DataTable)
        table.clear(columns=True)
        half = max(20, (self.size.width - 6) // 2)
        table.add_column("before", width=half)
        table.add_column("after", width=half)
        b = self.before.trace if self.before else None
        a = self.after.trace if self.after and not self.errors else None
        self._rows = align(b, a)
        ib = ia = 0
        for row in self._rows:
            mark, style = TAG[row.tag]
            cells = []
            for step, side in ((row.left, "l"), (row.right, "r")):
                if step is None:
                    cells.append(Content(""))
                    continue
                if side == "l":
                    ib += 1
                    n = ib
                else:
                    ia += 1
                    n = ia
                c = Content.assemble((mark, style)).append(tr.step_line(n, step))
                cells.append(c.truncate(half, ellipsis=True))
            table.add_row(*tr.row(self.app, *cells))
        first_change = next((i for i, r in enumerate(self._rows) if r.tag != "equal"), None)
        if first_change is not None:
            # the first step that differs is where the reader's eye should go
            table.move_cursor(row=first_change, animate=False)

    def on_resize(self) -> None:
        if self._rows:
            self._table()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "wi-diff" or event.cursor_row >= len(self._rows):
            return
        row = self._rows[event.cursor_row]
        step = row.right or row.left
        if step is not None and step.ref is not None:
            if row.right is not None and self.key and (step.ref.kind, step.ref.namespace, step.ref.name) == self.key and step.ref.line:
                self._goto_editor_line(step.ref.line)
            else:
                self.mapp.open_ref(step.ref)

    def _goto_editor_line(self, line: int) -> None:
        editor = self.query_one("#wi-editor", TextArea)
        row = max(0, line - self.first_line)
        editor.move_cursor((row, 0))
        editor.focus()

    # ------------------------------------------------------------------ actions

    def action_edit_here(self) -> None:
        self.query_one("#wi-editor", TextArea).focus()

    def action_reset(self) -> None:
        if self.key is not None:
            self.query_one("#wi-editor", TextArea).load_text(self.original)
            self._schedule(0)

    def action_focus_diff(self) -> None:
        self.query_one("#wi-diff", DataTable).focus()

    def action_editor(self) -> None:
        """Open the copy in $EDITOR (or $VISUAL); the app waits, then re-traces what was saved."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify("set $EDITOR (or $VISUAL) to edit in your own editor", severity="warning")
            return
        area = self.query_one("#wi-editor", TextArea)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="meshtui-whatif-", delete=False) as fh:
            fh.write(area.text)
            path = fh.name
        try:
            with self.app.suspend():
                subprocess.run([*editor.split(), path], check=False)
            area.load_text(Path(path).read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - the editor is the user's program: whatever it does is reported
            self.notify(f"{editor}: {exc}", severity="error")
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        self._schedule(0)

    def action_save(self) -> None:
        if self.mapp.readonly:
            self.notify("read-only: nothing is written", severity="warning")
            return
        if self.key is None:
            return
        kind, ns, name = self.key
        path = Path.cwd() / f"whatif-{kind.lower()}-{ns}-{name}.yaml"
        n = 1
        while path.exists() and n < 100:
            n += 1
            path = Path.cwd() / f"whatif-{kind.lower()}-{ns}-{name}-{n}.yaml"
        try:
            path.write_text(self.query_one("#wi-editor", TextArea).text, encoding="utf-8")
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc.strerror}", severity="error")
            return
        self.notify(f"saved the edited copy to {path} (try: meshtui trace -f <your files> -f {path.name} ...)")

    def handle_back(self) -> bool:
        if isinstance(self.focused, TextArea):
            self.query_one("#wi-diff", DataTable).focus()
            return True
        return super().handle_back()

