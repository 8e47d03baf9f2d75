"""Delete (erase) a customer: the operator reads what is erased and what is kept, and types
the customer's email to confirm."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui.format import shown


class CustomerDeleteDialog(ModalScreen[str | None]):
    """Returns the email typed (the service checks it), or None on Esc."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="customer_delete.cancel")]

    def __init__(self, name: str, email: str, order_count: int) -> None:
        super().__init__()
        self.customer_name = name
        self.email = email
        self.order_count = order_count

    def compose(self) -> ComposeResult:
        body = Text()
        body.append("Delete customer ", style="bold")
        body.append(shown(self.customer_name) or "(no name)", style="bold")
        body.append(f" <{shown(self.email)}>\n\n")
        body.append("Erased: name, email, phone, addresses, marketing consent, the text of "
                    "notes and one-off emails; queued emails to them are cancelled.\n")
        body.append(f"Kept for the accounts: their {self.order_count} order(s) with the "
                    "name, address and amounts copied at checkout, payments and refunds, and "
                    "the account's history of who did what.\n\n")
        body.append("This cannot be undone. Type the customer's email to confirm.")
        with Vertical(classes="dialog wide"):
            yield Label("Delete customer", classes="dialog-title")
            yield Static(body, markup=False, id="delete-body")
            yield Input(placeholder=shown(self.email), id="delete-email")
            yield Label("Enter deletes, Esc cancels", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
