"""`?`: every binding of the screen underneath, titled with its name, its own keys first, each
with its key, what it does and its id."""

from __future__ import annotations

import re
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


Section = tuple[str, list[tuple[str, str, str]]]  # heading, (key, what it does, binding id)


def screen_name(screen: Screen[Any]) -> str:
    """What a screen is called in its help: its NAME, else its class name in words."""
    name = getattr(screen, "NAME", "")
    if name:
        return str(name)
    words = re.findall(r"[A-Z][a-z]*", type(screen).__name__.removesuffix("Screen"))
    return " ".join(words).capitalize()


def binding_rows(screen: Screen[Any]) -> list[Section]:
    """Every active binding of `screen` (key, what it does, id), less those the operator's role
    may not use: the screen's own first, then those of the widget in focus, then the app's.
    A binding's tooltip, when it has one, says more than its footer label."""
    own: list[tuple[str, str, str]] = []
    widgets: list[tuple[str, str, str]] = []
    everywhere: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for _key, active in screen.active_bindings.items():
        binding = active.binding
        if isinstance(screen, BackroomScreen) and screen.forbidden(binding.action):
            continue
        label = binding.tooltip or binding.description or binding.action
        if (label, binding.id or "") in seen:
            continue
        seen.add((label, binding.id or ""))
        row = (screen.app.get_key_display(binding), label, binding.id or "")
        if active.node is screen and binding.id and not binding.id.startswith("screen."):
            own.append(row)
        elif active.node is screen.app or active.node is screen:
            everywhere.append(row)
        else:
            widgets.append(row)
    sections = [("This screen", own), ("In the list or box in focus", widgets),
                ("Everywhere", everywhere)]
    return [(heading, rows) for heading, rows in sections if rows]


class HelpScreen(ModalScreen[None]):
    """A table of keys, the screen's own first; Esc, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, title: str, sections: list[Section]) -> None:
        super().__init__()
        self.title_text = title
        self.sections = sections

    def compose(self) -> ComposeResult:
        width = max((len(key) for _heading, rows in self.sections for key, _d, _i in rows),
                    default=3)
        with Vertical(classes="dialog wide", id="help"):
            yield Label(f"Keys: {self.title_text}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                for heading, rows in self.sections:
                    table = Table(box=None, expand=True, show_header=False,
                                  padding=(0, 1, 0, 0), title=heading, title_justify="left",
                                  title_style="bold")
                    table.add_column("key", no_wrap=True, width=width)
                    table.add_column("does", ratio=1)
                    table.add_column("id", style="dim", no_wrap=True)
                    for key, description, binding_id in rows:
                        table.add_row(Text(key), Text(description), Text(binding_id))
                    yield Static(table, classes="help-table")
                yield Static(Text(SCAN_HELP, style="dim"))

    @property
    def rows(self) -> list[tuple[str, str, str]]:
        """Every row listed, in order."""
        return [row for _heading, rows in self.sections for row in rows]

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
