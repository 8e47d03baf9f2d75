"""A replacement for a lost or damaged parcel: choose the items of the order to send again
(every line is chosen to begin with), say why, and place it; the store refuses what cannot be
(the dialog stays open with its message)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, SelectionList

from store.errors import BackroomError
from store.queries import ItemRow
from store.replacements import Replacement
from tui.format import shown

Submit = Callable[[dict[str, int], str], Awaitable[Replacement]]


class ReplacementDialog(ModalScreen[Replacement | None]):
    """Space ticks an item on or off; Enter on the reason (or ctrl+s) places the order."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="replacement.cancel"),
        Binding("ctrl+s", "place", "Place", id="replacement.place", priority=True),
    ]

    DEFAULT_CSS = """
    ReplacementDialog #replacement-items { height: auto; max-height: 8; }
    """

    def __init__(self, code: str, items: Sequence[ItemRow], submit: Submit) -> None:
        super().__init__()
        self.code = code
        self.items = list(items)
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(f"Replacement for {self.code} (lost or damaged parcel)",
                        classes="dialog-title", markup=False)
            yield Label("The items ticked go again at no charge, to the same address:",
                        markup=False)
            yield SelectionList[int](
                *[(self._prompt(item), index, True) for index, item in enumerate(self.items)],
                id="replacement-items")
            yield Input(placeholder="why (kept in both histories)", id="replacement-reason")
            yield Label("", id="replacement-error", classes="dialog-error", markup=False)
            yield Label("Space ticks an item, Enter on the reason places it, Esc cancels",
                        classes="dialog-hint")

    @staticmethod
    def _prompt(item: ItemRow) -> Text:
        """An item's line: its sku and name are a customer's or an import's text, shown as
        written (a `[` is never read as markup, a control character is a visible escape)."""
        return Text(f"{item.quantity} × {shown(item.sku)}  {shown(item.name)}")

    def on_mount(self) -> None:
        self.query_one("#replacement-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_place()

    def chosen(self) -> dict[str, int]:
        """The ticked lines as sku -> quantity (a sku on two lines: both lines' quantities)."""
        wanted: dict[str, int] = {}
        for index in self.query_one(SelectionList).selected:
            item = self.items[index]
            wanted[item.sku] = wanted.get(item.sku, 0) + item.quantity
        return wanted

    def action_place(self) -> None:
        self._place(self.chosen(), self.query_one("#replacement-reason", Input).value)

    @work(exclusive=True, group="replacement", exit_on_error=False)
    async def _place(self, wanted: dict[str, int], reason: str) -> None:
        self.query_one("#replacement-error", Label).update("")
        try:
            result = await self.submit(wanted, reason)
        except BackroomError as exc:
            self.query_one("#replacement-error", Label).update(str(exc))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
