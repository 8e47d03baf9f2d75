"""A dialog that fails while it is built must not leave the app stuck: the replacement dialog
on an item named `Plate [/]` stayed on top half drawn and took every key but ctrl+q, its Esc
failing too. The app closes a dialog whose own code failed unexpectedly: the notice says what
failed and the screen under it takes the keys again."""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.screens.customers import CustomersScreen
from tui.screens.queue import QueueScreen


class _HalfBuilt(ModalScreen[None]):
    """Fails as the replacement dialog did: in compose, then in on_mount and Esc, which look
    for a widget compose never made."""

    BINDINGS = [("escape", "cancel", "close")]

    def compose(self) -> ComposeResult:
        yield Static("half")
        raise ValueError("a name the dialog could not show")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def action_cancel(self) -> None:
        self.query_one("#reason", Input)
        self.dismiss(None)


async def test_a_dialog_that_fails_to_build_gives_the_keys_back(shop, config):
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, QueueScreen))
        app.push_screen(_HalfBuilt())
        await asyncio.sleep(0.5)  # (the pilot's settling waits on the half-built screen)
        assert isinstance(app.screen, QueueScreen)
        notices = [str(n.message) for n in app._notifications]
        assert any("Unexpected error: ValueError: a name the dialog could not show" in n
                   for n in notices), notices
        await pilot.press("2")  # the keys work again
        await wait_until(pilot, lambda: isinstance(app.screen, CustomersScreen))
        await settle(pilot)
        assert "half" not in screen_text(app)
