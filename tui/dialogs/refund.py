"""Refund part of an order: shows paid, refunded and what the store says can still be
refunded (pre-filled), asks y/n before it applies, and stays open with the store's refusal
beside the amount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from store.errors import BackroomError
from store.money import format_money, parse_amount
from store.payments import RefundResult
from store.rules import refund_refusal
from tui.dialogs.confirm import ConfirmDialog
from tui.format import shown

Submit = Callable[[int, str], Awaitable[RefundResult]]


class RefundDialog(ModalScreen[RefundResult | None]):
    """Dismisses with what the store did (store.payments.RefundResult), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="refund.cancel")]

    def __init__(self, code: str, paid: int, refunded: int, refundable: int, currency: str,
                 submit: Submit) -> None:
        super().__init__()
        self.code, self.paid, self.refunded, self.currency = code, paid, refunded, currency
        self.refundable = refundable
        self.submit = submit

    def compose(self) -> ComposeResult:
        money = self.currency
        with Vertical(classes="dialog"):
            yield Label(f"Refund {self.code}", classes="dialog-title", markup=False)
            yield Label(
                f"paid {format_money(self.paid, money, grouping=True)}, refunded "
                f"{format_money(self.refunded, money, grouping=True)}; can still be refunded: "
                f"{format_money(self.refundable, money, grouping=True)}",
                id="refund-cap", markup=False,
            )
            yield Input(format_money(self.refundable, money).removesuffix(f" {money}"),
                        placeholder=f"amount in {money}", id="refund-amount")
            yield Input(placeholder="reason (required)", id="refund-reason")
            yield Label("", id="refund-error", classes="dialog-error", markup=False)
            yield Label("Enter to refund (y/n follows), Esc to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#refund-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = self.query_one("#refund-reason", Input).value
        if event.input.id == "refund-amount" and not reason.strip():
            self.query_one("#refund-reason", Input).focus()
            return
        try:
            amount = parse_amount(self.query_one("#refund-amount", Input).value, self.currency)
        except BackroomError as exc:
            self._refuse(str(exc), "amount")
            return
        refused = refund_refusal(self.code, amount, self.paid, self.refunded, self.currency)
        if refused:  # the store's own rule, said before asking (the store checks it again)
            self._refuse(refused, "amount")
            return
        self._refuse("", None)
        self._ask(amount, reason)

    def _ask(self, amount: int, reason: str) -> None:
        body = Text(f"{format_money(amount, self.currency, grouping=True)} goes back to the "
                    "customer; reason: ")
        body.append(shown(reason.strip()))

        def answered(yes: bool | None) -> None:
            if yes:
                self._refund(amount, reason)

        self.app.push_screen(
            ConfirmDialog(f"Refund {format_money(amount, self.currency)} of {self.code}?", body,
                          yes="Refund"), answered)

    @work(exclusive=True, group="refund", exit_on_error=False)
    async def _refund(self, amount: int, reason: str) -> None:
        try:
            result = await self.submit(amount, reason)
        except BackroomError as exc:
            self._refuse(str(exc), exc.field or "amount")
            return
        self.dismiss(result)

    def _refuse(self, message: str, field: str | None) -> None:
        self.query_one("#refund-error", Label).update(message)
        for key in ("amount", "reason"):
            self.query_one(f"#refund-{key}", Input).set_class(key == field, "-refused")

    def action_cancel(self) -> None:
        self.dismiss(None)
