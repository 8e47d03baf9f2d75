"""A one-off email to a customer: a subject and a message of several lines, which may start
from a saved reply (mailer.replies); merge fields typed by hand (`{firstname|there}`) are
filled as a reply's are, and an unknown one is refused by name. It submits through the store
and stays open on a refusal, marking the field the store names, so nothing typed is lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, TextArea

from mailer.replies import FIELDS, SavedReply, fill, unknown_fields
from store.errors import BackroomError
from tui.format import shown
from tui.widgets.reply_picker import ReplyPicker

Submit = Callable[[str, str], Awaitable[Any]]


class ComposeDialog(ModalScreen[bool | None]):
    """Dismisses with True once the store queued the mail, None on Esc."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="compose.cancel"),
        Binding("ctrl+s", "send", "Send", id="compose.send", priority=True),
    ]

    DEFAULT_CSS = """
    ComposeDialog #compose-body { height: 10; }
    """

    def __init__(self, title: str, submit: Submit, replies: Sequence[SavedReply] = (),
                 values: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.submit = submit
        self.replies = list(replies)
        self.values = dict(values or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(shown(self.title_text), classes="dialog-title", markup=False)
            if self.replies:
                yield ReplyPicker(self.replies, self.values, id="compose-reply")
            yield Input(placeholder="subject", id="compose-subject")
            yield TextArea(id="compose-body", soft_wrap=True, show_line_numbers=False)
            yield Label("", id="compose-error", classes="dialog-error", markup=False)
            yield Label("ctrl+s sends, Esc cancels; Enter in the message starts a new line",
                        classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#compose-subject", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#compose-body", TextArea).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        """A saved reply chosen: its subject (when it has one) and text replace the form's."""
        event.stop()
        chosen = self.query_one(ReplyPicker).chosen()
        if chosen is None:
            return
        subject, text = chosen
        if subject:
            self.query_one("#compose-subject", Input).value = subject
        body = self.query_one("#compose-body", TextArea)
        body.load_text(text)
        body.focus()

    def action_send(self) -> None:
        self._send(self.query_one("#compose-subject", Input).value,
                   self.query_one("#compose-body", TextArea).text)

    @work(exclusive=True, group="compose-send", exit_on_error=False)
    async def _send(self, subject: str, body: str) -> None:
        self._refuse("", None)
        if self.values:  # merge fields typed by hand are filled as a saved reply's are
            for name, text in (("subject", subject), ("body", body)):
                unknown = unknown_fields(text)
                if unknown:  # it went out as typed: "Hi {bogus}"
                    self._refuse(f"unknown merge field {{{unknown[0]}}}: the fields are "
                                 + ", ".join(f"{{{f}}}" for f in FIELDS), name)
                    return
            subject, body = fill(subject, self.values), fill(body, self.values)
        try:
            await self.submit(subject, body)
        except BackroomError as exc:
            self._refuse(str(exc), exc.field)
            return
        self.dismiss(True)

    def _refuse(self, message: str, field: str | None) -> None:
        self.query_one("#compose-error", Label).update(message)
        subject = self.query_one("#compose-subject", Input)
        body = self.query_one("#compose-body", TextArea)
        subject.set_class(field == "subject", "-refused")
        body.set_class(field == "body", "-refused")
        if field == "subject":
            subject.focus()
        elif field == "body":
            body.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
