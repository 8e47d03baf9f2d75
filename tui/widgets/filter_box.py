"""The filter box of the order queue and the customer list: an Input where `?` shows the
filter language's tokens instead of typing itself (store.filter_syntax)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual import events

from store.filter_syntax import Token
from tui.dialogs.filter_help import FilterHelp
from tui.widgets.steady_input import SteadyInput


class FilterBox(SteadyInput):
    """An Input for a filter; `?` opens the help of its tokens (`extra()` adds what only the
    open shop knows, such as its statuses)."""

    def __init__(self, what: str, tokens: Sequence[Token[Any]], words: str, *,
                 extra: Callable[[], str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.what = what
        self.tokens = tokens
        self.words = words
        self.extra = extra

    async def _on_key(self, event: events.Key) -> None:
        if event.character == "?":
            event.stop()
            event.prevent_default()
            self.app.push_screen(FilterHelp(self.what, self.tokens, self.words,
                                            self.extra() if self.extra else ""))
            return
        await super()._on_key(event)
