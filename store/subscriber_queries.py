"""Subscriber reads: a page of the list (newest first, keyset on id), searchable by address or
name (folded, as order and customer search are) and by state, with each one's consent record
and suppression; counts by state; one address in full (its suppression with the reason and
when, its bounces and complaints)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import fn

from store.errors import NotFound, ValidationError
from store.folding import fold_query
from store.models import SUBSCRIBER_STATES, Bounce, Campaign, Subscriber, Suppression
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
    """Newest first; each word of `text` is found in the address or the name, whatever the
    accents and the case (store.folding: "wichterlova" finds Wichterlová); `state` one of
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
    for word in fold_query(text).split():
        query = query.where(Subscriber.search_text.contains(word))
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


@dataclass(frozen=True)
class Suppressed:
    reason: str
    detail: str
    at: dt.datetime
    by: str


@dataclass(frozen=True)
class BounceLine:
    at: dt.datetime
    kind: str
    status: str
    campaign: str
    detail: str


@dataclass(frozen=True)
class SubscriberDetail:
    """One address: its subscriber (None when only the suppression list knows it), its
    suppression, and its bounces and complaints, newest first (at most 50)."""

    email: str
    subscriber: SubscriberRow | None
    suppressed: Suppressed | None
    bounces: tuple[BounceLine, ...]


def subscriber_detail(actor: Actor, text: str) -> SubscriberDetail:
    require(actor, "newsletter_view")
    text = text.strip()
    row = (Subscriber.get_or_none(Subscriber.id == int(text)) if text.isdigit()
           else Subscriber.get_or_none(Subscriber.email_key == text.lower()))
    key = row.email_key if row is not None and row.email_key else text.lower()
    blocked = Suppression.get_or_none(Suppression.email_key == key)
    if row is None and blocked is None:
        raise NotFound(f"no subscriber {text!r}, and it is not on the suppression list",
                       field="email")
    names = {int(c.id): str(c.name) for c in Campaign.select(Campaign.id, Campaign.name)
             .where(Campaign.id.in_(Bounce.select(Bounce.campaign)
                                    .where(Bounce.email_key == key)))}
    bounces = tuple(BounceLine(b.created_at, b.kind, b.status, names.get(b.campaign or 0, ""),
                               b.detail)
                    for b in Bounce.select().where(Bounce.email_key == key)
                    .order_by(Bounce.created_at.desc(), Bounce.id.desc()).limit(50))
    return SubscriberDetail(
        row.email if row is not None else key,
        _row(row, blocked.reason if blocked else "") if row is not None else None,
        Suppressed(blocked.reason, blocked.detail, blocked.created_at, blocked.operator_login)
        if blocked is not None else None, bounces)
