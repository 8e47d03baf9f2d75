"""Subscriber search that forgives accents and case, as order and customer search do:
subscriber.search_text, the address and name folded by store.subscribers.search_text (the one
definition every write uses), filled here for every existing row, in chunks. PostgreSQL gets
a pg_trgm index for the list's "contains" search; SQLite scans (a list of 100,000 rows is
read in milliseconds, and its trigram FTS would need a table and triggers of its own)."""

from peewee import SqliteDatabase

from store.subscribers import search_text

CHUNK = 20000


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    mark = "?" if sqlite else "%s"
    with db.atomic():
        # written out with its default: peewee's add_column of a NOT NULL column rebuilds an
        # SQLite table (see 0008)
        db.execute_sql("ALTER TABLE subscriber ADD COLUMN search_text TEXT NOT NULL DEFAULT ''")
        last = 0
        while True:
            found = db.execute_sql(
                f"SELECT id, email, first_name, last_name FROM subscriber WHERE id > {mark} "
                f"AND email_key IS NOT NULL ORDER BY id LIMIT {CHUNK}", (last,)).fetchall()
            if not found:
                break
            last = found[-1][0]
            db.cursor().executemany(
                f"UPDATE subscriber SET search_text = {mark} WHERE id = {mark}",
                [(search_text(r[1], r[2], r[3]), r[0]) for r in found])
        if not sqlite:
            db.execute_sql("CREATE INDEX subscriber_search_trgm ON subscriber "
                           "USING gin (search_text gin_trgm_ops)")


def down(migrator, db):
    with db.atomic():
        db.execute_sql("DROP INDEX IF EXISTS subscriber_search_trgm")
        db.execute_sql("ALTER TABLE subscriber DROP COLUMN search_text")
