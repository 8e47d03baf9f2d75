"""Webhook reads: the endpoints with their deliveries counted, the deliveries themselves, and
the counts the outbox screen shows beside the mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import JOIN, fn

from store.models import DELIVERY_STATES, Order, WebhookDelivery, WebhookEndpoint, utcnow


@dataclass(frozen=True)
class EndpointRow:
    id: int
    url: str
    events: tuple[str, ...]
    description: str
    active: bool
    disabled_at: dt.datetime | None
    disabled_reason: str
    rotating: bool  # an old secret still signs beside the new one
    created_at: dt.datetime
    created_by: str
    counts: dict[str, int]  # deliveries by state

    @property
    def state(self) -> str:
        return "active" if self.active else "disabled"


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    endpoint_id: int
    url: str
    event: str
    message_id: str
    state: str
    attempts: int
    last_status: int
    last_error: str
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    created_at: dt.datetime
    order_code: str


def _counts() -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    rows: Any = (WebhookDelivery.select(WebhookDelivery.endpoint, WebhookDelivery.state,
                                        fn.COUNT(WebhookDelivery.id))
                 .group_by(WebhookDelivery.endpoint, WebhookDelivery.state).tuples())
    for endpoint_id, state, count in rows:
        found.setdefault(endpoint_id, dict.fromkeys(DELIVERY_STATES, 0))[state] = count
    return found


def endpoints() -> list[EndpointRow]:
    """Every endpoint, oldest first, with its deliveries counted by state."""
    counts = _counts()
    now = utcnow()
    return [EndpointRow(e.id, e.url, tuple(x for x in e.events.split(",") if x), e.description,
                        bool(e.active), e.disabled_at, e.disabled_reason,
                        bool(e.previous_secret and e.previous_until and e.previous_until > now),
                        e.created_at, e.created_by,
                        counts.get(e.id, dict.fromkeys(DELIVERY_STATES, 0)))
            for e in WebhookEndpoint.select().order_by(WebhookEndpoint.id)]


def disabled_endpoints() -> list[EndpointRow]:
    return [e for e in endpoints() if not e.active]


def delivery_counts() -> dict[str, int]:
    """Deliveries by state, across endpoints (the outbox screen's webhook line)."""
    counts = dict.fromkeys(DELIVERY_STATES, 0)
    rows: Any = (WebhookDelivery.select(WebhookDelivery.state, fn.COUNT(WebhookDelivery.id))
                 .group_by(WebhookDelivery.state).tuples())
    for state, count in rows:
        counts[state] = count
    return counts


def deliveries(endpoint_id: int | None = None, state: str | None = None,
               limit: int = 50) -> list[DeliveryRow]:
    """The newest deliveries (of one endpoint, in one state)."""
    query = (WebhookDelivery
             .select(WebhookDelivery, WebhookEndpoint.url, Order.code)
             .join(WebhookEndpoint)
             .switch(WebhookDelivery).join(Order, JOIN.LEFT_OUTER)
             .order_by(WebhookDelivery.id.desc()).limit(limit))
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint == endpoint_id)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    return [DeliveryRow(d.id, d.endpoint_id, d.endpoint.url, d.event, d.message_id, d.state,
                        d.attempts, d.last_status, d.last_error, d.next_attempt_at,
                        d.delivered_at, d.created_at, d.order.code if d.order is not None else "")
            for d in query]


def delivery(delivery_id: int) -> DeliveryRow | None:
    """One delivery (what `backroom webhook test` reports), or None."""
    found = (WebhookDelivery.select(WebhookDelivery, WebhookEndpoint.url).join(WebhookEndpoint)
             .where(WebhookDelivery.id == delivery_id).first())
    if found is None:
        return None
    return DeliveryRow(found.id, found.endpoint_id, found.endpoint.url, found.event,
                       found.message_id, found.state, found.attempts, found.last_status,
                       found.last_error, found.next_attempt_at, found.delivered_at,
                       found.created_at, "")
