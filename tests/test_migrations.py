"""Schema migrations: a new database gets them all; an older one is upgraded on open (the
default) or refused with a message to run `backroom migrate`; no upgrade loses data."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from store import checks, models, operators, orders, queries
from store import customer_queries as cq
from store import db as dbmod
from store.errors import DatabaseError
from store.folding import fold_item
from store.models import Order, OrderEvent, Outbox
from store.queries import QueueFilter
from store.shop import open_shop
from store.sql import named
from tests.conftest import cli_config, make_config
from tests.factories import place
from tui.cli import main

FILES = sorted(p.stem for p in dbmod.MIGRATIONS_DIR.glob("[0-9]*.py"))


OLD_ROWS = [
    ("operator", {"login": "ada", "display_name": "", "role": "admin", "active": True}),
    ("customer", {"first_name": "Jürgen", "last_name": "Köhler", "email": "jk@example.de",
                  "email_key": "jk@example.de", "phone": "+49 (0)3923-5555",
                  "language": "en", "status": "active", "status_reason": "",
                  "registered_at": "2025-01-02 10:00:00", "marketing_consent": False,
                  "consent_source": "", "version": 1, "updated_by": "",
                  "search_text": "Jürgen Köhler jk@example.de +49 (0)3923-5555 Köln"}),
    ("address", {"customer_id": 1, "kind": "shipping", "first_name": "Jürgen",
                 "last_name": "Köhler", "company": "", "line1": "Domstraße 1", "line2": "",
                 "postcode": "50667", "city": "Köln", "region": "", "country": "DE",
                 "phone": ""}),
    ("orders", {"number": 10000, "code": "BR-100009", "customer_id": 1,
                "customer_name": "Jürgen Köhler", "customer_email": "jk@example.de",
                "customer_phone": "+49 (0)3923-5555", "language": "en", "status": "paid",
                "currency": "EUR", "subtotal": 1999, "tax": 400, "shipping_cost": 0,
                "discount": 0, "total": 2399, "payment_method": "card",
                "payment_reference": "", "amount_paid": 2399, "amount_refunded": 0,
                "shipping_method": "standard", "tracking_number": "", "carrier": "",
                "internal_reference": "", "customer_note": "", "item_count": 1,
                "placed_at": "2025-02-03 10:00:00", "archived": False, "is_test": False,
                "version": 2, "updated_by": "ada",
                "search_text": "BR-100009 Jürgen Köhler jk@example.de SKU-0 Product 0"}),
    ("order_item", {"order_id": 1, "sku": "SKU-0", "name": "Product 0", "quantity": 1,
                    "unit_price": 1999, "tax_rate_bp": 2000}),
    ("order_event", {"order_id": 1, "kind": "placed", "from_status": "",
                     "to_status": "awaiting_payment", "message": "order placed", "data": "{}",
                     "operator_login": "storefront", "visible": False}),
    ("order_event", {"order_id": 1, "kind": "status", "from_status": "awaiting_payment",
                     "to_status": "paid", "message": "", "data": "{}",
                     "operator_login": "ada", "visible": True}),
    ("payment", {"order_id": 1, "kind": "payment", "amount": 2399, "currency": "EUR",
                 "method": "card", "reference": "", "reason": "", "operator_login": "ada"}),
    *[("outbox", {"kind": kind, "recipient": "jk@example.de", "language": "en",
                  "payload": "{}", "idempotency_key": f"{kind}:1", "state": "sent",
                  "order_id": 1, "subject": "", "attempts": 1,
                  "next_attempt_at": "2025-02-03 10:00:00", "last_error": "",
                  "lease_owner": "", "message_id": ""})
      for kind in ("order_placed", "merchant_new_order", "payment_received")],
]


def _older(url: str) -> None:
    """A database as the first release left it: only 0001 applied, with one real, paid order
    of a customer, its rows written as that release wrote them."""
    database = dbmod.connect(url)
    database.connect()
    models.db.initialize(database)
    assert dbmod.runner(database).up(target="0001_initial") == ["0001_initial"]
    with database.atomic():
        for table, row in OLD_ROWS:
            row = row | {"created_at": "2025-02-03 10:00:00", "updated_at": "2025-02-03 10:00:00"}
            names = ", ".join(row)
            marks = ", ".join(named(name) for name in row)
            database.execute_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", row)
    dbmod.close()


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
    # every row was re-indexed, folded (0005), and the customer's figures filled in
    for text in ("kohler", "koehler", "juergen", "39235555"):
        assert queries.matching_ids(QueueFilter(text=text)) == [order.id], text
        assert [r.id for r in cq.customer_page(shop, cq.parse_customer_filter(text)).rows] == [
            order.customer_id], text
    for text in ("koln", "50667"):
        assert [r.id for r in cq.customer_page(shop, cq.parse_customer_filter(text)).rows] == [
            order.customer_id], text
    # its item, written before the items had an index (0016), is found through it
    assert queries.search.product_page_few() >= 100
    assert order.id in queries.matching_ids(QueueFilter(product="product 0"))  # and ref's
    if dbmod.is_sqlite():
        assert models.db.execute_sql("SELECT rowid FROM item_fts WHERE item_fts MATCH "
                                     "'\"Product 0\"'").fetchall() != []
    customer = models.Customer.get_by_id(order.customer_id)
    assert (customer.order_count, customer.spent) == (1, 2399)
    assert customer.first_order_at == customer.last_order_at == order.placed_at


OLD_ITEMS = [("CRM-1", "Crème brûlée"), ("LDZ-1", "Łódź mug"), ("STR-1", "Straße sign"),
             ("KHL-1", "Köhler kettle"), ("TKY-1", "東京タワー print")]


def test_an_older_databases_items_are_folded_for_the_product_filter(
        own_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """0018: the items a shop held before (indexed as typed by 0016) get their folded text,
    and `product:` finds them by it, through the rebuilt index and by the walk alike."""
    _older(own_db_url)
    database = dbmod.connect(own_db_url)
    database.connect()
    models.db.initialize(database)
    dbmod.runner(database).up(target="0017_test_orders")
    stamp = "2025-02-03 10:00:00"
    with database.atomic():  # written as 0017's release wrote them: no folded text
        for sku, name in OLD_ITEMS:
            row = {"order_id": 1, "sku": sku, "name": name, "quantity": 1, "unit_price": 500,
                   "tax_rate_bp": 2000, "created_at": stamp, "updated_at": stamp}
            database.execute_sql(f"INSERT INTO order_item ({', '.join(row)}) VALUES "
                                 f"({', '.join(named(n) for n in row)})", row)
    dbmod.close()

    shop = open_shop(make_config(own_db_url))
    assert dbmod.pending_migrations(models.db.obj) == []
    items = list(models.OrderItem.select().order_by(models.OrderItem.id))
    assert [(i.sku, i.name) for i in items] == [("SKU-0", "Product 0"), *OLD_ITEMS]
    assert [i.folded for i in items] == [fold_item(i.sku, i.name) for i in items]
    order = Order.get()
    for product in ("creme brulee", "CRÈME", "lodz", "ŁÓDŹ", "strasse", "kohler", "koehler",
                    "東京", "product 0"):
        for few in (10 ** 6, 1):  # read by the index's ids; walked
            monkeypatch.setattr(queries.search, "product_page_few", lambda few=few: few)
            assert queries.matching_ids(QueueFilter(product=product)) == [order.id], (
                product, few)
    if dbmod.is_sqlite():
        columns = [r[1] for r in models.db.execute_sql("PRAGMA table_info(item_fts)")]
        assert columns == ["folded"]
        assert models.db.execute_sql("SELECT rowid FROM item_fts WHERE item_fts MATCH "
                                     "'\"lodz\"'").fetchall() == [(items[2].id,)]
    else:
        indexes = {i.name for i in models.db.get_indexes("order_item")}
        assert "order_item_folded_trgm" in indexes
        assert not indexes & {"order_item_sku_trgm", "order_item_name_trgm"}
    # the items themselves and their index are in step (the order's own search row is not:
    # these items were added to it behind the store's back)
    [index] = checks.run_checks(shop, operators.ensure_admin("ada"), ["search_index"])
    assert [line for line in index.differences if "item" in line] == []


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
    """Later migrations add columns to orders without rebuilding tables (which on SQLite
    would drop the triggers that keep the search index in step): they are all there, on
    order_search since 0005."""
    open_shop(make_config(sqlite_url))
    triggers = {name for (name,) in models.db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'order_search'")}
    assert triggers == {"order_fts_insert", "order_fts_delete", "order_fts_update"}
    items = {name for (name,) in models.db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'order_item'")}
    assert items == {"item_fts_insert", "item_fts_delete", "item_fts_update"}  # 0016
