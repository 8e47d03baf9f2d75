"""`product:` folds as free text does: each item keeps its SKU and name folded
(order_item.folded, store.folding.fold_item: "Crème brûlée" is found by "creme", "Łódź mug"
by "lodz", and "ŁÓDŹ" finds "łódź" on SQLite too, whose LIKE folds ASCII case only), and the
items' trigram index holds that text instead of the SKU and name as typed: on SQLite the FTS5
table item_fts (its triggers) over `folded`, on PostgreSQL one pg_trgm GIN index on it in
place of the two on sku and name (one index less for every item written).

Every existing item is folded here, in chunks, by the same Python function that folds a new
one; a shop sells far fewer products than it holds items, so each SKU and name is folded once
per chunk at most."""

from __future__ import annotations

from typing import Any

from peewee import SqliteDatabase

from store.folding import fold_item

CHUNK = 20000

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS item_fts_insert",
    "DROP TRIGGER IF EXISTS item_fts_delete",
    "DROP TRIGGER IF EXISTS item_fts_update",
    "DROP TABLE IF EXISTS item_fts",
]
SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE item_fts USING fts5("
    "folded, content='order_item', content_rowid='id', tokenize='trigram')",
    "INSERT INTO item_fts(item_fts) VALUES ('rebuild')",
    "CREATE TRIGGER item_fts_insert AFTER INSERT ON order_item BEGIN "
    "INSERT INTO item_fts(rowid, folded) VALUES (new.id, new.folded); END",
    "CREATE TRIGGER item_fts_delete AFTER DELETE ON order_item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, folded) VALUES ('delete', old.id, old.folded); END",
    "CREATE TRIGGER item_fts_update AFTER UPDATE OF folded ON order_item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, folded) VALUES ('delete', old.id, old.folded); "
    "INSERT INTO item_fts(rowid, folded) VALUES (new.id, new.folded); END",
]
PG_DROP = [
    "DROP INDEX IF EXISTS order_item_sku_trgm",
    "DROP INDEX IF EXISTS order_item_name_trgm",
]
PG_INDEX = [
    "CREATE INDEX order_item_folded_trgm ON order_item USING gin (folded gin_trgm_ops)",
    "ANALYZE order_item",  # the planner weighs the new column's LIKE from its statistics
]


def fill(db: Any, sqlite: bool) -> int:
    """Fold every item's SKU and name into `folded`, CHUNK items at a time in id order;
    returns how many were written."""
    mark = "?" if sqlite else "%s"
    last = written = 0
    while True:
        found = db.execute_sql(
            f"SELECT id, sku, name FROM order_item WHERE id > {mark} ORDER BY id LIMIT {CHUNK}",
            (last,)).fetchall()
        if not found:
            return written
        last = found[-1][0]
        folded: dict[tuple[str, str], str] = {}
        rows = []
        for item_id, sku, name in found:
            key = (sku or "", name or "")
            text = folded.get(key)
            if text is None:
                text = folded[key] = fold_item(*key)
            rows.append((text, item_id))
        cursor = db.cursor()
        if sqlite:
            cursor.executemany("UPDATE order_item SET folded = ? WHERE id = ?", rows)
        else:
            from psycopg2.extras import execute_values

            execute_values(cursor, "UPDATE order_item SET folded = v.folded FROM (VALUES %s) "
                           "AS v(folded, id) WHERE order_item.id = v.id", rows, page_size=CHUNK)
        written += len(rows)


def up(migrator: Any, db: Any) -> None:
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        # the old index goes first, so filling the column writes no index but the table's
        for sql in SQLITE_DROP if sqlite else PG_DROP:
            db.execute_sql(sql)
        db.execute_sql("ALTER TABLE order_item ADD COLUMN folded TEXT")
        fill(db, sqlite)
        for sql in SQLITE_INDEX if sqlite else PG_INDEX:
            db.execute_sql(sql)


SQLITE_DOWN = [  # 0016's index over the SKU and name as typed
    "CREATE VIRTUAL TABLE item_fts USING fts5("
    "sku, name, content='order_item', content_rowid='id', tokenize='trigram')",
    "INSERT INTO item_fts(item_fts) VALUES ('rebuild')",
    "CREATE TRIGGER item_fts_insert AFTER INSERT ON order_item BEGIN "
    "INSERT INTO item_fts(rowid, sku, name) VALUES (new.id, new.sku, new.name); END",
    "CREATE TRIGGER item_fts_delete AFTER DELETE ON order_item BEGIN "
    "INSERT INTO item_fts(item_fts, rowid, sku, name) "
    "VALUES ('delete', old.id, old.sku, old.name); END",
    "CREATE TRIGGER item_fts_update AFTER UPDATE OF sku, name ON order_item "
    "BEGIN INSERT INTO item_fts(item_fts, rowid, sku, name) "
    "VALUES ('delete', old.id, old.sku, old.name); "
    "INSERT INTO item_fts(rowid, sku, name) VALUES (new.id, new.sku, new.name); END",
]
PG_DOWN = [
    "CREATE INDEX order_item_sku_trgm ON order_item USING gin (sku gin_trgm_ops)",
    "CREATE INDEX order_item_name_trgm ON order_item USING gin (name gin_trgm_ops)",
]


def down(migrator: Any, db: Any) -> None:
    """Back to 0016's index over the SKU and name as typed (they are kept as typed)."""
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        for sql in SQLITE_DROP if sqlite else ["DROP INDEX IF EXISTS order_item_folded_trgm"]:
            db.execute_sql(sql)
        db.execute_sql("ALTER TABLE order_item DROP COLUMN folded")
        for sql in SQLITE_DOWN if sqlite else PG_DOWN:
            db.execute_sql(sql)
