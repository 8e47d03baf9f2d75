"""The outbox screen driven with Textual's pilot: counts, rows, retry, cancel, open order."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Static

from store import customers
from store.models import Outbox
from store.operators import Actor
from store.shop import Shop
from tests.factories import place
from tests.tui_support import make_app, settle, wait_until
from tui.screens.outbox import OutboxScreen


def rows(table: DataTable) -> list[list[str]]:  # type: ignore[type-arg]
    return [[getattr(c, "plain", str(c)) for c in table.get_row_at(i)]
            for i in range(table.row_count)]


async def poll(pilot: Any, condition: Any, tries: int = 400) -> None:
    """Let the app run until `condition()` holds; the mail loop is a worker that never
    completes, so waiting for every worker would wait forever."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never reached the expected state")


def goto(table: DataTable, mail_id: int) -> None:  # type: ignore[type-arg]
    table.move_cursor(row=table.get_row_index(str(mail_id)))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_outbox_screen_counts_retry_cancel_open(shop: Shop, admin: Actor, config) -> None:  # type: ignore[no-untyped-def]
    first = place(shop, email="ann@example.com")
    place(shop, email="bob@example.com")
    zoe = customers.create_customer(shop, admin, email="zoe@example.com", first_name="Zoé",
                                    last_name="M")
    customers.send_one_off(shop, admin, zoe.id, "Sale [/] now [@click=app.quit]", "Body")
    failed = Outbox.get(Outbox.recipient == "ann@example.com")
    Outbox.update(state="failed", attempts=1, subject="Your order",
                  last_error="the relay answered 550 5.1.1 [bold]no such user").where(
        Outbox.id == failed.id).execute()
    Outbox.update(subject="Sale [/] now [@click=app.quit]").where(
        Outbox.kind == "one_off").execute()
    app: Any = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OutboxScreen)
        counts = str(screen.query_one("#outbox-counts", Static).render())
        assert "queued 5" in counts and "failed 1" in counts
        table = screen.query_one(DataTable)
        shown = rows(table)
        assert len(shown) == 6
        assert any("Sale [/] now [@click=app.quit]" in r for r in shown)  # literal, not markup
        goto(table, failed.id)
        await settle(pilot)
        assert "[bold]no such user" in str(screen.query_one("#outbox-error", Static).render())

        await pilot.press("r")
        await wait_until(pilot, lambda: Outbox.get_by_id(failed.id).state == "queued")
        await wait_until(pilot, lambda: "failed 0" in str(
            screen.query_one("#outbox-counts", Static).render()))

        bob = Outbox.get(Outbox.recipient == "bob@example.com")
        goto(table, bob.id)
        await pilot.press("c", "y")  # cancelling asks first
        await wait_until(pilot, lambda: Outbox.get_by_id(bob.id).state == "cancelled")
        await pilot.press("c", "y")  # a cancelled mail cannot be cancelled again: a notice
        await settle(pilot)
        assert Outbox.get_by_id(bob.id).state == "cancelled"

        await pilot.press("f")  # filter: queued only
        await wait_until(pilot, lambda: all(r[1] == "queued" for r in rows(table)))
        assert len(rows(table)) == 5

        goto(table, failed.id)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "OrderDetailScreen"
        assert getattr(app.screen, "order_id", first.id) == first.id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_app_delivers_in_the_background_and_shows_it(shop: Shop, admin: Actor,
                                                               db_url: str) -> None:
    """deliver_in_app: the app's own loop sends the mail; the outbox screen shows it sent;
    quitting stops the loop."""
    from tests.conftest import make_config
    from tests.mail_server import Server
    from tui.app import build_app

    server = Server().start()
    try:
        place(shop, email="ann@example.com")
        config = make_config(db_url, smtp={"port": server.port},
                             mail={"poll_seconds": 0.05, "deliver_in_app": True})
        app: Any = build_app(config, "ada")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("4")
            await poll(pilot, lambda: len(server.received) == 2)
            screen = app.screen
            await poll(pilot, lambda: "sent 2" in str(
                screen.query_one("#outbox-counts", Static).render()))
            await pilot.press("ctrl+q")
        assert sorted(m["To"] for m in server.received) == ["ann@example.com",
                                                            "shop@example.com"]
    finally:
        server.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_t_shows_the_text_of_a_mail_with_the_customers_words_as_text(
        shop: Shop, admin: Actor, config) -> None:  # type: ignore[no-untyped-def]
    from tui.dialogs.confirm import ConfirmDialog

    zoe = customers.create_customer(shop, admin, email="zoe@example.com", first_name="Zoé",
                                    last_name="M")
    customers.send_one_off(shop, admin, zoe.id, "Your parcel [b]",
                           "Dear Zoé,\n[@click=app.quit]it left today.")
    mail = Outbox.get(Outbox.kind == "one_off")
    app: Any = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen)
                         and app.screen.query_one(DataTable).row_count > 0)
        goto(app.screen.query_one(DataTable), mail.id)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        body = str(app.screen.query_one("#confirm-body", Static).render())
        assert "To: zoe@example.com" in body
        assert "[@click=app.quit]it left today." in body  # shown, not run
        assert app.screen.title_text == "Your parcel [b]"
        await pilot.press("escape")
        assert isinstance(app.screen, OutboxScreen)
