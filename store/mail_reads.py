"""What the mail worker reads for a batch of mails: the orders they are about (with their
items and addresses) and the customers, as plain dicts, in a few queries for hundreds of
mails. The worker turns them into template variables (mailer.context).

Written-out SQL (see store.sql): a batch asks for hundreds of ids at a time, and building
peewee queries and model objects value by value cost more than the SQL itself."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import Field

from store.contact import ADDRESS_FIELDS
from store.models import Address, Customer, Order, OrderItem, db
from store.sql import Params

CHUNK = 500  # ids per statement
ORDER_COLUMNS = (
    Order.id, Order.code, Order.number, Order.status, Order.placed_at, Order.currency,
    Order.subtotal, Order.tax, Order.shipping_cost, Order.discount, Order.total,
    Order.amount_paid, Order.amount_refunded, Order.payment_method, Order.shipping_method,
    Order.tracking_number, Order.carrier, Order.customer_name, Order.customer_email,
)
ORDER_NAMES = tuple(f.name for f in ORDER_COLUMNS)
ITEM_COLUMNS = (OrderItem.order, OrderItem.sku, OrderItem.name, OrderItem.quantity,
                OrderItem.unit_price, OrderItem.tax_rate_bp)
ADDRESS_COLUMNS = (Address.order, Address.kind, *(getattr(Address, k) for k in ADDRESS_FIELDS))
CUSTOMER_COLUMNS = (Customer.id, Customer.first_name, Customer.last_name, Customer.email)


@dataclass(frozen=True)
class OrderForMail:
    """One order as a mail reads it: its columns by name, items, and addresses by kind."""

    order: dict[str, Any]
    items: list[dict[str, Any]]
    addresses: dict[str, dict[str, Any]]


def _rows_in(columns: Sequence[Field], key: Field, ids: Sequence[int],
             order_by: Field | None = None) -> list[tuple[Any, ...]]:
    """SELECT columns WHERE key IN ids, as the driver's plain tuples. Only text, integer and
    id columns: dates need their field's python_value()."""
    p = Params()
    names = ", ".join(f'"{c.column_name}"' for c in columns)
    sql = (f'SELECT {names} FROM "{key.model._meta.table_name}" '
           f'WHERE "{key.column_name}" IN ({", ".join(p(i) for i in ids)})')
    if order_by is not None:
        sql += f' ORDER BY "{order_by.column_name}"'
    return list(db.execute_sql(sql, p).fetchall())


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({int(i) for i in values if i is not None})


def orders_for_mail(order_ids: Iterable[int | None]) -> dict[int, OrderForMail]:
    """The orders of a batch of mails, by id, in three queries per CHUNK ids; an order that
    no longer exists is missing."""
    ids = _ids(order_ids)
    found: dict[int, OrderForMail] = {}
    placed_at = Order.placed_at.python_value
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        items: dict[int, list[dict[str, Any]]] = {i: [] for i in chunk}
        addresses: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in chunk}
        for order_id, sku, name, quantity, unit_price, tax_rate_bp in _rows_in(
                ITEM_COLUMNS, OrderItem.order, chunk, OrderItem.id):
            items[order_id].append({"sku": sku, "name": name, "quantity": quantity,
                                    "unit_price": unit_price, "tax_rate_bp": tax_rate_bp})
        for order_id, kind, *values in _rows_in(ADDRESS_COLUMNS, Address.order, chunk,
                                                Address.id):
            addresses[order_id][kind] = dict(zip(ADDRESS_FIELDS, values, strict=True))
        for row in _rows_in(ORDER_COLUMNS, Order.id, chunk):
            order = dict(zip(ORDER_NAMES, row, strict=True))
            order["placed_at"] = placed_at(order["placed_at"])
            found[order["id"]] = OrderForMail(order, items[order["id"]],
                                              addresses[order["id"]])
    return found


def customers_for_mail(customer_ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    """The customers of a batch of mails, by id: names and email."""
    ids = _ids(customer_ids)
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        for cid, first, last, email in _rows_in(CUSTOMER_COLUMNS, Customer.id,
                                                ids[start:start + CHUNK]):
            found[cid] = {"id": cid, "first_name": first, "last_name": last, "email": email}
    return found
