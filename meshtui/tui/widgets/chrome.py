"""The frame every view shares: the view tabs with their number keys, a status line (source,
namespace, context, watch state, read-only, work in progress), and the `:`/`/` command line."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Static

VIEWS: list[tuple[str, str, str]] = [  # (mode, label, short label)
    ("resources", "Resources", "Res"),
    ("trace", "Trace", "Trace"),
    ("whatif", "What-if", "What-if"),
    ("gameday", "Game day", "Game"),
    ("proxies", "Proxies", "Proxies"),
    ("findings", "Findings", "Findings"),
]


class NavBar(Static):
    """`1 Resources  2 Trace ...` with the current view highlighted (the digits switch views)."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, view: str) -> None:
        super().__init__(id="navbar")
        self.view = view
        self.busy = ""

    def on_mount(self) -> None:
        self.update_bar()

    def on_resize(self) -> None:
        self.update_bar()

    def set_busy(self, text: str) -> None:
        self.busy = text
        self.update_bar()

    def update_bar(self) -> None:
        wide = self.size.width >= 96 or self.size.width == 0
        parts: list[tuple[str, str] | str] = [(" meshtui ", "bold reverse $primary"), " "]
        for i, (mode, label, short) in enumerate(VIEWS, 1):
            text = f" {i} {label if wide else short} "
            style = "bold reverse $accent" if mode == self.view else ""
            parts.append((text, style))
        line = Content.assemble(*parts)
        if self.busy:
            room = max(0, self.size.width - line.cell_length - len(self.busy) - 2)
            line = line.append(Content(" " * room)).append(Content.styled(f"⟳ {self.busy} ", "bold $warning"))
        self.update(line)


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__(id="statusline")

    def show(self, parts: list[tuple[str, str]]) -> None:
        pieces: list[tuple[str, str] | str] = [" "]
        for i, (text, style) in enumerate(parts):
            if i:
                pieces.append((" · ", "$text-muted"))
            pieces.append((text, style))
        self.update(Content.assemble(*pieces))


class CommandLine(Input):
    """`:` runs a command (`:vs`, `:ns backend`, `:trace URL`); `/` filters the current view as
    you type (a regular expression; `!` in front inverts it)."""

    DEFAULT_CSS = """
    CommandLine { width: 1fr; height: 1; border: none; padding: 0; background: $boost; }
    """

    BINDINGS = [Binding("escape", "close", "Close", show=False, id="cmdline.close")]

    class Entered(Message):
        def __init__(self, mode: str, text: str) -> None:
            super().__init__()
            self.mode = mode
            self.text = text

    class FilterChanged(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, names: list[str]) -> None:
        super().__init__(id="cmdline", compact=True, suggester=SuggestFromList(names, case_sensitive=False))
        self.can_focus = False  # only while open: a hidden input must never take the keys
        self.mode = ":"
        self._names = names

    def open(self, mode: str, initial: str = "") -> None:
        focused = self.screen.focused
        self._return_to = focused if focused is not self else getattr(self, "_return_to", None)
        self.mode = mode
        self.placeholder = "command (:help lists them)" if mode == ":" else "filter: a regular expression; !text inverts"
        self.suggester = SuggestFromList(self._names, case_sensitive=False) if mode == ":" else None
        bar = self.parent
        if bar is not None:
            bar.add_class("-open")
            for prefix in bar.query(".cmd-prefix").results(Static):
                prefix.update(mode)
        self.value = initial
        self.cursor_position = len(initial)
        self.can_focus = True
        # focus now, not on the next refresh (Widget.focus defers it): keys typed right after
        # `:` are already queued and must land here, not in the view's bindings
        self.screen.set_focus(self)

    @property
    def is_open(self) -> bool:
        return self.parent is not None and self.parent.has_class("-open")

    def _hide(self) -> None:
        self.can_focus = False
        if self.parent is not None:
            self.parent.remove_class("-open")

    def _give_back_focus(self) -> None:
        """Focus returns where it was before `:` or `/` (not to the next widget in line)."""
        target = getattr(self, "_return_to", None)
        self._return_to = None
        if target is not None and target.is_attached and target.focusable:
            target.focus()
        else:
            self.screen.set_focus(None)

    def action_close(self) -> None:
        was_filter = self.mode == "/"
        self._hide()
        self.value = ""
        if was_filter:
            self.post_message(self.FilterChanged(""))
        self._give_back_focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "/" and self.is_open:
            self.post_message(self.FilterChanged(self.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._hide()
        self.post_message(self.Entered(self.mode, self.value))
        if self.mode == ":":
            self.value = ""
        self._give_back_focus()


class CommandBar(Horizontal):
    """The command line with its `:` or `/` prompt, just above the footer while open."""

    DEFAULT_CSS = """
    CommandBar { height: 1; display: none; background: $boost; }
    CommandBar.-open { display: block; }
    CommandBar > .cmd-prefix { width: 2; padding-left: 1; color: $accent; text-style: bold; background: $boost; }
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__(id="cmdbar")
        self._names = names

    def compose(self):
        yield Static(":", classes="cmd-prefix")
        yield CommandLine(self._names)


class BottomDock(Vertical):
    """The command bar over the footer, docked as one: two widgets docked to the same edge are
    drawn on top of each other (the footer hid the prompt, so `:` and `/` were typed blind)."""

    DEFAULT_CSS = """
    BottomDock { dock: bottom; height: auto; }
    BottomDock > Footer { dock: none; }
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__(id="bottom-dock")
        self._names = names

    def compose(self):
        yield CommandBar(self._names)
        yield Footer()
