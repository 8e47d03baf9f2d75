"""A campaign's audience: every subscriber, or the subscribers who are customers matching a
customer filter (the customer list's own: segments such as segment:vip, group:NAME, words),
always intersected with consent (state "subscribed", so a pending double opt-in is not in it)
and minus the suppression list. The same SQL counts it before sending and writes its
recipients (store.campaign_mail), so the count shown is the count queued.

Written-out SQL (see store.sql): the customer filter's conditions are written-out pieces."""

from __future__ import annotations

from store import customer_queries as cq
from store.models import db
from store.shop import Shop
from store.sql import Params

EVERYONE = ("", "all", "everyone")


def normal(audience: str) -> str:
    """The audience as stored: "" for every subscriber, else the filter as typed."""
    text = " ".join(audience.split())
    return "" if text.lower() in EVERYONE else text


def check(shop: Shop, audience: str) -> str:
    """The audience as stored, refused (naming what is wrong) when its filter is not one."""
    text = normal(audience)
    if text:
        cq.customer_conditions(shop, cq.parse_customer_filter(text), Params())
    return text


def where(shop: Shop, audience: str, p: Params) -> str:
    """FROM and WHERE over subscriber `s`: those of the audience who may be mailed now."""
    sql = ("FROM subscriber s WHERE s.state = 'subscribed' AND s.email_key IS NOT NULL "
           "AND NOT EXISTS (SELECT 1 FROM suppression x WHERE x.email_key = s.email_key)")
    text = normal(audience)
    if text:
        conds = cq.customer_conditions(shop, cq.parse_customer_filter(text), p)
        sql += f" AND s.customer_id IN (SELECT c.id FROM customer c WHERE {' AND '.join(conds)})"
    return sql


def count(shop: Shop, audience: str) -> int:
    """How many would receive a campaign to this audience now."""
    p = Params()
    return int(db.execute_sql(f"SELECT COUNT(*) {where(shop, audience, p)}", p).fetchone()[0])
