"""Issue 12 point 10: the shop log: every history event of the orders and the customers,
newest first, filtered by time, operator and kind; paged on indexes; `backroom log`, and the
log screen (6 or :log) whose lines open their order or customer."""

from __future__ import annotations

import datetime as dt

import pytest
import tomli_w
from click.testing import CliRunner

from store import customers, history_reads, orders, status
from store import db as dbmod
from store.errors import ValidationError
from store.models import OrderEvent, db, utcnow
from tests.conftest import cli_config
from tests.factories import place
from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.cli import main
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.profile import ProfileScreen
from tui.screens.shop_log import ShopLogScreen


def _shop_with_history(shop, admin, manager):
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    refs = [place(shop) for _ in range(3)]
    status.change_status(shop, manager, [r.id for r in refs], "paid", hold_mail=False)
    orders.add_note(shop, admin, refs[0].id, "called the customer")
    customers.add_note(shop, manager, ann.id, "prefers phone calls")
    return ann, refs


def test_every_event_newest_first_across_orders_and_customers(shop, admin, manager):
    _ann, refs = _shop_with_history(shop, admin, manager)
    rows = history_reads.shop_log().rows
    assert [(r.kind, r.operator) for r in rows[:2]] == [("note", "mo"), ("note", "ada")]
    assert rows[0].source == "customer" and rows[0].customer == "ann@example.com"
    assert rows[1].source == "order" and rows[1].order_code == refs[0].code
    total = OrderEvent.select().count() + 2  # the customer's: created and the note
    assert len(rows) == total
    keys = [(r.at, history_reads.SOURCES.index(r.source), r.id) for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_pages_do_not_lose_or_repeat_an_event(shop, admin, manager):
    _shop_with_history(shop, admin, manager)
    everything = history_reads.shop_log(limit=1000).rows
    seen = []
    cursor = None
    while True:
        page = history_reads.shop_log(None, cursor, 2)
        seen += page.rows
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [(r.source, r.id) for r in seen] == [(r.source, r.id) for r in everything]


def test_filters_by_operator_kind_and_time(shop, admin, manager):
    _shop_with_history(shop, admin, manager)
    by_mo = history_reads.shop_log(history_reads.parse_log_filter("operator:mo")).rows
    assert {r.operator for r in by_mo} == {"mo"} and len(by_mo) == 4  # 3 status, 1 note
    statuses = history_reads.shop_log(history_reads.LogFilter(event="status")).rows
    assert len(statuses) == 3 and {r.to_status for r in statuses} == {"paid"}
    assert history_reads.event_kind("Mail withdrawn") == "mail_withdrawn"
    later = history_reads.parse_log_filter("since:2h")
    assert len(history_reads.shop_log(later).rows) == len(history_reads.shop_log().rows)
    future = history_reads.LogFilter(since=utcnow() + dt.timedelta(days=1))
    assert history_reads.shop_log(future).rows == ()
    assert history_reads.parse_since("2026-11-05") == dt.datetime(2026, 11, 5)
    with pytest.raises(ValidationError, match="give a date like 2026-11-05"):
        history_reads.parse_since("last tuesday")
    with pytest.raises(ValidationError, match="unknown filter 'who'"):
        history_reads.parse_log_filter("who:ada")


def test_a_page_reads_the_time_index(shop, admin, manager):
    """A page walks the (created_at, id) index rather than sorting the whole history."""
    if not dbmod.is_sqlite():
        pytest.skip("SQLite's plan; PostgreSQL's planner chooses on its own statistics")
    query = (OrderEvent.select(OrderEvent.id).order_by(OrderEvent.created_at.desc(),
                                                       OrderEvent.id.desc()).limit(100))
    sql, params = query.sql()
    plan = " ".join(str(row) for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "order_event_log" in plan and "TEMP B-TREE" not in plan
    kind = query.where(OrderEvent.kind == "refund")
    sql, params = kind.sql()
    plan = " ".join(str(row) for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "order_event_kind_log" in plan and "TEMP B-TREE" not in plan


def test_cli_log(shop, admin, manager, tmp_path, db_url):
    _ann, refs = _shop_with_history(shop, admin, manager)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(path), *args],
                                  env={"BACKROOM_OPERATOR": "ada"}, catch_exceptions=False)

    out = run("log", "--operator", "mo", "--event", "status").output.splitlines()
    assert out[0].split() == ["when", "operator", "event", "of", "message"]
    assert len(out) == 4 and all("Awaiting payment → Paid / processing" in line for line in out[1:])
    assert {line.split()[4] for line in out[1:]} == {r.code for r in refs}
    cut = run("log", "--limit", "1")
    limited = cut.stdout.splitlines()
    assert len(limited) == 2 and "prefers phone calls" in limited[1]
    assert "the first 1 events are listed and more match" in cut.stderr
    bad = run("log", "--since", "soon")
    assert bad.exit_code == 1 and "give a date like" in bad.output
    none = run("log", "--operator", "nobody")
    assert none.exit_code == 0 and "no event matches (by nobody)" in none.output


async def test_log_screen_filters_and_opens_order_and_customer(shop, admin, manager, config):
    ann, refs = _shop_with_history(shop, admin, manager)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.run_command("log")
        await wait_until(pilot, lambda: isinstance(app.screen, ShopLogScreen)
                         and app.screen.rows)
        screen = app.screen
        assert "prefers phone calls" in screen_text(app)
        assert "Unpaid → Processing" in screen_text(app)  # statuses by their tabs' names
        await pilot.press("enter")  # the newest: the customer's note
        await wait_until(pilot, lambda: isinstance(app.screen, ProfileScreen))
        assert app.screen.customer_id == ann.id
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("slash", *"event:note", "enter")
        await wait_until(pilot, lambda: len(screen.rows) == 2)
        await pilot.press("down", "enter")  # the order's note
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen))
        assert app.screen.order_id == refs[0].id
        await pilot.press("escape")
        await settle(pilot)
        screen.query_one("#log-search").value = "since:never"
        await settle(pilot)
        assert "give a date like" in screen_text(app)
