"""Customer list and segment queries at 200,000 customers (SQLite), beside the same answers
from hand-written SQL on a bare sqlite3 connection. Target: backroom <= 3x the raw floor.

The database is built once with bulk inserts (customers, groups, orders) and reused from
$BACKROOM_BENCH_DIR (default: the system temp directory)."""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET = 3.0
FIRST = ["Ann", "Bob", "Chloé", "David", "Emma", "Farid", "Greta", "Hugo", "Inès", "Jules",
         "Karim", "Léa", "Marc", "Nora", "Oscar", "Paula", "Quentin", "Rosa", "Sami", "Tina"]
LAST = ["Smith", "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Roux"]
CITIES = ["Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Toulouse", "Nice"]


def _database(customers: int) -> str:
    """A SQLite file with `customers` customers and about 1.5 orders each, built once."""
    folder = Path(os.environ.get("BACKROOM_BENCH_DIR", tempfile.gettempdir()))
    path = folder / f"backroom-bench-customers-{customers}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        with sqlite3.connect(path) as conn:
            try:
                if conn.execute("SELECT COUNT(*) FROM customer").fetchone()[0] == customers:
                    return url
            except sqlite3.Error:
                pass
        path.unlink()
    _build(url, customers)
    return url


def _build(url: str, count: int) -> None:
    from store.codes import format_code
    from store.config import from_mapping
    from store.customers import customer_search_text
    from store.models import Customer, CustomerGroup, Order, db, utcnow
    from store.shop import open_shop

    started = time.perf_counter()
    open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))
    rng = random.Random(5)
    now = utcnow()
    with db.atomic():
        groups = [CustomerGroup.create(name=n, is_default=(n == "Retail")).id
                  for n in ("Retail", "Trade", "VIP")]
    batch: list[dict[str, Any]] = []
    for i in range(1, count + 1):
        first, last, city = rng.choice(FIRST), rng.choice(LAST), rng.choice(CITIES)
        email = f"{first.lower()}.{last.lower()}{i}@example.com"
        phone = f"+33 6 {rng.randrange(10**8):08d}"
        row = {"first_name": first, "last_name": last, "email": email, "email_key": email,
               "phone": phone, "group": rng.choice(groups), "marketing_consent": rng.random() < .3,
               "registered_at": now - dt.timedelta(days=rng.randrange(1, 1100)),
               "created_at": now, "updated_at": now}
        row["search_text"] = customer_search_text(row, city)
        batch.append(row)
        if len(batch) == 5000:
            with db.atomic():
                Customer.insert_many(batch).execute()
            batch = []
    if batch:
        with db.atomic():
            Customer.insert_many(batch).execute()
    number = 100000
    orders: list[dict[str, Any]] = []
    for customer_id in range(1, count + 1):
        for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 2, 3, 4))):
            number += 1
            total = rng.randrange(1000, 60000) if rng.random() > .02 else rng.randrange(300000,
                                                                                     900000)
            orders.append({
                "number": number, "code": format_code("BR", number), "customer": customer_id,
                "customer_name": "x", "customer_email": "x@example.com", "status": "paid",
                "currency": "EUR", "subtotal": total, "total": total, "amount_paid": total,
                "item_count": 1, "placed_at": now - dt.timedelta(days=rng.randrange(0, 900),
                                                                  minutes=rng.randrange(1440)),
                "created_at": now, "updated_at": now})
            if len(orders) == 5000:
                with db.atomic():
                    Order.insert_many(orders).execute()
                orders = []
    if orders:
        with db.atomic():
            Order.insert_many(orders).execute()
    db.execute_sql("ANALYZE")
    db.close()
    print(f"customers: built {count:,} customers and {number - 100000:,} orders in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of `repeat` runs (after one warm-up), and the last result."""
    result = fn()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def _line(name: str, ours: float, raw: float) -> bool:
    ratio = ours / raw if raw else float("inf")
    met = ratio <= TARGET
    print(f"{name}: backroom {ours * 1000:.2f} ms beside raw SQL {raw * 1000:.2f} ms "
          f"({ratio:.1f}x), target <= {TARGET:g}x, {'met' if met else 'MISSED'}")
    return met


RAW_STATS = ("SELECT customer_id, COUNT(*), COALESCE(SUM(CASE WHEN currency = 'EUR' THEN "
             "amount_paid - amount_refunded ELSE 0 END), 0), MAX(placed_at) FROM orders "
             "WHERE customer_id IN ({ids}) AND NOT is_test GROUP BY customer_id")
RAW_PAGE = ("SELECT c.id, c.first_name, c.last_name, c.email, c.status, g.name FROM customer c "
            "LEFT JOIN customer_group g ON g.id = c.group_id WHERE {where} "
            "ORDER BY c.id DESC LIMIT 101")


def _raw_page(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> int:
    rows = conn.execute(RAW_PAGE.format(where=where), params).fetchall()[:100]
    ids = [r[0] for r in rows]
    if ids:
        conn.execute(RAW_STATS.format(ids=",".join("?" * len(ids))), ids).fetchall()
    return len(rows)


def main(quick: bool = False) -> tuple[int, int]:
    from store import customer_queries as cq
    from store.config import from_mapping
    from store.models import db, utcnow
    from store.shop import open_shop

    count = 200_000
    repeat = 5 if quick else 20
    url = _database(count)
    shop = open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))
    conn = sqlite3.connect(url[len("sqlite:///"):])
    now = utcnow()
    t = cq.thresholds(shop, now)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    deep_cursor = str(count // 2)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("customers list, first page",
         lambda: cq.customer_page(shop, cq.CustomerFilter(), now=now),
         lambda: _raw_page(conn, "c.status <> 'deleted'", ())),
        ("customers list, page in the middle (keyset)",
         lambda: cq.customer_page(shop, cq.CustomerFilter(), deep_cursor, now=now),
         lambda: _raw_page(conn, "c.status <> 'deleted' AND c.id < ?", (int(deep_cursor),))),
        ("customers search 'laurent' (trigram)",
         lambda: cq.customer_page(shop, cq.CustomerFilter(text="laurent"), now=now),
         lambda: _raw_page(conn, "c.id IN (SELECT rowid FROM customer_fts WHERE customer_fts "
                                 "MATCH '\"laurent\"') AND c.status <> 'deleted'", ())),
        ("customers search 'le' (prefix)",
         lambda: cq.customer_page(shop, cq.CustomerFilter(text="le"), now=now),
         lambda: _raw_page(conn, "((lower(c.last_name) >= 'le' AND lower(c.last_name) < 'lf') "
                                 "OR (lower(c.first_name) >= 'le' AND lower(c.first_name) < 'lf') "
                                 "OR (c.email_key >= 'le' AND c.email_key < 'lf')) "
                                 "AND c.status <> 'deleted'", ())),
        ("segment VIP, first page",
         lambda: cq.customer_page(shop, cq.CustomerFilter(segment="vip"), now=now),
         lambda: _raw_page(conn, "c.status <> 'deleted' AND (SELECT COALESCE(SUM(o.amount_paid "
                                 "- o.amount_refunded), 0) FROM orders o WHERE o.customer_id = "
                                 "c.id AND NOT o.is_test AND o.currency = 'EUR') > ?",
                           (t.vip_minor,))),
        ("segment recent buyers, all ids",
         lambda: cq.segment_ids(shop, "recent", now=now),
         lambda: conn.execute("SELECT c.id FROM customer c WHERE c.status = 'active' AND EXISTS "
                              "(SELECT 1 FROM orders o WHERE o.customer_id = c.id AND NOT "
                              "o.is_test AND o.placed_at >= ?) ORDER BY c.id",
                              (t.recent_since.strftime(fmt),)).fetchall()),
        ("segment first-time buyers, all ids",
         lambda: cq.segment_ids(shop, "first", now=now),
         lambda: conn.execute("SELECT c.id FROM customer c WHERE c.status = 'active' AND "
                              "(SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id AND "
                              "NOT o.is_test) = 1 ORDER BY c.id").fetchall()),
    ]
    met = 0
    for name, ours_fn, raw_fn in cases:
        raw, _ = _best(raw_fn, repeat)
        ours, _ = _best(ours_fn, repeat)
        met += _line(f"{name} ({count:,} customers)", ours, raw)
    conn.close()
    db.close()
    return met, len(cases)


if __name__ == "__main__":
    done, total = main("--quick" in sys.argv)
    print(f"bench: {done} of {total} targets met")
