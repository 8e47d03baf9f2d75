"""Search that forgives accents, in a table of its own; customer figures kept on the customer.

Orders: the search text moves from orders.search_text to order_search (order_id, text, name),
folded by store.folding (store.order_rows.search_text is its one definition, now with the
phone and its digits). SQLite's FTS5 trigram table order_fts indexes order_search.text, kept
in step by triggers on order_search; PostgreSQL's pg_trgm GIN index moves with it, so a status
change no longer writes the trigram index (every index of a rewritten orders row is written
again there). orders.search_text and the index on lower(customer_name) are dropped: a 1-2
character search matches the folded name, order_search.name.

Customers: search_text is folded again, with the postcode, city and country of their
addresses and the digits of their phone. New columns order_count, spent, first_order_at and
last_order_at (store.customer_figures keeps them), filled here from the orders; "spent"
counts the orders in the shop's currency, which a migration cannot read from the config: it
takes the currency most orders have (`backroom check --repair` recomputes with the config's).
Indexes on them answer the segments.

Every existing row is re-indexed here, in chunks, by the same Python function that indexes a
new one."""

from peewee import SqliteDatabase

from store.customers import customer_search_text
from store.order_rows import search_row

CHUNK = 20000
ORDER_FIELDS = ("id", "code", "customer_name", "customer_email", "customer_phone",
                "tracking_number", "internal_reference")

SQLITE_ORDERS = [
    "DROP TRIGGER IF EXISTS order_fts_insert",
    "DROP TRIGGER IF EXISTS order_fts_delete",
    "DROP TRIGGER IF EXISTS order_fts_update",
    "DROP TABLE IF EXISTS order_fts",
    "DROP INDEX IF EXISTS orders_name_lower",
    "CREATE TABLE order_search (order_id INTEGER NOT NULL PRIMARY KEY "
    "REFERENCES orders (id) ON DELETE CASCADE, text TEXT NOT NULL DEFAULT '', "
    "name TEXT NOT NULL DEFAULT '')",
]
SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE order_fts USING fts5("
    "text, content='order_search', content_rowid='order_id', tokenize='trigram')",
    "CREATE TRIGGER order_fts_insert AFTER INSERT ON order_search BEGIN "
    "INSERT INTO order_fts(rowid, text) VALUES (new.order_id, new.text); END",
    "CREATE TRIGGER order_fts_delete AFTER DELETE ON order_search BEGIN "
    "INSERT INTO order_fts(order_fts, rowid, text) VALUES ('delete', old.order_id, old.text); "
    "END",
    "CREATE TRIGGER order_fts_update AFTER UPDATE OF text ON order_search BEGIN "
    "INSERT INTO order_fts(order_fts, rowid, text) VALUES ('delete', old.order_id, old.text); "
    "INSERT INTO order_fts(rowid, text) VALUES (new.order_id, new.text); END",
    "INSERT INTO order_fts(order_fts) VALUES ('rebuild')",
    "CREATE INDEX order_search_name ON order_search (name)",
    "ALTER TABLE orders DROP COLUMN search_text",
]
PG_ORDERS = [
    "DROP INDEX IF EXISTS orders_search_trgm",
    "DROP INDEX IF EXISTS orders_name_lower",
    "CREATE TABLE order_search (order_id INTEGER NOT NULL PRIMARY KEY "
    "REFERENCES orders (id) ON DELETE CASCADE, text TEXT NOT NULL DEFAULT '', "
    "name TEXT NOT NULL DEFAULT '')",
]
PG_INDEX = [
    "CREATE INDEX order_search_trgm ON order_search USING gin (text gin_trgm_ops)",
    "CREATE INDEX order_search_name ON order_search (name text_pattern_ops)",
    "ALTER TABLE orders DROP COLUMN search_text",
    "DROP INDEX IF EXISTS customer_search_trgm",
    "CREATE INDEX customer_search_trgm ON customer USING gin (search_text gin_trgm_ops)",
]
FIGURE_INDEXES = [
    "CREATE INDEX customer_spent ON customer (spent)",
    "CREATE INDEX customer_last_order ON customer (last_order_at)",
    "CREATE INDEX customer_order_count ON customer (order_count)",
]


def _figure_columns(sqlite):
    stamp = "DATETIME" if sqlite else "TIMESTAMP"
    return [
        "ALTER TABLE customer ADD COLUMN order_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE customer ADD COLUMN spent BIGINT NOT NULL DEFAULT 0",
        f"ALTER TABLE customer ADD COLUMN first_order_at {stamp}",
        f"ALTER TABLE customer ADD COLUMN last_order_at {stamp}",
    ]


def _mark(sqlite):
    return "?" if sqlite else "%s"


def _fill_order_search(db, sqlite):
    """Every order's search row, CHUNK orders at a time, by store.order_rows.search_row."""
    mark = _mark(sqlite)
    last = 0
    while True:
        orders = db.execute_sql(
            f"SELECT {', '.join(ORDER_FIELDS)} FROM orders WHERE id > {mark} ORDER BY id "
            f"LIMIT {CHUNK}", (last,)).fetchall()
        if not orders:
            return
        first, last = orders[0][0], orders[-1][0]
        items: dict[int, list[tuple[str, str]]] = {}
        for order_id, sku, name in db.execute_sql(
                f"SELECT order_id, sku, name FROM order_item WHERE order_id >= {mark} "
                f"AND order_id <= {mark} ORDER BY order_id, id", (first, last)):
            items.setdefault(order_id, []).append((sku, name))
        rows = []
        for values in orders:
            order = dict(zip(ORDER_FIELDS, values, strict=True))
            row = search_row(order["id"], order, items.get(order["id"], ()))
            rows.append((row["order"], row["text"], row["name"]))
        _insert(db, sqlite, "INSERT INTO order_search (order_id, text, name) VALUES", rows)


def _insert(db, sqlite, head, rows):
    cursor = db.cursor()
    if sqlite:
        cursor.executemany(f"{head} (?, ?, ?)", rows)
    else:
        from psycopg2.extras import execute_values

        execute_values(cursor, f"{head} %s", rows, page_size=2000)


def _refold_customers(db, sqlite):
    """Every customer's search text again, folded, with their addresses' places."""
    mark = _mark(sqlite)
    fields = ("id", "first_name", "last_name", "email", "phone")
    last = 0
    while True:
        found = db.execute_sql(
            f"SELECT {', '.join(fields)} FROM customer WHERE id > {mark} AND status <> "
            f"'deleted' ORDER BY id LIMIT {CHUNK}", (last,)).fetchall()
        if not found:
            return
        first, last = found[0][0], found[-1][0]
        places: dict[int, list[str]] = {}
        for customer_id, postcode, city, country in db.execute_sql(
                f"SELECT customer_id, postcode, city, country FROM address WHERE customer_id "
                f">= {mark} AND customer_id <= {mark} ORDER BY customer_id, id", (first, last)):
            places.setdefault(customer_id, []).extend((postcode, city, country))
        rows = [(customer_search_text(dict(zip(fields, values, strict=True)),
                                      places.get(values[0], ())),
                 values[0]) for values in found]
        db.cursor().executemany(
            f"UPDATE customer SET search_text = {mark} WHERE id = {mark}", rows)


def _fill_figures(db, sqlite):
    """Each customer's figures from their real orders; spent in the currency most orders have."""
    mark = _mark(sqlite)
    row = db.execute_sql("SELECT currency FROM orders GROUP BY currency ORDER BY COUNT(*) DESC "
                         "LIMIT 1").fetchone()
    if row is None:
        return
    db.execute_sql(
        "UPDATE customer SET order_count = f.n, spent = f.spent, first_order_at = f.first, "
        "last_order_at = f.last FROM (SELECT customer_id, COUNT(*) AS n, "
        f"SUM(CASE WHEN currency = {mark} THEN amount_paid - amount_refunded ELSE 0 END) "
        "AS spent, MIN(placed_at) AS first, MAX(placed_at) AS last FROM orders "
        "WHERE customer_id IS NOT NULL AND NOT is_test GROUP BY customer_id) AS f "
        "WHERE customer.id = f.customer_id", (row[0],))


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        for sql in SQLITE_ORDERS if sqlite else PG_ORDERS:
            db.execute_sql(sql)
        _fill_order_search(db, sqlite)
        for sql in _figure_columns(sqlite):
            db.execute_sql(sql)
        _fill_figures(db, sqlite)
        if sqlite:
            db.execute_sql("DROP TRIGGER IF EXISTS customer_fts_au")
        _refold_customers(db, sqlite)
        if sqlite:
            db.execute_sql("INSERT INTO customer_fts(customer_fts) VALUES ('rebuild')")
            db.execute_sql(
                "CREATE TRIGGER customer_fts_au AFTER UPDATE OF search_text ON customer BEGIN "
                "INSERT INTO customer_fts(customer_fts, rowid, search_text) "
                "VALUES ('delete', old.id, old.search_text); "
                "INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text); "
                "END")
        for sql in (SQLITE_INDEX if sqlite else PG_INDEX) + FIGURE_INDEXES:
            db.execute_sql(sql)


SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS order_fts_insert",
    "DROP TRIGGER IF EXISTS order_fts_delete",
    "DROP TRIGGER IF EXISTS order_fts_update",
    "DROP TABLE IF EXISTS order_fts",
    "ALTER TABLE orders ADD COLUMN search_text TEXT NOT NULL DEFAULT ''",
    "UPDATE orders SET search_text = COALESCE((SELECT text FROM order_search s "
    "WHERE s.order_id = orders.id), '')",
    "DROP TABLE order_search",
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
    "CREATE INDEX orders_name_lower ON orders (lower(customer_name))",
]
PG_DOWN = [
    "ALTER TABLE orders ADD COLUMN search_text TEXT NOT NULL DEFAULT ''",
    "UPDATE orders SET search_text = s.text FROM order_search s WHERE s.order_id = orders.id",
    "DROP TABLE order_search",
    "CREATE INDEX orders_search_trgm ON orders USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX orders_name_lower ON orders (lower(customer_name) text_pattern_ops)",
    "DROP INDEX IF EXISTS customer_search_trgm",
    "CREATE INDEX customer_search_trgm ON customer USING gin (lower(search_text) gin_trgm_ops)",
]


def down(migrator, db):
    """Back to orders.search_text (the folded text it holds now: the text as typed is in the
    orders' own fields) and no customer figures."""
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        for sql in SQLITE_DOWN if sqlite else PG_DOWN:
            db.execute_sql(sql)
        for name in ("customer_spent", "customer_last_order", "customer_order_count"):
            db.execute_sql(f"DROP INDEX IF EXISTS {name}")
        for column in ("order_count", "spent", "first_order_at", "last_order_at"):
            db.execute_sql(f"ALTER TABLE customer DROP COLUMN {column}")
