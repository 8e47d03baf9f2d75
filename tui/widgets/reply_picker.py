"""The saved-reply picker of the dialogs that write to a customer (a note to the customer, a
one-off email): choosing a reply hands its text, merge fields filled in, to the dialog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import Select

from mailer.replies import SavedReply, fill
from tui.format import shown


class ReplyPicker(Select[str]):
    """A Select of the saved replies (Enter opens it, arrows choose, Enter takes one)."""

    DEFAULT_CSS = """
    ReplyPicker { width: 100%; margin-bottom: 0; }
    """

    def __init__(self, replies: Sequence[SavedReply], values: Mapping[str, str],
                 id: str | None = None) -> None:
        # a reply's title is its file's name: a Select reads a str prompt as markup
        super().__init__([(Text(shown(r.title)), r.name) for r in replies],
                         prompt="start from a saved reply", allow_blank=True, id=id)
        self.replies = {r.name: r for r in replies}
        self.values = dict(values)

    def chosen(self) -> tuple[str, str] | None:
        """(subject, text) of the reply chosen, merge fields filled in; None for none."""
        value = self.value
        if not isinstance(value, str) or value not in self.replies:
            return None
        reply = self.replies[value]
        return fill(reply.subject, self.values), fill(reply.body, self.values)
