"""`python -m bench [--quick]`: backroom's queue, search, lookup and bulk change on a demo
shop of 1,000,000 orders (100,000 with --quick), each beside the raw floor measured in the
same run with plain sqlite3 on the same file, then the other bench modules. The last line is
`bench: N of M targets met`."""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.data import ensure_database

ROW_SQL = (
    "SELECT o.id, o.code, o.placed_at, o.customer_name, o.customer_email, o.item_count, "
    "o.total, o.currency, o.status, (SELECT CASE WHEN m.state = 'queued' AND m.hold_until > ? "
    "THEN 'held' ELSE m.state END FROM outbox m WHERE m.order_id = o.id ORDER BY m.id DESC "
    "LIMIT 1), o.version, o.archived, o.is_test, o.number FROM orders o "
)


class Report:
    """Collects targets met and prints one line per figure."""

    def __init__(self) -> None:
        self.met = 0
        self.total = 0

    def line(self, name: str, ours: float, raw: float, raw_name: str = "raw") -> None:
        ratio = ours / raw if raw else float("inf")
        print(f"{name}: backroom {ours:.3f} ms beside {raw_name} {raw:.3f} ms ({ratio:.2f}x)")

    def target(self, name: str, ok: bool, text: str) -> None:
        self.total += 1
        self.met += ok
        print(f"  target {name}: {text}, {'met' if ok else 'MISSED'}")


def timed(fn: Callable[[], Any], repeat: int = 15) -> float:
    """Median wall time of fn in milliseconds, after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run_store(url: str, quick: bool, report: Report) -> None:
    from store import db as dbmod
    from store import orders, queries, status
    from store.config import from_mapping
    from store.models import utcnow
    from store.operators import SYSTEM
    from store.queries import QueueFilter
    from store.search import fts_query
    from store.shop import open_shop

    path = url[len("sqlite:///"):]
    shop = open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA cache_size = -64000")
    now = str(utcnow())
    limit = 100
    current = raw.execute("SELECT COUNT(*) FROM orders WHERE archived = 0").fetchone()[0]
    print(f"database: {path} ({current:,} current orders)")

    # queue, first page
    f = QueueFilter()
    page_sql = ROW_SQL + "WHERE o.archived = 0 ORDER BY o.placed_at DESC, o.id DESC LIMIT ?"
    ours = timed(lambda: queries.queue_page(f, None, limit))
    floor = timed(lambda: raw.execute(page_sql, (now, limit + 1)).fetchall())
    report.line("queue first page", ours, floor)
    report.target("queue page <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")
    first_page = ours

    # a deep page by cursor: the key of row 399,900 (or as deep as the shop goes)
    depth = min(4000 * limit - limit, current - 2 * limit)
    key = raw.execute("SELECT placed_at, id FROM orders WHERE archived = 0 ORDER BY placed_at "
                      "DESC, id DESC LIMIT 1 OFFSET ?", (depth,)).fetchone()
    row = queries.OrderRow(key[1], "", queries.dt.datetime.fromisoformat(key[0]), "", "", 0, 0,
                           "", "", "", 0, False, False)
    cursor = queries._encode(f, queries._key_values("placed", row))
    deep_sql = ROW_SQL + ("WHERE o.archived = 0 AND (o.placed_at, o.id) < (?, ?) "
                          "ORDER BY o.placed_at DESC, o.id DESC LIMIT ?")
    ours = timed(lambda: queries.queue_page(f, cursor, limit))
    floor = timed(lambda: raw.execute(deep_sql, (now, key[0], key[1], limit + 1)).fetchall())
    offset_sql = ROW_SQL + "WHERE o.archived = 0 ORDER BY o.placed_at DESC, o.id DESC " \
        "LIMIT ? OFFSET ?"
    offset = timed(lambda: raw.execute(offset_sql, (now, limit, depth)).fetchall(), repeat=3)
    report.line(f"queue page {depth // limit + 1:,} by cursor", ours, floor)
    print(f"  (the same page by OFFSET: {offset:.3f} ms)")
    report.target("deep page <= 1.5x page 1", ours <= 1.5 * first_page,
                  f"{ours / first_page:.2f}x page 1")

    # counts per status (the tabs)
    ours = timed(lambda: queries.status_counts(f), repeat=5)
    floor = timed(lambda: raw.execute("SELECT status, COUNT(*) FROM orders WHERE archived = 0 "
                                      "GROUP BY status").fetchall(), repeat=5)
    report.line("counts per status", ours, floor)
    report.target("counts <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")

    # lookup by code
    number, code = raw.execute("SELECT number, code FROM orders ORDER BY id DESC LIMIT 1 "
                               "OFFSET 777").fetchone()
    ours = timed(lambda: orders.find_order(shop, code.lower()), repeat=200)
    floor = timed(lambda: raw.execute("SELECT id, code FROM orders WHERE number = ?",
                                      (number,)).fetchone(), repeat=200)
    report.line("lookup by code", ours, floor)
    report.target("lookup <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")

    # search: the first page for a term, beside a LIKE scan and the raw FTS5 query. For a
    # common term the LIKE query stops after a page of hits on the placed index, so neither
    # FTS5 nor backroom (which walks that same index for such a term) can be 20x faster.
    terms = (("common", "Gonçalves"), ("rare", code), ("no match", "zqxjkv"))
    like_sql = ROW_SQL + ("WHERE o.archived = 0 AND o.search_text LIKE ? "
                          "ORDER BY o.placed_at DESC, o.id DESC LIMIT ?")
    fts_sql = ROW_SQL + ("WHERE o.archived = 0 AND o.id IN (SELECT rowid FROM order_fts "
                         "WHERE order_fts MATCH ?) ORDER BY o.placed_at DESC, o.id DESC LIMIT ?")
    for label, term in terms:
        tf = QueueFilter(text=term)
        ours = timed(lambda tf=tf: queries.queue_page(tf, None, limit), repeat=7)
        like = timed(lambda term=term: raw.execute(like_sql, (now, f"%{term}%", limit + 1))
                     .fetchall(), repeat=3)
        fts = timed(lambda term=term: raw.execute(fts_sql, (now, fts_query([term]), limit + 1))
                    .fetchall(), repeat=7)
        report.line(f"search {label} ({term!r})", ours, fts, "raw FTS5")
        print(f"  (LIKE scan: {like:.3f} ms, {like / ours:.1f}x backroom's time and "
              f"{like / fts:.1f}x raw FTS5's: below 20x, even the floor misses that target)")
        report.target(f"search {label} >= 20x faster than LIKE", like >= 20 * ours,
                      f"{like / ours:.1f}x")
        report.target(f"search {label} <= 2x raw FTS5", ours <= 2 * fts, f"{ours / fts:.2f}x")

    # bulk status change of 10,000 orders (history and outbox rows), rolled back each time
    count = 10000
    ids = [r[0] for r in raw.execute(
        "SELECT id FROM orders WHERE archived = 0 AND status = 'completed' "
        "ORDER BY placed_at DESC LIMIT ?", (count,))]
    database = dbmod.db

    def ours_bulk() -> None:
        with database.atomic() as txn:
            change = status.change_status(shop, SYSTEM, ids, "refunded", notify=True)
            assert len(change.changed) == len(ids), change.summary()
            txn.rollback()

    def raw_bulk() -> None:
        stamp = str(utcnow())
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("CREATE TEMP TABLE IF NOT EXISTS bulk_ids (id INTEGER PRIMARY KEY)")
        raw.executemany("INSERT INTO bulk_ids VALUES (?)", [(i,) for i in ids])
        raw.execute("INSERT INTO order_event (order_id, kind, from_status, to_status, message, "
                    "data, operator_login, visible, batch, created_at, updated_at) "
                    "SELECT id, 'status', status, 'refunded', '', '{}', 'system', 1, 'b', ?, ? "
                    "FROM orders WHERE id IN (SELECT id FROM bulk_ids)", (stamp, stamp))
        raw.execute("INSERT INTO outbox (kind, recipient, language, payload, idempotency_key, "
                    "state, order_id, customer_id, batch, subject, attempts, next_attempt_at, "
                    "last_error, lease_owner, message_id, hold_until, created_at, updated_at) "
                    "SELECT 'refunded', customer_email, language, '{\"order_id\": ' || id || "
                    "'}', 'status:' || id || ':b', 'queued', id, customer_id, 'b', '', 0, ?, "
                    "'', '', '', ?, ?, ? FROM orders WHERE id IN (SELECT id FROM bulk_ids)",
                    (stamp, stamp, stamp, stamp))
        raw.execute("UPDATE orders SET status = 'refunded', version = version + 1, "
                    "updated_at = ?, updated_by = 'system' WHERE id IN "
                    "(SELECT id FROM bulk_ids)", (stamp,))
        raw.execute("ROLLBACK")

    repeat = 3
    ours = timed(ours_bulk, repeat=repeat)
    floor = timed(raw_bulk, repeat=repeat)
    report.line(f"bulk status change of {len(ids):,} orders", ours, floor)
    report.target("bulk 10,000 <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")
    raw.close()
    dbmod.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 orders, under a minute")
    args = parser.parse_args(argv)
    orders = 100_000 if args.quick else 1_000_000
    started = time.perf_counter()
    report = Report()
    run_store(ensure_database(orders), args.quick, report)
    met, total = report.met, report.total
    for name in ("bench.customers", "bench.tui", "bench.mail", "bench.documents", "bench.ops"):
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        try:
            m, t = module.main(args.quick)
        except Exception as exc:  # one broken bench must not hide the others' figures
            print(f"{name}: failed: {type(exc).__name__}: {exc}")
            continue
        met, total = met + m, total + t
    print(f"(bench ran {time.perf_counter() - started:.0f} s)")
    print(f"bench: {met} of {total} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
