"""A small form of labelled one-line fields (shipping address, contact details)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class FormDialog(ModalScreen[dict[str, str] | None]):
    """Returns the changed fields only (key -> new value), or None on Esc."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(self, title: str, fields: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = list(fields)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                for key, label, value in self.fields:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label", markup=False)
                        yield Input(value, id=f"f-{key}")
            yield Label("Enter on the last field or ctrl+s saves, Esc cancels",
                        classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.action_save()
        else:
            inputs[inputs.index(event.input) + 1].focus()

    def action_save(self) -> None:
        changed = {}
        for key, _label, value in self.fields:
            new = self.query_one(f"#f-{key}", Input).value
            if new != value:
                changed[key] = new
        self.dismiss(changed)

    def action_cancel(self) -> None:
        self.dismiss(None)
