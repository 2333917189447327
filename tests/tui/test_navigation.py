"""Pilot: the k9s grammar (`:` commands, `/` filter, `?` help, esc back), related objects one key
away, remapped keys from the config file, read-only, themes."""

from __future__ import annotations

from textual.widgets import Input, OptionList, Tree
from tui_kit import make_app, screen_text, settle, wait_for

from meshtui.tui.config import load_config
from meshtui.tui.screens.help import HelpScreen
from meshtui.tui.screens.resources import ResourcesScreen


def _leaves(tree: Tree) -> list:
    out = []

    def walk(node):
        for child in node.children:
            if isinstance(child.data, tuple) and len(child.data) == 3:
                out.append(child.data)
            walk(child)

    walk(tree.root)
    return out


async def _command(pilot, text: str) -> None:
    await pilot.press("colon")
    # Textual moves the focus on its next turn: the letters wait until the command line has it
    await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", None) == "cmdline", timeout=5, what="the command line")
    await pilot.press(*[c if c != " " else "space" for c in text])
    await pilot.press("enter")
    await settle(pilot)


async def test_commands_filter_and_back():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        res = app.screen
        assert isinstance(res, ResourcesScreen)
        tree = res.query_one(Tree)
        assert len(_leaves(tree)) == 20
        await _command(pilot, "vs")
        assert {k[0] for k in _leaves(tree)} == {"VirtualService"} and len(_leaves(tree)) == 4
        await wait_for(pilot, lambda: "showing VirtualServices" in screen_text(app), what="showing VirtualServices")
        await pilot.press("slash", "r", "e", "v")
        await settle(pilot)
        assert _leaves(tree) == [("VirtualService", "default", "reviews")]
        await pilot.press("enter")  # keep the filter, leave the line
        await settle(pilot)
        await wait_for(pilot, lambda: "filter /rev/" in screen_text(app), what="filter /rev/")
        await pilot.press("escape")  # clears the filter
        await settle(pilot)
        assert len(_leaves(tree)) == 4
        await pilot.press("escape")  # back to every kind
        await settle(pilot)
        assert len(_leaves(tree)) == 20
        # :ns, an unknown namespace, and an unknown command say what is wrong
        await _command(pilot, "ns istio-system")
        assert {k[1] for k in _leaves(tree)} == {"istio-system"}
        await _command(pilot, "ns nowhere")
        assert app.ns_filter == "istio-system"
        await _command(pilot, "ns all")
        assert app.ns_filter is None
        await _command(pilot, "vss")
        assert any("unknown command :vss" in n.message and ":vs" in n.message for n in app._notifications)
        # views by number, and esc walks back through them
        await pilot.press("2")
        await settle(pilot)
        assert app.current_mode == "trace"
        await pilot.press("ctrl+r")  # leave the inputs, so esc means back
        await pilot.press("6")
        await settle(pilot)
        assert app.current_mode == "findings"
        await pilot.press("escape")
        await settle(pilot)
        assert app.current_mode == "trace"


async def test_related_objects_one_key_away_and_trace_from_tree():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        res = app.screen
        res.go_to(("VirtualService", "default", "reviews"))
        await settle(pilot)
        await pilot.press("r")
        rel = res.query_one("#related", OptionList)
        assert rel.has_focus
        ids = [rel.get_option_at_index(i).id for i in range(rel.option_count)]
        assert "DestinationRule|default|reviews" in ids and "Service|default|reviews" in ids
        assert "Pod|default|reviews-v2-0" in ids
        rel.highlighted = ids.index("DestinationRule|default|reviews")
        await pilot.press("enter")
        await settle(pilot)
        assert res.selected == ("DestinationRule", "default", "reviews")
        # and from the DR, its pods per subset
        rel_ids = [rel.get_option_at_index(i).id for i in range(rel.option_count)]
        assert "VirtualService|default|reviews" in rel_ids and "Pod|default|reviews-v3-0" in rel_ids
        # t on a Service traces to it
        res.go_to(("Service", "default", "ratings"))
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert app.current_mode == "trace"
        await wait_for(pilot, lambda: app.last_trace and app.last_trace.query.url == "http://ratings:9080/")
        assert app.last_trace.trace.outcome == "routed"


async def test_findings_badges_and_jump_to_field():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.workspace.findings is not None, what="the analyzer")
        codes = {m.code for m in app.workspace.findings}
        assert "IST0173" in codes
        await settle(pilot)
        tree = app.screen.query_one(Tree)
        labels = {}

        def walk(node):
            for child in node.children:
                if isinstance(child.data, tuple) and len(child.data) == 3:
                    labels[child.data] = str(child.label)
                walk(child)

        walk(tree.root)
        assert "✗1" in labels[("DestinationRule", "default", "details")]
        await pilot.press("6")
        await settle(pilot)
        text = screen_text(app)
        assert "IST0173" in text and "1 error" in text
        await pilot.press("enter")
        await settle(pilot)
        from meshtui.tui.screens.yaml_screen import YamlScreen
        from meshtui.tui.widgets.yaml_view import YamlView

        assert isinstance(app.screen, YamlScreen)
        view = app.screen.query_one(YamlView)
        m = next(m for m in app.workspace.findings if m.code == "IST0173")
        assert view.target == m.line


async def test_help_lists_the_keys_in_effect_with_ids():
    app = make_app()
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for needle in ("resources.related", "app.command", "view.trace", ":vs"):
            assert needle in text, needle
        from textual.widgets import DataTable

        table = app.screen.query_one(DataTable)
        rows = [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any(r.startswith(":ns ") for r in rows) and any(r.startswith(":ctx ") for r in rows)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ResourcesScreen)


async def test_keymap_remapped_from_the_config_file(tmp_path):
    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text("theme: light\nkeymap:\n  resources.related: x\n  view.trace: f2\naliases:\n  rv: vs reviews\n")
    cfg = load_config(cfg_file)
    assert not cfg.warnings
    app = make_app(config=cfg)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.theme == "meshtui-light"
        res = app.screen
        res.go_to(("VirtualService", "default", "reviews"))
        await settle(pilot)
        await pilot.press("r")  # no longer bound
        assert not res.query_one("#related", OptionList).has_focus
        await pilot.press("x")
        assert res.query_one("#related", OptionList).has_focus
        await pilot.press("escape")
        await _command(pilot, "rv")  # the user's alias
        assert _leaves(res.query_one(Tree)) == [("VirtualService", "default", "reviews")]
        await pilot.press("f2")
        await settle(pilot)
        assert app.current_mode == "trace"


async def test_readonly_hides_pushes_and_theme_toggle():
    app = make_app(readonly=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "READ-ONLY" in screen_text(app), what="READ-ONLY")
        before = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != before and app.available_themes[app.theme].dark != app.available_themes[before].dark
        await pilot.press("4")
        await settle(pilot)
        text = screen_text(app)
        assert "meshtui demo" in text and "Add fault" not in text  # no control plane: no fault keys


async def test_unknown_and_missing_views_never_crash():
    app = make_app(start_view="gameday")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("a", "s", "d", "X", "p", "5", "enter", "6", "w", "3", "ctrl+e", "ctrl+o", "1", "t", "e"):
            await pilot.press(key)
            await settle(pilot, 1)
        # ... ended in the trace view (t), with the steps focused: the keys above were commands,
        # none was typed into a form
        assert app.current_mode == "trace"
        await _command(pilot, "ctx")
        assert any("cluster mode" in n.message for n in app._notifications)
        await _command(pilot, "theme nosuch")
        await _command(pilot, "trace http://details:9080/")
        await wait_for(pilot, lambda: app.last_trace and app.last_trace.query.url == "http://details:9080/")
        assert {d.subset for d in app.last_trace.trace.destinations} == {"v1", "v2"}
        await _command(pilot, "q")
    assert app.return_code == 0


async def test_source_input_suggests_workloads():
    app = make_app(start_view="trace")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        src = app.screen.query_one("#src", Input)
        src.value = ""
        src.focus()
        await pilot.press("d", "e", "f", "a", "u", "l", "t", "slash", "r", "a")
        await settle(pilot)
        await pilot.press("right")  # accept the suggestion
        assert src.value == "default/ratings-v1-0"
