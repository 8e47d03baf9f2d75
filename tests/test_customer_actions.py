"""Customer actions seen through the queries, on SQLite and PostgreSQL: erasure keeps the
orders and the accounts' totals, the search index follows every change, hostile search text
is taken literally, group deletion moves members."""

from __future__ import annotations

import json

from peewee import fn

from store import customer_queries as cq
from store import customers, payments, status
from store.models import Customer, Order, Payment
from tests.factories import place


def _emails(shop, text: str) -> set[str]:
    return {r.email for r in cq.customer_page(shop, cq.parse_customer_filter(text)).rows}


def test_delete_keeps_orders_and_totals_and_leaves_the_index(shop, admin, tmp_path):
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Annabel",
                                    last_name="Smithers", marketing_consent=True).id
    bob = customers.create_customer(shop, admin, email="bob@example.com", first_name="Bob",
                                    last_name="Stone").id
    refs = [place(shop, customer_id=ann, price=p) for p in (1000, 2500)]
    place(shop, customer_id=bob, price=700)
    status.change_status(shop, admin, [r.id for r in refs], "paid")
    payments.refund(shop, admin, refs[0].id, 500, "scratched")

    def books():
        return (Order.select().count(), Order.select(fn.SUM(Order.total)).scalar(),
                Payment.select(fn.SUM(Payment.amount)).scalar(),
                Order.select(fn.SUM(Order.amount_paid - Order.amount_refunded)).scalar())

    before = books()
    assert _emails(shop, "smither") == {"ann@example.com"}
    assert cq.segment_ids(shop, "subscribers") == [ann]
    customers.delete_customer(shop, admin, ann, "ann@example.com")
    assert books() == before
    assert {o.customer_email for o in Order.select().where(Order.customer == ann)} == {
        "ann@example.com"}  # the orders keep the copies made at checkout
    assert _emails(shop, "smither") == set() and _emails(shop, "an") == set()
    assert _emails(shop, "") == {"bob@example.com"}
    assert [r.id for r in cq.customer_page(shop, cq.parse_customer_filter("status:deleted"))
            .rows] == [ann]
    assert cq.segment_ids(shop, "subscribers") == []
    profile = cq.customer_profile(shop, ann)
    assert (profile.name, profile.email, profile.status) == ("", "", "deleted")
    assert profile.order_count == 2 and profile.history[-1].kind == "erased"
    exported = json.loads(cq.export_customer(shop, admin, ann, tmp_path).path.read_text())
    assert exported["customer"]["email"] == "" and exported["addresses"] == []
    assert "Annabel" not in json.dumps(exported["customer"])


def test_index_follows_edits_and_addresses(shop, admin):
    cid = customers.create_customer(shop, admin, email="zoe@example.com", first_name="Zoé",
                                    last_name="Quint").id
    assert _emails(shop, "quint") == {"zoe@example.com"}
    customers.edit_customer(shop, admin, cid, {"last_name": "Marchetti",
                                               "email": "zoe.m@example.net"})
    assert _emails(shop, "quint") == set()
    assert _emails(shop, "marchet") == _emails(shop, "example.net") == {"zoe.m@example.net"}
    assert _emails(shop, "ma") == {"zoe.m@example.net"}  # a short prefix of the last name
    customers.set_address(shop, admin, cid, "shipping",
                          {"first_name": "Zoé", "last_name": "Marchetti", "line1": "2 Via Roma",
                           "postcode": "00100", "city": "Roma", "country": "IT"})
    assert _emails(shop, "roma") == {"zoe.m@example.net"}


def test_hostile_search_text_is_literal(shop, admin):
    customers.create_customer(shop, admin, email="pct@example.com", first_name="Fifty%_Off",
                              last_name='Quote"s')
    customers.create_customer(shop, admin, email="plain@example.com", first_name="Fiftyx",
                              last_name="Offer")
    assert _emails(shop, "y%_o") == {"pct@example.com"}
    assert _emails(shop, '"s') == set()  # 1-2 characters: a prefix, and no name starts so
    assert _emails(shop, 'te"s') == {"pct@example.com"}
    for text in ("OR AND", "NEAR(a b)", "*", "col:umn", "a' OR '1'='1", "%%", "__", "\\"):
        cq.customer_page(shop, cq.CustomerFilter(text=text))  # no error, whatever it finds


def test_group_delete_moves_members_to_the_default(shop, admin):
    retail = customers.create_group(shop, admin, "Retail")
    trade = customers.create_group(shop, admin, "Trade", discount_bp=750, privilege="net-30")
    ids = [customers.create_customer(shop, admin, email=f"c{i}@example.com", first_name="C",
                                     last_name=str(i), group_id=trade).id for i in range(3)]
    customers.create_customer(shop, admin, email="r@example.com", first_name="R", last_name="R")
    counts = {g.name: g.members for g in cq.group_rows()}
    assert counts == {"Retail": 1, "Trade": 3}
    assert customers.delete_group(shop, admin, trade) == 3
    assert {Customer.get_by_id(i).group_id for i in ids} == {retail}
    assert [(g.name, g.members, g.is_default) for g in cq.group_rows()] == [("Retail", 4, True)]
    assert _emails(shop, "group:Retail") == {"r@example.com"} | {f"c{i}@example.com"
                                                                  for i in range(3)}
