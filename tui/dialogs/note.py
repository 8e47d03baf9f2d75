"""Add a note to an order: internal, or visible to the customer (who then gets a mail); the
text may start from a saved reply (mailer.replies) and runs over several lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Select, Switch, TextArea

from mailer.replies import SavedReply
from tui.widgets.reply_picker import ReplyPicker


class NoteDialog(ModalScreen[tuple[str, bool] | None]):
    """Returns (text, visible_to_customer) or None. Enter starts a new line; ctrl+s adds."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="note.cancel"),
        Binding("ctrl+s", "save", "Add", id="note.save", priority=True),
        Binding("ctrl+e", "toggle_visible", "To customer", id="note.visible", priority=True),
    ]

    DEFAULT_CSS = """
    NoteDialog #note-text { height: 8; }
    """

    def __init__(self, replies: Sequence[SavedReply] = (),
                 values: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.replies = list(replies)
        self.values = dict(values or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Add a note", classes="dialog-title")
            if self.replies:
                yield ReplyPicker(self.replies, self.values, id="note-reply")
            yield TextArea(id="note-text", soft_wrap=True, show_line_numbers=False)
            with Horizontal(classes="switch-row"):
                yield Switch(False, id="note-visible")
                yield Label("", id="note-visible-label")
            yield Label("ctrl+s adds it, Esc cancels; Enter starts a new line",
                        classes="dialog-hint")

    def on_mount(self) -> None:
        self._say_visible()
        self.query_one("#note-text", TextArea).focus()

    def _say_visible(self) -> None:
        on = self.query_one("#note-visible", Switch).value
        self.query_one("#note-visible-label", Label).update(
            "visible to the customer: ON (emails them)" if on
            else "visible to the customer: OFF (internal) - ctrl+e")

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._say_visible()

    def on_select_changed(self, event: Select.Changed) -> None:
        """A saved reply chosen: its text replaces what was typed; it goes to the customer."""
        event.stop()
        picker = self.query_one(ReplyPicker)
        chosen = picker.chosen()
        if chosen is None:
            return
        self.query_one("#note-text", TextArea).load_text(chosen[1])
        self.query_one("#note-visible", Switch).value = True
        self.query_one("#note-text", TextArea).focus()

    def action_toggle_visible(self) -> None:
        switch = self.query_one("#note-visible", Switch)
        switch.value = not switch.value

    def action_save(self) -> None:
        text = self.query_one("#note-text", TextArea).text
        if not text.strip():
            return  # nothing written yet: the dialog stays as it is
        self.dismiss((text.strip("\n"), self.query_one("#note-visible", Switch).value))

    def action_cancel(self) -> None:
        self.dismiss(None)
