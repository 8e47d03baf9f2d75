"""Helpers shared by the TUI tests: an app on the test database, and waiting for it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

from store import db as dbmod
from store.config import Config
from tests.conftest import make_config
from tui.app import BackroomApp, build_app
from tui.workers import readers


def app_config(config: Config, **ui: Any) -> Config:
    """The test config without the in-app mail loop (no SMTP server here), plus ui changes."""
    url = config.database_url
    return make_config(url, mail={"deliver_in_app": False}, ui=ui)


def make_app(config: Config, login: str = "ada", **ui: Any) -> BackroomApp:
    return build_app(app_config(config, **ui), login)


# Workers that wait for the operator (a flow between dialogs): settling never waits for them.
INTERACTIVE = frozenset({"status-change", "print-ask"})


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every worker is done (but those waiting on a dialog) and the messages they
    posted are handled."""
    app = pilot.app

    def busy() -> list[Any]:
        return [w for w in app.workers if w.is_running and w.group not in INTERACTIVE]

    for _ in range(20):
        try:
            waiting = busy()
            if waiting:  # an empty list would mean every worker
                await app.workers.wait_for_complete(waiting)
        except (WorkerCancelled, WorkerFailed):
            pass  # a superseded load, or a failure the app turned into a notice
        await pilot.pause()
        if not busy():
            await pilot.pause()
            if not busy():
                return


async def wait_until(pilot: Pilot[Any], condition: Any, tries: int = 100) -> None:
    """Let the app run (timers, debounce, workers) until `condition()` holds."""
    for _ in range(tries):
        await settle(pilot)
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never reached the expected state")


def screen_text(app: Any) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def poll_until(pilot: Pilot[Any], condition: Any, tries: int = 200) -> None:
    """Let the app run until `condition()` holds, without waiting for workers to finish (a
    worker may be held on purpose)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the app never reached the expected state")


@contextmanager
def database_held(url: str) -> Iterator[None]:
    """Another client holds the database so that every read of the orders waits until the
    block ends, as a busy server would make it: on SQLite a connection in exclusive locking
    mode (opened once this thread's connection and the app's read threads' kept ones are
    closed, so it is the only one), on PostgreSQL an ACCESS EXCLUSIVE lock on the orders
    table."""
    if url.startswith("sqlite:///"):
        readers.close()  # they open their connections again when next asked, and wait
        dbmod.close()
        holder = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
        try:
            holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            holder.execute("BEGIN EXCLUSIVE")
            holder.execute("COMMIT")  # the lock stays until the connection closes
            yield
        finally:
            holder.close()
        return
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        conn.rollback()
        conn.close()
