"""`backroom check`: a broken search index, a mail stuck past its lease, a wrong maintained
figure and a row whose parent is gone are found (exit 1, with how to repair), and `--repair`
mends what can be rebuilt; the registry takes a new check in one decorated function."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner, Result

from store import (
    checks,
    customer_queries,
    customers,
    operators,
    orders,
    outbox,
    payments,
    queries,
    status,
    subscriber_queries,
    subscribers,
)
from store import db as dbmod
from store.models import Customer, Order, OrderItem, Outbox, Subscriber, db, utcnow
from store.operators import Actor
from store.shop import Shop
from tests.conftest import cli_config
from tests.factories import place
from tui.cli import main


def _check(tmp_path: Path, url: str, *args: str, login: str = "ada") -> Result:
    config = tmp_path / "config.toml"
    config.write_text(tomli_w.dumps(cli_config(url)))
    dbmod.close()
    result = CliRunner().invoke(main, ["--config", str(config), "check", *args],
                                env={"BACKROOM_OPERATOR": login})
    dbmod.close()
    return result


def _found(shop: Shop, admin: Actor) -> dict[str, tuple[str, ...]]:
    return {r.name: r.differences for r in checks.run_checks(shop, admin) if r.differences}


def test_a_sound_shop_passes(shop: Shop, admin: Actor, tmp_path: Path) -> None:
    ref = place(shop)
    status.change_status(shop, admin, [ref.id], "paid")
    payments.refund(shop, admin, ref.id, 500, "scratched")
    result = _check(tmp_path, shop.config.database_url)
    assert result.exit_code == 0, result.output
    sqlite = shop.config.database_url.startswith("sqlite")
    assert ("integrity: ok" in result.output) == sqlite
    assert "search_index: ok" in result.output  # order_search is checked on both databases
    assert "outbox_leases: ok" in result.output and "order_payments: ok" in result.output
    assert result.output.strip().endswith("check(s) ok")


def test_broken_search_index_is_found_and_rebuilt(shop: Shop, admin: Actor,
                                                  tmp_path: Path) -> None:
    if not shop.config.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's trigram index is the column's own; FTS5 is SQLite's")
    refs = [place(shop, name=f"Quentin Zebulon {n}") for n in range(3)]
    code = refs[1].code
    with db.atomic():  # the index loses an order and keeps a row for one that is gone
        db.execute_sql("INSERT INTO order_fts(order_fts, rowid, text) SELECT 'delete', "
                       "order_id, text FROM order_search WHERE order_id = ?", (refs[1].id,))
        db.execute_sql("INSERT INTO order_fts(rowid, text) VALUES (999999, 'ghost')")
    assert len(queries.queue_page(queries.QueueFilter(text="Zebulon"), None, 10).rows) == 2

    found = _check(tmp_path, shop.config.database_url)
    assert found.exit_code == 1
    assert f"1 order(s) missing from order_fts ({code}): a search does not find them" \
        in found.output
    assert "1 row(s) of order_fts for orders that are gone (#999999)" in found.output
    assert "repair: `backroom check --repair` rebuilds the search rows and index" in found.output
    assert found.output.strip().endswith(f"check: 1 of {len(checks.registered())} check(s) "
                                         "differ")

    mended = _check(tmp_path, shop.config.database_url, "--repair")
    assert mended.exit_code == 0, mended.output
    assert "repaired: search_index: search index rebuilt" in mended.output
    assert mended.output.split("after repair:")[1].count("DIFFERS") == 0
    assert len(queries.queue_page(queries.QueueFilter(text="Zebulon"), None, 10).rows) == 3


def test_the_items_index_out_of_step_is_found_and_rebuilt(shop: Shop, admin: Actor,
                                                           tmp_path: Path) -> None:
    """The product filter's index (item_fts, migration 0016, over the folded text since
    0018): an item it lost is found by `backroom check` and put back by --repair, and the
    filter finds its order again."""
    if not shop.config.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's trigram index is the column's own; FTS5 is SQLite's")
    ref = place(shop, name="Ida Item")
    item_id, name, folded = db.execute_sql(
        "SELECT id, name, folded FROM order_item WHERE order_id = ?", (ref.id,)).fetchone()
    with db.atomic():
        db.execute_sql("INSERT INTO item_fts(item_fts, rowid, folded) "
                       "VALUES ('delete', ?, ?)", (item_id, folded))
    assert queries.matching_ids(queries.QueueFilter(product=name)) == []

    found = _check(tmp_path, shop.config.database_url)
    assert found.exit_code == 1
    assert f"1 item(s) missing from item_fts (#{item_id}): a search does not find them" \
        in found.output
    mended = _check(tmp_path, shop.config.database_url, "--repair")
    assert mended.exit_code == 0, mended.output
    queries._COMPILED.clear()
    assert queries.matching_ids(queries.QueueFilter(product=name)) == [ref.id]


def test_an_items_folded_text_out_of_step_is_found_and_rewritten(shop: Shop, admin: Actor,
                                                                 tmp_path: Path) -> None:
    """Both databases: `product:` compares each item's folded SKU and name (order_item.folded,
    migration 0018), which the store writes with the item. An item written behind its back
    without it, or with it wrong, is not found by what it is, until the check says so and
    --repair folds it again (and, on SQLite, its index follows)."""
    ref = orders.place_order(shop, admin, items=[
        orders.ItemInput("CRM-1", "Crème brûlée", 1, 990),
        orders.ItemInput("LDZ-1", "Łódź mug", 1, 990)], guest_name="Ida Item",
        guest_email="ida@example.com")
    assert _products("creme") == _products("ŁÓDŹ") == [ref.id]
    assert "search_index" not in _found(shop, admin)
    crm, ldz = [i.id for i in OrderItem.select().where(OrderItem.order == ref.id)
                .order_by(OrderItem.id)]
    with db.atomic():  # another program: one item without its folded text, one as typed
        OrderItem.update(folded=None).where(OrderItem.id == crm).execute()
        OrderItem.update(folded="LDZ-1\nŁódź mug").where(OrderItem.id == ldz).execute()
    assert _products("creme") == _products("lodz") == []

    found = _check(tmp_path, shop.config.database_url, "--only", "search_index")
    assert found.exit_code == 1
    assert (f"2 item(s) whose folded text is out of date, 1 without any (#{crm}, #{ldz}): "
            "`product:` finds them by what they were, or not at all") in found.output
    mended = _check(tmp_path, shop.config.database_url, "--repair")
    assert mended.exit_code == 0, mended.output
    assert "search rows: 2 item(s) refolded" in mended.output
    assert _products("creme") == _products("lodz") == [ref.id]
    assert _found(shop, admin) == {}


def _products(product: str) -> list[int]:
    queries._COMPILED.clear()
    return queries.matching_ids(queries.QueueFilter(product=product))


def test_stale_search_text_is_found(shop: Shop, admin: Actor) -> None:
    """The index holds text the order no longer has (FTS5's own integrity-check)."""
    if not shop.config.database_url.startswith("sqlite"):
        pytest.skip("FTS5 is SQLite's")
    ref = place(shop, name="Olga Pentecost")
    db.execute_sql("DROP TRIGGER order_fts_update")  # edits no longer reach the index
    orders.edit_contact(shop, admin, ref.id, name="Olga Renamed")  # order_search is in step
    assert ["does not match the orders' searchable text" in line
            for line in _found(shop, admin)["search_index"]] == [True]
    checks.repair(shop, admin, checks.run_checks(shop, admin, ["search_index"]))
    assert "search_index" not in _found(shop, admin)


def _searched(text: str) -> list[str]:
    return [r.code for r in queries.queue_page(queries.QueueFilter(text=text), None, 10).rows]


def _customers_found(shop: Shop, text: str) -> list[int]:
    found = customer_queries.customer_page(
        shop, customer_queries.parse_customer_filter(text), None, 10).rows
    return [r.id for r in found]


def test_search_text_out_of_step_with_the_orders_is_found_and_rewritten(
        shop: Shop, admin: Actor, tmp_path: Path) -> None:
    """Both databases: what the search rows hold against what the orders and customers
    make now. Every service keeps them in step; a write behind the store's back (another
    program, a hand-made fix in sqlite3 or psql) leaves a renamed order or customer found
    only by the old name, until the check says so and --repair rewrites the rows."""
    zoe = customers.create_customer(shop, admin, email="zoe@example.fr", first_name="Zoé",
                                    last_name="Martin")
    customers.set_address(shop, admin, zoe.id, "shipping", {
        "first_name": "Zoé", "last_name": "Martin", "line1": "2 Quai Est", "postcode": "69002",
        "city": "Lyon", "country": "FR"})
    customers.edit_customer(shop, admin, zoe.id, {"last_name": "Marteau"})
    mine = place(shop, customer_id=zoe.id)
    guest = place(shop, name="Quentin Ostrowski")
    orders.edit_contact(shop, admin, guest.id, name="Quentin Ostrowsky")
    orders.set_tracking(shop, admin, guest.id, "6A123456789")
    orders.set_reference(shop, admin, mine.id, "PO-77")
    doomed = customers.create_customer(shop, admin, email="gone@example.com", first_name="Gus",
                                       last_name="Gone")
    place(shop, customer_id=doomed.id)
    customers.delete_customer(shop, admin, doomed.id, "gone@example.com")
    assert "search_index" not in _found(shop, admin)  # every service kept them in step

    with db.atomic():  # renamed behind the store's back
        Order.update(customer_name="Wilhelmina Quist").where(Order.id == guest.id).execute()
        Customer.update(last_name="Brouillard").where(Customer.id == zoe.id).execute()
    assert _searched("Quist") == [] and _customers_found(shop, "Brouillard") == []
    found = _check(tmp_path, shop.config.database_url, "--only", "search_index")
    assert found.exit_code == 1
    assert (f"1 order(s) whose search text is out of date ({guest.code}): a search finds "
            "them by what they were, not by what they are") in found.output
    assert f"1 customer(s) whose search text is out of date (#{zoe.id})" in found.output

    mended = _check(tmp_path, shop.config.database_url, "--repair")
    assert mended.exit_code == 0, mended.output
    assert "search rows: 1 order(s) rewritten, 1 customer(s) rewritten" in mended.output
    assert _searched("Quist") == [guest.code] and _searched("Ostrowsky") == []
    assert _customers_found(shop, "Brouillard") == [zoe.id]
    assert _found(shop, admin) == {}



def _subscribers_found(admin: Actor, text: str) -> list[str]:
    return [r.email for r in subscriber_queries.subscriber_page(admin, text).rows]


def test_subscriber_search_text_out_of_step_is_found_and_rewritten(
        shop: Shop, admin: Actor, tmp_path: Path) -> None:
    """Both databases: the subscribers' folded search text (migration 0014) against what
    their address and name make now. A rename behind the store's back, or a set-based write
    that left the text empty, is listed, and --repair rewrites it: the list's `/` finds them
    by their name again."""
    for email, first, last in (("zdenka@example.cz", "Zdeňka", "Wichterlová"),
                               ("bo@example.se", "Bo", "Sørensen"),
                               ("ann@example.com", "Ann", "Smith")):
        subscribers.subscribe(shop, admin, email=email, source="operator",
                              wording="Monthly news", first_name=first, last_name=last)
    assert _found(shop, admin) == {}  # every way in filled the text
    zdenka = Subscriber.get(Subscriber.email_key == "zdenka@example.cz")
    bo = Subscriber.get(Subscriber.email_key == "bo@example.se")
    with db.atomic():  # renamed behind the store's back; a text left empty
        Subscriber.update(last_name="Brouillard").where(Subscriber.id == zdenka.id).execute()
        Subscriber.update(search_text="").where(Subscriber.id == bo.id).execute()
    assert _subscribers_found(admin, "brouillard") == []
    assert _subscribers_found(admin, "sorensen") == []

    found = _check(tmp_path, shop.config.database_url, "--only", "search_index")
    assert found.exit_code == 1
    assert (f"2 subscriber(s) whose search text is out of date (#{zdenka.id}, #{bo.id}): a "
            "search finds them by what they were, not by what they are") in found.output

    mended = _check(tmp_path, shop.config.database_url, "--repair")
    assert mended.exit_code == 0, mended.output
    assert "search rows: 2 subscriber(s) rewritten" in mended.output
    assert _subscribers_found(admin, "brouillard") == ["zdenka@example.cz"]
    assert _subscribers_found(admin, "wichterlova") == []
    assert _subscribers_found(admin, "sorensen") == ["bo@example.se"]
    assert _found(shop, admin) == {}

def test_mail_stuck_past_its_lease_is_found_and_released(shop: Shop, admin: Actor,
                                                         tmp_path: Path) -> None:
    place(shop)
    [mail, *_rest] = outbox.claim("gone-worker", 1, lease_seconds=60)
    assert "outbox_leases" not in _found(shop, admin)  # a lease still running is no problem
    Outbox.update(lease_until=utcnow() - dt.timedelta(hours=2)).where(
        Outbox.id == mail.id).execute()  # the worker died two hours ago
    found = _check(tmp_path, shop.config.database_url, "--only", "outbox_leases")
    assert found.exit_code == 1
    assert f"1 mail(s) stuck sending past their lease (#{mail.id}), leased by gone-worker" \
        in found.output
    mended = _check(tmp_path, shop.config.database_url, "--repair")
    assert mended.exit_code == 0, mended.output
    assert "outbox_leases: 1 mail(s) given back to the queue" in mended.output
    row = Outbox.get_by_id(mail.id)
    assert (row.state, row.lease_owner, row.attempts) == ("queued", "", 1)


def test_wrong_maintained_total_is_found_and_recomputed(shop: Shop, admin: Actor) -> None:
    ref = place(shop)
    status.change_status(shop, admin, [ref.id], "paid")
    payments.refund(shop, admin, ref.id, 300, "dented")
    order = Order.get_by_id(ref.id)
    Order.update(amount_paid=order.amount_paid + 1, amount_refunded=0).where(
        Order.id == ref.id).execute()
    [line] = _found(shop, admin)["order_payments"]
    assert line == (f"{ref.code}: paid {order.total + 1} / refunded 0 stored, the payments say "
                    f"{order.total} / 300 (minor units)")
    done = checks.repair(shop, admin, checks.run_checks(shop, admin))
    assert done == ["order_payments: paid and refunded figures of 1 order(s) recomputed from "
                    "their payments"]
    fixed = Order.get_by_id(ref.id)
    assert (fixed.amount_paid, fixed.amount_refunded, fixed.version) == (
        order.total, 300, order.version + 1)
    assert _found(shop, admin) == {}


def test_a_row_whose_parent_is_gone_says_restore(shop: Shop, admin: Actor,
                                                 tmp_path: Path) -> None:
    if not shop.config.database_url.startswith("sqlite"):
        pytest.skip("SQLite's foreign_key_check")
    place(shop)
    db.execute_sql("PRAGMA foreign_keys = OFF")
    db.execute_sql("INSERT INTO order_item (order_id, sku, name, quantity, unit_price, "
                   "tax_rate_bp, created_at, updated_at) VALUES (424242, 'X', 'x', 1, 1, 0, "
                   "'2026-01-01', '2026-01-01')")
    db.execute_sql("PRAGMA foreign_keys = ON")
    found = _check(tmp_path, shop.config.database_url, "--repair")
    assert found.exit_code == 1
    assert "1 order_item row(s) refer to a row that is gone" in found.output
    assert "repair: the file is damaged: restore the last good backup" in found.output


def test_check_needs_an_admin(shop: Shop, admin: Actor, tmp_path: Path) -> None:
    operators.add(admin, "cleo", "clerk")
    denied = _check(tmp_path, shop.config.database_url, login="cleo")
    assert denied.exit_code == 1
    assert denied.output == ("backroom: cleo is a clerk: only an admin or above may back up, "
                             "check and repair the database\n")
    unknown = _check(tmp_path, shop.config.database_url, "--only", "nope")
    assert unknown.exit_code == 1 and "no check named 'nope'" in unknown.output


@pytest.fixture
def extra_check() -> Iterator[list[str]]:
    """A check registered as another module would register one; removed afterwards."""
    repaired: list[str] = []
    state = {"broken": True}

    def mend(shop: Shop) -> str:
        state["broken"] = False
        repaired.append("mended")
        return "the widget count recomputed"

    @checks.check("widgets", "the widget count", repair=mend,
                  hint="`backroom check --repair` recomputes it")
    def widgets(shop: Shop) -> list[str]:
        return ["widgets: 3 stored, 2 counted"] if state["broken"] else []

    yield repaired
    checks.REGISTRY.pop("widgets")


def test_another_check_registers_with_one_decorator(shop: Shop, admin: Actor,
                                                    extra_check: list[str],
                                                    tmp_path: Path) -> None:
    assert [c.name for c in checks.registered()][-1] == "widgets"
    found = _check(tmp_path, shop.config.database_url, "--only", "widgets")
    assert found.exit_code == 1 and "widgets: 3 stored, 2 counted" in found.output
    assert "repair: `backroom check --repair` recomputes it" in found.output
    mended = _check(tmp_path, shop.config.database_url, "--repair", "--only", "widgets")
    assert mended.exit_code == 0 and extra_check == ["mended"]
    assert "repaired: widgets: the widget count recomputed" in mended.output
