"""The shop log: every history event of the orders and the customers, newest first, filtered
by time, operator and kind (`since:7d operator:ada event:refund`); Enter opens the line's
order or customer. Paged as it scrolls (store.history_reads)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from store import history_reads
from store.errors import BackroomError
from tui.format import shown, when
from tui.messages import ShopLogLoaded
from tui.screens.base import BackroomScreen
from tui.workers import read_db

PAGE = 200


class ShopLogScreen(BackroomScreen):
    """What happened in the shop, newest first; `/` filters, Enter opens."""

    BINDINGS = [
        Binding("slash", "search", "Filter", id="log.search"),
        Binding("enter,o", "open", "Open", id="log.open"),
        Binding("m", "more", "More", id="log.more", show=False),
    ]

    DEFAULT_CSS = """
    ShopLogScreen #log-search { height: 1; border: none; padding: 0 1; }
    ShopLogScreen #log-info { height: 1; padding: 0 1; background: $panel; }
    ShopLogScreen #log-table { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, history_reads.LogRow] = {}
        self.next_cursor: str | None = None
        self.where = history_reads.LogFilter()
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Input(placeholder="since:7d operator:LOGIN event:refund  (/)", id="log-search")
        yield Static("Loading the shop log…", id="log-info", markup=False)
        yield DataTable(id="log-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one(DataTable)
        widths = (("when", "When", 11), ("who", "Who", 8), ("what", "Event", 12),
                  ("of", "Of", 10))
        for key, label, width in widths:
            table.add_column(label, key=key, width=width)
        used = sum(w + 2 for _k, _l, w in widths) + 4  # cell padding and the scrollbar
        table.add_column("Message", key="message", width=max(20, self.app.size.width - used))
        table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    # ----- loading ----------------------------------------------------------------------

    def action_reload(self) -> None:
        self.generation += 1
        self._load(self.generation, self.query_one("#log-search", Input).value, None, False)

    def action_more(self) -> None:
        if self.next_cursor:
            self._load(self.generation, self.query_one("#log-search", Input).value,
                       self.next_cursor, True)

    @work(exclusive=True, group="log-load", exit_on_error=False)
    async def _load(self, generation: int, text: str, cursor: str | None, append: bool) -> None:
        try:
            where = history_reads.parse_log_filter(text)
            page = await read_db(history_reads.shop_log, where, cursor, PAGE)
        except BackroomError as exc:
            self.post_message(ShopLogLoaded(generation, None, append, str(exc)))
            return
        self.where = where
        self.post_message(ShopLogLoaded(generation, page, append))

    def on_shop_log_loaded(self, message: ShopLogLoaded) -> None:
        if message.generation != self.generation:
            return
        info = self.query_one("#log-info", Static)
        if message.page is None:
            info.update(Text(message.problem, style="red"))
            return
        table: DataTable[Any] = self.query_one(DataTable)
        with self.app.batch_update():
            if not message.append:
                table.clear()
                self.rows = {}
            for row in message.page.rows:
                key = f"{row.source}:{row.id}"
                if key in self.rows:
                    continue
                self.rows[key] = row
                table.add_row(*self._cells(row), key=key)
        self.next_cursor = message.page.next_cursor
        more = "; scroll for more" if self.next_cursor else ""
        info.update(Text(f"{len(self.rows):,} event(s) shown, newest first: "
                         f"{self.where.describe()}{more} · Enter opens"))

    def _cells(self, row: history_reads.LogRow) -> list[Text]:
        of = row.order_code if row.source == "order" else (row.customer or f"customer #"
                                                             f"{row.customer_id}")
        kind = row.kind.replace("_", " ")
        # the statuses as the queue's tabs name them: the message has a third of 80 columns
        message = row.text(self.backroom.shop.workflow.short)
        return [_cut(when(row.at, short=True)), _cut(row.operator or "-"), _cut(kind),
                _cut(of), _cut(message.splitlines()[0] if message else "")]

    # ----- keys -------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#log-search", Input).focus()

    @on(Input.Changed, "#log-search")
    def _search_changed(self) -> None:
        self.action_reload()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def key_escape(self) -> None:
        if self.focused is self.query_one("#log-search", Input):
            self.query_one(DataTable).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= self.query_one(DataTable).row_count - 5:
            self.action_more()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a line (the table takes the key) opens its order or customer."""
        event.stop()
        self.action_open()

    def selected(self) -> history_reads.LogRow | None:
        table: DataTable[Any] = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key or "")

    def action_open(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.order_id is not None:
            self.backroom.open_order(row.order_id)
        elif row.customer_id is not None:
            self.backroom.open_customer(row.customer_id)
        else:
            self.notify("This event's order or customer is gone.", severity="warning")


def _cut(value: str) -> Text:
    """A cell's text, ending in an ellipsis where its column cuts it (never read as markup)."""
    return Text(shown(value), no_wrap=True, overflow="ellipsis")
