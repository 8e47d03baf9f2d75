"""`?`: every binding of the screen underneath, with its key, description and id."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from tui.screens.base import BackroomScreen

SCAN_HELP = ("Type or scan an order code (digits, then Enter) on any screen to open it. "
             "Keys can be remapped in config.toml under [keys] by binding id.")


def binding_rows(screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(key, description, id) of every active binding of `screen`, the app's included, less
    those the operator's role may not use."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for _key, active in screen.active_bindings.items():
        binding = active.binding
        if isinstance(screen, BackroomScreen) and screen.forbidden(binding.action):
            continue
        label = binding.description or binding.action
        if (label, binding.id or "") in seen:
            continue
        seen.add((label, binding.id or ""))
        rows.append((screen.app.get_key_display(binding), label, binding.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    """A table of keys; Esc, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, title: str, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("key", no_wrap=True)
        table.add_column("does")
        table.add_column("id", style="dim")
        for key, description, binding_id in self.rows:
            table.add_row(Text(key), Text(description), Text(binding_id))
        with Vertical(classes="dialog wide", id="help"):
            yield Label(f"Keys: {self.title_text}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(table, id="help-table")
                yield Static(Text(SCAN_HELP, style="dim"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
