"""The shared benchmark database: a demo shop of N orders under bench/data/, built once with
store.demo and reused while its order count matches."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

DATA_DIR = Path(os.environ.get("BACKROOM_BENCH_DIR", Path(__file__).parent / "data"))


def path_for(orders: int) -> Path:
    return DATA_DIR / f"demo-{orders}.db"


def _complete(path: Path, orders: int) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return bool(conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == orders)
    except sqlite3.Error:
        return False


def ensure_database(orders: int) -> str:
    """A sqlite URL of a demo database with `orders` orders, built (seed 1) if missing.

    The build goes to a temporary file renamed into place at the end, so an interrupted
    build is never reused."""
    path = path_for(orders)
    if path.exists() and _complete(path, orders):
        return f"sqlite:///{path}"
    from store import db as dbmod
    from store import demo
    from store.config import from_mapping
    from store.shop import open_shop

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building.db")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    print(f"bench: building a demo shop of {orders:,} orders in {path} ...", file=sys.stderr,
          flush=True)
    started = time.perf_counter()
    shop = open_shop(from_mapping({"database": {"url": f"sqlite:///{partial}"}}, "bench",
                                  environ={}))
    stats = demo.build(shop, orders, seed=1)
    dbmod.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    dbmod.close()
    os.replace(partial, path)
    for stale in (Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    print(f"bench: {stats.summary()} (total {time.perf_counter() - started:.1f} s)",
          file=sys.stderr, flush=True)
    return f"sqlite:///{path}"


def ensure_postgres(url: str, orders: int) -> str:
    """`url` (a PostgreSQL database) holding a demo shop of `orders` orders: built (seed 1)
    when the database is empty, reused when it holds exactly that many; else refused, so the
    bench never fills a database that holds something else."""
    from store import db as dbmod
    from store import demo
    from store.config import from_mapping
    from store.errors import DatabaseError
    from store.shop import open_shop

    try:
        shop = open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))
    except DatabaseError as exc:
        hint = ""
        if "does not exist" in str(exc):  # a database not created yet
            parts = urlsplit(url)
            hint = ("\nbench: create it empty first: `createdb"
                    f"{f' -h {parts.hostname}' if parts.hostname else ''}"
                    f"{f' -p {parts.port}' if parts.port else ''}"
                    f"{f' -U {parts.username}' if parts.username else ''} "
                    f"{parts.path.lstrip('/')}`")
        raise SystemExit(f"bench: {exc}{hint}") from None
    found = demo.existing_orders()
    if found == orders:
        dbmod.close()
        _vacuum(url)  # the last run's bulk rounds left dead rows (400,000 after a few runs)
        return url
    if found:
        dbmod.close()
        raise SystemExit(f"bench: {dbmod.redact(url)} holds {found:,} orders, not the "
                         f"{orders:,} of a bench shop: give an empty database")
    print(f"bench: building a demo shop of {orders:,} orders in {dbmod.redact(url)} ...",
          file=sys.stderr, flush=True)
    started = time.perf_counter()
    stats = demo.build(shop, orders, seed=1)
    dbmod.close()
    _vacuum(url)
    print(f"bench: {stats.summary()} (total {time.perf_counter() - started:.1f} s)",
          file=sys.stderr, flush=True)
    return url


def _vacuum(url: str) -> None:
    """VACUUM a PostgreSQL shop built or reused, as autovacuum would within minutes (a server
    may run without it, as this machine's test server does): until then no page is marked
    all-visible, and every index-only scan reads the table too (on 200,000 orders a rare
    word's search took 9 ms right after a build and 7 after, no match 2.1-2.6 and 1.0-1.2),
    and the dead rows of earlier runs' bulk changes are read again (the counts per status:
    6.8 ms on a fresh shop, 37-39 ms after four runs). 2.7 s on 200,000 orders."""
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        conn.cursor().execute("VACUUM (ANALYZE)")
    finally:
        conn.close()
