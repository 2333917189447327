"""LazyTable: a DataTable fed a page of rows at a time. A view hands it the whole (filtered) list
of items and a function that turns one item into its cells; rows are made when the cursor or
the scroll comes near the end of what is shown. At 10,000 services the proxies view has 20,000
workloads and the findings view 40,000 findings: making every row up front took seconds, and
nobody reads past the first screens without filtering (`/`).

Small lists look and behave exactly like a DataTable (everything is added at once)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable

Row = tuple[list[Any], str | None]  # the cells, and the row key


class LazyTable(DataTable):
    PAGE = 200  # rows made at a time
    AHEAD = 40  # make the next page when the cursor or the view is this close to the end

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._items: Sequence[Any] = ()
        self._render_row: Callable[[Any], Row] = lambda _item: ([], None)
        self._shown = 0
        self._title = ""

    @property
    def total(self) -> int:
        """How many rows the table holds, made or not."""
        return len(self._items)

    def show_items(self, items: Sequence[Any], render_row: Callable[[Any], Row], title: str = "") -> None:
        """Replace the rows with `items` (made a page at a time by `render_row`); `title`, when
        given, becomes the border title, with the count while not every row is made."""
        self.clear()
        self._items = items
        self._render_row = render_row
        self._shown = 0
        self._title = title
        self._extend()

    def _extend(self, upto: int | None = None) -> None:
        end = min(len(self._items), max(upto or 0, self._shown + self.PAGE))
        start = self._shown
        if end <= start:
            return
        self._shown = end  # first: adding a row can move the cursor, which comes back here
        for item in self._items[start:end]:
            cells, key = self._render_row(item)
            self.add_row(*cells, key=key)
        if self._title:
            n = len(self._items)
            more = f" ({n:,}; {self._shown:,} shown: scroll for more, / to filter)" if self._shown < n else ""
            self.border_title = self._title + more

    def row_item(self, row: int) -> Any:
        """The item behind a row index (rows are made in the items' order)."""
        return self._items[row] if 0 <= row < self._shown else None

    def _near_end(self, row: int) -> bool:
        return self._shown < len(self._items) and row >= self._shown - self.AHEAD

    def watch_cursor_coordinate(self, old_coordinate: Coordinate, new_coordinate: Coordinate) -> None:
        super().watch_cursor_coordinate(old_coordinate, new_coordinate)
        if self._near_end(new_coordinate.row):
            self._extend()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        bottom = int(new_value) + self.scrollable_content_region.height
        if self._near_end(bottom):
            self.call_later(self._extend)

    def action_scroll_bottom(self) -> None:
        """End: to the last made row, making the next page (the whole list would take seconds)."""
        self._extend()
        super().action_scroll_bottom()
