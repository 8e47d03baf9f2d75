"""Schema migrations: a new database gets them all; an older one is upgraded on open (the
default) or refused with a message to run `backroom migrate`; no upgrade loses data."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from store import db as dbmod
from store import models, operators, orders, status
from store.errors import DatabaseError
from store.models import Order, OrderEvent, Outbox
from store.shop import Shop, open_shop
from store.workflow import DEFAULT
from tests.conftest import cli_config, make_config
from tests.factories import place
from tui.cli import main

FILES = sorted(p.stem for p in dbmod.MIGRATIONS_DIR.glob("[0-9]*.py"))


def _older(url: str) -> Shop:
    """A database as the first release left it: only 0001 applied, with one real order. The
    order is made by today's services (which write today's columns), then every later
    migration is taken back down, each as its own `down` does."""
    database = dbmod.connect(url)
    database.connect()
    models.db.initialize(database)
    assert dbmod.runner(database).up() == FILES
    shop = Shop(make_config(url), DEFAULT)
    ref = place(shop)
    status.change_status(shop, operators.ensure_admin("ada"), [ref.id], "paid")
    dbmod.runner(database).down(target=FILES[1])
    assert dbmod.pending_migrations(database) == FILES[1:]
    dbmod.close()
    return shop


def test_new_database_gets_every_migration(own_db_url: str) -> None:
    assert FILES[0] == "0001_initial"
    open_shop(make_config(own_db_url))
    status = dbmod.runner(models.db.obj).status()
    assert [m.name for m in status] == FILES
    assert all(m.applied for m in status)
    assert dbmod.pending_migrations(models.db.obj) == []


def test_older_database_is_upgraded_on_open_and_keeps_its_data(own_db_url: str) -> None:
    _older(own_db_url)
    open_shop(make_config(own_db_url))
    assert dbmod.pending_migrations(models.db.obj) == []
    order = Order.get()
    assert order.status == "paid" and order.amount_paid == order.total
    assert [e.kind for e in OrderEvent.select().order_by(OrderEvent.id)] == ["placed", "status"]
    assert Outbox.select().count() == 3
    # the upgraded database works: a new order gets the next number, codes still resolve
    shop = open_shop(make_config(own_db_url))
    ref = place(shop)
    assert Order.get_by_id(ref.id).number == order.number + 1
    assert orders.find_order(shop, order.code).id == order.id


def test_older_database_is_refused_when_auto_migrate_is_off(own_db_url: str) -> None:
    _older(own_db_url)
    with pytest.raises(DatabaseError) as err:
        open_shop(make_config(own_db_url, database={"auto_migrate": False}))
    assert "run `backroom migrate` first" in str(err.value)
    assert f"{len(FILES) - 1} migration(s) pending" in str(err.value)
    assert dbmod.pending_migrations(models.db.obj) == FILES[1:]


def test_backroom_migrate_applies_them(own_db_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _older(own_db_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BACKROOM_DATABASE_URL", raising=False)
    monkeypatch.delenv("BACKROOM_CONFIG", raising=False)
    (tmp_path / "config.toml").write_text(tomli_w.dumps(
        cli_config(own_db_url, database={"auto_migrate": False})))
    runner = CliRunner(env={"BACKROOM_OPERATOR": "ada"})
    refused = runner.invoke(main, ["operator", "list"])
    assert refused.exit_code == 1 and "run `backroom migrate` first" in refused.output
    dbmod.close()
    stranger = runner.invoke(main, ["migrate"], env={"BACKROOM_OPERATOR": "mallory"})
    assert stranger.exit_code == 1 and "only an admin may run `backroom migrate`" in (
        stranger.output)
    dbmod.close()
    applied = runner.invoke(main, ["migrate"])
    assert applied.exit_code == 0, applied.output
    assert applied.output.strip() == f"applied: {', '.join(FILES[1:])}"
    dbmod.close()
    again = runner.invoke(main, ["migrate"])
    assert again.output.strip() == "the database is up to date"
    dbmod.close()
    listed = runner.invoke(main, ["operator", "list"], env={"BACKROOM_OPERATOR": "ada"})
    assert listed.exit_code == 0 and "ada" in listed.output
    open_shop(make_config(own_db_url, database={"auto_migrate": False}))
    assert Order.select().count() == 1


def test_sqlite_pragmas_and_immediate_writes(sqlite_url: str) -> None:
    dbmod.close()
    open_shop(make_config(sqlite_url, database={"busy_timeout_ms": 4321}))
    database = models.db.obj
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 4321
    assert database._lock_type == "IMMEDIATE"
    # a write transaction takes the write lock at BEGIN: a second connection cannot write
    other = dbmod.connect(sqlite_url, busy_timeout_ms=0)
    other.connect()
    try:
        with models.db.atomic():
            Order.select().count()  # a read only; IMMEDIATE already holds the lock
            with pytest.raises(Exception, match="locked"):
                other.execute_sql("BEGIN IMMEDIATE")
    finally:
        other.close()
        dbmod.close()


def test_money_columns_are_integers() -> None:
    from peewee import IntegerField

    for model, names in ((Order, ["subtotal", "tax", "shipping_cost", "discount", "total",
                                  "amount_paid", "amount_refunded"]),
                         (models.OrderItem, ["unit_price"]), (models.Payment, ["amount"])):
        for name in names:
            assert isinstance(model._meta.fields[name], IntegerField), f"{model}.{name}"


def test_undoing_the_customer_search_migration_keeps_the_order_indexes(own_db_url: str) -> None:
    """0003's down() removes only what 0003 added: a customer's orders stay indexed (0002)."""
    open_shop(make_config(own_db_url))
    database = models.db.obj
    later = [name for name in FILES if name > "0003_customer_search"]
    if later:
        dbmod.runner(database).down(target=later[0])  # back to just after 0003
    before = {i.name for i in database.get_indexes("orders")}
    dbmod.runner(database).down(target="0003_customer_search")  # and every later one
    assert {i.name for i in database.get_indexes("orders")} == before - {"orders_external"}
    assert "orders_customer_placed" in {i.name for i in database.get_indexes("orders")}
    dbmod.runner(database).up()
    assert dbmod.pending_migrations(database) == []


def test_the_search_triggers_survive_every_migration(sqlite_url: str) -> None:
    """0008 adds columns to orders without rebuilding the table (which on SQLite would drop
    the triggers that keep the search index in step)."""
    open_shop(make_config(sqlite_url))
    triggers = {name for (name,) in models.db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orders'")}
    assert triggers == {"order_fts_insert", "order_fts_delete", "order_fts_update"}
