"""Issue 12 point 7: the refund asks y/n and says what the store did (the status it moved to,
the mail queued); a payment of any amount is recorded from the detail (`$`) and the CLI
(`backroom orders pay`)."""

from __future__ import annotations

import pytest
import tomli_w
from click.testing import CliRunner

from store import payments, status
from store.errors import Refused
from store.models import Order, OrderEvent, Outbox, Payment
from tests.conftest import cli_config
from tests.factories import place
from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.cli import main
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.form import FormDialog
from tui.screens.order_detail import OrderDetailScreen


@pytest.fixture
def run(shop, admin, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def invoke(*args: str, ok: bool = True):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": "ada"}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_refund_order_says_the_status_and_the_mail(shop, manager):
    ref = place(shop, price=1000)  # 12.00 EUR with tax
    status.change_status(shop, manager, [ref.id], "paid", hold_mail=False)
    part = payments.refund_order(shop, manager, ref.id, 200, "scratched")
    assert (part.moved_to, part.mail, part.recipient) == (None, "refunded", "ann@example.com")
    assert part.credit_note  # the order was invoiced on entering paid
    assert part.summary() == (f"refunded 2.00 EUR of {ref.code}; the status stays as it was; "
                              f"the refunded mail is queued to ann@example.com; credit note "
                              f"{part.credit_note}")
    rest = payments.refund_order(shop, manager, ref.id, 1000, "returned", notify=False)
    assert rest.moved_to == "refunded" and rest.mail == ""
    assert "; the order is now Refunded; no mail to the customer" in rest.summary("Refunded")


def test_record_payment_of_any_amount(shop, manager):
    ref = place(shop, price=1000)
    first = payments.record_payment(shop, manager, ref.id, 500, "wire", "TX-1")
    assert (first.paid, first.total, first.moved_to) == (500, 1200, None)
    assert first.summary() == (f"payment of 5.00 EUR recorded on {ref.code}: paid 5.00 EUR of "
                               "12.00 EUR")
    with pytest.raises(Refused, match="would exceed the total"):
        payments.record_payment(shop, manager, ref.id, 701)
    assert payments.record_payment(shop, manager, ref.id, 700).paid == 1200


def test_cli_pay_and_refund(shop, run):
    ref = place(shop, price=1000)
    out = run("orders", "pay", ref.code, "4.50", "--method", "cash").output
    assert out.strip() == f"payment of 4.50 EUR recorded on {ref.code}: paid 4.50 EUR of 12.00 EUR"
    assert Payment.get(Payment.order == ref.id).method == "cash"
    refused = run("orders", "pay", ref.code, "100", ok=False)
    assert "would exceed the total" in refused.output and "Traceback" not in refused.output
    assert run("orders", "pay", ref.code, "abc", ok=False).output.startswith("backroom: ")
    assert Order.get_by_id(ref.id).amount_paid == 450  # nothing changed by the refusals
    out = run("orders", "refund", ref.code, "4.50", "--reason", "goodwill").output
    assert out.strip() == (f"refunded 4.50 EUR of {ref.code}; the status stays as it was; the "
                           "refunded mail is queued to ann@example.com")


async def test_record_a_payment_from_the_detail(shop, admin, config):
    ref = place(shop, price=1000)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("dollar_sign")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        amount = app.screen.query_one("#f-amount")
        assert amount.value == "12.00"  # what is still owed
        amount.value = "3"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Order.get_by_id(ref.id).amount_paid == 300
        assert any("payment of 3.00 EUR recorded" in n.message for n in app._notifications)
        await pilot.press("dollar_sign")
        await settle(pilot)
        assert app.screen.query_one("#f-amount").value == "9.00"
        app.screen.query_one("#f-amount").value = "10"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)  # refused: the dialog stays, saying why
        assert "would exceed the total" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert Order.get_by_id(ref.id).amount_paid == 300
        kinds = [e.kind for e in OrderEvent.select().where(OrderEvent.order == ref.id)]
        assert kinds.count("payment") == 1


async def test_refund_asks_then_says_the_status_and_mail(shop, admin, config):
    ref = place(shop, price=1000)
    status.change_status(shop, admin, [ref.id], "paid", hold_mail=False)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*"lost", "enter")  # the whole 12.00 EUR, pre-filled
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Refund 12.00 EUR of" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert Order.get_by_id(ref.id).status == "refunded"
        notice = [n.message for n in app._notifications][-1]
        assert "the order is now Refunded" in notice
        assert "the refunded mail is queued to ann@example.com" in notice
        assert Outbox.select().where(Outbox.kind == "refunded").count() == 1
