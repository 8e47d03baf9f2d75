"""Opening a database from a URL, its pragmas, and the numbered schema migrations."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from peewee import Database, PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner

from store.errors import DatabaseError
from store.models import db

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
logging.getLogger("peewee.migrations").setLevel(logging.WARNING)


def is_sqlite(database: Database | None = None) -> bool:
    target = database if database is not None else db.obj
    return isinstance(target, SqliteDatabase)


def connect(url: str, busy_timeout_ms: int = 10000) -> Database:
    """A peewee Database for a URL, not yet bound to the models."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/shop.db and sqlite:////absolute/shop.db, as SQLAlchemy reads them.
        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ""
        if not path:
            raise DatabaseError(f"{url}: give a file, like sqlite:///shop.db")
        file = Path(path)
        if path != ":memory:":
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"{url}: cannot create {file.parent}: {exc.strerror}") from None
        return SqliteDatabase(
            str(file),
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": busy_timeout_ms,
                "synchronous": "normal",
                "cache_size": -64000,
            },
            timeout=busy_timeout_ms / 1000,
            lock_type="IMMEDIATE",
        )
    if parsed.scheme in ("postgresql", "postgres"):
        name = parsed.path.lstrip("/")
        if not name:
            raise DatabaseError(f"{url}: give a database name, like postgresql://user@host/shop")
        return PostgresqlDatabase(
            unquote(name),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
        )
    raise DatabaseError(
        f"{url!r}: unknown database URL; use sqlite:///path/to/shop.db or postgresql://..."
    )


def runner(database: Database) -> Runner:
    return Runner(database, str(MIGRATIONS_DIR))


def pending_migrations(database: Database) -> list[str]:
    return [m.name for m in runner(database).status() if not m.applied and m.path]


def migrate(database: Database | None = None) -> list[str]:
    """Apply every pending migration in order; returns the names applied."""
    target = database if database is not None else db.obj
    return list(runner(target).up())


def upgrade(url: str, busy_timeout_ms: int = 10000) -> list[str]:
    """`backroom migrate`: open the database without upgrading it, then apply every pending
    migration; the names applied."""
    database = connect(url, busy_timeout_ms)
    try:
        database.connect(reuse_if_open=True)
    except Exception as exc:  # the driver's own error type varies by backend
        raise DatabaseError(f"cannot open {redact(url)}: {str(exc).strip()}") from None
    db.initialize(database)
    return migrate(database)


def open_database(url: str, busy_timeout_ms: int = 10000, auto_migrate: bool = True) -> Database:
    """Connect, bind the models, and bring the schema up to date (or refuse, if told not to)."""
    database = connect(url, busy_timeout_ms)
    try:
        database.connect(reuse_if_open=True)
    except Exception as exc:  # the driver's own error type varies by backend
        raise DatabaseError(f"cannot open {redact(url)}: {str(exc).strip()}") from None
    db.initialize(database)
    pending = pending_migrations(database)
    if pending:
        if not auto_migrate:
            raise DatabaseError(
                f"{redact(url)} is behind this version of backroom ({len(pending)} migration(s) "
                "pending): run `backroom migrate` first"
            )
        migrate(database)
    return database


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


@contextlib.contextmanager
def write() -> Iterator[None]:
    """One write transaction: BEGIN IMMEDIATE on SQLite (the lock_type), plain on PostgreSQL."""
    with db.atomic():
        yield


def close() -> None:
    if db.obj is not None and not db.is_closed():
        db.close()
