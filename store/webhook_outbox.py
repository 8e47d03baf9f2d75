"""The webhook deliveries' state machine: the only module that changes a delivery's state (and
an endpoint's, when delivering disables it). What store/outbox.py is for mail.

An event is queued for every active endpoint subscribed to it, in the same transaction as the
change it tells of, its payload as it was then (`enqueue`, or `enqueue_select` for a change of
thousands of orders). A delivery worker leases due rows (`claim`: sending), posts them, and
records the answers (`mark`); a clean stop gives them back (`release`).

    queued --claim--> sending --mark--> delivered | queued (next attempt of the schedule)
                                        | failed (schedule spent, or 410 Gone)
    sending, lease run out --claim--> sending (a worker died: sent again, same webhook-id)
    failed --enable the endpoint--> queued          queued --endpoint removed--> (deleted)

The retry schedule is the Standard Webhooks one (webhooks.retry_schedule: immediately, 5 s,
5 min, 30 min, 2 h, 5 h, 10 h, 10 h); a 429 with Retry-After waits what it asks instead. The
endpoint is disabled only when a delivery spends the schedule or the endpoint answers 410:
its queued deliveries are kept (none is sent while it is disabled), and the admins get one
mail through the outbox, in the same transaction.

Written-out SQL (see store.sql): queuing an event for many orders at once is INSERT ...
SELECT from the orders and the endpoints, and claiming is one UPDATE ... RETURNING."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from store import db as dbmod
from store.models import WebhookDelivery, WebhookEndpoint, db, utcnow
from store.outbox import Mail
from store.outbox import enqueue as enqueue_mail
from store.sql import Params, id_source, id_value, insert_rows, insert_select, named

EVENTS = ("order.placed", "order.status_changed", "order.refunded", "customer.created")
TEST_EVENT = "webhook.test"


@dataclass(frozen=True)
class Event:
    """One event to queue for every endpoint subscribed to it; `key` makes it idempotent
    (the webhook-id is `msg_<key>_<endpoint>`)."""

    event: str
    key: str
    payload: Mapping[str, Any]
    order_id: int | None = None
    customer_id: int | None = None


def subscribers(event: str) -> list[int]:
    """The active endpoints that hear of `event` (read inside the change's transaction)."""
    rows = WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.events).where(
        WebhookEndpoint.active == True)  # noqa: E712
    return [r.id for r in rows if event in r.events.split(",")]


def enqueue(events: Iterable[Event], endpoints: Sequence[int] | None = None) -> int:
    """Queue each event for its subscribers (or the endpoints given); call inside the change's
    transaction. The count of deliveries queued."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    found: dict[str, list[int]] = {}
    for e in events:
        targets = endpoints if endpoints is not None else found.setdefault(
            e.event, subscribers(e.event))
        text = json.dumps(e.payload, default=str, ensure_ascii=False)
        rows.extend({"endpoint": target, "event": e.event,
                     "message_id": f"msg_{e.key}_{target}", "payload": text,
                     "order": e.order_id, "customer": e.customer_id, "state": "queued",
                     "next_attempt_at": now, "created_at": now, "updated_at": now}
                    for target in targets)
    insert_rows(WebhookDelivery, rows)
    return len(rows)


def enqueue_select(event: str, key: str, payload: str, rows: str, where: str,
                   params: Mapping[str, Any], order: str = "NULL",
                   customer: str = "NULL") -> int:
    """Queue `event` for each row of `rows` (a FROM with its joins) that `where` keeps, and
    each subscriber, set-based: `payload` is the SQL of the row's JSON, `key` the SQL of its
    unique part of the webhook-id. Nothing is read into Python per row."""
    hooks = subscribers(event)
    if not hooks:
        return 0
    now = utcnow()
    values = dict(params) | {"hook_ids": id_value(hooks), "hook_event": event, "hook_now": now}
    return insert_select(WebhookDelivery, {
        "endpoint": "hook.value", "event": named("hook_event"),
        "message_id": f"'msg_' || {key} || '_' || CAST(hook.value AS TEXT)",
        "payload": payload, "order": order, "customer": customer, "state": "'queued'",
        "next_attempt_at": named("hook_now"), "created_at": named("hook_now"),
        "updated_at": named("hook_now"),
    }, f"{rows} CROSS JOIN {id_source('hook_ids', 'hook')} {where}", values)


def erase_payloads(customer_id: int, email: str) -> int:
    """A customer erased: the payloads of their account's and orders' events (and of any
    order placed with their address) are blanked, whatever their state; a delivery not yet
    made then carries only that it was erased. How many."""
    p = Params()
    address = email.strip().lower()
    theirs = f"customer_id = {p(customer_id)}"
    orders = f"SELECT id FROM orders WHERE customer_id = {p(customer_id)}"
    if address:
        orders += f" OR lower(customer_email) = {p(address)}"
    sql = (f"UPDATE webhook_delivery SET payload = '{{\"erased\": true}}', "
           f"updated_at = {p(utcnow())} WHERE {theirs} OR order_id IN ({orders})")
    return int(db.execute_sql(sql, p).rowcount)


# ----- delivery: claim, release, mark --------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds the lease of, with what it needs to sign and post it."""

    id: int
    endpoint_id: int
    url: str
    secrets: tuple[str, ...]  # the current secret, then the previous one while rotating
    event: str
    message_id: str
    payload: str
    attempts: int
    created_at: dt.datetime

    def body(self) -> str:
        """The request body: the event's type, the time it happened, and its data as it was
        then; the same bytes on every attempt."""
        when = self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f'{{"type":{json.dumps(self.event)},"timestamp":"{when}",'
                f'"data":{self.payload}}}')


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt. result: delivered (2xx), retry (any other answer, or
    none), gone (410: the endpoint is disabled), released (not tried: give it back)."""

    id: int
    attempts: int
    result: str
    status: int = 0
    error: str = ""
    retry_after: float | None = None  # seconds a 429 asked to wait
    at: dt.datetime = field(default_factory=utcnow)


@dataclass
class HookStats:
    """What one run of the webhook loop did; `backroom worker --once` prints it."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    disabled: int = 0

    def summary(self) -> str:
        return (f"webhooks: {self.delivered} delivered, {self.retried} to retry, "
                f"{self.failed} failed, {self.released} released, "
                f"{self.disabled} endpoint(s) disabled")


def claim(owner: str, limit: int, lease_seconds: float,
          due_before: dt.datetime | None = None,
          only: Sequence[int] | None = None) -> list[Claimed]:
    """Lease up to `limit` due deliveries of active endpoints: queued and due, or sending with
    a lost lease (their worker died). SQLite: one BEGIN IMMEDIATE transaction; PostgreSQL:
    FOR UPDATE SKIP LOCKED, so concurrent workers claim disjoint rows. `due_before` (a run
    of `--once`) leaves out deliveries that became due after it; `only` claims among those
    deliveries alone."""
    if not WebhookDelivery.select().where(
            WebhookDelivery.state.in_(("queued", "sending"))).exists():
        return []  # idle: no write lock taken to find nothing
    now = utcnow()
    p = Params()
    due_at = p(min(now, due_before) if due_before is not None else now)
    at = p(now)
    lock = "" if dbmod.is_sqlite() else " FOR UPDATE OF d SKIP LOCKED"
    among = ""
    if only is not None:
        p["only"] = id_value(only)
        among = f"d.id IN (SELECT value FROM {id_source('only')}) AND "
    pick = (f"SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e "
            f"ON e.id = d.endpoint_id WHERE {among}e.active = {p(True)} AND "
            f"((d.state = 'queued' AND d.next_attempt_at <= {due_at}) OR "
            f"(d.state = 'sending' AND d.lease_until < {at})) "
            f"ORDER BY d.next_attempt_at, d.id LIMIT {int(limit)}{lock}")
    sql = (f"UPDATE webhook_delivery SET state = 'sending', lease_owner = {p(owner)}, "
           f"lease_until = {p(now + dt.timedelta(seconds=lease_seconds))}, "
           f"attempts = attempts + 1, updated_at = {at} WHERE id IN ({pick}) "
           "RETURNING id, endpoint_id, event, message_id, payload, attempts, created_at")
    with db.atomic():
        rows = list(db.execute_sql(sql, p))
        if not rows:
            return []
        endpoints = {e.id: e for e in WebhookEndpoint.select().where(
            WebhookEndpoint.id.in_(sorted({r[1] for r in rows})))}
    convert = WebhookDelivery.created_at.python_value
    claimed = []
    for row in rows:
        endpoint = endpoints[row[1]]
        secrets = [endpoint.secret]
        if (endpoint.previous_secret and endpoint.previous_until is not None
                and endpoint.previous_until > now):
            secrets.append(endpoint.previous_secret)
        claimed.append(Claimed(row[0], row[1], endpoint.url, tuple(secrets), row[2], row[3],
                               row[4], row[5], convert(row[6])))
    return sorted(claimed, key=lambda c: c.id)


def release(ids: Sequence[int], owner: str) -> int:
    """Give deliveries back to the queue untried (a clean stop)."""
    if not ids:
        return 0
    with db.atomic():
        return int(WebhookDelivery.update(
            state="queued", lease_until=None, lease_owner="",
            attempts=WebhookDelivery.attempts - 1, updated_at=utcnow(),
        ).where(WebhookDelivery.id.in_(list(ids)), WebhookDelivery.lease_owner == owner,
                WebhookDelivery.state == "sending").execute())


MAX_RETRY_AFTER = 86400.0


@dataclass(frozen=True)
class Notice:
    """Who hears that an endpoint was disabled, and in which language."""

    recipients: tuple[str, ...]
    language: str = "en"


def mark(outcomes: Sequence[Outcome], owner: str, schedule: Sequence[float], notice: Notice,
         stats: HookStats | None = None) -> HookStats:
    """Record the attempts, in one transaction. Only deliveries this worker still holds are
    touched (leased to it, attempts as claimed). A delivery whose schedule is spent, or an
    answer 410, disables its endpoint (and mails the admins, once)."""
    stats = stats if stats is not None else HookStats()
    with db.atomic():
        for o in outcomes:
            _mark_one(o, owner, schedule, notice, stats)
    return stats


def _mark_one(o: Outcome, owner: str, schedule: Sequence[float], notice: Notice,
              stats: HookStats) -> None:
    mine = ((WebhookDelivery.id == o.id) & (WebhookDelivery.lease_owner == owner)
            & (WebhookDelivery.state == "sending") & (WebhookDelivery.attempts == o.attempts))
    changes: dict[Any, Any] = {WebhookDelivery.lease_until: None, WebhookDelivery.lease_owner: "",
                               WebhookDelivery.updated_at: o.at}
    disable = ""
    if o.result == "released":
        changes.update({WebhookDelivery.state: "queued",
                        WebhookDelivery.attempts: WebhookDelivery.attempts - 1,
                        WebhookDelivery.next_attempt_at: o.at})
        stats.released += 1
    elif o.result == "delivered":
        changes.update({WebhookDelivery.state: "delivered", WebhookDelivery.delivered_at: o.at,
                        WebhookDelivery.last_status: o.status, WebhookDelivery.last_error: ""})
        stats.delivered += 1
    else:
        changes.update({WebhookDelivery.last_status: o.status,
                        WebhookDelivery.last_error: o.error[:2000]})
        if o.result == "gone":
            disable = f"it answered 410 Gone ({o.error})"
        elif o.attempts >= len(schedule):
            disable = (f"the retry schedule was spent: {o.attempts} attempts failed, the last "
                       f"with {o.error}")
        if disable:
            changes[WebhookDelivery.state] = "failed"
            stats.failed += 1
        else:
            delay = schedule[o.attempts] if o.retry_after is None else min(
                max(o.retry_after, 0.0), MAX_RETRY_AFTER)
            changes.update({WebhookDelivery.state: "queued",
                            WebhookDelivery.next_attempt_at: o.at + dt.timedelta(seconds=delay)})
            stats.retried += 1
    changed = WebhookDelivery.update(changes).where(mine).execute()
    if changed and disable:
        endpoint_id = WebhookDelivery.get_by_id(o.id).endpoint_id
        if disable_endpoint(endpoint_id, disable[:2000], notice, o.at):
            stats.disabled += 1


def disable_endpoint(endpoint_id: int, reason: str, notice: Notice,
                     at: dt.datetime | None = None) -> bool:
    """Disable an active endpoint and queue one mail to the admins (in the caller's
    transaction); False when it was already disabled, so the mail goes once."""
    at = at or utcnow()
    changed = WebhookEndpoint.update(active=False, disabled_at=at, disabled_reason=reason,
                                     updated_at=at).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active == True).execute()  # noqa: E712
    if not changed:
        return False
    url = WebhookEndpoint.get_by_id(endpoint_id).url
    stamp = at.strftime("%Y%m%dT%H%M%S%f")
    enqueue_mail(Mail("merchant_webhook_disabled", address,
                      f"webhook-disabled:{endpoint_id}:{stamp}:{address}", notice.language,
                      {"endpoint_id": endpoint_id, "url": url, "reason": reason})
                 for address in dict.fromkeys(notice.recipients) if address)
    return True


def enable_endpoint_rows(endpoint_id: int) -> int:
    """Turn an endpoint back on: its failed deliveries (the one that spent the schedule or met
    the 410) are queued again, due now, with fresh attempts; how many."""
    now = utcnow()
    WebhookEndpoint.update(active=True, disabled_at=None, disabled_reason="",
                           updated_at=now).where(WebhookEndpoint.id == endpoint_id).execute()
    return int(WebhookDelivery.update(
        state="queued", attempts=0, next_attempt_at=now, updated_at=now).where(
        WebhookDelivery.endpoint == endpoint_id, WebhookDelivery.state == "failed").execute())


def retry_now(endpoint_id: int | None = None) -> int:
    """Make every queued delivery (of one endpoint) due now: `backroom webhook retry`, after
    fixing a receiver, instead of waiting hours for the schedule."""
    query = WebhookDelivery.update(next_attempt_at=utcnow()).where(
        WebhookDelivery.state == "queued")
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint == endpoint_id)
    return int(query.execute())
