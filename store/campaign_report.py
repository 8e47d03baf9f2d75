"""A campaign's report: recipients, sent, failed, bounced, complaints, opens and clicks
(people apart from machines, see store.campaign_events), unsubscribed, and conversions:
the shop's own orders placed by its recipients (by their customer account, or by the address
of a guest order) within newsletter.conversion_days after a click of theirs, with revenue
per currency. Rates over the mails sent, beside the guides (GUIDES): opens 15-25%, clicks
2-5%, unsubscribes flagged above 0.5%.

Written-out SQL (see store.sql): the conversions, one statement walking the orders placed
in the clicks' window, each checked by index lookups (its subscriber by address and by
account, that subscriber's mail of the campaign, its clicks); the events counted by kind
from the covering index alone, which a report over a million events rests on; an A/B test's
scores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from store import campaign_queries
from store.db import is_sqlite
from store.models import Bounce, Campaign, db
from store.operators import Actor, require
from store.shop import Shop
from store.sql import Params, stored_time

# the seed guide's figures: open and click rates within these are usual; unsubscribes over
# UNSUBSCRIBE_FLAG of the mails sent are flagged
GUIDES = {"open": (0.15, 0.25), "click": (0.02, 0.05)}
UNSUBSCRIBE_FLAG = 0.005


@dataclass(frozen=True)
class Rate:
    name: str
    value: float | None  # None: nothing sent yet, or not tracked
    guide: str  # "15-25%", "at most 0.5%"
    verdict: str  # below the guide, within the guide, above the guide, flagged, ok, ""


@dataclass(frozen=True)
class Tracked:
    """Opens and clicks: people (distinct mails) and machines (events), apart."""

    opened: int
    open_events: int
    machine_opens: int
    clicked: int
    click_events: int
    machine_clicks: int


@dataclass(frozen=True)
class AbTest:
    """A subject A/B test as it stands: waiting for its winner, or decided (result)."""

    subject_a: str
    subject_b: str
    sample: int  # percent of the audience
    metric: str
    decide_at: dt.datetime
    winner: str
    result: str


@dataclass(frozen=True)
class CampaignReport:
    row: campaign_queries.CampaignRow
    sent: int
    failed: int  # refused at sending, or given up
    bounced: int  # addresses that bounced later (DSN), hard or soft
    complaints: int
    tracked: Tracked | None  # None when the campaign is not tracked
    unsubscribed: int
    orders: int
    revenue: dict[str, int]  # currency -> minor units
    conversion_days: int
    rates: tuple[Rate, ...]
    ab: AbTest | None = None


def _rate(name: str, count: int | None, sent: int) -> Rate:
    value = count / sent if count is not None and sent else None
    if name == "unsubscribe":
        guide = f"at most {UNSUBSCRIBE_FLAG:.1%}"
        verdict = "" if value is None else ("flagged" if value > UNSUBSCRIBE_FLAG else "ok")
        return Rate(name, value, guide, verdict)
    low, high = GUIDES[name]
    guide = f"{low * 100:g}-{high * 100:g}%"
    verdict = ("" if value is None else "below the guide" if value < low
               else "above the guide" if value > high else "within the guide")
    return Rate(name, value, guide, verdict)


Span = tuple[dt.datetime, dt.datetime] | None


def _time(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def _events(campaign_id: int) -> tuple[dict[tuple[str, bool], tuple[int, int]], Span]:
    """(kind, machine) -> (events, distinct mails), from the covering index; and the first
    and last click of a person (the conversions' window), from the two ends of the people's
    clicks' index."""
    p = Params()
    rows = db.execute_sql(
        "SELECT kind, machine, COUNT(*), COUNT(DISTINCT mail_id) FROM campaign_event "
        f"WHERE campaign_id = {p(campaign_id)} GROUP BY kind, machine", p).fetchall()
    found = {(str(k), bool(m)): (int(n), int(d)) for k, m, n, d in rows}
    span: Span = None
    if found.get(("click", False)):
        clicks = (f"FROM campaign_event WHERE campaign_id = {p(campaign_id)} AND kind = 'click' "
                  "AND machine = FALSE")  # each end read from the people's clicks' index
        first, last = db.execute_sql(  # (migration 0020), where MIN and MAX in one
            f"SELECT (SELECT MIN(created_at) {clicks}), (SELECT MAX(created_at) {clicks})",
            p).fetchone()  # SELECT read every click on SQLite
        span = (_time(first), _time(last))
    return found, span


def _placed(p: Params, since: dt.datetime, until: dt.datetime | None) -> str:
    """Orders placed in a window with the subscriber of each (by the address of the order,
    and by its customer's account): two joins, each led by the orders (CROSS JOIN keeps
    SQLite from walking the subscribers; PostgreSQL plans it as an inner join)."""
    window = f"o.placed_at >= {p(stored_time(since))} AND o.is_test = FALSE"
    if until is not None:
        window += f" AND o.placed_at <= {p(stored_time(until))}"
    pick = "SELECT o.id, o.currency, o.total, o.placed_at, s.id AS sid FROM orders o " \
           "CROSS JOIN subscriber s WHERE"
    return (f"({pick} s.email_key = LOWER(o.customer_email) AND {window} UNION ALL "
            f"{pick} s.customer_id = o.customer_id AND {window})")


def _conversions(campaign_id: int, days: int, span: Span) -> tuple[int, dict[str, int]]:
    """Orders placed by recipients within `days` after a click of theirs (people's clicks):
    the orders of the clicks' window, their recipients' mails of the campaign, a click of
    that mail before the order and within the days (index lookups all)."""
    if span is None:
        return 0, {}
    first, last = span
    p = Params()
    c = p(campaign_id)
    if is_sqlite():
        since = f"datetime(x.placed_at, {p(f'-{days} days')})"
    else:
        since = f"x.placed_at - {p(days)} * INTERVAL '1 day'"
    rows = db.execute_sql(
        f"SELECT currency, COUNT(*), SUM(total) FROM (SELECT DISTINCT x.id, x.currency, "
        f"x.total FROM {_placed(p, first, last + dt.timedelta(days=days))} x "
        f"JOIN campaign_mail m ON m.campaign_id = {c} AND m.subscriber_id = x.sid "
        f"WHERE EXISTS (SELECT 1 FROM campaign_event e WHERE e.campaign_id = {c} "
        f"AND e.kind = 'click' AND e.machine = FALSE AND e.mail_id = m.id "
        f"AND e.created_at <= x.placed_at AND e.created_at >= {since})) converted "
        f"GROUP BY currency", p).fetchall()
    return sum(int(r[1]) for r in rows), {str(r[0]): int(r[2] or 0) for r in rows}


def ab_scores(campaign_id: int, metric: str, since: dt.datetime) -> dict[str, int]:
    """An A/B test's score of each variant: mails clicked by a person, or orders placed by
    the variant's recipients since the campaign started."""
    p = Params()
    c = p(campaign_id)
    if metric == "clicks":
        rows = db.execute_sql(
            f"SELECT m.variant, COUNT(DISTINCT e.mail_id) FROM campaign_event e JOIN "
            f"campaign_mail m ON m.id = e.mail_id WHERE e.campaign_id = {c} AND e.kind = "
            f"'click' AND e.machine = FALSE AND m.variant <> '' GROUP BY m.variant",
            p).fetchall()
    else:
        rows = db.execute_sql(
            f"SELECT m.variant, COUNT(DISTINCT x.id) FROM {_placed(p, since, None)} x "
            f"JOIN campaign_mail m ON m.campaign_id = {c} AND m.subscriber_id = x.sid "
            f"WHERE m.variant <> '' AND m.state = 'sent' GROUP BY m.variant", p).fetchall()
    return {str(v): int(n) for v, n in rows}


def campaign_report(shop: Shop, actor: Actor, text: str) -> CampaignReport:
    """Everything `backroom newsletter campaign stats` shows of a campaign."""
    require(actor, "newsletter_view")
    row = campaign_queries.campaign_row(actor, text)
    counts = row.counts
    sent = counts.get("sent", 0)
    failed = counts.get("failed", 0) + counts.get("dead", 0)
    later: Any = (Bounce.select(Bounce.kind, Bounce.email_key).distinct()
                  .where(Bounce.campaign == row.id).tuples())
    kinds: dict[str, set[str]] = {}
    for kind, key in later:
        kinds.setdefault(str(kind), set()).add(str(key))
    bounced = len(kinds.get("hard", set()) | kinds.get("soft", set()))
    complaints = len(kinds.get("complaint", set()))
    tracked, span = None, None
    if row.track:
        ev, span = _events(row.id)
        people_open, machine_open = ev.get(("open", False), (0, 0)), ev.get(("open", True),
                                                                            (0, 0))
        people_click, machine_click = ev.get(("click", False), (0, 0)), ev.get(
            ("click", True), (0, 0))
        tracked = Tracked(people_open[1], people_open[0], machine_open[0], people_click[1],
                          people_click[0], machine_click[0])
    days = int(shop.config.get("newsletter", "conversion_days"))
    orders, revenue = _conversions(row.id, days, span)
    rates = (_rate("open", tracked.opened if tracked else None, sent),
             _rate("click", tracked.clicked if tracked else None, sent),
             _rate("unsubscribe", row.unsubscribed, sent))
    c = Campaign.get_by_id(row.id)
    ab = (AbTest(c.subject, c.subject_b, c.ab_sample, c.ab_metric,
                 (c.started_at or c.created_at) + dt.timedelta(minutes=c.ab_wait_minutes),
                 c.ab_winner, c.ab_result) if c.ab_sample else None)
    return CampaignReport(row, sent, failed, bounced, complaints, tracked, row.unsubscribed,
                          orders, revenue, days, rates, ab)
