"""Subscriber reads: a page of the list (newest first, keyset on id), searchable by address or
name and by state, with each one's consent record and suppression; counts by state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import fn

from store.errors import ValidationError
from store.models import SUBSCRIBER_STATES, Subscriber, Suppression
from store.operators import Actor, require


@dataclass(frozen=True)
class SubscriberRow:
    id: int
    email: str
    name: str
    state: str
    consent_source: str
    consent_at: dt.datetime
    consent_text: str
    confirmed_at: dt.datetime | None
    state_at: dt.datetime | None
    state_how: str
    customer_id: int | None
    suppressed: str  # the reason, "" when not suppressed


@dataclass(frozen=True)
class SubscriberPage:
    rows: tuple[SubscriberRow, ...]
    next_cursor: int | None


def subscriber_page(actor: Actor, text: str = "", state: str = "", cursor: int | None = None,
                    limit: int = 100) -> SubscriberPage:
    """Newest first; `text` matches the start of the address, or a name; `state` one of
    SUBSCRIBER_STATES (or "suppressed")."""
    require(actor, "newsletter_view")
    query = Subscriber.select().where(Subscriber.email_key.is_null(False))
    if state == "suppressed":
        query = query.where(Subscriber.email_key.in_(Suppression.select(Suppression.email_key)))
    elif state:
        if state not in SUBSCRIBER_STATES:
            raise ValidationError(f"unknown state {state!r}; states are "
                                  f"{', '.join(SUBSCRIBER_STATES)} or suppressed", field="state")
        query = query.where(Subscriber.state == state)
    text = text.strip().lower()
    if text:
        low, high = text, text[:-1] + chr(ord(text[-1]) + 1)
        query = query.where(((Subscriber.email_key >= low) & (Subscriber.email_key < high))
                            | Subscriber.first_name.contains(text)
                            | Subscriber.last_name.contains(text))
    if cursor is not None:
        query = query.where(Subscriber.id < cursor)
    rows = list(query.order_by(Subscriber.id.desc()).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    blocked: dict[str, str] = {}
    if rows:
        query_blocked: Any = (Suppression.select(Suppression.email_key, Suppression.reason)
                              .where(Suppression.email_key.in_([r.email_key for r in rows]))
                              .tuples())
        blocked = {str(k): str(v) for k, v in query_blocked}
    found = tuple(_row(r, blocked.get(r.email_key or "", "")) for r in rows)
    return SubscriberPage(found, found[-1].id if more and found else None)


def _row(r: Subscriber, suppressed: str) -> SubscriberRow:
    return SubscriberRow(r.id, r.email, f"{r.first_name} {r.last_name}".strip(), r.state,
                         r.consent_source, r.consent_at, r.consent_text, r.confirmed_at,
                         r.state_at, r.state_how, r.customer_id, suppressed)


def state_counts(actor: Actor) -> dict[str, int]:
    """How many subscribers are in each state (every state named, 0 when none)."""
    require(actor, "newsletter_view")
    counts = dict.fromkeys(SUBSCRIBER_STATES, 0)
    query: Any = (Subscriber.select(Subscriber.state, fn.COUNT(Subscriber.id))
                  .where(Subscriber.email_key.is_null(False))
                  .group_by(Subscriber.state).tuples())
    for state, count in query:
        counts[str(state)] = int(count)
    return counts
