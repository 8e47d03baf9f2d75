"""The demo shop: deterministic for a seed, realistic, searchable, and never built twice."""

from __future__ import annotations

import pytest

from store import db as dbmod
from store import demo, orders, queries, status
from store.errors import Refused
from store.models import Address, Customer, Order, OrderEvent, Outbox, Payment, Subscriber
from store.queries import QueueFilter
from store.shop import open_shop
from tests.conftest import make_config


def _snapshot() -> list[tuple[str, int, str, str]]:
    return [(o.code, o.total, o.status, o.customer_email)
            for o in Order.select().order_by(Order.number)]


def test_same_seed_same_shop(shop, admin, tmp_path):
    steps: list[int] = []
    stats = demo.build(shop, 400, seed=7, progress=steps.append)
    assert sum(steps) == 400
    assert stats.orders == 400 and "400 orders" in stats.summary()
    first = _snapshot()
    dbmod.close()
    other = open_shop(make_config(f"sqlite:///{tmp_path / 'again.db'}"))
    demo.build(other, 400, seed=7)
    assert _snapshot() == first
    dbmod.close()
    third = open_shop(make_config(f"sqlite:///{tmp_path / 'other-seed.db'}"))
    demo.build(third, 400, seed=8)
    assert _snapshot() != first


def test_demo_is_realistic(shop, admin):
    demo.build(shop, 1500, seed=3)
    statuses = {s for (s,) in Order.select(Order.status).distinct().tuples()}
    assert {"awaiting_payment", "paid", "shipped", "completed", "cancelled"} <= statuses
    completed = Order.select().where(Order.status == "completed").count()
    assert completed > Order.select().count() * 0.4
    names = " ".join(n for (n,) in Order.select(Order.customer_name).tuples())
    assert any(ch in names for ch in "ŁŻżółćçØø")
    countries = {c for (c,) in Address.select(Address.country).distinct().tuples()}
    assert len(countries) >= 5
    assert Order.select().where(Order.customer.is_null()).count() > 0  # guests
    assert Order.select().where(Order.is_test == True).count() > 0  # noqa: E712
    assert Customer.select().count() >= 300
    assert Payment.select().where(Payment.kind == "refund").count() > 0
    partial = Order.select().where(Order.amount_refunded > 0,
                                   Order.amount_refunded < Order.amount_paid).count()
    assert partial > 0
    assert OrderEvent.select().where(OrderEvent.kind == "note").count() > 0
    sent = Outbox.select().where(Outbox.state == "sent").count()
    assert sent > Outbox.select().count() / 2
    # the customers who consented at checkout are the newsletter's subscribers
    consenting = {c.email_key for c in Customer.select().where(Customer.marketing_consent)}
    assert consenting and {s.email_key for s in Subscriber.select()} == consenting
    # money adds up on every order
    for o in Order.select().limit(200):
        assert o.total == o.subtotal + o.tax + o.shipping_cost - o.discount
        assert 0 <= o.amount_refunded <= o.amount_paid <= o.total


def test_demo_orders_are_searchable_and_workable(shop, admin):
    demo.build(shop, 300, seed=5)
    order = Order.select().where(Order.status == "awaiting_payment",
                                 Order.archived == False).first()  # noqa: E712
    found = queries.queue_page(QueueFilter(text=order.code)).rows
    assert [r.id for r in found] == [order.id]
    surname = order.customer_name.split()[-1]
    assert order.id in queries.matching_ids(QueueFilter(text=surname))
    assert orders.find_order(shop, order.code.lower()).id == order.id
    status.change_status(shop, admin, [order.id], "paid")
    assert queries.order_detail(order.id).status == "paid"
    # new orders continue the numbering
    from tests.factories import place

    ref = place(shop)
    assert Order.get_by_id(ref.id).number == Order.select(Order.number).order_by(
        Order.number.desc()).scalar()


def test_demo_refuses_a_shop_with_orders(shop, admin):
    demo.build(shop, 50, seed=1)
    with pytest.raises(Refused, match="already holds 50 orders"):
        demo.build(shop, 50, seed=1)


def test_demo_command_builds_once_then_reopens(tmp_path):
    from click.testing import CliRunner

    from tui.cli import main

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ["demo", "--orders", "120", "--seed", "2", "--no-tui", "--database", url]
    first = CliRunner().invoke(main, args, env={"BACKROOM_OPERATOR": None},
                               catch_exceptions=False)
    assert first.exit_code == 0 and "120 orders" in first.output
    again = CliRunner().invoke(main, args, env={"BACKROOM_OPERATOR": None},
                               catch_exceptions=False)
    assert again.exit_code == 0 and "already holds 120 orders" in again.output
    dbmod.close()
