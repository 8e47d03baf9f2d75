"""Replacement orders and the shop log: an order may name the order it replaces (a lost or
damaged parcel's, store.replacements), and the history tables get the indexes the shop log
pages by (store.history_reads: newest first, by time, or by kind of event)."""
from peewee import *


def up(migrator, db):
    with db.atomic():
        # Written out: peewee's add_column rebuilds an SQLite table when it adds a foreign
        # key, which drops its triggers (the search index's).
        db.execute_sql("ALTER TABLE orders ADD COLUMN replaces_id INTEGER NULL "
                       "REFERENCES orders (id) ON DELETE SET NULL")
        db.execute_sql("CREATE INDEX orders_replaces ON orders (replaces_id) "
                       "WHERE replaces_id IS NOT NULL")
        db.execute_sql("CREATE INDEX order_event_log ON order_event (created_at, id)")
        db.execute_sql("CREATE INDEX order_event_kind_log ON order_event "
                       "(kind, created_at, id)")
        db.execute_sql("CREATE INDEX customer_event_log ON customer_event (created_at, id)")


def down(migrator, db):
    with db.atomic():
        for index in ('customer_event_log', 'order_event_kind_log', 'order_event_log',
                      'orders_replaces'):
            db.execute_sql(f"DROP INDEX IF EXISTS {index}")
        db.execute_sql("ALTER TABLE orders DROP COLUMN replaces_id")
