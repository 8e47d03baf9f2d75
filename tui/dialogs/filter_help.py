"""`?` on a filter box: every token of the list's filter language with an example, made from
the store's own token table (store.filter_syntax), so the help cannot drift from the parser."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from store.filter_syntax import Token, help_rows


class FilterHelp(ModalScreen[None]):
    """The tokens of one filter language, one per line with its example; Esc, q or ? closes."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="filter_help.close")]

    def __init__(self, title: str, tokens: Sequence[Token[Any]], words: str,
                 extra: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.tokens = tokens
        self.words = words
        self.extra = extra

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold",
                      padding=(0, 1, 0, 0))
        table.add_column("example", no_wrap=True)
        table.add_column("finds")
        for example, does in help_rows(self.tokens):
            table.add_row(Text(example, style="bold"), Text(does))
        with Vertical(classes="dialog wide", id="filter-help"):
            yield Label(f"Filter: {self.title_text}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(Text(f"Words: {self.words}."), markup=False)
                yield Static(table, id="filter-help-table")
                if self.extra:
                    yield Static(Text(self.extra, style="dim"), markup=False)
                yield Static(Text("Several tokens combine; a quoted value keeps its spaces.",
                                  style="dim"), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
