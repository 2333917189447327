"""YamlView: an object's YAML with highlighting, the file's own line numbers, a cursor, and a
marked target line (the rule a trace matched, the field a finding names).

A Line API widget: only visible lines are rendered, so a 5,000-line file scrolls as fast as a
short one. Colours come from component classes, so themes (and NO_COLOR) apply."""

from __future__ import annotations

from pygments.lexers.data import YamlLexer
from pygments.token import Comment, Keyword, Literal, Name, Number, Punctuation, String, Token
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from meshtui.tui.yamltext import YamlText

_LEXER = YamlLexer(stripnl=False, ensurenl=False)


def _token_class(tok) -> str:
    if tok in Name.Tag or tok in Keyword:
        return "yaml--key"
    if tok in Comment:
        return "yaml--comment"
    if tok in Number or tok in Literal.Number:
        return "yaml--number"
    if tok in String or tok in Literal.Scalar or tok in Name.Constant or tok in Name.Variable:
        return "yaml--string"
    if tok in Punctuation or tok in Token.Indicator or tok in Name.Label:
        return "yaml--punct"
    return ""


def tokenize(lines: list[str]) -> list[list[tuple[str, str]]]:
    """Each line as (text, component class) pieces."""
    text = "\n".join(line.expandtabs(2) for line in lines)
    out: list[list[tuple[str, str]]] = [[]]
    for tok, value in _LEXER.get_tokens(text):
        cls = _token_class(tok)
        parts = value.split("\n")
        for i, part in enumerate(parts):
            if i:
                out.append([])
            if part:
                out[-1].append((part, cls))
    while len(out) < len(lines):
        out.append([])
    return out[: max(len(lines), 1)]


class YamlView(ScrollView, can_focus=True):
    """Shows one YamlText. `goto(file_line)` moves the cursor there and marks it."""

    COMPONENT_CLASSES = {
        "yaml--key", "yaml--string", "yaml--number", "yaml--comment", "yaml--punct", "yaml--lineno",
        "yaml--target", "yaml--cursor", "yaml--mark",
    }

    DEFAULT_CSS = """
    YamlView {
        background: $surface;
        & > .yaml--key { color: $accent; text-style: bold; }
        & > .yaml--string { color: $success; }
        & > .yaml--number { color: $warning; }
        & > .yaml--comment { color: $text-muted; text-style: italic; }
        & > .yaml--punct { color: $text-muted; }
        & > .yaml--lineno { color: $text-muted; }
        & > .yaml--target { background: $warning 25%; }
        & > .yaml--cursor { background: $primary 35%; }
        & > .yaml--mark { color: $error; text-style: bold; }
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="yaml.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="yaml.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="yaml.page-up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="yaml.page-down"),
        Binding("home,g", "edge(0)", "Top", show=False, id="yaml.top"),
        Binding("end,G", "edge(1)", "Bottom", show=False, id="yaml.bottom"),
    ]

    cursor = reactive(0)

    class CursorMoved(Message):
        def __init__(self, view: YamlView, line: int) -> None:
            super().__init__()
            self.view = view
            self.line = line  # file line number

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.doc: YamlText | None = None
        self._tokens: list[list[tuple[str, str]]] = []
        self.target: int | None = None  # file line
        self.marks: dict[int, str] = {}  # file line -> glyph (findings)
        self._cache: dict[tuple[int, bool, bool], Strip] = {}
        self._gutter = 4

    # ------------------------------------------------------------------ data

    def show(self, doc: YamlText | None, target: int | None = None, marks: dict[int, str] | None = None) -> None:
        self.doc = doc
        self._tokens = tokenize(doc.lines) if doc else []
        self.marks = dict(marks or {})
        self.target = target
        self._cache.clear()
        last = doc.last_line if doc else 1
        self._gutter = len(str(last)) + 3
        width = max((len(x) for x in doc.lines), default=0) + self._gutter + 1 if doc else 0
        self.virtual_size = Size(width, len(doc.lines) if doc else 0)
        self.cursor = (target - doc.first_line) if doc and target and doc.first_line <= target <= doc.last_line else 0
        self.scroll_to(0, 0, animate=False)
        self.call_after_refresh(self._center_cursor)
        self.refresh()

    def goto(self, line: int | None) -> None:
        if self.doc is None or line is None:
            return
        self.target = line
        self._cache.clear()
        self.cursor = max(0, min(line - self.doc.first_line, len(self.doc.lines) - 1))
        self.call_after_refresh(self._center_cursor)
        self.refresh()

    @property
    def cursor_file_line(self) -> int | None:
        return self.doc.first_line + self.cursor if self.doc else None

    def _center_cursor(self) -> None:
        h = self.scrollable_content_region.height or self.size.height
        self.scroll_to(y=max(0, self.cursor - h // 3), animate=False)

    # ------------------------------------------------------------------ keys

    def watch_cursor(self, old: int, new: int) -> None:
        self._cache.pop((old, True, False), None)
        self._cache.pop((old, True, True), None)
        self.refresh()
        if self.doc is not None:
            self.post_message(self.CursorMoved(self, self.doc.first_line + new))

    def _clamp(self, n: int) -> int:
        return max(0, min(n, (len(self.doc.lines) - 1) if self.doc else 0))

    def action_cursor(self, delta: int) -> None:
        self.cursor = self._clamp(self.cursor + delta)
        self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False)

    def action_page(self, direction: int) -> None:
        h = max(1, self.scrollable_content_region.height - 1)
        self.cursor = self._clamp(self.cursor + direction * h)
        self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False)

    def action_edge(self, end: int) -> None:
        self.cursor = self._clamp(10**9 if end else 0)
        self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False)

    # ------------------------------------------------------------------ render

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if self.doc is None or index >= len(self.doc.lines):
            return Strip.blank(width, base)
        strip = self._line_strip(index)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

    def _line_strip(self, index: int) -> Strip:
        # the cursor line only shows while the view has focus: unfocused, only the target stands out
        is_cursor = index == self.cursor and self.has_focus
        file_line = self.doc.first_line + index  # type: ignore[union-attr]  # lines exist only with a document
        is_target = file_line == self.target
        key = (index, is_cursor, is_target)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        base = self.rich_style
        line_bg = Style()
        if is_target:
            line_bg = self.get_component_rich_style("yaml--target", partial=True)
        if is_cursor:
            line_bg = line_bg + self.get_component_rich_style("yaml--cursor", partial=True)
        num_style = base + self.get_component_rich_style("yaml--lineno", partial=True) + line_bg
        mark = self.marks.get(file_line, "")
        marker = "▶" if is_target else (mark or " ")
        mark_style = base + self.get_component_rich_style("yaml--mark", partial=True) + line_bg
        segs = [Segment(str(file_line).rjust(self._gutter - 3) + " ", num_style), Segment(marker, mark_style),
                Segment(" ", num_style)]
        for text, cls in self._tokens[index] if index < len(self._tokens) else ():
            style = base + (self.get_component_rich_style(cls, partial=True) if cls else Style()) + line_bg
            segs.append(Segment(text, style))
        strip = Strip(segs)
        if is_cursor or is_target:
            full = max(self.virtual_size.width, self.size.width)
            strip = strip.extend_cell_length(full, base + line_bg)
        self._cache[key] = strip
        return strip
