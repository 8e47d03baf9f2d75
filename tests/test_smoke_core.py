"""The core services end to end on one database: place, change status, refund, undo."""

from __future__ import annotations

import pytest

from store import orders, payments, status, undo
from store.errors import Refused
from store.models import Order, OrderEvent, Outbox
from tests.factories import place


def test_place_pay_ship_refund(shop, admin):
    ref = place(shop)
    assert ref.code.startswith("BR-")
    assert Outbox.select().where(Outbox.order == ref.id).count() == 2  # customer + merchant
    result = status.change_status(shop, admin, [ref.id], "paid")
    assert [r.changed for r in result.results] == [True]
    order = Order.get_by_id(ref.id)
    assert order.status == "paid" and order.amount_paid == order.total
    refused = status.change_status(shop, admin, [ref.id], "shipped")
    assert refused.refused[0].reason == "Shipped needs a tracking number"
    status.change_status(shop, admin, [ref.id], "shipped", tracking="1Z999")
    with pytest.raises(Refused, match="exceeds"):
        payments.refund(shop, admin, ref.id, order.total + 1, "too much")
    assert payments.refund(shop, admin, ref.id, order.total, "returned") is True
    assert Order.get_by_id(ref.id).status == "refunded"
    kinds = [e.kind for e in OrderEvent.select().where(OrderEvent.order == ref.id)
             .order_by(OrderEvent.id)]
    assert kinds == ["placed", "status", "status", "mail_withdrawn", "refund", "status",
                     "mail_withdrawn"]  # each held status mail superseded by the next


def test_undo_withdraws_held_mail(shop, admin):
    ref = place(shop)
    change = status.change_status(shop, admin, [ref.id], "cancelled")
    held = Outbox.get(Outbox.batch == change.batch)
    assert held.hold_until is not None and held.state == "queued"
    undo.undo(shop, admin, change.batch)
    assert Order.get_by_id(ref.id).status == "awaiting_payment"
    assert Outbox.get_by_id(held.id).state == "cancelled"


def test_bulk_ship_fills_missing_tracking_only_and_undo_restores_it(shop, admin):
    has, lacks = place(shop), place(shop)
    status.change_status(shop, admin, [has.id, lacks.id], "paid")
    orders.set_tracking(shop, admin, has.id, "REAL-1", carrier="DHL")
    change = status.change_status(shop, admin, [has.id, lacks.id], "shipped", tracking="BULK-9",
                                  shared_tracking=True)
    assert len(change.changed) == 2
    assert Order.get_by_id(has.id).tracking_number == "REAL-1"
    assert Order.get_by_id(lacks.id).tracking_number == "BULK-9"
    undo.undo(shop, admin, change.batch)
    assert Order.get_by_id(has.id).tracking_number == "REAL-1"
    assert Order.get_by_id(lacks.id).tracking_number == ""
    assert Order.get_by_id(lacks.id).status == "paid"


def test_one_order_tracking_replaces_and_undo_puts_the_old_back(shop, admin):
    ref = place(shop)
    status.change_status(shop, admin, [ref.id], "paid")
    orders.set_tracking(shop, admin, ref.id, "TYPO-1")
    change = status.change_status(shop, admin, [ref.id], "shipped", tracking="GOOD-2")
    assert Order.get_by_id(ref.id).tracking_number == "GOOD-2"
    undo.undo(shop, admin, change.batch)
    assert Order.get_by_id(ref.id).tracking_number == "TYPO-1"
