"""A row-cursor DataTable whose Home and End go to the first and last row, as lists do, and
whose lines stay cached while the cursor moves (DataTable re-renders every visible line on
each cursor move, which makes scrolling cost a full repaint)."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.strip import Strip
from textual.widgets import DataTable


class RowTable(DataTable[Any]):
    """Home/End move the cursor to the top/bottom row (DataTable scrolls sideways)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]

    DEFAULT_CSS = """
    RowTable {
        height: 1fr;
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._quiet_lines: LRUCache[tuple[Any, ...], Strip] = LRUCache(4000)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A line of a row the cursor is not on does not depend on where the cursor is."""
        if self.cursor_type != "row" or self._show_hover_cursor:
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, offset = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        index = self._row_locations.get(row_key)
        if index is None or index == self.cursor_row:
            return super()._render_line(y, x1, x2, base_style)
        key = (row_key, offset, index, x1, x2, self.size.width, base_style, self.show_cursor,
               self._update_count, self._pseudo_class_state)
        strip = self._quiet_lines.get(key)
        if strip is None:
            strip = super()._render_line(y, x1, x2, base_style)
            self._quiet_lines[key] = strip
        return strip
