"""One customer: contact, addresses, status, figures, orders (Enter opens one), notes and the
account's history, with a key for every action."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from mailer.replies import customer_values, saved_replies
from store import customer_queries as cq
from store import customers
from store.contact import ADDRESS_FIELDS
from tui.dialogs.compose import ComposeDialog
from tui.dialogs.customer_delete import CustomerDeleteDialog
from tui.dialogs.form import FormDialog
from tui.dialogs.prompt import TextPrompt
from tui.format import money, shown
from tui.messages import ProfileLoaded
from tui.screens.base import BackroomScreen
from tui.widgets.country import CountrySuggester
from tui.widgets.table import Column, fit_data_table
from tui.workers import read_db, run_db

EDIT_FIELDS = (("first_name", "First name"), ("last_name", "Last name"), ("email", "Email"),
               ("phone", "Phone"), ("language", "Language (en, fr)"),
               ("marketing_consent", "Marketing consent (yes/no)"))


def _yes(value: str) -> bool:
    return value.strip().lower() in ("y", "yes", "true", "1")


class ProfileScreen(BackroomScreen):
    """The profile of one customer; Esc goes back."""

    NAME = "Customer profile"

    CSS = """
    ProfileScreen #profile-head { height: auto; padding: 0 1; }
    ProfileScreen #profile-orders { height: 8; }
    ProfileScreen #profile-history-scroll { height: 1fr; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="profile.back"),
        Binding("e", "edit", "Edit", id="profile.edit"),
        Binding("a", "address", "Address", id="profile.address"),
        Binding("g", "group", "Group", id="profile.group"),
        Binding("n", "note", "Note", id="profile.note"),
        Binding("s", "status('suspended')", "Suspend", id="profile.suspend", show=False),
        Binding("d", "status('denied')", "Deny", id="profile.deny", show=False),
        Binding("r", "reactivate", "Reactivate", id="profile.reactivate", show=False),
        Binding("v", "validate", "Validate", id="profile.validate", show=False,
                tooltip="Validate an account waiting for validation"),
        Binding("m", "mail", "Email", id="profile.mail", tooltip="Send a one-off email"),
        Binding("x", "export", "Export", id="profile.export",
                tooltip="GDPR export: everything held about the customer"),
        Binding("D", "delete", "Delete", id="profile.delete",
                tooltip="Delete (erase) the customer; their orders are kept"),
    ]
    ACTION_PERMISSIONS = {"edit": "customers", "address": "customers", "group": "customers",
                          "note": "add_note", "status": "deny_customer",
                          "reactivate": "deny_customer", "validate": "validate_customer",
                          "mail": "send_mail",
                          "export": "export", "delete": "erase_customer"}

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.profile: cq.CustomerProfile | None = None
        self.group_names: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="profile-head", markup=False)
        table: DataTable[Any] = DataTable(id="profile-orders", cursor_type="row")
        yield table
        with VerticalScroll(id="profile-history-scroll"):
            yield Static("", id="profile-history", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        wf = self.backroom.shop.workflow
        status = max(len(wf.short(k)) for k in wf.keys()) + len(" (test)")
        fit_data_table(table, (Column("code", "Order", 10), Column("placed", "Placed", 10),
                               Column("status", "Status", status), Column("items", "Items", 5),
                               Column("total", "Total", 14)), self.app.size.width)
        table.focus()
        self.action_reload()

    # ----- loading ----------------------------------------------------------------------

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="profile-load", exit_on_error=False)
    async def _load(self) -> None:
        shop, customer_id = self.backroom.shop, self.customer_id

        def read() -> tuple[cq.CustomerProfile, tuple[str, ...]]:
            return (cq.customer_profile(shop, customer_id),
                    tuple(g.name for g in cq.group_rows()))

        self.post_message(ProfileLoaded(*await read_db(read)))

    def on_profile_loaded(self, message: ProfileLoaded) -> None:
        self.profile = p = message.profile
        self.group_names = message.group_names
        self._offer_validation(p.status == "pending")
        self.query_one("#profile-head", Static).update(self._head(p))
        table = self.query_one(DataTable)
        wf = self.backroom.shop.workflow
        with self.app.batch_update():
            table.clear()
            for o in p.orders:
                table.add_row(Text(o.code), Text(f"{o.placed_at:%Y-%m-%d}"),
                              Text(wf.short(o.status) + (" (test)" if o.is_test else "")),
                              Text(str(o.item_count), justify="right"),
                              Text(money(o.total, o.currency), justify="right"), key=str(o.id))
        self.query_one("#profile-history", Static).update(self._history(p))

    def _offer_validation(self, pending: bool) -> None:
        """An account waiting for validation: the footer offers v Validate, in the place of
        g Group (80 columns hold one of them; `?` lists both)."""
        shown = {"profile.validate": pending, "profile.group": not pending}
        changed = False
        keys = self._bindings.key_to_bindings
        for key, bindings in list(keys.items()):
            if any(b.id in shown and b.show != shown[b.id] for b in bindings):
                keys[key] = [dataclasses.replace(b, show=shown[b.id]) if b.id in shown else b
                             for b in bindings]
                changed = True
        if changed:
            self.refresh_bindings()

    @staticmethod
    def _head(p: cq.CustomerProfile) -> Text:
        t = Text()
        t.append(shown(p.name) or "(no name)", style="bold")
        t.append(f"  #{p.id}\n")
        t.append(f"{shown(p.email) or '-'}   phone {shown(p.phone) or '-'}   "
                 f"language {p.language}\n")
        style = {"active": "green", "suspended": "yellow", "pending": "yellow"}.get(p.status,
                                                                                   "red")
        t.append("status ")
        t.append(cq.STATUS_LABELS.get(p.status, p.status), style=style)
        if p.status == "pending":
            t.append(" (v validates it)")
        if p.status_reason:
            t.append(" — ")
            t.append(shown(p.status_reason))
        t.append(f"   registered {p.registered_at:%Y-%m-%d}   group ")
        t.append(shown(p.group_name) or "-")
        t.append(f"   marketing consent {'yes' if p.marketing_consent else 'no'}\n")
        last = f"{p.last_order_at:%Y-%m-%d}" if p.last_order_at else "-"
        t.append(f"lifetime value {money(p.lifetime_value, p.currency)}   orders "
                 f"{p.order_count}   average {money(p.average_order, p.currency)}   "
                 f"last order {last}")
        for a in p.addresses:
            t.append(f"\n{a.kind}: ")
            parts = [f"{a.first_name} {a.last_name}".strip(), a.company, a.line1, a.line2,
                     f"{a.postcode} {a.city}".strip(), a.region, a.country]
            t.append(shown(", ".join(x for x in parts if x)))
        return t

    @staticmethod
    def _history(p: cq.CustomerProfile) -> Text:
        t = Text()
        t.append(f"Notes ({len(p.notes)})\n", style="bold")
        for note in p.notes:
            t.append(f"{note.created_at:%Y-%m-%d %H:%M} {note.operator_login}: ", style="dim")
            t.append(shown(note.message, multiline=True) or "(erased)")
            t.append("\n")
        t.append("History\n", style="bold")
        for h in reversed(p.history):
            t.append(f"{h.created_at:%Y-%m-%d %H:%M} {h.operator_login:<10} {h.kind:<11} ",
                     style="dim")
            t.append(shown(h.message, multiline=True))
            t.append("\n")
        return t

    # ----- navigation -------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(DataTable.RowSelected, "#profile-orders")
    def _open_order(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.backroom.open_order(int(event.row_key.value))

    def on_screen_resume(self) -> None:
        if self.profile is not None:
            self.action_reload()

    # ----- writes -----------------------------------------------------------------------

    def _form(self, title: str, fields: list[tuple[str, str, str]],
              save: Callable[[dict[str, str]], Any], done: str) -> None:
        """A form the store checks as it is saved: a refusal keeps it open, nothing is lost."""
        async def submit(changes: dict[str, str]) -> Any:
            return await run_db(save, changes)

        def closed(result: Any) -> None:
            if result is not None:
                self.notify(done)
                self.action_reload()

        self.app.push_screen(FormDialog(title, fields, submit=submit,
                                     suggesters={"country": CountrySuggester()}), closed)

    def action_edit(self) -> None:
        p = self.profile
        if p is None:
            return
        app = self.backroom
        current = {"first_name": p.first_name, "last_name": p.last_name, "email": p.email,
                   "phone": p.phone, "language": p.language,
                   "marketing_consent": "yes" if p.marketing_consent else "no"}
        fields = [(k, label, current[k]) for k, label in EDIT_FIELDS]

        def save(changes: dict[str, str]) -> None:
            values: dict[str, Any] = dict(changes)
            if "marketing_consent" in values:
                values["marketing_consent"] = _yes(values["marketing_consent"])
            if values:
                customers.edit_customer(app.shop, app.actor, p.id, values, p.version)

        self._form("Edit customer", fields, save, "Customer saved")

    def action_address(self) -> None:
        p = self.profile
        if p is None:
            return
        app = self.backroom
        existing = {a.kind: a for a in p.addresses}
        base = existing.get("shipping") or existing.get("billing")
        fields = [("kind", "Kind (shipping/billing)", "shipping")]
        for key in ADDRESS_FIELDS:
            value = getattr(base, key, "") if base else ""
            fields.append((key, key.replace("_", " ").capitalize(), str(value)))

        def save(changes: dict[str, str]) -> None:
            values = {k: v for k, _label, v in fields} | changes
            kind = values.pop("kind").strip().lower()
            customers.set_address(app.shop, app.actor, p.id, kind, values)

        self._form("Address", fields, save, "address saved")

    def action_group(self) -> None:
        p = self.profile
        if p is None:
            return

        def done(name: str | None) -> None:
            if name:
                self.write(customers.assign_group_named, p.id, name,
                           done=f"Moved to group {name.strip()}")

        names = ", ".join(self.group_names)
        self.app.push_screen(TextPrompt(f"Group ({names})", p.group_name), done)

    def action_note(self) -> None:
        def done(text: str | None) -> None:
            if text:
                self.write(customers.add_note, self.customer_id, text, done="Note added")

        self.app.push_screen(TextPrompt("Add a note about this customer"), done)

    def action_status(self, status: str) -> None:
        verb = {"suspended": "Suspend", "denied": "Deny"}[status]

        def done(reason: str | None) -> None:
            if reason is not None:
                self.write(customers.set_status, self.customer_id, status, reason,
                           done=f"Customer {status}")

        self.app.push_screen(TextPrompt(f"{verb} this customer: why?"), done)

    def action_reactivate(self) -> None:
        self.write(customers.reactivate, self.customer_id, done="Customer reactivated")

    def action_validate(self) -> None:
        """Validate an account waiting for it (customers.auto_validate = false)."""
        self.write(customers.validate, self.customer_id, done="Account validated")

    def action_mail(self) -> None:
        if self.profile is not None:
            self._mail(self.profile)

    @work(group="compose", exit_on_error=False)
    async def _mail(self, p: cq.CustomerProfile) -> None:
        """A one-off email, which may start from a saved reply (its fields: this customer's;
        the files are read off the event loop)."""
        app = self.backroom
        replies = await asyncio.to_thread(saved_replies,
                                          str(app.config.get("mail", "templates_dir")))

        async def submit(subject: str, body: str) -> None:
            await run_db(customers.send_one_off, app.shop, app.actor, p.id, subject, body)

        def sent(result: bool | None) -> None:
            if result:
                self.notify("Email queued in the outbox")
                self.action_reload()

        values = customer_values(p, str(app.config.get("shop", "name")))
        app.push_screen(ComposeDialog(f"Email {p.name or p.email}", submit,
                                      replies, values), sent)

    def action_export(self) -> None:
        def done(directory: str | None) -> None:
            if directory:
                self.write(cq.export_customer, self.customer_id, directory.strip(),
                           done=lambda result: f"GDPR export written: {result.path}")

        self.app.push_screen(TextPrompt("Export everything held about this customer to "
                                        "the directory", str(Path.cwd())), done)

    def action_delete(self) -> None:
        p = self.profile
        if p is None:
            return

        def done(typed: str | None) -> None:
            if typed is not None:
                self.write(customers.delete_customer, p.id, typed,
                           done="Customer deleted; their orders are kept")

        self.app.push_screen(CustomerDeleteDialog(p.name, p.email, p.order_count), done)
