"""The order detail and the app-wide keys, driven with the pilot on a real database."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from store import payments, status
from store.models import Order, OrderEvent, Outbox
from tests.factories import place
from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.dialogs.help import HelpScreen
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.queue import QueueScreen


async def open_detail(pilot, app):
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, OrderDetailScreen)
    return app.screen


async def test_detail_shows_sections_and_changes_status(shop, admin, config):
    ref = place(shop, name="Ann Smith", customer_note="leave at the door")
    app = make_app(config)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_detail(pilot, app)
        text = screen_text(app)
        for expected in (ref.code, "Ann Smith", "leave at the door", "Product 0", "Subtotal",
                         "refundable", "History", "order_placed"):
            assert expected in text, expected
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("p")  # Paid / processing: has a mail, so the switch is on
        await settle(pilot)
        order = Order.get_by_id(ref.id)
        assert order.status == "paid"
        events = list(OrderEvent.select().where(OrderEvent.order == ref.id,
                                                OrderEvent.kind == "status"))
        assert [(e.from_status, e.to_status, e.operator_login) for e in events] == [
            ("awaiting_payment", "paid", "ada")]
        assert Outbox.select().where(Outbox.order == ref.id,
                                     Outbox.kind == "payment_received").count() == 1
        assert "Paid / processing" in screen_text(app)
        # shipping needs a tracking number: the picker asks for it
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("s", *"TRK123", "enter")
        await settle(pilot)
        order = Order.get_by_id(ref.id)
        assert (order.status, order.tracking_number) == ("shipped", "TRK123")
        # and z takes it back, withdrawing the held mail
        await pilot.press("z")
        await settle(pilot)
        assert Order.get_by_id(ref.id).status == "paid"
        assert Outbox.get(Outbox.kind == "shipped").state == "cancelled"


async def test_status_picker_shows_only_allowed_next(shop, admin, config):
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_detail(pilot, app)
        await pilot.press("s")
        await pilot.pause()
        text = screen_text(app)
        assert "[p] Paid / processing" in text
        assert "[x] Cancelled" in text
        assert "[s] Shipped" not in text
        await pilot.press("escape")


async def test_notes_refund_cap_and_tracking(shop, admin, config):
    ref = place(shop, price=1000)
    payments.record_payment(shop, admin, ref.id, 1200)
    app = make_app(config)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_detail(pilot, app)
        await pilot.press("n", *"call back", "ctrl+s")
        await settle(pilot)
        await pilot.press("n", *"we shipped early", "ctrl+e", "ctrl+s")
        await settle(pilot)
        text = screen_text(app)
        assert "internal note: call back" in text
        assert "note to customer: we shipped early" in text
        assert Outbox.select().where(Outbox.kind == "customer_note").count() == 1
        await pilot.press("m")
        await pilot.pause()
        cap = str(app.screen.query_one("#refund-cap").render())
        assert "can still be refunded: 12.00 EUR" in cap  # what the store says
        amount = app.screen.query_one("#refund-amount")
        assert amount.value == "12.00"  # pre-filled with it
        amount.value = "13"
        await pilot.press(*"damaged", "enter")  # the reason has the focus
        await settle(pilot)
        error = str(app.screen.query_one("#refund-error").render())
        assert "exceeds what can still be refunded (12.00 EUR" in error  # the store's refusal
        assert amount.has_class("-refused")
        amount.value = "2.50"
        await pilot.press("enter")
        await settle(pilot)
        assert "Refund 2.50 EUR of" in screen_text(app)  # it asks first
        assert Order.get_by_id(ref.id).amount_refunded == 0
        await pilot.press("y")
        await settle(pilot)
        assert Order.get_by_id(ref.id).amount_refunded == 250
        text = screen_text(app)
        assert "payment 12.00 EUR" in text and "refund 2.50 EUR" in text
        assert "refundable 9.50 EUR" in text
        await pilot.press("t", *"ABC999", "enter")
        await settle(pilot)
        assert Order.get_by_id(ref.id).tracking_number == "ABC999"


async def test_next_and_previous_walk_the_filter(shop, admin, config):
    refs = [place(shop, name=f"Buyer {i}") for i in range(3)]
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_detail(pilot, app)
        assert screen.detail.id == refs[2].id  # newest first
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.detail.id == refs[1].id
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert screen.detail.id == refs[0].id
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert screen.detail.id == refs[1].id


async def test_work_the_queue_moves_on_after_a_status_change(shop, admin, config):
    refs = [place(shop) for _ in range(2)]
    app = make_app(config, next_after_action=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_detail(pilot, app)
        assert screen.detail.id == refs[1].id
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("x")  # cancelled
        await settle(pilot)
        assert Order.get_by_id(refs[1].id).status == "cancelled"
        assert screen.detail.id == refs[0].id


OTHER_OPERATOR = """
import asyncio, sys
from tests.conftest import make_config
from tests.tui_support import settle
from tui.app import build_app

async def main(url, code):
    app = build_app(make_config(url, mail={"deliver_in_app": False}), "mo")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*code, "enter")
        await settle(pilot)
        await pilot.press("t", *"FROM-TWO", "enter")
        await settle(pilot)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_conflict_between_two_apps_gives_a_notice_and_reloads(shop, manager, config):
    ref = place(shop)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_detail(pilot, app)
        # another operator, in another backroom process on the same database
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-c", OTHER_OPERATOR, config.database_url, ref.code.split("-")[1],
            cwd=str(Path(__file__).parent.parent))
        assert await other.wait() == 0
        assert Order.get_by_id(ref.id).tracking_number == "FROM-TWO"
        await pilot.press("f", *"REF-ONE", "enter")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("changed by mo since you opened it" in m for m in messages), messages
        assert Order.get_by_id(ref.id).internal_reference == ""
        assert screen.detail.tracking_number == "FROM-TWO"  # reloaded
        assert "FROM-TWO" in screen_text(app)


async def test_delete_only_test_orders(shop, admin, config):
    real = place(shop)
    test = place(shop, is_test=True)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_detail(pilot, app)  # newest: the test order
        await pilot.press("D")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert Order.get_or_none(Order.id == test.id) is None
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        assert Order.get_or_none(Order.id == real.id) is not None
        assert any("real order" in n.message for n in app._notifications)


async def test_help_lists_every_binding_with_id(shop, admin, config):
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {"queue.filter", "queue.mark", "queue.status", "queue.mark_all",
                "app.help"} <= ids
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)


async def test_command_line_views_and_order(shop, admin, config):
    paid = place(shop)
    status.change_status(shop, admin, [paid.id], "paid", hold_mail=False)
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"toship", "enter")
        await settle(pilot)
        queue = app.screen
        assert [r.id for r in queue.rows] == [paid.id]
        await pilot.press("colon", *f"order {paid.code}", "enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)
        assert app.screen.detail.id == paid.id


async def test_key_remap_from_config(shop, admin, config):
    place(shop)
    place(shop)
    from tests.conftest import make_config
    from tui.app import build_app

    remapped = make_config(config.database_url, mail={"deliver_in_app": False},
                           keys={"queue.mark": "x"})
    app = build_app(remapped, "ada")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        assert len(app.screen.marked) == 1


def test_a_remap_of_a_binding_no_key_has_stops_the_app(shop, admin, config):
    """A typo in [keys] (`queue.makr`) was ignored by Textual's keymap without a word: the
    app refuses to start, naming it, as an unknown setting does."""
    import pytest

    from store.errors import ConfigError
    from tests.conftest import make_config
    from tui.app import build_app

    typo = make_config(config.database_url, keys={"queue.mark": "m", "queue.makr": "x"})
    with pytest.raises(ConfigError) as refused:
        build_app(typo, "ada")
    assert str(refused.value) == (
        "[keys] 'queue.makr': no key of the app has that id (`?` in the app shows each key's "
        "id, like queue.mark); correct or remove it")


async def test_palette_reaches_screens_views_and_actions(shop, admin, config):
    paid = place(shop)
    status.change_status(shop, admin, [paid.id], "paid", hold_mail=False)
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Go to customers", "Go to outbox", "View: pending", "View: today",
                "Filter", "Mark all", "Status", "Undo the last status change"} <= titles
        await pilot.press("ctrl+p", *"View: toship")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert [r.id for r in app.screen.rows] == [paid.id]


async def test_mode_digits_still_switch_screens(shop, admin, config):
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await wait_until(pilot, lambda: app.current_mode == "customers")
        await pilot.press("1")
        await wait_until(pilot, lambda: app.current_mode == "orders")
        assert isinstance(app.screen, QueueScreen)


async def test_unexpected_error_is_a_notice_and_logged(shop, admin, config, tmp_path):
    if not config.database_url.startswith("sqlite"):
        pytest.skip("drops a table: only on the per-test SQLite file, not the shared PG db")
    place(shop)
    log = tmp_path / "errors.log"
    app = make_app(config, log_file=str(log))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        from store.models import db

        db.execute_sql("DROP TABLE order_item")  # the database breaks under the app
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Unexpected error") and str(log) in m for m in messages)
        assert "Traceback" in log.read_text()


async def test_undo_after_the_window_says_so_and_changes_nothing(shop, admin, config):
    """The store counts the undo window; `z` past it is a plain notice, the order stays."""
    ref = place(shop)
    app = make_app(config, undo_seconds=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        change = status.change_status(app.shop, admin, [ref.id], "cancelled")
        app.remember_change(change.batch, "cancelled")
        await asyncio.sleep(1.2)  # the window closes
        await pilot.press("z")
        await wait_until(pilot, lambda: any("Not undone" in n.message
                                            for n in app._notifications))
        text = next(n.message for n in app._notifications if "Not undone" in n.message)
    assert "too late to undo" in text
    assert Order.get_by_id(ref.id).status == "cancelled"
    assert OrderEvent.select().where(OrderEvent.kind == "status_undone").count() == 0
