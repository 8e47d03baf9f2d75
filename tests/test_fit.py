"""Issue 12's everyday paths at 80x24: one filter language with its help, bulk archive with a
preview, scan-to-open that shows what is typed and refuses another shop's code everywhere,
`:` taking its suggestion, `?` and the footers, customers from the command line, columns that
fit, and the key counts of the morning batch and of archiving (pressed as counted)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import tomli_w
from click.testing import CliRunner

from store import archive, status
from store import customer_queries as cq
from store.errors import ValidationError
from store.filter_syntax import help_rows
from store.models import Address, Customer, CustomerEvent, Order, OrderEvent, Outbox, utcnow
from store.queries import ORDER_TOKENS, QueueFilter, parse_filter, status_counts
from tests.bulk import insert_orders
from tests.conftest import cli_config
from tests.factories import place
from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.cli import main
from tui.dialogs.filter_help import FilterHelp
from tui.dialogs.help import HelpScreen
from tui.screens.customers import CustomersScreen
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.queue import QueueScreen

SIZE = (80, 24)


def notices(app) -> str:
    return " | ".join(n.message for n in app._notifications)


def table_text(static) -> str:
    """A Static's Rich table as plain text, however much of it the dialog shows."""
    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(static.content)
    return console.export_text()


# ----- point 3: one filter language, its help made from the parser ---------------------------

def test_one_filter_language_for_orders_and_customers(shop):
    """Both lists read name:value tokens the same way (quotes, control characters, a name
    that is no token is text) and refuse a token in the same words."""
    with pytest.raises(ValidationError, match=r"^filter 'status:nope': unknown status"):
        parse_filter("status:nope", shop.workflow)
    with pytest.raises(ValidationError, match=r"^filter 'status:nope': unknown status"):
        cq.parse_customer_filter("status:nope")
    with pytest.raises(ValidationError, match=r"^filter 'segment:': needs a value, like "):
        cq.parse_customer_filter("segment:")
    with pytest.raises(ValidationError, match=r"^filter 'placed:': needs a value, like "):
        parse_filter("placed:", shop.workflow)
    f = parse_filter('status:"Paid / processing"\tann "big mug" 10:30', shop.workflow)
    assert f.statuses == ("paid",) and f.text == "ann big mug 10:30"
    assert cq.parse_customer_filter("seg:vip\tmailto:ann").text == "mailto:ann"
    old = parse_filter("placed:<30d", shop.workflow)
    today = dt.datetime.combine(utcnow().date(), dt.time())
    assert old.placed_to == today - dt.timedelta(days=30)
    rows = help_rows(ORDER_TOKENS)
    assert [example.partition(":")[0] for example, _ in rows] == [t.name for t in ORDER_TOKENS]
    assert any("also product:" in does for _, does in rows)
    for example, _does in rows:  # every example is a filter the parser reads
        parse_filter(example, shop.workflow)


async def test_question_mark_on_a_filter_box_lists_every_token(shop, admin, config):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, FilterHelp)
        table = table_text(app.screen.query_one("#filter-help-table"))
        for token in ORDER_TOKENS:
            assert token.example in table
        assert "awaiting_payment (a) Awaiting payment" in app.screen.extra
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one("#filter").value == ""  # the ? was not typed
        await pilot.press("escape", "2")
        await wait_until(pilot, lambda: isinstance(app.screen, CustomersScreen))
        await pilot.press("slash", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, FilterHelp)
        table = table_text(app.screen.query_one("#filter-help-table"))
        for token in cq.CUSTOMER_TOKENS:
            assert token.example in table


async def test_tab_counts_follow_a_status_token(shop, admin, config):
    insert_orders(shop, 3)
    insert_orders(shop, 2, status="paid", paid=True)
    assert status_counts(QueueFilter(), ("paid",)) == {"paid": 2, "_all": 2}
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tabs = app.screen

        def label(key: str) -> str:
            return str(tabs.query_one(f"#t-{key}").label)

        assert label("_all") == "All 5" and label("awaiting_payment") == "Unpaid 3"
        await pilot.press("slash", *"status:paid", "enter")
        await wait_until(pilot, lambda: label("_all") == "All 2")
        assert label("paid") == "Processing 2" and label("awaiting_payment") == "Unpaid 0"


async def test_the_tab_bar_keeps_the_current_tab_in_view_at_80(shop, admin, config):
    """Every status has its tab at 80 columns: the bar scrolls to show the current one."""
    place(shop)
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        top = screen_text(app).splitlines()[0]
        assert "Unpaid" in top and "Archived" not in top
        for _ in shop.workflow.keys():
            await pilot.press("right_square_bracket")
            await settle(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert "Archived 0" in screen_text(app).splitlines()[0]
        assert app.screen.filter.archived


# ----- point 5: bulk archive with its preview ------------------------------------------------

def test_archive_is_set_based_with_a_preview(shop, admin):
    done = insert_orders(shop, 3, status="completed", paid=True)
    open_ = insert_orders(shop, 1, status="paid", paid=True)
    preview = archive.set_archived(shop, admin, [*done, *open_], dry_run=True)
    described = preview.describe(shop.workflow)
    assert described.headline == "3 would be archived, 1 refused"
    assert described.moves == ("3 × Completed archived",)
    assert "only orders in a final status (Completed, Cancelled, Refunded)" in \
        described.refusals[0][1]
    assert Order.select().where(Order.archived == True).count() == 0  # noqa: E712
    result = archive.set_archived(shop, admin, [*done, *open_])
    assert result.summary() == "3 archived, 1 refused"
    assert Order.select().where(Order.archived == True).count() == 3  # noqa: E712
    assert OrderEvent.select().where(OrderEvent.kind == "archived").count() == 3
    assert all(o.version == 2 and o.updated_by == "ada"
               for o in Order.select().where(Order.id.in_(done)))
    again = archive.set_archived(shop, admin, done)
    assert [r.reason for r in again.refused] == ["already archived"] * 3
    back = archive.set_archived(shop, admin, done[:1], archived=False)
    assert back.summary() == "1 unarchived, 0 refused"


@pytest.fixture
def run(shop, admin, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def invoke(*args: str, ok: bool = True):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": "ada"}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_cli_archive_by_filter_with_dry_run(shop, run):
    done = insert_orders(shop, 2, status="completed", paid=True)
    insert_orders(shop, 1, status="cancelled")
    insert_orders(shop, 1, status="paid", paid=True)
    Order.update(placed_at=utcnow() - dt.timedelta(days=40)).where(
        Order.id.in_(done)).execute()
    query = "status:completed placed:<30d"
    out = run("orders", "archive", "--filter", query, "--dry-run").output
    assert "2 × Completed archived" in out and "2 would be archived, 0 refused" in out
    assert Order.select().where(Order.archived == True).count() == 0  # noqa: E712
    out = run("orders", "archive", "--filter", query).output
    assert "2 archived, 0 refused" in out
    assert "no order matches" in run("orders", "archive", "--filter", query).output
    out = run("orders", "archive", "--filter", "placed:today", ok=False).output
    assert "1 archived, 1 refused" in out and "refused: only orders in a final status" in out
    out = run("orders", "archive", "--filter", "status:completed", "--undo").output
    assert "2 unarchived" in out
    bad = run("orders", "archive", "--filter", "status:nope", ok=False).output
    assert "filter 'status:nope'" in bad and "Traceback" not in bad


# ----- point 6: scan-to-open shows what is typed; one refusal everywhere --------------------

async def test_scan_shows_the_code_and_refuses_another_prefix_everywhere(shop, admin, config):
    ref = place(shop)
    number = ref.code.partition("-")[2]
    other = f"XY-{number}"
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*number[:3])
        assert f"open order: {number[:3]}_" in screen_text(app)
        await pilot.press("escape")
        assert "open order" not in screen_text(app)
        await pilot.press(*"BR-", *number)  # the shop's own prefix, as a scanner types it
        assert f"open order: BR-{number}_" in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
        await pilot.press("escape")
        await settle(pilot)
        refusal = f"has prefix XY, this shop's codes start with {shop.prefix}"
        await pilot.press("X", "Y", "minus", *number, "enter")  # another shop's slip
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert notices(app).count(refusal) == 1
        await pilot.press("colon", *f"order {other}", "enter")
        await settle(pilot)
        assert notices(app).count(refusal) == 2
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*other)
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert notices(app).count(refusal) == 3
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*ref.code)
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
        assert app.screen.detail.code == ref.code


# ----- point 8: `:` takes its suggestion; `?` and the footers --------------------------------

async def test_colon_enter_takes_the_suggestion_shown(shop, admin, config):
    place(shop)
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", "p", "enter")
        await settle(pilot)
        assert app.screen.query_one("#filter").value == app.views()["pending"]


async def test_help_is_titled_and_footers_show_the_main_keys_at_80(shop, admin, config):
    from store import customers

    place(shop)
    customer = customers.create_customer(shop, admin, email="zoe@example.com",
                                         first_name="Zoé", last_name="K").id
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        for key in ("/ Filter", "space Mark", "a Mark all", "s Status", "A Archive", "P Print",
                    "z Undo", "o Sort", "? Help"):
            assert key in footer
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.title_text == "Order queue"
        headings = [heading for heading, _rows in help_screen.sections]
        assert headings[0] == "This screen" and headings[-1] == "Everywhere"
        own = [row[2] for row in help_screen.sections[0][1]]
        assert {"queue.ship", "queue.sort", "queue.undo"} <= set(own)  # ship: not in the footer
        assert "app.help" in [row[2] for row in help_screen.sections[-1][1]]
        await pilot.press("escape")
        app.open_customer(customer)
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        for key in ("m Email", "x Export", "D Delete", "? Help"):
            assert key in footer
        await pilot.press("question_mark")
        await settle(pilot)
        assert app.screen.title_text == "Customer profile"
        ids = [row[2] for row in app.screen.sections[0][1]]
        assert "profile.suspend" in ids and "profile.validate" in ids


# ----- point 9: customers from the command line ----------------------------------------------

def test_cli_customers_add_and_edit_take_the_address_and_no_email(shop, run):
    out = run("customers", "add", "--email", "zoe@example.com", "--first-name", "Zoé",
              "--last-name", "Köhler", "--phone", "+49 30 1234", "--company", "Köhler GmbH",
              "--line1", "Hauptstraße 1", "--line2", "Hof", "--postcode", "10115",
              "--city", "Berlin", "--country", "Germany", "--consent", "--no-email").output
    assert "no confirm-account mail" in out
    customer = Customer.get(Customer.email == "zoe@example.com")
    assert customer.marketing_consent and customer.phone == "+49 30 1234"
    assert Outbox.select().where(Outbox.customer == customer.id).count() == 0
    addresses = {a.kind: a for a in Address.select().where(Address.customer == customer.id)}
    assert set(addresses) == {"billing", "shipping"}
    assert (addresses["billing"].company, addresses["billing"].line2,
            addresses["billing"].country) == ("Köhler GmbH", "Hof", "DE")
    run("customers", "edit", "zoe@example.com", "--city", "München", "--postcode", "80331",
        "--address-kind", "shipping", "--no-consent")
    addresses = {a.kind: a for a in Address.select().where(Address.customer == customer.id)}
    assert (addresses["shipping"].city, addresses["shipping"].line1) == ("München",
                                                                          "Hauptstraße 1")
    assert addresses["billing"].city == "Berlin"
    assert not Customer.get_by_id(customer.id).marketing_consent
    assert cq.customer_page(shop, cq.parse_customer_filter("munchen")).rows[0].id == customer.id
    run("customers", "add", "--email", "ann@example.com", "--first-name", "Ann")
    assert Outbox.select().where(Outbox.kind == "account_confirm").count() == 1
    bad = run("customers", "add", "--email", "x@example.com", "--first-name", "X",
              "--country", "Atlantis", ok=False).output
    assert "is not a country" in bad and "Traceback" not in bad
    assert Customer.select().where(Customer.email == "x@example.com").count() == 0
    assert CustomerEvent.select().where(CustomerEvent.kind == "address").count() == 1


# ----- point 13: nothing cut at 80x24 --------------------------------------------------------

async def test_nothing_the_operator_needs_is_cut_at_80(shop, admin, config):
    from store import customers

    for i in range(3):
        customers.create_customer(shop, admin, email=f"anneliese.schroeder{i}@example.com",
                                  first_name="Anneliese", last_name="Schröder-Übermeyer")
    customers.create_group(shop, admin, "A group whose name goes on and on and on for ever")
    refs = [place(shop, name="Wilhelmina Augusta Featherstonehaugh-Cholmondeley")
            for _ in range(2)]
    status.change_status(shop, admin, [refs[0].id], "paid", hold_mail=False)
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Processing" in text and "Unpaid" in text  # whole, not "Paid / proce"
        assert "Wilhelmina Aug" in text and "…" in text  # the name cut with an ellipsis
        assert refs[0].code in text
        await pilot.press("2")
        await wait_until(pilot, lambda: "3 customer(s)" in screen_text(app))
        text = screen_text(app)
        for i in range(3):  # the emails tell the three apart
            assert f"anneliese.schroeder{i}@" in text
        await pilot.press("3")
        await wait_until(pilot, lambda: "Privilege" in screen_text(app))
        text = screen_text(app)
        assert "A group whose" in text and "…" in text
        assert "Members" in text and "Discount" in text and "Privilege" in text
        for line in text.splitlines():
            assert len(line.rstrip()) <= 80
        await pilot.press("4")
        await wait_until(pilot, lambda: "Recipient" in screen_text(app))
        text = screen_text(app)
        assert "Subject" in text and "Order" in text and "Tries" in text  # none pushed off
        assert "Order BR-" in text or "…" in text


# ----- the figures: key counts of issue 12, pressed as counted --------------------------------

MORNING = 50


def _morning_batch(shop) -> list[int]:
    insert_orders(shop, 5, status="paid", paid=True)  # yesterday's, not pending
    return insert_orders(shop, MORNING)


async def _in_pending_view(pilot) -> int:
    await pilot.press("colon", "p", "enter")  # :p + Enter opens :pending (3 keys)
    await settle(pilot)
    return 3


@pytest.mark.parametrize("check_each", [True, False])
async def test_morning_batch_key_count(shop, admin, config, check_each):
    """Filter pending, (check each,) move all to Paid / processing with the mail: 56 keys
    checking each of 50 (at most 60), 7 without (at most 10)."""
    ids = _morning_batch(shop)
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = await _in_pending_view(pilot)
        assert len(app.screen.rows) == MORNING
        if check_each:
            for _ in range(MORNING):
                await pilot.press("space")
            keys += MORNING
        else:
            await pilot.press("a")
            keys += 1
        await settle(pilot)
        assert len(app.screen.marked) == MORNING
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("p")  # the status's hotkey: the preview follows
        await settle(pilot)
        await pilot.press("y")  # apply
        await settle(pilot)
        keys += 3
    assert keys == (56 if check_each else 7)
    assert Order.select().where(Order.id.in_(ids), Order.status == "paid").count() == MORNING
    assert Outbox.select().where(Outbox.kind == "payment_received",
                                 Outbox.order.in_(ids)).count() == MORNING


async def test_archive_completed_orders_older_than_30_days_key_count(shop, admin, config):
    """`:toa` + Enter (the toarchive view), A, y: 7 keys (at most 8)."""
    old = insert_orders(shop, 12, status="completed", paid=True)
    insert_orders(shop, 3, status="completed", paid=True)  # completed within 30 days
    other = insert_orders(shop, 4, status="shipped", paid=True)
    Order.update(placed_at=utcnow() - dt.timedelta(days=45)).where(
        Order.id.in_(old + other)).execute()
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", "t", "o", "a", "enter")
        await settle(pilot)
        assert len(app.screen.rows) == len(old)
        await pilot.press("A")
        await settle(pilot)
        assert "12 would be archived, 0 refused" in str(app.screen.query_one(
            "#confirm-body").render()) or "12 would be archived" in app.screen.title_text
        await pilot.press("y")
        await settle(pilot)
        keys = 7
        assert "12 archived" in notices(app)
    assert keys <= 8
    archived = {o.id for o in Order.select(Order.id).where(Order.archived == True)}  # noqa: E712
    assert archived == set(old)
