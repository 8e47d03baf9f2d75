"""The `:` command line: saved views, `:order CODE`, screen names, `:q`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input


class CommandLine(ModalScreen[str | None]):
    """A one-line prompt docked at the bottom, like vi's; returns the text typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="command.cancel")]

    def __init__(self, suggestions: list[str] | None = None) -> None:
        super().__init__()
        self.suggestions = suggestions or []

    def compose(self) -> ComposeResult:
        from textual.suggester import SuggestFromList

        yield Input(placeholder=":pending, :today, :order BR-10000x, :customers, :q",
                    id="command-input",
                    suggester=SuggestFromList(self.suggestions, case_sensitive=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter takes the suggestion shown (`:p` + Enter is `:pending` when that is what
        the line offers), else what was typed."""
        event.stop()
        typed = event.value.lstrip(":")
        self.dismiss((self.offered(typed) or typed).strip())

    def offered(self, typed: str) -> str | None:
        """What the line offers for `typed`: the first name that starts with it, as Textual's
        SuggestFromList picks it (computed here too: its worker may not have run yet when
        Enter comes fast after the keys)."""
        if not typed.strip():
            return None
        lowered = typed.lower()
        return next((name for name in self.suggestions
                     if name.lower().startswith(lowered) and len(name) > len(typed)), None)

    def action_cancel(self) -> None:
        self.dismiss(None)
