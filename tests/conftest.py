"""Fixtures: a real SQLite file per test, and the PostgreSQL server when
BACKROOM_TEST_PG_URL is set (one scratch database per test session, emptied per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

import psycopg2
import pytest

from store import config as configmod
from store import db as dbmod
from store import operators
from store.models import ALL_MODELS, db
from store.operators import Actor
from store.shop import Shop, open_shop

PG_URL = os.environ.get("BACKROOM_TEST_PG_URL", "")


@pytest.fixture(scope="session", autouse=True)
def _event_log_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The event log of every test (and of the processes tests start) goes to a scratch
    directory, and to a file even when the suite runs under systemd (no $JOURNAL_STREAM)."""
    saved = {k: os.environ.get(k) for k in ("XDG_STATE_HOME", "JOURNAL_STREAM")}
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    os.environ.pop("JOURNAL_STREAM", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
PG_SKIP = "PostgreSQL tests need BACKROOM_TEST_PG_URL"


def _with_dbname(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{name}"))


def create_pg_database() -> str:
    """A new empty PostgreSQL database on the test server; its URL."""
    name = f"backroom_t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return _with_dbname(PG_URL, name)


def drop_pg_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    conn = psycopg2.connect(PG_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    if not PG_URL:
        yield ""
        return
    url = create_pg_database()
    yield url
    dbmod.close()
    drop_pg_database(url)


def _empty_pg(url: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'schema_migration'")
        tables = [r[0] for r in cur.fetchall()]
        if tables:
            cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                        + " RESTART IDENTITY CASCADE")
    conn.close()


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path, pg_session_url: str) -> str:
    """The URL of an empty shop database: a SQLite file, or the PostgreSQL scratch database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    if not pg_session_url:
        pytest.skip(PG_SKIP)
    dbmod.close()
    _empty_pg(pg_session_url)
    return pg_session_url


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def own_db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database of its own, that other processes may also open: a SQLite file, or a
    new PostgreSQL database dropped afterwards."""
    dbmod.close()
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        dbmod.close()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url = create_pg_database()
    try:
        yield url
    finally:
        dbmod.close()
        drop_pg_database(url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


# The account running the tests. Command-line tests that act as several operators list it in
# operators.service_accounts, as a shared SSH account is, and name the operator in
# $BACKROOM_OPERATOR (store.operators.current_login).
OWNER = operators.process_owner()


def cli_config(url: str, **sections: dict) -> dict:
    """A config document (for tomli_w) on `url` in which this test process is a service
    account, so that $BACKROOM_OPERATOR picks the operator of each command."""
    raw: dict = {"database": {"url": url}, "operators": {"service_accounts": [OWNER]}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return _links_answered(raw)


NEWS_URL = "https://news.shop.test"


def _links_answered(raw: dict) -> dict:
    """A test's newsletter settings name where its links are answered unless the test says
    (a campaign is refused while they would point at the example storefront of a new
    config: store.newsletter_links.answered_base)."""
    if "newsletter" in raw:
        raw["newsletter"].setdefault("public_url", NEWS_URL)
    return raw


def make_config(url: str, **sections: dict) -> configmod.Config:
    raw: dict = {"database": {"url": url}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return configmod.from_mapping(_links_answered(raw), "test", environ={})


@pytest.fixture
def config(db_url: str) -> configmod.Config:
    return make_config(db_url)


@pytest.fixture
def shop(config: configmod.Config) -> Iterator[Shop]:
    opened = open_shop(config)
    yield opened
    dbmod.close()


@pytest.fixture
def admin(shop: Shop) -> Actor:
    return operators.ensure_admin("ada")


@pytest.fixture
def manager(admin: Actor) -> Actor:
    return operators.add(admin, "mo", "manager")


@pytest.fixture
def clerk(admin: Actor) -> Actor:
    return operators.add(admin, "cleo", "clerk")


@pytest.fixture
def viewer(admin: Actor) -> Actor:
    return operators.add(admin, "vic", "viewer")


__all__ = ["ALL_MODELS", "OWNER", "PG_SKIP", "PG_URL", "cli_config", "create_pg_database", "db",
           "drop_pg_database", "make_config"]


_pg_ran: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count PostgreSQL tests that really ran, so CI can fail if none did."""
    if report.when == "call" and report.passed and "[pg" in report.nodeid:
        _pg_ran.append(report.nodeid)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    terminalreporter.write_line(f"backroom: {len(_pg_ran)} PostgreSQL tests passed")
