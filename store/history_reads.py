"""The shop log: every history event of the orders and the customers, newest first, in one
list (the log screen, `backroom log`), filtered by time, operator and kind of event.

Each table is read newest first on its own index (migration 0010: (created_at, id), and
(kind, created_at, id) for the orders' events), at most a page each, and the two are merged;
the cursor is the last row's (time, table, id), so a page on a shop of a million orders reads
about two pages of rows, wherever it is in the log. Nothing here writes."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import Tuple

from store.errors import ValidationError
from store.models import Customer, CustomerEvent, Order, OrderEvent, utcnow

SOURCES = ("customer", "order")  # their rank in the merged order (time, rank, id)
_AGO = re.compile(r"(\d{1,6})\s*([mhdw])", re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class LogFilter:
    """Events at or after `since`, by `operator` (a login), of kind `event` ("" = any)."""

    since: dt.datetime | None = None
    operator: str = ""
    event: str = ""

    def describe(self) -> str:
        parts = []
        if self.since is not None:
            parts.append(f"since {self.since:%Y-%m-%d %H:%M}")
        if self.operator:
            parts.append(f"by {self.operator}")
        if self.event:
            parts.append(f"event {self.event}")
        return ", ".join(parts) or "every event"


@dataclass(frozen=True)
class LogRow:
    """One line of the shop log: an event of an order or of a customer account."""

    source: str  # "order" or "customer"
    id: int  # the event's id in its own table
    at: dt.datetime
    operator: str
    kind: str
    message: str
    order_id: int | None
    order_code: str
    customer_id: int | None
    customer: str  # the customer's email ("" once erased)
    from_status: str = ""
    to_status: str = ""
    visible: bool = False

    def text(self, label: Callable[[str], str]) -> str:
        """What happened, as the log shows it: a status change by its statuses' labels
        ("Paid → Shipped", `label` being the workflow's), then its message."""
        if self.kind != "status":
            return self.message
        moved = f"{label(self.from_status)} → {label(self.to_status)}"
        return f"{moved}  {self.message}" if self.message else moved


@dataclass(frozen=True)
class LogPage:
    rows: tuple[LogRow, ...]
    next_cursor: str | None  # opaque; None at the end


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """A moment as an operator writes it: 2026-11-05, 2026-11-05 14:30, today, yesterday, or
    a time ago: 30m, 12h, 7d, 2w (UTC, like every time the shop stores)."""
    now = now or utcnow()
    value = text.strip().lower()
    today = dt.datetime.combine(now.date(), dt.time())
    if value == "today":
        return today
    if value == "yesterday":
        return today - dt.timedelta(days=1)
    ago = _AGO.fullmatch(value)
    if ago:
        return now - dt.timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return dt.datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise ValidationError(f"since {text!r}: give a date like 2026-11-05 (or 2026-11-05 14:30), "
                          "today, yesterday, or a time ago like 30m, 12h, 7d, 2w",
                          field="since")


def event_kind(text: str) -> str:
    """A kind of event as typed ("mail withdrawn", "Refund") as it is stored."""
    return "_".join(text.strip().lower().replace("-", " ").split())


def parse_log_filter(text: str, now: dt.datetime | None = None) -> LogFilter:
    """The log screen's filter box: `since:7d operator:ada event:refund` (any of them; a
    word without a name is an operator's login)."""
    since: dt.datetime | None = None
    operator = kind = ""
    for word in text.split():
        name, colon, value = word.partition(":")
        name = name.lower() if colon else ""
        if name == "since":
            since = parse_since(value, now)
        elif name in ("operator", "by"):
            operator = value.strip()
        elif name in ("event", "kind"):
            kind = event_kind(value)
        elif not colon:
            operator = word
        else:
            raise ValidationError(f"unknown filter {name!r}: use since:7d, operator:LOGIN or "
                                  "event:KIND", field="filter")
    return LogFilter(since, operator, kind)


def _encode(row: LogRow) -> str:
    raw = json.dumps([row.at.isoformat(), SOURCES.index(row.source), row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[dt.datetime, int, int]:
    try:
        at, rank, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return dt.datetime.fromisoformat(at), int(rank), int(event_id)
    except (ValueError, TypeError, binascii.Error):
        raise ValidationError("that page position is not valid; start from the first page",
                              field="cursor") from None


def _after(table: Any, rank: int, cursor: tuple[dt.datetime, int, int]) -> Any:
    """This table's rows that come after the cursor, newest first by (time, table, id)."""
    at, cursor_rank, event_id = cursor
    if rank > cursor_rank:
        return table.created_at < at
    if rank < cursor_rank:
        return table.created_at <= at
    return Tuple(table.created_at, table.id) < Tuple(at, event_id)


def _read(table: Any, rank: int, f: LogFilter, cursor: tuple[dt.datetime, int, int] | None,
          limit: int) -> list[Any]:
    columns = [table.id, table.created_at, table.operator_login, table.kind, table.message,
               table.customer if table is CustomerEvent else table.order]
    if table is OrderEvent:
        columns += [table.from_status, table.to_status, table.visible]
    query = table.select(*columns)
    if f.since is not None:
        query = query.where(table.created_at >= f.since)
    if f.operator:
        query = query.where(table.operator_login == f.operator)
    if f.event:
        query = query.where(table.kind == f.event)
    if cursor is not None:
        query = query.where(_after(table, rank, cursor))
    return list(query.order_by(table.created_at.desc(), table.id.desc()).limit(limit).tuples())


def shop_log(f: LogFilter | None = None, cursor: str | None = None,
             limit: int = 100) -> LogPage:
    """A page of the shop log, newest first."""
    f = f or LogFilter()
    if limit < 1:
        raise ValidationError("a page holds at least one event", field="limit")
    after = _decode(cursor) if cursor else None
    merged: list[tuple[tuple[dt.datetime, int, int], str, Any]] = []
    for rank, (source, table) in enumerate((("customer", CustomerEvent),
                                            ("order", OrderEvent))):
        for values in _read(table, rank, f, after, limit + 1):
            at = values[1] if isinstance(values[1], dt.datetime) else dt.datetime.fromisoformat(
                str(values[1]))
            merged.append(((at, rank, int(values[0])), source, values))
    merged.sort(key=lambda item: item[0], reverse=True)
    page = merged[:limit]
    order_ids = {v[5] for _k, s, v in page if s == "order" and v[5] is not None}
    orders: dict[int, tuple[str, int | None]] = {}
    if order_ids:
        found: Any = Order.select(Order.id, Order.code, Order.customer).where(
            Order.id.in_(list(order_ids))).tuples()
        orders = {int(i): (str(c), cid) for i, c, cid in found}
    customer_ids = {v[5] for _k, s, v in page if s == "customer"}
    customer_ids |= {cid for _code, cid in orders.values() if cid is not None}
    emails: dict[int, str] = {}
    if customer_ids:
        found = Customer.select(Customer.id, Customer.email).where(
            Customer.id.in_(list(customer_ids))).tuples()
        emails = {int(i): str(e or "") for i, e in found}
    rows = []
    for (at, _rank, event_id), source, v in page:
        if source == "order":
            code, customer_id = orders.get(v[5], ("", None))
            rows.append(LogRow("order", event_id, at, v[2], v[3], v[4], v[5], code, customer_id,
                               emails.get(customer_id or 0, ""), v[6], v[7], bool(v[8])))
        else:
            rows.append(LogRow("customer", event_id, at, v[2], v[3], v[4], None, "", v[5],
                               emails.get(v[5], "")))
    more = len(merged) > limit
    return LogPage(tuple(rows), _encode(rows[-1]) if more and rows else None)
