"""The order queue: status tabs with counts, a windowed table paged by keyset cursors, a
search-as-you-type filter, sorting, marks and bulk status changes with preview and undo."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static, Tab, Tabs
from textual.worker import Worker, WorkerState

from store import exports
from store.errors import BackroomError
from store.queries import (
    ORDER_TOKENS,
    ORDER_WORDS,
    OrderRow,
    Page,
    QueueFilter,
    matching_ids,
    parse_filter,
    queue_page,
    status_counts,
    status_token,
)
from tui.format import money, shown, when
from tui.messages import CountsLoaded, OrdersChanged, PageLoaded, WindowReloaded
from tui.screens.base import BackroomScreen
from tui.status_change import archive_flow, change_status_flow
from tui.widgets.filter_box import FilterBox
from tui.widgets.table import Column, RowTable, cut
from tui.workers import in_db, read_db, run_db

MAX_PAGES = 3  # the table holds at most this many pages: a few hundred rows
PREFETCH = 20  # rows from either end of the window that trigger the next page
DEBOUNCE = 0.25  # seconds of quiet typing before the filter runs
LOADING_AFTER = 0.1  # a query slower than this shows the loading indicator
SORTS = ("placed", "total", "status", "code")
# (key, label, width, grow): the customer takes what is left of the width (code, status and
# total are never cut; the status column is as wide as the workflow's longest short label).
COLUMNS = (("code", " Code", 12, 0), ("placed", "Placed", 11, 0), ("customer", "Customer", 8, 1),
           ("items", "It", 2, 0), ("total", "Total", 10, 0), ("status", "Status", 6, 0),
           ("mail", "Mail", 6, 0))


class QueueScreen(BackroomScreen):
    """The orders mode's base screen."""

    NAME = "Order queue"

    BINDINGS = [
        Binding("enter", "open", "Open", id="queue.open"),
        Binding("slash", "filter", "Filter", id="queue.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="queue.clear_filter", show=False),
        Binding("space", "mark", "Mark", id="queue.mark"),
        Binding("v", "range", "Range", id="queue.range", show=False),
        Binding("shift+down", "mark_move(1)", "Mark and move down", id="queue.mark_down",
                show=False),
        Binding("shift+up", "mark_move(-1)", "Mark and move up", id="queue.mark_up", show=False),
        Binding("a", "mark_all", "Mark all", id="queue.mark_all",
                tooltip="Mark every order matching the filter (across all pages)"),
        Binding("u", "unmark", "Unmark all", id="queue.unmark", show=False),
        Binding("s", "status", "Status", id="queue.status",
                tooltip="Change the status of the marked orders (or the current one)"),
        Binding("A", "archive", "Archive", id="queue.archive",
                tooltip="Archive the marked orders (or all of the filter); unarchive on "
                "the Archived tab"),
        Binding("S", "ship_station", "Ship station", id="queue.ship", show=False),
        Binding("P", "print_slips", "Print", id="queue.print",
                tooltip="Print the packing slips of the marked orders (or all of the filter)"),
        Binding("x", "cancel_print", "Stop printing", id="queue.cancel_print", show=False),
        Binding("T", "import_tracking", "Import tracking", id="queue.import_tracking",
                show=False),
        Binding("z", "app.undo", "Undo", id="queue.undo"),
        Binding("o", "sort", "Sort", id="queue.sort"),
        Binding("x", "export", "Export", id="queue.export", show=False),
        Binding("O", "reverse", "Reverse sort", id="queue.reverse", show=False),
        Binding("right_square_bracket", "tab(1)", "Next tab", id="queue.next_tab", show=False),
        Binding("left_square_bracket", "tab(-1)", "Previous tab", id="queue.prev_tab",
                show=False),
    ]
    ACTION_PERMISSIONS = {"status": "change_status", "ship_station": "change_status",
                          "print_slips": "print", "cancel_print": "print",
                          "import_tracking": "change_status",
                          "mark_all": "change_status",
                          "mark": "change_status", "range": "change_status",
                          "mark_move": "change_status", "export": "export",
                          "archive": "archive"}

    def __init__(self) -> None:
        super().__init__()
        self.base = QueueFilter()  # what the tab and the sort keys say
        self.filter: QueueFilter = self.base  # base + the typed filter
        self.filter_text = ""
        self.token_statuses: tuple[str, ...] = ()  # what a `status:` token names
        self.pages: list[Page] = []
        self.requests: list[tuple[str | None, bool]] = []
        self.rows: list[OrderRow] = []
        self.marked: set[int] = set()
        self.generation = 0
        self.loading_more = False
        self.range_anchor: int | None = None
        self._debounce: Any = None
        self._loading_timer: Any = None
        self._loading_note = ""  # shown in the status line while a slow query runs
        self._busy = ""
        self._counts_due = False
        self._table: RowTable | None = None
        self._printing = ""  # "printing slips 120/500" while a bulk print runs
        self._print_stop = False

    def compose(self) -> ComposeResult:
        wf = self.backroom.shop.workflow
        tabs = [Tab("All", id="t-_all")]
        # the statuses' labels are the shop's configuration: a Tab reads a str as markup
        tabs += [Tab(Text(shown(wf.short(k))), id=f"t-{k}") for k in wf.keys()]
        tabs.append(Tab("Archived", id="t-_archived"))
        yield Tabs(*tabs, id="status-tabs")
        yield FilterBox("orders", ORDER_TOKENS, ORDER_WORDS, extra=self._statuses_help,
                        placeholder="filter: words, status:paid placed:<30d sku:MUG … "
                        "(? lists the tokens)", id="filter", classes="hidden")
        yield RowTable(self._cells, key=_order_id, state=self._is_marked, id="orders")
        yield Static("", id="queue-status", markup=False)
        yield Footer()

    def _statuses_help(self) -> str:
        """This shop's statuses, as status: reads them (key, label or hotkey)."""
        wf = self.backroom.shop.workflow
        return "Statuses: " + "; ".join(f"{k} ({wf[k].hotkey}) {wf.label(k)}"
                                         for k in wf.keys()) + "."

    @property
    def table(self) -> RowTable:
        if self._table is None:
            self._table = self.query_one("#orders", RowTable)
        return self._table

    def on_mount(self) -> None:
        table = self.table
        wf = self.backroom.shop.workflow
        currency = self.backroom.shop.currency
        status = max(len(wf.short(k)) for k in wf.keys())
        table.set_columns([
            Column(key, f"Total {currency}" if key == "total" else label,
                   max(width, status) if key == "status" else width, grow)
            for key, label, width, grow in COLUMNS])
        table.focus()
        self.reload()

    # ----- loading ------------------------------------------------------------------------

    def reload(self, keep_position: bool = False) -> None:
        """Fetch the counts and the first page (or the loaded window again, keeping place)."""
        self.generation += 1
        self._start_loading("loading orders…")
        self._counts_due = True  # asked once the rows are shown: the rows come first
        if keep_position and self.requests:
            # the window is on its way; fetching a page now would cancel it (one load at a time)
            self.loading_more = True
            self._load_window(self.generation, self.filter, list(self.requests))
        else:
            self.loading_more = False
            self.table.awaiting = True  # cursor keys now wait for the new rows
            self._load_page(self.generation, self.filter, None, False, "replace")

    def _ask_counts(self) -> None:
        """Counting a million orders takes a while: start it after the rows are on screen."""
        if self._counts_due:
            self._counts_due = False
            self.call_after_refresh(self._load_counts, self.generation, self.filter)

    def _start_loading(self, note: str) -> None:
        """Say `note` in the status line if the query is still running after LOADING_AFTER.

        Not the table's own loading cover: Textual takes focus and keys away from a widget
        while it is loading, and keys pressed meanwhile must reach the table."""
        if self._loading_timer is not None:
            self._loading_timer.stop()
        self._loading_timer = self.set_timer(LOADING_AFTER, lambda: self._show_loading(note))

    def _show_loading(self, note: str) -> None:
        self._loading_note = note
        self._update_status()

    def _stop_loading(self) -> None:
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None
        if self._loading_note:
            self._loading_note = ""
            self._update_status()

    def _limit(self) -> int:
        return int(self.backroom.config.get("ui", "page_size"))

    @work(exclusive=True, group="queue-load", exit_on_error=False)
    async def _load_page(self, generation: int, f: QueueFilter, cursor: str | None,
                         backwards: bool, where: str) -> None:
        page = await read_db(queue_page, f, cursor, self._limit(), backwards)
        self.post_message(PageLoaded(generation, page, where, (cursor, backwards)))

    @work(exclusive=True, group="queue-load", exit_on_error=False)
    async def _load_window(self, generation: int, f: QueueFilter,
                           requests: list[tuple[str | None, bool]]) -> None:
        limit = self._limit()

        def window() -> tuple[list[Page], list[tuple[str | None, bool]]]:
            pages = [queue_page(f, requests[0][0], limit, requests[0][1])]
            new_requests = [requests[0]]
            while len(pages) < len(requests) and pages[-1].next_cursor:
                cursor = pages[-1].next_cursor
                pages.append(queue_page(f, cursor, limit, False))
                new_requests.append((cursor, False))
            return pages, new_requests

        pages, new_requests = await read_db(window)
        self.post_message(WindowReloaded(generation, pages, new_requests))

    @work(exclusive=True, group="queue-counts", exit_on_error=False)
    async def _load_counts(self, generation: int, f: QueueFilter) -> None:
        """The tabs' counts: of the filter's text and tokens, by status (a `status:` token's
        statuses alone, as the list shows them)."""
        only = self.token_statuses

        def counts() -> tuple[dict[str, int], dict[str, int]]:
            return (status_counts(dataclasses.replace(f, archived=False), only),
                    status_counts(dataclasses.replace(f, archived=True, statuses=()), only))

        current, archived = await read_db(counts)
        self.post_message(CountsLoaded(generation, current, archived.get("_all", 0)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed load stops the waiting (keys queued for it are dropped); the base screen's
        handler, which Textual runs too, reports it."""
        if event.state == WorkerState.ERROR and event.worker.group == "queue-load":
            self.loading_more = False
            self._stop_loading()
            self.table.loading_failed()

    def on_counts_loaded(self, message: CountsLoaded) -> None:
        if message.generation != self.generation:
            return
        wf = self.backroom.shop.workflow
        tabs = self.query_one(Tabs)
        tabs.query_one("#t-_all", Tab).label = Text(f"All {message.counts.get('_all', 0):,}")
        for key in wf.keys():
            tabs.query_one(f"#t-{key}", Tab).label = Text(
                f"{shown(wf.short(key))} {message.counts.get(key, 0):,}")
        tabs.query_one("#t-_archived", Tab).label = Text(f"Archived {message.archived:,}")

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self.generation:
            return
        self.loading_more = False
        self._stop_loading()
        self._ask_counts()
        if message.where == "replace":
            self.pages, self.requests = [message.page], [message.request]
            self._show_window(None)
            return
        current = self._current_id()
        if message.where == "append":
            self.pages.append(message.page)
            self.requests.append(message.request)
            if len(self.pages) > MAX_PAGES:
                self.pages.pop(0)
                self.requests.pop(0)
        else:
            self.pages.insert(0, message.page)
            self.requests.insert(0, message.request)
            if len(self.pages) > MAX_PAGES:
                self.pages.pop()
                self.requests.pop()
        self._show_window(current)

    def on_window_reloaded(self, message: WindowReloaded) -> None:
        if message.generation != self.generation:
            return
        self.loading_more = False
        self._stop_loading()
        self._ask_counts()
        self.pages, self.requests = list(message.pages), list(message.requests)
        self._show_window(self._current_id(), self.table.cursor_row)

    def _show_window(self, keep_id: int | None, fallback_row: int = 0) -> None:
        """Show the loaded pages, the cursor on the same order (and on the same screen line);
        cursor keys that waited for these rows then move it on."""
        table = self.table
        self.rows = [row for page in self.pages for row in page.rows]
        table.more_above = self.pages[0].prev_cursor is not None
        table.more_below = self.pages[-1].next_cursor is not None
        table.set_rows(self.rows, keep=keep_id, cursor=fallback_row, anchor=keep_id is not None)
        self._update_status()
        self._prefetch()

    def _cells(self, row: OrderRow) -> list[Text]:
        """What the table shows of an order; customer text is never read as markup."""
        wf = self.backroom.shop.workflow
        status = wf[row.status] if row.status in wf else None
        return [
            self._code_cell(row),
            Text(when(row.placed_at, short=True)),
            cut(shown(row.customer_name or row.customer_email)),
            Text(str(row.item_count), justify="right"),
            Text(self._total(row), justify="right"),
            Text(wf.short(row.status), style=status.colour if status else ""),
            Text(row.mail_state, style="red" if row.mail_state in ("failed", "dead") else "dim"),
        ]

    def _is_marked(self, row: OrderRow) -> bool:
        """What the table draws of a row besides the row itself (its kept lines are keyed
        by it): whether it is marked."""
        return row.id in self.marked

    def _code_cell(self, row: OrderRow) -> Text:
        """The code, after a mark column of one character (● when marked); a test order
        says so with a T after its code."""
        cell = Text("●" if row.id in self.marked else " ", style="bold yellow")
        cell.append(row.code, style="dim" if row.is_test else "")
        if row.is_test:
            cell.append("T", style="bold magenta")
        return cell

    def _total(self, row: OrderRow) -> str:
        """The total; the currency is only spelled out when it is not the shop's."""
        text = money(row.total, row.currency)
        return text[:-4] if row.currency == self.backroom.shop.currency else text

    def _current_id(self) -> int | None:
        row = self.current_row()
        return row.id if row is not None else None

    def current_row(self) -> OrderRow | None:
        index = self.table.cursor_row
        if 0 <= index < len(self.rows):
            return self.rows[index]
        return None

    @on(RowTable.RowHighlighted, "#orders")
    def _row_highlighted(self, event: RowTable.RowHighlighted) -> None:
        if self.range_anchor is not None:
            self._update_status()
        self._prefetch()

    @on(RowTable.EdgeReached, "#orders")
    def _edge_reached(self, event: RowTable.EdgeReached) -> None:
        """Keys went past the loaded rows: make sure the page is coming, and say so if slow."""
        self._prefetch()
        if self.loading_more and self._loading_timer is None:
            self._start_loading("loading more orders…")

    def _prefetch(self) -> None:
        """Load the next or previous page before the cursor reaches the window's edge."""
        if self.loading_more or not self.pages or self.table.awaiting:
            return
        index = self.table.cursor_row
        if index >= len(self.rows) - PREFETCH and self.pages[-1].next_cursor:
            self.loading_more = True
            self._load_page(self.generation, self.filter, self.pages[-1].next_cursor, False,
                            "append")
        elif index < PREFETCH and self.pages[0].prev_cursor:
            self.loading_more = True
            self._load_page(self.generation, self.filter, self.pages[0].prev_cursor, True,
                            "prepend")

    def _update_status(self) -> None:
        f = self.filter
        parts = [f"sort {'-' if f.descending else ''}{f.sort}"]
        if self.marked:
            parts.append(f"{len(self.marked):,} marked")
        if self.range_anchor is not None:
            parts.append("range: move, then v marks")
        if self._busy:
            parts.append(self._busy)
        if self._printing:
            parts.append(self._printing)
        if self._loading_note:
            parts.append(self._loading_note)
        if not self.rows:
            parts.append("no orders match")
        self.query_one("#queue-status", Static).update(" · ".join(parts))

    def on_screen_resume(self) -> None:
        if self.pages:
            self.reload(keep_position=True)

    def on_orders_changed(self, message: OrdersChanged) -> None:
        if self.shown:
            self.reload(keep_position=True)

    # ----- opening ----------------------------------------------------------------------

    @on(RowTable.RowSelected, "#orders")
    def _row_selected(self, event: RowTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.current_row()
        if row is not None:
            self.backroom.open_order(row.id, self.filter)

    # ----- filter, tabs, sort -----------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("hidden")
        box.focus()

    def action_clear_filter(self) -> None:
        if self.range_anchor is not None:
            self.range_anchor = None
            self._update_status()
            return
        box = self.query_one("#filter", Input)
        if box.value or self.filter_text:
            box.value = ""
            self._apply_filter_text("")
        box.add_class("hidden")
        self.table.focus()

    def set_filter_text(self, text: str) -> None:
        """Show `text` in the filter box and apply it now (saved views, the command line)."""
        box = self.query_one("#filter", Input)
        box.value = text
        box.set_class(not text, "hidden")
        self._apply_filter_text(text)
        self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, lambda: self._apply_filter_text(event.value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter_text(event.value)
        self.table.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.focused is self.query_one("#filter", Input):
            event.stop()
            self.action_clear_filter()

    def _apply_filter_text(self, text: str) -> None:
        if text == self.filter_text and self.pages:
            return
        try:
            parsed = parse_filter(text, self.backroom.shop.workflow, self.base)
        except BackroomError as exc:
            self.query_one("#queue-status", Static).update(f"filter: {exc}")
            return
        self.filter_text = text
        self.filter = parsed
        self.token_statuses = status_token(text, self.backroom.shop.workflow)
        self.marked.clear()
        self.reload()

    @on(Tabs.TabActivated, "#status-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        key = (event.tab.id or "t-_all")[2:]
        if key == "_archived":
            base = dataclasses.replace(self.base, statuses=(), archived=True)
        elif key == "_all":
            base = dataclasses.replace(self.base, statuses=(), archived=False)
        else:
            base = dataclasses.replace(self.base, statuses=(key,), archived=False)
        if base == self.base:
            return  # the first tab, activated on mount: the queue is already loading
        self.base = base
        self.filter_text = "\0"  # force the re-parse on the new base
        self._apply_filter_text(self.query_one("#filter", Input).value)
        self.table.focus()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one(Tabs)
        if step > 0:
            tabs.action_next_tab()
        else:
            tabs.action_previous_tab()

    def _resort(self, sort: str, descending: bool) -> None:
        self.base = dataclasses.replace(self.base, sort=sort, descending=descending)
        self.filter = dataclasses.replace(self.filter, sort=sort, descending=descending)
        self.reload()

    def action_sort(self) -> None:
        current = self.filter.sort if self.filter.sort in SORTS else SORTS[0]
        self._resort(SORTS[(SORTS.index(current) + 1) % len(SORTS)], self.filter.descending)

    def action_reverse(self) -> None:
        self._resort(self.filter.sort, not self.filter.descending)

    def action_reload(self) -> None:
        self.reload(keep_position=True)

    # ----- marks ------------------------------------------------------------------------

    def _set_mark(self, index: int, on: bool) -> None:
        row = self.rows[index]
        if on:
            self.marked.add(row.id)
        else:
            self.marked.discard(row.id)
        self.table.refresh_row(index)

    def action_mark(self) -> None:
        table = self.table
        row = self.current_row()
        if row is None:
            return
        self._set_mark(table.cursor_row, row.id not in self.marked)
        table.action_cursor_down()
        self._update_status()

    def action_mark_move(self, step: int) -> None:
        table = self.table
        if self.current_row() is None:
            return
        self._set_mark(table.cursor_row, True)
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()
        self._set_mark(table.cursor_row, True)
        self._update_status()

    def action_range(self) -> None:
        """First `v` drops an anchor; the second marks every row between it and the cursor."""
        table = self.table
        row = self.current_row()
        if row is None:
            return
        if self.range_anchor is None:
            self.range_anchor = row.id
        else:
            ids = [r.id for r in self.rows]
            start = ids.index(self.range_anchor) if self.range_anchor in ids else table.cursor_row
            low, high = sorted((start, table.cursor_row))
            for index in range(low, high + 1):
                self._set_mark(index, True)
            self.range_anchor = None
        self._update_status()

    @work(exclusive=True, group="queue-mark", exit_on_error=False)
    async def action_mark_all(self) -> None:
        with self.busy("marking every matching order…"):
            ids = await run_db(matching_ids, self.filter)
        self.marked = set(ids)
        self._refresh_marks()
        self.notify(f"{len(ids):,} orders marked (every order matching the filter)")

    def action_unmark(self) -> None:
        self.marked.clear()
        self.range_anchor = None
        self._refresh_marks()

    def _refresh_marks(self) -> None:
        """The marked set changed: the table draws each row's mark anew (its kept lines are
        keyed by it), and the status line counts them."""
        self.table.refresh()
        self._update_status()

    # ----- export -----------------------------------------------------------------------

    @work(exclusive=True, group="queue-export", exit_on_error=False)
    async def action_export(self) -> None:
        """The marked orders (or every order of the filter, as the tab shows them) as CSV
        under ui.export_dir, the count growing in the status line; the path is said at the
        end."""
        app = self.backroom
        if self.marked:
            selection = exports.Selection(ids=tuple(sorted(self.marked)))
            what = f"{len(self.marked):,} marked order(s)"
        else:
            selection = exports.Selection(self.filter, both_archived=False)
            what = "the orders of the filter"

        def progress(count: int) -> None:
            app.call_from_thread(self.set_busy, f"exporting {what}: {count:,} written…")

        with self.busy(f"exporting {what}…"):
            done = await run_db(exports.export_file, app.actor, selection,
                                exports.export_dir(app.config), progress)
        self.notify(f"{done.orders:,} order(s) exported to {done.path}", timeout=10)

    # ----- bulk status change -----------------------------------------------------------

    def action_ship_station(self) -> None:
        self.backroom.open_ship_station()

    def action_status(self) -> None:
        """Change the status of the marked orders (or the current one), with a preview."""
        if self.marked:
            ids = sorted(self.marked)
            shown = [r for r in self.rows if r.id in self.marked]
            versions = {r.id: r.version for r in shown}
            # every mark is on screen: offer what their statuses allow; else every status
            froms = ([r.status for r in shown] if len(shown) == len(ids)
                     else self.backroom.shop.workflow.keys())
        else:
            row = self.current_row()
            if row is None:
                return
            ids, froms, versions = [row.id], [row.status], {row.id: row.version}
        self._change_status(ids, froms, versions)

    @work(group="status-change", exit_on_error=False)
    async def _change_status(self, ids: list[int], froms: list[str],
                             versions: dict[int, int]) -> None:
        result = await change_status_flow(self, ids, froms, versions, preview=True)
        if result is not None and result.changed:
            self.marked.clear()
            self._refresh_marks()

    def action_archive(self) -> None:
        """Archive the marked orders (or every order matching the filter), with the preview
        of what is archived and what is refused; on the Archived tab, unarchive them."""
        self._archive(sorted(self.marked), not self.filter.archived)

    @work(group="status-change", exit_on_error=False)
    async def _archive(self, marked: list[int], archived: bool) -> None:
        if not marked:
            with self.busy("reading the orders of the filter…"):
                marked = await run_db(matching_ids, self.filter)
            if not marked:
                self.notify("No order matches the filter.", severity="warning")
                return
        result = await archive_flow(self, marked, archived)
        if result is not None and result.changed:
            self.marked.clear()
            self._refresh_marks()

    def set_busy(self, text: str) -> None:
        self._busy = text
        self._update_status()

    # ----- printing ---------------------------------------------------------------------

    def action_print_slips(self) -> None:
        """The slips of the marked orders (or of every order matching the filter) as one PDF
        in queue order, optionally with the pick list and each order's label; it runs in
        the background with its progress in the status line (x stops it)."""
        if self._printing:
            self.notify("A print is running; x stops it.", severity="warning")
            return
        marked = sorted(self.marked)
        what = (f"the {len(marked):,} marked order(s)" if marked
                else "every order matching the filter")
        self._ask_print(marked, what)

    @work(group="print-ask", exit_on_error=False)
    async def _ask_print(self, marked: list[int], what: str) -> None:
        from tui.dialogs.print_options import PrintDialog

        config = self.backroom.config
        printer = (str(config.get("print", "slips_printer")) or str(config.get("print", "printer")))
        where = f"sent to {printer}" if printer else "written to a file (no printer set)"
        choice = await self.app.push_screen_wait(PrintDialog(what, where))
        if choice is None:
            return
        self._print_stop = False
        self._printing = "printing slips…"
        self._update_status()
        self._print(marked, self.filter, choice.picklist, choice.labels)

    @work(thread=True, group="print", exit_on_error=False)
    def _print(self, marked: list[int], f: QueueFilter, picklist: bool, labels: bool) -> None:
        # documents (fpdf2, pypdf, fonts) is imported on the first print, not at launch
        from documents import output, slips
        from store import document_reads
        from store.queries import in_queue_order

        app = self.backroom
        call = self.app.call_from_thread
        try:
            ids = in_db(in_queue_order, f, marked) if marked else in_db(matching_ids, f)
            if not ids:
                call(self._printed, "no order to print", "warning")
                return
            attached = in_db(document_reads.labels, ids) if labels else {}
            step = max(1, len(ids) // 100)

            def progress(done: int, total: int) -> None:
                if done % step == 0 or done == total:
                    call(self._print_progress, done, total)

            done = in_db(slips.slips_pdf, app.config, ids, picklist=picklist, labels=attached,
                         progress=progress, cancelled=lambda: self._print_stop)
            call(self._print_progress, done.orders, done.orders, "writing")
            name = output.slips_name(done.orders, dt.datetime.now(), picklist)
            sent = output.deliver(app.config, app.actor, done.data, name, "slips")
        except BackroomError as exc:
            call(self._printed, str(exc), "error")
            return
        text = f"{done.orders:,} slip(s), {done.pages:,} page(s): {sent.path}"
        if sent.job:
            text += f" · sent to {sent.printer}: job {sent.job}"
        if done.warning:
            call(self._printed, f"{text}\n{done.warning}", "warning", 30)
        else:
            call(self._printed, text, "information")

    def _print_progress(self, done: int, total: int, doing: str = "printing") -> None:
        self._printing = (f"{doing} slips {done:,}/{total:,} (x stops)" if doing == "printing"
                          else f"{doing} {total:,} slips…")
        self._update_status()

    def _printed(self, text: str, severity: str, timeout: float = 15) -> None:
        self._printing = ""
        self._update_status()
        self.notify(text, title="Print", severity=severity,  # type: ignore[arg-type]
                    timeout=timeout)

    def action_cancel_print(self) -> None:
        self._print_stop = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`x` stops a bulk print while one runs, and exports the rest of the time."""
        if action == "cancel_print":
            return bool(self._printing)
        if action == "export" and self._printing:
            return False
        return super().check_action(action, parameters)

    # ----- tracking numbers from the carrier's file -------------------------------------

    def action_import_tracking(self) -> None:
        self._import_tracking()

    @work(group="status-change", exit_on_error=False)
    async def _import_tracking(self) -> None:
        """A carrier's CSV: the usual preview, then one bulk ship, each order with its own
        number; `z` undoes it."""
        from store import tracking_import
        from tui.dialogs.confirm import ConfirmDialog
        from tui.dialogs.prompt import TextPrompt
        from tui.status_change import description_text

        app = self.backroom
        path = await app.push_screen_wait(TextPrompt(
            "Tracking numbers from a carrier's CSV (order or reference, tracking, carrier)",
            placeholder="path/to/file.csv"))
        if not path or not path.strip():
            return
        with self.busy("reading the file…"):
            text = await run_db(tracking_import.read_text, path.strip())
            imported = await run_db(tracking_import.parse, app.shop, text)
            preview = await run_db(tracking_import.ship, app.shop, app.actor, imported,
                                   dry_run=True)
        body = Text()
        for line in imported.problems:
            body.append(f"line {line.line}: ", style="bold")
            body.append(f"skipped: {line.problem}\n")
        described = preview.describe(app.shop.workflow)
        body.append_text(description_text(described))
        if not preview.changed:
            await app.push_screen_wait(ConfirmDialog("Nothing would ship", body, ok_only=True))
            return
        if not await app.push_screen_wait(ConfirmDialog(f"Preview: {described.headline}",
                                                        body, yes="Ship")):
            return
        with self.busy(f"shipping {len(preview.changed):,} order(s)…"):
            result = await run_db(tracking_import.ship, app.shop, app.actor, imported)
        headline = result.describe(app.shop.workflow).headline
        if result.changed:
            app.remember_change(result.batch, headline)
        app.notify(f"{headline} (z undoes)", title="Import tracking")
        app.broadcast_change(headline)


def _order_id(row: OrderRow) -> int:
    return row.id
