"""Status changes: many orders moved to one status in one transaction, and the description
of such a change that every front end shows (what moves from what to what, what is refused
and why, how many mails).

Written-out SQL (see store.sql): a change of 10,000 orders writes its history, outbox and
payment rows by INSERT ... SELECT from the orders themselves and updates them in one
statement (4.8 s with a query per order, 0.3 s set-based). The JSON of the history data and
of the mail payloads is built by the database with the same keys and values as the Python
`status_mail_payload` and `order_rows.event` give; a test holds them to that."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from store import carriers as carriersmod
from store import customer_figures, events_log, invoices, webhooks
from store import db as dbmod
from store.errors import ValidationError
from store.models import Order, OrderEvent, Outbox, Payment, db, utcnow
from store.operators import Actor, require
from store.order_rows import OrderResult, insert_withdrawn_events, refresh_search_many
from store.outbox import withdraw_superseded
from store.outbox_queries import superseded_count
from store.rules import refunded_refusal
from store.shop import Shop
from store.sql import (
    id_source,
    id_value,
    insert_select,
    json_object,
    named,
    update_rows,
    values_source,
)
from store.text import clean, clean_optional
from store.workflow import Workflow

# Mails are held a little past the undo window, so no worker claims one an undo withdraws.
UNDO_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class Description:
    """A status change told the way every front end shows it: the headline, one line per
    move ("12 × Paid / processing → Shipped"), the mails (and whether they carry a message to
    the customer), and each refusal with its reason."""

    headline: str
    moves: tuple[str, ...]
    mails: str
    refusals: tuple[tuple[str, str], ...]  # (order code, reason)
    message: str = ""  # the message to the customer the mails carry, as given
    invoices: str = ""  # "3 invoice(s) will be issued", when the change issues any


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
    # held mails an undo cancelled; of a change, the earlier status mails it superseded
    withdrawn: int = 0
    undo: bool = False
    message: str = ""  # the message to the customer each mail carries
    invoices: int = 0  # invoices issued (to issue, in a dry run) by entering a paid status
    shared_tracking: str = ""  # one tracking number given to several orders, asked for
    shared_count: int = 0  # how many orders it was given to

    @property
    def changed(self) -> list[OrderResult]:
        return [r for r in self.results if r.changed]

    @property
    def refused(self) -> list[OrderResult]:
        return [r for r in self.results if not r.changed]

    def summary(self, workflow: Workflow | None = None) -> str:
        """One line: "3 changed to Shipped, 1 refused, 3 email(s) queued"."""
        if self.undo:
            text = f"undone: {len(self.changed):,} order(s) back"
            if self.refused:
                text += f", {len(self.refused):,} changed again since and left as they are"
        else:
            verb = "would change" if self.dry_run else "changed"
            target = f" to {workflow.label(self.to_status)}" if workflow is not None else ""
            text = f"{len(self.changed):,} {verb}{target}, {len(self.refused):,} refused"
        if self.mails:
            text += f", {self.mails:,} email(s) {'to queue' if self.dry_run else 'queued'}"
        if self.withdrawn and self.undo:
            text += f", {self.withdrawn:,} email(s) withdrawn"
        elif self.withdrawn:
            verb = "to withdraw" if self.dry_run else "withdrawn"
            text += f", {self.withdrawn:,} earlier email(s) {verb}"
        return text

    def describe(self, workflow: Workflow) -> Description:
        """The preview or result of this change, for a dialog, a notice or the CLI."""
        target = workflow.label(self.to_status)
        moves = tuple(f"{count:,} × {workflow.label(source)} → {target}"
                      for source, count in sorted(self.moves.items()))
        if self.shared_count > 1:
            moves += (f"the same tracking number {self.shared_tracking} for "
                      f"{self.shared_count:,} orders (asked for: one parcel)",)
        verb = "will be queued" if self.dry_run else "queued"
        mails = f"{self.mails:,} email(s) {verb}"
        if self.message:
            mails += (", each with the message to the customer" if self.mails
                      else "; the message reaches no customer (no order has an email)")
        invoices = (f"{self.invoices:,} invoice(s) "
                    f"{'will be issued' if self.dry_run else 'issued'}" if self.invoices else "")
        return Description(self.summary(workflow), moves, mails,
                           tuple((r.code, r.reason) for r in self.refused), self.message,
                           invoices)


def status_mail_payload(order_id: int, code: str, status: str, tracking: str, carrier: str,
                        message: str) -> dict[str, Any]:
    """The payload of a status mail, as `insert_mails` builds it in SQL for many orders.
    `message` is what the operator wrote to the customer; the change's note is internal and
    never in it."""
    return {"order_id": order_id, "code": code, "status": status, "tracking": tracking,
            "carrier": carrier, "message": message}


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
    message: str | None = None,
    expected_versions: Mapping[int, int] | None = None,
    dry_run: bool = False,
    hold_mail: bool = True,
    replace_tracking: bool | None = None,
    tracking_each: Mapping[int, tuple[str, str | None]] | None = None,
    shared_tracking: bool = False,
) -> StatusChange:
    """Move many orders to one status in one transaction, set-based. Each order is changed or
    refused with its reason; refused orders are not touched. With hold_mail, the customer
    mails wait in the outbox for the undo window.

    `note` is internal: it goes in the history, never to the customer. `message` is written
    to the customer: each status mail carries it (and the history keeps it as a note to the
    customer); it is refused when the change sends no mail, since it could reach no one.

    A tracking number given replaces an order's own with replace_tracking=True, and only fills
    in orders that have none with False. None decides by the call: one order replaces, many
    fill in. Undo restores the number replaced. One number is never given to several orders
    unless `shared_tracking` says so (one parcel for several orders): each parcel has its own,
    given order by order in `tracking_each` (order id -> (number, carrier or None)), which
    replaces each order's own; there, a number already on another order, or given to two
    orders of the change, is refused for that order (unless shared).

    The carrier of a number is the one given, else the carrier that recognises it
    (store.carriers), else shipping.default_carrier, else the order's own. Entering a status
    flagged `paid` issues each real order its invoice, if it has none (store.invoices)."""
    require(actor, "change_status")
    wf = shop.workflow
    if to_status not in wf:
        raise ValidationError(f"unknown status {to_status!r}; statuses are: {', '.join(wf.keys())}")
    ids = list(dict.fromkeys(order_ids))
    tracking, carrier, each = _tracking_given(tracking, carrier, tracking_each, len(ids),
                                              shared_tracking)
    note = clean_optional(note, "note", multiline=True)
    message, mails = _message_and_mails(wf, to_status, notify, message)
    now = utcnow()
    plan = _Plan(shop, actor, to_status, tracking, carrier, (note or "").strip(), message,
                 uuid.uuid4().hex, now, notify=mails,
                 hold_until=(now + dt.timedelta(seconds=shop.undo_seconds + UNDO_MARGIN_SECONDS)
                             if hold_mail else None),
                 each=each, shared=shared_tracking)
    replace = (len(ids) == 1 if replace_tracking is None else replace_tracking) or bool(each)
    plan.carry_out(ids, expected_versions, replace, dry_run)
    if not dry_run:
        plan.log_events()
    return StatusChange(to_status, tuple(plan.results), plan.mails, plan.batch, dry_run,
                        plan.moves, withdrawn=plan.withdrawn, message=message,
                        invoices=plan.invoices, shared_tracking=tracking or "",
                        shared_count=len(plan.tracked) if tracking else 0)


_Each = dict[int, tuple[str, str | None]]  # order id -> (tracking number, carrier or None)


def _tracking_given(tracking: str | None, carrier: str | None,
                    tracking_each: Mapping[int, tuple[str, str | None]] | None, count: int,
                    shared: bool) -> tuple[str | None, str | None, _Each]:
    """The tracking number for all (or None), its carrier, and the numbers given order by
    order, cleaned; refused when both are given, or one number for many orders unasked."""
    tracking = clean(tracking or "", "tracking").strip() or None
    carrier = clean_optional(carrier, "carrier")
    each: _Each = {}
    for oid, (number, named_carrier) in (tracking_each or {}).items():
        number = clean(number or "", "tracking").strip()
        if number:
            each[int(oid)] = (number, clean_optional(named_carrier, "carrier") or None)
    if tracking and each:
        raise ValidationError("give one tracking number for all, or one per order, not both",
                              field="tracking")
    if tracking and count > 1 and not shared:
        raise ValidationError(
            f"one tracking number for {count:,} orders: each parcel has its own number "
            "(give each order its own: `backroom orders import-tracking`, or the ship "
            "station); to give them all this one (one parcel), say so (--same-tracking)",
            field="tracking")
    return tracking, carrier, each


def _message_and_mails(wf: Workflow, to_status: str, notify: bool,
                       message: str | None) -> tuple[str, bool]:
    """The message to the customer, cleaned, and whether the change mails the customers;
    a message that no mail would carry is refused, since it could reach no one."""
    message = clean_optional(message, "message", multiline=True)
    message = (message or "").strip()
    mails = bool(notify and wf[to_status].mail)
    if message and not mails:
        why = ("the customer email is off" if wf[to_status].mail
               else f"{wf.label(to_status)} sends the customer no email")
        raise ValidationError(f"a message to the customer goes in the status email, but {why}; "
                              "add a note visible to the customer instead", field="message")
    return message, mails


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
    amount_paid: int
    amount_refunded: int
    currency: str
    carrier: str


def _rows_to_change(ids: Sequence[int], lock: bool) -> dict[int, _ChangeRow]:
    """The orders to change, by id (locked for the write on PostgreSQL)."""
    if not ids:
        return {}
    sql = (f"SELECT {', '.join(_ChangeRow._fields)} FROM orders "
           f"WHERE id IN (SELECT value FROM {id_source('ids')})")
    if lock and not dbmod.is_sqlite():  # SQLite's BEGIN IMMEDIATE already holds the lock
        sql += " FOR UPDATE"
    cursor = db.execute_sql(sql, {"ids": id_value(ids)})
    return {r[0]: _ChangeRow._make(r) for r in cursor}


def refusal(workflow: Workflow, row: _ChangeRow, to_status: str, tracking: str | None,
            expected: Mapping[int, int] | None) -> str:
    """Why one order may not move to `to_status`, or '' when it may."""
    wf = workflow
    current = row.status
    if expected and row.id in expected and expected[row.id] != row.version:
        return f"changed by {row.updated_by or 'another operator'} since you loaded it; reload"
    if row.archived:
        return "archived; unarchive it first"
    if current == to_status:
        return f"already {wf.label(to_status)}"
    if wf[to_status].refunded:
        return refunded_refusal(wf.label(to_status), row.amount_paid, row.amount_refunded,
                                row.currency)
    if not wf.allowed(current, to_status):
        allowed = ", ".join(wf.label(k) for k in wf[current].next) if current in wf else "none"
        return (f"{wf.label(current)} cannot move to {wf.label(to_status)} "
                f"(allowed: {allowed or 'none'})")
    needed = wf.needs(to_status, shipping_method=row.shipping_method,
                      tracking=tracking or row.tracking_number)
    if "tracking" in needed:
        return f"{wf.label(to_status)} needs a tracking number"
    return ""


@dataclass
class _Plan:
    """One status change: what was decided order by order, then its set-based writes."""

    shop: Shop
    actor: Actor
    to_status: str
    tracking: str | None
    carrier: str | None
    note: str  # internal: the history only
    message: str  # to the customer: in each status mail
    batch: str
    now: dt.datetime
    notify: bool
    hold_until: dt.datetime | None
    each: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    shared: bool = False  # one number for several orders was asked for
    results: list[OrderResult] = field(default_factory=list)
    moves: dict[str, int] = field(default_factory=dict)
    changed: list[int] = field(default_factory=list)
    # orders given a tracking number: id -> (number as kept, carrier key)
    tracked: dict[int, tuple[str, str]] = field(default_factory=dict)
    holders: dict[str, str] = field(default_factory=dict)  # number -> the order that has it
    twins: dict[int, str] = field(default_factory=dict)  # id -> others given its number
    mails: int = 0
    withdrawn: int = 0  # earlier status mails superseded
    invoices: int = 0

    def number_for(self, oid: int, row: _ChangeRow) -> tuple[str, str] | None:
        """The tracking number (as kept) and carrier this change gives the order, if any."""
        given = self.each.get(oid)
        number, carrier = given if given is not None else (self.tracking, self.carrier)
        if not number:
            return None
        carriers = self.shop.config.carriers
        default = str(self.shop.config.get("shipping", "default_carrier"))
        return carriersmod.decide(carriers, default, number, carrier, row.carrier)

    def read_holders(self, found: Mapping[int, _ChangeRow]) -> None:
        """Which orders outside this change already have the numbers it gives (one indexed
        read), and refuse a number given to two orders of `each`, unless shared."""
        if self.shared or not self.each:
            return
        wanted: dict[str, list[int]] = {}
        for oid, row in found.items():
            decided = self.number_for(oid, row)
            if decided is not None:
                wanted.setdefault(decided[0], []).append(oid)
        if not wanted:
            return
        source, params = values_source("numbers", [("number", "text")],
                                       [(n,) for n in wanted])
        ids = set(found)
        for number, code, oid in db.execute_sql(
                f"SELECT o.tracking_number, o.code, o.id FROM {source} "
                "JOIN orders o ON o.tracking_number = given.number", params):
            if oid not in ids:
                self.holders.setdefault(number, code)
        codes = {oid: row.code for oid, row in found.items()}
        for oids in wanted.values():
            if len(oids) > 1 and self.each:
                for oid in oids:
                    self.twins[oid] = ", ".join(codes[o] for o in oids if o != oid)

    def decide(self, oid: int, row: _ChangeRow | None, expected: Mapping[int, int] | None,
               replace: bool) -> None:
        """Refuse the order with its reason, or count it in; the tracking number replaces
        the order's own only when replacing, else it fills in orders that have none, so a
        bulk change never overwrites a real number."""
        if row is None:
            self.results.append(OrderResult(oid, f"#{oid}", "", False, "no such order"))
            return
        decided = self.number_for(oid, row)
        reason = refusal(self.shop.workflow, row, self.to_status,
                         decided[0] if decided else None, expected)
        if not reason and decided is not None and (replace or not row.tracking_number):
            holder = self.twins.get(oid) or self.holders.get(decided[0])
            if holder:
                reason = f"tracking number {decided[0]} is also given to {holder}"
        if reason:
            self.results.append(OrderResult(oid, row.code, row.status, False, reason))
            return
        self.results.append(OrderResult(oid, row.code, row.status, True))
        self.moves[row.status] = self.moves.get(row.status, 0) + 1
        self.changed.append(oid)
        if decided is not None and (replace or not row.tracking_number):
            self.tracked[oid] = decided
        if self.notify and row.customer_email:
            self.mails += 1

    def carry_out(self, ids: Sequence[int], expected: Mapping[int, int] | None,
                  replace: bool, dry_run: bool) -> None:
        """Read the orders (locked), decide order by order, then write set-based in the same
        transaction; a dry run writes nothing and counts what would be withdrawn and issued."""
        with db.atomic() if not dry_run else contextlib.nullcontext():
            found = _rows_to_change(ids, lock=not dry_run)
            self.read_holders(found)
            for oid in ids:  # the decisions, on the rows read; the writes below are set-based
                self.decide(oid, found.get(oid), expected, replace)
            if not dry_run and self.changed:
                self.write()
            elif dry_run:
                self.withdrawn = superseded_count(self.changed)
                if self.shop.workflow[self.to_status].paid:
                    self.invoices = len(invoices.to_issue(self.changed))

    def log_events(self) -> None:
        """A line in the event log per order changed, after the commit."""
        for r in self.results:
            if r.changed:
                events_log.event("status", self.actor.login, order=r.code,
                                 **{"from": r.from_status, "to": self.to_status,
                                    "batch": self.batch})

    def write(self) -> None:
        """History, outbox and payment rows by INSERT ... SELECT from the orders as they were
        (in the order of `changed`), then each order updated once."""
        sql = _ChangeSql(self)
        sql.insert_history()
        self.withdrawn = sql.withdraw_superseded()
        if self.notify:
            sql.insert_mails()
            if self.message:
                sql.insert_messages()
        if self.shop.workflow[self.to_status].paid:
            sql.insert_payments()
            sql.move_spent()
        sql.insert_webhooks()
        sql.update_orders()
        if self.shop.workflow[self.to_status].paid:
            self.invoices = len(invoices.issue_for(self.shop, self.actor, self.changed,
                                                   self.now))


class _ChangeSql:
    """The statements of one change, sharing their parameters and SQL pieces."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.target = plan.shop.workflow[plan.to_status]
        self.params: dict[str, Any] = {
            "ids": id_value(plan.changed), "to": plan.to_status, "note": plan.note,
            "message": plan.message,
            "login": plan.actor.login, "batch": plan.batch, "now": plan.now,
            "visible": bool(self.target.mail),
        }
        self.rows = f"FROM {id_source('ids')} JOIN orders o ON o.id = pick.value"
        self.in_order = " ORDER BY pick.key"
        self.text = {k: f"CAST({named(k)} AS TEXT)" for k in ("to", "message")}
        self.text.update(tracking="CAST(given.tracking AS TEXT)",
                         carrier="CAST(given.carrier AS TEXT)")
        self.balance = "o.total - o.amount_paid"
        self.track = ""
        self.new_tracking, self.new_carrier = "o.tracking_number", "o.carrier"
        if plan.tracked:
            source, values = values_source(
                "tracked", [("id", "bigint"), ("tracking", "text"), ("carrier", "text")],
                [(oid, number, carrier) for oid, (number, carrier) in plan.tracked.items()])
            self.params.update(values)
            self.rows += f" LEFT JOIN {source} ON given.id = o.id"
            self.track = "given.id IS NOT NULL"
            self.new_tracking = (f"CASE WHEN {self.track} THEN {self.text['tracking']} "
                                 "ELSE o.tracking_number END")
            self.new_carrier = (f"CASE WHEN {self.track} THEN {self.text['carrier']} "
                                "ELSE o.carrier END")

    def insert_history(self) -> None:
        """One status row per order; its data says what undo must put back (the tracking
        number replaced, the payment recorded)."""
        text, owing = self.text, f"{self.balance} > 0"
        track_pairs = (f"'tracking', {text['tracking']}, 'old_tracking', o.tracking_number, "
                       f"'carrier', {text['carrier']}, 'old_carrier', o.carrier")
        pay_pairs = f"'recorded_payment', {self.balance}"
        branches: list[tuple[str, str]] = []
        if self.plan.tracked and self.target.paid:
            branches.append((f"{self.track} AND {owing}",
                             json_object(f"{track_pairs}, {pay_pairs}")))
        if self.plan.tracked:
            branches.append((self.track, json_object(track_pairs)))
        if self.target.paid:
            branches.append((owing, json_object(pay_pairs)))
        data = ("CASE " + " ".join(f"WHEN {c} THEN {v}" for c, v in branches) + " ELSE '{}' END"
                if branches else "'{}'")
        insert_select(OrderEvent, {
            "order": "o.id", "kind": "'status'", "message": named("note"),
            "from_status": "o.status", "to_status": named("to"), "data": data,
            "operator_login": named("login"), "visible": named("visible"),
            "batch": named("batch"), "created_at": named("now"), "updated_at": named("now"),
        }, self.rows + self.in_order, self.params)

    def withdraw_superseded(self) -> int:
        """The earlier status mails of the changed orders still queued or held are withdrawn,
        with a history row each: the customer hears only of the latest status."""
        plan = self.plan
        withdrawn = withdraw_superseded(plan.changed, f"superseded by {self.target.label}")
        insert_withdrawn_events(withdrawn, plan.actor, f"superseded by {self.target.label}",
                                plan.batch, plan.now)
        return len(withdrawn)

    def insert_mails(self) -> None:
        """The status mail of each order with an email, held for the undo window; its payload
        carries the message to the customer, never the internal note."""
        plan, text = self.plan, self.text
        self.params.update(kind=self.target.mail, hold=plan.hold_until,
                           due=plan.hold_until or plan.now)
        payload = json_object(
            f"'order_id', o.id, 'code', o.code, 'status', {text['to']}, "
            f"'tracking', {self.new_tracking}, 'carrier', {self.new_carrier}, "
            f"'message', {text['message']}")
        insert_select(Outbox, {
            "kind": named("kind"), "recipient": "o.customer_email", "language": "o.language",
            "payload": payload,
            "idempotency_key": f"'status:' || CAST(o.id AS TEXT) || ':' || {named('batch')}",
            "state": "'queued'", "order": "o.id", "customer": "o.customer_id",
            "batch": named("batch"), "hold_until": named("hold"),
            "next_attempt_at": named("due"), "created_at": named("now"),
            "updated_at": named("now"),
        }, self.rows + " WHERE o.customer_email <> ''" + self.in_order, self.params)

    def insert_messages(self) -> None:
        """The message to the customer in each mailed order's history, as a note visible to
        the customer (the status row's own message is the internal note)."""
        insert_select(OrderEvent, {
            "order": "o.id", "kind": "'note'", "message": named("message"),
            "operator_login": named("login"), "visible": named("mailed"),
            "batch": named("batch"), "created_at": named("now"), "updated_at": named("now"),
        }, self.rows + " WHERE o.customer_email <> ''" + self.in_order,
            self.params | {"mailed": True})

    def insert_payments(self) -> None:
        """Entering a `paid` status records what was still owed as a payment."""
        self.params["reason"] = f"marked {self.target.label}"
        insert_select(Payment, {
            "order": "o.id", "kind": "'payment'", "amount": self.balance,
            "currency": "o.currency", "method": "o.payment_method", "reason": named("reason"),
            "operator_login": named("login"), "created_at": named("now"),
            "updated_at": named("now"),
        }, self.rows + f" WHERE {self.balance} > 0" + self.in_order, self.params)

    def insert_webhooks(self) -> None:
        """`order.status_changed` for each order and subscribed endpoint, its snapshot with
        the values this change writes (status, tracking, the balance recorded as paid)."""
        overrides = {"status": self.text["to"], "tracking_number": self.new_tracking,
                     "carrier": self.new_carrier}
        if self.target.paid:
            overrides["amount_paid"] = ("CASE WHEN o.total > o.amount_paid THEN o.total "
                                        "ELSE o.amount_paid END")
        webhooks.status_changed_select(
            self.rows, "", self.params,
            f"CAST({named('batch')} AS TEXT) || '_' || CAST(o.id AS TEXT)", overrides,
            "o.status", named("login"), undo=False)

    def move_spent(self) -> None:
        """The balance recorded as paid joins each customer's spent (before the orders'
        amount_paid is written)."""
        customer_figures.spent_moved_by(
            self.rows, f"CASE WHEN {self.balance} > 0 THEN {self.balance} ELSE 0 END",
            "currency", self.params | {"currency": self.plan.shop.currency})

    def update_orders(self) -> None:
        """Each order updated once: one UPDATE for those not given a tracking number, one for
        those given one (their search rows recomputed)."""
        plan = self.plan
        paid_sql = (", amount_paid = CASE WHEN total > amount_paid THEN total "
                    "ELSE amount_paid END") if self.target.paid else ""
        plain = plan.changed
        if plan.tracked:
            given = set(plan.tracked)
            plain = [oid for oid in plan.changed if oid not in given]
        if plain:
            self.params["plain"] = id_value(plain) if plan.tracked else self.params["ids"]
            db.execute_sql(
                f"UPDATE orders SET status = {named('to')}, version = version + 1, "
                f"updated_at = {named('now')}, updated_by = {named('login')}{paid_sql} "
                f"WHERE id IN (SELECT value FROM {id_source('plain')})", self.params)
        if plan.tracked:
            rows = [(plan.to_status, plan.now, plan.actor.login, number, carrier, oid)
                    for oid, (number, carrier) in plan.tracked.items()]
            update_rows(Order, ("status", "updated_at", "updated_by", "tracking_number",
                                "carrier"), rows, "version = version + 1" + paid_sql)
            refresh_search_many(list(plan.tracked))


def refusal_for(shop: Shop, order_id: int, to_status: str, tracking: str | None = None) -> str:
    """Why one order may not move to `to_status` now (with this tracking number), or '' when
    it may: the rule the change itself applies, asked before (the ship station)."""
    row = _rows_to_change([order_id], lock=False).get(order_id)
    if row is None:
        return "no such order; it may have been deleted"
    return refusal(shop.workflow, row, to_status, tracking, None)
