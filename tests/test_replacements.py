"""Issue 12 point 11: a replacement order for a lost or damaged parcel: the items chosen at no
charge, the same address, linked both ways, noted in both histories; from the detail (`L`)
and the CLI (`backroom orders replace`)."""

from __future__ import annotations

import pytest
import tomli_w
from click.testing import CliRunner

from store import checks, queries, replacements, status
from store.errors import PermissionDenied, ValidationError
from store.models import Address, Order, OrderEvent, OrderItem, Outbox
from tests.conftest import cli_config
from tests.factories import place
from tests.tui_support import make_app, settle, wait_until
from tui.cli import main
from tui.dialogs.replacement import ReplacementDialog
from tui.screens.order_detail import OrderDetailScreen


def _shipped(shop, admin, **kwargs):
    ref = place(shop, **kwargs)
    status.change_status(shop, admin, [ref.id], "paid", hold_mail=False)
    status.change_status(shop, admin, [ref.id], "shipped", tracking="TRK1", hold_mail=False)
    return ref


def test_replacement_is_free_linked_and_noted_both_ways(shop, admin, manager):
    from store import customers
    cust = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                     last_name="Smith")
    ref = _shipped(shop, admin, customer_id=cust.id, total_items=3)
    done = replacements.place_replacement(shop, manager, ref.id, {"SKU-1": 0}, "lost in transit")
    new = Order.get_by_id(done.order_id)
    assert (new.total, new.amount_paid, new.status, new.replaces_id) == (0, 0, "paid", ref.id)
    assert [(i.sku, i.quantity, i.unit_price) for i in
            OrderItem.select().where(OrderItem.order == new.id)] == [("SKU-1", 1, 0)]
    old_addresses = {a.kind: (a.line1, a.city) for a in
                     Address.select().where(Address.order == ref.id)}
    assert {a.kind: (a.line1, a.city) for a in
            Address.select().where(Address.order == new.id)} == old_addresses
    assert queries.order_detail(ref.id).replaced_by == (done.code,)
    assert queries.order_detail(new.id).replaces == ref.code
    noted = OrderEvent.get(OrderEvent.order == ref.id, OrderEvent.kind == "replacement")
    assert noted.message == f"replacement {done.code} placed: 1 × SKU-1 (lost in transit)"
    placed = OrderEvent.get(OrderEvent.order == new.id, OrderEvent.kind == "placed")
    assert placed.message == f"replacement for {ref.code}: 1 × SKU-1 (lost in transit)"
    mail = Outbox.get(Outbox.order == new.id)
    assert mail.kind == "order_placed" and ref.code in mail.payload  # names the original
    assert not Outbox.select().where(Outbox.order == new.id,
                                     Outbox.kind == "merchant_new_order").exists()
    found = {c.name: c.differences for c in checks.run_checks(shop, admin) if c.differences}
    assert found == {}  # the customer's figures and the search index are in step


def test_replacement_refuses_what_cannot_be(shop, admin, clerk, manager):
    ref = _shipped(shop, admin, total_items=2)
    with pytest.raises(PermissionDenied):
        replacements.place_replacement(shop, clerk, ref.id)
    with pytest.raises(ValidationError, match="holds no item 'NOPE'"):
        replacements.place_replacement(shop, manager, ref.id, {"NOPE": 1})
    with pytest.raises(ValidationError, match="between 1 and 1 can be replaced, not 5"):
        replacements.place_replacement(shop, manager, ref.id, {"SKU-0": 5})
    with pytest.raises(ValidationError, match="choose at least one item"):
        replacements.place_replacement(shop, manager, ref.id, {})
    assert Order.select().count() == 1  # nothing was written


def test_mail_of_a_replacement_says_what_it_replaces(shop, admin):
    from mailer import context as mailcontext
    from mailer.render import Renderer
    ref = _shipped(shop, admin)
    done = replacements.place_replacement(shop, admin, ref.id)
    mail = Outbox.get(Outbox.order == done.order_id, Outbox.kind == "order_placed")
    ctx = mailcontext.load(mail.kind, mail.recipient, mail.payload, mail.order_id,
                           mail.customer_id, shop.config, shop.workflow)
    text = Renderer().render("order_placed", "en", ctx).text
    assert f"This order replaces order {ref.code}, at no cost to you" in text
    assert "Pay for your order" not in text and "How to pay" not in text


def test_cli_replace(shop, admin, tmp_path, db_url):
    ref = _shipped(shop, admin, total_items=2)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(path), *args],
                                  env={"BACKROOM_OPERATOR": "ada"}, catch_exceptions=False)

    bad = run("orders", "replace", ref.code, "--item", "SKU-0:x")
    assert bad.exit_code == 1 and "quantity after ':' must be a whole number" in bad.output
    for none in ("SKU-0:0", "SKU-0:-3"):  # 0 placed a replacement of the whole line
        refused = run("orders", "replace", ref.code, "--item", none)
        assert refused.exit_code == 1 and refused.output.strip() == (
            f"backroom: --item '{none}': the quantity must be at least 1 (without one, the "
            "whole line is replaced)")
    assert not Order.select().where(Order.replaces == ref.id).exists()
    ok = run("orders", "replace", ref.code, "--item", "sku-1", "--reason", "broken")
    assert ok.exit_code == 0, ok.output
    new = Order.get(Order.replaces == ref.id)
    assert ok.output.strip() == (f"replacement {new.code} placed for {ref.code}: 1 item(s) at "
                                 "no charge, to the same address")
    shown = run("orders", "show", new.code).output
    assert f"replacement for {ref.code}: 1 × SKU-1 (broken)" in shown


async def test_replacement_from_the_detail(shop, admin, config):
    ref = _shipped(shop, admin, total_items=2)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, ReplacementDialog)
        app.screen.query_one("#replacement-items").deselect(1)  # only the first item
        await pilot.press(*"parcel lost", "enter")
        await settle(pilot)
        new = Order.get(Order.replaces == ref.id)
        assert [i.sku for i in OrderItem.select().where(OrderItem.order == new.id)] == ["SKU-0"]
        await wait_until(pilot, lambda: app.screen.detail.replaced_by == (new.code,))
        await pilot.press("o")  # the linked order opens
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None and app.screen.detail.id == new.id)
        assert app.screen.detail.replaces == ref.code and app.screen.detail.total == 0
