"""Read side of the order queue: filters, keyset pages, status counts, and one order's detail.

Every function returns frozen dataclasses; nothing here writes. Pages walk composite indexes
(migration 0002) with keyset cursors, never OFFSET, so page 4,000 costs what page 1 costs."""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from peewee import SQL, ColumnBase, Expression, NodeList, Tuple, fn

from store import db as dbmod
from store import search
from store.contact import ADDRESS_FIELDS
from store.errors import BackroomError, NotFound, ValidationError
from store.filter_syntax import Token, parse, refuse
from store.models import (
    MAX_INT,
    Address,
    Invoice,
    Order,
    OrderEvent,
    OrderItem,
    OrderLabel,
    Outbox,
    Payment,
    db,
    mail_shown_state,
    shown_state,
    utcnow,
)
from store.rules import delete_refusal, payment_cap, refund_cap
from store.search import order_matches
from store.sql import id_value
from store.workflow import Workflow

SORTS = ("placed", "total", "status", "code")


# ----- what the queue asks and shows ---------------------------------------------------------

@dataclass(frozen=True)
class QueueFilter:
    """What the operator asked the queue for; the default is every current order, newest first."""

    statuses: tuple[str, ...] = ()
    archived: bool = False
    show_test: bool = True  # False: real orders only (test:no)
    only_test: bool = False  # True: test orders only (test:only, test:yes)
    placed_from: dt.datetime | None = None
    placed_to: dt.datetime | None = None  # exclusive
    customer_id: int | None = None
    product: str = ""
    payment_method: str = ""
    text: str = ""
    sort: str = "placed"
    descending: bool = True


class OrderRow(NamedTuple):
    """One line of the queue: immutable like the frozen dataclasses, but a tuple, since a page
    builds a hundred of them and a frozen dataclass takes five times as long to make."""

    id: int
    code: str
    placed_at: dt.datetime
    customer_name: str
    customer_email: str
    item_count: int
    total: int
    currency: str
    status: str
    mail_state: str  # '' when no mail; else the latest outbox row's state (or 'held')
    version: int
    archived: bool
    is_test: bool


@dataclass(frozen=True)
class Page:
    """Rows of one page and the opaque cursors to the pages beside it (None at either end)."""

    rows: tuple[OrderRow, ...]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True)
class ItemRow:
    sku: str
    name: str
    quantity: int
    unit_price: int
    tax_rate_bp: int
    line_total: int


@dataclass(frozen=True)
class PaymentRow:
    kind: str
    amount: int
    method: str
    reference: str
    reason: str
    operator_login: str
    created_at: dt.datetime


@dataclass(frozen=True)
class AddressRow:
    first_name: str
    last_name: str
    company: str
    line1: str
    line2: str
    postcode: str
    city: str
    region: str
    country: str
    phone: str


@dataclass(frozen=True)
class EventRow:
    id: int
    kind: str
    from_status: str
    to_status: str
    message: str
    data: dict[str, Any]
    operator_login: str
    visible: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class MailRow:
    id: int
    kind: str
    recipient: str
    state: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    hold_until: dt.datetime | None
    batch: str | None = None  # set on a status mail (the change that queued it)
    subject: str = ""  # as sent; empty until the worker renders it

    @property
    def status_mail(self) -> bool:
        return self.batch is not None


@dataclass(frozen=True)
class OrderDetail:
    """Everything the order detail screen shows, read in one go."""

    id: int
    code: str
    number: int
    status: str
    currency: str
    subtotal: int
    tax: int
    shipping_cost: int
    discount: int
    total: int
    amount_paid: int
    amount_refunded: int
    refundable: int  # what a refund may still give back (store.rules)
    delete_refusal: str  # why the order may not be deleted; '' when it may
    payment_method: str
    payment_reference: str
    shipping_method: str
    tracking_number: str
    carrier: str
    internal_reference: str
    customer_note: str
    customer_id: int | None
    customer_name: str
    customer_email: str
    customer_phone: str
    language: str
    placed_at: dt.datetime
    archived: bool
    is_test: bool
    version: int
    updated_by: str
    items: tuple[ItemRow, ...] = ()
    # an imported order's name where it came from ("#1001") and that shop ("shopify")
    external_reference: str = ""
    external_source: str = ""
    payments: tuple[PaymentRow, ...] = ()
    addresses: dict[str, AddressRow] = field(default_factory=dict)
    events: tuple[EventRow, ...] = ()
    mails: tuple[MailRow, ...] = ()
    gift_message: str = ""
    label: str = ""  # the carrier label attached: "label.pdf, 1 page", or ""
    documents: tuple[str, ...] = ()  # its invoice and credit notes, by number, as issued
    payable: int = 0  # what a payment may still bring in (store.rules.payment_cap)
    replaces: str = ""  # the code of the order this one replaces (a lost parcel's)
    replaced_by: tuple[str, ...] = ()  # the codes of the replacements of this order


# ----- filter syntax -------------------------------------------------------------------------

_YES = {"yes", "y", "true", "1", "on"}
_NO = {"no", "n", "false", "0", "off"}
_ONLY = {"only", *_YES}
_BOTH = {"all", "both", "any"}
_DAYS_AGO = re.compile(r"(\d{1,5})d", re.ASCII)


def _bool(token: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise refuse(token, "say yes or no")


def _day(token: str, value: str) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) of a day (2026-11-05), a month (2026-11), today, yesterday or a number
    of days ago (30d). A day whose end is past what a date holds (9999-12-31 has no day after
    it) is refused."""
    today = dt.datetime.combine(utcnow().date(), dt.time())
    lowered = value.strip().lower()
    if lowered == "today":
        return today, today + dt.timedelta(days=1)
    if lowered == "yesterday":
        return today - dt.timedelta(days=1), today
    ago = _DAYS_AGO.fullmatch(lowered)
    if ago:
        start = today - dt.timedelta(days=int(ago.group(1)))
        return start, start + dt.timedelta(days=1)
    try:
        if re.fullmatch(r"\d{4}-\d{2}", lowered, re.ASCII):
            start = dt.datetime.strptime(lowered, "%Y-%m")
            return start, _after(token, start.replace(day=28), 4).replace(day=1)
        if not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", lowered, re.ASCII):
            raise ValueError(lowered)
        start = dt.datetime.strptime(lowered, "%Y-%m-%d")
    except ValueError:
        raise refuse(token, "give a date like 2026-11-05, a month like 2026-11, today, "
                     "yesterday or a number of days ago like 30d", "placed") from None
    return start, _after(token, start, 1)


def _after(token: str, day: dt.datetime, days: int) -> dt.datetime:
    """`days` after `day`; refused past the last day a date holds (9999-12-31)."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        raise refuse(token, "dates end at 9999-12-31, and a day is searched up to the next "
                     "one; give an earlier date", "placed") from None


def _status(token: str, value: str, f: QueueFilter, workflow: Workflow) -> QueueFilter:
    try:
        keys = tuple(dict.fromkeys(workflow.resolve(v) for v in value.split(",") if v))
    except BackroomError as exc:
        raise refuse(token, str(exc), "status") from None
    return replace(f, statuses=keys)


def _placed(token: str, value: str, f: QueueFilter, _workflow: Any = None) -> QueueFilter:
    """placed:>D, >=D (from the start of D), <D (before D), <=D (through D), D, D..D."""
    if ".." in value:
        first, last = value.split("..", 1)
        return replace(f, placed_from=_day(token, first)[0], placed_to=_day(token, last)[1])
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            start, end = _day(token, value[len(op):])
            if op.startswith(">"):
                return replace(f, placed_from=start)
            return replace(f, placed_to=end if op == "<=" else start)
    start, end = _day(token, value)
    return replace(f, placed_from=start, placed_to=end)


def _customer(token: str, value: str, f: QueueFilter, _workflow: Any = None) -> QueueFilter:
    if not re.fullmatch(r"[0-9]{1,19}", value) or int(value) > MAX_INT:
        raise refuse(token, "give the customer's number, like customer:12", "customer")
    return replace(f, customer_id=int(value))


def _test(token: str, value: str, f: QueueFilter, _workflow: Any = None) -> QueueFilter:
    """test:only (or yes) shows test orders alone, test:no none of them, test:all both (as
    with no token)."""
    lowered = value.strip().lower()
    if lowered in _ONLY:
        return replace(f, show_test=True, only_test=True)
    if lowered in _NO:
        return replace(f, show_test=False, only_test=False)
    if lowered in _BOTH:
        return replace(f, show_test=True, only_test=False)
    raise refuse(token, "say test:only, test:no or test:all", "test")


def _sort(token: str, value: str, f: QueueFilter, _workflow: Any = None) -> QueueFilter:
    name = value.lstrip("-+").lower()
    if name not in SORTS:
        raise refuse(token, f"sort by {', '.join(SORTS)}", "sort")
    return replace(f, sort=name, descending=value.startswith("-"))


ORDER_WORDS = ("free words must all match (as parts of the code, customer name, email or "
               "phone, product name or SKU, tracking number or reference), accents and case "
               "aside")
ORDER_TOKENS: tuple[Token[QueueFilter], ...] = (
    Token("status", "status:paid,shipped",
          "in these statuses (key, label or hotkey; commas between several)", _status),
    Token("placed", "placed:<30d",
          "placed before 30 days ago; also >, >=, <=, a day (2026-11-05), a month (2026-11), "
          "today, yesterday, 2026-11-01..2026-11-15", _placed),
    Token("sku", "sku:MUG", "has an item whose SKU or name contains it",
          lambda token, value, f, _wf: replace(f, product=value), aliases=("product",)),
    Token("pay", "pay:wire", "paid with this payment method",
          lambda token, value, f, _wf: replace(f, payment_method=value)),
    Token("customer", "customer:12", "placed by the customer with this number", _customer),
    Token("archived", "archived:yes", "archived orders instead of current ones",
          lambda token, value, f, _wf: replace(f, archived=_bool(token, value))),
    Token("test", "test:only", "test orders alone (test:no real ones alone, test:all both)",
          _test),
    Token("sort", "sort:-total",
          f"sort by {', '.join(SORTS)} (a - before it: highest or newest first)", _sort),
)


def parse_filter(text: str, workflow: Workflow, base: QueueFilter | None = None) -> QueueFilter:
    """A QueueFilter from what the operator typed: free words plus the name:value tokens of
    ORDER_TOKENS (store.filter_syntax). A word whose part before the colon is not a token's
    name (http://x, 10:30) is searched as text; a token it cannot read is refused by name."""
    f, words = parse(text, ORDER_TOKENS, base or QueueFilter(), workflow)
    return replace(f, text=words)


def status_token(text: str, workflow: Workflow) -> tuple[str, ...]:
    """The statuses a `status:` token of `text` names (none without one): the tabs' counts
    follow it."""
    return parse_filter(text, workflow).statuses


# ----- the queue query -----------------------------------------------------------------------

def _sort_columns(sort: str) -> tuple[ColumnBase, ...]:
    if sort == "placed":
        return (Order.placed_at, Order.id)
    if sort == "total":
        return (Order.total, Order.id)
    if sort == "status":
        return (Order.status, Order.placed_at, Order.id)
    if sort == "code":
        return (Order.number, Order.id)
    raise ValidationError(f"unknown sort {sort!r}; sort by {', '.join(SORTS)}")


def _order_by(columns: Sequence[Any], ascending: bool) -> list[Any]:
    """A queue page's ORDER BY. On PostgreSQL it leads with `archived`, which every queue
    filter fixes, so only the queue's indexes (archived, sort key, id) give the order: with
    the sort key alone, the planner took the placed_at index and read past every current
    order to reach the archived ones (the Archived tab: 12-80 ms on 200,000 orders, where its
    index answers in 0.05 ms), as its costs assume archived orders are spread evenly."""
    lead = () if dbmod.is_sqlite() else (Order.archived,)
    return [c.asc() if ascending else c.desc() for c in (*lead, *columns)]


def _conditions(f: QueueFilter, with_statuses: bool = True, way: str = "index",
                bound: Any = None, slotted: bool = False, product_few: int = 0,
                counting: bool = False) -> list[Expression]:
    """The filter's conditions; `counting` for the tabs' counts, which alone read the
    payment method's index (migration 0019): both planners took it for pages too and sorted
    every order paid that way (`pay:wire`: 56-77 ms a page on a million orders on SQLite, 18
    ms on 200,000 on PostgreSQL, where walking the queue's index finds one in 1.5-2.5 ms), so
    elsewhere the method is compared as an expression the index does not hold. Not beside
    words on PostgreSQL: that expression has no statistics, and its planner, guessing a
    method 1 in 200 orders use, read every order and checked each one's text (`pay:wire
    dubois` 188 ms a page on 200,000 orders; with the index's expression it walks the queue,
    70 ms; `pay:card j` 203 to 48 ms, `pay:nothing example` 102 to 9)."""
    conds: list[Any] = [Order.archived == f.archived]
    if with_statuses and f.statuses:
        conds.append(Order.status == f.statuses[0] if len(f.statuses) == 1
                     else Order.status.in_(list(f.statuses)))
    if f.only_test:  # the column alone, as the test orders' partial index is written
        conds.append(Order.is_test)
    elif not f.show_test:
        conds.append(Order.is_test == False)  # noqa: E712
    if f.placed_from is not None:
        conds.append(Order.placed_at >= f.placed_from)
    if f.placed_to is not None:
        conds.append(Order.placed_at < f.placed_to)
    if f.customer_id is not None:
        conds.append(Order.customer == f.customer_id)
    if f.payment_method.strip():
        method: Any = fn.LOWER(Order.payment_method)
        if not counting and not (f.text.strip() and not dbmod.is_sqlite()):
            method = NodeList((method, SQL("|| ''")))  # (see the docstring)
        conds.append(method == f.payment_method.strip().lower())
    if f.product.strip():
        conds.append(search.product_matches(f.product, product_few or search.product_page_few()))
    if f.text.strip():
        conds.append(order_matches(f.text, way, bound, slotted))
    return conds


def filter_conditions(f: QueueFilter, both_archived: bool = False) -> list[Expression]:
    """The conditions of a filter, for another read that selects by it (an export); with
    `both_archived`, archived and current orders alike."""
    conds = _conditions(f)
    return conds[1:] if both_archived else conds


def _may_walk(f: QueueFilter, limit: int | None) -> bool:
    """Whether a page of this filter may walk its sort index checking each row's text, when
    the words are common (SQLite). Beside a product, payment or date condition only in placed
    or code order, whose walk is budgeted and walks on while what it found says the rest is
    near (_probed, _walked_on), else the word's index answers: that index alone read every
    match of a common word (`pay:card example` 845 ms a page on a million orders, 1 ms
    walked; `pay:wire dubois` 94 to 9 ms). Other orders walk unbudgeted, and a customer's
    orders are read from the customer's index (_customer_walk)."""
    if limit is None or not dbmod.is_sqlite() or not search.trigram_words(f.text):
        return False
    if not _narrowed(f):
        return True
    return f.customer_id is None and f.sort in ("placed", "code")


CUSTOMER_WALK = 2000  # a customer with fewer orders has each one's text checked (about 1 us)


def _customer_walk(f: QueueFilter) -> bool:
    """Whether the filter names a customer with fewer than CUSTOMER_WALK orders, whose text
    is then checked order by order, read from the customer's index: the word's trigram
    matches were all read to find the few that are theirs (`customer:12 example`, the
    profile's orders filtered: 1.1 s a page and 0.8 s the counts on a million orders on
    SQLite; 15-35 ms a page on 200,000 on PostgreSQL). Counted up to the cap from the
    customer's index (a few microseconds)."""
    if f.customer_id is None or not search.trigram_words(f.text):
        return False
    (orders,) = db.execute_sql("SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE customer_id = "
                               f"{'?' if dbmod.is_sqlite() else '%s'} LIMIT {CUSTOMER_WALK}) "
                               "AS theirs", (f.customer_id,)).fetchone()
    return int(orders) < CUSTOMER_WALK


def _indexed_by(sql: str, index: str) -> str:
    """A statement of the queue's reading orders through `index`, named for SQLite's planner
    (peewee names no index: this edits its FROM; should that read otherwise, the planner
    chooses, and the plan tests of the callers say so)."""
    return sql.replace('FROM "orders" AS "t1"', f'FROM "orders" AS "t1" INDEXED BY {index}', 1)


def _customer_index(sql: str) -> str:
    """A statement checking a customer's orders one by one (_customer_walk) reads them from
    the customer's index, on SQLite named: sorted by total, its planner walked the queue's
    total index checking each order's customer (550 ms on a million orders, where this is
    1 ms). (peewee names no index; should its FROM read otherwise, the planner chooses.)"""
    if not dbmod.is_sqlite():
        return sql
    return _indexed_by(sql, "orders_customer_placed")


def _narrowed(f: QueueFilter) -> bool:
    """Whether something besides the text narrows the filter much: a customer, product,
    payment or date condition could leave a walk of the sort index long."""
    return bool(f.customer_id is not None or f.product.strip() or f.payment_method.strip()
                or f.placed_from is not None or f.placed_to is not None)


# The mails the queue's Mail column shows: the customer's, sent or still due. A withdrawn
# one (an undo's, a deleted order's) never went and will not go, so it never hides the one
# that did; the shop's own new-order notice is not the customer's mail.
SHOWN_MAIL_STATES = ("queued", "sending", "sent", "failed", "dead")
MERCHANT_MAIL_KINDS = ("merchant_new_order",)


def _mail_state(now: Any) -> Any:
    latest = Outbox.alias("latest")
    return (latest.select(mail_shown_state(latest, now))
            .where(latest.order == Order.id, latest.state.in_(SHOWN_MAIL_STATES),
                   latest.kind.not_in(MERCHANT_MAIL_KINDS))
            .order_by(latest.id.desc()).limit(1))


_ROW_COLUMNS = (Order.id, Order.code, Order.placed_at, Order.customer_name, Order.customer_email,
                Order.item_count, Order.total, Order.currency, Order.status)


def _row(values: Sequence[Any]) -> OrderRow:
    (oid, code, placed, name, email, count, total, currency, status, mail, version, archived,
     is_test) = values[:13]
    if isinstance(placed, str):
        placed = dt.datetime.fromisoformat(placed)
    return OrderRow(oid, code, placed, name, email, count, total, currency, status, mail or "",
                    version, bool(archived), bool(is_test))


def _key_values(sort: str, row: OrderRow, number: int | None = None) -> list[Any]:
    if sort == "placed":
        return [row.placed_at.isoformat(), row.id]
    if sort == "total":
        return [row.total, row.id]
    if sort == "status":
        return [row.status, row.placed_at.isoformat(), row.id]
    return [number, row.id]


def _encode(f: QueueFilter, key: list[Any]) -> str:
    raw = json.dumps({"s": f.sort, "d": f.descending, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(f: QueueFilter, cursor: str) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        sort, descending, key = raw["s"], raw["d"], list(raw["k"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ValidationError(
            "that page position is not valid; start from the first page") from None
    if sort != f.sort or descending != f.descending:
        raise ValidationError("that page position belongs to another sort order; "
                              "start from the first page")
    columns = _sort_columns(sort)
    if len(key) != len(columns):
        raise ValidationError("that page position is not valid; start from the first page")
    return [dt.datetime.fromisoformat(v) if c is Order.placed_at else v
            for c, v in zip(columns, key, strict=True)]


class _Slot:
    """A placeholder value: where it lands in a compiled query's params, a fresh value goes."""

    def __init__(self, index: int) -> None:
        self.index = index


_COMPILED: dict[tuple[Any, ...], tuple[str, list[Any], list[tuple[int, int | str]]]] = {}


def _compiled(f: QueueFilter, keyed: bool, forward: bool, limit: int | None,
              way: str = "index") -> tuple[str, list[Any], list[tuple[int, int | str]]]:
    """The queue query's SQL for one filter shape, built by peewee once and then reused: query
    building costs more than running the query on an index (and every keystroke is a new
    text: the words are slots too, so only a new shape of text builds SQL). Returns the SQL,
    its params, and which params are slots to fill on each call (0: now, 1..: the cursor
    key, 101..: a walk's last key, -1: a bound; names: the words' values, from
    search.slot_values, and the ids a probe found). The "hits" way adds a last column: how
    many matches the bounded CTE holds."""
    text_shape = search.shape(f.text)
    cache_key = (replace(f, text="") if text_shape else f, text_shape, keyed, forward, limit,
                 dbmod.is_sqlite(), way)
    found = _COMPILED.get(cache_key)
    if found is not None:
        return found
    if way == "matched":
        sql, params = _matched_sql(f, keyed, forward, limit or 0)
    else:
        sql, params = _queue_sql(f, keyed, forward, limit, way)
    sql = _test_orders_index(f, sql)
    if way == "walk" and f.customer_id is not None:
        sql = _customer_index(sql)
    positions: list[tuple[int, int | str]] = [
        (i, p.index if isinstance(p, _Slot) else p.name) for i, p in enumerate(params)
        if isinstance(p, _Slot | search.Slot)]
    if len(_COMPILED) > 500:
        _COMPILED.clear()
    _COMPILED[cache_key] = (sql, list(params), positions)
    return sql, list(params), positions


def _queue_sql(f: QueueFilter, keyed: bool, forward: bool, limit: int | None,
               way: str) -> tuple[str, list[Any]]:
    """The SQL of one way to a page (see _compiled), and its params."""
    text_shape = search.shape(f.text)
    columns = _sort_columns(f.sort)
    ascending = f.descending != forward  # walking a descending list forward means "smaller"
    if way == "boundary":  # the key of the row `bound` rows on, text aside: the index alone
        where = _conditions(replace(f, text=""))
    else:
        where = _conditions(f, way="walk" if way == "walk_to" else way, bound=_Slot(-1),
                            slotted=text_shape is not None)
    if keyed:
        slots = Tuple(*[_Slot(i + 1) for i in range(len(columns))])
        where.append(Tuple(*columns) > slots if ascending else Tuple(*columns) < slots)
    if way == "walk_to":  # a walk that stops at a row's key (inclusive): slots 101..
        until = Tuple(*[_Slot(101 + i) for i in range(len(columns))])
        where.append(Tuple(*columns) <= until if ascending else Tuple(*columns) >= until)
    order = _order_by(columns, ascending)
    if way == "boundary":
        query = (Order.select(*columns).where(*where).order_by(*order).limit(1)
                 .offset(_Slot(-1)))
    else:
        query = (Order.select(*_ROW_COLUMNS, _mail_state(_Slot(0)), Order.version,
                              Order.archived, Order.is_test, Order.number)
                 .where(*where).order_by(*order))
        if limit is not None:
            query = query.limit(limit)
    sql, params = query.sql()
    if way == "hits":  # the page beside the count of hits; one row of NULLs when it is empty
        sql, params = _with_hits(f, columns, ascending, sql, params)
    return sql, list(params)


def _key_after(columns: Sequence[Any], ascending: bool, key: Any) -> Expression:
    """The rows after `key` (a row of values, or SQL giving one) in the walking direction."""
    return Tuple(*columns) > key if ascending else Tuple(*columns) < key


def _matched_sql(f: QueueFilter, keyed: bool, forward: bool,
                 limit: int) -> tuple[str, list[Any]]:
    """PostgreSQL's page of a common word's search in one statement (see _matched). The
    CTEs, which PostgreSQL reads only as far as asked: order_hits, every trigram match;
    order_span, the keys of the next `budget` rows of the sort index (slot -2), and
    order_edge, the last of them; order_walked, the matches the sort index holds up to the
    edge (a walk that stops at a page: the edge bounds the index's range). When it found
    too few to go on walking (sparse; slot -3: PG_WALK_ON times the bound), order_counted
    is how many matches there are up to the bound (slot -1), and order_few all of them
    when fewer, or order_rest the page from every match past the edge, read on from where
    the count stopped. The page adds three columns: the count, whether the span was full
    (rows are left past the edge), and whether the walk was sparse."""
    columns = _sort_columns(f.sort)
    ascending = f.descending != forward
    base = _conditions(replace(f, text=""))
    if keyed:
        base.append(_key_after(columns, ascending, Tuple(*[_Slot(i + 1)
                                                          for i in range(len(columns))])))
    order = _order_by(columns, ascending)
    long_words, short_words = search.shape(f.text) or (0, 0)
    likes = [search.Slot(f"like{i}") for i in range(long_words + short_words)]
    span_sql = (Order.select(*columns).where(*base).order_by(*order).limit(_Slot(-2))).sql()
    names = [getattr(c, "column_name") for c in columns]  # noqa: B009 (Fields, typed wider)
    back = "DESC" if ascending else "ASC"
    last = ", ".join(f'"{n}" {back}' for n in names)
    edge = SQL("(SELECT * FROM order_edge)")
    up_to = Tuple(*columns) <= edge if ascending else Tuple(*columns) >= edge
    walked = (Order.select(Order.id).where(*base, up_to, search.row_check(likes))
              .order_by(*order).limit(limit)).sql()
    # sparse: the walk found too few to go on walking (slot -3: PG_WALK_ON times the bound)
    sparse = (f"(SELECT COUNT(*) FROM order_walked) < {int(limit)} AND ({int(limit)} - (SELECT "
              "COUNT(*) FROM order_walked)) * %s > %s * (SELECT COUNT(*) FROM order_walked)")
    full = "(SELECT COUNT(*) FROM order_span) = %s"
    rest = (Order.select(Order.id).where(*base, Order.id.in_(SQL("(SELECT id FROM order_hits)")),
                                         SQL(f"{sparse} AND (SELECT n FROM order_counted) >= %s "
                                             f"AND {full}",
                                             [_Slot(-2), _Slot(-3), _Slot(-1), _Slot(-2)]),
                                         _key_after(columns, ascending, edge))
            .order_by(*order).limit(limit)).sql()
    page = (Order.select(*_ROW_COLUMNS, _mail_state(_Slot(0)), Order.version, Order.archived,
                         Order.is_test, Order.number, SQL("(SELECT n FROM order_counted)"),
                         SQL(full, [_Slot(-2)]),
                         SQL(f"({sparse})", [_Slot(-2), _Slot(-3)]))
            .where(*base, Order.id.in_(SQL("(SELECT id FROM order_few UNION ALL SELECT id FROM "
                                           "order_walked UNION ALL SELECT id FROM order_rest)")))
            .order_by(*order).limit(limit)).sql()
    sql = (search.hits_cte(long_words, bounded=False, short=short_words)
           + f", order_span AS MATERIALIZED ({span_sql[0]}), order_edge AS MATERIALIZED "
           f"(SELECT * FROM order_span ORDER BY {last} LIMIT 1), "
           f"order_walked AS MATERIALIZED ({walked[0]}), "
           "order_counted AS MATERIALIZED (SELECT COUNT(*) AS n FROM (SELECT 1 FROM order_hits "
           f"WHERE {sparse} LIMIT %s) AS b), "
           f"order_rest AS MATERIALIZED ({rest[0]}), "
           f"order_few AS MATERIALIZED (SELECT id FROM order_hits WHERE {sparse} AND (SELECT n "
           f"FROM order_counted) < %s) {page[0]}")
    sparse_params = [_Slot(-2), _Slot(-3)]
    params = [*likes, *span_sql[1], *walked[1], *sparse_params, _Slot(-1),
              *rest[1], *sparse_params, _Slot(-1), *page[1]]
    return sql, params



def _with_hits(f: QueueFilter, columns: Sequence[Any], ascending: bool, sql: str,
               params: list[Any]) -> tuple[str, list[Any]]:
    """A page query of the "hits" way inside the order_hits CTE (search.hits_cte): the
    page beside how many matches the CTE holds, one row of NULLs for an empty page."""
    names = [getattr(c, "column_name") for c in columns]  # noqa: B009 (Fields, typed wider)
    resort = ", ".join(f'page."{n}" {"ASC" if ascending else "DESC"}' for n in names)
    words = search.trigram_words(f.text)
    sql = (f"{search.hits_cte(len(words))}SELECT page.*, hits.n FROM (SELECT COUNT(*) AS n "
           f"FROM order_hits) AS hits LEFT JOIN ({sql}) AS page ON 1 = 1 ORDER BY {resort}")
    slotted = search.shape(f.text) is not None
    if dbmod.is_sqlite():
        match = [search.Slot("fts") if slotted else search.fts_query(words)]
    else:
        values = search.slot_values(f.text)
        match = [search.Slot(f"like{i}") if slotted else values[f"like{i}"]
                 for i in range(len(words))]
    return sql, [*match, _Slot(-1), *params]


def _select(f: QueueFilter, key: list[Any] | None, forward: bool,
            limit: int | None) -> list[tuple[OrderRow, int]]:
    """Rows after (forward) or before `key` in the filter's order, nearest first.

    A text search first takes at most PROBE matches from the trigram index (it stops there):
    fewer are all the word's matches, and the page is read from their ids (a rare word, or
    none). A common word on SQLite may walk the sort index instead (see _probed and
    store.search); on PostgreSQL see _matched."""
    first: list[int] = []
    if limit is not None and _short_text(f):
        few = search.short_matches(f.text)
        if few is None:  # common: a walk of the sort index finds a page soon
            if _narrowed(f) or not dbmod.is_sqlite():  # PostgreSQL's planner chooses
                return [(_row(row), row[13]) for row in _run(f, key, forward, limit, "index", 0)]
            return [(_row(row), row[13]) for row in _run(f, key, forward, limit, "walk", 0)]
        if not few:
            return []
        return [(_row(row), row[13]) for row in _run(f, key, forward, limit, "ids", 0,
                                                      ids=few)]
    if limit is not None and _customer_walk(f):
        return [(_row(row), row[13]) for row in _run(f, key, forward, limit, "walk", 0)]
    if limit is not None and search.trigram_words(f.text):
        first = search.first_matches(f.text, search.PROBE)
        if not first:
            return []
        if len(first) < search.PROBE:
            return [(_row(row), row[13]) for row in _run(f, key, forward, limit, "ids", 0,
                                                          ids=first)]
        if not dbmod.is_sqlite():
            return [(_row(row), row[13]) for row in _matched(f, key, forward, limit, first)]
    if not _may_walk(f, limit):
        return [(_row(row), row[13]) for row in _run(f, key, forward, limit, "index", 0)]
    if f.sort in ("placed", "code"):
        return [(_row(row), row[13]) for row in _probed(f, key, forward, limit or 0, first)]
    bound = search.walk_threshold(limit or 0)
    found = _run(f, key, forward, limit, "hits", bound)
    if found[0][14] >= bound:
        found = _run(f, key, forward, limit, "walk", 0)
    elif found[0][0] is None:
        found = []
    return [(_row(row), row[13]) for row in found]


# the rest of a page after a walk: (its last row's key, rows still needed, rows it found,
# the budget it walked)
Rest = Callable[[list[Any] | None, int, int, int], list[Any]]
WALK_CAP = 60000  # rows a walk may read (about 0.3 us each) before the index is cheaper
WALK_MARGIN = 3  # a walk may read this many times the rows the probe expects


def _probed(f: QueueFilter, key: list[Any] | None, forward: bool, limit: int,
            first: Sequence[int] = ()) -> list[Any]:
    """A page of a text search in placed or code order (both follow the id), SQLite. (A rare
    word was answered from its ids before.)

    PROBE matching ids, and how many ids they span, say how densely the word sits among the
    orders, and so how many matches it has in all (_common): too few for a walk to beat
    the trigram index (search.walk_threshold), the index answers. The PROBE matches the
    index gave first (`first`, the oldest) decide first: dense enough, the page walks the
    sort index at once, at most WALK_MARGIN times the rows that density expects
    (_walk_budgeted). A walk stopped short of a page walks on from its last row while the
    rows it found say the rest is within WALK_CAP rows (_walked_on: a 1-2 character word
    beside the long one thins the matches out, which no probe of the index sees); found
    none, it goes on as below; found too few (a word common among archived orders only),
    the index answers. Else, or then, the probe takes the PROBE matches nearest the page
    from the trigram index, within the ids a walk of WALK_CAP rows could reach (cheap: the
    index seeks there and stops). Fewer means a rare word, or
    one whose matches are mostly elsewhere (archived orders): the index answers. Else how
    many ids they span says how many rows a walk would read for a page; the walk reads at
    most WALK_MARGIN times that, walks on as above, and the rows it did not find before it
    stopped come from the index. Whatever the ids say, the page is the same: only its cost
    depends on them (an order imported with an old date merely costs the walk more)."""
    if len(first) >= search.PROBE:
        span = max(first) - min(first)
        expected = limit * span / len(first)
        if expected <= WALK_CAP and _common(len(first), span, limit):
            budget = int(WALK_MARGIN * expected) + limit

            def rest(after: list[Any] | None, need: int, found: int, walked: int) -> list[Any]:
                if need * walked / max(found, 1) > WALK_CAP:
                    return _run(f, after, forward, need, "index", 0)
                return _probed(f, after, forward, need)

            return _walk_or(f, key, forward, limit, budget, _walked_on(f, forward, rest))
    newest_first = f.descending == forward
    if key is not None:
        start = int(key[-1])
    else:
        start = search.orders_size() + 1 if newest_first else 0
    reach = WALK_CAP * search.PROBE // max(limit, 1)  # denser than PROBE in `reach`: walk
    ids = search.probe(f.text, start, reach, newest_first)
    span = abs(start - ids[-1]) if ids else 0
    if len(ids) < search.PROBE or not _common(len(ids), span, limit):
        return _run(f, key, forward, limit, "index", 0)  # rare, far from here, or too few
    expected = limit * span / len(ids)
    budget = int(WALK_MARGIN * expected) + limit

    def index(after: list[Any] | None, need: int, _found: int, _walked: int) -> list[Any]:
        return _run(f, after, forward, need, "index", 0)

    return _walk_or(f, key, forward, limit, budget, _walked_on(f, forward, index))


def _walked_on(f: QueueFilter, forward: bool, otherwise: Rest) -> Rest:
    """The rest of a page after a walk stopped short of one at its budget: walked on while
    the rows it found say the rest is near (within WALK_CAP rows at their density; the walk
    may read WALK_MARGIN times that, and walks on again as far), else `otherwise`. The probe
    measures the long words alone, which the trigram index holds: a word of 1-2 characters
    beside them (`dubois j`, `example jo`) thins the matches out, and the walk stopped short
    each time its budget ran out; the rest then came from every match of the long word (a
    word on every order: 550-800 ms a page on a million orders, where walking on finds it in
    a few ms)."""
    def rest(after: list[Any] | None, need: int, found: int, walked: int) -> list[Any]:
        if found and need * walked / found <= WALK_CAP:
            more = int(WALK_MARGIN * need * walked / found) + need
            return _walk_or(f, after, forward, need, more, _walked_on(f, forward, otherwise))
        return otherwise(after, need, found, walked)
    return rest


def _common(found: int, span: int, limit: int) -> bool:
    """Whether `found` matches within `span` ids say the word has enough matches in all (at
    that density over every order) for a walk to a page to cost less than the trigram index
    (at 100,000 orders a word on 1 % of them was walked in 12 ms where the index took 6)."""
    return found * search.orders_size() >= search.walk_threshold(limit) * max(span, 1)


def _walk_or(f: QueueFilter, key: list[Any] | None, forward: bool, limit: int, budget: int,
             rest: Rest) -> list[Any]:
    """SQLite: a page walked within `budget` (_walk_budgeted); a walk stopped short of one
    takes the `need` rows it did not find from `rest(after, need, found, budget)`, after its
    last row (`found`: how many it found)."""
    walked, stopped = _walk_budgeted(f, key, forward, limit, budget)
    if len(walked) == limit or not stopped:
        return walked  # a page, or the walk reached the end of the list
    after = _raw_key(f.sort, walked[-1]) if walked else key
    return walked + rest(after, limit - len(walked), len(walked), budget)


WALK_STEPS_PER_ROW = 16  # SQLite VM steps a walk spends on a row it checks (14-15 measured)
WALK_STEPS_PER_FOUND = 100  # and on a row it returns (its mail state: about 50 measured)


def _walk_budgeted(f: QueueFilter, key: list[Any] | None, forward: bool, limit: int,
                   budget: int) -> tuple[list[Any], bool]:
    """SQLite: at most `limit` rows from walking the sort index checking each row's text,
    stopped by SQLite's progress handler once it has spent what `budget` rows cost; and
    whether it was stopped. It checked every row up to its last, so the rows it did not
    find lie after that row, wherever it stopped (only the cost moves). One statement where
    a walk bounded by the key of the budget's last row took two (finding that key read the
    index again: 0.45 ms of a 4 ms page) and compared every row with it."""
    sql, params = _statement(f, key, forward, limit, "walk", 0)
    conn = db.connection()
    stopped: list[bool] = []

    def stop() -> bool:
        stopped.append(True)
        return True

    walked: list[Any] = []
    conn.set_progress_handler(stop, max(1, budget * WALK_STEPS_PER_ROW
                                        + limit * WALK_STEPS_PER_FOUND))
    try:
        cursor = conn.execute(sql, params)
        while len(walked) < limit and (row := cursor.fetchone()) is not None:
            walked.append(row)
    except sqlite3.OperationalError as exc:
        if not stopped:
            error = dbmod.store_error(exc)  # locked, disk I/O: said as every store error is
            if error is None:
                raise
            raise error from exc
    finally:
        conn.set_progress_handler(None, 0)
    return walked, bool(stopped)


def _raw_key(sort: str, row: Sequence[Any]) -> list[Any]:
    """A page row's sort key as the database gave it (see _key_values for a cursor's)."""
    if sort == "placed":
        return [row[2], row[0]]
    if sort == "code":
        return [row[13], row[0]]
    raise ValidationError(f"a walk follows the placed or code order, not {sort!r}")


def _walk_then(f: QueueFilter, key: list[Any] | None, forward: bool, limit: int, budget: int,
               bound: int) -> list[Any]:
    """PostgreSQL: a page that walks at most `budget` rows of the sort index (up to the key
    of the last, found by walking the index alone) checking each row's text, and takes the
    rows it did not find there from every trigram match, materialised (`bound`: how many
    there are at least)."""
    edge = _run(f, key, forward, None, "boundary", budget - 1)
    if not edge:  # fewer rows than the budget are left: the walk is short
        return _run(f, key, forward, limit, "walk", 0)
    until = list(edge[0])
    walked = _run(f, key, forward, limit, "walk_to", 0, until)
    if len(walked) == limit:
        return walked
    need = limit - len(walked)
    if walked and need * budget / len(walked) <= PG_WALK_ON * bound:
        # the matches sit densely enough for a longer walk to cost less than every match
        more = int(WALK_MARGIN * need * budget / len(walked)) + need
        return walked + _walk_then(f, until, forward, need, more, bound)
    found = _run(f, until, forward, need, "hits", search.ALL_HITS)
    return walked + [row for row in found if row[0] is not None]


PG_WALK_SHARE = 0.25  # of the bound: the rows a PostgreSQL walk reads first (a walked row
# costs 1.5 us where a trigram match costs 5: a walk that finds nothing adds a tenth at most)
PG_WALK_ON = 1  # a walk that found some goes on while it expects to read at most this many
# times the bound's rows (the trigram way would cost more: at least the bound's matches)


def _matched(f: QueueFilter, key: list[Any] | None, forward: bool, limit: int,
             first: Sequence[int] = ()) -> list[Any]:
    """A page of a common word's search on PostgreSQL (one with at least PROBE matches),
    whose planner cannot know that a word's matches are mostly archived: it walked the
    whole queue for them (79-83 ms where the trigram matches, materialised and sorted, took
    23-31 ms).

    One statement (_matched_sql): a walk of the sort index reads at most PG_WALK_SHARE of
    search.hits_bound rows and stops at a page (a dense word). Short of one, it counts the
    trigram matches up to that bound: fewer are all of them, and the page is read from
    them; at the bound, if the walk found none, or too few to say a longer walk is cheaper
    (PG_WALK_ON), the rest of the page comes from every match, read on from where the
    count stopped (the matches are elsewhere: archived). A walk that found enough goes on
    as far as their density says. A filter that something else narrows (a customer, a
    product, dates) is left to the planner.

    The PROBE matches the index gave first (`first`, the oldest) say how densely the word
    sits: where a page would need a walk longer than the budget and the bound together,
    the walk would end sparse, and it reads one page of rows only (1.3 ms of a 19 ms page
    on the bench's 200,000 orders)."""
    bound = search.hits_bound(limit)
    if _narrowed(f):
        found = _run(f, key, forward, limit, "hits", bound)
        if found[0][14] < bound:
            return [] if found[0][0] is None else found
        return _run(f, key, forward, limit, "index", 0)
    budget = max(limit, int(bound * PG_WALK_SHARE))
    if len(first) >= search.PROBE:
        expected = limit * (max(first) - min(first)) / len(first)
        if expected > budget + PG_WALK_ON * bound:
            budget = limit
    rows = _run(f, key, forward, limit, "matched", bound, slots={-2: budget,
                                                                  -3: PG_WALK_ON * bound})
    if not rows or len(rows) == limit:
        return rows
    _count, edged, sparse = rows[0][14:17]
    if sparse or not edged:
        return rows  # all the matches or the rest came from the index; the walk reached the end
    # the walk found some but too few, and enough to say a longer walk costs less
    until = list(_run(f, key, forward, None, "boundary", budget - 1)[0])
    need = limit - len(rows)  # the walk found these, and enough to go on walking
    more = int(WALK_MARGIN * need * budget / len(rows)) + need
    return rows + _walk_then(f, until, forward, need, more, bound)


def _run(f: QueueFilter, key: list[Any] | None, forward: bool, limit: int | None, way: str,
         bound: int, until: list[Any] | None = None, ids: Sequence[int] | None = None,
         slots: dict[int | str, Any] | None = None) -> list[Any]:
    sql, params = _statement(f, key, forward, limit, way, bound, until, ids, slots)
    cursor: Any = db.execute_sql(sql, params)
    return list(cursor.fetchall())


def _statement(f: QueueFilter, key: list[Any] | None, forward: bool, limit: int | None,
               way: str, bound: int, until: list[Any] | None = None,
               ids: Sequence[int] | None = None,
               slots: dict[int | str, Any] | None = None) -> tuple[str, list[Any]]:
    """The compiled SQL of a way to a page (_compiled) and its params, the slots filled."""
    sql, params, positions = _compiled(f, key is not None, forward, limit, way)
    values: dict[int | str, Any] = {0: utcnow(), -1: bound, **(slots or {})}
    values.update(enumerate(key or (), start=1))
    values.update(enumerate(until or (), start=101))
    if f.text:
        values.update(search.slot_values(f.text))
    if ids is not None:
        values["ids"] = id_value(ids)
    for at, index in positions:
        params[at] = values[index]
    return sql, params


def queue_page(f: QueueFilter, cursor: str | None = None, limit: int = 100,
               backwards: bool = False) -> Page:
    """One page of the queue. Forward from `cursor` (a next_cursor, or None for the first
    page), or with backwards=True the page before `cursor` (a prev_cursor)."""
    if limit <= 0:
        raise ValidationError("a page needs at least one row")
    key = _decode(f, cursor) if cursor else None
    if backwards and key is not None:
        found = _select(f, key, forward=False, limit=limit + 1)
        more_before = len(found) > limit
        found = list(reversed(found[:limit]))
        rows = [r for r, _ in found]
        if not rows:
            return Page((), cursor, None)
        prev = _encode(f, _key_values(f.sort, rows[0], found[0][1])) if more_before else None
        nxt = _encode(f, _key_values(f.sort, rows[-1], found[-1][1]))
        return Page(tuple(rows), nxt, prev)
    found = _select(f, key, forward=True, limit=limit + 1)
    more_after = len(found) > limit
    found = found[:limit]
    rows = [r for r, _ in found]
    if not rows:
        return Page((), None, cursor if key is not None else None)
    after = _encode(f, _key_values(f.sort, rows[-1], found[-1][1])) if more_after else None
    before = _encode(f, _key_values(f.sort, rows[0], found[0][1])) if key is not None else None
    return Page(tuple(rows), after, before)


SCAN_CACHE_KB = 2000


@contextlib.contextmanager
def _scan_cache() -> Iterator[None]:
    """A count reads each page of an index once: on SQLite it runs with a small page cache
    (measured as fast on a million orders), so the app does not keep tens of MB of pages it
    will not read again, and the hot pages of the queue stay. The usual size comes back after."""
    if not dbmod.is_sqlite():
        yield
        return
    (size,) = db.execute_sql("PRAGMA cache_size").fetchone()
    db.execute_sql(f"PRAGMA cache_size = -{SCAN_CACHE_KB}")
    try:
        yield
    finally:
        db.execute_sql(f"PRAGMA cache_size = {int(size)}")


def _short_text(f: QueueFilter) -> bool:
    """A query of 1-2 characters, whose prefix neither planner can tell matches a few orders
    or thousands (search.short_matches counts them): both walked the queue's index for a
    prefix nothing starts with (`zz`: 300 ms on a million orders on SQLite, 90 ms on
    200,000 on PostgreSQL)."""
    return bool(f.text.strip()) and not search.trigram_words(f.text)


def status_counts(f: QueueFilter, only: Sequence[str] = ()) -> dict[str, int]:
    """Orders per status for the filter, ignoring its statuses (the tabs); "_all" is the total.
    `only` (the statuses a `status:` token names) leaves the others out, as the list does.

    On SQLite a customer's orders are counted from the customer's index: neither
    `archived` nor the grouping may lead with another index (a unary + makes a column
    unusable for one), else the planner grouped by status along the queue's status index
    or the status index, reading every current order (customer:12: 570 ms on a million
    orders, 0.6 ms this way); and a 1-2 character query matching few orders is counted
    from their ids. Test orders are counted from their partial index (migration 0017; on
    SQLite named, its planner took the status index), and `test:no` as every order less
    them (the real orders are most: 514 ms reading each, 30 ms from the indexes)."""
    if not f.show_test and not f.only_test:  # test:no: every order less the few test ones,
        every = _counts_sql(replace(f, show_test=True), only)  # in one statement: one
        tests = _counts_sql(replace(f, only_test=True), only)  # snapshot of both
        if every is None or tests is None:
            return {"_all": 0}
        sql = (f"SELECT b.status, b.n - COALESCE(t.n, 0) FROM ({every[0]}) AS b "
               f"LEFT JOIN ({tests[0]}) AS t ON t.status = b.status")
        params = [*every[1], *tests[1]]
    else:
        found = _counts_sql(f, only)
        if found is None:
            return {"_all": 0}
        sql, params = found
    with _scan_cache():
        counts = {status: int(n) for status, n in db.execute_sql(sql, params) if int(n) > 0}
    counts["_all"] = sum(counts.values())
    return counts


def _counts_sql(f: QueueFilter, only: Sequence[str]) -> tuple[str, list[Any]] | None:
    """status_counts' statement for one filter (columns status and n), None when a short
    query's probe found that it matches nothing."""
    few = search.short_matches(f.text) if _short_text(f) else None
    if few == []:
        return None
    if few is not None:
        conds = [*_conditions(replace(f, text=""), with_statuses=False,
                              product_few=search.product_count_few(),
                              counting=f.customer_id is None), search.id_in(few)]
    else:
        conds = _conditions(f, with_statuses=False, product_few=search.product_count_few(),
                            way="walk" if _customer_walk(f) else "index",
                            counting=f.customer_id is None)
    group: Any = Order.status
    if dbmod.is_sqlite() and f.customer_id is not None:
        conds[0] = NodeList((SQL("+"), Order.archived), glue="") == f.archived
        group = NodeList((SQL("+"), Order.status), glue="")
    query = (Order.select(Order.status, fn.COUNT(Order.id).alias("n")).where(*conds)
             .group_by(group))
    if only:
        query = query.where(Order.status.in_(list(only)))
    sql, params = query.sql()
    return _payment_index(f, _test_orders_index(f, sql)), list(params)


def _payment_index(f: QueueFilter, sql: str) -> str:
    """The counts of `pay:` read the payment method's index (migration 0019), on SQLite
    named: its planner may take the status index and read every current order (1.0 s on a
    million orders; 20 ms this way). Test orders (`test:only`) and a customer's are read from
    their own index instead, and with words or a product the planner chooses (their matches
    may be far fewer than the orders paid that way)."""
    if not (f.payment_method.strip() and dbmod.is_sqlite() and not f.only_test
            and f.customer_id is None and not f.text.strip() and not f.product.strip()):
        return sql
    return _indexed_by(sql, "orders_payment_method")


def _test_orders_index(f: QueueFilter, sql: str) -> str:
    """A statement of `test:only` reading the test orders' partial index (migration 0017),
    on SQLite named: its planner took the status index or walked the queue's (the counts
    490 ms on a million orders, a page in total order or one status tab 11-52 ms on 300,000;
    reading every current test order from their index and sorting them takes 1-2 ms). A
    customer's orders are read from the customer's index instead. (peewee names no index;
    should its FROM read otherwise, the planner chooses, and
    test_test_orders_are_read_from_their_own_index says so.)"""
    if not (f.only_test and dbmod.is_sqlite() and f.customer_id is None):
        return sql
    return _indexed_by(sql, "orders_test_orders")


def matching_ids(f: QueueFilter, limit: int | None = None) -> list[int]:
    """Ids of every order the filter matches, in its order (for "mark all")."""
    columns = _sort_columns(f.sort)
    walk = _customer_walk(f)
    query = (Order.select(Order.id).where(*_conditions(f, way="walk" if walk else "index"))
             .order_by(*_order_by(columns, not f.descending)))
    if limit is not None:
        query = query.limit(limit)
    sql, params = query.sql()
    return [oid for (oid,) in db.execute_sql(_customer_index(sql) if walk else sql, params)]


def in_queue_order(f: QueueFilter, order_ids: Sequence[int]) -> list[int]:
    """These orders (marked in the queue) in the filter's order, whether or not they still
    match it: what a bulk print of the marked orders prints, in the order shown."""
    columns = _sort_columns(f.sort)
    keyed: list[tuple[Any, ...]] = []
    ids = list(dict.fromkeys(order_ids))
    for start in range(0, len(ids), 5000):
        rows: Any = (Order.select(*columns).where(Order.id.in_(ids[start:start + 5000]))
                     .tuples())
        keyed.extend(rows)
    keyed.sort(reverse=f.descending)
    return [row[-1] for row in keyed]


def neighbour(f: QueueFilter, order_id: int, step: int) -> int | None:
    """The order `step` places after (+) or before (-) `order_id` in the filter's order."""
    if step == 0:
        return order_id
    columns = _sort_columns(f.sort)
    values = Order.select(*columns).where(Order.id == order_id).tuples().first()
    if values is None:
        return None
    found = _select(f, list(values), forward=step > 0, limit=abs(step))
    if len(found) < abs(step):
        return None
    return found[-1][0].id


# ----- one order -----------------------------------------------------------------------------

def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"value": data}


def order_detail(order_id: int) -> OrderDetail:
    """The order with its items, payments, addresses, history (oldest first) and mails."""
    order = Order.get_or_none(Order.id == order_id)
    if order is None:
        raise NotFound(f"no such order (id {order_id}); it may have been deleted")
    now = utcnow()
    items = tuple(
        ItemRow(i.sku, i.name, i.quantity, i.unit_price, i.tax_rate_bp, i.quantity * i.unit_price)
        for i in OrderItem.select().where(OrderItem.order == order_id).order_by(OrderItem.id)
    )
    payments = tuple(
        PaymentRow(p.kind, p.amount, p.method, p.reference, p.reason, p.operator_login,
                   p.created_at)
        for p in Payment.select().where(Payment.order == order_id).order_by(Payment.id)
    )
    addresses = {
        a.kind: AddressRow(*(getattr(a, name) for name in ADDRESS_FIELDS))
        for a in Address.select().where(Address.order == order_id).order_by(Address.id)
    }
    events = tuple(
        EventRow(e.id, e.kind, e.from_status, e.to_status, e.message, _json(e.data),
                 e.operator_login, bool(e.visible), e.created_at)
        for e in OrderEvent.select().where(OrderEvent.order == order_id).order_by(OrderEvent.id)
    )
    mails = tuple(
        MailRow(m.id, m.kind, m.recipient, shown_state(m.state, m.hold_until, now),
                m.attempts, m.last_error, m.created_at, m.sent_at, m.hold_until, m.batch,
                m.subject)
        for m in Outbox.select().where(Outbox.order == order_id).order_by(Outbox.id)
    )
    documents = issued_documents(order_id)
    return OrderDetail(
        id=order.id, code=order.code, number=order.number, status=order.status,
        currency=order.currency, subtotal=order.subtotal, tax=order.tax,
        shipping_cost=order.shipping_cost, discount=order.discount, total=order.total,
        amount_paid=order.amount_paid, amount_refunded=order.amount_refunded,
        refundable=refund_cap(order.amount_paid, order.amount_refunded),
        delete_refusal=delete_refusal(order.code, bool(order.is_test), documents),
        payment_method=order.payment_method, payment_reference=order.payment_reference,
        shipping_method=order.shipping_method, tracking_number=order.tracking_number,
        carrier=order.carrier, internal_reference=order.internal_reference,
        customer_note=order.customer_note, customer_id=getattr(order, "customer_id", None),
        customer_name=order.customer_name, customer_email=order.customer_email,
        customer_phone=order.customer_phone, language=order.language,
        placed_at=order.placed_at, archived=bool(order.archived), is_test=bool(order.is_test),
        version=order.version, updated_by=order.updated_by, items=items, payments=payments,
        addresses=addresses, events=events, mails=mails,
        gift_message=order.gift_message, label=_label_text(order_id),
        documents=documents,
        external_reference=order.external_reference, external_source=order.external_source,
        payable=payment_cap(order.amount_paid, order.total),
        replaces=_code_of(order.replaces_id), replaced_by=_replacements(order_id),
    )


def _code_of(order_id: int | None) -> str:
    if order_id is None:
        return ""
    return str(Order.select(Order.code).where(Order.id == order_id).scalar() or "")


def _replacements(order_id: int) -> tuple[str, ...]:
    """The codes of the orders that replace this one (store.replacements), oldest first."""
    rows: Any = (Order.select(Order.code).where(Order.replaces == order_id)
                 .order_by(Order.id).tuples())
    return tuple(str(code) for (code,) in rows)


def issued_documents(order_id: int) -> tuple[str, ...]:
    """The numbers of the order's invoice and credit notes, as issued."""
    rows: Any = (Invoice.select(Invoice.code).where(Invoice.order == order_id)
                 .order_by(Invoice.id).tuples())
    return tuple(str(code) for (code,) in rows)


def _label_text(order_id: int) -> str:
    """The attached carrier label as the detail names it, without reading its bytes."""
    found = (OrderLabel.select(OrderLabel.filename, OrderLabel.pages)
             .where(OrderLabel.order == order_id).tuples().first())
    if found is None:
        return ""
    name, pages = found
    return f"{name or 'label.pdf'}, {pages} page{'s' if pages != 1 else ''}"
