"""One order: customer, items, money, payment, shipping, notes, its mails and the history
timeline, with an action per key; next/previous walk the queue's filter without going back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from mailer.replies import order_values, saved_replies
from store import carriers as carriersmod
from store.contact import ADDRESS_FIELDS
from store.errors import Refused
from store.imports.common import SOURCE_LABELS
from store.labels import attach_label, read_label_file
from store.money import format_money, parse_amount
from store.operators import refusal
from store.order_rows import OrderResult
from store.orders import (
    add_note,
    delete_order,
    edit_address,
    edit_contact,
    set_archived,
    set_reference,
    set_tracking,
)
from store.outbox import resend_action, resend_mail
from store.outbox_queries import latest_status_mail
from store.payments import PaymentResult, RefundResult, record_payment, refund_order
from store.queries import MailRow, OrderDetail, QueueFilter, neighbour, order_detail
from store.replacements import Replacement, place_replacement
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.form import FormDialog
from tui.dialogs.note import NoteDialog
from tui.dialogs.prompt import TextPrompt
from tui.dialogs.refund import RefundDialog
from tui.dialogs.replacement import ReplacementDialog
from tui.format import money, shown, when
from tui.messages import DetailLoaded, OrdersChanged
from tui.screens.base import BackroomScreen
from tui.status_change import change_status_flow
from tui.widgets.country import CountrySuggester
from tui.workers import in_db, read_db, run_db

EVENT_LABELS = {
    "placed": "placed", "status": "status", "status_undone": "status undone",
    "payment": "payment", "refund": "refund", "tracking": "tracking",
    "reference": "reference", "address": "address", "contact": "contact",
    "archived": "archived", "unarchived": "unarchived", "label": "label", "imported": "imported",
    "mail_withdrawn": "mail withdrawn", "mail_resent": "mail resent",
    "replacement": "replacement sent", "test_flag": "test flag",
}
MAIL_STATE_STYLES = {"queued": "yellow", "held": "orange1", "sending": "cyan", "sent": "green",
                     "failed": "red", "dead": "bold red", "cancelled": "dim", "erased": "dim"}


class OrderDetailScreen(BackroomScreen):
    """The detail of one order; every action re-reads the order after it is written."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("s", "status", "Status", id="detail.status"),
        Binding("t", "tracking", "Tracking", id="detail.tracking"),
        Binding("f", "reference", "Reference", id="detail.reference", show=False),
        Binding("e", "address", "Address", id="detail.address", show=False),
        Binding("c", "contact", "Contact", id="detail.contact", show=False),
        Binding("n", "note", "Note", id="detail.note"),
        Binding("m", "refund", "Refund", id="detail.refund", show=False),
        Binding("dollar_sign", "pay", "Record payment", id="detail.pay", show=False),
        Binding("L", "replace", "Replacement (lost parcel)", id="detail.replace", show=False),
        Binding("r", "resend", "Resend mail", id="detail.resend", show=False),
        Binding("R", "resend_status", "Resend status mail", id="detail.resend_status",
                show=False),
        Binding("o", "linked", "Open linked order", id="detail.linked", show=False),
        Binding("a", "archive", "Archive", id="detail.archive", show=False),
        Binding("D", "delete", "Delete test order", id="detail.delete", show=False),
        Binding("P", "print_slip", "Print slip", id="detail.print_slip"),
        Binding("I", "print_invoice", "Print invoice", id="detail.print_invoice", show=False),
        Binding("l", "attach_label", "Attach label", id="detail.label", show=False),
        Binding("right_square_bracket,j", "step(1)", "Next", id="detail.next"),
        Binding("left_square_bracket,k", "step(-1)", "Prev", id="detail.previous"),
        Binding("w", "work_queue", "Work the queue on/off", id="detail.work", show=False),
        Binding("enter,p", "customer", "Customer", id="detail.customer", show=False),
        Binding("z", "app.undo", "Undo", id="detail.undo", show=False),
    ]
    ACTION_PERMISSIONS = {"status": "change_status", "tracking": "set_tracking",
                          "reference": "set_reference", "address": "edit_order",
                          "contact": "edit_order", "note": "add_note", "refund": "refund",
                          "pay": "record_payment", "replace": "replace_order",
                          "resend": "change_status", "resend_status": "change_status",
                          "archive": "archive", "delete": "delete_order",
                          "print_slip": "print", "print_invoice": "print",
                          "attach_label": "attach_label"}

    def __init__(self, order_id: int, filter: QueueFilter | None = None) -> None:
        super().__init__()
        self.order_id = order_id
        self.filter = filter
        self.detail: OrderDetail | None = None
        self._work = False  # work-the-queue turned on (or off, against the config) by `w`

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="detail-title", markup=False)
        with VerticalScroll(id="detail-body"):
            yield Static("", id="detail-summary", markup=False)
            yield Static("", id="detail-items", markup=False)
            yield Static("", id="detail-mails-title", markup=False)
            table: DataTable[Any] = DataTable(id="detail-mails", cursor_type="row",
                                              zebra_stripes=True)
            yield table
            yield Static("", id="detail-mail-error", markup=False)
            yield Static("", id="detail-history", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one("#detail-mails", DataTable)
        widths = (("id", "#", 5), ("kind", "Mail", 16), ("state", "State", 9),
                  ("when", "When", 11))
        for key, label, width in widths:
            table.add_column(label, key=key, width=width)
        used = sum(w + 2 for _k, _l, w in widths) + 8  # cell padding, the body's, a scrollbar
        table.add_column("To", key="to", width=max(16, self.app.size.width - used))
        self.query_one("#detail-body").focus()
        self.reload()

    def reload(self) -> None:
        self._load(self.order_id)

    def action_reload(self) -> None:
        self.reload()

    def on_orders_changed(self, message: OrdersChanged) -> None:
        self.reload()

    @work(exclusive=True, group="detail-load", exit_on_error=False)
    async def _load(self, order_id: int) -> None:
        self.post_message(DetailLoaded(await read_db(order_detail, order_id)))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        d = message.detail
        if d.id != self.order_id:
            return  # a read overtaken by a move to another order
        self.detail = d
        wf = self.backroom.shop.workflow
        status = wf[d.status] if d.status in wf else None
        title = Text()
        title.append(f" {d.code} ", style="bold reverse")
        title.append(" ")
        title.append(wf.label(d.status), style=f"bold {status.colour if status else ''}")
        if d.archived:
            title.append("  archived", style="dim")
        if d.is_test:
            title.append("  TEST", style="bold magenta")
        title.append(f"  placed {when(d.placed_at)}  v{d.version}", style="dim")
        if self._work_the_queue():
            title.append("  work-the-queue", style="italic cyan")
        self.query_one("#detail-title", Static).update(title)
        self.query_one("#detail-summary", Static).update(self._summary(d))
        self.query_one("#detail-items", Static).update(self._items(d))
        self._mails(d)
        self.query_one("#detail-history", Static).update(self._history(d))

    # ----- rendering (all untrusted text as Text, never markup) ---------------------------

    def _summary(self, d: OrderDetail) -> Group:
        cur = d.currency
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(style="bold", no_wrap=True, width=11)
        grid.add_column(ratio=1)
        contact = Text(shown(d.customer_name or ""))
        contact.append(f"  <{shown(d.customer_email)}>" if d.customer_email else "")
        if d.customer_phone:
            contact.append(f"  {shown(d.customer_phone)}")
        if d.customer_id:
            contact.append("  (Enter: profile)", style="dim")
        grid.add_row("Customer", contact)
        remaining = d.refundable
        grid.add_row("Payment", Text(
            f"{d.payment_method or '-'}  ref {d.payment_reference or '-'}  "
            f"paid {money(d.amount_paid, cur)}  refunded {money(d.amount_refunded, cur)}  "
            f"refundable {money(remaining, cur)}"))
        for payment in d.payments:
            line = Text(f"{when(payment.created_at)}  {payment.kind} "
                        f"{money(payment.amount, cur)}  {payment.method or ''} ", style="dim")
            line.append(shown(payment.reference or payment.reason or ""))
            line.append(f"  by {payment.operator_login}" if payment.operator_login else "")
            grid.add_row("", line)
        carriers = self.backroom.config.carriers
        ship = Text(f"{d.shipping_method or '-'}  {money(d.shipping_cost, cur)}  tracking ")
        ship.append(shown(d.tracking_number or "-"))
        if d.carrier:
            ship.append(f" ({shown(carriersmod.label(carriers, d.carrier))})")
        link = carriersmod.tracking_url(carriers, d.carrier, d.tracking_number)
        if link:
            ship.append(f"  {link}", style="dim")
        grid.add_row("Shipping", ship)
        if d.label:
            grid.add_row("Label", Text(d.label + "  (P prints it after the slip)"))
        if d.documents:
            grid.add_row("Invoices", Text(", ".join(d.documents) + "  (I prints the invoice)"))
        for kind in ("shipping", "billing"):
            address = d.addresses.get(kind) if d.addresses else None
            if address is not None:
                grid.add_row(kind.capitalize()[:4] + ". addr", Text(shown(_address_text(address))))
        if d.replaces or d.replaced_by:
            linked = Text()
            if d.replaces:
                linked.append(f"replaces {d.replaces} (at no charge)")
            if d.replaced_by:
                linked.append("; " if d.replaces else "")
                linked.append(f"replaced by {', '.join(d.replaced_by)}")
            linked.append("  (o opens it)", style="dim")
            grid.add_row("Linked", linked)
        grid.add_row("Reference", Text(shown(d.internal_reference or "-")))
        if d.external_reference:
            source = SOURCE_LABELS.get(d.external_source, d.external_source)
            grid.add_row("Imported", Text(shown(f"{d.external_reference} from {source}")))
        if d.customer_note:
            grid.add_row("Cust. note", Text(shown(d.customer_note, multiline=True)))
        if d.gift_message:
            grid.add_row("Gift msg", Text(shown(d.gift_message, multiline=True)))
        grid.add_row("Language", Text(d.language or "-"))
        return Group(grid)

    def _items(self, d: OrderDetail) -> Table:
        cur = d.currency
        table = Table(box=None, expand=True, show_edge=False, header_style="bold",
                      title_justify="left")
        table.add_column("SKU", no_wrap=True)
        table.add_column("Item", ratio=1)
        table.add_column("Qty", justify="right")
        table.add_column("Price", justify="right", no_wrap=True)
        table.add_column("Total", justify="right", no_wrap=True)
        for item in d.items:
            table.add_row(Text(shown(item.sku)), Text(shown(item.name)), Text(str(item.quantity)),
                          Text(money(item.unit_price, cur)), Text(money(item.line_total, cur)))
        for label, value in (("Subtotal", d.subtotal), ("Tax", d.tax),
                             ("Shipping", d.shipping_cost), ("Discount", -d.discount),
                             ("Total", d.total)):
            style = "bold" if label == "Total" else "dim"
            table.add_row("", Text(label, style=style), "", "", Text(money(value, cur),
                                                                        style=style))
        return table

    def _history(self, d: OrderDetail) -> Group:
        wf = self.backroom.shop.workflow
        lines: list[tuple[Any, Text]] = []
        for e in d.events:
            line = Text(f"{when(e.created_at)} ", style="dim")
            line.append(f"{e.operator_login or '-'} ", style="bold")
            if e.kind == "note":
                line.append("note to customer: " if e.visible else "internal note: ",
                            style="yellow" if e.visible else "cyan")
                line.append(shown(e.message, multiline=True))
            elif e.kind in ("status", "status_undone"):
                line.append(EVENT_LABELS[e.kind] + " ", style="green")
                line.append(f"{wf.label(e.from_status)} → {wf.label(e.to_status)}")
                if e.message:
                    line.append(f"  {shown(e.message, multiline=True)}")
            else:
                line.append(EVENT_LABELS.get(e.kind, e.kind) + " ", style="green")
                line.append(shown(e.message, multiline=True))
            lines.append((e.created_at, line))
        lines.sort(key=lambda pair: pair[0])
        title = Text("History", style="bold underline")
        return Group(title, *(line for _at, line in lines))

    def _mails(self, d: OrderDetail) -> None:
        """The order's mails, newest first: the row under the cursor is the one `r` resends."""
        table: DataTable[Any] = self.query_one("#detail-mails", DataTable)
        keep = self.chosen_mail()
        kinds = {s.mail for s in self.backroom.shop.workflow.statuses.values() if s.mail}
        status_mail = next((m for m in reversed(d.mails) if (m.status_mail or m.kind in kinds)
                            and m.state not in ("cancelled", "erased")), None)
        title = Text("Mails", style="bold underline")
        title.append(f"  {len(d.mails)}", style="dim")
        if d.mails:
            title.append("  r resends the chosen one (Tab, ↑↓ choose), R the latest status mail"
                         if status_mail else "  r resends the chosen one (Tab, ↑↓ choose)",
                         style="dim")
        self.query_one("#detail-mails-title", Static).update(title)
        with self.app.batch_update():
            table.clear()
            for mail in reversed(d.mails):
                state = Text(mail.state, style=MAIL_STATE_STYLES.get(mail.state, ""))
                table.add_row(Text(str(mail.id)), Text(mail.kind), state,
                              Text(when(mail.sent_at or mail.created_at, short=True)),
                              Text(shown(mail.recipient)), key=str(mail.id))
        table.display = bool(d.mails)
        if keep is not None and str(keep.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep.id)))
        self._show_mail_error()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_mail_error()

    def _show_mail_error(self) -> None:
        """Why the chosen mail failed (or was withdrawn), under the table."""
        mail = self.chosen_mail()
        text = Text()
        if mail is not None and mail.last_error and mail.state not in ("sent", "erased"):
            text.append(f"#{mail.id}: ", style="dim")
            text.append(shown(mail.last_error.splitlines()[0]), style="red")
        error = self.query_one("#detail-mail-error", Static)
        error.update(text)
        error.display = bool(text)

    def chosen_mail(self) -> MailRow | None:
        """The mail under the mails table's cursor."""
        table: DataTable[Any] = self.query_one("#detail-mails", DataTable)
        if self.detail is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((m for m in self.detail.mails if str(m.id) == key), None)

    # ----- actions ------------------------------------------------------------------------

    def _after(self, done: str, next_after: bool = True) -> Callable[[Any], None]:
        """What follows a write: say `done`, then the next order (work-the-queue) or reload."""
        def then(_result: Any) -> None:
            if done:
                self.notify(done)
            self._next_or_reload(next_after)
        return then

    def _next_or_reload(self, next_after: bool = True) -> None:
        if next_after and self._work_the_queue() and self.filter is not None:
            self._step(1, reload_if_none=True)
        else:
            self.reload()

    def _work_the_queue(self) -> bool:
        return bool(self.backroom.config.get("ui", "next_after_action")) ^ self._work

    def action_work_queue(self) -> None:
        self._work = not self._work
        self.notify("Work-the-queue " + ("on" if self._work_the_queue() else "off")
                    + ": after an action, the next order opens")
        self.reload()

    def action_status(self) -> None:
        if self.detail is not None:
            self._change_status(self.detail)

    @work(group="status-change", exit_on_error=False)
    async def _change_status(self, d: OrderDetail) -> None:
        result = await change_status_flow(self, [d.id], [d.status], {d.id: d.version},
                                          preview=False, shipping_method=d.shipping_method,
                                          tracking=d.tracking_number)
        if result is not None and result.changed:
            self._next_or_reload()

    def _prompt(self, title: str, value: str, then: Callable[[str], None]) -> None:
        def answered(text: str | None) -> None:
            if text is not None:
                then(text)

        self.app.push_screen(TextPrompt(title, value), answered)

    def action_tracking(self) -> None:
        d = self.detail
        if d is not None:
            self._prompt(f"Tracking number of {d.code}", d.tracking_number or "",
                         lambda text: self.write(set_tracking, d.id, text,
                                                 expected_version=d.version,
                                                 then=self._after("tracking number saved")))

    def action_reference(self) -> None:
        d = self.detail
        if d is not None:
            self._prompt(f"Internal reference of {d.code}", d.internal_reference or "",
                         lambda text: self.write(set_reference, d.id, text,
                                                 expected_version=d.version,
                                                 then=self._after("reference saved")))

    def _form(self, title: str, fields: list[tuple[str, str, str]],
              save: Callable[[dict[str, str]], Any], done: str) -> None:
        """A form whose values the store checks as they are saved: a refusal keeps it open."""
        app = self.backroom

        async def submit(changes: dict[str, str]) -> Any:
            return await run_db(save, changes) if changes else None

        def closed(result: Any) -> None:
            if result is not None:
                self._after(done, next_after=False)(result)

        app.push_screen(FormDialog(title, fields, submit=submit,
                                     suggesters={"country": CountrySuggester()}), closed)

    def action_address(self) -> None:
        d = self.detail
        if d is None:
            return
        app = self.backroom
        address = d.addresses.get("shipping") if d.addresses else None
        fields = [(f, f.replace("_", " "), str(getattr(address, f, "") or ""))
                  for f in ADDRESS_FIELDS]
        self._form(f"Shipping address of {d.code}", fields,
                   lambda changes: edit_address(app.shop, app.actor, d.id, "shipping", changes,
                                                expected_version=d.version),
                   "shipping address saved")

    def action_contact(self) -> None:
        d = self.detail
        if d is None:
            return
        app = self.backroom
        fields = [("name", "name", d.customer_name or ""),
                  ("email", "email", d.customer_email or ""),
                  ("phone", "phone", d.customer_phone or "")]
        self._form(f"Contact details of {d.code}", fields,
                   lambda changes: edit_contact(app.shop, app.actor, d.id,
                                                expected_version=d.version, **changes),
                   "contact details saved")

    def action_note(self) -> None:
        if self.detail is not None:
            self._note(self.detail)

    @work(group="note", exit_on_error=False)
    async def _note(self, d: OrderDetail) -> None:
        """A note, which may start from a saved reply (read off the event loop; its fields:
        this order's)."""
        app = self.backroom
        replies = await asyncio.to_thread(saved_replies,
                                          str(app.config.get("mail", "templates_dir")))
        values = order_values(d, str(app.config.get("shop", "name")))

        def added(note: tuple[str, bool] | None) -> None:
            if note is not None:
                text, visible = note
                done = "note sent to the customer" if visible else "note added"
                self.write(add_note, d.id, text, visible=visible,
                           then=self._after(done, next_after=False))

        app.push_screen(NoteDialog(replies, values), added)

    def action_refund(self) -> None:
        d = self.detail
        if d is None:
            return
        app = self.backroom

        async def submit(amount: int, reason: str) -> RefundResult:
            return await run_db(refund_order, app.shop, app.actor, d.id, amount, reason,
                                expected_version=d.version)

        def closed(result: RefundResult | None) -> None:
            if result is not None:
                label = app.shop.workflow.label(result.moved_to) if result.moved_to else ""
                self._after(result.summary(label))(result)

        app.push_screen(RefundDialog(d.code, d.amount_paid, d.amount_refunded, d.refundable,
                                     d.currency, submit), closed)

    def action_pay(self) -> None:
        """Record money received (any amount: manual, partial), pre-filled with what is owed."""
        d = self.detail
        if d is None:
            return
        app = self.backroom
        owed = format_money(d.payable, d.currency).removesuffix(f" {d.currency}")
        fields = [("amount", f"Amount ({d.currency})", owed),
                  ("method", "Method", d.payment_method or ""), ("reference", "Reference", "")]

        def save(changes: dict[str, str]) -> PaymentResult:
            values = {key: value for key, _label, value in fields} | changes
            amount = parse_amount(values["amount"], d.currency)
            return record_payment(app.shop, app.actor, d.id, amount, values["method"],
                                  values["reference"], expected_version=d.version)

        async def submit(changes: dict[str, str]) -> PaymentResult:
            return await run_db(save, changes)

        def closed(result: PaymentResult | None) -> None:
            if isinstance(result, PaymentResult):
                self._after(result.summary(), next_after=False)(result)

        app.push_screen(FormDialog(f"Record a payment on {d.code} (paid "
                                   f"{money(d.amount_paid, d.currency)} of "
                                   f"{money(d.total, d.currency)})", fields, submit=submit),
                        closed)

    def action_replace(self) -> None:
        """A replacement order for a lost or damaged parcel: the items chosen, at no charge."""
        d = self.detail
        if d is None:
            return
        app = self.backroom

        async def submit(wanted: dict[str, int], reason: str) -> Replacement:
            return await run_db(place_replacement, app.shop, app.actor, d.id, wanted, reason)

        def closed(result: Replacement | None) -> None:
            if result is not None:
                self.notify(result.summary() + "; o opens it")
                self.backroom.broadcast_change()

        app.push_screen(ReplacementDialog(d.code, d.items, submit), closed)

    def action_linked(self) -> None:
        """Open the order this one replaces, else its (first) replacement."""
        d = self.detail
        if d is None:
            return
        code = d.replaces or (d.replaced_by[-1] if d.replaced_by else "")
        if not code:
            self.notify(f"{d.code} replaces no order and has no replacement")
            return
        self.backroom.scan_open(code)

    def action_resend(self) -> None:
        """Resend the mail under the cursor of the mails table (the first `r` goes there)."""
        d = self.detail
        if d is None:
            return
        if not d.mails:
            self.notify(f"{d.code} has no mail to resend", severity="warning")
            return
        table = self.query_one("#detail-mails", DataTable)
        if not table.has_focus:
            table.focus()
            self.notify("Choose the mail with ↑↓, then r resends it")
            return
        mail = self.chosen_mail()
        if mail is not None:
            self._confirm_resend(mail.id, mail.kind, mail.recipient, mail.state, mail.batch)

    def action_resend_status(self) -> None:
        d = self.detail
        if d is not None:
            self._resend_status(d.id, d.code)

    @work(group="resend", exit_on_error=False)
    async def _resend_status(self, order_id: int, code: str) -> None:
        kinds = [s.mail for s in self.backroom.shop.workflow.statuses.values() if s.mail]
        mail = await run_db(latest_status_mail, order_id, kinds)
        if mail is None:
            self.notify(f"{code} has no status mail to resend (no status change has sent one)",
                        severity="warning")
            return
        self._confirm_resend(mail.id, mail.kind, mail.recipient, mail.state, mail.batch,
                             status_mail=True)

    def _confirm_resend(self, mail_id: int, kind: str, recipient: str, state: str,
                        batch: str | None, status_mail: bool = False) -> None:
        """Ask y/n, then queue a copy (store.outbox.resend_mail, which checks again)."""
        actor = self.backroom.actor
        needed = resend_action(kind, batch)
        if not actor.can(needed):
            self.notify(refusal(actor, needed), title="Not allowed", severity="warning")
            return
        body = Text(f"A new copy of mail #{mail_id} ({kind}, {state}) goes to ")
        body.append(shown(recipient))
        body.append("; the original stays as it is.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(resend_mail, mail_id,
                           done=lambda row: f"{kind} mail queued again to {row.recipient} "
                                            f"(#{row.id}, {row.state})",
                           then=lambda _row: self.reload())

        title = "Resend the latest status mail?" if status_mail else f"Resend mail #{mail_id}?"
        self.app.push_screen(ConfirmDialog(title, body, yes="Resend"), answered)

    def action_archive(self) -> None:
        d = self.detail
        if d is None:
            return

        def told(results: list[OrderResult]) -> None:
            result = results[0] if results else None
            if result is not None and not result.changed:
                self.notify(f"{result.code}: {result.reason}", title="Refused",
                            severity="error")
            else:
                self.notify("unarchived" if d.archived else "archived")
            self.reload()

        self.write(set_archived, [d.id], not d.archived, then=told)

    def action_delete(self) -> None:
        d = self.detail
        if d is None:
            return
        if d.delete_refusal:
            self.notify(d.delete_refusal, severity="warning")
            return

        def gone(code: str) -> None:
            self.notify(f"test order {code} deleted")
            self.backroom.broadcast_change()
            self.dismiss_or_pop()

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(delete_order, d.id, then=gone)

        self.app.push_screen(ConfirmDialog(f"Delete test order {d.code}?",
                                           "This removes the order and its history.",
                                           yes="Delete"), answered)

    # ----- paper --------------------------------------------------------------------------

    def action_print_slip(self) -> None:
        """This order's packing slip, its carrier label after it when one is attached."""
        if self.detail is not None:
            self._print(self.detail.id, self.detail.code, "slip")

    def action_print_invoice(self) -> None:
        """The invoice as it was issued (it is rebuilt from the stored invoice)."""
        if self.detail is not None:
            self._print(self.detail.id, self.detail.code, "invoice")

    @work(thread=True, group="print", exit_on_error=False)
    def _print(self, order_id: int, code: str, what: str) -> None:
        """Render and deliver off the event loop; the path (and CUPS job) in a notice."""
        from documents import invoice, output, slips
        from store import document_reads

        app = self.backroom
        if what == "slip":
            labels = in_db(document_reads.labels, [order_id])
            done = in_db(slips.slips_pdf, app.config, [order_id], labels=labels)
            data, name, kind = done.data, f"slip-{output.safe_part(code)}.pdf", "slips"
            warning = done.warning
        else:
            issued = in_db(document_reads.order_invoice, order_id)
            if issued is None:
                raise Refused(f"{code} has no invoice: an order gets one when it first "
                              "enters a paid status")
            data = invoice.render_invoice(app.config, issued.doc)  # refused if not whole
            name, kind, warning = output.invoice_name(issued.code), "invoices", ""
        sent = output.deliver(app.config, app.actor, data, name, kind)
        text = f"wrote {sent.path}" + (f" · sent to {sent.printer}: job {sent.job}"
                                       if sent.job else "")
        if warning:
            self.app.call_from_thread(self.notify, f"{text}\n{warning}", title="Print",
                                      severity="warning", timeout=30)
        else:
            self.app.call_from_thread(self.notify, text, title="Print", timeout=15)

    def action_attach_label(self) -> None:
        d = self.detail
        if d is None:
            return

        def attach(path: str) -> None:
            if path.strip():
                self._attach_label(d.id, d.version, path.strip())

        self._prompt(f"Carrier label PDF for {d.code} (a file path)", "", attach)

    @work(group="write", exit_on_error=False)
    async def _attach_label(self, order_id: int, version: int, path: str) -> None:
        app = self.backroom
        data, name = await run_db(read_label_file, path)
        pages = await run_db(attach_label, app.shop, app.actor, order_id, data, name,
                             expected_version=version)
        self.notify(f"label {name} attached ({pages} page(s))")
        self.reload()

    def dismiss_or_pop(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_back(self) -> None:
        self.dismiss_or_pop()

    def action_customer(self) -> None:
        d = self.detail
        if d is None:
            return
        if not d.customer_id:
            self.notify(f"{d.code} was placed as a guest: there is no customer profile")
            return
        self.backroom.open_customer(d.customer_id)

    def action_step(self, step: int) -> None:
        self._step(step)

    def _step(self, step: int, reload_if_none: bool = False) -> None:
        if self.filter is None:
            self.notify("Open orders from the queue to walk through them.")
            return
        self._neighbour(step, reload_if_none)

    @work(exclusive=True, group="detail-step", exit_on_error=False)
    async def _neighbour(self, step: int, reload_if_none: bool) -> None:
        other = await run_db(neighbour, self.filter, self.order_id, step)
        if other is None:
            self.notify("No next order in this filter." if step > 0
                        else "No previous order in this filter.")
            if reload_if_none:
                self.reload()
            return
        self.order_id = other
        self.reload()


def _address_text(address: Any) -> str:
    name = " ".join(p for p in (getattr(address, "first_name", ""),
                                getattr(address, "last_name", "")) if p)
    parts = [name, getattr(address, "company", ""), getattr(address, "line1", ""),
             getattr(address, "line2", ""),
             " ".join(p for p in (getattr(address, "postcode", ""),
                                  getattr(address, "city", "")) if p),
             getattr(address, "region", ""), getattr(address, "country", "")]
    return ", ".join(p for p in parts if p)
