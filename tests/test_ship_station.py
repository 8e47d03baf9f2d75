"""The ship station (issue 14, point 10), driven through Textual's pilot as a barcode scanner
drives it: every scan is its characters then Enter. Two scans per parcel; a scan the station
cannot take is refused loudly (red and the bell) and ships nothing; `z` undoes the last
parcel; the app's scan-to-open leaves the station's scans alone."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.keys import _character_to_key

from store import orders, status
from store.models import Order, Outbox
from tests.factories import place
from tests.tui_support import make_app, screen_text, settle
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.ship import ShipStationScreen

UPS = "1Z5R89390357567127"


async def scan(pilot: Any, text: str) -> None:
    """What a scanner does: the characters, then Enter, in one burst (pilot.press waits for
    the app to go idle after every key, as a person typing would); then the station's work."""
    app = pilot.app
    for char in text:
        key = char if char.isalnum() else _character_to_key(char)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
    enter = events.Key("enter", "\r")
    enter.set_sender(app)
    app._driver.send_message(enter)
    await pilot.pause()
    await settle(pilot)


def banner(app: Any) -> str:
    return str(app.screen.query_one("#ship-banner").render())


def refused(app: Any) -> bool:
    return app.screen.query_one("#ship-banner").has_class("-refused")


def count_bells(app: Any) -> list[int]:
    rang: list[int] = []
    app.bell = lambda: rang.append(1)  # the terminal's bell, counted instead of rung
    return rang


async def test_two_scans_ship_a_parcel_and_z_undoes_it(shop, admin, config):
    paid, other = place(shop, gift_message="Happy birthday!"), place(shop)
    status.change_status(shop, admin, [paid.id, other.id], "paid")
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(app.screen, ShipStationScreen)
        bells = count_bells(app)
        await scan(pilot, paid.code)
        text = screen_text(app)
        assert paid.code in text and "1 Rue de la Paix" in text and "SKU-0" in text
        assert "Happy birthday!" in text and "scan the parcel's tracking" in banner(app)
        assert app.sub_title.startswith("ada")  # scan-to-open did not take the digits
        await scan(pilot, UPS)
        order = Order.get_by_id(paid.id)
        assert (order.status, order.tracking_number, order.carrier) == ("shipped", UPS, "ups")
        mail = Outbox.get(Outbox.order == paid.id, Outbox.kind == "shipped")
        assert mail.hold_until is not None  # held for the undo window
        assert f"{paid.code} shipped with UPS {UPS}" in banner(app)
        assert "Scan the next slip" in banner(app) and not bells
        assert isinstance(app.screen, ShipStationScreen)  # no dialog, nothing else opened
        await pilot.press("z")
        await settle(pilot)
        order = Order.get_by_id(paid.id)
        assert (order.status, order.tracking_number) == ("paid", "")
        assert Outbox.get_by_id(mail.id).state == "cancelled"
        assert "undone" in banner(app)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ShipStationScreen)


async def test_scans_the_station_cannot_take_are_refused_loudly(shop, admin, config):
    unpaid, paid, shipped, refunded = (place(shop) for _ in range(4))
    status.change_status(shop, admin, [paid.id, shipped.id, refunded.id], "paid")
    status.change_status(shop, admin, [shipped.id], "shipped", tracking="OLD-1")
    from store import payments

    payments.refund(shop, admin, refunded.id, Order.get_by_id(refunded.id).total, "broken")
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.run_command("ship")
        await settle(pilot)
        bells = count_bells(app)
        for text, says in ((unpaid.code, "cannot ship: Awaiting payment cannot move"),
                           (shipped.code, "cannot ship: already Shipped"),
                           (refunded.code, "cannot ship: Refunded cannot move"),
                           (UPS, "is a tracking number (UPS), not a packing slip"),
                           ("hello", "'hello' is not an order"),
                           ("BR-100001", "is not an order")):
            before = len(bells)
            await scan(pilot, text)
            assert refused(app) and says in banner(app), (text, banner(app))
            assert len(bells) == before + 1
        await scan(pilot, paid.code)
        assert not refused(app)
        await scan(pilot, paid.code)  # the slip again where the tracking number goes
        assert refused(app) and "is a packing slip, not a tracking number" in banner(app)
        orders.set_tracking(shop, admin, unpaid.id, "TAKEN-9")
        await scan(pilot, "TAKEN-9")
        assert refused(app) and f"also given to {unpaid.code}" in banner(app)
        assert Order.get_by_id(paid.id).status == "paid"  # nothing shipped by any of these
        await scan(pilot, "6A12345678901")  # still on the bench: its number ships it
        assert Order.get_by_id(paid.id).status == "shipped"
        assert not isinstance(app.screen, OrderDetailScreen)
        await pilot.press("z", "z")  # a second z has nothing left to undo
        await settle(pilot)
        assert refused(app) and "nothing to undo" in banner(app)
        assert Order.get_by_id(paid.id).status == "paid"


async def test_fifty_parcels_take_two_scans_each_and_two_other_keys(shop, admin, db_url):
    """The README's count: 50 parcels = 100 scans and at most 3 other keys in all (here 2:
    S opens the station from the queue, Esc leaves it)."""
    from tests.tui_support import app_config

    refs = [place(shop, email=f"p{n}@example.com") for n in range(50)]
    status.change_status(shop, admin, [r.id for r in refs], "paid")
    config = app_config(shop.config).with_values("shipping", default_carrier="colissimo")
    from tui.app import build_app

    app = build_app(config, "ada")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        other_keys = ["S"]
        await pilot.press("S")
        await settle(pilot)
        for n, ref in enumerate(refs):
            await scan(pilot, ref.code)
            await scan(pilot, f"6A{n:011d}")
        other_keys.append("escape")
        await pilot.press("escape")
        await settle(pilot)
    assert len(other_keys) <= 3
    shipped = list(Order.select().where(Order.status == "shipped").order_by(Order.id))
    assert len(shipped) == 50
    assert {o.carrier for o in shipped} == {"colissimo"}
    assert sorted(o.tracking_number for o in shipped) == [f"6A{n:011d}" for n in range(50)]


async def test_a_long_scan_shows_its_end_and_the_queue_catches_up_on_return(shop, admin,
                                                                            config):
    """The scan field is typed into without re-arranging the screen (tui/widgets/
    steady_input.py): a text wider than the field still scrolls so its end shows. The queue
    beneath does not reload after each parcel; it shows the parcel shipped when it returns."""
    paid = place(shop)
    status.change_status(shop, admin, [paid.id], "paid")
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("S")
        await settle(pilot)
        long = "X" * 90 + "TAIL42"
        for char in long:
            await pilot.press(char)
        await settle(pilot)
        field = [line for line in screen_text(app).splitlines() if "XXXX" in line]
        assert field and "TAIL42" in field[0]  # the end of what was typed, under the cursor
        await pilot.press("escape")  # the half-typed scan: Esc leaves (nothing on the bench)
        await settle(pilot)
        await pilot.press("S")
        await settle(pilot)
        await scan(pilot, paid.code)
        await scan(pilot, UPS)
        assert Order.get_by_id(paid.id).status == "shipped"
        await pilot.press("escape")
        await settle(pilot)
        row = [line for line in screen_text(app).splitlines() if paid.code in line]
        assert row and "Shipped" in row[0]
