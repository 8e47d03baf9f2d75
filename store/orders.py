"""Order services: each does one thing an operator asks for, in one transaction, with its
history rows and its outbox rows, or refuses with a message and changes nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from peewee import fn

from store import db as dbmod
from store.codes import FIRST_NUMBER, format_code, parse_code
from store.errors import Conflict, NotFound, Refused, ValidationError
from store.models import (
    Address,
    Counter,
    Customer,
    Order,
    OrderEvent,
    OrderItem,
    Outbox,
    Payment,
    db,
    utcnow,
)
from store.operators import Actor, require
from store.outbox import Mail, enqueue, withdraw_batch
from store.shop import Shop

ADDRESS_FIELDS = ("first_name", "last_name", "company", "line1", "line2", "postcode", "city",
                  "region", "country", "phone")
UNDO_MARGIN_SECONDS = 5


# ----- inputs and results -------------------------------------------------------------------

@dataclass(frozen=True)
class ItemInput:
    sku: str
    name: str
    quantity: int
    unit_price: int
    tax_rate_bp: int = 0


@dataclass(frozen=True)
class OrderRef:
    id: int
    code: str


@dataclass(frozen=True)
class OrderResult:
    """What happened to one order of a status change."""

    order_id: int
    code: str
    from_status: str
    changed: bool
    reason: str = ""


@dataclass(frozen=True)
class StatusChange:
    """The outcome of `change_status` (per-order results, mails queued, the undo handle) or
    of `undo` (which queues none: its held mails withdrawn are counted apart, in `withdrawn`,
    so nothing prints them as queued)."""

    to_status: str
    results: tuple[OrderResult, ...]
    mails: int  # customer mails queued
    batch: str
    dry_run: bool = False
    moves: Mapping[str, int] = field(default_factory=dict)  # from_status -> count
    withdrawn: int = 0  # held mails an undo cancelled

    @property
    def changed(self) -> list[OrderResult]:
        return [r for r in self.results if r.changed]

    @property
    def refused(self) -> list[OrderResult]:
        return [r for r in self.results if not r.changed]

    def summary(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        text = f"{len(self.changed)} {verb}, {len(self.refused)} refused"
        if self.mails:
            text += f", {self.mails} email(s) {'to queue' if self.dry_run else 'queued'}"
        if self.withdrawn:
            text += f", {self.withdrawn} email(s) withdrawn"
        return text


# ----- helpers -------------------------------------------------------------------------------

def _event(order_id: int, actor: Actor, kind: str, message: str = "", *, from_status: str = "",
           to_status: str = "", data: Mapping[str, Any] | None = None, visible: bool = False,
           batch: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "order": order_id, "kind": kind, "message": message, "from_status": from_status,
        "to_status": to_status, "data": json.dumps(data or {}, default=str, ensure_ascii=False),
        "operator_login": actor.login, "visible": visible, "batch": batch,
        "created_at": now, "updated_at": now,
    }


def _insert_events(rows: Sequence[dict[str, Any]]) -> None:
    from store.bulk import insert_rows

    insert_rows(OrderEvent, rows)


def search_text(order: Order | Mapping[str, Any], items: Iterable[tuple[str, str]]) -> str:
    """The text free search matches: code, customer, email, products, tracking, reference."""
    get = order.get if isinstance(order, Mapping) else lambda k, d="": getattr(order, k, d)
    parts = [get("code", ""), get("customer_name", ""), get("customer_email", ""),
             get("tracking_number", ""), get("internal_reference", "")]
    for sku, name in items:
        parts += [sku, name]
    return " ".join(p for p in parts if p)


def _refresh_search_text(order: Order) -> None:
    items = [(i.sku, i.name) for i in OrderItem.select(OrderItem.sku, OrderItem.name)
             .where(OrderItem.order == order.id)]
    order.search_text = search_text(order, items)


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


def _locked(query: Any) -> Any:
    """Row locks on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the write lock."""
    return query if dbmod.is_sqlite() else query.for_update()


def _load_for_write(order_id: int, expected_version: int | None = None) -> Order:
    order = _locked(Order.select().where(Order.id == order_id)).first()
    if order is None:
        raise NotFound(f"no such order (id {order_id}); it may have been deleted")
    if expected_version is not None and order.version != expected_version:
        who = order.updated_by or "another operator"
        raise Conflict(
            f"order {order.code} was changed by {who} since you opened it; "
            "it has been reloaded, check it and try again"
        )
    return order


def _bump(order: Order, actor: Actor, **changes: Any) -> None:
    """Write changes to one order with its version checked, so nothing is silently lost."""
    now = utcnow()
    changes.update(version=order.version + 1, updated_at=now, updated_by=actor.login)
    count = (Order.update(**changes)
             .where(Order.id == order.id, Order.version == order.version).execute())
    if count != 1:
        raise Conflict(f"order {order.code} was changed by another operator; reload and retry")
    for key, value in changes.items():
        setattr(order, key, value)


def _shipping_statuses(shop: Shop) -> list[str]:
    return [s.key for s in shop.workflow.statuses.values() if "tracking" in s.requires]


def has_shipped(shop: Shop, order: Order) -> bool:
    """True once the order has entered a status that needs a tracking number (shipped)."""
    ship = _shipping_statuses(shop)
    if order.status in ship:
        return True
    shipped = OrderEvent.select().where(OrderEvent.order == order.id, OrderEvent.kind == "status",
                                        OrderEvent.to_status.in_(ship)).count()
    undone = OrderEvent.select().where(OrderEvent.order == order.id,
                                       OrderEvent.kind == "status_undone",
                                       OrderEvent.from_status.in_(ship)).count()
    return bool(shipped > undone)  # a shipment undone at once never left


def _mail_payload(order: Order | Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    get = order.get if isinstance(order, Mapping) else lambda k: getattr(order, k)
    payload = {"order_id": get("id"), "code": get("code")}
    payload.update(extra)
    return payload


def find_order(shop: Shop, text: str) -> OrderRef:
    """An order by the code typed or scanned; a wrong check digit never opens another order."""
    number = parse_code(text, shop.prefix)
    row = db.execute_sql(f"SELECT id, code FROM orders WHERE number = {db.param}",
                         (number,)).fetchone()  # a scanner's hot path: no query building
    if row is None:
        raise NotFound(f"no such order: {format_code(shop.prefix, number)}")
    return OrderRef(row[0], row[1])


# ----- placing orders ------------------------------------------------------------------------

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
    language: str | None = None,
    is_test: bool = False,
    placed_at: dt.datetime | None = None,
) -> OrderRef:
    """The storefront's side: an order for a customer or a guest, with its confirmation mail
    and the merchant's new-order notice."""
    if not items:
        raise ValidationError("an order needs at least one item")
    for item in items:
        if item.quantity <= 0 or item.unit_price < 0 or item.tax_rate_bp < 0:
            raise ValidationError(
                f"item {item.sku}: quantity must be positive, prices not negative"
            )
    if shipping_cost < 0 or discount < 0:
        raise ValidationError("shipping cost and discount cannot be negative")
    currency = (currency or shop.currency).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError(f"{currency!r} is not an ISO 4217 currency code")
    with db.atomic():
        customer = None
        if customer_id is not None:
            customer = Customer.get_or_none(Customer.id == customer_id)
            if customer is None:
                raise NotFound(f"no customer with id {customer_id}")
            if customer.status != "active":
                raise Refused(
                    f"customer {customer.email or customer.id} is {customer.status}: "
                    "they cannot place orders"
                )
            name = f"{customer.first_name} {customer.last_name}".strip()
            email = customer.email
            phone = phone or customer.phone
            lang = language or customer.language
        else:
            name, email, lang = guest_name.strip(), guest_email.strip(), language or shop.language
            if not name or not email:
                raise ValidationError("a guest order needs the guest's name and email")
        subtotal = sum(i.quantity * i.unit_price for i in items)
        tax = sum(round(i.quantity * i.unit_price * i.tax_rate_bp / 10000) for i in items)
        total = subtotal + tax + shipping_cost - discount
        if total < 0:
            raise ValidationError("the discount is larger than the order")
        number = allocate_numbers(1)
        code = format_code(shop.prefix, number)
        now = utcnow()
        fields = {
            "number": number, "code": code, "customer": customer.id if customer else None,
            "customer_name": name, "customer_email": email, "customer_phone": phone,
            "language": lang, "status": shop.workflow.initial.key, "currency": currency,
            "subtotal": subtotal, "tax": tax, "shipping_cost": shipping_cost,
            "discount": discount, "total": total, "payment_method": payment_method,
            "shipping_method": shipping_method, "customer_note": customer_note,
            "item_count": sum(i.quantity for i in items), "placed_at": placed_at or now,
            "is_test": is_test, "updated_by": actor.login,
        }
        fields["search_text"] = search_text(fields, [(i.sku, i.name) for i in items])
        order = Order.create(**fields)
        OrderItem.insert_many([
            {"order": order.id, "sku": i.sku, "name": i.name, "quantity": i.quantity,
             "unit_price": i.unit_price, "tax_rate_bp": i.tax_rate_bp,
             "created_at": now, "updated_at": now}
            for i in items
        ]).execute()
        for kind, address in (("shipping", shipping_address), ("billing", billing_address)):
            if not address and customer is not None:
                address = _customer_address(customer.id, kind)
            if address:
                _check_address(address)
                Address.create(order=order.id, kind=kind, **dict(address))
        _insert_events([_event(order.id, actor, "placed", "order placed",
                               to_status=order.status, data={"total": total})])
        mails = [Mail("order_placed", email, f"placed:{order.id}", lang,
                      _mail_payload(fields | {"id": order.id}), order_id=order.id,
                      customer_id=customer.id if customer else None)]
        merchants = [str(shop.config.get("shop", "email")),
                     *shop.config.get("shop", "admin_emails")]
        for address in dict.fromkeys(a for a in merchants if a):
            mails.append(Mail("merchant_new_order", address, f"new-order:{order.id}:{address}",
                              shop.language, _mail_payload(fields | {"id": order.id}),
                              order_id=order.id))
        enqueue(mails)
    return OrderRef(order.id, code)


def _customer_address(customer_id: int, kind: str) -> dict[str, str] | None:
    """The customer's address of that kind, to copy onto a new order (which then keeps it)."""
    row = Address.get_or_none(Address.customer == customer_id, Address.kind == kind)
    return {f: getattr(row, f) for f in ADDRESS_FIELDS} if row else None


def _check_address(address: Mapping[str, str]) -> None:
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValidationError(f"unknown address field {sorted(unknown)[0]!r}")
    country = address.get("country", "")
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationError(f"country must be a two-letter ISO code, not {country!r}")


# ----- status changes ------------------------------------------------------------------------

def change_status(
    shop: Shop,
    actor: Actor,
    order_ids: Sequence[int],
    to_status: str,
    *,
    notify: bool = True,
    tracking: str | None = None,
    carrier: str | None = None,
    note: str | None = None,
    expected_versions: Mapping[int, int] | None = None,
    dry_run: bool = False,
    hold_mail: bool = True,
    replace_tracking: bool | None = None,
) -> StatusChange:
    """Move many orders to one status in one transaction, set-based. Each order is changed or
    refused with its reason; refused orders are not touched. With hold_mail, the customer
    mails wait in the outbox for the undo window.

    A tracking number given replaces an order's own with replace_tracking=True, and only fills
    in orders that have none with False. None decides by the call: one order replaces, many
    fill in. A caller applying one selection in parts passes what the operator chose, so a
    part of one order never overwrites a real number. Undo restores the number replaced."""
    require(actor, "change_status")
    wf = shop.workflow
    if to_status not in wf:
        raise ValidationError(f"unknown status {to_status!r}; statuses are: {', '.join(wf.keys())}")
    target = wf[to_status]
    tracking = (tracking or "").strip() or None
    ids = list(dict.fromkeys(order_ids))
    batch = uuid.uuid4().hex
    now = utcnow()
    # Held a little past the undo window, so no worker can claim a mail an undo may withdraw.
    hold = shop.undo_seconds + UNDO_MARGIN_SECONDS
    hold_until = now + dt.timedelta(seconds=hold) if hold_mail else None
    results: list[OrderResult] = []
    moves: dict[str, int] = {}
    changed: list[int] = []
    tracked: list[int] = []
    mails = 0
    notifying = bool(notify and target.mail)
    replace = len(ids) == 1 if replace_tracking is None else replace_tracking
    ctx = db.atomic() if not dry_run else contextlib.nullcontext()
    with ctx:
        found = _rows_to_change(ids, lock=not dry_run)
        # Refusals, results and the tracking rule are decided here on the fetched rows; the
        # writes below are set-based SQL over the ids decided, nothing per row in Python.
        for oid in ids:
            row = found.get(oid)
            if row is None:
                results.append(OrderResult(oid, f"#{oid}", "", False, "no such order"))
                continue
            reason = _refusal(shop, row, to_status, tracking, expected_versions)
            if reason:
                results.append(OrderResult(oid, row.code, row.status, False, reason))
                continue
            results.append(OrderResult(oid, row.code, row.status, True))
            moves[row.status] = moves.get(row.status, 0) + 1
            changed.append(oid)
            # Replacing: the tracking typed replaces the order's own. Otherwise it only fills
            # in the orders that have none, so a bulk change never overwrites a real number.
            if tracking and (replace or not row.tracking_number):
                tracked.append(oid)
            if notifying and row.customer_email:
                mails += 1
        if not dry_run and changed:
            _write_status_change(shop, actor, changed, tracked, to_status, notify=notifying,
                                 tracking=tracking, carrier=carrier, note=note or "",
                                 batch=batch, now=now, hold_until=hold_until)
    return StatusChange(to_status, tuple(results), mails, batch, dry_run, moves)


class _ChangeRow(NamedTuple):
    """What the refusal checks read of an order: plain values, no per-cell conversion."""

    id: int
    code: str
    status: str
    version: int
    archived: bool | int  # SQLite gives 0/1
    shipping_method: str
    tracking_number: str
    customer_email: str
    updated_by: str


def _rows_to_change(ids: Sequence[int], lock: bool) -> dict[int, _ChangeRow]:
    """The orders to change, by id (locked for the write on PostgreSQL)."""
    from store.bulk import id_source, id_value

    if not ids:
        return {}
    sql = (f"SELECT {', '.join(_ChangeRow._fields)} FROM orders "
           f"WHERE id IN (SELECT value FROM {id_source('ids')})")
    if lock and not dbmod.is_sqlite():  # SQLite's BEGIN IMMEDIATE already holds the lock
        sql += " FOR UPDATE"
    cursor = db.execute_sql(sql, {"ids": id_value(ids)})
    return {r[0]: _ChangeRow._make(r) for r in cursor}


def _write_status_change(shop: Shop, actor: Actor, changed: Sequence[int],
                         tracked: Sequence[int], to_status: str, *, notify: bool,
                         tracking: str | None, carrier: str | None, note: str, batch: str,
                         now: dt.datetime, hold_until: dt.datetime | None) -> None:
    """The writes of a status change, set-based: history, outbox and payment rows by
    INSERT ... SELECT from the orders as they were (in the order of `changed`), then one
    UPDATE of the orders not given a tracking number. Event data and mail payloads are built
    by the database, with the same keys and values as `_event` and `_mail_payload` give."""
    from store.bulk import id_source, id_value, insert_select, json_object, named

    target = shop.workflow[to_status]
    params: dict[str, Any] = {
        "ids": id_value(changed), "to": to_status, "note": note, "login": actor.login,
        "batch": batch, "now": now, "visible": bool(target.mail),
    }
    rows = f"FROM {id_source('ids')} JOIN orders o ON o.id = pick.value"
    in_order = " ORDER BY pick.key"
    text = {k: f"CAST({named(k)} AS TEXT)" for k in ("to", "note", "tracking", "carrier")}
    balance = "o.total - o.amount_paid"
    owing = f"{balance} > 0"
    track = ""
    new_tracking, new_carrier = "o.tracking_number", "o.carrier"
    if tracked:
        params.update(tracked=id_value(tracked), tracking=tracking, carrier=carrier or None)
        track = f"o.id IN (SELECT value FROM {id_source('tracked', 'tracked')})"
        new_tracking = f"CASE WHEN {track} THEN {text['tracking']} ELSE o.tracking_number END"
        new_carrier = (f"CASE WHEN {track} THEN COALESCE({text['carrier']}, o.carrier) "
                       "ELSE o.carrier END")
    track_pairs = (f"'tracking', {text['tracking']}, 'old_tracking', o.tracking_number, "
                   f"'carrier', COALESCE({text['carrier']}, o.carrier), 'old_carrier', o.carrier")
    pay_pairs = f"'recorded_payment', {balance}"
    branches: list[tuple[str, str]] = []
    if tracked and target.paid:
        branches.append((f"{track} AND {owing}", json_object(f"{track_pairs}, {pay_pairs}")))
    if tracked:
        branches.append((track, json_object(track_pairs)))
    if target.paid:
        branches.append((owing, json_object(pay_pairs)))
    data = ("CASE " + " ".join(f"WHEN {c} THEN {v}" for c, v in branches) + " ELSE '{}' END"
            if branches else "'{}'")
    insert_select(OrderEvent, {
        "order": "o.id", "kind": "'status'", "message": named("note"),
        "from_status": "o.status", "to_status": named("to"), "data": data,
        "operator_login": named("login"), "visible": named("visible"),
        "batch": named("batch"), "created_at": named("now"), "updated_at": named("now"),
    }, rows + in_order, params)
    if notify:
        params.update(kind=target.mail, hold=hold_until, due=hold_until or now)
        payload = json_object(
            f"'order_id', o.id, 'code', o.code, 'status', {text['to']}, "
            f"'tracking', {new_tracking}, 'carrier', {new_carrier}, 'note', {text['note']}")
        insert_select(Outbox, {
            "kind": named("kind"), "recipient": "o.customer_email", "language": "o.language",
            "payload": payload,
            "idempotency_key": f"'status:' || CAST(o.id AS TEXT) || ':' || {named('batch')}",
            "state": "'queued'", "order": "o.id", "customer": "o.customer_id",
            "batch": named("batch"), "hold_until": named("hold"),
            "next_attempt_at": named("due"), "created_at": named("now"),
            "updated_at": named("now"),
        }, rows + " WHERE o.customer_email <> ''" + in_order, params)
    paid_sql = ""
    if target.paid:
        params["reason"] = f"marked {target.label}"
        insert_select(Payment, {
            "order": "o.id", "kind": "'payment'", "amount": balance, "currency": "o.currency",
            "method": "o.payment_method", "reason": named("reason"),
            "operator_login": named("login"), "created_at": named("now"),
            "updated_at": named("now"),
        }, rows + f" WHERE {owing}" + in_order, params)
        paid_sql = ", amount_paid = CASE WHEN total > amount_paid THEN total ELSE amount_paid END"
    # Each order is updated once: those given a tracking number below, the rest here.
    plain = changed
    if tracked:
        given = set(tracked)
        plain = [oid for oid in changed if oid not in given]
    if plain:
        params["plain"] = id_value(plain) if tracked else params["ids"]
        db.execute_sql(
            f"UPDATE orders SET status = {named('to')}, version = version + 1, "
            f"updated_at = {named('now')}, updated_by = {named('login')}{paid_sql} "
            f"WHERE id IN (SELECT value FROM {id_source('plain')})", params)
    if tracked:
        _change_with_tracking(tracked, tracking or "", carrier,
                              (to_status, now, actor.login), "version = version + 1" + paid_sql)


def _change_with_tracking(ids: Sequence[int], tracking: str, carrier: str | None,
                          change: tuple[str, dt.datetime, str], also: str) -> None:
    """The status change (status, updated_at, updated_by, plus the `also` assignments) of
    orders that also get the tracking number (and carrier, when given), with their search
    text recomputed: one read of the orders and their items, one statement for the rows."""
    from store.bulk import update_rows

    rows = []
    for order, items in _search_inputs(ids):
        order["tracking_number"] = tracking
        rows.append((*change, tracking, carrier or order["carrier"], search_text(order, items),
                     order["id"]))
    update_rows(Order, ("status", "updated_at", "updated_by", "tracking_number", "carrier",
                        "search_text"), rows, also)


def _search_inputs(ids: Sequence[int]) -> list[tuple[dict[str, Any], list[tuple[str, str]]]]:
    """Each order's fields that free search reads (and its carrier), with its items' (sku,
    name) in order: one read of the orders and one of their items, so search texts are
    recomputed for many orders without a query per order."""
    from store.bulk import id_source, id_value

    bound = {"ids": id_value(ids)}
    within = f"IN (SELECT value FROM {id_source('ids')})"
    items: dict[int, list[tuple[str, str]]] = {}
    for order_id, sku, name in db.execute_sql(
            f"SELECT order_id, sku, name FROM order_item WHERE order_id {within} "
            "ORDER BY order_id, id", bound):
        items.setdefault(order_id, []).append((sku, name))
    columns = ("id", "code", "customer_name", "customer_email", "internal_reference", "carrier")
    return [(order, items.get(order["id"], []))
            for order in (dict(zip(columns, values, strict=True)) for values in db.execute_sql(
                f"SELECT {', '.join(columns)} FROM orders WHERE id {within}", bound))]


def _refusal(shop: Shop, row: _ChangeRow, to_status: str, tracking: str | None,
             expected: Mapping[int, int] | None) -> str:
    """Why one order may not move to `to_status`, or '' when it may."""
    wf = shop.workflow
    current = row.status
    if expected and row.id in expected and expected[row.id] != row.version:
        return f"changed by {row.updated_by or 'another operator'} since you loaded it; reload"
    if row.archived:
        return "archived; unarchive it first"
    if current == to_status:
        return f"already {wf.label(to_status)}"
    if not wf.allowed(current, to_status):
        allowed = ", ".join(wf.label(k) for k in wf[current].next) if current in wf else "none"
        return (f"{wf.label(current)} cannot move to {wf.label(to_status)} "
                f"(allowed: {allowed or 'none'})")
    if ("tracking" in wf[to_status].requires and not tracking and not row.tracking_number
            and row.shipping_method != "pickup"):
        return f"{wf.label(to_status)} needs a tracking number"
    return ""


def undo(shop: Shop, actor: Actor, batch: str) -> StatusChange:
    """Revert a status change within the undo window: orders go back, held mails are withdrawn,
    and the history keeps both the change and its undo. Set-based, like change_status: one
    read of the batch's changes and their orders, the per-order decisions here, then a few
    statements for the whole batch. An order changed again since, or refunded out of the
    payment the change recorded, is left as it is and named."""
    require(actor, "undo")
    now = utcnow()
    window = dt.timedelta(seconds=shop.undo_seconds)
    with db.atomic():
        changes = _changes_to_undo(batch)
        if not changes:
            raise NotFound("nothing to undo: that change is unknown")
        if OrderEvent.select().where(OrderEvent.batch == batch,
                                     OrderEvent.kind == "status_undone").exists():
            raise Refused("that change was already undone")
        if now - OrderEvent.created_at.python_value(changes[0].created_at) > window:
            raise Refused(f"too late to undo: changes can be undone for {shop.undo_seconds} s")
        plan = _plan_undo(changes)
        _write_undo(plan, actor, batch, now)
        if len(plan.events) == len(changes):
            withdrawn = withdraw_batch(batch)
        else:
            withdrawn = _withdraw_orders(batch, [r.order_id for r in plan.results if r.changed],
                                         now)
    return StatusChange(changes[0].from_status, tuple(plan.results), 0, batch,
                        withdrawn=withdrawn)


class _UndoRow(NamedTuple):
    """One status row of the batch with what undo reads of its order, as plain values."""

    event_id: int
    order_id: int
    from_status: str
    to_status: str
    data: str
    created_at: Any  # SQLite gives text: convert with OrderEvent.created_at.python_value
    code: str
    status: str
    amount_paid: int
    amount_refunded: int
    currency: str
    payment_method: str
    tracking_number: str
    carrier: str


@dataclass
class _UndoPlan:
    """What undo decided, order by order, grouped by the statement that writes it."""

    results: list[OrderResult] = field(default_factory=list)
    events: list[int] = field(default_factory=list)  # status rows reverted, in batch order
    plain: dict[str, list[int]] = field(default_factory=dict)  # back to status -> order ids
    repaid: list[tuple[str, int, int]] = field(default_factory=list)  # status, paid, id
    tracked: dict[int, tuple[str, int, str, str]] = field(default_factory=dict)
    payments: list[tuple[int, int, str, str]] = field(default_factory=list)


def _changes_to_undo(batch: str) -> list[_UndoRow]:
    """The batch's status rows joined with their orders, in the order written (the orders
    locked for the write on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the lock).
    An order's history goes with it, so every row has its order."""
    columns = ("e.id", "e.order_id", "e.from_status", "e.to_status", "e.data", "e.created_at",
               "o.code", "o.status", "o.amount_paid", "o.amount_refunded", "o.currency",
               "o.payment_method", "o.tracking_number", "o.carrier")
    sql = (f"SELECT {', '.join(columns)} FROM order_event e JOIN orders o ON o.id = e.order_id "
           f"WHERE e.batch = {db.param} AND e.kind = 'status' ORDER BY e.id")
    if not dbmod.is_sqlite():
        sql += " FOR UPDATE OF o"
    return [_UndoRow._make(r) for r in db.execute_sql(sql, (batch,))]


def _plan_undo(changes: Sequence[_UndoRow]) -> _UndoPlan:
    """Decide each order: refused if changed again since or refunded out of the payment the
    change recorded; else back to its status, the payment reversed, and the tracking number
    the change set put back to the old one while the order still has it."""
    plan = _UndoPlan()
    reverted: set[int] = set()
    for row in changes:
        if row.status != row.to_status or row.order_id in reverted:
            plan.results.append(OrderResult(row.order_id, row.code, row.to_status, False,
                                            "changed again since; not reverted"))
            continue
        data = json.loads(row.data) if row.data and row.data != "{}" else {}
        paid = int(data.get("recorded_payment", 0))
        if paid and row.amount_paid - paid < row.amount_refunded:
            plan.results.append(OrderResult(row.order_id, row.code, row.to_status, False,
                                            "refunded since; not reverted"))
            continue
        reverted.add(row.order_id)
        plan.events.append(row.event_id)
        plan.results.append(OrderResult(row.order_id, row.code, row.to_status, True))
        if paid:
            plan.payments.append((row.order_id, -paid, row.currency, row.payment_method))
        if "tracking" in data and row.tracking_number == data["tracking"]:
            plan.tracked[row.order_id] = (row.from_status, row.amount_paid - paid,
                                          data.get("old_tracking", ""),
                                          data.get("old_carrier", row.carrier))
        elif paid:
            plan.repaid.append((row.from_status, row.amount_paid - paid, row.order_id))
        else:
            plan.plain.setdefault(row.from_status, []).append(row.order_id)
    return plan


def _write_undo(plan: _UndoPlan, actor: Actor, batch: str, now: dt.datetime) -> None:
    """The writes of an undo, set-based: the history rows by INSERT ... SELECT from the status
    rows reverted (in their order), the reversal payments in one statement, and each order
    updated once, version checked by the lock: one UPDATE per status the orders go back to,
    one statement run for those whose payment is reversed, one for those whose tracking
    number is restored (their search text recomputed)."""
    from store.bulk import (
        id_source,
        id_value,
        insert_rows,
        insert_select,
        named,
        stored_time,
        update_rows,
    )

    if not plan.events:
        return
    stamp = (stored_time(now), actor.login)  # the same for every row: converted once
    params: dict[str, Any] = {"events": id_value(plan.events), "login": actor.login,
                              "batch": batch, "now": now, "visible": False}
    insert_select(OrderEvent, {
        "order": "e.order_id", "kind": "'status_undone'", "message": "'undo'",
        "from_status": "e.to_status", "to_status": "e.from_status", "data": "'{}'",
        "operator_login": named("login"), "visible": named("visible"),
        "batch": named("batch"), "created_at": named("now"), "updated_at": named("now"),
    }, f"FROM {id_source('events')} JOIN order_event e ON e.id = pick.value "
       "ORDER BY pick.key", params)
    insert_rows(Payment, [
        {"order": order_id, "kind": "reversal", "amount": amount, "currency": currency,
         "method": method, "reason": "undo of a status change", "operator_login": actor.login,
         "created_at": stamp[0], "updated_at": stamp[0]}
        for order_id, amount, currency, method in plan.payments])
    bump = "version = version + 1"
    for status, ids in plan.plain.items():
        db.execute_sql(
            f"UPDATE orders SET status = {named('to')}, {bump}, updated_at = {named('now')}, "
            f"updated_by = {named('login')} WHERE id IN (SELECT value FROM {id_source('ids')})",
            {"to": status, "now": now, "login": actor.login, "ids": id_value(ids)})
    update_rows(Order, ("status", "amount_paid", "updated_at", "updated_by"),
                [(status, paid, *stamp, oid) for status, paid, oid in plan.repaid], bump)
    rows = []
    if plan.tracked:
        for order, items in _search_inputs(list(plan.tracked)):
            status, paid, tracking, carrier = plan.tracked[order["id"]]
            order["tracking_number"] = tracking
            rows.append((status, paid, tracking, carrier, search_text(order, items), *stamp,
                         order["id"]))
    update_rows(Order, ("status", "amount_paid", "tracking_number", "carrier", "search_text",
                        "updated_at", "updated_by"), rows, bump)


def _withdraw_orders(batch: str, order_ids: Sequence[int], now: dt.datetime) -> int:
    """Cancel the batch's mails still queued for these orders (an undo that reverted only
    some); how many were withdrawn."""
    from store.bulk import id_source, id_value, named

    if not order_ids:
        return 0
    return int(db.execute_sql(
        f"UPDATE outbox SET state = 'cancelled', updated_at = {named('now')}, "
        f"last_error = 'withdrawn by undo' WHERE batch = {named('batch')} AND state = 'queued' "
        f"AND order_id IN (SELECT value FROM {id_source('ids')})",
        {"now": now, "batch": batch, "ids": id_value(order_ids)}).rowcount)


# ----- money ---------------------------------------------------------------------------------

def record_payment(shop: Shop, actor: Actor, order_id: int, amount: int, method: str = "",
                   reference: str = "", expected_version: int | None = None) -> None:
    """Money received for an order; more than the order's total is refused."""
    require(actor, "record_payment")
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount")
    with db.atomic():
        order = _load_for_write(order_id, expected_version)
        if order.amount_paid + amount > order.total:
            raise Refused(f"order {order.code}: a payment of {amount} would exceed the total "
                          f"({order.amount_paid} of {order.total} already paid)")
        Payment.create(order=order.id, kind="payment", amount=amount, currency=order.currency,
                       method=method or order.payment_method, reference=reference,
                       operator_login=actor.login)
        changes: dict[str, Any] = {"amount_paid": order.amount_paid + amount}
        if reference:
            changes["payment_reference"] = reference
        _bump(order, actor, **changes)
        _insert_events([_event(order.id, actor, "payment", f"payment of {amount} recorded",
                               data={"amount": amount, "method": method, "reference": reference})])


def refund(shop: Shop, actor: Actor, order_id: int, amount: int, reason: str, *,
           method: str = "", notify: bool = True, expected_version: int | None = None) -> bool:
    """Refund part or all of what was paid, never more; a full refund moves the order to the
    workflow's refunded status where allowed. Returns True when the status changed."""
    require(actor, "refund")
    if amount <= 0:
        raise ValidationError("a refund must be a positive amount")
    if not reason.strip():
        raise ValidationError("a refund needs a reason")
    with db.atomic():
        order = _load_for_write(order_id, expected_version)
        cap = order.amount_paid - order.amount_refunded
        if amount > cap:
            raise Refused(
                f"order {order.code}: refund of {amount} exceeds what can still be refunded "
                f"({cap}: paid {order.amount_paid}, refunded {order.amount_refunded})"
            )
        Payment.create(order=order.id, kind="refund", amount=amount, currency=order.currency,
                       method=method or order.payment_method, reason=reason,
                       operator_login=actor.login)
        refunded = order.amount_refunded + amount
        full = refunded == order.amount_paid
        changes: dict[str, Any] = {"amount_refunded": refunded}
        wf = shop.workflow
        target = next((s.key for s in wf.statuses.values()
                       if s.key == "refunded" or s.mail == "refunded"), None)
        moved = bool(full and target and wf.allowed(order.status, target) and not order.archived)
        events = [_event(order.id, actor, "refund", reason,
                         data={"amount": amount, "full": full, "method": method})]
        if moved and target:
            changes["status"] = target
            events.append(_event(order.id, actor, "status", "fully refunded",
                                 from_status=order.status, to_status=target, visible=True))
        previous = order.status
        _bump(order, actor, **changes)
        _insert_events(events)
        if notify and order.customer_email:
            enqueue([Mail("refunded", order.customer_email,
                          f"refund:{order.id}:{uuid.uuid4().hex}", order.language,
                          _mail_payload(order, amount=amount, currency=order.currency,
                                        full=full, reason=reason, from_status=previous),
                          order_id=order.id, customer_id=order.customer_id)])
    return moved


# ----- fields, notes, addresses --------------------------------------------------------------

def set_tracking(shop: Shop, actor: Actor, order_id: int, tracking: str, carrier: str = "",
                 expected_version: int | None = None) -> None:
    require(actor, "set_tracking")
    tracking = tracking.strip()
    with db.atomic():
        order = _load_for_write(order_id, expected_version)
        old = order.tracking_number
        order.tracking_number = tracking
        _refresh_search_text(order)
        _bump(order, actor, tracking_number=tracking, carrier=carrier.strip() or order.carrier,
              search_text=order.search_text)
        message = f"tracking number {tracking or 'cleared'}"
        _insert_events([_event(order.id, actor, "tracking", message,
                               data={"old": old, "new": tracking, "carrier": carrier})])


def set_reference(shop: Shop, actor: Actor, order_id: int, reference: str,
                  expected_version: int | None = None) -> None:
    require(actor, "set_reference")
    reference = reference.strip()
    with db.atomic():
        order = _load_for_write(order_id, expected_version)
        old = order.internal_reference
        order.internal_reference = reference
        _refresh_search_text(order)
        _bump(order, actor, internal_reference=reference, search_text=order.search_text)
        _insert_events([_event(order.id, actor, "reference", f"internal reference {reference!r}",
                               data={"old": old, "new": reference})])


def _guard_shipped(shop: Shop, actor: Actor, order: Order) -> None:
    if has_shipped(shop, order) and not actor.can("edit_shipped"):
        raise Refused(f"order {order.code} has shipped: only an admin may edit it now")


def edit_address(shop: Shop, actor: Actor, order_id: int, kind: str, changes: Mapping[str, str],
                 expected_version: int | None = None) -> None:
    """Edit the order's own copy of an address (the customer's stays as it is)."""
    require(actor, "edit_order")
    if kind not in ("shipping", "billing"):
        raise ValidationError("address kind must be shipping or billing")
    _check_address(changes)
    with db.atomic():
        order = _load_for_write(order_id, expected_version)
        _guard_shipped(shop, actor, order)
        address = Address.get_or_none(Address.order == order.id, Address.kind == kind)
        old = {f: getattr(address, f) for f in ADDRESS_FIELDS} if address else {}
        if address is None:
            address = Address.create(order=order.id, kind=kind, **dict(changes))
        else:
            Address.update(updated_at=utcnow(), **dict(changes)).where(
                Address.id == address.id).execute()
        new = old | dict(changes)
        _bump(order, actor)
        _insert_events([_event(order.id, actor, "address", f"{kind} address edited",
                               data={"kind": kind, "old": old, "new": new})])


def edit_contact(shop: Shop, actor: Actor, order_id: int, *, name: str | None = None,
                 email: str | None = None, phone: str | None = None,
                 expected_version: int | None = None) -> None:
    require(actor, "edit_order")
    from store.customers import normalise_email

    with db.atomic():
        order = _load_for_write(order_id, expected_version)
        _guard_shipped(shop, actor, order)
        changes: dict[str, Any] = {}
        if name is not None:
            if not name.strip():
                raise ValidationError("the name cannot be empty")
            changes["customer_name"] = name.strip()
        if email is not None:
            changes["customer_email"] = normalise_email(email)
        if phone is not None:
            changes["customer_phone"] = phone.strip()
        old = {k: getattr(order, k) for k in changes}
        for key, value in changes.items():
            setattr(order, key, value)
        _refresh_search_text(order)
        _bump(order, actor, search_text=order.search_text, **changes)
        _insert_events([_event(order.id, actor, "contact", "contact details edited",
                               data={"old": old, "new": changes})])


def add_note(shop: Shop, actor: Actor, order_id: int, text: str, visible: bool = False) -> None:
    """A note in the history; a note visible to the customer also queues a mail to them."""
    require(actor, "add_note")
    text = text.strip()
    if not text:
        raise ValidationError("the note is empty")
    with db.atomic():
        order = Order.get_or_none(Order.id == order_id)
        if order is None:
            raise NotFound(f"no such order (id {order_id})")
        event = OrderEvent.create(**_event(order.id, actor, "note", text, visible=visible))
        if visible and order.customer_email:
            enqueue([Mail("customer_note", order.customer_email, f"note:{event.id}",
                          order.language, _mail_payload(order, note=text), order_id=order.id,
                          customer_id=order.customer_id)])


def set_archived(shop: Shop, actor: Actor, order_ids: Sequence[int],
                 archived: bool = True) -> list[OrderResult]:
    """Archive (final statuses only) or unarchive orders; per-order results."""
    require(actor, "archive")
    finals = shop.workflow.final_keys()
    results: list[OrderResult] = []
    with db.atomic():
        for order in _locked(Order.select().where(Order.id.in_(list(order_ids)))):
            if order.archived == archived:
                results.append(OrderResult(order.id, order.code, order.status, False,
                                           "already archived" if archived else "not archived"))
                continue
            if archived and order.status not in finals:
                labels = ", ".join(shop.workflow.label(k) for k in finals)
                reason = f"only orders in a final status ({labels}) can be archived"
                results.append(OrderResult(order.id, order.code, order.status, False, reason))
                continue
            _bump(order, actor, archived=archived)
            _insert_events([_event(order.id, actor, "archived" if archived else "unarchived",
                                   "archived" if archived else "unarchived")])
            results.append(OrderResult(order.id, order.code, order.status, True))
    return results


def delete_order(shop: Shop, actor: Actor, order_id: int) -> str:
    """Delete a test order; a real order is refused (cancel or archive it instead)."""
    require(actor, "delete_order")
    with db.atomic():
        order = _load_for_write(order_id)
        if not order.is_test:
            raise Refused(f"order {order.code} is a real order: cancel or archive it instead "
                          "(only test orders can be deleted)")
        Outbox.update(state="cancelled", last_error="order deleted").where(
            Outbox.order == order.id, Outbox.state == "queued").execute()
        Order.delete().where(Order.id == order.id).execute()
    return str(order.code)

