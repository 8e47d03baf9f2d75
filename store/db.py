"""Opening a database from a URL, its pragmas, and the numbered schema migrations."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import ParseResult, unquote, urlparse

import peewee
from peewee import Database, PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner
from playhouse.pool import PooledDatabase, PooledPostgresqlDatabase, PooledSqliteDatabase

from store.errors import BackroomError, DatabaseError, ValidationError
from store.models import db

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
logging.getLogger("peewee.migrations").setLevel(logging.WARNING)


def is_sqlite(database: Database | None = None) -> bool:
    target = database if database is not None else db.obj
    return isinstance(target, SqliteDatabase)


# ----- driver errors as refusals --------------------------------------------------------------

_SQLITE_MESSAGES = {
    "SQLITE_READONLY": "the database is read-only here (its file, or the directory holding "
                       "it, may not be written by this account): nothing was changed",
    "SQLITE_FULL": "the disk holding the database is full: nothing was changed; free some "
                   "space and try again",
    "SQLITE_BUSY": "the database is locked by another writer that took too long: nothing was "
                   "changed; try again",
    "SQLITE_LOCKED": "the database is locked by another writer: nothing was changed; try again",
    "SQLITE_IOERR": "the database file could not be read or written (a disk error): nothing "
                    "was changed",
    "SQLITE_CANTOPEN": "the database file cannot be opened (is its directory there and "
                       "readable?)",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_NOTADB": "that file is not a backroom database",
    "SQLITE_PERM": "the database refused access: nothing was changed",
}
_PG_CLASSES = {
    "53": "the database server is out of resources (disk full, memory or connections): "
          "nothing was changed; try again later",
    "08": "the connection to the database server was lost: nothing was changed; try again",
    "57": "the database server is shutting down or cancelled the work: nothing was changed",
    "40": "the database server could not finish the change because of another at the same "
          "time: nothing was changed; try again",
}


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind a peewee one (peewee wraps it as its first arg)."""
    first = exc.args[0] if exc.args else None
    if isinstance(first, BaseException):
        return first
    return exc.__context__ or exc


def store_error(exc: BaseException) -> BackroomError | None:
    """The refusal an operator reads for an error of the database itself (read-only, disk
    full, locked, connection lost), or None for anything else (a bug, to be reported). The
    command line and the app show these as one line, like every store error."""
    if isinstance(exc, BackroomError):
        return exc
    if isinstance(exc, OverflowError):  # a number past 64 bits sent to the driver
        return ValidationError("a number given is too large for the database")
    if isinstance(exc, peewee.IntegrityError):
        return None  # services turn these into their own refusals
    if not isinstance(exc, peewee.OperationalError | peewee.InterfaceError
                      | peewee.InternalError | sqlite3.OperationalError):
        return None
    driver = _driver_error(exc)
    text = (str(driver).strip().splitlines() or [type(driver).__name__])[0]
    name = str(getattr(driver, "sqlite_errorname", ""))
    for prefix, message in _SQLITE_MESSAGES.items():
        if name.startswith(prefix):
            return DatabaseError(f"{message} ({text})")
    code = str(getattr(driver, "pgcode", "") or "")
    if code == "25006":
        return DatabaseError(f"the database is read-only: nothing was changed ({text})")
    if code[:2] in _PG_CLASSES:
        return DatabaseError(f"{_PG_CLASSES[code[:2]]} ({text})")
    if not name and not code and isinstance(exc, peewee.OperationalError | peewee.InterfaceError):
        # no SQLite or SQL state code: the driver lost or could not make its connection
        return DatabaseError(f"the database cannot be reached: {text}")
    return None  # a mistake in a statement (no such table, a syntax error): a bug


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (peewee.OperationalError, peewee.InterfaceError, peewee.InternalError,
            OverflowError) as exc:
        error = store_error(exc)
        if error is None:
            raise
        raise error from exc


class _Translating:
    """Mixed into the peewee databases backroom opens: the driver errors that say the
    database cannot do the work now become store.errors.DatabaseError where statements and
    transactions run, so every front end shows them as one line (the transaction is rolled
    back by peewee as for any other error)."""

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        with _translated():
            return super().execute_sql(sql, params)  # type: ignore[misc]

    def begin(self, *args: Any, **kwargs: Any) -> Any:
        with _translated():
            return super().begin(*args, **kwargs)  # type: ignore[misc]

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        with _translated():
            return super().commit(*args, **kwargs)  # type: ignore[misc]


# One lock per SQLite file for the write transactions of this process (see below).
_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_LOCK = threading.Lock()


class BackroomSqliteDatabase(_Translating, SqliteDatabase):
    """SQLite with driver errors translated (see _Translating), whose write transactions
    queue on a lock of this process. SQLite lets one writer in at a time; a writer finding
    it taken waits in SQLite's busy handler, which sleeps up to 100 ms between tries, so
    threads of one process (the workers of `backroom serve`, the app's writers and mail
    thread) would wait out those sleeps: 450 ms at p99 for 8 storefront clients. Queued on
    a lock, each starts the moment the one before commits. Other processes still meet at
    SQLite's own lock and busy timeout."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        with _WRITERS_LOCK:
            self._writer = _WRITERS.setdefault(os.path.abspath(database), threading.Lock())
        self._holding = threading.local()
        self._wait = float(kwargs.get("timeout", 10.0))

    def begin(self, *args: Any, **kwargs: Any) -> Any:
        if not getattr(self._holding, "lock", False):
            if not self._writer.acquire(timeout=self._wait):
                raise DatabaseError(f"{_SQLITE_MESSAGES['SQLITE_BUSY']} (another writer of "
                                    "this process held the database)")
            self._holding.lock = True
        try:
            return super().begin(*args, **kwargs)
        except BaseException:
            self._release()
            raise

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        result = super().commit(*args, **kwargs)  # a failed COMMIT is rolled back: released
        self._release()
        return result

    def rollback(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().rollback(*args, **kwargs)
        finally:
            self._release()

    def _release(self) -> None:
        if getattr(self._holding, "lock", False):
            self._holding.lock = False
            self._writer.release()


class BackroomPostgresqlDatabase(_Translating, PostgresqlDatabase):
    """PostgreSQL with driver errors translated (see _Translating)."""


class PooledBackroomSqliteDatabase(_Translating, PooledSqliteDatabase):
    """SQLite whose connections are kept and handed to the next thread that connects: the
    app's read workers are short threads, and opening a connection (file, pragmas, the
    schema read again, a cold page cache) cost 0.55 ms of a 0.9 ms queue page."""


class PooledBackroomPostgresqlDatabase(_Translating, PooledPostgresqlDatabase):
    """PostgreSQL with its connections kept for the next thread (see the SQLite one)."""


POOL_SIZE = 8  # more threads than this at once wait for a connection (workers are few)


def _parse(url: str) -> ParseResult:
    """The URL's parts; a URL that cannot be read (a bad IPv6 host, a port past 65535) is
    refused with what is wrong."""
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 (parsed on access: a port out of range raises here)
    except ValueError as exc:
        raise DatabaseError(f"{redact(url)}: not a database URL we can read ({exc}); use "
                            "sqlite:///path/to/shop.db or postgresql://user@host:5432/name") \
            from None
    return parsed


def connect(url: str, busy_timeout_ms: int = 10000, pooled: bool = False,
            temp_in_memory: bool = False) -> Database:
    """A peewee Database for a URL, not yet bound to the models; `pooled` keeps closed
    connections for the next thread that opens one (the app: a connection per worker thread
    without opening one per worker). `temp_in_memory` keeps SQLite's temporary files in
    memory, for a server of small requests: a savepoint's journal (a service's transaction
    inside the one of its Idempotency-Key) otherwise goes to a temporary file, made and
    deleted for each request, 0.2-0.25 ms of an order placed through the API. Not for the
    app and the command line, whose sorts and temporary indexes of a large shop would then
    be held in memory whole."""
    parsed = _parse(url)
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
        sqlite_class: Any = BackroomSqliteDatabase
        extra: dict[str, Any] = {}
        if pooled:
            sqlite_class = PooledBackroomSqliteDatabase
            extra = {"max_connections": POOL_SIZE, "check_same_thread": False}
        pragmas: dict[str, Any] = {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": busy_timeout_ms,
            "synchronous": "normal",
            "cache_size": -64000,
        }
        if temp_in_memory:
            pragmas["temp_store"] = "memory"
        return sqlite_class(
            str(file),
            **extra,
            pragmas=pragmas,
            timeout=busy_timeout_ms / 1000,
            lock_type="IMMEDIATE",
        )
    if parsed.scheme in ("postgresql", "postgres"):
        name = parsed.path.lstrip("/")
        if not name:
            raise DatabaseError(f"{url}: give a database name, like postgresql://user@host/shop")
        pg_class: Any = PooledBackroomPostgresqlDatabase if pooled else BackroomPostgresqlDatabase
        return pg_class(
            unquote(name),
            **({"max_connections": POOL_SIZE} if pooled else {}),
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


def unknown_migrations(database: Database) -> list[str]:
    """Migrations the database has applied that this version does not have: it was made or
    upgraded by a newer backroom, whose schema this version cannot be trusted to keep."""
    return [m.name for m in runner(database).status() if m.applied and not m.path]


def refuse_newer(database: Database, url: str) -> None:
    """Refuse a database that a newer backroom has migrated, naming what it does not know."""
    unknown = unknown_migrations(database)
    if unknown:
        raise DatabaseError(
            f"{redact(url)} was upgraded by a newer backroom (migration "
            f"{', '.join(unknown)} is unknown to this version): upgrade backroom to use it; "
            "nothing was changed")


def migrate(database: Database | None = None) -> list[str]:
    """Apply every pending migration in order; returns the names applied."""
    target = database if database is not None else db.obj
    return list(runner(target).up())


def open_unmigrated(url: str, busy_timeout_ms: int = 10000) -> Database:
    """The database bound to the models but not upgraded (for `backroom migrate`), refused
    if a newer backroom migrated it."""
    database = connect(url, busy_timeout_ms)
    try:
        database.connect(reuse_if_open=True)
    except Exception as exc:  # the driver's own error type varies by backend
        raise DatabaseError(f"cannot open {redact(url)}: {str(exc).strip()}") from None
    db.initialize(database)
    refuse_newer(database, url)
    return database


def open_database(url: str, busy_timeout_ms: int = 10000, auto_migrate: bool = True,
                  pooled: bool = False, temp_in_memory: bool = False) -> Database:
    """Connect, bind the models, and bring the schema up to date (or refuse, if told not to,
    or if a newer backroom made it); `pooled` and `temp_in_memory` as for connect()."""
    database = connect(url, busy_timeout_ms, pooled, temp_in_memory)
    try:
        database.connect(reuse_if_open=True)
    except Exception as exc:  # the driver's own error type varies by backend
        reason = (str(_driver_error(exc)).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseError(f"cannot open {redact(url)}: {reason}") from None
    db.initialize(database)
    refuse_newer(database, url)
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
    """The URL without its password, for messages (even one that does not parse)."""
    try:
        password = urlparse(url).password
    except ValueError:
        password = None
        head, at, _rest = url.rpartition("@")
        if at and ":" in head.partition("://")[2]:
            scheme, _, user = head.partition("://")
            return f"{scheme}://{user.split(':', 1)[0]}:***@{_rest}"
    if password:
        return url.replace(f":{password}@", ":***@")
    return url


@contextlib.contextmanager
def write() -> Iterator[None]:
    """One write transaction: BEGIN IMMEDIATE on SQLite (the lock_type), plain on PostgreSQL."""
    with db.atomic():
        yield


BULK_ROWS = 1_000  # rows a bulk write must add before its table's statistics are refreshed


def after_bulk_write(table: str, rows: int) -> None:
    """Refresh a table's statistics after a bulk write of `rows`, on PostgreSQL: its planner
    plans from statistics that autovacuum refreshes only later, and right after importing
    100,000 subscribers it planned a campaign's batches for 144 of them, reading all 100,000
    for each batch (2.2x a plain INSERT ... SELECT; 1.4x with the statistics). SQLite plans
    these statements from the indexes alone."""
    if rows >= BULK_ROWS and not is_sqlite():
        db.execute_sql(f'ANALYZE "{table}"')


def ping() -> None:
    """Ask the database a trivial question (`backroom serve`'s health check): a database out
    of reach raises DatabaseError, saying why."""
    db.execute_sql("SELECT 1").fetchone()


def connection_dropped() -> bool:
    """Whether the server dropped this thread's open connection (PostgreSQL restarted, an
    administrator or an idle timeout ended it), told without a round trip: psycopg2 marks a
    connection closed once a use failed, and a server ending an idle connection first sends
    it a message, so its socket has something to read where nothing was asked (backroom
    listens for no notifications). Always False on SQLite and with no connection open."""
    if db.obj is None or is_sqlite() or db.is_closed():
        return False
    conn = db.connection()
    if conn.closed:
        return True
    waiting = select.poll()  # not select(): it refuses a descriptor past 1023
    waiting.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    return bool(waiting.poll(0))


def close() -> None:
    """Close this thread's connection; a pooled database also closes the connections it
    keeps idle (those other threads are using stay theirs)."""
    if db.obj is not None and not db.is_closed():
        db.close()
    if isinstance(db.obj, PooledDatabase):
        db.obj.close_idle()
