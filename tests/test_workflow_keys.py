"""Issue 12's figure for customer service, pressed key by key at 80x24: find a customer by
part of the email, open their last order, write a note to the customer, resend the status
mail. At most 12 keys plus the typed text (README, "Keys counted")."""

from __future__ import annotations

from store import customers, status
from store.models import OrderEvent, Outbox
from tests.factories import place
from tests.tui_support import make_app, settle, wait_until
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.note import NoteDialog
from tui.screens.customers import CustomersScreen
from tui.screens.order_detail import OrderDetailScreen

SEARCH = "smith@"
NOTE = "Sorry for the wait: your parcel left today."


async def test_customer_service_in_ten_keys(shop, admin, config):
    for n in range(5):
        customers.create_customer(shop, admin, email=f"other{n}@example.com",
                                  first_name="Other", last_name=str(n))
    ann = customers.create_customer(shop, admin, email="ann.smith@example.com",
                                    first_name="Ann", last_name="Smith")
    older = place(shop, customer_id=ann.id)
    last = place(shop, customer_id=ann.id)
    status.change_status(shop, admin, [older.id, last.id], "paid", hold_mail=False)
    status.change_status(shop, admin, [last.id], "shipped", tracking="TRK42", hold_mail=False)
    app = make_app(config)
    keys = 0

    async def press(*pressed: str) -> None:
        nonlocal keys
        keys += len(pressed)
        await pilot.press(*pressed)

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press("2")  # the customers
        await wait_until(pilot, lambda: isinstance(app.screen, CustomersScreen))
        await press("slash")
        await pilot.press(*SEARCH)  # typed text, not counted
        await wait_until(pilot, lambda: app.screen.page is not None
                         and [r.email for r in app.screen.page.rows] == ["ann.smith@example.com"])
        await press("enter", "enter")  # to the list, then the profile
        await wait_until(pilot, lambda: getattr(app.screen, "profile", None) is not None)
        await press("enter")  # the last order is the first line
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        assert app.screen.order_id == last.id
        detail = app.screen
        await press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press(*NOTE)  # typed text
        await press("ctrl+e", "ctrl+s")  # to the customer, add
        await wait_until(pilot, lambda: app.screen is detail and OrderEvent.select().where(
            OrderEvent.order == last.id, OrderEvent.kind == "note").exists())
        await press("R")  # resend the status mail
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await press("y")  # yes
        await wait_until(pilot, lambda: Outbox.select().where(
            Outbox.order == last.id, Outbox.kind == "shipped").count() == 2)
    note = OrderEvent.get(OrderEvent.order == last.id, OrderEvent.kind == "note")
    assert (note.message, note.visible) == (NOTE, True)
    assert Outbox.select().where(Outbox.kind == "customer_note").count() == 1
    shipped = list(Outbox.select().where(Outbox.order == last.id, Outbox.kind == "shipped")
                   .order_by(Outbox.id))
    assert len(shipped) == 2 and shipped[1].state == "queued"  # the copy, queued to go
    assert keys == 10 <= 12
