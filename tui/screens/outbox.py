"""The outbox: how many mails wait, went or failed, and the mails themselves, filtered by state,
order code and recipient; retry a failed one, cancel one not yet sent or resend one (each of
the last two after a y/n), open its order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from mailer.preview import of_mail
from mailer.render import RenderError
from store import outbox, outbox_queries, webhook_queries
from store.errors import BackroomError
from store.operators import refusal
from tui.dialogs.confirm import ConfirmDialog
from tui.format import shown
from tui.messages import OutboxLoaded
from tui.screens.base import BackroomScreen
from tui.widgets.table import Column, cut, fit_data_table, pick
from tui.workers import read_db, run_db

FILTERS: tuple[str | None, ...] = (None, "queued", "held", "failed", "dead", "sent", "cancelled",
                                   "erased")
SHOWN_COUNTS = ("queued", "held", "sending", "sent", "failed", "dead", "cancelled", "erased")
STATE_STYLES = {"queued": "yellow", "held": "orange1", "sending": "cyan", "sent": "green",
                "failed": "red", "dead": "bold red", "cancelled": "dim", "erased": "dim"}
PAGE = 200
# Recipient and subject share the width (the subject the most); the last error goes first at
# 80 columns: the line under the table shows the selected mail's in full.
COLUMNS = (Column("id", "#", 6), Column("state", "State", 9),
           Column("recipient", "Recipient", 16, grow=2), Column("subject", "Subject", 16, grow=3),
           Column("order", "Order", 10), Column("attempts", "Tries", 5),
           Column("error", "Last error", 12, grow=1, drop=1))
REFRESH_SECONDS = 3.0


def webhook_line() -> str:
    """The webhooks beside the mail: deliveries by state and each disabled endpoint with why
    (empty when the shop has no endpoint)."""
    endpoints = webhook_queries.endpoints()
    if not endpoints:
        return ""
    counts = webhook_queries.delivery_counts()
    text = (f"webhooks: {counts['queued'] + counts['sending']} queued, "
            f"{counts['delivered']} delivered, {counts['failed']} failed")
    disabled = [e for e in endpoints if not e.active]
    if disabled:
        text += " · disabled: " + "; ".join(
            f"#{e.id} {e.url} ({e.disabled_reason}; backroom webhook enable {e.id})"
            for e in disabled)
    return text


class OutboxScreen(BackroomScreen):
    """Every mail, newest first, filtered by state with `f`; refreshes itself while shown."""

    BINDINGS = [
        Binding("slash", "search", "Search", id="outbox.search"),
        Binding("f", "cycle_filter", "Filter state", id="outbox.filter"),
        Binding("r", "retry", "Retry", id="outbox.retry"),
        Binding("c", "cancel_mail", "Cancel mail", id="outbox.cancel"),
        Binding("e", "resend", "Resend", id="outbox.resend"),
        Binding("enter,o", "open_order", "Open order", id="outbox.open"),
        Binding("m", "more", "More", id="outbox.more", show=False),
        Binding("t", "show_text", "Text of the mail", id="outbox.text", show=False),
    ]
    ACTION_PERMISSIONS = {"retry": "change_status", "cancel_mail": "change_status",
                          "resend": "change_status"}

    DEFAULT_CSS = """
    OutboxScreen #outbox-search { height: 1; border: none; padding: 0 1; }
    OutboxScreen #outbox-counts { height: 1; padding: 0 1; background: $panel; }
    OutboxScreen #outbox-hooks { height: auto; max-height: 3; padding: 0 1; }
    OutboxScreen #outbox-hooks.-disabled { color: $error; }
    OutboxScreen #outbox-table { height: 1fr; }
    OutboxScreen #outbox-error { height: auto; max-height: 4; padding: 0 1; color: $error; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filter_index = 0
        self.mails: dict[int, outbox_queries.OutboxRow] = {}
        self.next_cursor: str | None = None
        self.counts: dict[str, int] = {}
        self.columns: tuple[Column, ...] = ()
        self.where = outbox_queries.OutboxFilter()

    @property
    def state_filter(self) -> str | None:
        return self.where.state or FILTERS[self.filter_index]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="order code, part of the recipient, state:failed  (/)",
                    id="outbox-search")
        yield Static("Loading the outbox…", id="outbox-counts", markup=False)
        yield Static("", id="outbox-hooks", markup=False)
        yield DataTable(id="outbox-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="outbox-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one(DataTable)
        self.columns = fit_data_table(table, COLUMNS, self.app.size.width)
        table.focus()
        self.set_interval(REFRESH_SECONDS, self._refresh_if_shown)
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def _refresh_if_shown(self) -> None:
        if self.shown and len(self.mails) <= PAGE:
            self.action_reload()

    # ----- loading ----------------------------------------------------------------------

    def action_reload(self) -> None:
        self._load(self.state_filter, None, False)

    def action_more(self) -> None:
        if self.next_cursor:
            self._load(self.state_filter, self.next_cursor, True)

    def action_search(self) -> None:
        self.query_one("#outbox-search", Input).focus()

    @on(Input.Changed, "#outbox-search")
    def _search_changed(self, event: Input.Changed) -> None:
        try:
            self.where = outbox_queries.parse_outbox_filter(event.value,
                                                            self.backroom.shop.prefix)
        except BackroomError as exc:
            self.query_one("#outbox-error", Static).update(Text(str(exc)))
            return
        self.next_cursor = None
        self.action_reload()

    @on(Input.Submitted, "#outbox-search")
    def _search_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def key_escape(self) -> None:
        if self.focused is self.query_one("#outbox-search", Input):
            self.query_one(DataTable).focus()

    @work(exclusive=True, group="outbox-load", exit_on_error=False)
    async def _load(self, state: str | None, cursor: str | None, append: bool) -> None:
        where = replace(self.where, state=state)

        def read() -> tuple[Any, Any, Any]:
            return (outbox_queries.outbox_counts(),
                    outbox_queries.outbox_page(None, cursor, PAGE, None, where), webhook_line())

        counts, page, hooks = await read_db(read)
        self.post_message(OutboxLoaded(counts, page, append, hooks))

    def on_outbox_loaded(self, message: OutboxLoaded) -> None:
        self.counts = message.counts
        showing = "all" if self.state_filter is None else self.state_filter
        if self.where.order_number is not None or self.where.recipient:
            showing += " matching the search"
        summary = " ".join(f"{k} {message.counts.get(k, 0)}" for k in SHOWN_COUNTS
                           if message.counts.get(k, 0) or k in ("queued", "failed", "sent"))
        self.query_one("#outbox-counts", Static).update(
            Text(f"{summary} · showing: {showing} (f)"))
        hooks = self.query_one("#outbox-hooks", Static)
        hooks.update(Text(shown(message.webhooks)))
        hooks.display = bool(message.webhooks)
        hooks.set_class("disabled:" in message.webhooks, "-disabled")
        table: DataTable[Any] = self.query_one(DataTable)
        keep = self.selected()
        if not message.append:
            self.mails = {}
        with self.app.batch_update():
            if not message.append:
                table.clear()
            for row in message.page.rows:
                self.mails[row.id] = row
                table.add_row(*pick(self.columns, self._cells(row), COLUMNS), key=str(row.id))
        self.next_cursor = message.page.next_cursor
        if keep is not None and str(keep.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep.id)))
        self._show_error()

    @staticmethod
    def _cells(row: outbox_queries.OutboxRow) -> list[Text]:
        error = row.last_error.splitlines()[0] if row.last_error else ""
        return [Text(str(row.id), justify="right"),
                Text(row.state, style=STATE_STYLES.get(row.state, "")),
                cut(shown(row.recipient)), cut(shown(row.subject or row.kind)),
                Text(row.order_code),
                Text(str(row.attempts), justify="right"), cut(shown(error[:60]))]

    def selected(self) -> outbox_queries.OutboxRow | None:
        table: DataTable[Any] = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.mails.get(int(key.value)) if key.value is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_error()
        if event.cursor_row >= self.query_one(DataTable).row_count - 5:
            self.action_more()

    def _show_error(self) -> None:
        row = self.selected()
        text = ""
        if row is not None and row.last_error and row.state != "sent":
            text = f"#{row.id}: {row.last_error}"
        self.query_one("#outbox-error", Static).update(Text(shown(text)))

    # ----- actions ----------------------------------------------------------------------

    def action_cycle_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(FILTERS)
        self.next_cursor = None
        self.action_reload()

    def _act(self, fn: Callable[..., outbox_queries.OutboxRow], verb: str,
             ask: str = "") -> None:
        """Run an outbox action on the selected mail; with `ask`, after a y/n."""
        row = self.selected()
        if row is None:
            self.notify("No mail selected.", severity="warning")
            return

        def run() -> None:
            self.write(fn, row.id, done=lambda result: f"Mail #{row.id} {verb}: "
                       f"{result.recipient} ({result.state})")

        if not ask:
            run()
            return
        body = Text(f"#{row.id} {row.kind} ({row.state})"
                    + (f" of order {row.order_code}" if row.order_code else "") + " to ")
        body.append(shown(row.recipient))
        if row.subject:
            body.append(": ")
            body.append(shown(row.subject))

        def answered(yes: bool | None) -> None:
            if yes:
                run()

        self.app.push_screen(ConfirmDialog(ask, body, yes="Yes"), answered)

    def action_retry(self) -> None:
        self._act(outbox.retry_mail, "queued again")

    def action_cancel_mail(self) -> None:
        self._act(outbox.cancel_mail, "cancelled", ask="Cancel this mail? It will never be sent.")

    def action_resend(self) -> None:
        row = self.selected()
        actor = self.backroom.actor
        if row is not None:
            needed = outbox.resend_action(row.kind, row.batch)
            if not actor.can(needed):
                self.notify(refusal(actor, needed), title="Not allowed", severity="warning")
                return
        self._act(outbox.resend_mail, "copied for resending",
                  ask="Resend this mail? A new copy is queued; the original stays.")

    @work(group="outbox-text", exclusive=True, exit_on_error=False)
    async def action_show_text(self) -> None:
        """The selected mail's subject and text part, as the worker renders it now."""
        row = self.selected()
        if row is None:
            self.notify("No mail selected.", severity="warning")
            return
        try:
            with self.busy(f"rendering mail #{row.id}…"):
                rendered = await run_db(of_mail, self.backroom.config,
                                        self.backroom.shop.workflow, row.id)
        except (BackroomError, RenderError) as exc:
            self.notify(str(exc), title=f"Mail #{row.id}", severity="warning", markup=False)
            return
        body = Text(f"To: {shown(row.recipient)}\n\n")
        body.append(shown(rendered.text, multiline=True))
        self.app.push_screen(ConfirmDialog(shown(rendered.subject) or row.kind, body,
                                           ok_only=True))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes the key) opens the mail's order."""
        event.stop()
        self.action_open_order()

    def action_open_order(self) -> None:
        row = self.selected()
        if row is None or row.order_id is None:
            self.notify("This mail is not about an order.", severity="warning")
            return
        self.backroom.open_order(row.order_id)
