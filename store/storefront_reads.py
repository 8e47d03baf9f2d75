"""What the storefront API reads: an order as its customer may see it (status key and label,
whether it can be paid now and why not, the tracking link) and a customer's account (status,
group and its privileges). Frozen rows; the web layer only turns them into JSON.

Written-out SQL (see store.sql) for the order: every order the API places is read back for
its answer, and peewee spent 0.4 ms of Python on the three queries the database ran in
0.05 ms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from store.carriers import label, tracking_url
from store.codes import format_code, parse_code
from store.customer_queries import STATUS_LABELS
from store.errors import NotFound
from store.models import Customer, CustomerGroup, Order, db
from store.rules import pay_refusal
from store.shop import Shop
from store.sql import named


@dataclass(frozen=True)
class ItemView:
    sku: str
    name: str
    quantity: int
    unit_price: int
    tax_rate_bp: int
    line_total: int


@dataclass(frozen=True)
class OrderView:
    """One order for the storefront. `pay_refusal` says why it cannot be paid now ('' when
    `can_pay`)."""

    id: int
    code: str
    status: str
    status_label: str
    can_pay: bool
    pay_refusal: str
    currency: str
    subtotal: int
    tax: int
    shipping_cost: int
    discount: int
    total: int
    amount_paid: int
    amount_refunded: int
    payment_method: str
    shipping_method: str
    carrier: str
    tracking_number: str
    tracking_url: str
    customer_id: int | None
    is_test: bool
    placed_at: dt.datetime
    items: tuple[ItemView, ...]

    @property
    def balance(self) -> int:
        return max(self.total - self.amount_paid, 0)


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    discount_bp: int
    privilege: str


@dataclass(frozen=True)
class CustomerView:
    """One account for the storefront: what it may do (`can_pay`) and the privileges of its
    group, which the storefront applies."""

    id: int
    email: str
    first_name: str
    last_name: str
    language: str
    status: str
    status_label: str
    can_pay: bool
    marketing_consent: bool
    registered_at: dt.datetime
    confirmed: bool
    group: GroupView | None


def order_id_of(shop: Shop, code: str) -> int:
    """The id of the order with this code; a mistyped code is refused by its check digit."""
    number = parse_code(code, shop.prefix)
    order_id = Order.select(Order.id).where(Order.number == number).scalar()
    if order_id is None:
        raise NotFound(f"no such order: {format_code(shop.prefix, number)}", field="code")
    return int(order_id)


_ORDER = ("SELECT o.id, o.code, o.status, o.currency, o.subtotal, o.tax, o.shipping_cost, "
          "o.discount, o.total, o.amount_paid, o.amount_refunded, o.payment_method, "
          "o.shipping_method, o.carrier, o.tracking_number, o.customer_id, o.is_test, "
          "o.placed_at, c.status FROM orders o LEFT JOIN customer c ON c.id = o.customer_id "
          "WHERE o.id = {id}")


def order_view(shop: Shop, order_id: int) -> OrderView:
    """The order as the storefront shows it to its customer."""
    bound = {"id": order_id}
    row = db.execute_sql(_ORDER.format(id=named("id")), bound).fetchone()
    if row is None:
        raise NotFound(f"no such order (id {order_id})", field="code")
    (oid, code, status_key, currency, subtotal, tax, shipping_cost, discount, total, paid,
     refunded, payment_method, shipping_method, carrier, tracking, customer_id, is_test,
     placed_at, account) = row
    wf = shop.workflow
    status = wf.statuses.get(status_key)
    refusal = pay_refusal(code, wf.label(status_key), bool(status and status.may_pay), paid,
                          total, currency, account or "")
    items = tuple(ItemView(sku, name, quantity, price, rate, quantity * price)
                  for sku, name, quantity, price, rate in db.execute_sql(
                      "SELECT sku, name, quantity, unit_price, tax_rate_bp FROM order_item "
                      f"WHERE order_id = {named('id')} ORDER BY id", bound))
    return OrderView(
        id=oid, code=code, status=status_key, status_label=wf.label(status_key),
        can_pay=not refusal, pay_refusal=refusal, currency=currency, subtotal=subtotal,
        tax=tax, shipping_cost=shipping_cost, discount=discount, total=total,
        amount_paid=paid, amount_refunded=refunded, payment_method=payment_method,
        shipping_method=shipping_method, carrier=label(shop.config.carriers, carrier),
        tracking_number=tracking,
        tracking_url=tracking_url(shop.config.carriers, carrier, tracking),
        customer_id=customer_id,
        is_test=bool(is_test), placed_at=_time(placed_at), items=items)


def _time(value: dt.datetime | str) -> dt.datetime:
    """A timestamp as read back: SQLite gives the text peewee stored."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def customer_view(shop: Shop, customer_id: int) -> CustomerView:
    """The account as the storefront sees it; an erased account is no longer there."""
    c = Customer.get_or_none(Customer.id == customer_id)
    if c is None or c.status == "deleted":
        raise NotFound(f"no customer with id {customer_id}", field="id")
    g = CustomerGroup.get_or_none(CustomerGroup.id == c.group_id) if c.group_id else None
    return CustomerView(
        id=c.id, email=c.email, first_name=c.first_name, last_name=c.last_name,
        language=c.language, status=c.status, status_label=STATUS_LABELS.get(c.status, c.status),
        can_pay=c.status == "active", marketing_consent=bool(c.marketing_consent),
        registered_at=c.registered_at, confirmed=c.confirmed_at is not None,
        group=GroupView(g.id, g.name, g.discount_bp, g.privilege) if g else None)
