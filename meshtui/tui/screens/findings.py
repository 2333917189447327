"""Findings: what `meshtui analyze` finds in these sources (istioctl-compatible IST codes and
meshtui's MT codes), most severe first; ⏎ opens the YAML at the field."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from meshtui.tui.screens.base import MeshScreen, make_matcher
from meshtui.tui.widgets.lazy_table import LazyTable
from meshtui.tui.widgets.trace_render import row
from meshtui.tui.yamltext import short_path

LEVEL_STYLE = {"Error": ("✗ Error", "bold $error"), "Warning": ("⚠ Warning", "$warning"), "Info": ("· Info", "$accent")}


class FindingsScreen(MeshScreen):
    VIEW = "findings"
    DESCRIPTION = "configuration findings, as meshtui analyze reports them"

    BINDINGS = [Binding("w", "toggle_info", "Hide/show info", id="findings.toggle-info")]

    def __init__(self) -> None:
        super().__init__()
        self.show_info = True

    def compose_body(self) -> ComposeResult:
        with Vertical(id="fd-main"):
            yield Static(id="fd-head", classes="pane-title")
            yield LazyTable(id="fd-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="fd-detail", classes="findings-strip")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("level", "code", "resource", "where", "message")
        super().on_mount()
        self.query_one(DataTable).focus()

    def on_data(self) -> None:
        ws = self.mapp.workspace
        head = self.query_one("#fd-head", Static)
        table = self.query_one(LazyTable)
        if ws is None:
            table.clear()
            return
        if ws.findings is None:
            table.clear()
            head.update(Content.styled(f" {ws.analyzer_note or 'analyzing…'}", "$warning"))
            return
        msgs = [m for m in ws.findings if (self.show_info or m.level != "Info")
                and (self.mapp.ns_filter is None or m.namespace in ("", self.mapp.ns_filter))]
        e = sum(1 for m in msgs if m.level == "Error")
        w = sum(1 for m in msgs if m.level == "Warning")
        i = sum(1 for m in msgs if m.level == "Info")
        if not ws.findings:
            head.update(Content.styled(" ✓ no findings: the analyzer found nothing wrong in these sources", "bold $success"))
        else:
            head.update(Content.assemble((f" {e} error{'s' if e != 1 else ''}", "bold $error" if e else ""),
                                         (f", {w} warning{'s' if w != 1 else ''}", "$warning" if w else ""),
                                         (f", {i} info" if self.show_info else " (info hidden: w)", "$text-muted"),
                                         ("  ·  IST codes as istioctl analyze, MT codes are meshtui's own  ·  ⏎ opens the field", "$text-muted")))
        if self.filter_text.strip():
            match = make_matcher(self.filter_text)
            msgs = [m for m in msgs if match(f"{m.level} {m.code} {m.resource} {_where(m)} {m.message}")]
        numbered = list(enumerate(msgs, 1))

        def render(item) -> tuple[list, str]:
            n, m = item
            label, style = LEVEL_STYLE.get(m.level, (m.level, ""))
            return row(self.app, Content.styled(label, style), Content.styled(m.code, "bold"), m.resource or "-",
                       Content.styled(_short_path(_where(m)), "$text-muted"), m.message), f"f{n}"

        table.show_items(numbered, render, "")
        self._detail()

    def _selected(self):
        table = self.query_one(LazyTable)
        if not table.row_count or table.cursor_row is None:
            return None
        item = table.row_item(table.cursor_row)
        return item[1] if item is not None else None

    def _detail(self) -> None:
        m = self._selected()
        box = self.query_one("#fd-detail", Static)
        if m is None:
            box.display = False
            return
        box.display = True
        box.update(Content.assemble((f" {m.code} ", "bold"), (f"{m.resource} ", "$accent"),
                                    (f"{m.path} " if m.path else "", "$text-muted"), (f"\n {m.message}", "")))

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._detail()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        m = self._selected()
        if m is None:
            return
        if not m.kind or not m.name:
            self.notify(f"{m.code} names no object ({m.file or 'no file'})", severity="information")
            return
        self.mapp.show_resource((m.kind, m.namespace, m.name), m.line, m.path)

    def apply_filter(self, text: str) -> None:
        super().apply_filter(text)
        self.on_data()

    def action_toggle_info(self) -> None:
        self.show_info = not self.show_info
        self.on_data()


def _where(m) -> str:
    return f"{short_path(m.file)}:{m.line}" if m.file and m.line else (short_path(m.file) or "-")


def _short_path(where: str) -> str:
    return where if len(where) <= 40 else "…" + where[-39:]
