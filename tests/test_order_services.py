"""Order services as an operator sees them: each change writes its history and its mails, and
each refusal says why and changes nothing."""

from __future__ import annotations

import json

import pytest

from store import customers, orders, payments, queries, status, undo
from store.errors import NotFound, Refused, ValidationError
from store.models import Address, Order, OrderEvent, OrderSearch, Outbox, Payment
from tests.bulk import insert_orders
from tests.factories import ADDRESS, place


def _events(order_id: int, kind: str | None = None) -> list[OrderEvent]:
    query = OrderEvent.select().where(OrderEvent.order == order_id)
    if kind:
        query = query.where(OrderEvent.kind == kind)
    return list(query.order_by(OrderEvent.id))


def _mails(order_id: int, kind: str) -> list[Outbox]:
    return list(Outbox.select().where(Outbox.order == order_id, Outbox.kind == kind))


def test_place_for_guest_and_customer(shop, admin) -> None:
    guest = place(shop, email="guest@example.com", name="Gus Guest")
    order = Order.get_by_id(guest.id)
    assert (order.customer, order.customer_name, order.customer_email) == (
        None, "Gus Guest", "guest@example.com")
    assert order.subtotal == 1999 and order.tax == 400 and order.total == 2399
    assert isinstance(order.total, int) and order.currency == "EUR"
    assert [e.kind for e in _events(guest.id)] == ["placed"]
    assert {m.kind for m in Outbox.select().where(Outbox.order == guest.id)} == {
        "order_placed", "merchant_new_order"}

    cust = customers.create_customer(shop, admin, email="Cy@Example.com", first_name="Cy",
                                     last_name="Young", phone="555")
    ref = place(shop, customer_id=cust.id)
    order = Order.get_by_id(ref.id)
    assert order.customer is not None
    assert (order.customer.id, order.customer_name, order.customer_phone) == (
        cust.id, "Cy Young", "555")
    with pytest.raises(ValidationError, match="guest's name and email"):
        place(shop, name="", email="")


@pytest.mark.parametrize("state", ["suspended", "denied"])
def test_suspended_or_denied_customer_cannot_order(shop, admin, state: str) -> None:
    cust = customers.create_customer(shop, admin, email="bad@example.com", first_name="B",
                                     last_name="A")
    customers.set_status(shop, admin, cust.id, state, "chargebacks")
    before = (Order.select().count(), Outbox.select().count())
    with pytest.raises(Refused, match=f"is {state}: they cannot place orders"):
        place(shop, customer_id=cust.id)
    assert (Order.select().count(), Outbox.select().count()) == before
    customers.reactivate(shop, admin, cust.id)
    place(shop, customer_id=cust.id)


def test_order_keeps_its_address_when_the_customer_moves(shop, admin, manager) -> None:
    cust = customers.create_customer(shop, admin, email="mover@example.com", first_name="M",
                                     last_name="Over", address=ADDRESS)
    given = place(shop, customer_id=cust.id)
    copied = place(shop, customer_id=cust.id, shipping_address=None, billing_address=None)
    customers.set_address(shop, manager, cust.id, "shipping", {"city": "Lyon", "line1": "2 Rue"})
    for ref in (given, copied):
        kept = {a.kind: a.city for a in Address.select().where(Address.order == ref.id)}
        assert kept == {"shipping": "Paris", "billing": "Paris"}
    assert Address.get(Address.customer == cust.id, Address.kind == "shipping").city == "Lyon"


def test_bulk_change_changes_some_refuses_others_untouched(shop, clerk, admin) -> None:
    fresh = [place(shop).id for _ in range(3)]
    already = place(shop).id
    status.change_status(shop, clerk, [already], "cancelled")
    archived = place(shop).id
    status.change_status(shop, clerk, [archived], "cancelled")
    orders.set_archived(shop, admin, [archived])
    refused_ids = [already, archived]
    before = {o.id: (o.version, o.updated_at, o.status) for o in Order.select()}
    mails_before = Outbox.select().count()

    change = status.change_status(shop, clerk, [*fresh, *refused_ids, 999999], "paid")
    assert change.summary() == "3 changed, 3 refused, 3 email(s) queued"
    reasons = {r.order_id: r.reason for r in change.refused}
    assert reasons[already] == "Cancelled cannot move to Paid / processing (allowed: none)"
    assert reasons[archived] == "archived; unarchive it first"
    assert reasons[999999] == "no such order"
    for oid in refused_ids:
        order = Order.get_by_id(oid)
        assert (order.version, order.updated_at, order.status) == before[oid]
        assert _events(oid, "status")[-1].batch != change.batch
    for oid in fresh:
        order = Order.get_by_id(oid)
        assert order.status == "paid" and order.version == before[oid][0] + 1
        assert order.updated_by == "cleo" and order.amount_paid == order.total
        [event] = _events(oid, "status")
        assert (event.from_status, event.to_status, event.operator_login, event.batch) == (
            "awaiting_payment", "paid", "cleo", change.batch)
        [mail] = _mails(oid, "payment_received")
        assert mail.batch == change.batch and mail.hold_until is not None
        assert Payment.get(Payment.order == oid).amount == order.total
    assert Outbox.select().count() == mails_before + 3
    assert dict(change.moves) == {"awaiting_payment": 3}


def test_bulk_ship_history_and_mails_carry_each_orders_values_in_the_order_given(
        shop, clerk) -> None:
    a, b, c = (place(shop, email=f"{n}@example.com", name=f"Buyer {n}").id for n in "abc")
    status.change_status(shop, clerk, [a, b, c], "paid")
    orders.set_tracking(shop, clerk, b, "REAL-1", "DHL")
    note = 'Dépôt "B" — back door'
    change = status.change_status(shop, clerk, [c, b, a], "shipped", tracking="BULK-9",
                                  shared_tracking=True, carrier="UPS", note=note)
    assert change.summary() == (  # the payment mails, still held, are superseded
        "3 changed, 0 refused, 3 email(s) queued, 3 earlier email(s) withdrawn")
    events = list(OrderEvent.select().where(OrderEvent.batch == change.batch,
                                            OrderEvent.kind == "status").order_by(OrderEvent.id))
    mails = list(Outbox.select().where(Outbox.batch == change.batch).order_by(Outbox.id))
    assert [e.order_id for e in events] == [m.order_id for m in mails] == [c, b, a]
    filled = {"tracking": "BULK-9", "old_tracking": "", "carrier": "ups", "old_carrier": ""}
    assert [json.loads(e.data) for e in events] == [filled, {}, filled]
    assert {(e.kind, e.from_status, e.to_status, e.message, e.visible) for e in events} == {
        ("status", "paid", "shipped", note, True)}
    codes = {o.id: o.code for o in Order.select()}
    assert [json.loads(m.payload) for m in mails] == [
        {"order_id": oid, "code": codes[oid], "status": "shipped", "tracking": tracking,
         "carrier": carrier, "message": ""}  # the note is internal: history only
        for oid, tracking, carrier in ((c, "BULK-9", "ups"), (b, "REAL-1", "dhl"),
                                       (a, "BULK-9", "ups"))]
    assert [(m.kind, m.recipient, m.idempotency_key) for m in mails] == [
        ("shipped", f"{n}@example.com", f"status:{oid}:{change.batch}")
        for n, oid in (("c", c), ("b", b), ("a", a))]
    assert all(m.hold_until is not None and m.next_attempt_at == m.hold_until and
               m.hold_until > m.created_at for m in mails)
    found = {o.id: (o.status, o.tracking_number, o.carrier, o.version) for o in Order.select()}
    assert found == {a: ("shipped", "BULK-9", "ups", 3), b: ("shipped", "REAL-1", "dhl", 4),
                     c: ("shipped", "BULK-9", "ups", 3)}
    assert "bulk-9" in OrderSearch.get_by_id(a).text  # found by free search, folded


def test_bulk_change_without_notify_and_dry_run(shop, clerk) -> None:
    ids = [place(shop).id for _ in range(2)]
    preview = status.change_status(shop, clerk, ids, "cancelled", dry_run=True)
    assert preview.summary() == "2 would change, 0 refused, 2 email(s) to queue"
    assert {o.status for o in Order.select()} == {"awaiting_payment"}
    assert not OrderEvent.select().where(OrderEvent.kind == "status").exists()
    change = status.change_status(shop, clerk, ids, "cancelled", notify=False)
    assert len(change.changed) == 2 and change.mails == 0
    assert not Outbox.select().where(Outbox.kind == "cancelled").exists()
    with pytest.raises(ValidationError, match="unknown status 'lost'"):
        status.change_status(shop, clerk, ids, "lost")


def test_payments_never_exceed_total(shop, manager) -> None:
    ref = place(shop)
    payments.record_payment(shop, manager, ref.id, 1000, "wire", "TX1")
    with pytest.raises(Refused, match="would exceed the total"):
        payments.record_payment(shop, manager, ref.id, 1400)
    payments.record_payment(shop, manager, ref.id, 1399)
    order = Order.get_by_id(ref.id)
    assert order.amount_paid == order.total == 2399 and order.payment_reference == "TX1"
    assert [json.loads(e.data)["amount"] for e in _events(ref.id, "payment")] == [1000, 1399]
    with pytest.raises(ValidationError):
        payments.record_payment(shop, manager, ref.id, 0)


def test_partial_then_full_refund(shop, manager, clerk) -> None:
    ref = place(shop)
    status.change_status(shop, clerk, [ref.id], "paid")
    assert payments.refund(shop, manager, ref.id, 399, "one item missing") is False
    order = Order.get_by_id(ref.id)
    assert (order.status, order.amount_refunded) == ("paid", 399)
    with pytest.raises(Refused, match=r"exceeds what can still be refunded \(20.00 EUR"):
        payments.refund(shop, manager, ref.id, 2001, "too much")
    with pytest.raises(ValidationError, match="needs a reason"):
        payments.refund(shop, manager, ref.id, 1, " ")
    assert payments.refund(shop, manager, ref.id, 2000, "returned") is True
    order = Order.get_by_id(ref.id)
    assert (order.status, order.amount_refunded, order.amount_paid) == ("refunded", 2399, 2399)
    refunds = [(p.amount, p.reason) for p in Payment.select().where(
        Payment.order == ref.id, Payment.kind == "refund").order_by(Payment.id)]
    assert refunds == [(399, "one item missing"), (2000, "returned")]
    assert [e.kind for e in _events(ref.id)][-4:] == ["refund", "refund", "status",
                                                      "mail_withdrawn"]
    assert len(_mails(ref.id, "refunded")) == 2
    [paid_mail] = _mails(ref.id, "payment_received")  # still held: superseded by the refund
    assert (paid_mail.state, paid_mail.last_error) == ("cancelled", "superseded by Refunded")
    with pytest.raises(Refused, match="nothing can be refunded"):
        payments.refund(shop, manager, ref.id, 1, "again")


def test_refund_of_unpaid_order_is_refused(shop, manager) -> None:
    ref = place(shop)
    with pytest.raises(Refused, match=r"nothing can be refunded \(paid 0.00 EUR"):
        payments.refund(shop, manager, ref.id, 1, "goodwill")


def test_undo_after_a_refund_keeps_the_money_consistent(shop, manager, clerk) -> None:
    ref = place(shop)
    change = status.change_status(shop, clerk, [ref.id], "paid")
    payments.refund(shop, manager, ref.id, 500, "partial")
    undone = undo.undo(shop, clerk, change.batch)
    assert undone.results[0].reason == "refunded since; not reverted"
    order = Order.get_by_id(ref.id)
    assert (order.status, order.amount_paid, order.amount_refunded) == ("paid", 2399, 500)
    assert _mails(ref.id, "payment_received")[0].state != "cancelled"


def test_tracking_and_reference_keep_old_and_new(shop, clerk) -> None:
    ref = place(shop)
    orders.set_tracking(shop, clerk, ref.id, " 1Z1 ", "UPS")
    orders.set_tracking(shop, clerk, ref.id, "1Z2")
    orders.set_reference(shop, clerk, ref.id, "PO-7")
    order = Order.get_by_id(ref.id)
    assert (order.tracking_number, order.carrier, order.internal_reference) == (
        "1Z2", "ups", "PO-7")  # the carrier's key: its label is shown
    assert [json.loads(e.data)["old"] for e in _events(ref.id, "tracking")] == ["", "1Z1"]
    assert json.loads(_events(ref.id, "reference")[0].data) == {"old": "", "new": "PO-7"}


def test_address_and_contact_edits_refused_once_shipped_unless_admin(shop, manager, admin,
                                                                     clerk) -> None:
    ref = place(shop)
    orders.edit_address(shop, manager, ref.id, "shipping", {"city": "Lille"})
    orders.edit_contact(shop, manager, ref.id, email="new@example.com", phone="+33 1")
    [event] = _events(ref.id, "address")
    data = json.loads(event.data)
    assert data["old"]["city"] == "Paris" and data["new"]["city"] == "Lille"
    assert json.loads(_events(ref.id, "contact")[0].data) == {
        "old": {"customer_email": "ann@example.com", "customer_phone": ""},
        "new": {"customer_email": "new@example.com", "customer_phone": "+33 1"}}
    status.change_status(shop, clerk, [ref.id], "paid")
    status.change_status(shop, clerk, [ref.id], "shipped", tracking="1Z")
    version = Order.get_by_id(ref.id).version
    with pytest.raises(Refused, match="has shipped: only an admin may edit it now"):
        orders.edit_address(shop, manager, ref.id, "shipping", {"city": "Nice"})
    with pytest.raises(Refused, match="has shipped"):
        orders.edit_contact(shop, manager, ref.id, phone="0")
    assert Order.get_by_id(ref.id).version == version
    assert Address.get(Address.order == ref.id, Address.kind == "shipping").city == "Lille"
    orders.edit_address(shop, admin, ref.id, "shipping", {"city": "Nice"})
    data = json.loads(_events(ref.id, "address")[-1].data)
    assert (data["old"]["city"], data["new"]["city"], _events(ref.id, "address")[-1]
            .operator_login) == ("Lille", "Nice", "ada")
    with pytest.raises(ValidationError, match="is not a country"):
        orders.edit_address(shop, admin, ref.id, "shipping", {"country": "Frankreich"})
    orders.edit_address(shop, admin, ref.id, "shipping", {"country": "France"})  # its name
    assert Address.get(Address.order == ref.id, Address.kind == "shipping").country == "FR"


def test_notes_internal_or_visible(shop, clerk) -> None:
    ref = place(shop)
    orders.add_note(shop, clerk, ref.id, "called the courier")
    assert _mails(ref.id, "customer_note") == []
    orders.add_note(shop, clerk, ref.id, "Your parcel leaves tomorrow", visible=True)
    [mail] = _mails(ref.id, "customer_note")
    assert mail.recipient == "ann@example.com"
    assert json.loads(mail.payload)["note"] == "Your parcel leaves tomorrow"
    notes = [(e.message, e.visible) for e in _events(ref.id, "note")]
    assert notes == [("called the courier", False), ("Your parcel leaves tomorrow", True)]
    with pytest.raises(ValidationError, match="empty"):
        orders.add_note(shop, clerk, ref.id, "  ")


def test_archive_only_final_statuses(shop, manager, clerk) -> None:
    open_, done = place(shop).id, place(shop).id
    status.change_status(shop, clerk, [done], "cancelled")
    results = {r.order_id: r for r in orders.set_archived(shop, manager, [open_, done])}
    assert results[done].changed and not results[open_].changed
    assert "only orders in a final status (Completed, Cancelled, Refunded)" in (
        results[open_].reason)
    assert Order.get_by_id(done).archived and not Order.get_by_id(open_).archived
    again = orders.set_archived(shop, manager, [done])
    assert again[0].reason == "already archived"
    assert orders.set_archived(shop, manager, [done], archived=False)[0].changed
    assert [e.kind for e in _events(done)][-2:] == ["archived", "unarchived"]


def test_delete_only_test_orders(shop, admin) -> None:
    real, test = place(shop), place(shop, is_test=True)
    with pytest.raises(Refused) as err:
        orders.delete_order(shop, admin, real.id)
    assert "cancel or archive it instead" in str(err.value) and real.code in str(err.value)
    assert Order.get_or_none(Order.id == real.id) is not None
    assert orders.delete_order(shop, admin, test.id) == test.code
    assert Order.get_or_none(Order.id == test.id) is None
    assert not OrderEvent.select().where(OrderEvent.order == test.id).exists()
    with pytest.raises(NotFound):
        orders.find_order(shop, test.code)


def test_an_order_issued_an_invoice_is_not_deleted_even_marked_test(shop, admin) -> None:
    """Found by the figures' property test on PostgreSQL: an invoiced order marked as a test
    order could not be deleted (a foreign-key error) and said so as a traceback."""
    from store import invoices
    from store.models import db

    ref = place(shop)
    with db.atomic():
        codes = invoices.issue_for(shop, admin, [ref.id])
    orders.set_test_flag(shop, admin, ref.id, True)
    detail = queries.order_detail(ref.id)
    assert codes[0] in detail.delete_refusal  # the detail does not offer it
    with pytest.raises(Refused, match=f"was issued {codes[0]}.*archive the order instead"):
        orders.delete_order(shop, admin, ref.id)
    assert Order.get_or_none(Order.id == ref.id) is not None


def test_a_shipment_undone_at_once_does_not_lock_the_address(shop, manager, clerk) -> None:
    ref = place(shop)
    status.change_status(shop, clerk, [ref.id], "paid")
    change = status.change_status(shop, clerk, [ref.id], "shipped", tracking="1Z")
    undo.undo(shop, clerk, change.batch)
    orders.edit_address(shop, manager, ref.id, "shipping", {"city": "Nantes"})
    assert Address.get(Address.order == ref.id, Address.kind == "shipping").city == "Nantes"
    status.change_status(shop, clerk, [ref.id], "shipped", tracking="1Z")  # undo cleared it
    with pytest.raises(Refused, match="has shipped"):
        orders.edit_address(shop, manager, ref.id, "shipping", {"city": "Brest"})


def test_undo_of_thousands_of_orders(shop, clerk, manager) -> None:
    """An undo of a big batch reverts each order as it would one alone: statuses, history,
    payments reversed, tracking numbers the change set put back, held mails withdrawn; an
    order refunded or changed again since is named and left as it is."""
    ids = insert_orders(shop, 3000)
    paid = status.change_status(shop, clerk, ids, "paid")
    refunded, moved, fixed = ids[5], ids[7], ids[20]
    own = ids[10:13]
    payments.refund(shop, manager, refunded, 100, "scratched")
    status.change_status(shop, clerk, [moved], "cancelled")
    for oid in own:
        orders.set_tracking(shop, clerk, oid, f"OWN-{oid}", "DHL")
    shipped = status.change_status(shop, clerk, ids, "shipped", tracking="BULK-1",
                                   carrier="UPS", shared_tracking=True)
    assert shipped.summary() == ("2,999 changed, 1 refused, 2,999 email(s) queued, "
                                 "2,999 earlier email(s) withdrawn")
    orders.set_tracking(shop, clerk, fixed, "FIXED-20")  # corrected after the bulk ship
    versions = {o.id: o.version for o in Order.select(Order.id, Order.version)}

    back = undo.undo(shop, clerk, shipped.batch)
    assert back.summary() == "undone: 2,999 order(s) back, 2,999 email(s) withdrawn"
    assert (back.to_status, back.mails, back.withdrawn) == ("paid", 0, 2999)
    assert [r.order_id for r in back.results] == [i for i in ids if i != moved]
    assert {(r.from_status, r.changed) for r in back.results} == {("shipped", True)}
    found = {o.id: o for o in Order.select()}
    assert {o.status for i, o in found.items() if i != moved} == {"paid"}
    assert all(found[i].version == versions[i] + 1 for i in ids if i != moved)
    assert all(found[i].updated_by == "cleo" for i in ids if i != moved)
    assert {(found[i].tracking_number, found[i].carrier) for i in ids
            if i not in (*own, fixed, moved)} == {("", "")}
    assert [(found[i].tracking_number, found[i].carrier) for i in own] == [
        (f"OWN-{i}", "dhl") for i in own]
    assert (found[fixed].tracking_number, found[fixed].carrier) == ("FIXED-20", "ups")
    first = found[ids[0]]
    assert OrderSearch.get_by_id(first.id).text == (
        f"{first.code} Bulk Buyer 0 bulk@example.com SKU-1 Widget".lower())
    assert queries.queue_page(queries.QueueFilter(text="BULK-1")).rows == ()  # search forgot it
    undone = list(OrderEvent.select().where(OrderEvent.batch == shipped.batch,
                                            OrderEvent.kind == "status_undone")
                  .order_by(OrderEvent.id))
    assert [e.order_id for e in undone] == [r.order_id for r in back.results]
    assert {(e.from_status, e.to_status, e.message, e.operator_login, e.data, e.visible)
            for e in undone} == {("shipped", "paid", "undo", "cleo", "{}", False)}
    assert {(m.state, m.last_error) for m in Outbox.select().where(
        Outbox.batch == shipped.batch)} == {("cancelled", "withdrawn by undo")}
    with pytest.raises(Refused, match="already undone"):
        undo.undo(shop, clerk, shipped.batch)

    back = undo.undo(shop, clerk, paid.batch)
    assert back.summary() == ("undone: 2,998 order(s) back, 2 changed again since and left as "
                              "they are")  # its mails were superseded already
    assert back.to_status == "awaiting_payment"
    assert [r.order_id for r in back.results] == ids
    assert {r.order_id: r.reason for r in back.refused} == {
        refunded: "refunded since; not reverted", moved: "changed again since; not reverted"}
    found = {o.id: o for o in Order.select()}
    assert (found[refunded].status, found[refunded].amount_paid) == ("paid", 2399)
    assert found[moved].status == "cancelled"
    reverted = [i for i in ids if i not in (refunded, moved)]
    assert {(found[i].status, found[i].amount_paid) for i in reverted} == {
        ("awaiting_payment", 0)}
    reversals = list(Payment.select().where(Payment.kind == "reversal").order_by(Payment.id))
    assert [p.order_id for p in reversals] == reverted
    assert {(p.amount, p.currency, p.method, p.reason, p.operator_login) for p in reversals} == {
        (-2399, "EUR", "card", "undo of a status change", "cleo")}
    assert OrderEvent.select().where(OrderEvent.batch == paid.batch,
                                     OrderEvent.kind == "status_undone").count() == 2998
    mails = {m.order_id: (m.state, m.last_error)
             for m in Outbox.select().where(Outbox.batch == paid.batch)}
    # each payment mail was superseded by the later change and stays withdrawn
    assert {mails[i] for i in ids if i != moved} == {("cancelled", "superseded by Shipped")}
    assert mails[moved] == ("cancelled", "superseded by Cancelled")


def test_replace_tracking_is_the_operators_choice_not_the_chunk_size(shop, clerk) -> None:
    """A selection applied in parts says whether the typed number replaces the orders' own:
    a part of one order never overwrites a real number unless asked, and undo restores it."""
    a, b, c = (place(shop).id for _ in range(3))
    status.change_status(shop, clerk, [a, b, c], "paid")
    orders.set_tracking(shop, clerk, a, "REAL-A", "DHL")
    orders.set_tracking(shop, clerk, b, "REAL-B", "DHL")

    kept = status.change_status(shop, clerk, [a], "shipped", tracking="BULK-1", carrier="UPS",
                                replace_tracking=False)
    assert len(kept.changed) == 1
    order = Order.get_by_id(a)
    assert (order.status, order.tracking_number, order.carrier) == ("shipped", "REAL-A", "dhl")
    assert json.loads(_events(a, "status")[-1].data) == {}
    assert json.loads(_mails(a, "shipped")[0].payload)["tracking"] == "REAL-A"

    replaced = status.change_status(shop, clerk, [b, c], "shipped", tracking="NEW-2",
                                    carrier="UPS", replace_tracking=True,
                                    shared_tracking=True)
    assert {(o.tracking_number, o.carrier) for o in Order.select().where(
        Order.id.in_([b, c]))} == {("NEW-2", "ups")}
    assert json.loads(_events(b, "status")[-1].data) == {
        "tracking": "NEW-2", "old_tracking": "REAL-B", "carrier": "ups", "old_carrier": "dhl"}
    undo.undo(shop, clerk, replaced.batch)
    found = {o.id: (o.status, o.tracking_number, o.carrier) for o in Order.select()}
    assert (found[b], found[c]) == (("paid", "REAL-B", "dhl"), ("paid", "", ""))
    assert "real-b" in OrderSearch.get_by_id(b).text
