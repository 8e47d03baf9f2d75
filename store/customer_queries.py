"""Customer reads: the paged list with search, filters and segments, the profile, group
member counts and the GDPR export. Every function returns frozen dataclasses.

Figures per customer count the customer's non-test orders; "spent" is what was paid minus
what was refunded, over orders in the shop currency. They are columns of the customer, kept
by every change that moves them (store.customer_figures), so a segment is a condition on an
indexed column and a page reads no order.

Written-out SQL (see store.sql): the list's conditions are built from optional pieces, and
the trigram search is a MATCH on the FTS5 table, which peewee has no expression for."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from babel.numbers import get_currency_precision
from peewee import fn

from store.db import is_sqlite
from store.errors import NotFound, ValidationError
from store.exports import folder_problem
from store.filter_syntax import Token, parse, refuse
from store.folding import fold_query
from store.models import (
    MAX_INT,
    Address,
    Bounce,
    Campaign,
    CampaignEvent,
    CampaignMail,
    Customer,
    CustomerEvent,
    CustomerGroup,
    Order,
    OrderEvent,
    OrderItem,
    Outbox,
    Payment,
    Subscriber,
    Suppression,
    db,
    utcnow,
)
from store.operators import Actor, require
from store.shop import Shop
from store.sql import Params, id_source, id_value, like_escaped, prefix_end
from store.text import control_character, shown

SEGMENTS: dict[str, str] = {
    "vip": "VIP: spent above the vip_spent threshold",
    "recent": "recent buyers: ordered within recent_days",
    "inactive": "inactive: no order for inactive_days or more (registered that long ago)",
    "subscribers": "newsletter subscribers: marketing consent given",
    "first": "first-time buyers: exactly one order",
}
SEGMENT_ALIASES = {"first-time": "first", "subscriber": "subscribers", "newsletter": "subscribers"}
STATUSES = ("active", "pending", "suspended", "denied", "deleted")
# How each account status reads to people (the profile, the storefront API).
STATUS_LABELS = {"active": "active", "pending": "waiting for validation",
                 "suspended": "suspended", "denied": "denied", "deleted": "deleted"}


@dataclass(frozen=True)
class CustomerFilter:
    """What the customer list shows; deleted (erased) accounts only when asked by status."""

    text: str = ""
    group_id: int | None = None
    status: str = ""
    segment: str = ""


class CustomerRow(NamedTuple):
    """One line of the customer list: immutable like the frozen dataclasses, but a tuple, since
    a page builds a hundred of them and a frozen dataclass takes five times as long to make
    (0.1 ms of a 0.4 ms page)."""

    id: int
    name: str
    email: str
    status: str
    group_name: str
    order_count: int
    total_spent: int
    currency: str
    last_order_at: dt.datetime | None
    postcode: str = ""
    city: str = ""
    country: str = ""

    @property
    def place(self) -> str:
        """Where the customer lives, as the list shows it: "Paris FR"."""
        return " ".join(p for p in (self.city, self.country) if p)


@dataclass(frozen=True)
class CustomerPage:
    rows: tuple[CustomerRow, ...]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True)
class AddressRow:
    kind: str
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
class ProfileOrder:
    id: int
    code: str
    placed_at: dt.datetime
    status: str
    total: int
    currency: str
    item_count: int
    is_test: bool


@dataclass(frozen=True)
class HistoryRow:
    id: int
    kind: str
    message: str
    data: dict[str, Any]
    operator_login: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CustomerProfile:
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    language: str
    status: str
    status_reason: str
    registered_at: dt.datetime
    confirmed_at: dt.datetime | None
    group_id: int | None
    group_name: str
    marketing_consent: bool
    consent_at: dt.datetime | None
    consent_source: str
    version: int
    currency: str
    lifetime_value: int
    order_count: int
    average_order: int
    last_order_at: dt.datetime | None
    addresses: tuple[AddressRow, ...] = ()
    orders: tuple[ProfileOrder, ...] = ()
    notes: tuple[HistoryRow, ...] = ()
    history: tuple[HistoryRow, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    is_default: bool
    discount_bp: int
    privilege: str
    members: int


@dataclass(frozen=True)
class Thresholds:
    """Segment thresholds from config [segments], turned into SQL values."""

    vip_minor: int
    recent_since: dt.datetime
    inactive_since: dt.datetime
    currency: str


# ----- filter text ---------------------------------------------------------------------------

def _group(token: str, value: str, f: CustomerFilter, _context: Any = None) -> CustomerFilter:
    group = CustomerGroup.get_or_none(CustomerGroup.name == value)
    if group is None:
        raise refuse(token, f"no customer group named {value!r}", "group")
    return replace(f, group_id=int(group.id))


def _status(token: str, value: str, f: CustomerFilter, _context: Any = None) -> CustomerFilter:
    try:
        return replace(f, status=check_status(value))
    except ValidationError as exc:
        raise refuse(token, str(exc), "status") from None


def _segment(token: str, value: str, f: CustomerFilter, _context: Any = None) -> CustomerFilter:
    try:
        return replace(f, segment=check_segment(value))
    except ValidationError as exc:
        raise refuse(token, str(exc), "segment") from None


CUSTOMER_WORDS = ("free words must all match (as parts of the name, email, phone or its "
                  "digits, postcode, city or country), accents and case aside")
CUSTOMER_TOKENS: tuple[Token[CustomerFilter], ...] = (
    Token("group", 'group:"Big spenders"', "members of the group (quote a name with spaces)",
          _group),
    Token("status", "status:suspended",
          f"accounts in this status ({', '.join(STATUSES)}; status:to-validate is pending)",
          _status),
    Token("segment", "segment:vip", f"customers of a segment ({', '.join(SEGMENTS)})",
          _segment, aliases=("seg",)),
)


def parse_customer_filter(text: str) -> CustomerFilter:
    """Free words plus the name:value tokens of CUSTOMER_TOKENS, in the language the order
    queue speaks (store.filter_syntax); a name with spaces is quoted: group:"Big spenders"."""
    f, words = parse(text, CUSTOMER_TOKENS, CustomerFilter())
    return replace(f, text=words)


STATUS_ALIASES = {"to-validate": "pending", "to_validate": "pending", "waiting": "pending"}


def check_status(value: str) -> str:
    """A customer status as typed (`status:pending`, or `status:to-validate`)."""
    value = STATUS_ALIASES.get(value.lower(), value.lower())
    if value not in STATUSES:
        raise ValidationError(f"unknown status {value!r}; statuses are {', '.join(STATUSES)}")
    return value


def check_segment(value: str) -> str:
    value = SEGMENT_ALIASES.get(value.lower(), value.lower())
    if value not in SEGMENTS:
        raise ValidationError(f"unknown segment {value!r}; segments are {', '.join(SEGMENTS)}")
    return value


# ----- SQL pieces ----------------------------------------------------------------------------

def thresholds(shop: Shop, now: dt.datetime | None = None) -> Thresholds:
    now = now or utcnow()
    currency = shop.currency
    vip = int(shop.config.get("segments", "vip_spent")) * 10 ** get_currency_precision(currency)
    return Thresholds(
        vip_minor=vip,
        recent_since=now - dt.timedelta(days=int(shop.config.get("segments", "recent_days"))),
        inactive_since=now - dt.timedelta(days=int(shop.config.get("segments", "inactive_days"))),
        currency=currency,
    )


def _segment_sql(segment: str, t: Thresholds, p: Params) -> str:
    """A WHERE condition on customer `c` for one segment, on its kept figures (each with its
    index); its values go into `p`."""
    if segment == "vip":
        return f"c.spent > {p(t.vip_minor)}"
    if segment == "recent":
        return f"c.last_order_at >= {p(t.recent_since)}"
    if segment == "inactive":
        since = p(t.inactive_since)
        return (f"c.registered_at <= {since} AND "
                f"(c.last_order_at IS NULL OR c.last_order_at <= {since})")
    if segment == "subscribers":
        return "c.marketing_consent"
    if segment == "first":
        return "c.order_count = 1"
    raise ValidationError(f"unknown segment {segment!r}; segments are {', '.join(SEGMENTS)}")


def _prefix_bounds(word: str) -> tuple[str, str]:
    word = word.lower()
    if not word:  # a word of combining marks alone folds to nothing: nothing starts so
        return "\uffff", "\uffff"
    return word, prefix_end(word)


def _text_sql(text: str, p: Params) -> list[str]:
    """Conditions for a free-text search, each word folded as the search text is
    (store.folding): trigram index for words of 3+ characters, a prefix match on indexed name
    and email columns for shorter ones."""
    conds: list[str] = []
    words = [fold_query(w) for w in text.split()]
    long_words = [w for w in words if len(w) >= 3]
    for word in (w for w in words if len(w) < 3):
        if long_words:  # the long words narrow through the index; check the rest in the row
            pattern = p(f"%{like_escaped(word.lower())}%")
            conds.append(f"c.search_text LIKE {pattern} ESCAPE '\\'")
            continue
        low, high = _prefix_bounds(word)
        lo, hi = p(low), p(high)
        conds.append(
            f"((lower(c.last_name) >= {lo} AND lower(c.last_name) < {hi}) OR "
            f"(lower(c.first_name) >= {lo} AND lower(c.first_name) < {hi}) OR "
            f"(c.email_key >= {lo} AND c.email_key < {hi}))")
    if long_words:
        if is_sqlite():
            match = " AND ".join('"' + w.replace('"', '""') + '"' for w in long_words)
            conds.append(
                f"c.id IN (SELECT rowid FROM customer_fts WHERE customer_fts MATCH {p(match)})")
        else:
            for word in long_words:
                conds.append(
                    f"c.search_text LIKE {p(f'%{like_escaped(word.lower())}%')} ESCAPE '\\'")
    return conds


def _where(f: CustomerFilter, t: Thresholds, p: Params) -> list[str]:
    conds = _text_sql(f.text, p)
    if f.status:
        conds.append(f"c.status = {p(check_status(f.status))}")
    else:
        conds.append("c.status <> 'deleted'")
    if f.group_id is not None:
        conds.append(f"c.group_id = {p(f.group_id)}")
    if f.segment:
        conds.append(_segment_sql(check_segment(f.segment), t, p))
    return conds


def customer_conditions(shop: Shop, f: CustomerFilter, p: Params,
                        now: dt.datetime | None = None) -> list[str]:
    """The WHERE conditions on customer `c` of a filter (for the newsletter's audience: the
    same segments and filters as the customer list)."""
    return _where(f, thresholds(shop, now), p)


# ----- the list ------------------------------------------------------------------------------

def customer_page(shop: Shop, f: CustomerFilter, cursor: str | None = None, limit: int = 100,
                  backwards: bool = False, now: dt.datetime | None = None) -> CustomerPage:
    """One page of customers, newest first, by keyset on id (never OFFSET)."""
    t = thresholds(shop, now)
    p = Params()
    conds = _where(f, t, p)
    if cursor is not None:
        try:
            after = int(cursor)
        except ValueError:
            raise ValidationError(f"bad page cursor {cursor!r}") from None
        conds.append(f"c.id {'>' if backwards else '<'} {p(after)}")
    order = "ASC" if backwards else "DESC"
    sql = (f"SELECT {', '.join(PAGE_COLUMNS)} FROM {_planned(f, t, FEW)} "
           f"LEFT JOIN customer_group g ON g.id = c.group_id "
           f"WHERE {' AND '.join(conds)} ORDER BY c.id {order} LIMIT {int(limit) + 1}")
    rows = list(db.execute_sql(sql, p).fetchall())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    places = _places([r[0] for r in rows])
    result = tuple(_row(r, places, t.currency) for r in rows)
    if not result:
        return CustomerPage((), None, None)
    if backwards:
        return CustomerPage(result, str(result[-1].id), str(result[0].id) if more else None)
    return CustomerPage(result, str(result[-1].id) if more else None,
                        str(result[0].id) if cursor is not None else None)


# The segments that are a range of a column with an index of its own (migration 0005);
# `first`, an equality, the planner reads through its index in the list's order already.
SEGMENT_INDEXES = {"vip": "customer_spent", "recent": "customer_last_order"}
FEW = 1000  # matches a page reads through an index and sorts, rather than walk the list
COUNT_SHARE = 8  # a count reads its segment's index when at most 1/8 of customers match


def _planned(f: CustomerFilter, t: Thresholds, few: int | None) -> str:
    """`customer c`, on SQLite with the way to read it when the planner cannot tell: it
    takes a range (`spent > x`) for a quarter of the table and a name prefix for a few rows.
    So it walked all 200,000 customers for the 81 VIPs' page (70 ms where the spent index
    answers in 0.1) and sorted 28,600 matches of "le" (100 ms where the walk down the list
    finds a page in 0.5). How many match, counted from the index up to a cap, decides: a
    page (`few`) reads a segment of fewer than `few` through its index and sorts them, and
    walks the list for a short word with at least that many; a count reads its segment's
    index when at most 1/COUNT_SHARE of the customers match (the recent buyers: 90 to 16
    ms). PostgreSQL's planner knows from its statistics."""
    words = [fold_query(w) for w in f.text.split()]
    if not is_sqlite() or f.group_id is not None or any(len(w) >= 3 for w in words):
        return "customer c"  # the trigram index or the group's narrows first
    if words:
        if few is None or f.segment:
            return "customer c"
        p = Params()
        conds = " AND ".join(_where(f, t, p))  # the status too: a rare one narrows first
        return "customer c" if _capped(f"customer c WHERE {conds}", p, few) < few \
            else "customer c NOT INDEXED"
    index = SEGMENT_INDEXES.get(f.segment)
    if index is None or (few is None and f.status):
        return "customer c"  # a count of one status: that status's index may narrow more
    p = Params()
    within = f"customer c INDEXED BY {index} WHERE {_segment_sql(f.segment, t, p)}"
    if few is None:
        size = int(db.execute_sql("SELECT MAX(id) FROM customer").fetchone()[0] or 0)
        few = max(size // COUNT_SHARE, 1)
    return f"customer c INDEXED BY {index}" if _capped(within, p, few) < few else "customer c"


def _capped(source: str, p: Params, cap: int) -> int:
    """How many rows of `source` (FROM ... WHERE ...) match, counting up to `cap`."""
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} LIMIT {int(cap)}) AS capped"
    return int(db.execute_sql(sql, p).fetchone()[0])


PAGE_COLUMNS = ("c.id", "c.first_name", "c.last_name", "c.email", "c.status", "g.name",
                "c.order_count", "c.spent", "c.last_order_at")


_NOWHERE = ("", "", "")


def _row(r: Sequence[Any], places: dict[int, tuple[str, str, str]],
         currency: str) -> CustomerRow:
    """A page row (id, order count and spent are integer columns on both databases). Made
    as the tuple it is, not through the named tuple's keyword constructor: 0.21 to 0.12 ms
    for a page of 100, a fifth of the page's whole cost beside its two queries."""
    last = r[8]
    if last is not None and last.__class__ is str:
        last = _FROM_ISO(last)  # SQLite's text; PostgreSQL gives a datetime
    return tuple.__new__(CustomerRow, (r[0], f"{r[1]} {r[2]}".strip(), r[3], r[4], r[5] or "",
                                       r[6], r[7], currency, last, *places.get(r[0], _NOWHERE)))


_FROM_ISO = dt.datetime.fromisoformat


def _places(ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
    """The postcode, city and country of a page of customers (their shipping address, else
    their billing one), in one query."""
    if not ids:
        return {}
    sql = (f"SELECT customer_id, postcode, city, country FROM address "
           f"WHERE customer_id IN (SELECT value FROM {id_source('ids')}) "
           f"ORDER BY customer_id, CASE kind WHEN 'shipping' THEN 0 ELSE 1 END, id")
    rows = db.execute_sql(sql, {"ids": id_value(ids)}).fetchall()
    # read backwards, each customer's first (preferred) address is the one left
    return {r[0]: (r[1], r[2], r[3]) for r in reversed(rows)}


def customer_count(shop: Shop, f: CustomerFilter, now: dt.datetime | None = None) -> int:
    p = Params()
    t = thresholds(shop, now)
    conds = _where(f, t, p)
    sql = f"SELECT COUNT(*) FROM {_planned(f, t, None)} WHERE {' AND '.join(conds)}"
    return int(db.execute_sql(sql, p).fetchone()[0])


def segment_ids(shop: Shop, segment: str, now: dt.datetime | None = None,
                include_inactive_accounts: bool = False) -> list[int]:
    """Every customer id in a segment (active accounts only unless told), ascending; for
    filters here and for the newsletter."""
    p = Params()
    sql = _segment_sql(check_segment(segment), thresholds(shop, now), p)
    status = "c.status <> 'deleted'" if include_inactive_accounts else "c.status = 'active'"
    query = f"SELECT c.id FROM customer c WHERE {status} AND {sql} ORDER BY c.id"
    return [int(r[0]) for r in db.execute_sql(query, p).fetchall()]


def segment_counts(shop: Shop, now: dt.datetime | None = None) -> dict[str, int]:
    """How many live (not erased) customers each segment holds."""
    return {name: customer_count(shop, CustomerFilter(segment=name), now) for name in SEGMENTS}


def resolve_customer(text: str) -> int:
    """A customer id from an id or an email, as typed on the command line."""
    text = text.strip()
    if control_character(text) is not None:
        raise NotFound(f"no customer {shown(text)}")
    if text.isascii() and text.isdigit():
        if (len(text) > 19 or int(text) > MAX_INT
                or Customer.get_or_none(Customer.id == int(text)) is None):
            raise NotFound(f"no customer with id {text}")
        return int(text)
    row = Customer.get_or_none(Customer.email_key == text.lower())
    if row is None:
        raise NotFound(f"no customer with email {text}")
    return int(row.id)


# ----- the profile ---------------------------------------------------------------------------

def _history(event: CustomerEvent) -> HistoryRow:
    try:
        data = json.loads(event.data or "{}")
    except ValueError:
        data = {}
    return HistoryRow(int(event.id), event.kind, event.message, data, event.operator_login,
                      event.created_at)


def _address(a: Address) -> AddressRow:
    return AddressRow(a.kind, a.first_name, a.last_name, a.company, a.line1, a.line2,
                      a.postcode, a.city, a.region, a.country, a.phone)


def customer_profile(shop: Shop, customer_id: int) -> CustomerProfile:
    """Everything the profile screen shows about one customer."""
    c = Customer.get_or_none(Customer.id == customer_id)
    if c is None:
        raise NotFound(f"no customer with id {customer_id}")
    group = CustomerGroup.get_or_none(CustomerGroup.id == c.group_id) if c.group_id else None
    orders = tuple(
        ProfileOrder(o.id, o.code, o.placed_at, o.status, o.total, o.currency, o.item_count,
                     bool(o.is_test))
        for o in Order.select().where(Order.customer == c.id)
        .order_by(Order.placed_at.desc(), Order.id.desc()))
    count, spent, last = int(c.order_count), int(c.spent), c.last_order_at
    events = tuple(_history(e) for e in CustomerEvent.select().where(
        CustomerEvent.customer == c.id).order_by(CustomerEvent.id))
    addresses = tuple(_address(a) for a in Address.select().where(Address.customer == c.id)
                      .order_by(Address.kind))
    return CustomerProfile(
        id=c.id, first_name=c.first_name, last_name=c.last_name, email=c.email, phone=c.phone,
        language=c.language, status=c.status, status_reason=c.status_reason,
        registered_at=c.registered_at, confirmed_at=c.confirmed_at, group_id=c.group_id,
        group_name=group.name if group else "", marketing_consent=bool(c.marketing_consent),
        consent_at=c.consent_at, consent_source=c.consent_source, version=c.version,
        currency=shop.currency, lifetime_value=spent, order_count=count,
        average_order=spent // count if count else 0, last_order_at=last,
        addresses=addresses, orders=orders,
        notes=tuple(e for e in events if e.kind == "note"), history=events,
    )


# ----- groups --------------------------------------------------------------------------------

def group_rows() -> tuple[GroupRow, ...]:
    """Every group with its number of (not erased) members, by name."""
    members = {
        r[0]: int(r[1]) for r in db.execute_sql(
            "SELECT group_id, COUNT(*) FROM customer WHERE status <> 'deleted' "
            "AND group_id IS NOT NULL GROUP BY group_id").fetchall()}
    return tuple(
        GroupRow(g.id, g.name, bool(g.is_default), g.discount_bp, g.privilege,
                 members.get(g.id, 0))
        for g in CustomerGroup.select().order_by(CustomerGroup.name))


# ----- GDPR export ---------------------------------------------------------------------------

def _plain(model: Any, skip: Sequence[str] = ()) -> dict[str, Any]:
    data = {}
    for name, f in model._meta.fields.items():
        if name in skip:
            continue
        value = getattr(model, f.column_name if hasattr(f, "rel_model") else name)
        data[name if not hasattr(f, "rel_model") else f"{name}_id"] = value
    return data


@dataclass(frozen=True)
class ExportResult:
    path: Path
    orders: int
    mails: int
    events: int = field(default=0)


def _newsletter_data(customer_id: int, address: str) -> dict[str, Any]:
    """What the newsletter holds of a customer (by their account or their address): each
    subscription with its consent record and state, the campaign mails sent to it (campaign,
    state, when, the subject variant) with their opens and clicks, bounces and complaints of
    the address, and its suppression. Personal data all: a GDPR export left it out."""
    whose = Subscriber.customer == customer_id
    if address:
        whose |= Subscriber.email_key == address
    subscriptions = []
    for sub in Subscriber.select().where(whose).order_by(Subscriber.id):
        entry = _plain(sub, skip=("search_text", "customer"))
        entry["campaign_mails"] = _campaign_mails(sub.id)
        subscriptions.append(entry)
    keys = {address} if address else set()
    keys |= {str(s["email_key"]) for s in subscriptions if s.get("email_key")}
    bounces = [_plain(b, skip=("report_key",)) for b in Bounce.select().where(
        Bounce.email_key.in_(sorted(keys))).order_by(Bounce.id)] if keys else []
    suppressed = [_plain(x, skip=()) for x in Suppression.select().where(
        Suppression.email_key.in_(sorted(keys))).order_by(Suppression.id)] if keys else []
    return {"subscriptions": subscriptions, "bounces": bounces, "suppression": suppressed}


def _campaign_mails(subscriber_id: int) -> list[dict[str, Any]]:
    """A subscriber's campaign mails: campaign, state, when sent, variant; opens and clicks."""
    found = []
    for m in (CampaignMail.select(CampaignMail, Campaign).join(Campaign)
              .where(CampaignMail.subscriber == subscriber_id).order_by(CampaignMail.id)):
        events = [{"kind": e.kind, "at": e.created_at, "link": e.link, "machine": e.machine}
                  for e in CampaignEvent.select().where(CampaignEvent.mail == m.id)
                  .order_by(CampaignEvent.id)]
        found.append({"campaign": m.campaign.name, "state": m.state, "sent_at": m.sent_at,
                      "variant": m.variant, "opens_and_clicks": events})
    return found


def export_customer(shop: Shop, actor: Actor, customer_id: int,
                    directory: str | Path = ".") -> ExportResult:
    """Write one JSON file with everything held about the customer (account, addresses,
    history, their orders and every order placed with their email, as a guest too, with
    lines, payments, addresses and customer-facing events, every mail to them) and nothing
    about anyone else; the export itself is recorded, once the file is written.

    The file is readable by its owner only (created 0600, never over another file) and named
    uniquely, so two exports in one second are two files."""
    require(actor, "export")
    c = Customer.get_or_none(Customer.id == customer_id)
    if c is None:
        raise NotFound(f"no customer with id {customer_id}")
    group = CustomerGroup.get_or_none(CustomerGroup.id == c.group_id) if c.group_id else None
    account = _plain(c, skip=("search_text", "confirm_token"))
    account["group_name"] = group.name if group else ""
    address = c.email.strip().lower()
    theirs = Order.customer == c.id
    if address:
        theirs |= fn.lower(Order.customer_email) == address
    orders = []
    for o in Order.select().where(theirs).order_by(Order.id):
        entry = _plain(o, skip=("search_text", "internal_reference", "updated_by"))
        entry["items"] = [_plain(i, skip=("order",)) for i in
                          OrderItem.select().where(OrderItem.order == o.id).order_by(OrderItem.id)]
        entry["addresses"] = [_plain(a, skip=("order", "customer")) for a in
                              Address.select().where(Address.order == o.id).order_by(Address.id)]
        entry["payments"] = [_plain(p, skip=("order", "operator_login")) for p in
                             Payment.select().where(Payment.order == o.id).order_by(Payment.id)]
        entry["events"] = [_customer_event(e) for e in OrderEvent.select().where(
            OrderEvent.order == o.id, OrderEvent.visible == True)  # noqa: E712
            .order_by(OrderEvent.id)]
        orders.append(entry)
    to_them = Outbox.customer == c.id
    if address:
        to_them |= fn.lower(Outbox.recipient) == address
    mails = [_plain(m, skip=("lease_until", "lease_owner", "idempotency_key", "batch"))
             for m in Outbox.select().where(to_them).order_by(Outbox.id)]
    history = [_plain(e, skip=("customer",)) for e in
               CustomerEvent.select().where(CustomerEvent.customer == c.id)
               .order_by(CustomerEvent.id)]
    newsletter = _newsletter_data(c.id, address)
    document = {
        "format": "backroom customer export 1",
        "shop": str(shop.config.get("shop", "name")),
        "exported_at": utcnow(),
        "exported_by": actor.login,
        "customer": account,
        "addresses": [_plain(a, skip=("customer", "order")) for a in
                      Address.select().where(Address.customer == c.id).order_by(Address.id)],
        "history": history,
        "orders": orders,
        "mails": mails,
        "newsletter": newsletter,
    }
    text = json.dumps(document, default=_json_default, ensure_ascii=False, indent=2)
    path = _write_private(Path(directory), f"customer-{c.id}-{utcnow():%Y%m%d-%H%M%S}", text)
    with db.atomic():
        CustomerEvent.create(customer=c.id, kind="exported", message=f"GDPR export to {path.name}",
                             data=json.dumps({"path": str(path)}), operator_login=actor.login)
    return ExportResult(path.resolve(), len(orders), len(mails), len(history))


def _customer_event(e: OrderEvent) -> dict[str, Any]:
    """An order's history row as the customer's export shows it: a status row's message is
    the operator's internal note, which never reaches the customer."""
    row = _plain(e, skip=("order", "operator_login", "batch"))
    if e.kind == "status":
        row["message"] = ""
    return row


def _write_private(folder: Path, stem: str, text: str) -> Path:
    """Write `text` to a new file `<stem>-<random>.json` in `folder`, readable by its owner
    only (0600 from the start, not chmod after) and never over an existing file (O_EXCL);
    a folder that cannot be written is one line naming it, and no file is left behind."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            path = folder / f"{stem}-{secrets.token_hex(4)}.json"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(text)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            return path
        raise FileExistsError(f"no free file name in {folder}")
    except OSError as exc:
        reason = folder_problem(folder / "x") or exc.strerror or str(exc)
        raise ValidationError(f"cannot write the export to {folder}: {reason}",
                              field="directory") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)
