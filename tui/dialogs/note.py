"""Add a note to an order: internal, or visible to the customer (who then gets a mail)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Switch


class NoteDialog(ModalScreen[tuple[str, bool] | None]):
    """Returns (text, visible_to_customer) or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="note.cancel"),
        Binding("ctrl+e", "toggle_visible", "To customer", id="note.visible", priority=True),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Add a note", classes="dialog-title")
            yield Input(placeholder="note text", id="note-text")
            with Horizontal(classes="switch-row"):
                yield Switch(False, id="note-visible")
                yield Label("visible to the customer (emails them) - ctrl+e")
            yield Label("Enter to add, Esc to cancel", classes="dialog-hint")

    def action_toggle_visible(self) -> None:
        switch = self.query_one("#note-visible", Switch)
        switch.value = not switch.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss((event.value, self.query_one("#note-visible", Switch).value))

    def action_cancel(self) -> None:
        self.dismiss(None)
