"""What a bulk print holds: the packing slips, and optionally the pick list after them and
each order's carrier label after its slip. One key each, Enter prints."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Label


@dataclass(frozen=True)
class PrintChoice:
    """What the operator asked to print with the slips."""

    picklist: bool
    labels: bool


class PrintDialog(ModalScreen[PrintChoice | None]):
    """`k` pick list on/off, `l` labels on/off, Enter prints, Esc cancels."""

    BINDINGS = [
        Binding("k", "flip('picklist')", "Pick list", id="print.picklist"),
        Binding("l", "flip('labels')", "Labels", id="print.labels"),
        Binding("enter", "print", "Print", id="print.go", priority=True),
        Binding("escape", "cancel", "Cancel", id="print.cancel"),
    ]

    def __init__(self, what: str, printer: str) -> None:
        super().__init__()
        self.what = what
        self.printer = printer

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Print the packing slips of {self.what}", classes="dialog-title",
                        markup=False)
            # Text: a str label is read as markup, where "[k]" is a style and vanishes (so
            # the label is kept short enough to show whole at 80 columns with its key)
            yield Checkbox(Text("[k] pick list after the slips (SKUs, totals, orders)"), False,
                           id="print-picklist")
            yield Checkbox(Text("[l] each order's carrier label after its slip"), False,
                           id="print-labels")
            yield Label(f"one PDF in queue order, {self.printer}", classes="dialog-hint",
                        markup=False)
            yield Label("Enter prints, Esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#print-picklist", Checkbox).focus()

    def action_flip(self, which: str) -> None:
        box = self.query_one(f"#print-{which}", Checkbox)
        box.value = not box.value

    def action_print(self) -> None:
        self.dismiss(PrintChoice(self.query_one("#print-picklist", Checkbox).value,
                                 self.query_one("#print-labels", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)
