"""`python -m bench [--quick] [--database URL]`: backroom's queue, search, lookup, bulk change and
CSV export on a demo shop, each beside a raw floor measured in the same run (plain sqlite3 on
the same file, or plain psycopg2 on the same PostgreSQL database: hand-written SQL, no
backroom code), then the other bench modules. Figures are medians of interleaved rounds (the
contestants take turns, so each sees the same weather on a shared machine).

SQLite: 1,000,000 orders (--quick 100,000) under bench/data/. PostgreSQL (`--database
postgresql://...`): 200,000 orders (--quick 50,000), built there on first use (the database
must be empty or hold exactly that shop), then reused. The last line is `bench: N of M
targets met`."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from typing import Any

from bench.common import Raw, Report, beside_plans, in_worker, interleaved, shown

ROW_SQL = (
    "SELECT o.id, o.code, o.placed_at, o.customer_name, o.customer_email, o.item_count, "
    "o.total, o.currency, o.status, (SELECT CASE WHEN m.state = 'queued' AND m.hold_until > ? "
    "THEN 'held' ELSE m.state END FROM outbox m WHERE m.order_id = o.id AND m.state IN "
    "('queued', 'sending', 'sent', 'failed', 'dead') AND m.kind <> 'merchant_new_order' "
    "ORDER BY m.id DESC LIMIT 1), o.version, o.archived, o.is_test, o.number FROM orders o "
)
PAGE = 100


def _mostly_archived_reference(raw: Raw) -> str:
    """An invoice-reference year whose orders are mostly archived but not all: the term whose
    matches are mostly elsewhere than the current queue."""
    rows = raw.all("SELECT substr(internal_reference, 1, 8), SUM(CASE WHEN archived THEN 1 "
                   "ELSE 0 END), COUNT(*) FROM orders WHERE internal_reference LIKE 'INV-%' "
                   "GROUP BY substr(internal_reference, 1, 8)")
    mostly = [(a / n, ref) for ref, a, n in rows if 0.5 < a / n < 1]
    return max(mostly)[1] if mostly else "INV-2024"


def _search_floors(raw: Raw, now: str, word: str) -> dict[str, Any]:
    """The raw plans for one folded word's first page of the current queue."""
    order = "ORDER BY o.placed_at DESC, o.id DESC LIMIT ?"
    pattern = f"%{word}%"
    walk = (ROW_SQL + "WHERE o.archived = ? AND EXISTS (SELECT 1 FROM order_search s WHERE "
            "s.order_id = o.id AND s.text LIKE ?) " + order)
    if raw.sqlite:
        fts = (ROW_SQL + "WHERE o.archived = ? AND o.id IN (SELECT rowid FROM order_fts WHERE "
               "order_fts MATCH ?) " + order)
        phrase = '"' + word.replace('"', '""') + '"'
        return {"FTS5": lambda: raw.all(fts, (now, False, phrase, PAGE + 1)),
                "LIKE walk": lambda: raw.all(walk, (now, False, pattern, PAGE + 1))}
    planner = (ROW_SQL + "WHERE o.archived = ? AND o.id IN (SELECT order_id FROM order_search "
               "WHERE text LIKE ?) " + order)
    trigram = ("WITH hits AS MATERIALIZED (SELECT order_id FROM order_search WHERE text LIKE ?) "
               + ROW_SQL + "WHERE o.archived = ? AND o.id IN (SELECT order_id FROM hits) "
               + order)

    def forced_walk() -> Any:
        raw.run("BEGIN")
        raw.run("SET LOCAL enable_bitmapscan = off")
        raw.run("SET LOCAL enable_hashjoin = off")
        found = raw.all(walk, (now, False, pattern, PAGE + 1))
        raw.run("COMMIT")
        return found

    return {"planner": lambda: raw.all(planner, (now, False, pattern, PAGE + 1)),
            "trigram": lambda: raw.all(trigram, (pattern, now, False, PAGE + 1)),
            "walk": forced_walk}


STORE_PARTS = ("queue", "lookup", "search", "typing", "bulk", "export")


def run_store(url: str, quick: bool, report: Report, only: tuple[str, ...] = STORE_PARTS) -> None:
    """The store figures; `only` names the parts to run (the search alone while tuning it)."""
    from store import db as dbmod
    from store.config import from_mapping
    from store.models import utcnow
    from store.shop import open_shop

    pg = not url.startswith("sqlite:///")
    shop = open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}), pooled=True)
    raw = Raw(url)
    now = str(utcnow())
    rounds = 5 if quick else 9
    current = raw.one("SELECT COUNT(*) FROM orders WHERE archived = ?", (False,))[0]
    print(f"database: {dbmod.redact(url)} ({current:,} current orders)")
    if "queue" in only:
        _queue(raw, report, now, rounds, current)
    code = _lookup(shop, raw, report) if "lookup" in only else _code(raw)[1]
    if "search" in only:
        _search(shop, raw, report, now, rounds, code)
    if "search" in only:
        _short_search(shop, raw, now, rounds)
        _word_beside_short(shop, raw, now, rounds)
        _product_search(shop, raw, now, rounds)
    if "typing" in only:
        _typing(shop)
    if "bulk" in only:
        _bulk(shop, raw, report, rounds=3)
    if not pg and "export" in only:
        _export(url, raw, report, quick)
    raw.close()
    from tui.workers import readers

    readers.close()
    dbmod.close()


def _queue(raw: Raw, report: Report, now: str, rounds: int, current: int) -> None:
    """The queue's first page, the Archived tab, a deep page by cursor and the counts per
    status, as the app asks them: on one of its read threads, which keeps its connection."""
    from store import queries
    from store.queries import QueueFilter

    # queue, first page
    f = QueueFilter()
    # ordered by the queue's index as a whole: with the sort key alone, PostgreSQL's planner
    # reads the Archived tab's first page through the placed_at index, past every current
    # order (12-80 ms where this takes 0.05); SQLite plans both forms alike
    page_sql = ROW_SQL + ("WHERE o.archived = ? ORDER BY o.archived DESC, o.placed_at DESC, "
                          "o.id DESC LIMIT ?")
    ours, floor = interleaved([in_worker(queries.queue_page, f, None, PAGE),
                               lambda: raw.all(page_sql, (now, False, PAGE + 1))], rounds * 3)
    report.line("queue first page", ours, floor)
    report.target("queue page <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")
    first_page = ours

    # the Archived tab
    fa = QueueFilter(archived=True)
    ours, floor = interleaved([in_worker(queries.queue_page, fa, None, PAGE),
                               lambda: raw.all(page_sql, (now, True, PAGE + 1))], rounds * 3)
    report.line("archived tab, first page", ours, floor)
    report.target("archived page <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")

    # a deep page by cursor: the key of row 399,900 (or as deep as the shop goes)
    depth = min(4000 * PAGE - PAGE, current - 2 * PAGE)
    key = raw.one("SELECT placed_at, id FROM orders WHERE archived = ? ORDER BY placed_at "
                  "DESC, id DESC LIMIT 1 OFFSET ?", (False, depth))
    placed = key[0] if not isinstance(key[0], str) else queries.dt.datetime.fromisoformat(key[0])
    row = queries.OrderRow(key[1], "", placed, "", "", 0, 0, "", "", "", 0, False, False)
    cursor = queries._encode(f, queries._key_values("placed", row))
    deep_sql = ROW_SQL + ("WHERE o.archived = ? AND (o.placed_at, o.id) < (?, ?) "
                          "ORDER BY o.placed_at DESC, o.id DESC LIMIT ?")
    ours, floor = interleaved([in_worker(queries.queue_page, f, cursor, PAGE),
                               lambda: raw.all(deep_sql, (now, False, key[0], key[1],
                                                          PAGE + 1))],
                              rounds * 3)
    report.line(f"queue page {depth // PAGE + 1:,} by cursor", ours, floor)
    report.target("deep page <= 1.5x page 1", ours <= 1.5 * first_page,
                  f"{ours / first_page:.2f}x page 1")

    # counts per status (the tabs)
    ours, floor = interleaved([in_worker(queries.status_counts, f),
                               lambda: raw.all("SELECT status, COUNT(*) FROM orders WHERE "
                                               "archived = ? GROUP BY status", (False,))],
                              rounds)
    report.line("counts per status", ours, floor)
    report.target("counts <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")


def _code(raw: Raw) -> tuple[int, str]:
    """The number and code of the order looked up (and searched for as a rare term)."""
    number, code = raw.one("SELECT number, code FROM orders ORDER BY id DESC LIMIT 1 "
                           "OFFSET 777")
    return int(number), str(code)


def _lookup(shop: Any, raw: Raw, report: Report) -> str:
    """Lookup by code (a scanner's path: the main thread, no worker); the code looked up."""
    from store import orders

    number, code = _code(raw)
    ours, floor = interleaved([lambda: orders.find_order(shop, code.lower()),
                               lambda: raw.one("SELECT id, code FROM orders WHERE number = ?",
                                               (number,))], 200)
    report.line("lookup by code", ours, floor)
    report.target("lookup <= 3x raw", ours <= 3 * floor, f"{ours / floor:.2f}x")
    return str(code)


def _search(shop: Any, raw: Raw, report: Report, now: str, rounds: int, code: str) -> None:
    """The first page for each kind of term, as typing asks it: a new filter on a read
    thread (its SQL compiled once per shape of text, as the app keeps it), beside the raw
    plans."""
    from store import queries
    from store.folding import fold_query
    from store.queries import parse_filter

    archived_term = _mostly_archived_reference(raw)
    terms = (("rare", code), ("common", "Gonçalves"), ("no match", "zqxjkv"),
             ("accent-folded", "goncalves"), ("mostly archived", archived_term))
    for label, term in terms:
        def ours_search(term: str = term) -> Any:
            return in_worker(lambda: queries.queue_page(parse_filter(term, shop.workflow),
                                                         None, PAGE))()

        ours, found = beside_plans(ours_search, _search_floors(raw, now, fold_query(term)),
                                   rounds)
        best_name = min(found, key=lambda n: found[n])
        best = found[best_name]
        report.line(f"search {label} ({term!r})", ours, best, f"best raw plan ({best_name})")
        print("  (raw plans: " + ", ".join(f"{n} {v:.3f} ms" for n, v in found.items()) + ")")
        report.target(f"search {label} <= 1.5x the best raw plan", ours <= 1.5 * best,
                      f"{ours / best:.2f}x")


def _short_search(shop: Any, raw: Raw, now: str, rounds: int) -> None:
    """A query of 1-2 characters (the start of a code, an email or a folded name), one that
    starts nothing and a common one, beside the raw plans: the planner's statement, every
    match's id read from the three indexes first, and on SQLite the walk of the queue's
    index checking each order's name (shown, not a target)."""
    from store import queries
    from store.queries import parse_filter

    order = "ORDER BY o.placed_at DESC, o.id DESC LIMIT ?"
    low = "o.code >= ? AND o.code < ?" if raw.sqlite else "o.code LIKE ?"
    email = ("lower(o.customer_email) >= ? AND lower(o.customer_email) < ?" if raw.sqlite
             else "lower(o.customer_email) LIKE ?")
    name = "s.name >= ? AND s.name < ?" if raw.sqlite else "s.name LIKE ?"
    for text in ("zz", "a"):
        bounds = [(text.upper(), text.upper()[:-1] + chr(ord(text.upper()[-1]) + 1)),
                  (text, text[:-1] + chr(ord(text[-1]) + 1)),
                  (text, text[:-1] + chr(ord(text[-1]) + 1))]
        args = [list(b) if raw.sqlite else [b[0] + "%"] for b in bounds]
        prefix = (f"({low} OR {email} OR o.id IN (SELECT s.order_id FROM order_search s WHERE "
                  f"{name}))")
        walked = (f"({low} OR {email} OR EXISTS (SELECT 1 FROM order_search s WHERE "
                  f"s.order_id = o.id AND {name}))")
        table = "orders o INDEXED BY orders_queue_placed " if raw.sqlite else "orders o "

        def by_ids(args: list[list[str]] = args) -> Any:
            ids: set[int] = set()
            for sql, values in ((f"SELECT o.id FROM orders o WHERE {low}", args[0]),
                                (f"SELECT o.id FROM orders o WHERE {email}", args[1]),
                                (f"SELECT s.order_id FROM order_search s WHERE {name}",
                                 args[2])):
                ids.update(r[0] for r in raw.all(sql, values))
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            return raw.all(ROW_SQL + f"WHERE o.archived = ? AND o.id IN ({marks}) " + order,
                           (now, False, *ids, PAGE + 1))

        flat = [v for a in args for v in a]
        plans = {"planner": lambda flat=flat, prefix=prefix: raw.all(
                     ROW_SQL + f"WHERE o.archived = ? AND {prefix} " + order,
                     (now, False, *flat, PAGE + 1)),
                 "by ids": by_ids}
        if raw.sqlite:
            plans["walk"] = lambda flat=flat, walked=walked, table=table: raw.all(
                ROW_SQL.replace("FROM orders o ", "FROM " + table)
                + f"WHERE o.archived = ? AND {walked} " + order, (now, False, *flat, PAGE + 1))
        f = parse_filter(text, shop.workflow)
        ours, found = beside_plans(in_worker(queries.queue_page, f, None, PAGE), plans, rounds)
        shown(f"search of 1-2 characters ({text!r})", ours, found)


def _word_beside_short(shop: Any, raw: Raw, now: str, rounds: int) -> None:
    """A word on every order (the demo's email domain) beside a 1-2 character one, as typing
    `example jo` passes through: the trigram index answers the long word only, so the raw
    plans are its matches checked for the short one, and the walk checking both (shown, not
    a target)."""
    from store import queries
    from store.queries import parse_filter

    order = "ORDER BY o.placed_at DESC, o.id DESC LIMIT ?"
    both = ("EXISTS (SELECT 1 FROM order_search s WHERE s.order_id = o.id AND s.text LIKE ? "
            "AND s.text LIKE ?)")
    for word, short in (("example", "jo"), ("example", "ab")):
        if raw.sqlite:
            indexed = ("o.id IN (SELECT rowid FROM order_fts WHERE order_fts MATCH ?) AND "
                       "EXISTS (SELECT 1 FROM order_search s WHERE s.order_id = o.id AND "
                       "s.text LIKE ?)")
            index_args: tuple[Any, ...] = (f'"{word}"', f"%{short}%")
        else:
            indexed = ("o.id IN (SELECT order_id FROM order_search WHERE text LIKE ? AND "
                       "(text || '') LIKE ?)")
            index_args = (f"%{word}%", f"%{short}%")
        plans = {
            "by the index": lambda indexed=indexed, args=index_args: raw.all(
                ROW_SQL + f"WHERE o.archived = ? AND {indexed} " + order,
                (now, False, *args, PAGE + 1)),
            "walk": lambda word=word, short=short: raw.all(
                ROW_SQL + f"WHERE o.archived = ? AND {both} " + order,
                (now, False, f"%{word}%", f"%{short}%", PAGE + 1)),
        }
        f = parse_filter(f"{word} {short}", shop.workflow)
        ours, found = beside_plans(in_worker(queries.queue_page, f, None, PAGE), plans, rounds)
        shown(f"search of a common word and a short one ({word} {short!r})", ours, found)


def _product_search(shop: Any, raw: Raw, now: str, rounds: int) -> None:
    """`product:` for a product nothing holds and a common one, page and tab counts, beside
    the raw plans: every current order's items checked (the walk), and the orders of the
    items the items' trigram index finds (shown, not targets)."""
    from store import queries
    from store.queries import parse_filter

    order = "ORDER BY o.placed_at DESC, o.id DESC LIMIT ?"
    like = "i.folded LIKE ?"  # the items' folded SKU and name (migration 0018)
    walked = f"EXISTS (SELECT 1 FROM order_item i WHERE i.order_id = o.id AND {like})"
    indexed = (f"o.id IN (SELECT i.order_id FROM order_item i WHERE {like} AND i.id IN "
               "(SELECT rowid FROM item_fts WHERE item_fts MATCH ?))" if raw.sqlite
               else f"o.id IN (SELECT i.order_id FROM order_item i WHERE {like})")
    counts = "SELECT o.status, COUNT(*) FROM orders o WHERE o.archived = ? AND {} GROUP BY o.status"
    for product in ("zqxjkv", "mug"):  # folded as typed: the floor folds nothing
        args = [f"%{product}%"]
        by_index = [*args, f'"{product}"'] if raw.sqlite else args
        f = parse_filter(f"product:{product}", shop.workflow)
        for what, ours_fn in (("page", lambda f=f: queries.queue_page(f, None, PAGE)),
                              ("counts", lambda f=f: queries.status_counts(f))):
            if what == "page":
                plans = {"walk": lambda a=args: raw.all(
                             ROW_SQL + f"WHERE o.archived = ? AND {walked} " + order,
                             (now, False, *a, PAGE + 1)),
                         "by the index": lambda a=by_index: raw.all(
                             ROW_SQL + f"WHERE o.archived = ? AND {indexed} " + order,
                             (now, False, *a, PAGE + 1))}
            else:
                plans = {"walk": lambda a=args: raw.all(counts.format(walked), (False, *a)),
                         "by the index": lambda a=by_index: raw.all(counts.format(indexed),
                                                                    (False, *a))}
            ours, found = beside_plans(in_worker(ours_fn), plans, rounds)
            shown(f"product:{product} {what}", ours, found)


def _typing(shop: Any) -> None:
    """Typing a common word, keystroke by keystroke, each a new filter (shown, not a target)."""
    from store import queries
    from store.queries import parse_filter

    word = "Gonçalves"
    typed = [word[:n] for n in range(1, len(word) + 1)]

    def typing() -> None:
        for text in typed:
            in_worker(lambda text=text: queries.queue_page(parse_filter(text, shop.workflow),
                                                           None, PAGE))()

    (ours,) = interleaved([typing], 3)
    print(f"typing {word!r} ({len(typed)} keystrokes, each a new filter on a worker): "
          f"{ours:.1f} ms in all, {ours / len(typed):.2f} ms a keystroke")


BULK = 10_000


def _bulk(shop: Any, raw: Raw, report: Report, rounds: int) -> None:
    """A bulk status change of 10,000 orders, Shipped to Completed with the customer mails,
    timed committed with its preview, beside raw SQL doing the same writes (history rows,
    earlier status mails withdrawn, mail rows, the orders) committed after its own preview
    read. Each round takes 10,000 completed orders of its own, put back to Shipped untimed
    beforehand; the rows a round added are removed afterwards, so the shop stays as built."""
    picked = [r[0] for r in raw.all(
        "SELECT id FROM orders WHERE archived = ? AND status = 'completed' AND tracking_number "
        "<> '' ORDER BY placed_at DESC LIMIT ?", (False, BULK * 2 * rounds))]
    rounds = min(rounds, len(picked) // (2 * BULK))  # a smaller shop: fewer rounds
    if not rounds:
        print(f"bulk status change: skipped (fewer than {2 * BULK:,} completed orders)")
        return
    times: tuple[list[float], list[float]] = ([], [])
    for n in range(rounds):
        mine, theirs = picked[2 * n * BULK:(2 * n + 1) * BULK], \
            picked[(2 * n + 1) * BULK:(2 * n + 2) * BULK]
        _bulk_prepare(raw, mine)
        _bulk_prepare(raw, theirs)
        times[0].append(_bulk_ours(shop, raw, mine))
        times[1].append(_bulk_floor(raw, theirs))
    mine_ms, theirs_ms = sorted(times[0])[rounds // 2], sorted(times[1])[rounds // 2]
    report.line(f"bulk status change of {BULK:,} orders, preview and commit", mine_ms,
                theirs_ms)
    limit = 3.0 if raw.sqlite else 1.5
    report.target(f"bulk 10,000 <= {limit:g}x raw", mine_ms <= limit * theirs_ms,
                  f"{mine_ms / theirs_ms:.2f}x")


def _bulk_prepare(raw: Raw, ids: list[int]) -> None:
    """Put a round's orders back to Shipped, untimed."""
    raw.run("BEGIN")
    for start in range(0, BULK, 1000):
        chunk = ids[start:start + 1000]
        raw.run(f"UPDATE orders SET status = 'shipped' WHERE id IN "
                f"({','.join('?' * len(chunk))})", chunk)
    raw.run("COMMIT")


def _bulk_tidy(raw: Raw, batch: str) -> None:
    """Remove the rows a round added, so the shop stays as built."""
    raw.run("DELETE FROM order_event WHERE batch = ?", (batch,))
    raw.run("DELETE FROM outbox WHERE batch = ?", (batch,))


def _bulk_ours(shop: Any, raw: Raw, ids: list[int]) -> float:
    """backroom's preview and change, in milliseconds."""
    from store import status
    from store.operators import SYSTEM

    started = time.perf_counter()
    preview = status.change_status(shop, SYSTEM, ids, "completed", dry_run=True)
    assert len(preview.changed) == BULK, preview.summary()
    change = status.change_status(shop, SYSTEM, ids, "completed")
    took = (time.perf_counter() - started) * 1000
    assert len(change.changed) == BULK, change.summary()
    _bulk_tidy(raw, change.batch)
    return took


def _bulk_floor(raw: Raw, ids: list[int]) -> float:
    """The same writes in raw SQL after the preview's read, in milliseconds."""
    from store.models import utcnow

    ins = ",".join("?" * BULK)
    stamp, batch = str(utcnow()), f"raw-{time.monotonic_ns()}"
    started = time.perf_counter()
    raw.all(f"SELECT id, code, status, version, archived, tracking_number, customer_email "
            f"FROM orders WHERE id IN ({ins})", ids)  # the preview's read
    raw.run("BEGIN")
    raw.run(f"INSERT INTO order_event (order_id, kind, from_status, to_status, message, "
            f"data, operator_login, visible, batch, created_at, updated_at) SELECT id, "
            f"'status', status, 'completed', '', '{{}}', 'system', TRUE, ?, ?, ? FROM "
            f"orders WHERE id IN ({ins})", (batch, stamp, stamp, *ids))
    raw.run(f"UPDATE outbox SET state = 'cancelled' WHERE state = 'queued' AND order_id IN "
            f"({ins}) AND kind IN ('payment_received', 'shipped', 'completed')", ids)
    raw.run(f"INSERT INTO outbox (kind, recipient, language, payload, idempotency_key, "
            f"state, order_id, customer_id, batch, subject, attempts, next_attempt_at, "
            f"last_error, lease_owner, message_id, hold_until, created_at, updated_at) "
            f"SELECT 'completed', customer_email, language, '{{\"order_id\": ' || "
            f"CAST(id AS TEXT) || '}}', 'status:' || CAST(id AS TEXT) || ':' || ?, "
            f"'queued', id, customer_id, ?, '', 0, ?, '', '', '', ?, ?, ? FROM orders "
            f"WHERE id IN ({ins}) AND customer_email <> ''",
            (batch, batch, stamp, stamp, stamp, stamp, *ids))
    raw.run(f"UPDATE orders SET status = 'completed', version = version + 1, "
            f"updated_at = ?, updated_by = 'system' WHERE id IN ({ins})", (stamp, *ids))
    raw.run("COMMIT")
    took = (time.perf_counter() - started) * 1000
    _bulk_tidy(raw, batch)
    return took


def _export(url: str, raw: Raw, report: Report, quick: bool) -> None:
    """`backroom orders export` of every order beside raw sqlite3 + csv.writer writing the
    same columns, each in a fresh process (rows per second, and peak memory for all the
    orders beside 10,000)."""
    import subprocess

    def child(who: str, limit: int) -> dict[str, float]:
        out = subprocess.run([sys.executable, "-m", "bench.export", who, url, str(limit)],
                             capture_output=True, text=True, check=True)
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    total = raw.one("SELECT COUNT(*) FROM orders")[0]
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "raw": []}
    for _ in range(1 if quick else 3):
        for who in runs:
            runs[who].append(child(who, 0))
    rate = {who: sorted(r["rows"] / r["seconds"] for r in found)[len(found) // 2]
            for who, found in runs.items()}
    print(f"CSV export of all {total:,} orders: backroom {rate['ours']:,.0f} rows/s beside raw "
          f"sqlite3 + csv.writer {rate['raw']:,.0f} rows/s ({rate['ours'] / rate['raw']:.2f}x)")
    report.target("export >= 0.8x raw rows per second", rate["ours"] >= 0.8 * rate["raw"],
                  f"{rate['ours'] / rate['raw']:.2f}x")
    small = child("ours", 10_000)["peak_mb"]
    big = min(r["peak_mb"] for r in runs["ours"])
    print(f"  peak memory: {big:.0f} MB for {total:,} orders, {small:.0f} MB for 10,000 "
          f"(raw: {min(r['peak_mb'] for r in runs['raw']):.0f} MB for all)")
    report.target("export memory, all orders <= 1.2x 10,000", big <= 1.2 * small,
                  f"{big / small:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller shop, fewer rounds")
    parser.add_argument("--database", metavar="URL",
                        help="postgresql://... : run the store figures on PostgreSQL")
    parser.add_argument("--only", metavar="PARTS",
                        help=f"run only these store figures, with commas: {', '.join(STORE_PARTS)} "
                        "(the other bench modules are skipped)")
    args = parser.parse_args(argv)
    only = STORE_PARTS
    if args.only:
        only = tuple(p.strip() for p in args.only.split(",") if p.strip())
        unknown = [p for p in only if p not in STORE_PARTS]
        if unknown:
            parser.error(f"unknown part {unknown[0]!r}; give some of {', '.join(STORE_PARTS)}")
    started = time.perf_counter()
    report = Report()
    if args.database:
        from bench.data import ensure_postgres

        url = ensure_postgres(args.database, 50_000 if args.quick else 200_000)
        run_store(url, args.quick, report, only)
        modules: tuple[str, ...] = ()
    else:
        from bench.data import ensure_database

        run_store(ensure_database(100_000 if args.quick else 1_000_000), args.quick, report,
                  only)
        modules = () if args.only else (
            "bench.customers", "bench.tui", "bench.mail", "bench.documents", "bench.web",
            "bench.hooks", "bench.ops", "bench.newsletter")
    met, total = report.met, report.total
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        began = time.perf_counter()
        try:
            m, t = module.main(args.quick)
        except Exception as exc:  # one broken bench must not hide the others' figures
            print(f"{name}: failed: {type(exc).__name__}: {exc}")
            continue
        print(f"({name} ran {time.perf_counter() - began:.0f} s)")
        met, total = met + m, total + t
    print(f"(bench ran {time.perf_counter() - started:.0f} s)")
    print(f"bench: {met} of {total} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
