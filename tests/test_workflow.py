"""The workflow as data: the default's statuses and rules, refusal of broken workflows at load,
and a replacement workflow from config.toml used end to end."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from store import db as dbmod
from store import operators, payments, status
from store import workflow as wfmod
from store.config import from_mapping
from store.errors import ConfigError
from store.models import Order, OrderEvent, Outbox
from store.shop import open_shop
from tests.factories import place


def test_default_covers_the_shop_statuses() -> None:
    wf = wfmod.DEFAULT
    assert set(wf.keys()) == {"awaiting_payment", "awaiting_verification", "paid", "shipped",
                              "completed", "cancelled", "refunded"}
    assert wf.initial.key == "awaiting_payment"
    assert wf["shipped"].requires == ("tracking",)
    assert wf["awaiting_payment"].may_pay and not wf["shipped"].may_pay
    assert set(wf.final_keys()) == {"completed", "cancelled", "refunded"}
    assert "archived" not in wf
    for entry in wf.statuses.values():
        assert entry.label and entry.colour and entry.hotkey
    assert wf.resolve("Shipped") == "shipped" and wf.resolve("x") == "cancelled"
    assert wf.resolve("awaiting payment") == "awaiting_payment"


def test_shipped_needs_tracking_unless_pickup(shop, clerk) -> None:
    post, pickup = place(shop), place(shop, shipping_method="pickup")
    status.change_status(shop, clerk, [post.id, pickup.id], "paid")
    change = status.change_status(shop, clerk, [post.id, pickup.id], "shipped")
    outcome = {r.order_id: (r.changed, r.reason) for r in change.results}
    assert outcome[post.id] == (False, "Shipped needs a tracking number")
    assert outcome[pickup.id] == (True, "")
    assert Order.get_by_id(post.id).status == "paid"
    status.change_status(shop, clerk, [post.id], "shipped", tracking="1Z999", carrier="UPS")
    order = Order.get_by_id(post.id)
    assert (order.status, order.tracking_number, order.carrier) == ("shipped", "1Z999", "ups")


def _statuses(**specs: dict[str, Any]) -> dict[str, Any]:
    return {"statuses": specs}


@pytest.mark.parametrize(("table", "message"), [
    (_statuses(new={"initial": True, "next": ["gone"]}),
     "'new' moves to unknown status 'gone'"),
    (_statuses(new={"initial": True, "next": []}, lost={"next": ["new"]}),
     "'lost' is unreachable from 'new'"),
    (_statuses(new={"next": ["done"]}, done={}), "no initial status"),
    (_statuses(a={"initial": True, "next": ["b"]}, b={"initial": True}), "several initial"),
    (_statuses(a={"initial": True, "colour": "red", "nxt": []}), "unknown key 'nxt'"),
    (_statuses(a={"initial": True, "requires": ["signature"]}), "unknown input 'signature'"),
    (_statuses(a={"initial": True, "next": ["b"], "hotkey": "x"}, b={"hotkey": "x"}),
     "share the hotkey"),
    ({"statuses": {}}, "needs a [workflow.statuses.<key>] table"),
])
def test_broken_workflow_is_refused_at_load(table: dict[str, Any], message: str, tmp_path) -> None:
    with pytest.raises(ConfigError) as err:
        wfmod.from_config(table, "shop.toml")
    assert "shop.toml" in str(err.value) and message in str(err.value)
    config = from_mapping({"database": {"url": f"sqlite:///{tmp_path / 'x.db'}"},
                           "workflow": table}, "shop.toml", environ={})
    dbmod.close()
    with pytest.raises(ConfigError, match=r"shop\.toml"):
        open_shop(config)


REPLACEMENT = """
[database]
url = "{url}"

[workflow.statuses.new]
label = "New"
hotkey = "n"
initial = true
may_pay = true
next = ["packed", "void"]

[workflow.statuses.packed]
label = "Packed"
hotkey = "k"
paid = true
mail = "payment_received"
next = ["sent"]

[workflow.statuses.sent]
label = "Sent"
hotkey = "s"
mail = "shipped"
requires = ["tracking"]
next = ["refunded"]

[workflow.statuses.void]
label = "Void"
hotkey = "v"
final = true

[workflow.statuses.refunded]
label = "Refunded"
hotkey = "r"
mail = "refunded"
final = true
"""


def test_replacement_workflow_from_config_end_to_end(db_url: str) -> None:
    url = db_url
    config = from_mapping(tomllib.loads(REPLACEMENT.format(url=url)), "config.toml", environ={})
    dbmod.close()
    shop = open_shop(config)
    try:
        clerk = operators.ensure_admin("ada")
        ref = place(shop)
        assert Order.get_by_id(ref.id).status == "new"
        refused = status.change_status(shop, clerk, [ref.id], "sent", tracking="T1")
        assert "New cannot move to Sent" in refused.results[0].reason
        status.change_status(shop, clerk, [ref.id], "packed")
        order = Order.get_by_id(ref.id)
        assert order.status == "packed" and order.amount_paid == order.total
        assert status.change_status(shop, clerk, [ref.id], "sent").refused[0].reason == (
            "Sent needs a tracking number")
        change = status.change_status(shop, clerk, [ref.id], "sent", tracking="T1")
        assert change.changed and change.mails == 1
        assert payments.refund(shop, clerk, ref.id, order.total, "lost parcel") is True
        order = Order.get_by_id(ref.id)
        assert order.status == "refunded" and order.amount_refunded == order.total
        statuses = [(e.from_status, e.to_status) for e in OrderEvent.select().where(
            OrderEvent.order == ref.id, OrderEvent.kind == "status").order_by(OrderEvent.id)]
        assert statuses == [("new", "packed"), ("packed", "sent"), ("sent", "refunded")]
        kinds = {m.kind for m in Outbox.select().where(Outbox.order == ref.id)}
        assert {"payment_received", "shipped", "refunded"} <= kinds
        with pytest.raises(Exception, match="unknown status"):
            status.change_status(shop, clerk, [ref.id], "paid")
    finally:
        dbmod.close()
