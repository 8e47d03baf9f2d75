"""The shared form dialog, opening with the cursor in its first field (customer, address,
group and one-off email forms)."""

from __future__ import annotations

from textual.widgets import Input

from tui.screens.form_dialog import FormDialog


class CustomerForm(FormDialog):
    """FormDialog whose first field has the focus, so typing fills it at once."""

    def on_mount(self) -> None:
        first = self.query(Input).first()
        first.focus()
