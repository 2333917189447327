"""MeshScreen: the frame every view shares (tabs, status line, command line, footer) and the
hooks the app calls: `on_data()` when the mesh changed, `apply_filter()` for `/`, and
`handle_back()` so `esc` first undoes what the view itself holds (a filter, a focused form)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen

from meshtui.tui.commands import all_names
from meshtui.tui.widgets.chrome import BottomDock, CommandLine, NavBar, StatusLine

if TYPE_CHECKING:
    from meshtui.tui.app import MeshtuiApp


def make_matcher(text: str) -> Callable[[str], bool]:
    """k9s-style filter: a case-insensitive regular expression; `!` in front inverts it. Text that
    is not a valid expression is matched literally."""
    text = text.strip()
    invert = text.startswith("!")
    if invert:
        text = text[1:].strip()
    if not text:
        return lambda _s: True
    try:
        rx = re.compile(text, re.IGNORECASE)

        def found(s: str) -> bool:
            return rx.search(s) is not None
    except re.error:
        low = text.lower()

        def found(s: str) -> bool:
            return low in s.lower()
    return (lambda s: not found(s)) if invert else found


class MeshScreen(Screen):
    VIEW: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filter_text = ""
        self._seen_version = -1
        self._framed = False

    @property
    def mapp(self) -> MeshtuiApp:
        return cast("MeshtuiApp", self.app)  # textual types it App; every screen here runs in MeshtuiApp

    def compose(self) -> ComposeResult:
        yield NavBar(self.VIEW)
        yield StatusLine()
        yield from self.compose_body()
        yield BottomDock(all_names(self.mapp.config.aliases))

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        # Textual calls the on_mount of every class in the MRO, and the views also call this one
        # through super() to order it among their own steps: the second call must do nothing
        # (it rebuilt the whole view again: 0.8 s of a 10,000-service mesh's first paint)
        if self._framed:
            return
        self._framed = True
        self.mapp.views.add(self)
        self.mapp.prepare_screen(self)
        # tables and tree labels carry resolved colours: redraw them in the new theme
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.refresh_status()
        if self.mapp.workspace is not None:
            self._seen_version = self.mapp.data_version
            self.on_data()

    def _theme_changed(self, _theme) -> None:
        if self.is_current and self.mapp.workspace is not None:
            self.on_data()
        else:
            self._seen_version = -1

    def on_unmount(self) -> None:
        self.mapp.views.discard(self)

    def on_screen_resume(self) -> None:
        self.refresh_status()
        if self.mapp.workspace is not None and self._seen_version != self.mapp.data_version:
            self._seen_version = self.mapp.data_version
            self.on_data()

    def data_changed(self) -> None:
        """Called by the app for every live view; views not on screen catch up on resume."""
        self.refresh_status()
        if self.is_current and self.mapp.workspace is not None:
            self._seen_version = self.mapp.data_version
            self.on_data()

    # ---- hooks for views -----------------------------------------------------------------------

    def on_data(self) -> None:
        """The workspace (or the live snapshot) changed: redraw."""

    def apply_filter(self, text: str) -> None:
        self.filter_text = text
        self.refresh_status()

    def handle_back(self) -> bool:
        """esc: True when the view undid something itself (then the app does not go back)."""
        if self.filter_text:
            self.apply_filter("")
            return True
        return False

    def status_extra(self) -> list[tuple[str, str]]:
        return []

    # ---- frame ---------------------------------------------------------------------------------

    def refresh_status(self) -> None:
        try:
            line = self.query_one(StatusLine)
        except Exception:  # noqa: BLE001 - not composed yet
            return
        parts = self.mapp.status_parts() + self.status_extra()
        if self.filter_text:
            parts.append((f"filter /{self.filter_text}/ (esc clears)", "bold $warning"))
        line.show(parts)

    def set_busy(self, text: str) -> None:
        try:
            self.query_one(NavBar).set_busy(text)
        except NoMatches:
            pass

    def open_command_line(self, mode: str, initial: str = "") -> None:
        cl = self.query_one(CommandLine)
        cl.open(mode, initial if mode == ":" else (initial or self.filter_text))

    def on_command_line_entered(self, event: CommandLine.Entered) -> None:
        if event.mode == ":":
            self.mapp.run_command(event.text)
        else:
            self.apply_filter(event.text)

    def on_command_line_filter_changed(self, event: CommandLine.FilterChanged) -> None:
        self.apply_filter(event.text)
