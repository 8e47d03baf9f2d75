"""The figures kept on each customer (order_count, spent, first_order_at, last_order_at),
moved in the same transaction as every change that moves them, so the customer list and its
segments read columns instead of summing a million orders.

What they are: over the customer's real orders (not test ones), how many, what was spent
(paid minus refunded, of the orders in the shop currency) and when the first and last were
placed. `expected_sql` says it once, in SQL from the orders themselves: `refresh` and the
check in store.checks (`backroom check`) both use it.

Who moves them: placing an order (`placed`), a payment or a refund (`move_spent`), a status
change that records the balance as paid and its undo (set-based: `spent_moved_by`, and
`move_spent` with a batch's deltas), and anything that changes which orders count (the test
flag, an erasure, a deletion: `refresh`, which recomputes the customers named).

Written-out SQL (see store.sql): set-based updates from the orders, which peewee has no
expression for (UPDATE ... FROM a grouped select)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from store.models import Customer, db
from store.sql import id_source, id_value, named


def expected_sql(currency_param: str, where: str = "") -> str:
    """A SELECT of (customer_id, n, spent, first, last) recomputed from the orders, one row per
    customer with a real order; `where` narrows the orders (e.g. to some customers)."""
    return (f"SELECT o.customer_id AS customer_id, COUNT(*) AS n, "
            f"COALESCE(SUM(CASE WHEN o.currency = {named(currency_param)} "
            f"THEN o.amount_paid - o.amount_refunded ELSE 0 END), 0) AS spent, "
            f"MIN(o.placed_at) AS first, MAX(o.placed_at) AS last FROM orders o "
            f"WHERE o.customer_id IS NOT NULL AND NOT o.is_test {where} "
            f"GROUP BY o.customer_id")


def placed(customer_id: int | None, placed_at: dt.datetime, is_test: bool) -> None:
    """A new order of the customer: one more, and maybe their first or last."""
    if customer_id is None or is_test:
        return
    db.execute_sql(
        f"UPDATE customer SET order_count = order_count + 1, "
        f"first_order_at = CASE WHEN first_order_at IS NULL OR first_order_at > {named('at')} "
        f"THEN {named('at')} ELSE first_order_at END, "
        f"last_order_at = CASE WHEN last_order_at IS NULL OR last_order_at < {named('at')} "
        f"THEN {named('at')} ELSE last_order_at END WHERE id = {named('id')}",
        {"at": Customer.first_order_at.db_value(placed_at), "id": customer_id})


def counts(customer_id: int | None, is_test: bool, currency: str, shop_currency: str) -> bool:
    """Whether money moved on this order moves its customer's spent."""
    return customer_id is not None and not is_test and currency == shop_currency


def move_spent(deltas: Mapping[int, int]) -> None:
    """Add each amount (negative: take it off) to its customer's spent, in one statement run."""
    rows = [(amount, customer_id) for customer_id, amount in deltas.items() if amount]
    if rows:
        db.cursor().executemany(
            f"UPDATE customer SET spent = spent + {named('p0')} WHERE id = {named('p1')}",
            [{"p0": amount, "p1": customer_id} for amount, customer_id in rows])


def spent_moved_by(rows: str, amount: str, currency_param: str, params: Mapping[str, Any]) -> None:
    """Set-based: each customer's spent moves by the sum of `amount` (an SQL expression on
    order `o`, NULL or 0 where nothing moves) over the orders `rows` gives (a FROM ... JOIN
    orders o clause), the real orders in the shop currency only."""
    db.execute_sql(
        f"UPDATE customer SET spent = spent + d.delta FROM (SELECT o.customer_id AS cid, "
        f"SUM({amount}) AS delta {rows} WHERE o.customer_id IS NOT NULL AND NOT o.is_test "
        f"AND o.currency = {named(currency_param)} GROUP BY o.customer_id) AS d "
        f"WHERE customer.id = d.cid AND d.delta <> 0", params)


def refresh(customer_ids: Sequence[int | None], currency: str) -> None:
    """Recompute the figures of these customers from their orders (set-based)."""
    ids = sorted({int(c) for c in customer_ids if c is not None})
    if not ids:
        return
    params = {"ids": id_value(ids), "currency": currency}
    within = f"IN (SELECT value FROM {id_source('ids')})"
    db.execute_sql(
        f"UPDATE customer SET order_count = 0, spent = 0, first_order_at = NULL, "
        f"last_order_at = NULL WHERE id {within}", params)
    db.execute_sql(
        f"UPDATE customer SET order_count = f.n, spent = f.spent, first_order_at = f.first, "
        f"last_order_at = f.last FROM ({expected_sql('currency', f'AND o.customer_id {within}')})"
        f" AS f WHERE customer.id = f.customer_id", params)


def rebuild_all(currency: str) -> None:
    """Recompute every customer's figures from the orders (a built demo shop, a repair)."""
    db.execute_sql("UPDATE customer SET order_count = 0, spent = 0, first_order_at = NULL, "
                   "last_order_at = NULL WHERE order_count <> 0 OR spent <> 0 "
                   "OR first_order_at IS NOT NULL OR last_order_at IS NOT NULL")
    db.execute_sql(
        f"UPDATE customer SET order_count = f.n, spent = f.spent, first_order_at = f.first, "
        f"last_order_at = f.last FROM ({expected_sql('currency')}) AS f "
        f"WHERE customer.id = f.customer_id", {"currency": currency})


def differences(currency: str) -> list[tuple[int, tuple[Any, ...], tuple[Any, ...]]]:
    """Every customer whose stored figures differ from the orders: (id, stored, expected),
    each (order_count, spent, first_order_at, last_order_at)."""
    found = db.execute_sql(
        f"SELECT c.id, c.order_count, c.spent, c.first_order_at, c.last_order_at, "
        f"COALESCE(f.n, 0), COALESCE(f.spent, 0), f.first, f.last FROM customer c "
        f"LEFT JOIN ({expected_sql('currency')}) AS f ON f.customer_id = c.id "
        f"WHERE c.order_count <> COALESCE(f.n, 0) OR c.spent <> COALESCE(f.spent, 0) "
        f"OR c.first_order_at IS DISTINCT FROM f.first "
        f"OR c.last_order_at IS DISTINCT FROM f.last ORDER BY c.id", {"currency": currency})
    return [(int(r[0]), tuple(r[1:5]), tuple(r[5:9])) for r in found]
