"""Customer list and segment queries on the shared demo shop (bench.data: 200,000 customers
and 1,000,000 orders; --quick: 20,000 and 100,000), beside the same answers from hand-written
SQL on a bare sqlite3 connection. Target: backroom <= 3x the raw floor."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from typing import Any

TARGET = 3.0


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
    from bench.data import ensure_database
    from store import customer_queries as cq
    from store.config import from_mapping
    from store.models import db, utcnow
    from store.shop import open_shop

    repeat = 5 if quick else 20
    url = ensure_database(100_000 if quick else 1_000_000)
    shop = open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))
    conn = sqlite3.connect(url[len("sqlite:///"):])
    count = conn.execute("SELECT COUNT(*) FROM customer").fetchone()[0]
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
        ("customers search 'moreau' (trigram)",
         lambda: cq.customer_page(shop, cq.CustomerFilter(text="moreau"), now=now),
         lambda: _raw_page(conn, "c.id IN (SELECT rowid FROM customer_fts WHERE customer_fts "
                                 "MATCH '\"moreau\"') AND c.status <> 'deleted'", ())),
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
