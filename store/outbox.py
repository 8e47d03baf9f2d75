"""The store's side of mail: outbox rows written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from peewee import Case, fn

from store.errors import NotFound, Refused, ValidationError
from store.models import Order, Outbox, db, utcnow
from store.operators import Actor, require


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
    from store.bulk import insert_rows

    insert_rows(Outbox, rows)
    return len(rows)


def withdraw_batch(batch: str) -> int:
    """Cancel the not-yet-sent mails of a batch (undo); returns how many were withdrawn."""
    return int(
        Outbox.update(state="cancelled", updated_at=utcnow(), last_error="withdrawn by undo")
        .where(Outbox.batch == batch, Outbox.state == "queued")
        .execute()
    )


# ----- what operators see and do with the outbox ---------------------------------------------

STATES = ("queued", "held", "sending", "sent", "failed", "dead", "cancelled")


@dataclass(frozen=True)
class OutboxRow:
    """One outbox line as the outbox screen and `backroom outbox list` show it."""

    id: int
    kind: str
    recipient: str
    subject: str
    language: str
    state: str  # as shown: a queued mail still inside its undo window is "held"
    order_id: int | None
    order_code: str
    customer_id: int | None
    attempts: int
    last_error: str
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    hold_until: dt.datetime | None
    sent_at: dt.datetime | None
    message_id: str


@dataclass(frozen=True)
class OutboxPage:
    rows: tuple[OutboxRow, ...]
    next_cursor: str | None  # opaque; None at the end


def _shown_state(state: str, hold_until: dt.datetime | None, now: dt.datetime) -> str:
    if state == "queued" and hold_until is not None and hold_until > now:
        return "held"
    return state


def _state_filter(state: str, now: dt.datetime) -> Any:
    held = Outbox.hold_until.is_null(False) & (Outbox.hold_until > now)
    if state == "held":
        return (Outbox.state == "queued") & held
    if state == "queued":
        return (Outbox.state == "queued") & ~held
    if state not in STATES:
        raise ValidationError(f"unknown mail state {state!r}; states are: {', '.join(STATES)}")
    return Outbox.state == state


def outbox_counts() -> dict[str, int]:
    """How many mails are in each state (held = queued inside an undo window); "_all" = total."""
    now = utcnow()
    held_case = Case(None, [((Outbox.state == "queued") & Outbox.hold_until.is_null(False)
                             & (Outbox.hold_until > now), "held")], Outbox.state)
    counts = dict.fromkeys(STATES, 0)
    query = (Outbox.select(held_case.alias("shown"), fn.COUNT(Outbox.id).alias("n"))
             .group_by(held_case).tuples())
    for pair in query:
        counts[str(pair[0])] = int(pair[1])  # type: ignore[index]
    counts["_all"] = sum(counts.values())
    return counts


def outbox_page(state: str | None = None, cursor: str | None = None, limit: int = 100,
                order_id: int | None = None) -> OutboxPage:
    """Newest first, keyset-paged on id; `state` filters by shown state (None = all)."""
    now = utcnow()
    query = Outbox.select().order_by(Outbox.id.desc()).limit(limit + 1)
    if state:
        query = query.where(_state_filter(state, now))
    if order_id is not None:
        query = query.where(Outbox.order == order_id)
    if cursor:
        try:
            before = int(cursor)
        except ValueError:
            raise ValidationError(f"bad outbox cursor {cursor!r}") from None
        query = query.where(Outbox.id < before)
    mails = list(query)
    order_ids = {m.order_id for m in mails if m.order_id is not None}
    codes: dict[int, str] = {}
    if order_ids:
        query_codes = Order.select(Order.id, Order.code).where(Order.id.in_(list(order_ids)))
        codes = {int(i): str(c) for i, c in query_codes.tuples()}  # type: ignore[misc,has-type]
    rows = [_row(mail, codes.get(mail.order_id or 0, ""), now) for mail in mails]
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return OutboxPage(tuple(rows[:limit]), next_cursor)


def _row(mail: Outbox, code: str, now: dt.datetime) -> OutboxRow:
    return OutboxRow(
        id=mail.id, kind=mail.kind, recipient=mail.recipient, subject=mail.subject,
        language=mail.language, state=_shown_state(mail.state, mail.hold_until, now),
        order_id=mail.order_id, order_code=code or "", customer_id=mail.customer_id,
        attempts=mail.attempts, last_error=mail.last_error, created_at=mail.created_at,
        next_attempt_at=mail.next_attempt_at, hold_until=mail.hold_until, sent_at=mail.sent_at,
        message_id=mail.message_id,
    )


def get_mail(outbox_id: int) -> OutboxRow:
    mail = Outbox.get_or_none(Outbox.id == outbox_id)
    if mail is None:
        raise NotFound(f"no mail #{outbox_id} in the outbox")
    code = ""
    if mail.order_id is not None:
        code = Order.select(Order.code).where(Order.id == mail.order_id).scalar() or ""
    return _row(mail, code, utcnow())


def retry_mail(shop: Any, actor: Actor, outbox_id: int) -> OutboxRow:
    """Put a failed or dead mail back in the queue, due now, with a fresh count of attempts."""
    require(actor, "change_status")
    with db.atomic():
        mail = Outbox.get_or_none(Outbox.id == outbox_id)
        if mail is None:
            raise NotFound(f"no mail #{outbox_id} in the outbox")
        if mail.state not in ("failed", "dead"):
            raise Refused(f"mail #{outbox_id} is {mail.state}; only a failed or dead mail "
                          "can be retried (use resend for a sent one)")
        now = utcnow()
        Outbox.update(state="queued", attempts=0, next_attempt_at=now, hold_until=None,
                      lease_until=None, lease_owner="", updated_at=now,
                      last_error=f"retry by {actor.login}; was: {mail.last_error}"[:2000]
                      ).where(Outbox.id == outbox_id).execute()
    return get_mail(outbox_id)


def cancel_mail(shop: Any, actor: Actor, outbox_id: int) -> OutboxRow:
    """Withdraw a mail that has not gone yet (queued, held, failed or dead): it is never sent."""
    require(actor, "change_status")
    with db.atomic():
        mail = Outbox.get_or_none(Outbox.id == outbox_id)
        if mail is None:
            raise NotFound(f"no mail #{outbox_id} in the outbox")
        if mail.state not in ("queued", "failed", "dead"):
            raise Refused(f"mail #{outbox_id} is {mail.state}; only a mail not yet sent "
                          "(queued, held, failed, dead) can be cancelled")
        now = utcnow()
        Outbox.update(state="cancelled", updated_at=now,
                      last_error=f"cancelled by {actor.login}").where(
            Outbox.id == outbox_id, Outbox.state == mail.state).execute()
    return get_mail(outbox_id)


def resend_mail(shop: Any, actor: Actor, outbox_id: int) -> OutboxRow:
    """Queue a new copy of a mail (e.g. a status mail the customer lost); the original stays."""
    require(actor, "change_status")
    with db.atomic():
        mail = Outbox.get_or_none(Outbox.id == outbox_id)
        if mail is None:
            raise NotFound(f"no mail #{outbox_id} in the outbox")
        if mail.state == "cancelled":
            raise Refused(f"mail #{outbox_id} was cancelled; it cannot be resent")
        key = f"resend:{outbox_id}:{uuid.uuid4().hex}"
        enqueue([Mail(mail.kind, mail.recipient, key, mail.language, json.loads(mail.payload),
                      order_id=mail.order_id, customer_id=mail.customer_id)])
        new_id = Outbox.select(Outbox.id).where(Outbox.idempotency_key == key).scalar()
    return get_mail(int(new_id))
