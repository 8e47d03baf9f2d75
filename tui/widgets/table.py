"""The order queue's table: a line-API widget that renders only the rows on screen, keeps each
rendered row cached as one line, and never drops a cursor key pressed while rows are loading.

DataTable re-renders every visible cell whenever the cursor moves; a key then costs tens of
milliseconds. Here a key renders at most the row the cursor lands on, and scrolling reuses the
cached lines of every other row. It looks like a row-cursor DataTable with zebra stripes."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import DataTable

CELL_PADDING = 1  # spaces either side of a cell, as DataTable draws them
CACHED_LINES = 2000  # rendered row lines kept (a few hundred rows, each with and without cursor)
DRAW_AHEAD_AFTER = 0.005  # seconds after a cursor move: its frame is out, the next key not in

# A pending cursor move: a number of rows (negative is up) or "first" / "last".
Move = int | str


SCROLLBAR = 2  # columns a DataTable's vertical scrollbar takes (Textual's default size)


@dataclass(frozen=True)
class Column:
    """A column: its key, its header label (shown literally) and its width in cells. A column
    with `grow` takes a share of the width left over (in proportion to it), `width` being the
    narrowest it goes; one without is never cut. A column with `drop` is left out when even
    the narrowest widths do not fit (the highest `drop` first)."""

    key: str
    label: str
    width: int
    grow: int = 0
    drop: int = 0


def fit(columns: Sequence[Column], width: int, padding: int = CELL_PADDING) -> list[Column]:
    """The columns sized to `width` cells: fixed columns keep their width (a code, a status, a
    total: never cut), growing ones (names, emails, subjects) share what is left by their
    `grow`, none below its own width; optional columns go first when even that is too wide.
    Every table of the app sizes its columns here."""
    kept = list(columns)
    while sum(c.width + 2 * padding for c in kept) > width and any(c.drop for c in kept):
        kept.remove(max((c for c in kept if c.drop), key=lambda c: c.drop))
    spare = max(0, width - sum(c.width + 2 * padding for c in kept))
    growing = [c for c in kept if c.grow]
    if not growing or not spare:
        return kept
    weights = sum(c.grow for c in growing)
    fitted: list[Column] = []
    given = 0
    for column in kept:
        if not column.grow:
            fitted.append(column)
            continue
        share = spare * column.grow // weights
        if column is growing[-1]:
            share = spare - given  # the rounding's leftovers go to the last one
        given += share
        fitted.append(Column(column.key, column.label, column.width + share, column.grow,
                             column.drop))
    return fitted


def pick(columns: Sequence[Column], cells: Mapping[str, Text] | Sequence[Text],
         declared: Sequence[Column] = ()) -> list[Text]:
    """A row's cells for the columns shown, from its cells by column key (or in the order of
    the `declared` columns)."""
    if not isinstance(cells, Mapping):
        cells = {column.key: cell for column, cell in zip(declared, cells, strict=True)}
    return [cells[column.key] for column in columns]


def fit_data_table(table: DataTable[Any], columns: Sequence[Column],
                   width: int) -> tuple[Column, ...]:
    """(Re)declare a DataTable's columns fitted to `width` (its scrollbar left room) and
    return those shown; the caller adds the rows again (`pick` their cells). Cells cut with an
    ellipsis come from `cut()`."""
    fitted = tuple(fit(columns, width - SCROLLBAR, table.cell_padding))
    table.clear(columns=True)
    for column in fitted:
        table.add_column(column.label, key=column.key, width=column.width)
    return fitted


def cut(text: str | Text, style: str = "", justify: str | None = None) -> Text:
    """A cell that ends in an ellipsis when its column is narrower than it, never wrapped."""
    cell = text if isinstance(text, Text) else Text(text, style=style)
    cell.overflow = "ellipsis"
    cell.no_wrap = True
    if justify is not None:
        cell.justify = justify  # type: ignore[assignment]
    return cell


class RowTable(ScrollView, can_focus=True):
    """Rows of cells with a row cursor, drawn a line at a time.

    The owner supplies the row objects and a function that turns one into its cells; the
    table asks for cells only for rows it draws. While the owner is fetching more rows
    (`awaiting`, or the cursor pushing past `more_below` / `more_above`), cursor keys are
    queued and replayed in order when `set_rows` delivers the rows.

    A drawn line is kept under what it shows: the row itself (rows are hashable: a read again
    with other fields is another row), `state(row)` (what else its cells show, as the queue's
    mark), its stripe and the cursor. So a row that leaves the table (another tab, a filter)
    and comes back changed, or marked or unmarked meanwhile, is drawn again, never recalled.
    Cells that depend on anything else are redrawn through `refresh_row` / `refresh_rows`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("left", "scroll_left", "Cursor left", show=False),
        Binding("right", "scroll_right", "Cursor right", show=False),
        Binding("home", "first", "First row", show=False, id="table.first"),
        Binding("end", "last", "Last row", show=False, id="table.last"),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("ctrl+home", "first", "Top", show=False),
        Binding("ctrl+end", "last", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "rowtable--header",
        "rowtable--cursor",
        "rowtable--odd-row",
        "rowtable--even-row",
    }

    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow: hidden hidden;
        &:focus {
            background-tint: $foreground 5%;
            & > .rowtable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .rowtable--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .rowtable--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .rowtable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .rowtable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .rowtable--odd-row {
        }
        & > .rowtable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .rowtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class _RowMessage(Message):
        """Something about the row under the cursor."""

        def __init__(self, table: RowTable, cursor_row: int) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row

        @property
        def control(self) -> RowTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor moved to another row (or other rows arrived under it)."""

    class RowSelected(_RowMessage):
        """Enter (or a click on the cursor's row) chose the row under the cursor."""

    class EdgeReached(Message):
        """A cursor key went past the loaded rows and waits for the owner to fetch more."""

        def __init__(self, table: RowTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, cells: Callable[[Any], Sequence[Text]], key: Callable[[Any], Hashable],
                 *, state: Callable[[Any], Hashable] | None = None, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._cells = cells
        self._key = key
        self._state = state
        self._columns: tuple[Column, ...] = ()
        self._declared: tuple[Column, ...] = ()
        self._kept: list[int] = []  # the declared index of each column shown
        self._rows: list[Any] = []
        self._cursor = 0
        self._pending: list[Move] = []
        self.awaiting = False
        """The rows shown are about to be replaced: cursor keys wait for the new ones."""
        self.more_above = False
        """The owner has rows before the first one shown."""
        self.more_below = False
        """The owner has rows after the last one shown."""
        # (row, state, odd, cursor, version): everything the line was drawn from
        self._lines: dict[tuple[Hashable, Hashable, bool, bool, int], Strip] = {}
        self._versions: dict[Hashable, int] = {}  # bumped by refresh_row
        self._styles: tuple[Style, ...] = ()
        self._styles_due = True
        self._ahead_timer: Timer | None = None
        self._width = 0
        self._header: Strip | None = None
        self._blank: Strip | None = None

    # ----- data ---------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def rows(self) -> Sequence[Any]:
        return self._rows

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_row(self) -> int:
        """Index of the row under the cursor (0 when the table is empty)."""
        return self._cursor

    @property
    def pending_moves(self) -> int:
        """Cursor keys queued until rows arrive."""
        return len(self._pending)

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Declare the columns; they are fitted to the table's width (see `fit`), again
        whenever it changes."""
        self._declared = tuple(columns)
        self._fit_columns()

    def _fit_columns(self) -> None:
        width = self.size.width or self.app.size.width
        fitted = tuple(fit(self._declared, width))
        if fitted != self._columns:
            self._columns = fitted
            keys = [c.key for c in self._declared]
            self._kept = [keys.index(c.key) for c in fitted]
            self._forget_lines()
            self._resize()
            self.refresh()

    def get_row_at(self, index: int) -> list[Text]:
        """The cells of the row at `index`, as drawn."""
        return list(self._cells(self._rows[index]))

    def set_rows(self, rows: Sequence[Any], *, keep: Hashable | None = None, cursor: int = 0,
                 anchor: bool = False) -> None:
        """Show `rows`; the cursor goes to the row keyed `keep` if present, else to `cursor`.

        `anchor` keeps the cursor's row on the same screen line (pages arriving above or
        leaving below must not make the view jump). Then queued cursor keys are replayed."""
        old_line = self._cursor - round(self.scroll_y)
        self._rows = list(rows)  # a row read again with other fields keys other lines
        self.awaiting = False
        target = cursor
        if keep is not None:
            for index, row in enumerate(self._rows):
                if self._key(row) == keep:
                    target = index
                    break
        self._cursor = max(0, min(target, len(self._rows) - 1))
        self._resize()
        self.refresh()
        if anchor:
            self._scroll_to_row(self._cursor - old_line)
        else:
            self._scroll_to_row(0)
        self._scroll_cursor_into_view()
        if self._rows:
            self.post_message(self.RowHighlighted(self, self._cursor))
        self._replay()

    def loading_failed(self) -> None:
        """The rows asked for will not come: forget queued keys and stop waiting."""
        self.awaiting = False
        self._pending.clear()

    def refresh_row(self, index: int) -> None:
        """Draw the row at `index` again, even where neither the row nor its `state` changed
        (a change of either alone is drawn on the next `refresh`)."""
        if 0 <= index < len(self._rows):
            key = self._key(self._rows[index])
            self._versions[key] = self._versions.get(key, 0) + 1
            self._refresh_index(index)

    def refresh_rows(self) -> None:
        """Draw every row again (many cells changed)."""
        self._forget_lines()
        self.refresh()

    def _forget_lines(self) -> None:
        self._lines.clear()
        self._header = None

    def _resize(self) -> None:
        size = Size(self._table_width(), len(self._rows) + 1)
        if size != self.virtual_size:
            self.virtual_size = size

    def _table_width(self) -> int:
        return sum(column.width + 2 * CELL_PADDING for column in self._columns)

    # ----- the cursor ---------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        """Put the cursor on the row at `row` (clamped to the rows shown)."""
        self._set_cursor(max(0, min(row, len(self._rows) - 1)))

    def _set_cursor(self, index: int) -> None:
        if index == self._cursor or not self._rows:
            return
        old, self._cursor = self._cursor, index
        if not self._scroll_cursor_into_view():
            self._refresh_index(old)
            self._refresh_index(index)
        if self._ahead_timer is None:
            self._ahead_timer = self.set_timer(DRAW_AHEAD_AFTER, self._draw_ahead)
        self.post_message(self.RowHighlighted(self, index))

    def _move_by(self, delta: int) -> None:
        """Move `delta` rows; what goes past the loaded rows waits for the next page."""
        if self.awaiting or self._pending:
            self._queue(delta)
            return
        last = len(self._rows) - 1
        target = self._cursor + delta
        if target > last and self.more_below:
            self._queue(target - max(last, 0))
            target = last
        elif target < 0 and self.more_above:
            self._queue(target)
            target = 0
        self._set_cursor(max(0, min(target, last)))

    def _move_to(self, where: str) -> None:
        if self.awaiting or self._pending:
            self._queue(where)
            return
        self._set_cursor(0 if where == "first" else len(self._rows) - 1)

    def _queue(self, move: Move) -> None:
        if isinstance(move, int) and self._pending and isinstance(self._pending[-1], int) \
                and (self._pending[-1] > 0) == (move > 0):
            self._pending[-1] += move
        else:
            self._pending.append(move)
        self.post_message(self.EdgeReached(self))

    def _replay(self) -> None:
        """Apply queued moves in order; one that still goes past the rows waits again."""
        pending, self._pending = self._pending, []
        for index, move in enumerate(pending):
            if self._pending:
                self._pending.extend(pending[index:])
                return
            if isinstance(move, int):
                self._move_by(move)
            else:
                self._move_to(move)

    def _page(self) -> int:
        """Rows that fit under the header (the stored size: asking for the region would
        make the compositor lay the screen out again)."""
        return max(1, self.size.height - 1)

    def action_cursor_down(self) -> None:
        self._move_by(1)

    def action_cursor_up(self) -> None:
        self._move_by(-1)

    def action_page_down(self) -> None:
        self._move_by(self._page())

    def action_page_up(self) -> None:
        self._move_by(-self._page())

    def action_first(self) -> None:
        self._move_to("first")

    def action_last(self) -> None:
        self._move_to("last")

    def action_select_cursor(self) -> None:
        if self._rows and not self.awaiting:
            self.post_message(self.RowSelected(self, self._cursor))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = offset.y - 1 + round(self.scroll_y)
        if index >= len(self._rows):
            return
        if index == self._cursor:
            self.post_message(self.RowSelected(self, index))
        else:
            self._set_cursor(index)

    # ----- scrolling ----------------------------------------------------------------------

    @property
    def allow_vertical_scroll(self) -> bool:
        """No scrollbars (they would place the cursor in the loaded window, not among all the
        rows, and redrawing one costs as much as the table), but the wheel still scrolls."""
        return not (self.disabled or self.loading) and self.max_scroll_y > 0

    @property
    def allow_horizontal_scroll(self) -> bool:
        return not (self.disabled or self.loading) and self.max_scroll_x > 0

    def _scroll_to_row(self, top: int) -> None:
        self.scroll_to(y=max(0, top), animate=False, force=True)

    def _scroll_cursor_into_view(self) -> bool:
        """Scroll the least that shows the cursor's row; True when the view moved."""
        top = round(self.scroll_y)
        visible = self._page()
        if self._cursor < top:
            self._scroll_to_row(self._cursor)
        elif self._cursor >= top + visible:
            self._scroll_to_row(self._cursor - visible + 1)
        else:
            return False
        return round(self.scroll_y) != top

    def on_resize(self, event: events.Resize) -> None:
        self._fit_columns()
        self._scroll_cursor_into_view()

    def _refresh_index(self, index: int) -> None:
        line = index + 1 - round(self.scroll_y)
        if 1 <= line < self.size.height:
            self.refresh(Region(0, line, self.size.width, 1))

    # ----- drawing ------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Hand the compositor the cached lines themselves.

        Textual's per-widget line cache would copy every line again after each scroll (to
        apply borders, padding and tints this table does not have), and the app's line
        filters would then walk each copy; given the same Strip objects, they reuse their
        results. A table styled with any of those goes the usual way."""
        width = self.size.width
        if self._styles_due or width != self._width:
            styles = (self.rich_style,
                      self.get_component_rich_style("rowtable--header"),
                      self.get_component_rich_style("rowtable--odd-row"),
                      self.get_component_rich_style("rowtable--even-row"),
                      self.get_component_rich_style("rowtable--cursor"))
            self._styles_due = False
            if styles != self._styles or width != self._width:
                self._styles, self._width = styles, width
                self._forget_lines()
                self._blank = None
        if not self._plain_box():
            return super().render_lines(crop)
        self._styles_cache.clear()
        filters = self.get_line_filters()
        background = self.background_colors[1]
        strips = []
        for y in crop.line_range:
            strip = self.render_line(y)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            strips.append(strip)
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _plain_box(self) -> bool:
        """No border, outline, padding, tint, hatch or opacity: a line is the content line
        (links in cells are not underlined on hover, as they would be the usual way)."""
        styles = self.styles
        return (not styles.gutter and not any(edge for edge, _ in styles.outline)
                and not styles.tint.a and styles.opacity == 1 and styles.text_opacity == 1
                and not styles.has_rule("hatch"))

    def notify_style_update(self) -> None:
        """CSS, focus or theme changed: work the styles out again before the next frame
        (Textual's own style cache is emptied by every refresh, so it cannot be relied on)."""
        super().notify_style_update()
        self._styles_due = True

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            if self._header is None:
                self._header = self._render_header()
            strip = self._header
        else:
            index = y - 1 + scroll_y
            if index >= len(self._rows):
                if self._blank is None:
                    self._blank = Strip.blank(self._width, self._styles[0])
                return self._blank
            strip = self._line(index, index == self._cursor)
        if scroll_x or strip.cell_length != self._width:
            strip = strip.crop_extend(scroll_x, scroll_x + self._width, self._styles[0])
        return strip

    def _line(self, index: int, cursor: bool) -> Strip:
        """The row at `index` drawn as one line, from the cache when it was drawn before."""
        row = self._rows[index]
        odd = bool(index % 2)
        state = self._state(row) if self._state is not None else None
        cache_key = (row, state, odd, cursor, self._versions.get(self._key(row), 0))
        strip = self._lines.get(cache_key)
        if strip is None:
            if len(self._lines) >= CACHED_LINES:
                self._lines.clear()
            strip = self._lines[cache_key] = self._render_row(row, odd, cursor)
        return strip

    def _draw_ahead(self) -> None:
        """Once the key's frame is out, draw the lines the next cursor key will need (this
        row without the cursor, the rows either side with it), so its frame only reuses them."""
        self._ahead_timer = None
        if self._styles_due or not self._styles or not self._rows:
            return
        index = self._cursor
        self._line(index, False)
        for near in (index - 1, index + 1):
            if 0 <= near < len(self._rows):
                self._line(near, True)

    def _render_header(self) -> Strip:
        header = self._styles[1]
        return self._render_cells([Text(c.label) for c in self._columns], header, Style(),
                                  header)

    def _render_row(self, row: Any, odd: bool, cursor: bool) -> Strip:
        _base, _header, odd_style, even_style, cursor_style = self._styles
        row_style = odd_style if odd else even_style
        if cursor:
            # the cursor's colour wins over a cell's own colour; a cell's background stays
            return self._render_cells(self._cells(row), row_style + cursor_style,
                                      Style.from_color(color=cursor_style.color),
                                      row_style + cursor_style)
        return self._render_cells(self._cells(row), row_style, Style(), row_style)

    def _render_cells(self, cells: Sequence[Text], pre: Style, post: Style,
                      extend: Style) -> Strip:
        """One line of padded cells, as DataTable draws them, filled out to the width."""
        segments: list[Segment] = []
        if len(cells) > len(self._columns):  # a column left out at this width
            cells = [cells[i] for i in self._kept]
        for column, cell in zip(self._columns, cells, strict=False):
            segments.extend(self._render_cell(cell, column.width, pre, post))
        remaining = self._width - self._table_width()
        if remaining > 0:
            segments.append(Segment(" " * remaining, extend))
        length = max(self._width, self._table_width())
        return Strip(segments).adjust_cell_length(length, self._styles[0]).simplify()

    def _render_cell(self, cell: Text, width: int, pre: Style, post: Style) -> list[Segment]:
        """A cell as Rich renders a padded, unwrapped Text between `pre` and `post` styles,
        without Rich's general machinery (it costs ~70 us a cell)."""
        console = self.app.console
        plain = cell.plain
        if cell.justify not in (None, "default", "right") or \
                cell.overflow not in (None, "fold", "crop", "ellipsis") or "\n" in plain \
                or "\t" in plain:
            options = self.app.console_options.update_dimensions(width + 2 * CELL_PADDING, 1)
            return console.render_lines(
                Styled(Padding(cell, (0, CELL_PADDING)), pre_style=pre, post_style=post),
                options.update(no_wrap=True))[0]
        line = cell
        if cell.justify == "right":
            line = cell.copy()
            line.rstrip()
            line.truncate(width)
            line.pad_left(width - line.cell_len)
        elif cell.cell_len > width:
            line = cell.copy()
            line.truncate(width, overflow="ellipsis" if cell.overflow == "ellipsis" else None)
        pad = pre + post if post else pre
        segments = [Segment(" " * CELL_PADDING, pad)]
        if line._spans:
            parts: Iterable[Segment] = line.render(console)
        else:
            parts = [Segment(line.plain, console.get_style(line.style))]
        for text, style, _control in parts:
            if text:
                style = pre + style
                segments.append(Segment(text, style + post if post else style))
        fill = width - line.cell_len
        if fill > 0:
            segments.append(Segment(" " * fill, pad))
        segments.append(Segment(" " * CELL_PADDING, pad))
        return segments
