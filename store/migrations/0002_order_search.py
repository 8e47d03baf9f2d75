"""Order search and queue indexes.

SQLite: an FTS5 external-content table with the trigram tokenizer over orders.search_text,
kept in step by triggers, so the index changes in the same transaction as the order.
PostgreSQL: pg_trgm and a GIN trigram index on search_text. Both: composite indexes that
keyset paging of the queue walks, and expression indexes for the 1-2 character prefix match."""
from peewee import SqliteDatabase

from store.errors import DatabaseError

QUEUE_INDEXES = {
    "orders_queue_placed": "orders (archived, placed_at, id)",
    "orders_queue_status": "orders (archived, status, placed_at, id)",
    "orders_queue_total": "orders (archived, total, id)",
    "orders_queue_number": "orders (archived, number, id)",
    "orders_customer_placed": "orders (customer_id, placed_at, id)",
    "outbox_order_latest": "outbox (order_id, id)",
}

SQLITE = [
    "CREATE VIRTUAL TABLE order_fts USING fts5("
    "search_text, content='orders', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER order_fts_insert AFTER INSERT ON orders BEGIN "
    "INSERT INTO order_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER order_fts_delete AFTER DELETE ON orders BEGIN "
    "INSERT INTO order_fts(order_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER order_fts_update AFTER UPDATE OF search_text ON orders BEGIN "
    "INSERT INTO order_fts(order_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO order_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO order_fts(order_fts) VALUES ('rebuild')",
    "CREATE INDEX orders_email_lower ON orders (lower(customer_email))",
    "CREATE INDEX orders_name_lower ON orders (lower(customer_name))",
]

POSTGRES = [
    "CREATE INDEX orders_search_trgm ON orders USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX orders_email_lower ON orders (lower(customer_email) text_pattern_ops)",
    "CREATE INDEX orders_name_lower ON orders (lower(customer_name) text_pattern_ops)",
    "CREATE INDEX orders_code_pattern ON orders (code text_pattern_ops)",
]


def _enable_pg_trgm(db):
    try:
        with db.atomic():
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:
        raise DatabaseError(
            "order search needs the PostgreSQL extension pg_trgm, which could not be enabled "
            f"({str(exc).strip()}); install the server's contrib package and run "
            "`CREATE EXTENSION pg_trgm;` as a superuser in this database, then start again"
        ) from None


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    if not sqlite:
        _enable_pg_trgm(db)
    with db.atomic():
        for name, target in QUEUE_INDEXES.items():
            db.execute_sql(f"CREATE INDEX {name} ON {target}")
        for statement in SQLITE if sqlite else POSTGRES:
            db.execute_sql(statement)


def down(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        names = [*QUEUE_INDEXES, "orders_email_lower", "orders_name_lower"]
        if sqlite:
            for trigger in ("order_fts_insert", "order_fts_delete", "order_fts_update"):
                db.execute_sql(f"DROP TRIGGER IF EXISTS {trigger}")
            db.execute_sql("DROP TABLE IF EXISTS order_fts")
        else:
            names += ["orders_search_trgm", "orders_code_pattern"]
        for name in names:
            db.execute_sql(f"DROP INDEX IF EXISTS {name}")
