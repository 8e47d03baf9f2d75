"""Customer list, search and segments on the shared demo shop (bench.data: 200,000 customers
and 1,000,000 orders; --quick: 20,000 and 100,000), beside hand-written SQL on a bare sqlite3
connection (written here, not taken from backroom), both called on this thread. Medians of
interleaved rounds.

Targets: the list and search <= 3x raw; each segment's first page and all five segment
counts <= 1.5x raw, the floor reading the kept per-customer columns (order_count, spent,
last_order_at) with their indexes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from bench.common import Raw, beside_plans

LIST_TARGET = 3.0
SEGMENT_TARGET = 1.5
RAW_PAGE = ("SELECT c.id, c.first_name, c.last_name, c.email, c.status, g.name, c.order_count, "
            "c.spent, c.last_order_at FROM {table} LEFT JOIN customer_group g "
            "ON g.id = c.group_id WHERE {where} ORDER BY c.id DESC LIMIT 101")
RAW_PLACES = ("SELECT customer_id, postcode, city, country FROM address WHERE customer_id IN "
              "({ids}) ORDER BY customer_id, CASE kind WHEN 'shipping' THEN 0 ELSE 1 END, id")


def _raw_page(raw: Raw, where: str, params: tuple[Any, ...] = (),
              table: str = "customer c") -> int:
    rows = raw.all(RAW_PAGE.format(where=where, table=table), params)[:100]
    ids = [r[0] for r in rows]
    if ids:
        raw.all(RAW_PLACES.format(ids=",".join("?" * len(ids))), ids)
    return len(rows)


def _plan(raw: Raw, where: str, params: tuple[Any, ...], table: str) -> Callable[[], int]:
    """One raw plan of a page: `table` is `customer c` with SQLite's INDEXED BY or NOT INDEXED."""
    return lambda: _raw_page(raw, where, params, table)


def _call(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """The store call on this thread: these figures compare queries, not the app's worker
    threads (the queue figures of bench.__main__ count those)."""
    return lambda: fn(*args)


def _line(name: str, ours: float, floors: dict[str, float], target: float) -> bool:
    best = min(floors, key=lambda n: floors[n])
    floor = floors[best]
    ratio = ours / floor if floor else float("inf")
    met = ratio <= target
    plan = f" ({best})" if len(floors) > 1 else ""
    others = "; ".join(f"{n} {v:.2f} ms" for n, v in floors.items() if n != best)
    print(f"{name}: backroom {ours:.2f} ms beside raw SQL{plan} {floor:.2f} ms ({ratio:.2f}x), "
          f"target <= {target:g}x, {'met' if met else 'MISSED'}"
          + (f" (other raw plans: {others})" if others else ""))
    return met


def main(quick: bool = False) -> tuple[int, int]:
    from bench.data import ensure_database
    from store.config import from_mapping
    from store.models import db, utcnow
    from store.shop import open_shop

    rounds = 5 if quick else 15
    url = ensure_database(100_000 if quick else 1_000_000)
    shop = open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}), pooled=True)
    raw = Raw(url)
    count = raw.one("SELECT COUNT(*) FROM customer")[0]
    now = utcnow()
    cases = _list_cases(shop, raw, count) + _segment_cases(shop, raw, now)
    met = 0
    for name, ours_fn, raw_fns, target in cases:
        ours, found = beside_plans(ours_fn, raw_fns, rounds)
        met += _line(f"{name} ({count:,} customers)", ours, found, target)
    raw.close()
    db.close()
    return met, len(cases)


# name, ours, the raw plans (the best of them is the floor), target
Case = tuple[str, Callable[[], Any], dict[str, Callable[[], Any]], float]
LIVE = "c.status <> 'deleted'"
# the name prefix "le": the planner reads it through three indexes and sorts every match;
# the walk down the list (NOT INDEXED: by id alone) stops at a page
PREFIX_LE = ("((lower(c.last_name) >= 'le' AND lower(c.last_name) < 'lf') OR (lower(c.first_name) "
             ">= 'le' AND lower(c.first_name) < 'lf') OR (c.email_key >= 'le' AND c.email_key < "
             "'lf')) AND ")


def _list_cases(shop: Any, raw: Raw, count: int) -> list[Case]:
    """The list's first page and one in the middle, and two searches."""
    from store import customer_queries as cq

    deep = count // 2
    return [
        ("customers list, first page", _call(cq.customer_page, shop, cq.CustomerFilter()),
         {"planner": lambda: _raw_page(raw, LIVE)}, LIST_TARGET),
        ("customers list, page in the middle (keyset)",
         _call(cq.customer_page, shop, cq.CustomerFilter(), str(deep)),
         {"planner": lambda: _raw_page(raw, f"{LIVE} AND c.id < ?", (deep,))}, LIST_TARGET),
        ("customers search 'moreau' (trigram)",
         _call(cq.customer_page, shop, cq.CustomerFilter(text="moreau")),
         {"planner": lambda: _raw_page(raw, "c.id IN (SELECT rowid FROM customer_fts WHERE "
                                           "customer_fts MATCH '\"moreau\"') AND " + LIVE)},
         LIST_TARGET),
        ("customers search 'le' (prefix)",
         _call(cq.customer_page, shop, cq.CustomerFilter(text="le")),
         {plan: _plan(raw, PREFIX_LE + LIVE, (), table) for plan, table in
          (("planner", "customer c"), ("walk", "customer c NOT INDEXED"))},
         LIST_TARGET),
    ]


def _segment_cases(shop: Any, raw: Raw, now: Any) -> list[Case]:
    """Each segment's first page and all five counts; the floors' counts checked against
    backroom's first."""
    from store import customer_queries as cq

    t = cq.thresholds(shop, now)
    recent, inactive = str(t.recent_since), str(t.inactive_since)
    segments = {  # hand-written: each segment on its kept column, and that column's index
        "vip": ("c.spent > ?", (t.vip_minor,), "customer_spent"),
        "recent": ("c.last_order_at >= ?", (recent,), "customer_last_order"),
        "inactive": ("c.registered_at <= ? AND (c.last_order_at IS NULL OR "
                     "c.last_order_at <= ?)", (inactive, inactive), ""),
        "subscribers": ("c.marketing_consent", (), ""),
        "first": ("c.order_count = 1", (), "customer_order_count"),
    }
    cases: list[Case] = []
    for name, (where, params, index) in segments.items():
        # SQLite's planner guesses a range's share of the table: the other plans are the
        # column's index (every match read, then sorted) and the walk down the list by id
        plans = {"planner": "customer c", "walk": "customer c NOT INDEXED"}
        if index:
            plans["index"] = f"customer c INDEXED BY {index}"
        cases.append((f"segment {name}, first page",
                      _call(cq.customer_page, shop, cq.CustomerFilter(segment=name), None,
                                100, False, now),
                      {plan: _plan(raw, f"{LIVE} AND {where}", params, table)
                       for plan, table in plans.items()}, SEGMENT_TARGET))

    def raw_counts(indexed: bool = False) -> list[int]:
        return [raw.one(f"SELECT COUNT(*) FROM customer c "
                        f"{f'INDEXED BY {index}' if indexed and index else ''} "
                        f"WHERE {LIVE} AND {where}", params)[0]
                for where, params, index in segments.values()]

    cases.append(("all five segment counts", _call(cq.segment_counts, shop, now),
                  {"planner": raw_counts, "each by its index": lambda: raw_counts(True)},
                  SEGMENT_TARGET))
    ours = list(cq.segment_counts(shop, now).values())
    assert ours == raw_counts() == raw_counts(True), "the counts differ"
    return cases


if __name__ == "__main__":
    done, total = main("--quick" in sys.argv)
    print(f"bench: {done} of {total} targets met")
