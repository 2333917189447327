"""The YAML of one object at a line: where a trace step, a route, a cluster or a finding came
from. Pushed over the view that asked for it; esc goes back there."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList

from meshtui.tui.screens.base import MeshScreen
from meshtui.tui.screens.resources import DetailPane

Key = tuple[str, str, str]


class YamlScreen(MeshScreen):
    DESCRIPTION = "one object's YAML at the line a reference points to"

    BINDINGS = [
        Binding("r", "related", "Related", id="yaml.related"),
        Binding("e", "whatif", "What-if", id="yaml.whatif"),
        Binding("o", "in_resources", "In tree", id="yaml.in-tree"),
    ]

    def __init__(self, key: Key, line: int | None = None, path: str = "") -> None:
        super().__init__()
        self.key = key
        self.line = line
        self.path = path

    @property
    def VIEW(self) -> str:  # type: ignore[override]  # a property where the base has a class constant
        return self.mapp.current_mode

    def compose_body(self) -> ComposeResult:
        yield DetailPane(id="yaml-detail")

    def on_mount(self) -> None:
        super().on_mount()
        from meshtui.tui.widgets.yaml_view import YamlView

        self.query_one(YamlView).focus()

    def on_data(self) -> None:
        self.query_one(DetailPane).show(self, self.key, self.line)

    def status_extra(self) -> list[tuple[str, str]]:
        at = f"line {self.line}" if self.line else ""
        return [(" ".join(x for x in (at, self.path) if x), "$accent")] if at or self.path else []

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "related" and event.option.id:
            self.key = tuple(event.option.id.split("|"))  # type: ignore[assignment]  # related ids are kind|namespace|name
            self.line = None
            self.path = ""
            self.on_data()
            self.refresh_status()

    def action_related(self) -> None:
        rel = self.query_one("#related", OptionList)
        rel.focus()
        if rel.option_count and rel.highlighted is None:
            rel.highlighted = 0

    def action_whatif(self) -> None:
        self.mapp.open_whatif(self.key)

    def action_in_resources(self) -> None:
        key = self.key
        self.mapp.action_view("resources")

        def select() -> None:
            go = getattr(self.app.screen, "go_to", None)
            if go is not None:
                go(key)

        self.app.call_after_refresh(select)

    def handle_back(self) -> bool:
        focused = self.focused
        if focused is not None and focused.id == "related":
            from meshtui.tui.widgets.yaml_view import YamlView

            self.query_one(YamlView).focus()
            return True
        return False
