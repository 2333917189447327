"""The app's screen as plain text, as a person (or tmux capture-pane) reads it."""

from __future__ import annotations

import io

from rich.console import Console


def screen_text(app) -> str:
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    render = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens, simplify=True)
    console.print(render)
    return console.export_text(styles=False)
