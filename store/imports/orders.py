"""Importing orders, whatever the file they came from: each order read (store.imports.shopify,
store.imports.woocommerce) is checked by the store's rules, matched against what was imported
before (its source and name, `#1001`, are unique: a second run skips it), its customer
matched or created by email, then written by store.imports.writer. A dry run stops before
the writing and reports what would happen; an order refused never stops the others."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from store.contact import check_address, normalise_email_quickly
from store.errors import BackroomError, ValidationError
from store.imports import writer
from store.imports.common import ImportReport, Line, OrderIn, Parsed, Progress
from store.models import Customer, Order
from store.money import format_money
from store.operators import Actor, require
from store.shop import Shop
from store.text import clean

CHUNK = 500  # ids looked up per query


def import_orders(shop: Shop, actor: Actor, source: str, parsed: Parsed, *, dry_run: bool,
                  notify: bool = False, progress: Progress | None = None) -> ImportReport:
    """Check, match and (unless dry) write the orders a reader parsed; the report."""
    require(actor, "import")
    report = ImportReport(source, dry_run, refused=list(parsed.refused),
                          unknown=dict(parsed.unknown))
    if report.blocked:  # a value the mapping does not know: nothing is written
        return report
    outcomes = parsed.checked if parsed.checked is not None else check_orders(shop,
                                                                              parsed.orders)
    valid: list[OrderIn] = []
    for outcome in outcomes:
        if isinstance(outcome, Line):
            report.refused.append(outcome)
        else:
            valid.append(outcome)
    done = imported_codes(source, [o.reference for o in valid])
    todo: list[OrderIn] = []
    for order in valid:
        if order.reference in done:
            report.skipped.append(Line(order.where, f"order {order.reference}",
                                       f"already imported as {done[order.reference]}"))
        else:
            todo.append(order)
    known = customer_ids({o.email.lower() for o in todo if o.email})
    new_customers: dict[str, OrderIn] = {}
    for order in todo:
        key = order.email.lower()
        if key and key not in known and key not in new_customers:
            new_customers[key] = order
            report.created.append(Line(order.where, f"customer {order.email}",
                                       "from this order"))
        report.created.append(Line(order.where, f"order {order.reference}",
                                   _says(shop, order) if dry_run else ""))
    if dry_run:
        if progress is not None:
            progress(len(outcomes))
        return report
    skipped = len(outcomes) - len(todo)
    if progress is not None and skipped:
        progress(skipped)
    mails, hooks = writer.write_orders(shop, actor, source, todo, new_customers, known,
                                       notify=notify, progress=progress)
    report.mails, report.webhooks = mails, hooks
    return report


def _says(shop: Shop, order: OrderIn) -> str:
    text = (f"{shop.workflow.label(order.status)}, {format_money(order.total, order.currency)}"
            f", paid {format_money(order.paid, order.currency)}")
    if order.refunded:
        text += f", refunded {format_money(order.refunded, order.currency)}"
    if not order.email:
        text += ", guest without email"
    return text


class Checked:
    """What checking many orders learns once: each email normalised, each address checked
    (customers come back with the same ones)."""

    def __init__(self) -> None:
        self.emails: dict[str, str] = {}
        self.addresses: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    def email(self, shop: Shop, email: str) -> str:
        found = self.emails.get(email)
        if found is None:
            found = self.emails[email] = normalise_email_quickly(email, shop.smtputf8)
        return found

    def address(self, address: dict[str, str]) -> dict[str, str]:
        key = tuple(address.items())
        found = self.addresses.get(key)
        if found is None:
            found = self.addresses[key] = check_address(address)
        return found


def check_orders(shop: Shop, orders: Sequence[OrderIn]) -> list[OrderIn | Line]:
    """Each order checked (check_order), or its refusal, in the file's order; an order whose
    name came before is refused as a second copy."""
    checked = Checked()
    outcomes: list[OrderIn | Line] = []
    seen: dict[str, str] = {}
    for order in orders:
        if order.reference in seen:
            twice = f"the file has this order twice (also {seen[order.reference]})"
            outcomes.append(Line(order.where, f"order {order.reference}", twice))
            continue
        seen[order.reference] = order.where
        outcomes.append(checked_or_refused(shop, order, checked))
    return outcomes


def checked_or_refused(shop: Shop, order: OrderIn, checked: Checked) -> OrderIn | Line:
    """The order checked, or the line that refuses it."""
    try:
        return check_order(shop, order, checked)
    except BackroomError as exc:
        return Line(order.where, f"order {order.reference}", str(exc))


def check_order(shop: Shop, order: OrderIn, checked: Checked) -> OrderIn:
    """The order with its text cleaned and its email normalised by the store's own rules
    (changed in place: it is the importer's own copy), or a refusal naming the field (a
    control character in a name, an address that is not one, amounts that cannot be)."""
    currency = order.currency.upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError(f"{currency!r} is not an ISO 4217 currency code", field="currency")
    if not order.items:
        raise ValidationError("the order has no line items", field="items")
    for item in order.items:
        if item.quantity <= 0 or item.unit_price < 0:
            raise ValidationError(f"item {item.sku or item.name}: quantity must be positive, "
                                  "prices not negative", field="items")
    if order.refunded > order.paid:
        raise ValidationError(
            f"refunded {format_money(order.refunded, currency)} is more than was paid "
            f"({format_money(order.paid, currency)})", field="refunded")
    if order.paid < 0 or order.total < 0:
        raise ValidationError("amounts cannot be negative", field="total")
    wf = shop.workflow
    if wf[order.status].refunded and order.paid - order.refunded:
        raise ValidationError(
            f"{wf.label(order.status)} with {format_money(order.paid - order.refunded, currency)}"
            " still paid: the refunds do not add up", field="refunded")
    order.email = checked.email(shop, order.email) if order.email else ""
    order.currency = currency
    order.name, order.phone = clean(order.name, "name"), clean(order.phone, "phone")
    order.payment_method = clean(order.payment_method, "payment_method")
    order.payment_reference = clean(order.payment_reference, "payment_reference")
    order.shipping_method = clean(order.shipping_method, "shipping_method")
    order.customer_note = clean(order.customer_note, "customer_note", multiline=True)
    order.reference = clean(order.reference, "reference")
    for item in order.items:
        item.sku, item.name = clean(item.sku, "sku"), clean(item.name, "item_name")
    order.addresses = {kind: checked.address(address)
                       for kind, address in order.addresses.items()}
    for refund in order.refunds:
        refund.reason = clean(refund.reason, "refund_reason")
    return order


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def imported_codes(source: str, references: Sequence[str]) -> dict[str, str]:
    """Reference -> order code of the orders already imported from this source."""
    found: dict[str, str] = {}
    if "" not in references and not Order.select().where(
            Order.external_source == source, Order.external_reference != "").exists():
        return found  # the first import from this source (its partial unique index says)
    for chunk in _chunks(list(references)):
        rows: Any = (Order.select(Order.external_reference, Order.code)
                     .where(Order.external_source == source,
                            Order.external_reference.in_(list(chunk))).tuples())
        for reference, code in rows:
            found[reference] = code
    return found


def customer_ids(email_keys: Iterable[str]) -> dict[str, int]:
    """Lower-cased email -> id of the customers that have it."""
    found: dict[str, int] = {}
    if not Customer.select().exists():
        return found  # a shop without customers yet
    for chunk in _chunks(sorted(email_keys)):
        rows: Any = (Customer.select(Customer.email_key, Customer.id)
                     .where(Customer.email_key.in_(list(chunk))).tuples())
        for key, cid in rows:
            found[key] = cid
    return found
