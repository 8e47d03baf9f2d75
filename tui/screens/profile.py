"""One customer: contact, addresses, status, figures, orders (Enter opens one), notes and the
account's history, with a key for every action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from store import customer_queries as cq
from store.contact import ADDRESS_FIELDS
from tui.screens import ReportsWorkerErrors, in_db
from tui.widgets.format import money

EDIT_FIELDS = (("first_name", "First name"), ("last_name", "Last name"), ("email", "Email"),
               ("phone", "Phone"), ("language", "Language (en, fr)"),
               ("marketing_consent", "Marketing consent (yes/no)"))


@dataclass
class ProfileLoaded(Message):
    """A customer's profile arrived."""

    profile: cq.CustomerProfile
    group_names: tuple[str, ...] = ()


@dataclass
class CustomerChanged(Message):
    """A write on this customer finished; `summary` tells the operator what happened."""

    summary: str


def _yes(value: str) -> bool:
    return value.strip().lower() in ("y", "yes", "true", "1")


class ProfileScreen(ReportsWorkerErrors, Screen[None]):
    """The profile of one customer; Esc goes back."""

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
        Binding("s", "status('suspended')", "Suspend", id="profile.suspend"),
        Binding("d", "status('denied')", "Deny", id="profile.deny"),
        Binding("r", "reactivate", "Reactivate", id="profile.reactivate"),
        Binding("m", "mail", "Email", id="profile.mail"),
        Binding("x", "export", "Export", id="profile.export"),
        Binding("D", "delete", "Delete", id="profile.delete"),
        Binding("ctrl+r", "reload", "Reload", id="profile.reload", show=False),
    ]

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
        for key, label in (("code", "Order"), ("placed", "Placed"), ("status", "Status"),
                           ("items", "Items"), ("total", "Total")):
            table.add_column(label, key=key)
        table.focus()
        self.action_reload()

    # ----- loading ----------------------------------------------------------------------

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="profile-load", exit_on_error=False)
    def _load(self) -> None:
        app: Any = self.app
        profile = in_db(cq.customer_profile, app.shop, self.customer_id)
        groups = tuple(g.name for g in in_db(cq.group_rows))
        if not get_current_worker().is_cancelled:
            self.post_message(ProfileLoaded(profile, groups))

    def on_profile_loaded(self, message: ProfileLoaded) -> None:
        self.profile = p = message.profile
        self.group_names = message.group_names
        self.query_one("#profile-head", Static).update(self._head(p))
        table = self.query_one(DataTable)
        with self.app.batch_update():
            table.clear()
            for o in p.orders:
                table.add_row(Text(o.code), Text(f"{o.placed_at:%Y-%m-%d}"),
                              Text(o.status + (" (test)" if o.is_test else "")),
                              Text(str(o.item_count), justify="right"),
                              Text(money(o.total, o.currency), justify="right"), key=str(o.id))
        self.query_one("#profile-history", Static).update(self._history(p))

    @staticmethod
    def _head(p: cq.CustomerProfile) -> Text:
        t = Text()
        t.append(p.name or "(no name)", style="bold")
        t.append(f"  #{p.id}\n")
        t.append(f"{p.email or '-'}   phone {p.phone or '-'}   language {p.language}\n")
        style = {"active": "green", "suspended": "yellow"}.get(p.status, "red")
        t.append("status ")
        t.append(p.status, style=style)
        if p.status_reason:
            t.append(" — ")
            t.append(p.status_reason)
        t.append(f"   registered {p.registered_at:%Y-%m-%d}   group ")
        t.append(p.group_name or "-")
        t.append(f"   marketing consent {'yes' if p.marketing_consent else 'no'}\n")
        last = f"{p.last_order_at:%Y-%m-%d}" if p.last_order_at else "-"
        t.append(f"lifetime value {money(p.lifetime_value, p.currency)}   orders "
                 f"{p.order_count}   average {money(p.average_order, p.currency)}   "
                 f"last order {last}")
        for a in p.addresses:
            t.append(f"\n{a.kind}: ")
            parts = [f"{a.first_name} {a.last_name}".strip(), a.company, a.line1, a.line2,
                     f"{a.postcode} {a.city}".strip(), a.region, a.country]
            t.append(", ".join(x for x in parts if x))
        return t

    @staticmethod
    def _history(p: cq.CustomerProfile) -> Text:
        t = Text()
        t.append(f"Notes ({len(p.notes)})\n", style="bold")
        for note in p.notes:
            t.append(f"{note.created_at:%Y-%m-%d %H:%M} {note.operator_login}: ", style="dim")
            t.append(note.message or "(erased)")
            t.append("\n")
        t.append("History\n", style="bold")
        for h in reversed(p.history):
            t.append(f"{h.created_at:%Y-%m-%d %H:%M} {h.operator_login:<10} {h.kind:<11} ",
                     style="dim")
            t.append(h.message)
            t.append("\n")
        return t

    # ----- navigation -------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(DataTable.RowSelected, "#profile-orders")
    def _open_order(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            app: Any = self.app
            app.open_order(int(event.row_key.value))

    def on_screen_resume(self) -> None:
        if self.profile is not None:
            self.action_reload()

    # ----- writes -----------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="profile-write")
    def _write(self, fn: Callable[..., Any], args: tuple[Any, ...], summary: str) -> None:
        """Run one service call for this customer; a refusal becomes the app's notice."""
        app: Any = self.app
        result = in_db(fn, app.shop, app.actor, *args)
        if isinstance(result, cq.ExportResult):
            summary = f"{summary}: {result.path}"
        self.post_message(CustomerChanged(summary))

    def on_customer_changed(self, message: CustomerChanged) -> None:
        if message.summary:
            self.notify(message.summary, markup=False)
        self.action_reload()

    def action_edit(self) -> None:
        from tui.screens.customer_form import CustomerForm as FormDialog

        p = self.profile
        if p is None:
            return
        current = {"first_name": p.first_name, "last_name": p.last_name, "email": p.email,
                   "phone": p.phone, "language": p.language,
                   "marketing_consent": "yes" if p.marketing_consent else "no"}
        fields = [(k, label, current[k]) for k, label in EDIT_FIELDS]

        def done(changes: dict[str, str] | None) -> None:
            if not changes:
                return
            values: dict[str, Any] = dict(changes)
            if "marketing_consent" in values:
                values["marketing_consent"] = _yes(values["marketing_consent"])
            from store import customers

            self._write(customers.edit_customer, (p.id, values, p.version), "Customer saved")

        self.app.push_screen(FormDialog("Edit customer", fields), done)

    def action_address(self) -> None:
        from tui.screens.customer_form import CustomerForm as FormDialog

        p = self.profile
        if p is None:
            return
        existing = {a.kind: a for a in p.addresses}
        base = existing.get("shipping") or existing.get("billing")
        fields = [("kind", "Kind (shipping/billing)", "shipping")]
        for key in ADDRESS_FIELDS:
            value = getattr(base, key, "") if base else ""
            fields.append((key, key.replace("_", " ").capitalize(), str(value)))

        def done(changes: dict[str, str] | None) -> None:
            if changes is None:
                return
            values = {k: v for k, _label, v in fields} | changes
            kind = values.pop("kind").strip().lower()
            from store import customers

            self._write(customers.set_address, (p.id, kind, values), f"{kind} address saved")

        self.app.push_screen(FormDialog("Address", fields), done)

    def action_group(self) -> None:
        from tui.screens.text_prompt import TextPrompt

        p = self.profile
        if p is None:
            return

        def done(name: str | None) -> None:
            if not name:
                return
            from store import customers

            def assign(shop: Any, actor: Any, customer_id: int, group: str) -> None:
                customers.assign_group(shop, actor, customer_id, customers.find_group(group))

            self._write(assign, (p.id, name.strip()), f"Moved to group {name.strip()}")

        names = ", ".join(self.group_names)
        self.app.push_screen(TextPrompt(f"Group ({names})", p.group_name), done)

    def action_note(self) -> None:
        from tui.screens.text_prompt import TextPrompt

        def done(text: str | None) -> None:
            if text:
                from store import customers

                self._write(customers.add_note, (self.customer_id, text), "Note added")

        self.app.push_screen(TextPrompt("Add a note about this customer"), done)

    def action_status(self, status: str) -> None:
        from tui.screens.text_prompt import TextPrompt

        verb = {"suspended": "Suspend", "denied": "Deny"}[status]

        def done(reason: str | None) -> None:
            if reason is None:
                return
            from store import customers

            self._write(customers.set_status, (self.customer_id, status, reason),
                        f"Customer {status}")

        self.app.push_screen(TextPrompt(f"{verb} this customer: why?"), done)

    def action_reactivate(self) -> None:
        from store import customers

        self._write(customers.reactivate, (self.customer_id,), "Customer reactivated")

    def action_mail(self) -> None:
        from tui.screens.customer_form import CustomerForm as FormDialog

        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            from store import customers

            self._write(customers.send_one_off,
                        (self.customer_id, values.get("subject", ""), values.get("body", "")),
                        "Email queued in the outbox")

        self.app.push_screen(FormDialog("Email this customer",
                                        [("subject", "Subject", ""), ("body", "Message", "")]),
                             done)

    def action_export(self) -> None:
        from tui.screens.text_prompt import TextPrompt

        def done(directory: str | None) -> None:
            if not directory:
                return

            def export(shop: Any, actor: Any, customer_id: int, folder: str) -> Any:
                return cq.export_customer(shop, actor, customer_id, folder)

            self._write(export, (self.customer_id, directory.strip()), "GDPR export written")

        self.app.push_screen(TextPrompt("Export everything held about this customer to "
                                        "the directory", str(Path.cwd())), done)

    def action_delete(self) -> None:
        from tui.screens.customer_delete import CustomerDeleteDialog

        p = self.profile
        if p is None:
            return

        def done(typed: str | None) -> None:
            if typed is None:
                return
            from store import customers

            self._write(customers.delete_customer, (p.id, typed),
                        "Customer deleted; their orders are kept")

        self.app.push_screen(CustomerDeleteDialog(p.name, p.email, p.order_count), done)
