"""What every write to an order shares: the row lock, the version check, the history rows,
and the search text kept in step with the fields free search reads (its own table,
order_search: see store.models.OrderSearch)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from store import db as dbmod
from store.errors import Conflict, NotFound, Refused
from store.folding import digits, fold
from store.models import Order, OrderEvent, OrderItem, OrderSearch, db, utcnow
from store.operators import Actor, current
from store.shop import Shop
from store.sql import (
    id_source,
    id_value,
    insert_rows,
    insert_select,
    json_object,
    named,
    update_rows,
)


@dataclass(frozen=True)
class OrderResult:
    """What happened to one order of a change of many (status, archive): changed, or refused
    with the reason."""

    order_id: int
    code: str
    from_status: str
    changed: bool
    reason: str = ""


def event(order_id: int, actor: Actor, kind: str, message: str = "", *, from_status: str = "",
          to_status: str = "", data: Mapping[str, Any] | None = None, visible: bool = False,
          batch: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """One history row, as insert_events takes it."""
    now = now or utcnow()
    return {
        "order": order_id, "kind": kind, "message": message, "from_status": from_status,
        "to_status": to_status, "data": json.dumps(data or {}, default=str, ensure_ascii=False),
        "operator_login": actor.login, "visible": visible, "batch": batch,
        "created_at": now, "updated_at": now,
    }


def insert_events(rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(OrderEvent, rows)


def insert_withdrawn_events(mail_ids: Sequence[int], actor: Actor, why: str, batch: str | None,
                            now: dt.datetime) -> None:
    """One history row per mail withdrawn from an order ("payment_received mail withdrawn:
    superseded by Shipped"), set-based: INSERT ... SELECT from the outbox rows by id."""
    if not mail_ids:
        return
    insert_select(OrderEvent, {
        "order": "m.order_id", "kind": "'mail_withdrawn'",
        "message": f"m.kind || ' mail withdrawn: ' || CAST({named('why')} AS TEXT)",
        "data": json_object("'mail_id', m.id, 'mail', m.kind"),
        "operator_login": named("login"), "visible": named("visible"), "batch": named("batch"),
        "created_at": named("now"), "updated_at": named("now"),
    }, f"FROM {id_source('mails')} JOIN outbox m ON m.id = pick.value "
       "WHERE m.order_id IS NOT NULL ORDER BY pick.key",
        {"mails": id_value(mail_ids), "why": why, "login": actor.login, "visible": False,
         "batch": batch, "now": now})


SEARCH_FIELDS = ("code", "customer_name", "customer_email", "customer_phone", "tracking_number",
                 "internal_reference", "external_reference")


def search_text(order: Order | Mapping[str, Any], items: Iterable[tuple[str, str]]) -> str:
    """The one definition of what free search matches of an order, folded (store.folding):
    code, customer name, email and phone (also as its digits alone), tracking number,
    references (internal, and an imported order's name in the shop it came from), and each
    item's sku and name."""
    get = order.get if isinstance(order, Mapping) else lambda k, d="": getattr(order, k, d)
    phone = get("customer_phone", "") or ""
    parts = [get("code", ""), get("customer_name", ""), get("customer_email", ""), phone,
             digits(phone), get("tracking_number", ""), get("internal_reference", ""),
             get("external_reference", "")]
    for sku, name in items:
        parts += [sku, name]
    return fold(" ".join(p for p in parts if p))


def search_row(order_id: int, order: Order | Mapping[str, Any],
               items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The order_search row of one order: its folded text, and its folded customer name
    (what a 1-2 character search matches the start of)."""
    get = order.get if isinstance(order, Mapping) else lambda k, d="": getattr(order, k, d)
    return {"order": order_id, "text": search_text(order, items),
            "name": fold(get("customer_name", "") or "")}


def insert_search(rows: Sequence[Mapping[str, Any]]) -> None:
    """New orders' search rows (search_row), in one statement run."""
    insert_rows(OrderSearch, rows)


def refresh_search(order: Order) -> None:
    """Write the search row of one order from its fields as given (already changed by the
    caller) and its items, read here."""
    order_id = int(order.id)
    items = [(i.sku, i.name) for i in OrderItem.select(OrderItem.sku, OrderItem.name)
             .where(OrderItem.order == order_id).order_by(OrderItem.id)]
    row = search_row(order_id, order, items)
    OrderSearch.insert(**row).on_conflict(
        conflict_target=[OrderSearch.order],
        update={OrderSearch.text: row["text"], OrderSearch.name: row["name"]}).execute()


def refresh_search_many(ids: Sequence[int]) -> None:
    """Write the search rows of many orders from their fields as written in this transaction,
    read with their items in two queries; one statement run for all."""
    if not ids:
        return
    rows = []
    for order, items in search_inputs(ids):
        row = search_row(order["id"], order, items)
        rows.append((row["text"], row["name"], order["id"]))
    update_rows(OrderSearch, ("text", "name"), rows, key="order_id")


def search_inputs(ids: Sequence[int]) -> list[tuple[dict[str, Any], list[tuple[str, str]]]]:
    """Each order's fields that free search reads (and its carrier), with its items' (sku,
    name) in order: one read of the orders and one of their items, so search texts are
    recomputed for many orders without a query per order."""
    bound = {"ids": id_value(ids)}
    within = f"IN (SELECT value FROM {id_source('ids')})"
    items: dict[int, list[tuple[str, str]]] = {}
    for order_id, sku, name in db.execute_sql(
            f"SELECT order_id, sku, name FROM order_item WHERE order_id {within} "
            "ORDER BY order_id, id", bound):
        items.setdefault(order_id, []).append((sku, name))
    columns = ("id", *SEARCH_FIELDS, "carrier")
    return [(order, items.get(order["id"], []))
            for order in (dict(zip(columns, values, strict=True)) for values in db.execute_sql(
                f"SELECT {', '.join(columns)} FROM orders WHERE id {within}", bound))]


def locked(query: Any) -> Any:
    """Row locks on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the write lock."""
    return query if dbmod.is_sqlite() else query.for_update()


def load_for_write(order_id: int, expected_version: int | None = None) -> Order:
    """The order, locked for this transaction; refused if another operator changed it since
    the caller read `expected_version`."""
    order = locked(Order.select().where(Order.id == order_id)).first()
    if order is None:
        raise NotFound(f"no such order (id {order_id}); it may have been deleted")
    if expected_version is not None and order.version != expected_version:
        who = order.updated_by or "another operator"
        raise Conflict(
            f"order {order.code} was changed by {who} since you opened it; "
            "it has been reloaded, check it and try again"
        )
    return order


def bump(order: Order, actor: Actor, **changes: Any) -> None:
    """Write changes to one order with its version checked, so nothing is silently lost."""
    now = utcnow()
    changes.update(version=order.version + 1, updated_at=now, updated_by=actor.login)
    count = (Order.update(**changes)
             .where(Order.id == order.id, Order.version == order.version).execute())
    if count != 1:
        raise Conflict(f"order {order.code} was changed by another operator; reload and retry")
    for key, value in changes.items():
        setattr(order, key, value)


def has_shipped(shop: Shop, order: Order) -> bool:
    """True once the order has entered a status that needs a tracking number (shipped)."""
    ship = shop.workflow.shipping_keys()
    if order.status in ship:
        return True
    shipped = OrderEvent.select().where(OrderEvent.order == order.id, OrderEvent.kind == "status",
                                        OrderEvent.to_status.in_(ship)).count()
    undone = OrderEvent.select().where(OrderEvent.order == order.id,
                                       OrderEvent.kind == "status_undone",
                                       OrderEvent.from_status.in_(ship)).count()
    return bool(shipped > undone)  # a shipment undone at once never left


def guard_shipped(shop: Shop, actor: Actor, order: Order) -> None:
    """Once an order has shipped, only an admin may edit what was shipped."""
    if has_shipped(shop, order) and not current(actor).can("edit_shipped"):
        raise Refused(f"order {order.code} has shipped: only an admin may edit it now")
