"""Read side of the outbox: counts per state and keyset pages, as the outbox screen and
`backroom outbox list` show them. Nothing here writes.

Written-out SQL (see store.sql): a bulk change's preview counts the mails it would withdraw
with its 10,000 ids bound as one value, as store.outbox withdraws them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from peewee import fn

from store.codes import parse_code
from store.errors import NotFound, ValidationError
from store.models import (
    MAIL_STATES,
    Order,
    Outbox,
    db,
    mail_held,
    mail_shown_state,
    shown_state,
    utcnow,
)
from store.sql import Params, id_source, id_value


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
    batch: str | None = None  # set on a status mail (the change that queued it)


@dataclass(frozen=True)
class OutboxPage:
    rows: tuple[OutboxRow, ...]
    next_cursor: str | None  # opaque; None at the end


def _state_filter(state: str, now: dt.datetime) -> Any:
    if state == "held":
        return mail_held(Outbox, now)
    if state == "queued":
        return (Outbox.state == "queued") & ~mail_held(Outbox, now)
    if state not in MAIL_STATES:
        raise ValidationError(
            f"unknown mail state {state!r}; states are: {', '.join(MAIL_STATES)}")
    return Outbox.state == state


def outbox_counts() -> dict[str, int]:
    """How many mails are in each shown state; "_all" is the total."""
    shown = mail_shown_state(Outbox, utcnow())
    counts = dict.fromkeys(MAIL_STATES, 0)
    query = (Outbox.select(shown.alias("shown"), fn.COUNT(Outbox.id).alias("n"))
             .group_by(shown).tuples())
    for pair in query:
        counts[str(pair[0])] = int(pair[1])  # type: ignore[index]
    counts["_all"] = sum(counts.values())
    return counts


@dataclass(frozen=True)
class OutboxFilter:
    """What the outbox screen's filter box (and `backroom outbox list`) narrow to: a shown
    state, an order (by its number, from its code) and part of the recipient's address."""

    state: str | None = None
    order_number: int | None = None
    recipient: str = ""

    @property
    def active(self) -> bool:
        return bool(self.state or self.order_number is not None or self.recipient)


def parse_outbox_filter(text: str, prefix: str) -> OutboxFilter:
    """`state:failed`, an order code (BR-100042, or its digits) and any other word: part of
    the recipient's address, e.g. `ann@ state:sent BR-100042`. A bad state is refused."""
    state: str | None = None
    number: int | None = None
    recipient: list[str] = []
    for word in text.split():
        key, colon, value = word.partition(":")
        if colon and key.lower() == "state":
            state = value.strip().lower() or None
            if state is not None and state not in MAIL_STATES:
                raise ValidationError(
                    f"unknown mail state {value!r}; states are: {', '.join(MAIL_STATES)}",
                    field="state")
            continue
        code = _order_number(word, prefix)
        if code is not None:
            number = code
        else:
            recipient.append(word)
    return OutboxFilter(state, number, " ".join(recipient))


def _order_number(word: str, prefix: str) -> int | None:
    """The order number of a word that is an order code (its check digit right), else None."""
    if not any(c.isdigit() for c in word) or "@" in word:
        return None
    try:
        return parse_code(word, prefix)
    except ValidationError:
        return None


def outbox_page(state: str | None = None, cursor: str | None = None, limit: int = 100,
                order_id: int | None = None,
                where: OutboxFilter | None = None) -> OutboxPage:
    """Newest first, keyset-paged on id; `state` filters by shown state (None = all), `where`
    by the filter box's state, order and part of the recipient (case aside)."""
    now = utcnow()
    query = Outbox.select().order_by(Outbox.id.desc()).limit(limit + 1)
    if where is not None and where.state:
        state = where.state
    if state:
        query = query.where(_state_filter(state, now))
    if order_id is not None:
        query = query.where(Outbox.order == order_id)
    if where is not None and where.order_number is not None:
        query = query.where(Outbox.order.in_(
            Order.select(Order.id).where(Order.number == where.order_number)))
    if where is not None and where.recipient:
        query = query.where(fn.LOWER(Outbox.recipient).contains(where.recipient.lower()))
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
        language=mail.language, state=shown_state(mail.state, mail.hold_until, now),
        order_id=mail.order_id, order_code=code or "", customer_id=mail.customer_id,
        attempts=mail.attempts, last_error=mail.last_error, created_at=mail.created_at,
        next_attempt_at=mail.next_attempt_at, hold_until=mail.hold_until, sent_at=mail.sent_at,
        message_id=mail.message_id, batch=mail.batch,
    )


def superseded_count(order_ids: Sequence[int]) -> int:
    """How many status mails of these orders a status change would withdraw (see
    store.outbox.withdraw_superseded): for a preview, which writes nothing."""
    if not order_ids:
        return 0
    # one value: peewee's IN list of 10,000 ids took 54 ms to build, the count 5 ms
    params = Params({"ids": id_value(order_ids)})
    sql = ("SELECT COUNT(*) FROM outbox WHERE state = 'queued' AND batch IS NOT NULL AND "
           f"order_id IN (SELECT value FROM {id_source('ids')})")
    return int(db.execute_sql(sql, params).fetchone()[0])


def latest_status_mail(order_id: int, kinds: Sequence[str] = ()) -> OutboxRow | None:
    """The newest status mail of an order that was not withdrawn, cancelled or erased: what
    "resend the status mail" resends. A status mail is one a status change queued (it has a
    batch), or one of the `kinds` the workflow's statuses send (Workflow.mail of each: an
    imported or a demo shop's mails, and a refund's, which tells of the refunded status)."""
    status_mail = Outbox.batch.is_null(False)
    if kinds:
        status_mail |= Outbox.kind.in_(list(kinds))
    mail = (Outbox.select().where(Outbox.order == order_id, status_mail,
                                  Outbox.state.not_in(("cancelled", "erased")))
            .order_by(Outbox.id.desc()).first())
    if mail is None:
        return None
    code = Order.select(Order.code).where(Order.id == order_id).scalar() or ""
    return _row(mail, code, utcnow())


def get_mail(outbox_id: int) -> OutboxRow:
    mail = Outbox.get_or_none(Outbox.id == outbox_id)
    if mail is None:
        raise NotFound(f"no mail #{outbox_id} in the outbox")
    code = ""
    if mail.order_id is not None:
        code = Order.select(Order.code).where(Order.id == mail.order_id).scalar() or ""
    return _row(mail, code, utcnow())


@dataclass(frozen=True)
class MailSource:
    """What a mail is made from (its template kind, language and payload), for showing the
    mail as the worker would render it."""

    id: int
    kind: str
    recipient: str
    language: str
    payload: str
    order_id: int | None
    customer_id: int | None
    state: str


def mail_source(outbox_id: int) -> MailSource:
    """The outbox row's template inputs; NotFound when there is no such mail."""
    mail = Outbox.get_or_none(Outbox.id == outbox_id)
    if mail is None:
        raise NotFound(f"no mail #{outbox_id} in the outbox")
    return MailSource(mail.id, mail.kind, mail.recipient, mail.language, mail.payload,
                      mail.order_id, mail.customer_id, mail.state)
