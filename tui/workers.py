"""The one way screens reach the store: every store call runs off Textual's event loop, on a
thread with a database connection of its own.

Reads are async workers (`@work(exclusive=True, ...)`) that `await read_db(...)`: the call
runs on one of a few long-lived read threads, each keeping its connection open, so a
keystroke's page pays neither a new thread nor a connection taken from the pool and given
back (issue 13: 0.2-0.4 ms of a 0.6 ms page). A worker cancelled by a newer one (typing)
drops the answer; a read not yet started is not run at all. Writes and multi-step flows are
async workers that `await run_db(...)` between dialogs (`push_screen_wait`); long jobs
(printing a thousand slips) are thread workers calling `in_db`, so they never hold a read
thread. A worker that fails is turned into a notice by the screen's one handler
(tui.screens.base)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from peewee import Database, InterfaceError, OperationalError

from store.db import connection_dropped
from store.errors import DatabaseError
from store.models import db

T = TypeVar("T")
READ_THREADS = 2  # a page and the tabs' counts at once; more only share the 2 cores


def in_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a store call on this worker thread with a connection of its own, given back after,
    so short-lived worker threads never leak connections. The app's database is pooled
    (store.db.connect): "closing" hands the connection to the next worker thread, which
    finds it open, its pragmas set and its page cache warm, instead of opening a new one
    per worker (0.55 ms of a 0.9 ms queue page on a million orders)."""
    with _busy:
        if not db.is_closed():
            return fn(*args, **kwargs)
        with db.connection_context():
            return fn(*args, **kwargs)


class _Busy:
    """How many store calls (in_db: writes, exports, long jobs) are running, so that an app
    whose terminal went away ends only when they are done (tui.app._watch_terminal)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *_exc: object) -> None:
        with self._idle:
            self._count -= 1
            if not self._count:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no store call runs (at most `timeout` seconds); whether none does."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._count, timeout)


_busy = _Busy()


def wait_for_store_calls(timeout: float) -> bool:
    """Wait until no in_db call runs, at most `timeout` seconds; whether none does."""
    return _busy.wait_idle(timeout)


async def run_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`in_db` from an async worker: the call runs on a thread, the event loop stays free."""
    return await asyncio.to_thread(in_db, fn, *args, **kwargs)


_Job = tuple[Callable[[], Any], "concurrent.futures.Future[Any]"]


class Readers:
    """Long-lived read threads sharing one queue of reads; each keeps its connection open
    between reads (and opens a new one when the shop's database object changed, or after
    an error that may have broken it). `close` ends them, each closing its connection."""

    def __init__(self, count: int = READ_THREADS) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._count = count

    def submit(self, fn: Callable[..., T], *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[T]:
        """Queue a read; its future holds the answer or the error."""
        if len(self._threads) < self._count:
            self._start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((functools.partial(fn, *args, **kwargs), future))
        return future

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < self._count:
                thread = threading.Thread(target=self._serve, daemon=True,
                                          name=f"backroom-read-{len(self._threads) + 1}")
                thread.start()
                self._threads.append(thread)

    def _serve(self) -> None:
        kept: Database | None = None  # the database object this thread's connection is of
        try:
            while (job := self._jobs.get()) is not None:
                fn, future = job
                if not future.set_running_or_notify_cancel():
                    continue  # cancelled before it started (a newer keystroke)
                if kept is not None and (kept is not db.obj or connection_dropped()):
                    _close(kept)  # the shop was opened again (tests, a config reload), or
                    kept = None   # the server dropped the connection while it was kept
                kept = self._run(fn, future, kept)
        finally:
            if kept is not None:
                _close(kept)

    @staticmethod
    def _run(fn: Callable[[], Any], future: concurrent.futures.Future[Any],
             kept: Database | None) -> Database | None:
        """Run one read into its future; the database whose connection stays open after.
        A read that failed because the server dropped the kept connection under it runs
        again once on a new one: reads change nothing, and the operator would otherwise see
        "the database cannot be reached" where it can (after a PostgreSQL restart, each read
        thread's first read failed)."""
        for again in (kept is not None, False):
            try:
                if db.is_closed():
                    db.connect()
                kept = db.obj
                future.set_result(fn())
                return kept
            except BaseException as exc:
                if not (isinstance(exc, OperationalError | InterfaceError | DatabaseError)
                        and kept):
                    future.set_exception(exc)
                    return kept
                dropped = connection_dropped()
                _close(kept)  # it may be broken: the next read opens another
                kept = None
                if not (again and dropped):
                    future.set_exception(exc)
                    return None
        return None

    def close(self, wait: float = 5.0) -> None:
        """End the threads after the reads already queued; each closes its connection."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join(wait)


def _close(database: Database) -> None:
    """Give this thread's connection back (to the pool, for a pooled database)."""
    with contextlib.suppress(Exception):  # a broken connection: nothing left to give back
        if not database.is_closed():
            database.close()


readers = Readers()


async def read_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A store read from an async worker, on a kept read thread (see Readers)."""
    return await asyncio.wrap_future(readers.submit(fn, *args, **kwargs))


def read_now(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A store read from a plain thread, waited for (the bench measures reads this way)."""
    return readers.submit(fn, *args, **kwargs).result()
