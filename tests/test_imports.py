"""Imports (issue 15 points 6-9), on files written in each format from the public
documentation: Shopify's orders export (tests/data/shopify_orders_export.csv: its columns, one
row per line item, order fields on the first row, `'75008` postcodes, shop-local offsets),
WooCommerce's REST API v3 orders array (tests/data/woocommerce_orders.json), and a customers
CSV. Multi-line orders, guests, refunds, non-Latin names and hostile text; dry runs, refused
rows that never stop the others, idempotence, mapping tables, --notify."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from store import checks, customer_queries, customers, webhooks
from store.errors import PermissionDenied, ValidationError
from store.imports import customers as customer_import
from store.imports import orders as order_import
from store.imports import shopify, woocommerce
from store.models import (
    Address,
    Customer,
    CustomerEvent,
    Order,
    OrderEvent,
    OrderItem,
    Outbox,
    Payment,
    WebhookDelivery,
)
from store.operators import Actor
from store.queries import matching_ids, order_detail, parse_filter, queue_page
from store.shop import Shop, open_shop
from tests.conftest import ALL_MODELS, cli_config, make_config
from tui.cli import main

DATA = Path(__file__).parent / "data"
SHOPIFY = DATA / "shopify_orders_export.csv"
WOO = DATA / "woocommerce_orders.json"


def counts() -> dict[str, int]:
    return {m._meta.table_name: m.select().count() for m in ALL_MODELS}


def by_reference(source: str) -> dict[str, Order]:
    return {o.external_reference: o for o in Order.select().where(Order.external_source == source)}


# ----- Shopify -------------------------------------------------------------------------------

def test_shopify_dry_run_reports_and_writes_nothing(shop: Shop, admin: Actor) -> None:
    before = counts()
    report = shopify.run(shop, admin, SHOPIFY, dry_run=True)
    assert counts() == before
    assert report.dry_run and not report.blocked
    assert [line.what for line in report.created if line.what.startswith("order")] == [
        "order #1001", "order #1002", "order #1003", "order #1004", "order #1005",
        "order #1007"]
    assert {line.what for line in report.created if line.what.startswith("customer")} == {
        "customer sophie.gallas@example.com", "customer olaf@example.com",
        "customer dmitri@example.com", "customer void@example.com"}
    [refused] = report.refused
    assert refused.where == "row 10" and "#1006" in refused.what and "escape" in refused.reason
    assert "guest without email" in next(line.reason for line in report.created
                                         if line.what == "order #1002")
    assert report.summary().startswith("import from Shopify: 4 customers and 6 orders would be "
                                       "created")


def test_shopify_import_keeps_what_the_old_shop_knew(shop: Shop, admin: Actor) -> None:
    report = shopify.run(shop, admin, SHOPIFY)
    assert len(report.refused) == 1 and not report.mails and not report.webhooks
    orders = by_reference("shopify")
    assert set(orders) == {"#1001", "#1002", "#1003", "#1004", "#1005", "#1007"}

    first = order_detail(orders["#1001"].id)
    assert (first.status, first.total, first.amount_paid, first.discount) == (
        "completed", 10460, 10460, 1000)  # paid + fulfilled: completed
    assert [(i.sku, i.quantity, i.unit_price) for i in first.items] == [
        ("MASK-01", 3, 3490), ("SER-02", 1, 990)]  # a multi-line order, rows 2-3
    assert {a.postcode for a in first.addresses.values()} == {"75008"}  # '75008 read right
    assert first.placed_at == dt.datetime(2025, 10, 7, 7, 50, 26)  # +0200 shop-local -> UTC
    assert first.external_reference == "#1001" and first.external_source == "shopify"
    history = [(e.kind, e.created_at, e.message) for e in first.events]
    assert history[0][0] == "imported" and history[0][1] == first.placed_at
    assert "imported from Shopify (#1001): placed 2025-10-07 09:50:26 +0200" in history[0][2]
    assert ("imported", dt.datetime(2025, 10, 8, 12, 21, 21),
            "fulfilled (imported from Shopify)") in history
    [payment] = first.payments
    assert (payment.kind, payment.amount) == ("payment", 10460)

    guest = order_detail(orders["#1002"].id)  # no email: a guest, owing everything
    assert guest.customer_id is None and guest.customer_email == ""
    assert guest.customer_name == "山田 太郎" and guest.amount_paid == 0
    assert guest.status == "awaiting_payment" and guest.payments == ()

    refunded = order_detail(orders["#1003"].id)  # refunded wins over fulfilled
    assert (refunded.status, refunded.amount_paid, refunded.amount_refunded) == (
        "refunded", 5000, 5000)
    partly = order_detail(orders["#1004"].id)  # partially refunded, partly fulfilled
    assert (partly.status, partly.amount_refunded) == ("shipped", 500)
    assert partly.customer_name == "Дмитрий Иванов"
    assert partly.addresses["shipping"].country == "SA"  # "Saudi Arabia" by its name
    assert partly.customer_note.startswith("Leave at the door\nsecond line: [@click=app.quit]x")
    assert order_detail(orders["#1005"].id).status == "cancelled"  # voided
    owing = order_detail(orders["#1007"].id)  # partially paid: the balance is kept
    assert (owing.total, owing.amount_paid) == (3000, 2000)
    assert owing.addresses["billing"].postcode == "08001"

    # customers created or matched by email: #1001 and #1007 are one customer
    sophie = Customer.get(Customer.email_key == "sophie.gallas@example.com")
    assert orders["#1001"].customer_id == orders["#1007"].customer_id == sophie.id
    assert sophie.marketing_consent and sophie.registered_at == first.placed_at
    assert Customer.select().count() == 4
    assert Outbox.select().count() == 0  # an import tells no one without --notify


def test_shopify_import_twice_changes_nothing(shop: Shop, admin: Actor) -> None:
    shopify.run(shop, admin, SHOPIFY)
    before = counts()
    again = shopify.run(shop, admin, SHOPIFY)
    assert counts() == before
    assert not again.created and len(again.skipped) == 6
    assert "already imported as BR-" in again.skipped[0].reason


def test_external_reference_is_searchable(shop: Shop, admin: Actor) -> None:
    shopify.run(shop, admin, SHOPIFY)
    page = queue_page(parse_filter("#1004", shop.workflow), None, 50)
    assert [r.code for r in page.rows] == [by_reference("shopify")["#1004"].code]


def test_a_value_the_mapping_does_not_know_stops_the_import_before_writing(
        shop: Shop, admin: Actor, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    text = SHOPIFY.read_text(encoding="utf-8").replace(",voided,", ",expired,")
    path.write_text(text.replace(",partial,", ",scheduled,"), encoding="utf-8")
    before = counts()
    for dry in (True, False):
        report = shopify.run(shop, admin, path, dry_run=dry)
        assert report.blocked and counts() == before
        assert report.unknown == {"shopify_financial": {"expired": 1},
                                  "shopify_fulfillment": {"scheduled": 1}}
        assert "nothing written" in report.summary()
    mapped = shop.config.__class__(
        shop.config.values, shop.config.source, imports={
            **shop.config.imports,
            "shopify_financial": {**shop.config.imports["shopify_financial"],
                                  "expired": "cancelled"},
            "shopify_fulfillment": {**shop.config.imports["shopify_fulfillment"],
                                    "scheduled": ""}})
    report = shopify.run(Shop(mapped, shop.workflow), admin, path)
    assert not report.blocked and len(report.created) == 10


def test_a_mapping_to_no_status_is_refused(admin: Actor, db_url: str) -> None:
    config = make_config(db_url, imports={"shopify_financial": {"paid": "payé"}})
    shop = open_shop(config)
    with pytest.raises(ValidationError, match=r"imports\.shopify_financial\.paid"):
        shopify.run(shop, admin, SHOPIFY, dry_run=True)


def test_columns_are_read_by_name_not_position(shop: Shop, admin: Actor,
                                               tmp_path: Path) -> None:
    with SHOPIFY.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    order = list(reversed(range(len(rows[0]))))
    path = tmp_path / "shuffled.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([[row[i] for i in order] for row in rows])
    report = shopify.run(shop, admin, path)
    assert len(report.created) == 10 and len(report.refused) == 1
    assert order_detail(by_reference("shopify")["#1001"].id).total == 10460


def test_a_file_read_on_both_cores_comes_to_what_one_core_reads(
        shop: Shop, admin: Actor, tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(SHOPIFY.read_text(encoding="utf-8").replace(",voided,", ",expired,"),
                       encoding="utf-8")
    for path in (SHOPIFY, unknown):
        one = shopify.parse(shop, path)
        both = shopify.parse(shop, path, parallel_from=2)  # some orders in a child
        assert both == one and both.checked
    report = order_import.import_orders(shop, admin, "shopify",
                                        shopify.parse(shop, SHOPIFY, parallel_from=2),
                                        dry_run=False)
    assert [line.text() for line in report.refused] == [
        line.text() for line in shopify.run(shop, admin, SHOPIFY, dry_run=True).refused]
    assert set(by_reference("shopify")) == {"#1001", "#1002", "#1003", "#1004", "#1005",
                                            "#1007"}
    assert len(shopify.run(shop, admin, SHOPIFY).skipped) == 6


def _many_orders(path: Path, count: int) -> None:
    """The test export's first order again and again: each customer of five orders, the
    fourth of them placed first (a customer registers with their earliest order)."""
    with SHOPIFY.open(encoding="utf-8", newline="") as handle:
        header, first = list(csv.reader(handle))[:2]
    at = {name: header.index(name) for name in ("Name", "Email", "Created at", "Paid at")}
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for n in range(count):
            row = list(first)
            day = 1 if n % 5 == 3 else 28 - n % 5
            row[at["Name"]], row[at["Email"]] = f"#{9000 + n}", f"buyer{n // 5}@Example.com"
            row[at["Created at"]] = row[at["Paid at"]] = f"2025-10-{day:02d} 09:50:26 +0200"
            out.writerow(row)


def test_a_large_file_on_both_cores_is_written_in_bulk_as_one_core_would(
        shop: Shop, admin: Actor, tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    _many_orders(path, 5000)  # from writer.BULK_FROM orders into a smaller shop: in bulk
    report = order_import.import_orders(shop, admin, "shopify",
                                        shopify.parse(shop, path, parallel_from=2),
                                        dry_run=False)
    assert len(report.created) == 6000 and not report.refused
    assert [r.differences for r in checks.run_checks(
        shop, admin, ["search_index", "customer_figures"])] == [(), ()]
    buyer = Customer.get(Customer.email == "buyer7@example.com")
    assert (buyer.order_count, buyer.spent) == (5, 5 * 10460)
    assert buyer.registered_at == dt.datetime(2025, 10, 1, 7, 50, 26)
    assert queue_page(parse_filter("#9042", shop.workflow), None, 5).rows[0].customer_name \
        == "Sophie GALLAS"
    # its items were folded as written (the check above: and their index rebuilt), so
    # "Masque au Bio-Collagène" is found by "collagene" as by its SKU
    by_sku = matching_ids(parse_filter("product:MASK-01", shop.workflow))
    assert len(by_sku) == 5000
    assert matching_ids(parse_filter("product:COLLAGENE", shop.workflow)) == by_sku
    assert len(shopify.run(shop, admin, path).skipped) == 5000


def test_only_an_admin_imports(shop: Shop, manager: Actor) -> None:
    with pytest.raises(PermissionDenied):
        shopify.run(shop, manager, SHOPIFY, dry_run=True)


def test_notify_sends_the_mails_and_webhooks_a_new_order_would(shop: Shop,
                                                               admin: Actor) -> None:
    webhooks.add_endpoint(shop, admin, "https://till.example.com/h",
                          ["order.placed", "customer.created"])
    report = shopify.run(shop, admin, SHOPIFY, notify=True)
    kinds = sorted(m.kind for m in Outbox.select())
    assert kinds.count("order_placed") == 5 and kinds.count("account_confirm") == 4
    assert report.mails == 9 and report.webhooks == 6 + 4
    assert WebhookDelivery.select().count() == 10


# ----- WooCommerce ---------------------------------------------------------------------------

def test_woocommerce_import(shop: Shop, admin: Actor) -> None:
    report = woocommerce.run(shop, admin, WOO)
    [refused] = report.refused
    assert "#731" in refused.what and "U+0007" in refused.reason
    orders = by_reference("woocommerce")
    assert set(orders) == {"#727", "#728", "#729", "#730", "#732"}
    first = order_detail(orders["#727"].id)
    assert (first.status, first.total, first.amount_paid, first.shipping_cost) == (
        "paid", 5190, 5190, 1000)
    assert [(i.sku, i.quantity, i.unit_price) for i in first.items] == [
        ("WOO-1", 2, 1195), ("WOO-2", 1, 1800)]
    assert (first.payment_method, first.payment_reference) == ("Credit card (Stripe)", "ch_3Nabc")
    assert first.addresses["billing"].postcode == "75004"
    assert first.placed_at == dt.datetime(2025, 6, 3, 10, 7, 3)  # date_created_gmt
    refunded = order_detail(orders["#729"].id)
    assert (refunded.status, refunded.amount_refunded) == ("refunded", 3000)
    assert [p.reason for p in refunded.payments if p.kind == "refund"] == [
        "Broken on arrival (imported from WooCommerce)", "Rest (imported from WooCommerce)"]
    held = order_detail(orders["#730"].id)  # on-hold, a guest without email
    assert held.status == "awaiting_verification" and held.customer_id is None
    assert held.customer_name == "Mary O'Brien; DROP TABLE orders;--"
    assert "=HYPERLINK" in held.customer_note
    done = order_detail(orders["#732"].id)
    assert (done.status, done.amount_refunded, done.customer_name) == ("completed", 500, "李 小龙")
    assert any(e.message == "completed (imported from WooCommerce)"
               and e.created_at == dt.datetime(2025, 3, 3, 8, 0) for e in done.events)
    before = counts()
    again = woocommerce.run(shop, admin, WOO)
    assert counts() == before and len(again.skipped) == 5


def test_woocommerce_unknown_status_and_bad_files(shop: Shop, admin: Actor,
                                                  tmp_path: Path) -> None:
    data = json.loads(WOO.read_text(encoding="utf-8"))
    data[0]["status"] = "wc-awaiting-shipment"
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = woocommerce.run(shop, admin, path, dry_run=True)
    assert report.unknown == {"woocommerce_status": {"wc-awaiting-shipment": 1}}
    path.write_text('{"not": "orders"}', encoding="utf-8")
    with pytest.raises(ValidationError, match="orders array"):
        woocommerce.run(shop, admin, path)
    path.write_bytes(b"\xff\xfe[")
    with pytest.raises(ValidationError, match="not JSON"):
        woocommerce.run(shop, admin, path)
    data = json.loads(WOO.read_text(encoding="utf-8"))
    data[1]["line_items"][0]["quantity"] = "many"
    data[2]["total"] = "lots"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = woocommerce.run(shop, admin, path)
    assert len(report.refused) == 3 and len(by_reference("woocommerce")) == 3


# ----- customers -----------------------------------------------------------------------------

CUSTOMERS = (
    "Email,First name,Last name,Phone,Company,Address,City,Postcode,Country,"
    "Marketing consent,Consent date\n"
    "ann@example.com,Ann,Smith,+33 1 23 45 67 89,ACME,1 Rue de la Paix,Paris,'75002,FR,yes,"
    "2024-05-01 10:00:00 +0200\n"
    "bob@example.com,,,,,,,,,no,\n"
    "jurgen@example.com,Jürgen,\"Groß \"\"the\"\" [/] best\",,,Königstraße 1,Köln,50667,"
    "Deutschland,y,2023-01-01\n"
    "ann@example.com,Ann,Again,,,,,,,no,\n"
    "bad@@example.com,X,Y,,,,,,,no,\n"
    "eve@example.com,Eve\x1b[2J,Hacker,,,,,,,no,\n"
    "sofia@example.com,Софья,Ковалёва,,,,Москва,101000,RU,no,\n"
)


def test_customers_import(shop: Shop, admin: Actor, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS, encoding="utf-8")
    dry = customer_import.run(shop, admin, path, dry_run=True)
    assert Customer.select().count() == 0
    assert [line.what for line in dry.created] == [
        "customer ann@example.com", "customer jurgen@example.com", "customer sofia@example.com"]
    reasons = {line.where: line.reason for line in dry.refused}
    assert "first or last name" in reasons["row 3"] and "twice (also row 2)" in reasons["row 5"]
    assert "not a valid email" in reasons["row 6"] and "escape" in reasons["row 7"]

    report = customer_import.run(shop, admin, path)
    assert len(report.created) == 3 and len(report.refused) == 4 and not report.mails
    ann = Customer.get(Customer.email_key == "ann@example.com")
    assert ann.marketing_consent and ann.consent_at == dt.datetime(2024, 5, 1, 8, 0)
    assert ann.phone == "+33 1 23 45 67 89"
    [address, _] = Address.select().where(Address.customer == ann.id)
    assert (address.company, address.postcode, address.country) == ("ACME", "75002", "FR")
    jurgen = Customer.get(Customer.email_key == "jurgen@example.com")
    assert jurgen.last_name == 'Groß "the" [/] best'
    assert Address.get(Address.customer == jurgen.id).country == "DE"
    assert CustomerEvent.select().where(CustomerEvent.kind == "imported").count() == 3

    before = counts()
    again = customer_import.run(shop, admin, path)
    assert counts() == before and len(again.skipped) == 3 and not again.created

    # an existing customer only gets what they lack
    path.write_text("email,phone,first name,last name\nsofia@example.com,+7 495 000,X,Y\n",
                    encoding="utf-8")
    report = customer_import.run(shop, admin, path)
    [updated] = report.updated
    assert updated.reason == "adds phone"
    sofia = Customer.get(Customer.email_key == "sofia@example.com")
    assert (sofia.first_name, sofia.phone, sofia.version) == ("Софья", "+7 495 000", 2)


def _customers_found(shop: Shop, text: str) -> list[str]:
    page = customer_queries.customer_page(
        shop, customer_queries.parse_customer_filter(text), None, 10)
    return sorted(r.email for r in page.rows)


def test_imported_customers_are_found_by_their_places(shop: Shop, admin: Actor,
                                                      tmp_path: Path) -> None:
    """A customer an import made (from an order, or from a customers file, or filled in by
    a later file) is found by the postcode, city and country of their addresses, as one
    made in the app is, and `backroom check` finds their search text in step."""
    shopify.run(shop, admin, SHOPIFY)
    woocommerce.run(shop, admin, WOO)
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS, encoding="utf-8")
    customer_import.run(shop, admin, path)
    customers.create_customer(shop, admin, email="bob@example.com", first_name="Bob",
                              last_name="Lee")  # in the app, no phone, no address
    path.write_text("email,first name,last name,phone,city,postcode,country\n"
                    "bob@example.com,Bob,Lee,+33 6 00,Lyon,69002,FR\n", encoding="utf-8")
    [updated] = customer_import.run(shop, admin, path).updated
    assert "address" in updated.reason
    assert _customers_found(shop, "75008") == ["sophie.gallas@example.com"]  # from an order
    assert _customers_found(shop, "kobenhavn") == ["olaf@example.com"]
    assert _customers_found(shop, "Köln") == ["jurgen@example.com"]  # from the file
    assert _customers_found(shop, "101000") == ["sofia@example.com"]
    assert _customers_found(shop, "69002") == ["bob@example.com"]  # filled in later
    [search] = checks.run_checks(shop, admin, ["search_index"])
    assert search.differences == ()


def test_customers_file_without_email_column_is_refused(shop: Shop, admin: Actor,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("name,city\nAnn,Paris\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="no email column"):
        customer_import.run(shop, admin, path)


# ----- the command line ----------------------------------------------------------------------

def test_import_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    config_file = tmp_path / "config.toml"
    config_file.write_text(tomli_w.dumps(cli_config(url)))
    from store import operators

    open_shop(make_config(url))
    operators.ensure_admin("ada")
    monkeypatch.setenv("BACKROOM_OPERATOR", "ada")
    runner = CliRunner()
    args = ["--config", str(config_file), "import"]
    export = tmp_path / "orders_export.csv"
    shutil.copyfile(SHOPIFY, export)
    result = runner.invoke(main, [*args, "shopify", str(export), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would create (10):" in result.output and "row 10: order #1006" in result.output
    assert "\x1b" not in result.output  # hostile text is never sent to the terminal
    assert Order.select().count() == 0
    result = runner.invoke(main, [*args, "shopify", str(export)])
    assert result.exit_code == 0, result.output
    assert "4 customers and 6 orders created" in result.output
    result = runner.invoke(main, [*args, "shopify", str(export)])
    assert "6 orders skipped" in result.output and "already imported as" in result.output
    result = runner.invoke(main, [*args, "woocommerce", str(WOO), "--dry-run"])
    assert result.exit_code == 0 and "order #727" in result.output
    export.write_text(SHOPIFY.read_text(encoding="utf-8").replace(",voided,", ",expired,"),
                      encoding="utf-8")
    result = runner.invoke(main, [*args, "shopify", str(export), "--dry-run"])
    assert result.exit_code == 1
    assert "[imports.shopify_financial] does not map:" in result.output
    assert "'expired' (1 order(s))" in result.output
    result = runner.invoke(main, [*args, "customers", str(WOO)])
    assert result.exit_code == 1 and "no email column" in result.output
    assert OrderItem.select().count() > 0 and Payment.select().count() > 0
    assert OrderEvent.select().where(OrderEvent.kind == "imported").count() > 0
