"""Order services other than status changes, undo and money: placing an order, finding it by
its code, editing its fields, notes, archiving and deleting. Each does one thing an operator
(or the storefront) asks for, in one transaction, with its history and outbox rows, or
refuses with a message and changes nothing.

Written-out SQL (see store.sql) only where a scanner waits: finding an order by its code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import peewee
from peewee import InterfaceError, InternalError, OperationalError, fn

from store import archive, customer_figures, events_log, subscribers, webhooks
from store import db as dbmod
from store.carriers import decide, label, resolve
from store.codes import FIRST_NUMBER, format_code, parse_code
from store.contact import ADDRESS_FIELDS, check_address, customer_address, normalise_email
from store.errors import NotFound, Refused, ValidationError
from store.folding import fold_item
from store.models import Address, Counter, Customer, Order, OrderEvent, OrderItem, db, utcnow
from store.money import check_currency, format_money
from store.operators import Actor, require
from store.order_rows import (
    OrderResult,
    bump,
    event,
    guard_shipped,
    insert_events,
    insert_search,
    load_for_write,
    refresh_search,
    search_row,
)
from store.outbox import Mail, enqueue, order_payload, withdraw_order
from store.queries import issued_documents
from store.rules import delete_refusal
from store.shop import Shop
from store.text import clean

# Accounts that may place orders: an account waiting for validation may order, and pays once
# it is validated (store.rules.pay_refusal).
ORDERING_STATUSES = ("active", "pending")


@dataclass(frozen=True)
class ItemInput:
    sku: str
    name: str
    quantity: int
    unit_price: int
    tax_rate_bp: int = 0


class OrderRef(NamedTuple):
    id: int
    code: str


_FIND_SQL = {True: "SELECT id, code FROM orders WHERE number = ?",  # SQLite, PostgreSQL
             False: "SELECT id, code FROM orders WHERE number = %s"}
_DRIVER_ERRORS = peewee.__exception_wrapper__  # type: ignore[attr-defined]  # as peewee's


def find_order(shop: Shop, text: str) -> OrderRef:
    """An order by the code typed or scanned; a wrong check digit never opens another order.

    A scanner's hot path: its statement goes to the driver's cursor inside peewee's error
    wrapper, without execute_sql's layers (13.8 us a lookup, now
    about 8, beside 3.4 for plain sqlite3 on the same index)."""
    number = parse_code(text, shop.prefix)
    try:
        with _DRIVER_ERRORS:
            cursor = db.cursor()
            cursor.execute(_FIND_SQL[dbmod.is_sqlite()], (number,))
            row = cursor.fetchone()
    except (OperationalError, InterfaceError, InternalError) as exc:
        error = dbmod.store_error(exc)  # the database cannot answer: said as one line
        if error is None:
            raise
        raise error from exc
    if row is None:
        raise NotFound(f"no such order: {format_code(shop.prefix, number)}")
    return OrderRef(row[0], row[1])


def allocate_numbers(count: int) -> int:
    """Reserve `count` consecutive order numbers inside the current transaction; the first."""
    if Counter.get_or_none(Counter.name == "order") is None:
        top = Order.select(fn.MAX(Order.number)).scalar() or FIRST_NUMBER - 1
        Counter.insert(name="order", value=top).on_conflict_ignore().execute()
    cursor = db.execute_sql(
        f"UPDATE counter SET value = value + {int(count)} WHERE name = 'order' RETURNING value"
    )
    last = cursor.fetchone()[0]
    return int(last) - count + 1


# ----- placing orders ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Buyer:
    """Who the order is for: a registered customer (copied onto the order) or a guest."""

    customer: Customer | None
    name: str
    email: str
    phone: str
    language: str

    def fields(self) -> dict[str, Any]:
        """What the order row copies of its buyer."""
        return {"customer": self.customer.id if self.customer else None,
                "customer_name": self.name, "customer_email": self.email,
                "customer_phone": self.phone, "language": self.language}


def place_order(
    shop: Shop,
    actor: Actor,
    *,
    items: Sequence[ItemInput],
    customer_id: int | None = None,
    guest_name: str = "",
    guest_email: str = "",
    phone: str = "",
    shipping_address: Mapping[str, str] | None = None,
    billing_address: Mapping[str, str] | None = None,
    payment_method: str = "card",
    shipping_method: str = "standard",
    shipping_cost: int = 0,
    discount: int = 0,
    currency: str | None = None,
    customer_note: str = "",
    gift_message: str = "",
    language: str | None = None,
    is_test: bool = False,
    placed_at: dt.datetime | None = None,
    expected_tax: int | None = None,
    expected_total: int | None = None,
    newsletter_opt_in: str = "",
) -> OrderRef:
    """The storefront's side: an order for a customer or a guest, with its confirmation mail
    and the merchant's new-order notice. `gift_message` is printed on the packing slip.
    `expected_tax` and `expected_total` are what the caller computed and showed the customer:
    an order whose amounts do not add up to them is refused, naming the field, before anything
    is written. `newsletter_opt_in` is the wording of the newsletter box the buyer ticked at
    checkout ("" when they did not): they subscribe in the same transaction (with
    newsletter.double_opt_in, once they confirm)."""
    items = [replace(i, sku=clean(i.sku, "sku"), name=clean(i.name, "item_name"))
             for i in items]
    currency = _check_order_input(shop, items, shipping_cost, discount, currency)
    payment_method = clean(payment_method, "payment_method")
    shipping_method = clean(shipping_method, "shipping_method")
    customer_note = clean(customer_note, "customer_note", multiline=True)
    gift_message = clean(gift_message, "gift_message", multiline=True).strip()
    phone = clean(phone, "phone")
    addresses = {"shipping": check_address(shipping_address) if shipping_address else None,
                 "billing": check_address(billing_address) if billing_address else None}
    subtotal, tax, total = order_totals(items, shipping_cost, discount, currency, expected_tax,
                                        expected_total)
    with db.atomic():
        buyer = _buyer(shop, customer_id, guest_name, guest_email, phone, language)
        number = allocate_numbers(1)
        fields = {
            "number": number, "code": format_code(shop.prefix, number), **buyer.fields(),
            "status": shop.workflow.initial.key, "currency": currency,
            "subtotal": subtotal, "tax": tax, "shipping_cost": shipping_cost,
            "discount": discount, "total": total, "payment_method": payment_method,
            "shipping_method": shipping_method, "customer_note": customer_note,
            "gift_message": gift_message, "item_count": sum(i.quantity for i in items),
            "placed_at": placed_at or utcnow(),
            "is_test": is_test, "updated_by": actor.login,
        }
        order = _write_placed(shop, actor, fields, buyer, items, addresses)
        if newsletter_opt_in and not is_test:
            _subscribe_buyer(shop, actor, buyer, newsletter_opt_in)
    events_log.event("placed", actor.login, order=order.code, status=order.status,
                     total=total, currency=currency)
    return OrderRef(order.id, order.code)


def _subscribe_buyer(shop: Shop, actor: Actor, buyer: _Buyer, wording: str) -> None:
    """The checkout's newsletter opt-in: the buyer becomes a subscriber (confirmed as the
    shop's double opt-in says), in the order's transaction."""
    first, last = subscribers.split_name(buyer.name)
    subscribers.subscribe(shop, actor, email=buyer.email, source="checkout", wording=wording,
                          first_name=first, last_name=last, language=buyer.language,
                          customer_id=buyer.customer.id if buyer.customer else None,
                          confirm=True)


def _write_placed(shop: Shop, actor: Actor, fields: dict[str, Any], buyer: _Buyer,
                  items: Sequence[ItemInput],
                  addresses: Mapping[str, Mapping[str, str] | None]) -> Order:
    """The order row and all that placing it writes in the same transaction: its search
    text, the customer's figures, items, addresses, history, mails and webhook."""
    order = Order.create(**fields)
    insert_search([search_row(order.id, fields, [(i.sku, i.name) for i in items])])
    customer_figures.placed(buyer.customer.id if buyer.customer else None,
                            order.placed_at, fields["is_test"])
    _insert_items(order.id, items)
    _copy_addresses(order.id, buyer.customer, addresses)
    insert_events([event(order.id, actor, "placed", "order placed",
                         to_status=order.status, data={"total": fields["total"]})])
    enqueue(_placed_mails(shop, fields | {"id": order.id}, buyer))
    webhooks.order_placed(order.id)
    return order


def _check_order_input(shop: Shop, items: Sequence[ItemInput], shipping_cost: int,
                       discount: int, currency: str | None) -> str:
    """Refuse an order that cannot be right before anything is written; its currency."""
    if not items:
        raise ValidationError("an order needs at least one item", field="items")
    for item in items:
        if item.quantity <= 0 or item.unit_price < 0 or item.tax_rate_bp < 0:
            raise ValidationError(
                f"item {item.sku}: quantity must be positive, prices not negative",
                field="items")
    if shipping_cost < 0 or discount < 0:
        raise ValidationError("shipping cost and discount cannot be negative",
                              field="shipping_cost" if shipping_cost < 0 else "discount")
    return check_currency(currency or shop.currency)


def order_totals(items: Sequence[ItemInput], shipping_cost: int, discount: int, currency: str,
                 expected_tax: int | None = None,
                 expected_total: int | None = None) -> tuple[int, int, int]:
    """(subtotal, tax, total) of an order: tax per line, rounded half to even on the minor
    unit, shipping untaxed (its cost is taken as charged), the discount off the total. A tax
    or total given that differs is refused, naming the field and both amounts."""
    subtotal = sum(i.quantity * i.unit_price for i in items)
    tax = sum(round(i.quantity * i.unit_price * i.tax_rate_bp / 10000) for i in items)
    total = subtotal + tax + shipping_cost - discount
    if total < 0:
        raise ValidationError(
            f"the discount ({format_money(discount, currency)}) is larger than the order "
            f"({format_money(total + discount, currency)})", field="discount")
    for field, given, computed in (("tax", expected_tax, tax), ("total", expected_total, total)):
        if given is not None and given != computed:
            raise ValidationError(
                f"the {field} given ({format_money(given, currency)}) is not what the items "
                f"add up to ({format_money(computed, currency)}: subtotal "
                f"{format_money(subtotal, currency)}, tax {format_money(tax, currency)}, "
                f"shipping {format_money(shipping_cost, currency)}, discount "
                f"{format_money(discount, currency)})", field=field)
    return subtotal, tax, total


def place_test_order(shop: Shop, actor: Actor, **order: Any) -> OrderRef:
    """A test order placed by an operator (`backroom orders place-test`): marked as a test
    everywhere (the queue, the detail, `test:only`), kept out of customers' figures, and
    deletable. Its mails go out as for a real order, so the shop sees what customers get."""
    require(actor, "place_test_order")
    return place_order(shop, actor, **order, is_test=True)


def _buyer(shop: Shop, customer_id: int | None, guest_name: str, guest_email: str,
           phone: str, language: str | None) -> _Buyer:
    if customer_id is None:
        name = clean(guest_name, "guest_name")
        if not name or not guest_email.strip():
            raise ValidationError("a guest order needs the guest's name and email",
                                  field="guest_name" if not name else "guest_email")
        email = normalise_email(guest_email, shop.smtputf8, field="guest_email")
        return _Buyer(None, name, email, phone, language or shop.language)
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}")
    if customer.status not in ORDERING_STATUSES:
        raise Refused(f"customer {customer.email or customer.id} is {customer.status}: "
                      "they cannot place orders", field="customer_id")
    return _Buyer(customer, f"{customer.first_name} {customer.last_name}".strip(),
                  customer.email, phone or customer.phone, language or customer.language)


def _insert_items(order_id: int, items: Sequence[ItemInput]) -> None:
    now = utcnow()
    OrderItem.insert_many([
        {"order": order_id, "sku": i.sku, "name": i.name, "folded": fold_item(i.sku, i.name),
         "quantity": i.quantity, "unit_price": i.unit_price, "tax_rate_bp": i.tax_rate_bp,
         "created_at": now, "updated_at": now}
        for i in items
    ]).execute()


def _copy_addresses(order_id: int, customer: Customer | None,
                    given: Mapping[str, Mapping[str, str] | None]) -> None:
    """The order keeps its own copy of each address: the one given, else the customer's."""
    for kind, address in given.items():
        if not address and customer is not None:
            address = customer_address(customer.id, kind)
        if address:
            Address.create(order=order_id, kind=kind, **dict(address))


def _placed_mails(shop: Shop, order: Mapping[str, Any], buyer: _Buyer) -> list[Mail]:
    """The customer's confirmation, and a new-order notice to the shop and its admins. Keyed
    by the order's code, which is never given twice: SQLite gives a deleted order's id to
    the next one, and the deleted order's mails (withdrawn, kept) still hold their keys."""
    payload = order_payload(order)
    mails = [Mail("order_placed", buyer.email, f"placed:{order['code']}", buyer.language,
                  payload,
                  order_id=order["id"], customer_id=buyer.customer.id if buyer.customer else None)]
    merchants = [str(shop.config.get("shop", "email")), *shop.config.get("shop", "admin_emails")]
    for address in dict.fromkeys(a for a in merchants if a):
        mails.append(Mail("merchant_new_order", address, f"new-order:{order['code']}:{address}",
                          shop.language, payload, order_id=order["id"]))
    return mails


# ----- fields, notes, addresses --------------------------------------------------------------

def set_tracking(shop: Shop, actor: Actor, order_id: int, tracking: str, carrier: str = "",
                 expected_version: int | None = None) -> None:
    """Set (or clear, with "") an order's tracking number and its carrier: the carrier named
    (by key or label; an unknown one is refused), else the one that recognises the number,
    else shipping.default_carrier, else the order's own (store.carriers.decide)."""
    require(actor, "set_tracking")
    tracking, carrier = clean(tracking, "tracking").strip(), clean(carrier, "carrier")
    carriers = shop.config.carriers
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        old = order.tracking_number
        if tracking:
            tracking, carrier = decide(carriers, str(shop.config.get(
                "shipping", "default_carrier")), tracking, carrier or None, order.carrier)
        else:
            carrier = resolve(carriers, carrier) if carrier else order.carrier
        bump(order, actor, tracking_number=tracking, carrier=carrier)
        refresh_search(order)
        message = f"tracking number {tracking or 'cleared'}"
        if carrier:
            message += f" ({label(carriers, carrier)})"
        insert_events([event(order.id, actor, "tracking", message,
                             data={"old": old, "new": tracking, "carrier": carrier})])
    events_log.event("tracking", actor.login, order=order.code)


def set_reference(shop: Shop, actor: Actor, order_id: int, reference: str,
                  expected_version: int | None = None) -> None:
    require(actor, "set_reference")
    reference = clean(reference, "reference")
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        old = order.internal_reference
        bump(order, actor, internal_reference=reference)
        refresh_search(order)
        insert_events([event(order.id, actor, "reference", f"internal reference {reference!r}",
                               data={"old": old, "new": reference})])
    events_log.event("reference", actor.login, order=order.code)


def edit_address(shop: Shop, actor: Actor, order_id: int, kind: str, changes: Mapping[str, str],
                 expected_version: int | None = None) -> None:
    """Edit the order's own copy of an address (the customer's stays as it is)."""
    require(actor, "edit_order")
    if kind not in ("shipping", "billing"):
        raise ValidationError("address kind must be shipping or billing")
    changes = check_address(changes)
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        guard_shipped(shop, actor, order)
        address = Address.get_or_none(Address.order == order.id, Address.kind == kind)
        old = {f: getattr(address, f) for f in ADDRESS_FIELDS} if address else {}
        if address is None:
            address = Address.create(order=order.id, kind=kind, **changes)
        else:
            Address.update(updated_at=utcnow(), **changes).where(
                Address.id == address.id).execute()
        new = old | dict(changes)
        bump(order, actor)
        insert_events([event(order.id, actor, "address", f"{kind} address edited",
                               data={"kind": kind, "old": old, "new": new})])
    events_log.event("address", actor.login, order=order.code, kind=kind)


def edit_contact(shop: Shop, actor: Actor, order_id: int, *, name: str | None = None,
                 email: str | None = None, phone: str | None = None,
                 expected_version: int | None = None) -> None:
    require(actor, "edit_order")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["customer_name"] = clean(name, "name")
        if not changes["customer_name"]:
            raise ValidationError("the name cannot be empty", field="name")
    if email is not None:
        changes["customer_email"] = normalise_email(email, shop.smtputf8)
    if phone is not None:
        changes["customer_phone"] = clean(phone, "phone")
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        guard_shipped(shop, actor, order)
        old = {k: getattr(order, k) for k in changes}
        bump(order, actor, **changes)
        refresh_search(order)
        insert_events([event(order.id, actor, "contact", "contact details edited",
                               data={"old": old, "new": changes})])
    events_log.event("contact", actor.login, order=order.code)


def add_note(shop: Shop, actor: Actor, order_id: int, text: str, visible: bool = False) -> None:
    """A note in the history; a note visible to the customer also queues a mail to them."""
    require(actor, "add_note")
    text = clean(text, "note", multiline=True)
    if not text:
        raise ValidationError("the note is empty", field="note")
    with db.atomic():
        order = Order.get_or_none(Order.id == order_id)
        if order is None:
            raise NotFound(f"no such order (id {order_id})")
        note = OrderEvent.create(**event(order.id, actor, "note", text, visible=visible))
        if visible and order.customer_email:
            enqueue([Mail("customer_note", order.customer_email, f"note:{note.id}",
                          order.language, order_payload(order, note=text), order_id=order.id,
                          customer_id=order.customer_id)])
    events_log.event("note", actor.login, order=order.code, visible=int(visible))


def set_archived(shop: Shop, actor: Actor, order_ids: Sequence[int],
                 archived: bool = True) -> list[OrderResult]:
    """Archive (final statuses only) or unarchive orders; per-order results (store.archive,
    set-based, with its preview)."""
    return list(archive.set_archived(shop, actor, order_ids, archived).results)


def delete_order(shop: Shop, actor: Actor, order_id: int) -> str:
    """Delete a test order; a real order is refused (cancel or archive it instead)."""
    require(actor, "delete_order")
    with db.atomic():
        order = load_for_write(order_id)
        refused = delete_refusal(order.code, order.is_test, issued_documents(order.id))
        if refused:
            raise Refused(refused)
        withdraw_order(order.id, "order deleted")
        Order.delete().where(Order.id == order.id).execute()
        customer_figures.refresh([order.customer_id], shop.currency)
    events_log.event("deleted", actor.login, order=order.code)
    return str(order.code)


def set_test_flag(shop: Shop, actor: Actor, order_id: int, is_test: bool,
                  expected_version: int | None = None) -> None:
    """Mark an order as a test order (it counts in no figure, and can be deleted) or as a
    real one again; its customer's figures follow in the same transaction."""
    require(actor, "delete_order")
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        if bool(order.is_test) == is_test:
            raise Refused(f"order {order.code} is already {'a test' if is_test else 'a real'} "
                          "order")
        bump(order, actor, is_test=is_test)
        customer_figures.refresh([order.customer_id], shop.currency)
        insert_events([event(order.id, actor, "test_flag",
                             "marked as a test order" if is_test else "marked as a real order",
                             data={"is_test": is_test})])

