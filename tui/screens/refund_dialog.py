"""Refund part of an order: shows paid, refunded and the cap, and refuses more than the cap."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from store.errors import ValidationError
from tui.widgets.format import money, parse_amount


class RefundDialog(ModalScreen[tuple[int, str] | None]):
    """Returns (amount in minor units, reason) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="refund.cancel")]

    def __init__(self, code: str, paid: int, refunded: int, currency: str) -> None:
        super().__init__()
        self.code, self.paid, self.refunded, self.currency = code, paid, refunded, currency
        self.cap = paid - refunded

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Refund {self.code}", classes="dialog-title", markup=False)
            yield Label(
                f"paid {money(self.paid, self.currency)}, refunded "
                f"{money(self.refunded, self.currency)}, at most "
                f"{money(self.cap, self.currency)} can be refunded",
                id="refund-cap", markup=False,
            )
            yield Input(placeholder=f"amount in {self.currency}", id="refund-amount")
            yield Input(placeholder="reason (required)", id="refund-reason")
            yield Label("", id="refund-error", classes="dialog-error", markup=False)
            yield Label("Enter to refund, Esc to cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#refund-error", Label)
        amount_text = self.query_one("#refund-amount", Input).value
        reason = self.query_one("#refund-reason", Input).value.strip()
        if event.input.id == "refund-amount" and not reason:
            self.query_one("#refund-reason", Input).focus()
            return
        try:
            amount = parse_amount(amount_text, self.currency)
        except ValidationError as exc:
            error.update(str(exc))
            return
        if amount <= 0:
            error.update("a refund must be a positive amount")
        elif amount > self.cap:
            error.update(f"at most {money(self.cap, self.currency)} can be refunded")
        elif not reason:
            error.update("a refund needs a reason")
        else:
            self.dismiss((amount, reason))

    def action_cancel(self) -> None:
        self.dismiss(None)
