"""The shop-wide rate of campaign mail (newsletter.max_per_second): a token bucket in one
database row that every worker draws from inside its claim's transaction (the row locked:
SQLite's BEGIN IMMEDIATE, PostgreSQL's FOR UPDATE), so one worker or four send at the same
rate. The bucket holds at most one second of sends: over any minute no more than 61 seconds'
worth go. After a 421 or 4.7.x reply (the relay or the receiver asks us to slow down) the
bucket is blocked for a backoff that doubles on each such reply, for every worker at once,
and clears on the next send accepted. A recipient domain capped by newsletter.domain_per_second
has a bucket of its own beside it ("domain:gmail.com"), drawn from in the same transaction
before the shop-wide one. The only module that changes those rows."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from store.db import is_sqlite
from store.models import SendRate, db, utcnow

NAME = "campaigns"
FIRST_BACKOFF = 30.0
MAX_BACKOFF = 3600.0


@dataclass(frozen=True)
class Grant:
    """Sends granted now, or how long to wait before asking again."""

    count: int
    wait: float


def _row(now: dt.datetime, name: str = NAME) -> SendRate:
    """The bucket, locked for this transaction (made empty on first use)."""
    SendRate.insert(name=name, tokens=0, refilled_at=now).on_conflict_ignore().execute()
    query = SendRate.select().where(SendRate.name == name)
    if not is_sqlite():
        query = query.for_update()
    return query.get()


def take(rate: float, want: int, now: dt.datetime | None = None, name: str = NAME) -> Grant:
    """Up to `want` sends at `rate` a second; call inside the claim's transaction."""
    now = now or utcnow()
    row = _row(now, name)
    # `now` was read before the lock: a worker that waited for it behind another must not
    # move the bucket back in time, or the interval between counts twice (four workers sent
    # 4.7% over the rate so)
    now = max(now, row.refilled_at)
    if row.blocked_until is not None and row.blocked_until > now:
        return Grant(0, (row.blocked_until - now).total_seconds())
    capacity = max(1.0, rate)
    elapsed = max(0.0, (now - row.refilled_at).total_seconds())
    tokens = min(capacity, row.tokens + elapsed * rate)
    granted = min(want, math.floor(tokens))
    tokens -= granted
    SendRate.update(tokens=tokens, refilled_at=now, updated_at=now).where(
        SendRate.id == row.id).execute()
    wait = 0.0 if granted else (1.0 - tokens) / rate
    return Grant(granted, wait)


def domain_bucket(domain: str) -> str:
    """The name of a capped recipient domain's bucket."""
    return f"domain:{domain}"


def give_back(name: str, count: int, rate: float) -> None:
    """Sends granted by a domain's bucket that the shop-wide one then held back: they were
    not spent (inside the same transaction as the take)."""
    if count > 0:
        row = _row(utcnow(), name)
        SendRate.update(tokens=min(max(1.0, rate), row.tokens + count)).where(
            SendRate.id == row.id).execute()


def slow_down(now: dt.datetime | None = None) -> float:
    """A 421 or 4.7.x: block every worker for the backoff, doubled; the seconds blocked."""
    now = now or utcnow()
    with db.atomic():
        row = _row(now)
        seconds = min(MAX_BACKOFF, max(FIRST_BACKOFF, row.backoff_seconds * 2))
        SendRate.update(blocked_until=now + dt.timedelta(seconds=seconds),
                        backoff_seconds=seconds, tokens=0, refilled_at=now,
                        updated_at=now).where(SendRate.id == row.id).execute()
    return seconds


def accepted() -> None:
    """A send went through: the backoff starts again from its first step."""
    SendRate.update(backoff_seconds=0).where(SendRate.name == NAME,
                                             SendRate.backoff_seconds > 0).execute()
