"""A row-cursor DataTable whose Home and End go to the first and last row, as lists do."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
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
