"""The app's read threads keep their connections open between reads (tui.workers.Readers): a
read still sees what a write committed a moment before, a connection the server dropped is
replaced before the next read (or, when it drops under a read, the read runs again on a
new one), and a read asked of a newer shop uses that shop."""

from __future__ import annotations

import threading

import peewee
import psycopg2
import pytest

from store import db as dbmod
from store import queries
from store.db import store_error
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


def _terminate(db_url: str, pid: int) -> None:
    """End one backend as PostgreSQL does on a restart or an administrator's command."""
    killer = psycopg2.connect(db_url)
    killer.autocommit = True
    with killer.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    killer.close()


def _backend() -> int:
    return int(db.execute_sql("SELECT pg_backend_pid()").fetchone()[0])


def test_a_connection_dropped_between_reads_fails_no_read(shop, db_url):
    """After a PostgreSQL restart each read thread's first read said "the database cannot be
    reached" (the operator saw it twice on opening an order); the kept connection is now
    found dropped before the read and replaced."""
    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no server to drop a connection")
    readers = Readers(count=1)
    try:
        order = place(shop)
        first = readers.submit(_backend).result()
        _terminate(db_url, first)
        assert readers.submit(_codes).result() == [order.code]
        assert readers.submit(_backend).result() != first
    finally:
        readers.close()


def test_a_read_cut_by_a_dropped_connection_runs_again(shop, db_url):
    """A connection dropped while a read runs on it: the read runs again, once, on a new one
    (reads change nothing)."""
    if db_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no server to drop a connection")
    readers = Readers(count=1)
    backends: list[int] = []
    started = threading.Event()

    def slow_read() -> list[str]:
        backends.append(_backend())
        if len(backends) == 1:
            started.set()
            db.execute_sql("SELECT pg_sleep(5)")
        return _codes()

    try:
        order = place(shop)
        readers.submit(_codes).result()  # the thread keeps its connection from here
        answer = readers.submit(slow_read)
        assert started.wait(10)
        _terminate(db_url, backends[0])
        assert answer.result(timeout=10) == [order.code]
        assert len(backends) == 2 and backends[1] != backends[0]
    finally:
        readers.close()


def test_a_database_out_of_reach_fails_the_read_once(tmp_path):
    """With no server to reach, a read fails at once with the store's error, not twice over."""
    open_shop(make_config(f"sqlite:///{tmp_path / 'shop.db'}"))
    readers = Readers(count=1)
    try:
        db.initialize(dbmod.connect("postgresql://postgres@127.0.0.1:1/none"))  # no one there
        with pytest.raises(peewee.OperationalError) as failed:
            readers.submit(_codes).result(timeout=10)
        assert "cannot be reached" in str(store_error(failed.value))  # what the operator reads
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
