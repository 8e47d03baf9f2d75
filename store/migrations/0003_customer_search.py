"""Customer search: an FTS5 trigram index on SQLite (kept in step by triggers), a pg_trgm GIN
index on PostgreSQL, and expression indexes for 1-2 character prefix lookups."""

from __future__ import annotations

from typing import Any

from peewee import SqliteDatabase

SQLITE_UP = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS customer_fts USING fts5("
    "search_text, content='customer', content_rowid='id', tokenize='trigram')",
    "INSERT INTO customer_fts(customer_fts) VALUES ('rebuild')",
    "CREATE TRIGGER IF NOT EXISTS customer_fts_ai AFTER INSERT ON customer BEGIN "
    "INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS customer_fts_ad AFTER DELETE ON customer BEGIN "
    "INSERT INTO customer_fts(customer_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS customer_fts_au AFTER UPDATE OF search_text ON customer BEGIN "
    "INSERT INTO customer_fts(customer_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]

COMMON_UP = [
    "CREATE INDEX IF NOT EXISTS customer_last_name_lower ON customer (lower(last_name))",
    "CREATE INDEX IF NOT EXISTS customer_first_name_lower ON customer (lower(first_name))",
]  # orders (customer_id, placed_at, id) for a customer's orders belongs to 0002

PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customer "
    "USING gin (lower(search_text) gin_trgm_ops)",
]


def up(migrator: Any, db: Any) -> None:
    statements = (SQLITE_UP if isinstance(db, SqliteDatabase) else PG_UP) + COMMON_UP
    for sql in statements:
        db.execute_sql(sql)


def down(migrator: Any, db: Any) -> None:
    drops = ["DROP INDEX IF EXISTS customer_last_name_lower",
             "DROP INDEX IF EXISTS customer_first_name_lower"]
    if isinstance(db, SqliteDatabase):
        drops += [f"DROP TRIGGER IF EXISTS customer_fts_{t}" for t in ("ai", "ad", "au")]
        drops.append("DROP TABLE IF EXISTS customer_fts")
    else:
        drops.append("DROP INDEX IF EXISTS customer_search_trgm")
    for sql in drops:
        db.execute_sql(sql)
