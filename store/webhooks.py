"""Webhooks: the endpoints a shop pushes its events to (a till, an accounting program, a push
service for the phone), and the events themselves, as the services queue them.

Endpoints are an admin's business (they receive customers' data): add, remove, rotate the
secret, enable again after the worker disabled one, queue a test event. Each has its own
`whsec_` secret (Standard Webhooks: 24 random bytes, base64).

The events (store.webhook_outbox.EVENTS) are queued by the service whose change they tell of,
in its transaction, each payload a snapshot of the order or customer as it was then (an
`order.placed` arrives as placed, even when it was paid a second later; WooCommerce builds its
payload at send time, so its "order.created" can arrive already paid). A shop with no
endpoint pays one small read per change.

Written-out SQL (see store.sql) for a status change of many orders: the snapshots are built by
the database (`order_json`), with the same keys and values as the Python `order_snapshot`
gives; a test holds them to that."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import secrets as secretsmod
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from store import db as dbmod
from store import webhook_outbox
from store.errors import NotFound, Refused, ValidationError
from store.models import (
    Address,
    Customer,
    CustomerGroup,
    Order,
    OrderItem,
    WebhookDelivery,
    WebhookEndpoint,
    db,
    utcnow,
)
from store.operators import Actor, require
from store.shop import Shop
from store.text import clean
from store.webhook_outbox import EVENTS, TEST_EVENT, Event

SECRET_PREFIX = "whsec_"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secretsmod.token_bytes(24)).decode("ascii")


# ----- endpoints -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EndpointSecret:
    """An endpoint as added or rotated: the secret is shown this once by the command."""

    id: int
    url: str
    events: tuple[str, ...]
    secret: str


def check_url(url: str) -> str:
    """An http(s) URL with a host; plain http only to this machine (loopback), since the
    payloads carry customers' names and addresses."""
    url = clean(url, "url")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as exc:
        raise ValidationError(f"{url!r} is not a URL: {exc}", field="url") from None
    if parts.scheme not in ("http", "https") or not host or " " in url:
        raise ValidationError(f"{url!r} is not an http:// or https:// URL", field="url")
    if parts.scheme == "http" and not _loopback(host):
        raise ValidationError(f"{url!r}: use https:// (plain http is taken only for this "
                              "machine: 127.0.0.1, ::1, localhost)", field="url")
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    """The event types asked for, each known; "*" for all of them."""
    wanted = [e.strip() for e in events if e.strip()]
    if wanted == ["*"]:
        return EVENTS
    if not wanted:
        raise ValidationError(f"name the events to send: {', '.join(EVENTS)} (or *)",
                              field="events")
    unknown = [e for e in wanted if e not in EVENTS]
    if unknown:
        raise ValidationError(f"unknown event {unknown[0]!r}; events are: {', '.join(EVENTS)}",
                              field="events")
    return tuple(dict.fromkeys(wanted))


def add_endpoint(shop: Shop, actor: Actor, url: str, events: Sequence[str],
                 description: str = "") -> EndpointSecret:
    require(actor, "webhooks")
    url, chosen = check_url(url), check_events(events)
    description = clean(description, "description")
    secret = new_secret()
    with db.atomic():
        endpoint = WebhookEndpoint.create(url=url, events=",".join(chosen),
                                          description=description, secret=secret,
                                          created_by=actor.login)
    return EndpointSecret(endpoint.id, url, chosen, secret)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint #{endpoint_id} (see `backroom webhook list`)")
    return endpoint


def remove_endpoint(shop: Shop, actor: Actor, endpoint_id: int) -> int:
    """Remove an endpoint and its deliveries; how many of them had not gone yet."""
    require(actor, "webhooks")
    with db.atomic():
        _endpoint(endpoint_id)
        pending = WebhookDelivery.select().where(
            WebhookDelivery.endpoint == endpoint_id,
            WebhookDelivery.state.in_(("queued", "sending", "failed"))).count()
        WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint_id).execute()
    return int(pending)


def rotate_secret(shop: Shop, actor: Actor, endpoint_id: int) -> EndpointSecret:
    """A new secret; the old one goes on signing beside it (two signatures in each request)
    for webhooks.rotation_hours, while the receiver moves to the new one."""
    require(actor, "webhooks")
    hours = float(shop.config.get("webhooks", "rotation_hours"))
    with db.atomic():
        endpoint = _endpoint(endpoint_id)
        secret = new_secret()
        now = utcnow()
        WebhookEndpoint.update(secret=secret, previous_secret=endpoint.secret,
                               previous_until=now + dt.timedelta(hours=hours),
                               updated_at=now).where(
            WebhookEndpoint.id == endpoint_id).execute()
    return EndpointSecret(endpoint.id, endpoint.url, tuple(endpoint.events.split(",")), secret)


def enable_endpoint(shop: Shop, actor: Actor, endpoint_id: int) -> int:
    """Turn a disabled endpoint back on; its failed deliveries go again. How many."""
    require(actor, "webhooks")
    with db.atomic():
        endpoint = _endpoint(endpoint_id)
        if endpoint.active:
            raise Refused(f"webhook endpoint #{endpoint_id} is already enabled")
        return webhook_outbox.enable_endpoint_rows(endpoint_id)


def retry_now(shop: Shop, actor: Actor, endpoint_id: int | None = None) -> int:
    """Make the queued deliveries (of one endpoint) due now; how many."""
    require(actor, "webhooks")
    with db.atomic():
        if endpoint_id is not None:
            _endpoint(endpoint_id)
        return webhook_outbox.retry_now(endpoint_id)


def send_test(shop: Shop, actor: Actor, endpoint_id: int) -> int:
    """Queue a `webhook.test` event for one endpoint; the delivery's id."""
    require(actor, "webhooks")
    with db.atomic():
        endpoint = _endpoint(endpoint_id)
        if not endpoint.active:
            raise Refused(f"webhook endpoint #{endpoint_id} is disabled "
                          f"({endpoint.disabled_reason}); enable it first")
        key = uuid.uuid4().hex
        webhook_outbox.enqueue([Event(TEST_EVENT, key, {
            "message": "a test event from backroom", "shop": shop.config.get("shop", "name"),
            "endpoint_id": endpoint_id})], endpoints=[endpoint_id])
        delivery = WebhookDelivery.get(WebhookDelivery.message_id == f"msg_{key}_{endpoint_id}")
    return int(delivery.id)


def notice(shop: Shop) -> webhook_outbox.Notice:
    """Who is told that an endpoint was disabled: shop.admin_emails, else the shop itself."""
    admins = tuple(shop.config.get("shop", "admin_emails")) or (
        str(shop.config.get("shop", "email")),)
    return webhook_outbox.Notice(admins, shop.language)


# ----- event payloads ------------------------------------------------------------------------

SNAPSHOT_FIELDS = ("id", "code", "number", "status", "placed_at", "currency", "subtotal", "tax",
                   "shipping_cost", "discount", "total", "amount_paid", "amount_refunded",
                   "payment_method", "shipping_method", "tracking_number", "carrier",
                   "customer_id", "customer_name", "customer_email", "external_reference",
                   "is_test")


def when(value: dt.datetime | None) -> str | None:
    """A time in a payload: UTC, to the second, ISO 8601 with Z."""
    return value.strftime(TIME_FORMAT) if value is not None else None


def order_snapshot(order: Order | Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    """The order's fields every order event carries, as they are now (amounts in minor
    units beside the currency)."""
    get = order.get if isinstance(order, Mapping) else lambda k: getattr(order, k)
    data: dict[str, Any] = {name: get(name) for name in SNAPSHOT_FIELDS}
    data["placed_at"] = when(data["placed_at"])
    data["is_test"] = bool(data["is_test"])
    data.update(overrides)
    return data


def order_json(overrides: Mapping[str, str], extra: Mapping[str, str] | None = None) -> str:
    """SQL for `order_snapshot` of the row `o` (overrides: field -> SQL), plus extra keys."""
    pairs = []
    for name in SNAPSHOT_FIELDS:
        if name in overrides:
            expr = overrides[name]
        elif name == "placed_at":
            expr = _sql_time("o.placed_at")
        elif name == "is_test":
            expr = _sql_bool("o.is_test")
        else:
            expr = f"o.{name}"
        pairs.append(f"'{name}', {expr}")
    pairs += [f"'{key}', {expr}" for key, expr in (extra or {}).items()]
    if dbmod.is_sqlite():
        return f"json_object({', '.join(pairs)})"
    return f"CAST(json_build_object({', '.join(pairs)}) AS TEXT)"


def _sql_time(column: str) -> str:
    if dbmod.is_sqlite():
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column})"
    return f"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


def _sql_bool(expr: str) -> str:
    """A boolean column as a JSON true/false (SQLite stores 0/1)."""
    if dbmod.is_sqlite():
        return f"json(CASE WHEN {expr} THEN 'true' ELSE 'false' END)"
    return f"({expr})"


def sql_bool_literal(value: bool) -> str:
    return _sql_bool("1 = 1" if value else "1 = 0")


def _items(order_id: int) -> list[dict[str, Any]]:
    return [{"sku": i.sku, "name": i.name, "quantity": i.quantity, "unit_price": i.unit_price,
             "tax_rate_bp": i.tax_rate_bp}
            for i in OrderItem.select().where(OrderItem.order == order_id).order_by(OrderItem.id)]


def _addresses(order_id: int) -> dict[str, dict[str, str]]:
    from store.contact import ADDRESS_FIELDS

    return {a.kind: {f: getattr(a, f) for f in ADDRESS_FIELDS}
            for a in Address.select().where(Address.order == order_id).order_by(Address.id)}


# ----- what the services call, inside their transaction --------------------------------------

def order_placed(order_id: int, customer_note: str = "") -> int:
    """`order.placed`: the order as placed, with its items and addresses."""
    if not webhook_outbox.subscribers("order.placed"):
        return 0
    order = Order.get_by_id(order_id)
    data = order_snapshot(order, items=_items(order_id), addresses=_addresses(order_id),
                          customer_note=customer_note or order.customer_note)
    return webhook_outbox.enqueue([Event("order.placed", f"placed{order_id}", data,
                                         order_id=order_id, customer_id=order.customer_id)])


def order_refunded(order: Order, amount: int, full: bool, reason: str, status: str,
                   refund_key: str, actor: Actor) -> int:
    """`order.refunded`: the refund and the order as it stands after it."""
    if not webhook_outbox.subscribers("order.refunded"):
        return 0
    data = order_snapshot(order, status=status, refund={
        "amount": amount, "currency": order.currency, "full": full, "reason": reason,
        "by": actor.login, "at": when(utcnow())})
    return webhook_outbox.enqueue([Event("order.refunded", f"refund{refund_key}", data,
                                         order_id=order.id, customer_id=order.customer_id)])


def status_changed(order: Order, previous: str, actor: Actor, key: str) -> int:
    """`order.status_changed` for one order already written (a full refund's move)."""
    if not webhook_outbox.subscribers("order.status_changed"):
        return 0
    data = order_snapshot(order, previous_status=previous, changed_by=actor.login,
                          undo=False)
    return webhook_outbox.enqueue([Event("order.status_changed", key, data, order_id=order.id,
                                         customer_id=order.customer_id)])


def status_changed_select(rows: str, where: str, params: Mapping[str, Any], key: str,
                          overrides: Mapping[str, str], previous: str, login_param: str,
                          undo: bool) -> int:
    """`order.status_changed` for many orders at once (a status change, an undo), built from
    the orders `o` of `rows` by the database: `overrides` give the new values the change
    writes (status, tracking, amount paid), `previous` the SQL of the status left."""
    return webhook_outbox.enqueue_select(
        "order.status_changed", key,
        order_json(overrides, {"previous_status": previous,
                               "changed_by": f"CAST({login_param} AS TEXT)",
                               "undo": sql_bool_literal(undo)}),
        rows, where, params, order="o.id", customer="o.customer_id")


def customer_created(customer: Customer) -> int:
    """`customer.created`: the account as registered."""
    if not webhook_outbox.subscribers("customer.created"):
        return 0
    group = (CustomerGroup.get_or_none(CustomerGroup.id == customer.group_id)
             if customer.group_id else None)
    data = {"id": customer.id, "email": customer.email, "first_name": customer.first_name,
            "last_name": customer.last_name, "phone": customer.phone,
            "language": customer.language, "status": customer.status,
            "group": group.name if group else None,
            "marketing_consent": bool(customer.marketing_consent),
            "registered_at": when(customer.registered_at)}
    return webhook_outbox.enqueue([Event("customer.created", f"customer{customer.id}", data,
                                         customer_id=customer.id)])
