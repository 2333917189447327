"""Pilot: a what-if edit changes the trace, shown before/after; a broken edit says where."""

from __future__ import annotations

from textual.widgets import TextArea
from tui_kit import make_app, screen_text, settle, wait_for

from meshtui.tui.screens.whatif import WhatIfScreen
from meshtui.tui.tracing import TraceQuery

JASON = TraceQuery(source="default/productpage-v1-0", url="http://reviews:9080/reviews/1", headers=("end-user: jason",))


async def test_whatif_edit_changes_the_trace():
    app = make_app(start_view="resources", trace=JASON)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        # from the resources tree: select the reviews VirtualService, press e
        app.screen.go_to(("VirtualService", "default", "reviews"))
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        wi = app.screen
        assert isinstance(wi, WhatIfScreen)
        assert wi.key == ("VirtualService", "default", "reviews")
        await wait_for(pilot, lambda: wi.before is not None and wi.after is not None, what="the first comparison")
        assert wi.before.trace.destinations[0].subset == "v2"
        await wait_for(pilot, lambda: "routed exactly as before" in screen_text(app), what="routed exactly as before")
        # jason no longer matches: his requests fall to the 80/20 default rule
        editor = wi.query_one("#wi-editor", TextArea)
        editor.load_text(editor.text.replace("exact: jason", "exact: alice"))
        await wait_for(pilot, lambda: wi.after is not None and wi.after.trace is not None
                       and [d.subset for d in wi.after.trace.destinations] == ["v1", "v3"], what="the edited trace")
        # the comparison is painted after the trace lands: wait for the screen, not just the data
        await wait_for(pilot, lambda: "matched rule: jason → default" in screen_text(app), what="the painted change")
        text = screen_text(app)
        assert "what changes for this request" in text
        assert "v2" in text and "v1" in text
        # the sources are untouched: the trace workbench still sends jason to v2
        assert app.workspace.snapshot.get("VirtualService", "default", "reviews").spec.http[0].match[0].headers["end-user"].exact == "jason"

        # ctrl+o puts the original back
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: wi.after is not None and wi.after.trace is not None
                       and [d.subset for d in wi.after.trace.destinations] == ["v2"], what="the reset")


async def test_whatif_broken_edit_names_the_line():
    app = make_app(start_view="whatif", trace=JASON)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        wi = app.screen
        await wait_for(pilot, lambda: wi.before is not None)
        editor = wi.query_one("#wi-editor", TextArea)
        first = wi.first_line
        editor.load_text(editor.text.replace("weight: 80", "weight: eighty"))
        await wait_for(pilot, lambda: bool(wi.errors), what="the parse error")
        line = first + editor.text.splitlines().index(next(x for x in editor.text.splitlines() if "eighty" in x))
        assert any(f":{line}" in e and "weight" in e for e in wi.errors), wi.errors
        await wait_for(pilot, lambda: "does not load" in screen_text(app), what="does not load")
        # fixing it brings the comparison back
        editor.load_text(editor.text.replace("weight: eighty", "weight: 80"))
        await wait_for(pilot, lambda: not wi.errors and wi.after is not None and wi.after.trace is not None)


async def test_whatif_from_trace_and_save_respects_readonly(tmp_path, monkeypatch):
    app = make_app(start_view="trace", trace=JASON, readonly=True)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.last_trace is not None and app.last_trace.trace is not None)
        await pilot.press("ctrl+f")  # what-if on the VirtualService the trace went through
        await settle(pilot)
        wi = app.screen
        assert isinstance(wi, WhatIfScreen) and wi.key == ("VirtualService", "default", "reviews")
        monkeypatch.chdir(tmp_path)
        await pilot.press("ctrl+s")  # read-only: nothing is written
        await settle(pilot)
        assert list(tmp_path.iterdir()) == []
