"""`?`: the keys in effect where you are (after any remapping from the config file), each with
the binding id to remap it, and the `:` commands with their aliases."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from meshtui.tui.commands import help_rows
from meshtui.tui.config import config_path
from meshtui.tui.widgets.trace_render import row


def key_label(app, key: str) -> str:
    try:
        return app.get_key_display(Binding(key, ""))
    except Exception:  # noqa: BLE001 - a key textual cannot display is shown as written
        return key


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen) -> None:
        super().__init__(id="help")
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(id="help-title")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static(id="help-foot")

    def on_mount(self) -> None:
        app = self.app
        title = getattr(self.under, "DESCRIPTION", "") or ""
        self.query_one("#help-title", Static).update(Content.assemble(
            (" Keys in effect", "bold"), (f" — {title}" if title else "", "$text-muted")))
        table = self.query_one("#help-keys", DataTable)
        wide = self.app.size.width >= 110
        table.add_column("key", width=10)
        table.add_column("does", width=44 if wide else 34)
        table.add_column("binding id · aliases", width=30 if wide else 24)
        seen: set[str] = set()
        try:
            active = self.under.active_bindings
        except Exception:  # noqa: BLE001 - before the screen under is composed it has no bindings
            active = {}
        rows = []
        for key, ab in active.items():
            b = ab.binding
            if not b.id and not b.show:
                continue  # a widget's own cursor keys: not worth a line
            if b.id in seen and b.id:
                continue
            if b.id:
                seen.add(b.id)
            desc = b.description or b.action
            rows.append((key_label(app, key), desc + ("" if ab.enabled else " (disabled here)"), b.id or "-"))
        rows.sort(key=lambda r: (r[2].split(".")[0] != "app", r[2].split(".")[0], r[0]))
        for r in rows:
            table.add_row(*row(app, *r))
        table.add_row("", "", "")
        table.add_row(*row(app, Content.styled("command", "bold"), Content.styled("what it does", "bold"),
                           Content.styled("aliases", "bold")))
        config = getattr(app, "config", None)
        for cmd, aliases, what in help_rows(config.aliases if config is not None else None):
            table.add_row(*row(app, cmd, what, aliases))
        cfg = getattr(app, "config", None)
        path = cfg.path if cfg is not None and cfg.path else str(config_path())
        self.query_one("#help-foot", Static).update(Content.assemble(
            (" esc back · / filter (regex, !inverts) · : command · ctrl+p palette · ctrl+t light/dark", "$text-muted"),
            (f"\n remap keys in {path} (keymap: {{id: key}})", "$text-muted")))
        table.focus()
