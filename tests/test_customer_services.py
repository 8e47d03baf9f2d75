"""Customer and group services: accounts, their states, erasure that keeps the accounts' orders,
and groups with a default that new customers join."""

from __future__ import annotations

import json
import threading

import pytest

from store import customers
from store.errors import Conflict, NotFound, Refused, ValidationError
from store.models import Address, Customer, CustomerEvent, CustomerGroup, Order, Outbox
from tests.factories import ADDRESS, place


def _kinds(customer_id: int) -> list[str]:
    return [e.kind for e in CustomerEvent.select().where(CustomerEvent.customer == customer_id)
            .order_by(CustomerEvent.id)]


def _new(shop, actor, email: str = "ann@example.com", **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("first_name", "Ann")
    kw.setdefault("last_name", "Smith")
    return customers.create_customer(shop, actor, email=email, **kw)


def test_create_queues_confirm_mail_with_one_time_token(shop, manager) -> None:
    ref = _new(shop, manager, phone=" 555 ", address=ADDRESS, marketing_consent=True)
    customer = Customer.get_by_id(ref.id)
    assert (customer.first_name, customer.phone, customer.status) == ("Ann", "555", "active")
    assert customer.marketing_consent and customer.consent_at and customer.consent_source
    [mail] = Outbox.select().where(Outbox.customer == ref.id, Outbox.kind == "account_confirm")
    payload = json.loads(mail.payload)
    assert payload["token"] == customer.confirm_token and len(str(customer.confirm_token)) >= 24
    assert payload["link"].endswith(f"?token={customer.confirm_token}")
    assert mail.recipient == "ann@example.com"
    other = _new(shop, manager, email="bob@example.com")
    assert Customer.get_by_id(other.id).confirm_token != customer.confirm_token
    assert _kinds(ref.id) == ["created"]
    assert {a.kind for a in Address.select().where(Address.customer == ref.id)} == {
        "billing", "shipping"}
    with pytest.raises(ValidationError, match="not a valid email"):
        _new(shop, manager, email="not-an-email")


def test_email_is_unique_case_insensitively(shop, manager) -> None:
    _new(shop, manager, email="Ann.Smith@Example.com")
    with pytest.raises(Refused, match="already exists"):
        _new(shop, manager, email="ann.smith@example.COM")
    assert Customer.select().count() == 1
    bob = _new(shop, manager, email="bob@example.com")
    with pytest.raises(Refused, match="another customer already has"):
        customers.edit_customer(shop, manager, bob.id, {"email": "ANN.SMITH@example.com"})
    assert Customer.get_by_id(bob.id).email == "bob@example.com"


def test_edit_keeps_old_and_new_and_checks_version(shop, manager, admin) -> None:
    ref = _new(shop, manager)
    version = Customer.get_by_id(ref.id).version
    customers.edit_customer(shop, manager, ref.id, {"last_name": "Jones", "phone": "1"},
                            expected_version=version)
    event = CustomerEvent.get(CustomerEvent.customer == ref.id, CustomerEvent.kind == "edited")
    data = json.loads(event.data)
    assert data == {"old": {"last_name": "Smith", "phone": ""},
                    "new": {"last_name": "Jones", "phone": "1"}}
    with pytest.raises(Conflict, match="changed by mo"):
        customers.edit_customer(shop, admin, ref.id, {"phone": "2"}, expected_version=version)
    assert Customer.get_by_id(ref.id).phone == "1"
    with pytest.raises(ValidationError, match="cannot edit 'status'"):
        customers.edit_customer(shop, manager, ref.id, {"status": "active"})


def test_suspend_deny_reactivate(shop, manager) -> None:
    ref = _new(shop, manager)
    with pytest.raises(ValidationError, match="say why"):
        customers.suspend(shop, manager, ref.id, "")
    customers.suspend(shop, manager, ref.id, "unpaid invoices")
    assert Customer.get_by_id(ref.id).status == "suspended"
    customers.deny(shop, manager, ref.id, "fraud")
    with pytest.raises(Refused, match="already denied"):
        customers.deny(shop, manager, ref.id, "fraud")
    customers.reactivate(shop, manager, ref.id)
    customer = Customer.get_by_id(ref.id)
    assert (customer.status, customer.status_reason) == ("active", "")
    assert _kinds(ref.id) == ["created", "suspended", "denied", "reactivated"]
    customers.add_note(shop, manager, ref.id, "prefers phone calls")
    assert _kinds(ref.id)[-1] == "note"


def test_delete_erases_personal_data_and_keeps_orders(shop, manager, admin) -> None:
    ref = _new(shop, manager, phone="555", address=ADDRESS)
    order = place(shop, customer_id=ref.id)
    customers.add_note(shop, manager, ref.id, "lives next to the bakery")
    customers.edit_customer(shop, manager, ref.id, {"phone": "556", "last_name": "Smyth"})
    customers.set_address(shop, manager, ref.id, "shipping", {"line1": "9 Secret Lane"})
    with pytest.raises(ValidationError, match="does not match"):
        customers.delete_customer(shop, admin, ref.id, "someone@example.com")
    assert Customer.get_by_id(ref.id).status == "active"
    customers.delete_customer(shop, admin, ref.id, "ANN@example.com")
    assert Order.get_by_id(order.id).customer_name == "Ann Smith"  # the order's own copy
    gone = Customer.get_by_id(ref.id)
    assert (gone.first_name, gone.last_name, gone.email, gone.phone, gone.status) == (
        "", "", "", "", "deleted")
    assert gone.email_key is None and gone.confirm_token is None and gone.erased_at
    assert not Address.select().where(Address.customer == ref.id).exists()
    history = " ".join(f"{e.message} {e.data}" for e in CustomerEvent.select())
    for personal in ("bakery", "555", "556", "Smith", "Smyth", "Secret Lane"):
        assert personal not in history
    assert Outbox.get(Outbox.customer == ref.id, Outbox.kind == "account_confirm").state == (
        "erased")
    kept = Order.get_by_id(order.id)
    assert kept.customer is not None and kept.customer.id == ref.id and kept.total == 2399
    assert Address.get(Address.order == order.id, Address.kind == "shipping").city == "Paris"
    with pytest.raises(Refused, match="was deleted"):
        customers.edit_customer(shop, admin, ref.id, {"phone": "1"})
    _new(shop, manager)  # the address is free again


def test_self_deletion_also_tells_the_merchant(shop, manager, admin) -> None:
    ref = _new(shop, manager)
    place(shop, customer_id=ref.id)
    customers.self_delete(shop, admin, ref.id)
    assert Customer.get_by_id(ref.id).status == "deleted"
    [notice] = Outbox.select().where(Outbox.kind == "merchant_account_deleted")
    assert notice.recipient == "shop@example.com"
    assert json.loads(notice.payload) == {"customer_id": ref.id, "name": "Ann Smith", "orders": 1}
    assert _kinds(ref.id)[-1] == "erased"


def test_groups(shop, manager) -> None:
    retail = customers.create_group(shop, manager, "Retail")
    assert CustomerGroup.get_by_id(retail).is_default  # the first group is the default
    ann = _new(shop, manager)
    assert Customer.get_by_id(ann.id).group_id == retail
    trade = customers.create_group(shop, manager, "Trade", discount_bp=1500)
    with pytest.raises(Refused, match="already exists"):
        customers.create_group(shop, manager, "Trade")
    with pytest.raises(ValidationError, match="between 0 and 100"):
        customers.create_group(shop, manager, "Huge", discount_bp=10001)
    customers.rename_group(shop, manager, trade, "Wholesale")
    with pytest.raises(Refused, match="already exists"):
        customers.rename_group(shop, manager, trade, "Retail")
    assert customers.find_group("Wholesale") == trade

    customers.set_default_group(shop, manager, trade)
    assert [g.name for g in CustomerGroup.select().where(CustomerGroup.is_default)] == [
        "Wholesale"]
    bob = _new(shop, manager, email="bob@example.com")
    assert Customer.get_by_id(bob.id).group_id == trade

    customers.assign_group(shop, manager, bob.id, retail)
    assert Customer.get_by_id(bob.id).group_id == retail
    assert _kinds(bob.id)[-1] == "group"
    with pytest.raises(Refused, match="is the default group"):
        customers.delete_group(shop, manager, trade)
    assert customers.delete_group(shop, manager, retail) == 2
    assert {c.group_id for c in Customer.select()} == {trade}
    with pytest.raises(NotFound):
        customers.assign_group(shop, manager, bob.id, retail)


def test_one_email_added_twice_at_once_is_refused_plainly(db_url, shop, manager) -> None:
    """Two operators add the same email at the same moment (PostgreSQL: neither sees the
    other's uncommitted row): the second gets a refusal, not a database error."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite takes the write lock before the check; no race to lose")
    import psycopg2

    other = psycopg2.connect(db_url)
    try:
        with other.cursor() as cur:  # the other operator's transaction, not yet committed
            cur.execute("INSERT INTO customer (first_name, last_name, email, email_key, phone, "
                        "language, status, status_reason, marketing_consent, consent_source, "
                        "search_text, version, created_at, updated_at, updated_by, registered_at) "
                        "VALUES "
                        "('Bo', 'B', 'ann@example.com', 'ann@example.com', '', 'en', 'active', "
                        "'', false, '', '', 1, now(), now(), 'bo', now())")
        threading.Timer(0.5, other.commit).start()
        with pytest.raises(Refused, match="already exists"):
            _new(shop, manager, "Ann@Example.com")  # waits on the unique index, then loses
    finally:
        other.close()
    assert Customer.select().where(Customer.email_key == "ann@example.com").count() == 1


def test_an_empty_address_is_refused_and_changes_nothing(shop, manager) -> None:
    ref = _new(shop, manager)
    before = _kinds(ref.id)
    for fields in ({}, {"line1": "", "city": "  ", "country": ""}):
        with pytest.raises(ValidationError, match="address is empty"):
            customers.set_address(shop, manager, ref.id, "shipping", fields)
    assert Address.select().where(Address.customer == ref.id).count() == 0
    assert _kinds(ref.id) == before
