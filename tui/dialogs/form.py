"""A form of labelled one-line fields (addresses, contact details, customers, groups, one-off
emails). It opens with the first field focused; with a `submit` it stays open on a refusal,
marks the field the store names and shows the store's message beside it, so nothing typed is
lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label

from store.errors import BackroomError
from tui.format import shown

Submit = Callable[[dict[str, str]], Awaitable[Any]]


class FormDialog(ModalScreen[Any]):
    """Without `submit`, dismisses with the changed fields (key -> new value), or None on
    Esc. With `submit(changed)`, dismisses with what it returns once the store accepts (True
    when that is None)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(self, title: str, fields: Sequence[tuple[str, str, str]],
                 submit: Submit | None = None,
                 suggesters: dict[str, Suggester] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.fields = list(fields)
        self.submit = submit
        self.suggesters = suggesters or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(shown(self.title_text), classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                for key, label, value in self.fields:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label", markup=False)
                        yield Input(value, id=f"f-{key}", suggester=self.suggesters.get(key))
            yield Label("", id="form-error", classes="dialog-error", markup=False)
            yield Label("Enter on the last field or ctrl+s saves, Esc cancels",
                        classes="dialog-hint")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.action_save()
        else:
            inputs[inputs.index(event.input) + 1].focus()

    def changed(self) -> dict[str, str]:
        """The fields whose value differs from what the form opened with."""
        values = {}
        for key, _label, value in self.fields:
            new = self.query_one(f"#f-{key}", Input).value
            if new != value:
                values[key] = new
        return values

    def values(self) -> dict[str, str]:
        """Every field's value as typed."""
        return {key: self.query_one(f"#f-{key}", Input).value for key, _l, _v in self.fields}

    def action_save(self) -> None:
        if self.submit is None:
            self.dismiss(self.changed())
        else:
            self._submit(self.changed())

    @work(exclusive=True, group="form-submit", exit_on_error=False)
    async def _submit(self, changed: dict[str, str]) -> None:
        assert self.submit is not None
        self.refuse("", None)
        try:
            result = await self.submit(changed)
        except BackroomError as exc:
            self.refuse(str(exc), exc.field)
            return
        self.dismiss(True if result is None else result)

    def refuse(self, message: str, field: str | None) -> None:
        """Show the store's refusal beside the form and mark the field it names."""
        self.query_one("#form-error", Label).update(message)
        for input_ in self.query(Input):
            input_.set_class(input_.id == f"f-{field}", "-refused")
        if field:
            for input_ in self.query(f"#f-{field}").results(Input):
                input_.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
