"""The store's side of mail: outbox rows written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from store.models import Outbox, utcnow


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
    for start in range(0, len(rows), 500):
        Outbox.insert_many(rows[start:start + 500]).execute()
    return len(rows)


def withdraw_batch(batch: str) -> int:
    """Cancel the not-yet-sent mails of a batch (undo); returns how many were withdrawn."""
    return int(
        Outbox.update(state="cancelled", updated_at=utcnow(), last_error="withdrawn by undo")
        .where(Outbox.batch == batch, Outbox.state == "queued")
        .execute()
    )
