"""The outbox's state machine: the only module that changes an outbox row's state.

A mail is queued in the same transaction as the change it tells of (`enqueue`), may be held
for an undo window (`hold_until`: queued but not yet due, shown as "held"), is leased by a
delivery worker (`claim`: sending), then recorded (`mark`: sent, queued again with backoff,
failed, dead) or given back (`release`). Operators retry, cancel and resend; an undo or a
deleted order withdraws what is not yet sent.

    queued --claim--> sending --mark--> sent | queued (retry later) | failed | dead
    queued/held --withdraw/cancel--> cancelled        failed/dead --retry--> queued
    any --erase (its customer erased)--> erased: recipient, subject and payload blanked
    sending, lease run out --cancel--> cancelled | --retry--> queued | --claim--> sending

Written-out SQL (see store.sql) where a statement runs for hundreds of rows at a time:
marking a batch of sends, withdrawing a batch's mails or the mails a change supersedes."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from peewee import SQL, Case

from store import db as dbmod
from store import events_log
from store.errors import NotFound, Refused
from store.models import Order, Outbox, db, mail_held, utcnow
from store.operators import Actor, require
from store.order_rows import event, insert_events
from store.outbox_queries import OutboxRow, get_mail
from store.sql import Params, id_source, id_value, insert_rows


@dataclass(frozen=True)
class Mail:
    """One message to queue; `key` makes queuing idempotent (unique in the outbox)."""

    kind: str
    recipient: str
    key: str
    language: str = "en"
    payload: dict[str, Any] = field(default_factory=dict)
    order_id: int | None = None
    customer_id: int | None = None
    batch: str | None = None
    hold_until: dt.datetime | None = None


def order_payload(order: Order | Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The payload of a mail about an order: its id and code, plus what the event adds."""
    get = order.get if isinstance(order, Mapping) else lambda k: getattr(order, k)
    payload = {"order_id": get("id"), "code": get("code")}
    payload.update(extra)
    return payload


def enqueue(mails: Iterable[Mail]) -> int:
    """Insert outbox rows set-based; call inside the change's transaction. Returns the count."""
    now = utcnow()
    rows = [
        {
            "kind": m.kind,
            "recipient": m.recipient,
            "language": m.language,
            "payload": json.dumps(m.payload, default=str, ensure_ascii=False),
            "idempotency_key": m.key,
            "state": "queued",
            "order": m.order_id,
            "customer": m.customer_id,
            "batch": m.batch,
            "hold_until": m.hold_until,
            "next_attempt_at": m.hold_until or now,
            "created_at": now,
            "updated_at": now,
        }
        for m in mails
        if m.recipient
    ]
    insert_rows(Outbox, rows)
    return len(rows)


# ----- withdrawing what is not yet sent ------------------------------------------------------

def withdraw_batch(batch: str, reason: str = "withdrawn by undo",
                   order_ids: Sequence[int] | None = None) -> int:
    """Cancel the not-yet-sent mails of a batch (undo), or only those of `order_ids`; how
    many were withdrawn."""
    params = Params()
    sql = (f"UPDATE outbox SET state = 'cancelled', updated_at = {params(utcnow())}, "
           f"last_error = {params(reason)} WHERE batch = {params(batch)} AND state = 'queued'")
    if order_ids is not None:
        if not order_ids:
            return 0
        params["ids"] = id_value(order_ids)
        sql += f" AND order_id IN (SELECT value FROM {id_source('ids')})"
    return int(db.execute_sql(sql, params).rowcount)


def withdraw_superseded(order_ids: Sequence[int], reason: str) -> list[int]:
    """Cancel the status mails of these orders that are still queued or held (a later status
    change supersedes them: the customer hears only of the latest); the ids withdrawn.

    One UPDATE ... RETURNING for the whole change, so a mail a worker claims at that moment
    is either withdrawn and returned, or claimed and left to go, never both. A status mail
    is one a status change queued (it has a batch); order confirmations, refunds, notes and
    resent copies are not status mails and stay."""
    if not order_ids:
        return []
    params = Params({"ids": id_value(order_ids)})
    sql = (f"UPDATE outbox SET state = 'cancelled', last_error = {params(reason)}, "
           f"updated_at = {params(utcnow())} WHERE state = 'queued' AND batch IS NOT NULL "
           f"AND order_id IN (SELECT value FROM {id_source('ids')}) RETURNING id")
    return sorted(int(row[0]) for row in db.execute_sql(sql, params))


def withdraw_order(order_id: int, reason: str) -> int:
    """Cancel every mail of an order not yet sent (a deleted test order)."""
    return int(Outbox.update(state="cancelled", last_error=reason, updated_at=utcnow())
               .where(Outbox.order == order_id, Outbox.state == "queued").execute())


def erase_mails_to(customer_id: int, email: str, reason: str) -> int:
    """Erase every mail addressed to a customer being erased, whatever its state: the rows of
    their account and orders, and any row to their address (a guest order placed with it),
    matched without regard to case. Recipient, subject and payload are blanked; the row stays,
    in state "erased", so the counts still add up. One not sent yet is thereby withdrawn; a
    worker sending one at that moment records nothing over it. How many were erased."""
    params = Params()
    address = email.strip().lower()
    to_them = f"customer_id = {params(customer_id)}"
    if address:
        to_them += f" OR lower(recipient) = {params(address)}"
    sql = (f"UPDATE outbox SET state = 'erased', recipient = '', subject = '', payload = '{{}}', "
           f"last_error = {params(reason)}, lease_until = NULL, lease_owner = '', "
           f"updated_at = {params(utcnow())} WHERE state <> 'erased' AND ({to_them})")
    return int(db.execute_sql(sql, params).rowcount)


# ----- delivery: claim, release, mark --------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    """An outbox row a worker holds the lease of."""

    id: int
    kind: str
    recipient: str
    language: str
    payload: str
    order_id: int | None
    customer_id: int | None
    attempts: int
    message_id: str


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed mail."""

    id: int
    attempts: int
    result: str  # sent, temporary, permanent, released (not tried: give it back)
    subject: str = ""
    error: str = ""
    at: dt.datetime = field(default_factory=utcnow)


@dataclass
class DeliveryStats:
    """What one run of a delivery loop did; `backroom worker --once` prints it."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, "
                f"{self.dead} dead, {self.released} released")


def claim(owner: str, limit: int, lease_seconds: float, domain: str = "backroom",
          due_before: dt.datetime | None = None) -> list[Claimed]:
    """Lease up to `limit` due rows: queued, due and not held, or sending with a lost lease.

    SQLite: one BEGIN IMMEDIATE transaction around UPDATE ... RETURNING; PostgreSQL: the
    subquery takes FOR UPDATE SKIP LOCKED, so concurrent workers claim disjoint rows. The
    Message-ID is fixed here, on first claim, so every retry reuses it. `due_before` (a run
    of `--once`) leaves out mails that became due after it, so each is tried once a run."""
    now = utcnow()
    due_at = min(now, due_before) if due_before is not None else now
    due = (((Outbox.state == "queued") & (Outbox.next_attempt_at <= due_at)
            & ~mail_held(Outbox, now))
           | ((Outbox.state == "sending") & (Outbox.lease_until < now)))
    sub = (Outbox.select(Outbox.id).where(due)
           .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit))
    if not dbmod.is_sqlite():
        sub = sub.for_update(skip_locked=True)
    suffix = f".{uuid.uuid4().hex[:12]}@{domain}>"
    message_id = Case(None, [(Outbox.message_id == "",
                              SQL(f"'<' || CAST(id AS TEXT) || {db.param}", [suffix]))],
                      Outbox.message_id)
    query = (Outbox.update(state="sending", lease_owner=owner,
                           lease_until=now + dt.timedelta(seconds=lease_seconds),
                           attempts=Outbox.attempts + 1, message_id=message_id, updated_at=now)
             .where(Outbox.id.in_(sub))
             .returning(Outbox.id, Outbox.kind, Outbox.recipient, Outbox.language,
                        Outbox.payload, Outbox.order, Outbox.customer, Outbox.attempts,
                        Outbox.message_id))
    with db.atomic():
        rows = list(query.tuples().execute())
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def release(ids: Sequence[int], owner: str) -> int:
    """Give rows back to the queue untried (a clean stop), keeping their Message-ID."""
    if not ids:
        return 0
    with db.atomic():
        return int(Outbox.update(state="queued", lease_until=None, lease_owner="",
                                 attempts=Outbox.attempts - 1, updated_at=utcnow())
                   .where(Outbox.id.in_(list(ids)), Outbox.lease_owner == owner,
                          Outbox.state == "sending").execute())


def release_lapsed(now: dt.datetime) -> int:
    """Give back to the queue every mail left "sending" past its lease, which no running
    worker has taken again (`backroom check --repair`); due now. Its attempt stays counted
    and its Message-ID kept: the worker that stopped may have sent it before it could say."""
    with db.atomic():
        return int(Outbox.update(state="queued", lease_until=None, lease_owner="",
                                 next_attempt_at=now, updated_at=now)
                   .where(Outbox.state == "sending",
                          Outbox.lease_until.is_null() | (Outbox.lease_until < now))
                   .execute())


MAX_BACKOFF = 6 * 3600


def backoff_delay(attempts: int, base: float) -> float:
    """Exponential backoff with jitter: base * 2^(attempts-1), scaled by 0.5..1.0."""
    if base <= 0:
        return 0.0
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF) * random.uniform(0.5, 1.0)


def mark(outcomes: Sequence[Outcome], owner: str, max_attempts: int, backoff: float,
         stats: DeliveryStats | None = None, jitter: float = 1.0) -> DeliveryStats:
    """Record sends and failures. Only the claims this worker still holds are touched: the
    row is still leased to it, and not claimed again since (its attempts are the claim's)."""
    stats = stats if stats is not None else DeliveryStats()
    sent = [o for o in outcomes if o.result == "sent"]
    with db.atomic():
        for start in range(0, len(sent), 500):  # the common case: one statement per 500
            chunk = sent[start:start + 500]
            _mark_sent(chunk, owner)
            stats.sent += len(chunk)
        for o in outcomes:
            if o.result != "sent":
                _mark_one(o, owner, max_attempts, backoff, stats)
    return stats


def _mark_one(o: Outcome, owner: str, max_attempts: int, backoff: float,
              stats: DeliveryStats) -> None:
    mine = ((Outbox.id == o.id) & (Outbox.lease_owner == owner)
            & (Outbox.state == "sending") & (Outbox.attempts == o.attempts))
    changes: dict[Any, Any] = {Outbox.lease_until: None, Outbox.lease_owner: "",
                               Outbox.updated_at: o.at}
    if o.subject and o.result != "released":
        changes[Outbox.subject] = o.subject[:250]
    if o.result == "released":  # due again from now: not re-claimed by this --once run
        changes.update({Outbox.state: "queued", Outbox.attempts: Outbox.attempts - 1,
                        Outbox.next_attempt_at: o.at})
        stats.released += 1
    elif o.result == "permanent":
        changes.update({Outbox.state: "failed", Outbox.last_error: o.error[:2000]})
        stats.failed += 1
    elif o.attempts >= max_attempts:
        changes.update({Outbox.state: "dead", Outbox.last_error: (
            f"gave up after {o.attempts} attempts: {o.error}")[:2000]})
        stats.dead += 1
    else:
        delay = backoff_delay(o.attempts, backoff)
        changes.update({Outbox.state: "queued", Outbox.last_error: o.error[:2000],
                        Outbox.next_attempt_at: o.at + dt.timedelta(seconds=delay)})
        stats.retried += 1
    Outbox.update(changes).where(mine).execute()


def _mark_sent(chunk: Sequence[Outcome], owner: str) -> None:
    """One UPDATE ... FROM (VALUES (id, subject, attempts), ...) for many sent mails (SQLite
    3.33+ and PostgreSQL): written out, since peewee built a CASE of hundreds of values more
    slowly than the database ran it, and the database then tried the CASE row by row."""
    p = Params()
    at = chunk[-1].at
    rows = ", ".join(f"({p(o.id)}, {p(o.subject[:250])}, {p(o.attempts)})" for o in chunk)
    sql = (f'UPDATE outbox SET state = \'sent\', sent_at = {p(at)}, updated_at = {p(at)}, '
           "last_error = '', lease_until = NULL, lease_owner = '', subject = v.column2 "
           f"FROM (VALUES {rows}) AS v WHERE outbox.id = v.column1 "
           f"AND outbox.attempts = v.column3 AND outbox.lease_owner = {p(owner)} "
           "AND outbox.state = 'sending'")
    db.execute_sql(sql, p)


# ----- what operators do with a mail ---------------------------------------------------------

def _mail_for_write(outbox_id: int) -> Outbox:
    mail = Outbox.get_or_none(Outbox.id == outbox_id)
    if mail is None:
        raise NotFound(f"no mail #{outbox_id} in the outbox")
    return mail


def _lapsed(mail: Outbox, now: dt.datetime) -> bool:
    """A mail left "sending" by a worker that stopped or died: its lease has run out."""
    return mail.state == "sending" and (mail.lease_until is None or mail.lease_until < now)


def _unchanged(mail: Outbox, now: dt.datetime) -> Any:
    """The row is still as the operator's decision read it: same state, and a lapsed lease
    not taken again by a worker since (a worker's claim renews the lease)."""
    same = (Outbox.id == mail.id) & (Outbox.state == mail.state)
    if mail.state == "sending":
        same &= Outbox.lease_until.is_null() | (Outbox.lease_until < now)
    return same


def retry_mail(shop: Any, actor: Actor, outbox_id: int) -> OutboxRow:
    """Put a failed or dead mail back in the queue, due now, with a fresh count of attempts;
    also a mail stuck "sending" whose worker's lease ran out."""
    require(actor, "change_status")
    with db.atomic():
        mail = _mail_for_write(outbox_id)
        now = utcnow()
        if mail.state not in ("failed", "dead") and not _lapsed(mail, now):
            raise Refused(f"mail #{outbox_id} is {mail.state}; only a failed or dead mail, or "
                          "one whose sending worker's lease ran out, can be retried (use "
                          "resend for a sent one)")
        changed = Outbox.update(
            state="queued", attempts=0, next_attempt_at=now, hold_until=None, lease_until=None,
            lease_owner="", updated_at=now,
            last_error=f"retry by {actor.login}; was: {mail.last_error or mail.state}"[:2000]
        ).where(_unchanged(mail, now)).execute()
        if not changed:
            raise Refused(f"mail #{outbox_id} was taken by a delivery worker meanwhile")
    row = get_mail(outbox_id)
    events_log.event("mail_retry", actor.login, order=row.order_code or None, mail=outbox_id)
    return row


def cancel_mail(shop: Any, actor: Actor, outbox_id: int) -> OutboxRow:
    """Withdraw a mail that has not gone yet (queued, held, failed or dead, or stuck
    "sending" after its worker's lease ran out): it is never sent."""
    require(actor, "change_status")
    with db.atomic():
        mail = _mail_for_write(outbox_id)
        now = utcnow()
        if mail.state not in ("queued", "failed", "dead") and not _lapsed(mail, now):
            raise Refused(f"mail #{outbox_id} is {mail.state}; only a mail not yet sent "
                          "(queued, held, failed, dead, or sending with its lease run out) "
                          "can be cancelled")
        changed = Outbox.update(
            state="cancelled", updated_at=now, lease_until=None, lease_owner="",
            last_error=f"cancelled by {actor.login}").where(_unchanged(mail, now)).execute()
        if not changed:
            raise Refused(f"mail #{outbox_id} was taken by a delivery worker meanwhile")
    row = get_mail(outbox_id)
    events_log.event("mail_cancel", actor.login, order=row.order_code or None, mail=outbox_id)
    return row


# The action whose role resending a mail needs: the one that sent it first. A status mail
# (it has a batch) and any kind not named here: a status change (clerk).
RESEND_ACTIONS = {"one_off": "send_mail", "account_confirm": "customers", "refunded": "refund",
                  "customer_note": "add_note"}


def resend_action(kind: str, batch: str | None) -> str:
    """The permission resending a mail of this kind needs: that of the action that sent it,
    so resending never lets a role send what it could not have sent."""
    return "change_status" if batch else RESEND_ACTIONS.get(kind, "change_status")


def resend_mail(shop: Any, actor: Actor, outbox_id: int) -> OutboxRow:
    """Queue a new copy of a mail (e.g. a status mail the customer lost); the original stays.
    Needs the role of the action that sent it first; a cancelled or erased mail is refused."""
    require(actor, "change_status")
    with db.atomic():
        mail = _mail_for_write(outbox_id)
        require(actor, resend_action(mail.kind, mail.batch))
        if mail.state == "erased":
            raise Refused(f"mail #{outbox_id} was erased with its customer; it cannot be resent")
        if mail.state == "cancelled":
            raise Refused(f"mail #{outbox_id} was cancelled; it cannot be resent")
        key = f"resend:{outbox_id}:{uuid.uuid4().hex}"
        enqueue([Mail(mail.kind, mail.recipient, key, mail.language, json.loads(mail.payload),
                      order_id=mail.order_id, customer_id=mail.customer_id)])
        new_id = Outbox.select(Outbox.id).where(Outbox.idempotency_key == key).scalar()
        if mail.order_id is not None:
            insert_events([event(mail.order_id, actor, "mail_resent",
                                 f"{mail.kind} mail resent (copy of #{outbox_id})",
                                 data={"mail_id": outbox_id, "copy": int(new_id),
                                       "mail": mail.kind})])
    row = get_mail(int(new_id))
    events_log.event("mail_resend", actor.login, order=row.order_code or None, mail=outbox_id,
                     copy=row.id)
    return row

