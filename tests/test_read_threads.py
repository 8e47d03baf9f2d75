"""The app's read threads keep their connections open between reads (tui.workers.Readers): a
read still sees what a write committed a moment before, a connection the server dropped is
replaced after the one read it failed, and a read asked of a newer shop uses that shop."""

from __future__ import annotations

import psycopg2
import pytest

from store import queries
from store.errors import DatabaseError
from store.models import db
from store.queries import QueueFilter
from store.shop import open_shop
from tests.conftest import make_config
from tests.factories import place
from tui.workers import Readers


def _codes() -> list[str]:
    return [row.code for row in queries.queue_page(QueueFilter()).rows]


def test_a_kept_connection_sees_each_committed_change(shop):
    readers = Readers(count=1)
    try:
        first = place(shop)
        assert readers.submit(_codes).result() == [first.code]
        second = place(shop)  # committed on this thread, while the reader keeps its connection
        assert readers.submit(_codes).result() == [second.code, first.code]
    finally:
        readers.close()


def test_a_dropped_connection_fails_one_read_and_is_replaced(shop, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no server to drop a connection")
    readers = Readers(count=1)
    try:
        order = place(shop)
        pid = readers.submit(lambda: db.execute_sql("SELECT pg_backend_pid()").fetchone()[0])
        killer = psycopg2.connect(db_url)
        killer.autocommit = True
        with killer.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid.result(),))
        killer.close()
        with pytest.raises(DatabaseError):  # said as every store error is, no traceback
            readers.submit(_codes).result()
        assert readers.submit(_codes).result() == [order.code]
    finally:
        readers.close()


def test_a_read_follows_the_shop_opened_last(shop, tmp_path):
    readers = Readers(count=1)
    try:
        place(shop)
        assert len(readers.submit(_codes).result()) == 1
        open_shop(make_config(f"sqlite:///{tmp_path / 'other.db'}"))  # a new, empty shop
        assert readers.submit(_codes).result() == []
    finally:
        readers.close()
