"""The `:` command line and the `/` filter are seen while typed (issue 12): the prompt and the
typed text are on screen, above the footer rather than under it, and the keys typed right after
`:` go into the line, never to the view's own bindings."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Footer
from tui_kit import make_app, screen_text, settle

from meshtui.tui.widgets.chrome import CommandBar, CommandLine


@pytest.mark.parametrize("mode, key", [(":", "colon"), ("/", "slash")])
async def test_the_prompt_and_the_typed_text_are_on_screen(mode, key):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(key, "r", "e", "v")
        await settle(pilot, rounds=1)
        bar = app.screen.query_one(CommandBar)
        footer = app.screen.query_one(Footer)
        assert bar.region.height == 1 and footer.region.height == 1
        assert not bar.region.overlaps(footer.region)  # before: both docked at the bottom, the footer on top
        prefix_x, y = bar.region.x + 1, bar.region.y
        widget, _ = app.screen.get_widget_at(prefix_x, y)
        assert widget.has_class("cmd-prefix"), f"{widget!r} is drawn where the prompt should be"
        lines = screen_text(app).splitlines()
        assert any(line.lstrip().startswith(f"{mode}rev") or line.lstrip().startswith(f"{mode} rev") for line in lines), \
            "\n".join(lines[-4:])


async def test_keys_right_after_colon_go_into_the_command_line():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = type(app.screen).__name__
        # a fast typist: `:` and the next keys arrive before the app has drawn anything
        for k, ch in (("colon", ":"), ("q", "q"), ("2", "2")):
            app.post_message(events.Key(k, ch))
        await settle(pilot, rounds=1)
        line = app.screen.query_one(CommandLine)
        assert line.value == "q2", f"keys leaked to the view: the line holds {line.value!r}"
        assert type(app.screen).__name__ == before  # `2` did not switch to the Trace view
        assert line.has_focus
