"""An Input whose typing repaints the field and nothing else. Textual's Input stores the text's
width as its virtual size, a reactive that asks for a layout of the whole screen on every
change: each key a scanner sends re-arranged the ship station (28 layouts a parcel, each
2-7 ms at 80x24), and the Enter that followed waited behind them. The field's own size never
depends on its text (width 100%, height 3), so the width is recorded without that layout;
the text still scrolls under the cursor, since Input reads its virtual size when it draws."""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Input


class SteadyInput(Input):
    """An Input that never re-lays-out the screen as its text changes."""

    def _watch_value(self, value: str) -> None:
        # Set first, without its layout, so Input's own assignment finds nothing to change.
        self.set_reactive(Widget.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)
