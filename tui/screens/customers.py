"""The customers list: search as you type (name, email, phone, postcode, city, country; accents
and case aside), filters by group, status and segment, keyset pages, and the new-customer form.

The list shows where each customer lives (city and country) instead of a status column: most
customers are active, so a suspended, denied or erased one says so after the name, in red."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from store import customer_queries as cq
from store import customers
from store.errors import BackroomError
from tui.dialogs.form import FormDialog
from tui.format import money, shown
from tui.messages import CustomersCounted, CustomersFailed, CustomersLoaded
from tui.screens.base import BackroomScreen
from tui.widgets.filter_box import FilterBox
from tui.widgets.table import Column, cut, fit, fit_data_table, pick
from tui.workers import read_db, run_db

SEGMENT_CYCLE = ("", *cq.SEGMENTS)
PAGE = 100
# The figures and the last order's date are never cut; name, email and city share the rest
# (the email the most: it tells two customers of one name apart); the group goes when even
# their narrowest does not fit (80 columns).
COLUMNS = (Column("name", "Name", 12, grow=2), Column("email", "Email", 22, grow=3),
           Column("place", "City", 8, grow=1), Column("group", "Group", 6, drop=1),
           Column("orders", "Ord", 3), Column("spent", "Spent", 9), Column("last", "Last", 8))
NEW_FIELDS = (("email", "Email (required)"), ("first_name", "First name"),
              ("last_name", "Last name"), ("phone", "Phone"), ("language", "Language (en, fr)"),
              ("consent", "Marketing consent (yes/no)"))


class CustomersScreen(BackroomScreen):
    """Every customer, newest first; Enter opens a profile."""

    BINDINGS = [
        Binding("slash", "search", "Search", id="customers.search"),
        Binding("n", "new_customer", "New", id="customers.new"),
        Binding("f", "next_segment", "Segment", id="customers.segment"),
        Binding("right_square_bracket", "page(1)", "Next page", id="customers.next_page"),
        Binding("left_square_bracket", "page(-1)", "Prev page", id="customers.prev_page"),
    ]
    ACTION_PERMISSIONS = {"new_customer": "customers"}

    def __init__(self) -> None:
        super().__init__()
        self.segment = ""
        self.page: cq.CustomerPage | None = None
        self.request: tuple[str | None, bool] = (None, False)
        self.page_number = 1
        self.generation = 0
        self.pending_query = ""
        self.total: int | None = 0  # None: the filter's count is still being read
        self.filter = cq.CustomerFilter()
        self.columns: tuple[Column, ...] = ()
        self._width = 0

    def compose(self) -> ComposeResult:
        yield FilterBox("customers", cq.CUSTOMER_TOKENS, cq.CUSTOMER_WORDS,
                        placeholder="name, email, phone, city; group:NAME segment:vip … "
                        "(? lists the tokens)", id="customer-search")
        yield Static("", id="customers-info", markup=False)
        table: DataTable[Any] = DataTable(id="customers-table", cursor_type="row",
                                          zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._fit(self.app.size.width)
        table.focus()
        if self.pending_query:
            self.query_one("#customer-search", Input).value = self.pending_query
        self.reload()

    # ----- loading ----------------------------------------------------------------------

    def reload(self, cursor: str | None = None, backwards: bool = False) -> None:
        self.generation += 1
        self.request = (cursor, backwards)
        text = self.query_one("#customer-search", Input).value
        # a new filter is counted; so is a page of one whose count never arrived (paged, or
        # reloaded, before it did: the worker that was counting it was cancelled)
        count = cursor is None or self.total is None
        if cursor is None:
            self.total = None
        self._load(self.generation, text, self.segment, cursor, backwards, count)

    @work(exclusive=True, group="customers-load", exit_on_error=False)
    async def _load(self, generation: int, text: str, segment: str, cursor: str | None,
                    backwards: bool, count: bool) -> None:
        shop = self.backroom.shop

        def read() -> tuple[Any, cq.CustomerFilter]:
            f = cq.parse_customer_filter(text)
            if segment and not f.segment:
                f = replace(f, segment=segment)
            return cq.customer_page(shop, f, cursor, PAGE, backwards), f

        try:
            page, f = await read_db(read)
        except BackroomError as exc:
            self.post_message(CustomersFailed(generation, str(exc)))
            return
        # the page first, the count after it (paging keeps a count that arrived)
        self.post_message(CustomersLoaded(generation, page, f, None if count else -1))
        if not count:
            return
        try:
            total = await read_db(cq.customer_count, shop, f)
        except BackroomError as exc:
            self.post_message(CustomersFailed(generation, str(exc)))
            return
        self.post_message(CustomersCounted(generation, total))

    def _fit(self, width: int) -> None:
        """The columns for `width` (the total's label names the shop's currency)."""
        currency = self.backroom.shop.currency
        columns = [replace(c, label=f"Spent {currency}") if c.key == "spent" else c
                   for c in COLUMNS]
        self.columns = fit_data_table(self.query_one(DataTable), columns, width)

    def on_resize(self, event: events.Resize) -> None:
        if self.is_mounted and fit(COLUMNS, event.size.width) != fit(COLUMNS, self._width):
            self._fit(event.size.width)
            self._show_rows()
        self._width = event.size.width

    def on_customers_loaded(self, message: CustomersLoaded) -> None:
        if message.generation != self.generation:
            return
        self.page = message.page
        self.filter = message.filter
        if message.total is None or message.total >= 0:
            self.total = message.total
        self._show_rows()
        self._show_info()

    def on_customers_counted(self, message: CustomersCounted) -> None:
        if message.generation == self.generation:
            self.total = message.total
            self._show_info()

    def _show_rows(self) -> None:
        if self.page is None:
            return
        table = self.query_one(DataTable)
        keep = self._current_id()
        with self.app.batch_update():
            table.clear()
            for row in self.page.rows:
                table.add_row(*pick(self.columns, self._cells(row)), key=str(row.id))
        if keep is not None and str(keep) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep)))

    def on_customers_failed(self, message: CustomersFailed) -> None:
        if message.generation == self.generation:
            self.query_one("#customers-info", Static).update(Text(message.reason, style="red"))

    @staticmethod
    def _cells(row: cq.CustomerRow) -> dict[str, Text]:
        last = f"{row.last_order_at:%y-%m-%d}" if row.last_order_at else ""
        name = cut(shown(row.name))
        if row.status != "active":
            name.append(f" ({row.status})", style="red")
        return {"name": name, "email": cut(shown(row.email)), "place": cut(shown(row.place)),
                "group": cut(shown(row.group_name)),
                "orders": Text(str(row.order_count), justify="right"),
                "spent": Text(money(row.total_spent, row.currency).removesuffix(
                    f" {row.currency}"), justify="right"),
                "last": Text(last)}

    def _show_info(self) -> None:
        f = self.filter
        if self.total is None:
            parts = ["counting customers…", f"page {self.page_number}"]
        else:
            pages = max(1, -(-self.total // PAGE))
            parts = [f"{self.total:,} customer(s)", f"page {self.page_number} of {pages:,}"]
        if f.segment:
            parts.append(f"segment: {f.segment} ({cq.SEGMENTS[f.segment]})")
        if f.status:
            parts.append(f"status: {f.status}")
        if self.page is not None and self.page.next_cursor:
            parts.append("] next page")
        if self.page is not None and self.page.prev_cursor:
            parts.append("[ previous page")
        self.query_one("#customers-info", Static).update(Text("  ·  ".join(parts)))

    def _current_id(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None

    # ----- keys -------------------------------------------------------------------------

    @on(Input.Changed, "#customer-search")
    def _search_changed(self) -> None:
        self.page_number = 1
        self.reload()

    @on(Input.Submitted, "#customer-search")
    def _search_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def key_escape(self) -> None:
        if self.focused is self.query_one("#customer-search", Input):
            self.query_one(DataTable).focus()

    def show_query(self, text: str) -> None:
        """Show the customers matching `text` (the groups screen opens a group's members)."""
        if not self.is_mounted:
            self.pending_query = text
            return
        self.query_one("#customer-search", Input).value = text
        self.query_one(DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#customer-search", Input).focus()

    def action_next_segment(self) -> None:
        self.segment = SEGMENT_CYCLE[(SEGMENT_CYCLE.index(self.segment) + 1) % len(SEGMENT_CYCLE)]
        self.page_number = 1
        self.notify(f"segment: {self.segment or 'all customers'}")
        self.reload()

    def action_page(self, step: int) -> None:
        if self.page is None:
            return
        if step > 0 and self.page.next_cursor:
            self.page_number += 1
            self.reload(self.page.next_cursor)
        elif step < 0 and self.page.prev_cursor:
            self.page_number -= 1
            self.reload(self.page.prev_cursor, backwards=True)

    def action_reload(self) -> None:
        self.reload(*self.request)

    def on_screen_resume(self) -> None:
        if self.page is not None:
            self.action_reload()

    @on(DataTable.RowSelected, "#customers-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        self.backroom.open_customer(int(event.row_key.value))

    # ----- new customer -----------------------------------------------------------------

    def action_new_customer(self) -> None:
        app = self.backroom
        defaults = {"language": app.shop.language, "consent": "no"}
        fields = [(key, label, defaults.get(key, "")) for key, label in NEW_FIELDS]

        def save(changes: dict[str, str]) -> customers.CustomerRef:
            values = defaults | changes
            return customers.create_customer(
                app.shop, app.actor, email=values.get("email", ""),
                first_name=values.get("first_name", ""), last_name=values.get("last_name", ""),
                phone=values.get("phone", ""), language=values.get("language") or None,
                marketing_consent=values.get("consent", "").strip().lower()
                in ("y", "yes", "true", "1"))

        async def submit(changes: dict[str, str]) -> customers.CustomerRef:
            return await run_db(save, changes)

        def created(ref: customers.CustomerRef | None) -> None:
            if ref is not None:
                self.notify(f"Customer {ref.email} created; confirm-account mail queued.")
                self.reload()

        self.app.push_screen(FormDialog("New customer", fields, submit=submit), created)
