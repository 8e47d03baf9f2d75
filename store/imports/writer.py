"""The set-based import writer: orders (with their items, addresses, payments, refunds and
history) and customers written a chunk at a time, each chunk one transaction, with one
executemany (SQLite) or execute_values (PostgreSQL) per table. 100,000 orders through
place_order would be 100,000 transactions of a dozen statements each.

What it writes is what the services would have (a placed order, the payments and refunds
it had, the status it stands in, a customer with their address), and the history says where
each came from, at the original dates ("imported from Shopify (#1001): placed 2025-10-07
09:50:26 +0200"). Mails and webhooks only with `notify` (a history import tells no one)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from store import customer_figures, subscribers, webhooks
from store import db as dbmod
from store.codes import format_code
from store.customers import customer_search_text, default_group, places
from store.folding import fold_item
from store.imports.common import SOURCE_LABELS, CustomerIn, OrderIn, Progress, RefundIn
from store.models import (
    Address,
    Customer,
    CustomerEvent,
    Order,
    OrderEvent,
    OrderItem,
    Payment,
    db,
    utcnow,
)
from store.money import format_money
from store.operators import Actor
from store.order_rows import insert_search, search_row
from store.orders import allocate_numbers
from store.outbox import Mail, enqueue, order_payload
from store.shop import Shop
from store.sql import Params, insert_rows, values_source

CHUNK = 2000  # orders (or customers) per transaction
BULK_FROM = 5000  # orders: from this many, an import into a smaller SQLite shop goes in bulk


def _ts(value: dt.datetime | None) -> Any:
    """A time as the driver stores it, converted here once (see store.sql.stored_time)."""
    if value is None:
        return None
    return value.isoformat(" ") if dbmod.is_sqlite() else value


def _address(owner: str, owner_id: int, kind: str, address: Mapping[str, str],
             stamp: Any) -> dict[str, Any]:
    get = address.get
    row: dict[str, Any] = {
        "customer": None, "order": None, "kind": kind, "first_name": get("first_name", ""),
        "last_name": get("last_name", ""), "company": get("company", ""),
        "line1": get("line1", ""), "line2": get("line2", ""), "postcode": get("postcode", ""),
        "city": get("city", ""), "region": get("region", ""), "country": get("country", ""),
        "phone": get("phone", ""), "created_at": stamp, "updated_at": stamp}
    row[owner] = owner_id
    return row


# json.dumps(data, ensure_ascii=False), without making an encoder for each of 200,000 rows
_json = json.JSONEncoder(ensure_ascii=False).encode


def _event(order_id: int, login: str, kind: str, message: str, at: dt.datetime,
           to_status: str = "", data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    stamp = _ts(at)
    return {"order": order_id, "kind": kind, "message": message, "from_status": "",
            "to_status": to_status, "data": _json(data) if data else "{}",
            "operator_login": login, "visible": False, "batch": None,
            "created_at": stamp, "updated_at": stamp}


def write_orders(shop: Shop, actor: Actor, source: str, orders: Sequence[OrderIn],
                 new_customers: Mapping[str, OrderIn], known: Mapping[str, int], *,
                 notify: bool = False, progress: Progress | None = None) -> tuple[int, int]:
    """Write the orders, creating the customers they need first; (mails, webhooks) queued."""
    label = SOURCE_LABELS.get(source, source)
    customer_ids = dict(known)
    registered: dict[str, dt.datetime] = {}
    for order in orders:
        key = order.email.lower()
        if key in new_customers:
            registered[key] = min(registered.get(key, order.placed_at), order.placed_at)
    group = default_group()
    mails = hooks = 0
    with _bulk(len(orders), shop.currency) as figures:
        for start in range(0, len(orders), CHUNK):
            chunk = orders[start:start + CHUNK]
            mails, hooks = _write_chunk(shop, actor, source, label, chunk, new_customers,
                                        customer_ids, registered, group.id if group else None,
                                        notify, (mails, hooks), figures)
            if progress is not None:
                progress(len(chunk))
    for table in BULK_TABLES:  # PostgreSQL plans the next reads from fresh statistics
        dbmod.after_bulk_write(table, len(orders))
    return mails, hooks


BULK_TABLES = ("customer", "orders", "order_search", "order_item", "address", "order_event",
               "payment", "customer_event")
BULK_TRIGGERS = ("order_fts_insert", "customer_fts_ai", "item_fts_insert")


@contextlib.contextmanager
def _bulk(count: int, currency: str) -> Iterator[list[int | None] | None]:
    """A large import into a smaller SQLite shop (a shop's first import, typically) runs as one
    transaction that drops the bulk tables' secondary indexes and the search index's insert
    triggers, then builds them once at the end, as the demo builder does: far cheaper than
    keeping them up to date row by row. Unique indexes stay (the import's idempotence rests on
    them). The customers' figures are then recomputed once, on the indexes, for every
    customer the chunks noted in the list yielded. Otherwise each chunk is its own
    transaction, nothing is dropped, and None is yielded: each chunk refreshes its own."""
    if not dbmod.is_sqlite() or count < BULK_FROM or count < Order.select().count():
        yield None
        return
    with db.atomic():
        names = ", ".join(f"'{t}'" for t in BULK_TABLES)
        indexes = db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN ({names})").fetchall()
        triggers = db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
            f"({', '.join(repr(t) for t in BULK_TRIGGERS)})").fetchall()
        for name, _sql in indexes:
            db.execute_sql(f'DROP INDEX "{name}"')
        for name, _sql in triggers:
            db.execute_sql(f'DROP TRIGGER "{name}"')
        figures: list[int | None] = []
        yield figures
        for _name, sql in indexes + triggers:
            db.execute_sql(sql)
        customer_figures.refresh(figures, currency)
        if any(name == "order_fts_insert" for name, _sql in triggers):
            db.execute_sql("INSERT INTO order_fts(order_fts) VALUES ('rebuild')")
        if any(name == "customer_fts_ai" for name, _sql in triggers):
            db.execute_sql("INSERT INTO customer_fts(customer_fts) VALUES ('rebuild')")
        if any(name == "item_fts_insert" for name, _sql in triggers):
            db.execute_sql("INSERT INTO item_fts(item_fts) VALUES ('rebuild')")
    db.execute_sql("PRAGMA analysis_limit = 1000")
    db.execute_sql("ANALYZE")


def _write_chunk(shop: Shop, actor: Actor, source: str, label: str, chunk: Sequence[OrderIn],
                 new_customers: Mapping[str, OrderIn], customer_ids: dict[str, int],
                 registered: Mapping[str, dt.datetime], group_id: int | None, notify: bool,
                 queued: tuple[int, int], figures: list[int | None] | None) -> tuple[int, int]:
    """One chunk of orders in one transaction (a savepoint inside a bulk import, which
    refreshes the customers' `figures` once at its end)."""
    mails, hooks = queued
    with db.atomic():
        fresh = [k for k in dict.fromkeys(o.email.lower() for o in chunk if o.email)
                 if k not in customer_ids]
        made = _insert_customers(
            shop, actor, [(new_customers[k], registered[k]) for k in fresh],
            group_id, f"imported from {label}", notify)
        subscribers.customers_changed(list(made.values()), actor.login)
        customer_ids.update(made)
        written = _insert_orders(shop, actor, source, label, chunk, customer_ids)
        customers = [customer_ids.get(o.email.lower()) for o in chunk if o.email]
        if figures is None:
            customer_figures.refresh(customers, shop.currency)  # order counts and spent
        else:
            figures.extend(customers)
        if notify:
            mails += _notify_orders(shop, chunk, written, customer_ids)
            hooks += sum(webhooks.order_placed(i) for i, _code in written)
            mails += _confirm_customers(shop, made)
            hooks += sum(webhooks.customer_created(c) for c in
                         Customer.select().where(Customer.id.in_(list(made.values()))))
    return mails, hooks


def _insert_customers(shop: Shop, actor: Actor, people: Sequence[tuple[OrderIn, dt.datetime]],
                      group_id: int | None, why: str, notify: bool) -> dict[str, int]:
    """Customers made from their first order's name, phone and addresses; email -> id."""
    if not people:
        return {}
    now = _ts(utcnow())
    rows = []
    for order, since in people:
        first, _, last = order.name.partition(" ")
        at = _ts(since)
        rows.append({
            "first_name": first, "last_name": last.strip(), "email": order.email,
            "email_key": order.email.lower(), "phone": order.phone, "language": shop.language,
            "status": "active", "group": group_id, "registered_at": at,
            "marketing_consent": order.consent, "consent_at": at if order.consent else None,
            "consent_source": why if order.consent else "",
            "confirm_token": secrets.token_urlsafe(24) if notify else None,
            "updated_by": actor.login,
            "search_text": customer_search_text(
                {"first_name": first, "last_name": last.strip(), "email": order.email,
                 "phone": order.phone}, _places_of(_customer_addresses(order))),
            "created_at": now, "updated_at": now})
    insert_rows(Customer, rows)
    ids = _ids_by_email([r["email_key"] for r in rows])
    addresses = []
    events = []
    for order, _since in people:
        cid = ids[order.email.lower()]
        addresses += [_address("customer", cid, kind, address, now)
                      for kind, address in _customer_addresses(order)]
        events.append({"customer": cid, "kind": "imported",
                       "message": f"{why} with order {order.reference}", "data": "{}",
                       "operator_login": actor.login, "created_at": now, "updated_at": now})
    insert_rows(Address, addresses)
    insert_rows(CustomerEvent, events)
    return ids


def _ids_by_email(keys: Sequence[str]) -> dict[str, int]:
    """Email key -> id of the customers just written, in written-out SQL (peewee's rows cost
    a microsecond each to read back)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), CHUNK):
        source, params = values_source("k", [("key", "text")],
                                       [(k,) for k in keys[start:start + CHUNK]])
        found.update(db.execute_sql(
            f"SELECT c.email_key, c.id FROM customer c WHERE c.email_key IN "
            f"(SELECT given.key FROM {source})", params).fetchall())
    return found


def _insert_orders(shop: Shop, actor: Actor, source: str, label: str,
                   chunk: Sequence[OrderIn],
                   customer_ids: Mapping[str, int]) -> list[tuple[int, str]]:
    """The orders of one chunk and everything hanging from them; their ids and codes, in
    order."""
    first = allocate_numbers(len(chunk))
    now = _ts(utcnow())
    rows = [_order_row(shop, actor, source, order, first + n, customer_ids, now)
            for n, order in enumerate(chunk)]
    insert_rows(Order, rows)
    p = Params()
    by_number: dict[int, int] = dict(db.execute_sql(
        f"SELECT number, id FROM orders WHERE number BETWEEN {p(first)} AND "
        f"{p(first + len(chunk) - 1)}", p).fetchall())
    ids = [by_number[first + n] for n in range(len(chunk))]
    insert_search([search_row(order_id, fields, [(i.sku, i.name) for i in order.items])
                   for order_id, fields, order in zip(ids, rows, chunk, strict=True)])
    items: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for order_id, order in zip(ids, chunk, strict=True):
        stamp = _ts(order.placed_at)
        items.extend({"order": order_id, "sku": i.sku, "name": i.name,
                      "folded": fold_item(i.sku, i.name), "quantity": i.quantity,
                      "unit_price": i.unit_price, "tax_rate_bp": i.tax_rate_bp,
                      "created_at": stamp, "updated_at": stamp} for i in order.items)
        addresses.extend(_address("order", order_id, kind, address, stamp)
                         for kind, address in order.addresses.items())
        _order_history(order_id, order, actor.login, source, label, payments, events)
    insert_rows(OrderItem, items)
    insert_rows(Address, addresses)
    insert_rows(Payment, payments)
    insert_rows(OrderEvent, events)
    return [(order_id, row["code"]) for order_id, row in zip(ids, rows, strict=True)]


def _order_row(shop: Shop, actor: Actor, source: str, order: OrderIn, number: int,
               customer_ids: Mapping[str, int], now: Any) -> dict[str, Any]:
    """The orders row of an imported order, numbered in this shop's series."""
    return {
        "number": number, "code": format_code(shop.prefix, number),
        "customer": customer_ids.get(order.email.lower()) if order.email else None,
        "customer_name": order.name, "customer_email": order.email,
        "customer_phone": order.phone, "language": shop.language, "status": order.status,
        "currency": order.currency, "subtotal": order.subtotal, "tax": order.tax,
        "shipping_cost": order.shipping_cost, "discount": order.discount,
        "total": order.total, "payment_method": order.payment_method,
        "payment_reference": order.payment_reference, "amount_paid": order.paid,
        "amount_refunded": order.refunded, "shipping_method": order.shipping_method,
        "customer_note": order.customer_note,
        "item_count": sum(i.quantity for i in order.items),
        "placed_at": _ts(order.placed_at), "external_source": source,
        "external_reference": order.reference, "updated_by": actor.login,
        "created_at": now, "updated_at": now}


def _order_history(order_id: int, order: OrderIn, login: str, source: str, label: str,
                   payments: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """What the other shop says happened to an order, as our rows: the import itself, the
    payment and refunds (each with its history row), and its fulfilled, completed and
    cancelled dates."""
    events.append(_event(
        order_id, login, "imported",
        f"imported from {label} ({order.reference}): placed {order.placed_text}; "
        f"{order.status_says}", order.placed_at, order.status,
        {"source": source, "reference": order.reference, "said": order.status_says,
         "total": order.total}))
    money = order.currency
    if order.paid:
        at = order.paid_at or order.placed_at
        payments.append(_payment(order_id, "payment", order.paid, order, at, login,
                                 f"imported from {label}"))
        events.append(_event(order_id, login, "payment",
                             f"payment of {format_money(order.paid, money)} "
                             f"(imported from {label})", at,
                             data={"amount": order.paid, "method": order.payment_method}))
    refunds = order.refunds or ([RefundIn(order.refunded, "", None)] if order.refunded
                                else [])
    for refund in refunds:
        amount, reason = refund.amount, refund.reason or "refund"
        at = (refund.at or order.cancelled_at or order.completed_at or order.paid_at
              or order.placed_at)
        payments.append(_payment(order_id, "refund", amount, order, at, login,
                                 f"{reason} (imported from {label})"))
        events.append(_event(order_id, login, "refund",
                             f"{reason}: {format_money(amount, money)} "
                             f"(imported from {label})", at,
                             data={"amount": amount, "full": amount == order.paid}))
    for what, when in (("fulfilled", order.fulfilled_at),
                       ("completed", order.completed_at),
                       ("cancelled", order.cancelled_at)):
        if when is not None:
            events.append(_event(order_id, login, "imported",
                                 f"{what} (imported from {label})", when))


def _payment(order_id: int, kind: str, amount: int, order: OrderIn, at: dt.datetime,
             login: str, reason: str) -> dict[str, Any]:
    stamp = _ts(at)
    return {"order": order_id, "kind": kind, "amount": amount, "currency": order.currency,
            "method": order.payment_method,
            "reference": order.payment_reference if kind == "payment" else "",
            "reason": reason, "operator_login": login, "created_at": stamp, "updated_at": stamp}


def _notify_orders(shop: Shop, chunk: Sequence[OrderIn], written: Sequence[tuple[int, str]],
                   customer_ids: Mapping[str, int]) -> int:
    """`--notify`: each customer with an email gets the order's confirmation."""
    return enqueue(
        Mail("order_placed", order.email, f"placed:{order_id}", shop.language,
             order_payload({"id": order_id, "code": code}), order_id=order_id,
             customer_id=customer_ids.get(order.email.lower()))
        for (order_id, code), order in zip(written, chunk, strict=True) if order.email)


def _confirm_customers(shop: Shop, made: Mapping[str, int]) -> int:
    """`--notify`: each new account gets its confirm-account mail (set-password link)."""
    base = str(shop.config.get("shop", "storefront_url")).rstrip("/")
    mails = []
    for customer in Customer.select().where(Customer.id.in_(list(made.values()))):
        token = customer.confirm_token
        mails.append(Mail("account_confirm", customer.email, f"confirm:{customer.id}",
                          customer.language, {"customer_id": customer.id, "token": token,
                                              "link": f"{base}/account/confirm?token={token}"},
                          customer_id=customer.id))
    return enqueue(mails)


def write_customers(shop: Shop, actor: Actor, new: Sequence[CustomerIn],
                    updates: Sequence[tuple[Customer, CustomerIn, Mapping[str, Any]]],
                    group_id: int | None, why: str, *, notify: bool = False,
                    progress: Progress | None = None) -> tuple[int, int]:
    """Create the new customers and fill in what the others lack, a chunk per transaction;
    (mails, webhooks) queued (only with `notify`: confirm-account mails, customer.created)."""
    mails = hooks = 0
    for start in range(0, len(new), CHUNK):
        chunk = new[start:start + CHUNK]
        with db.atomic():
            made = _insert_file_customers(shop, actor, chunk, group_id, why, notify)
            subscribers.customers_changed(list(made.values()), actor.login)
            if notify:
                mails += _confirm_customers(shop, made)
                hooks += sum(webhooks.customer_created(c) for c in
                             Customer.select().where(Customer.id.in_(list(made.values()))))
        if progress is not None:
            progress(len(chunk))
    for start in range(0, len(updates), CHUNK):
        part = updates[start:start + CHUNK]
        with db.atomic():
            for customer, row, changes in part:
                _fill_in(actor, customer, row, changes, why)
            subscribers.customers_changed(
                [c.id for c, _row, changes in part if "marketing_consent" in changes],
                actor.login)
            subscribers.customers_renamed(
                [c.id for c, _row, changes in part if {"first_name", "last_name"} & set(changes)])
        if progress is not None:
            progress(len(part))
    return mails, hooks


def _insert_file_customers(shop: Shop, actor: Actor, chunk: Sequence[CustomerIn],
                           group_id: int | None, why: str, notify: bool) -> dict[str, int]:
    now = _ts(utcnow())
    rows = [{
        "first_name": c.first_name, "last_name": c.last_name, "email": c.email,
        "email_key": c.email.lower(), "phone": c.phone, "language": shop.language,
        "status": "active", "group": group_id, "registered_at": now,
        "marketing_consent": c.consent,
        "consent_at": _ts(c.consent_at or utcnow()) if c.consent else None,
        "consent_source": why if c.consent else "",
        "confirm_token": secrets.token_urlsafe(24) if notify else None,
        "updated_by": actor.login,
        "search_text": customer_search_text(
            {"first_name": c.first_name, "last_name": c.last_name, "email": c.email,
             "phone": c.phone},
            _places_of([(kind, c.address) for kind in ("billing", "shipping")] if c.address
                       else [])),
        "created_at": now, "updated_at": now} for c in chunk]
    insert_rows(Customer, rows)
    ids = _ids_by_email([r["email_key"] for r in rows])
    addresses = [_address("customer", ids[c.email.lower()], kind, c.address, now)
                 for c in chunk if c.address for kind in ("billing", "shipping")]
    insert_rows(Address, addresses)
    insert_rows(CustomerEvent, [
        {"customer": ids[c.email.lower()], "kind": "imported", "message": f"{why} ({c.where})",
         "data": "{}", "operator_login": actor.login, "created_at": now, "updated_at": now}
        for c in chunk])
    return ids


def _fill_in(actor: Actor, customer: Customer, row: CustomerIn, changes: Mapping[str, Any],
             why: str) -> None:
    """What a customer lacked, from the file; their version bumped, the history told."""
    values = {k: v for k, v in changes.items() if k != "address"}
    now = utcnow()
    if "address" in changes:
        for kind in ("billing", "shipping"):
            Address.create(customer=customer.id, kind=kind, **dict(changes["address"]))
    if values or "address" in changes:
        fields = {k: getattr(customer, k) for k in ("first_name", "last_name", "email",
                                                     "phone")} | values
        values["search_text"] = customer_search_text(fields, places(customer.id))
    Customer.update(version=Customer.version + 1, updated_at=now, updated_by=actor.login,
                    **values).where(Customer.id == customer.id).execute()
    added = ", ".join(k.replace("_", " ") for k in changes
                      if k not in ("consent_at", "consent_source"))
    CustomerEvent.create(customer=customer.id, kind="imported",
                         message=f"{why} ({row.where}): added {added}",
                         data=json.dumps({k: str(v) for k, v in changes.items()},
                                         ensure_ascii=False), operator_login=actor.login)


def _customer_addresses(order: OrderIn) -> list[tuple[str, Mapping[str, str]]]:
    """The billing and shipping addresses a customer made from their first order keeps (the
    one the order lacks copied from the other), in the order they are written."""
    found: list[tuple[str, Mapping[str, str]]] = []
    for kind in ("billing", "shipping"):
        address = order.addresses.get(kind) or order.addresses.get(
            "shipping" if kind == "billing" else "billing")
        if address:
            found.append((kind, address))
    return found


def _places_of(addresses: Sequence[tuple[str, Mapping[str, str]]]) -> list[str]:
    """The places of addresses about to be written, as store.customers.places reads them
    back (postcode, city, country of each, in order): what the search text holds."""
    return [address.get(k, "") or "" for _kind, address in addresses
            for k in ("postcode", "city", "country")]
