"""The order queue driven with Textual's pilot on a real database."""

from __future__ import annotations

import datetime as dt

import pytest

from store import orders
from store.models import OrderEvent, Outbox, utcnow
from tests.bulk import insert_orders
from tests.factories import place
from tests.tui_support import (
    database_held,
    make_app,
    poll_until,
    screen_text,
    settle,
    wait_until,
)
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.queue import QueueScreen
from tui.widgets.table import RowTable


def cell_texts(app, row: int) -> list[str]:
    table = app.screen.query_one("#orders", RowTable)
    return [str(c) for c in table.get_row_at(row)]


async def test_queue_opens_newest_first_with_counts(shop, admin, config):
    first = place(shop, name="First Buyer")
    last = place(shop, name="Last Buyer")
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        table = app.screen.query_one("#orders", RowTable)
        assert table.row_count == 2
        assert cell_texts(app, 0)[0] == f" {last.code}"
        assert cell_texts(app, 1)[0] == f" {first.code}"
        assert "Last Buyer" in cell_texts(app, 0)
        tab = app.screen.query_one("#t-awaiting_payment")
        assert "2" in str(tab.label)


async def test_an_order_of_another_year_shows_its_year(shop, admin, config):
    """The Placed column is month, day and time for this year's orders; an order a year old
    (the Archived tab holds many) shows its date with the year, never a date like today's."""
    now = utcnow().replace(microsecond=0)
    place(shop, name="Old Buyer", placed_at=now - dt.timedelta(days=366))
    place(shop, name="New Buyer", placed_at=now)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        new, old = cell_texts(app, 0), cell_texts(app, 1)
        assert "New Buyer" in new  # (a new year may have begun between placing and drawing)
        assert now.strftime("%m-%d %H:%M") in new or now.strftime("%Y-%m-%d") in new
        assert "Old Buyer" in old
        assert (now - dt.timedelta(days=366)).strftime("%Y-%m-%d") in old


async def test_filter_as_you_type_and_escape_clears(shop, admin, config):
    place(shop, name="Zed Quigley", email="zed@example.com")
    place(shop, name="Ann Smith")
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#orders", RowTable)
        await pilot.press("slash", *"ze")
        await wait_until(pilot, lambda: table.row_count == 1)
        assert "Zed Quigley" in cell_texts(app, 0)
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 2
        # a whole word goes through the search index
        await pilot.press("slash", *"quigley")
        await wait_until(pilot, lambda: table.row_count == 1)
        assert "Zed Quigley" in cell_texts(app, 0)
        await pilot.press("escape")
        await wait_until(pilot, lambda: table.row_count == 2)


async def test_the_filter_box_finds_a_product_without_its_accents(shop, admin, config):
    """`product:` typed in the filter box folds as free words do: `lodz` finds the order of a
    "Łódź mug", `ŁÓDŹ` too (SQLite's LIKE folded ASCII case alone), `creme` "Crème brûlée"."""
    for n, (sku, name, buyer) in enumerate([("LDZ-1", "Łódź mug", "Lena Lodz"),
                                            ("CRM-1", "Crème brûlée", "Cora Creme")]):
        orders.place_order(shop, admin, items=[orders.ItemInput(sku, name, 1, 990)],
                           guest_name=buyer, guest_email=f"buyer{n}@example.com")
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#orders", RowTable)
        for typed, buyer in (("product:lodz", "Lena Lodz"), ("product:ŁÓDŹ", "Lena Lodz"),
                             ("sku:creme", "Cora Creme")):
            await pilot.press("slash", *typed)
            await wait_until(pilot, lambda: table.row_count == 1)
            assert buyer in cell_texts(app, 0), typed
            await pilot.press("escape")
            await wait_until(pilot, lambda: table.row_count == 2)


async def test_bad_filter_token_is_named(shop, admin, config):
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"status:bogus", "enter")  # (bogus:1 is text: issue 11)
        await settle(pilot)
        status = str(app.screen.query_one("#queue-status").render())
        assert "bogus" in status
        assert app.screen.query_one("#orders", RowTable).row_count == 1


async def test_paging_deep_keeps_a_small_window(shop, admin, config):
    ids = insert_orders(shop, 400)
    app = make_app(config, page_size=40)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#orders", RowTable)
        seen: set[int] = set()
        for _ in range(12):
            await pilot.press("end")
            await settle(pilot)
            assert table.row_count <= 120
            seen.update(r.id for r in screen.rows)
        # every order was reached through the cursors; the last one is the oldest
        assert seen == set(ids)
        await pilot.press("end")
        assert screen.current_row().id == ids[0]
        for _ in range(12):
            await pilot.press("home")
            await settle(pilot)
            assert table.row_count <= 120
        assert screen.current_row().id == ids[-1]
        assert screen.pages[0].prev_cursor is None


def status_text(app) -> str:
    return str(app.screen.query_one("#queue-status").render())


async def test_keys_pressed_at_the_edge_wait_for_the_page(shop, admin, config):
    """Cursor keys pressed past the loaded rows while the next page is still loading are
    kept, and move the cursor on once the rows arrive (down, then up at the top)."""
    ids = insert_orders(shop, 100)  # the queue shows the newest first: ids[-1] is row 0
    app = make_app(config, page_size=20)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#orders", RowTable)
        assert table.row_count == 40  # the first page, and the next one fetched ahead
        with database_held(config.database_url):
            await pilot.press("end")  # the last loaded row: the next page is asked for
            await poll_until(pilot, lambda: screen.loading_more)
            await pilot.press(*["down"] * 25)  # more than a page past the edge, at once
            assert screen.current_row().id == ids[-40]  # nothing arrived: still the last row
            await poll_until(pilot, lambda: "loading more orders" in status_text(app))
        await settle(pilot)
        assert screen.current_row().id == ids[-1 - 39 - 25]
        assert table.row_count <= 60
        assert cell_texts(app, table.cursor_row)[0] == f" {screen.current_row().code}"
        assert "loading more" not in status_text(app)

        first = screen.rows[0]
        with database_held(config.database_url):
            await pilot.press("home")  # the first loaded row: the page before it is asked for
            await poll_until(pilot, lambda: screen.loading_more)
            await pilot.press("up", "up", "up")
            assert screen.current_row() == first
        await settle(pilot)
        assert screen.current_row().id == ids[ids.index(first.id) + 3]


async def test_keys_pressed_while_a_filter_loads_apply_to_its_rows(shop, admin, config):
    """The loading indicator shows when the query is slow, and cursor keys pressed meanwhile
    move through the new rows, not the stale ones."""
    insert_orders(shop, 30)
    wanted = insert_orders(shop, 6, email="quigley@example.com")
    insert_orders(shop, 30)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#orders", RowTable)
        with database_held(config.database_url):
            await pilot.press("slash", *"quigley", "enter")
            await poll_until(pilot, lambda: "loading orders" in status_text(app))
            assert app.focused is table  # the indicator does not take the keys away
            await pilot.press("down", "down")
        await settle(pilot)
        assert "loading" not in status_text(app)
        assert [r.id for r in screen.rows] == wanted[::-1]
        assert screen.current_row().id == wanted[-3]


async def test_hostile_names_are_shown_literally(shop, admin, config, tmp_path):
    place(shop, name="Ann [/] Smith", email="ann@example.com")
    place(shop, name="[@click=app.quit]x", email="x@example.com")
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        texts = cell_texts(app, 0) + cell_texts(app, 1)
        assert "[@click=app.quit]x" in texts
        assert "Ann [/] Smith" in texts
        await pilot.click("#orders")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)
        assert "[@click=app.quit]x" in screen_text(app)
        await pilot.click("#detail-summary", offset=(15, 0))
        await settle(pilot)
        assert app.is_running


async def test_bulk_preview_apply_and_undo(shop, admin, config):
    ids = insert_orders(shop, 30)
    insert_orders(shop, 2, status="cancelled")
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert len(app.screen.marked) == 32
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("p")  # Paid / processing
        await settle(pilot)
        preview = app.screen
        body = str(preview.query_one("#confirm-body").render())
        assert "30 × Awaiting payment → Paid / processing" in body
        assert "30 email(s) will be queued" in body
        assert "2 refused" in body
        # the preview changed nothing
        assert OrderEvent.select().where(OrderEvent.kind == "status").count() == 0
        await pilot.press("y")
        await settle(pilot)
        refusals = str(app.screen.query_one("#confirm-body").render())
        assert "cannot move" in refusals
        await pilot.press("enter")
        await settle(pilot)
        assert OrderEvent.select().where(OrderEvent.kind == "status").count() == 30
        assert Outbox.select().where(Outbox.kind == "payment_received").count() == 30
        assert "Processing 30" in str(app.screen.query_one("#t-paid").label)
        await pilot.press("z")
        await settle(pilot)
        assert OrderEvent.select().where(OrderEvent.kind == "status_undone").count() == 30
        assert any("Undone: 30 order(s) back, 30 email(s) withdrawn" in n.message
                   for n in app._notifications)
        assert Outbox.select().where(Outbox.kind == "payment_received",
                                     Outbox.state == "cancelled").count() == 30
        assert "Unpaid 30" in str(app.screen.query_one("#t-awaiting_payment").label)
        assert set(ids)


async def test_space_and_range_marks(shop, admin, config):
    insert_orders(shop, 10)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("space")  # marks row 0, moves to 1
        assert len(screen.marked) == 1
        await pilot.press("v", "down", "down", "v")  # rows 1..3
        assert len(screen.marked) == 4
        await pilot.press("shift+down")  # rows 3 and 4
        assert len(screen.marked) == 5
        await pilot.press("u")
        assert not screen.marked


@pytest.mark.parametrize("code_ok", [True, False])
async def test_scan_to_open(shop, admin, config, code_ok):
    ref = place(shop)
    place(shop)
    app = make_app(config)
    code = ref.code.split("-")[1]
    if not code_ok:
        code = code[:-1] + str((int(code[-1]) + 1) % 10)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*code, "enter")
        await settle(pilot)
        if code_ok:
            assert isinstance(app.screen, OrderDetailScreen)
            assert app.screen.detail.code == ref.code
        else:
            assert isinstance(app.screen, QueueScreen)
            messages = [n.message for n in app._notifications]
            assert any("check character does not match" in m for m in messages)


async def test_a_bulk_change_is_one_transaction_and_one_undo(shop, admin, config):
    """More orders than any page or part: one batch in the history, one `z` reverts it all."""
    insert_orders(shop, 601)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert len(app.screen.marked) == 601
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        changes = OrderEvent.select().where(OrderEvent.kind == "status")
        assert changes.count() == 601
        assert len({e.batch for e in changes}) == 1
        await pilot.press("z")
        await settle(pilot)
        assert OrderEvent.select().where(OrderEvent.kind == "status_undone").count() == 601
        assert "Unpaid 601" in str(app.screen.query_one("#t-awaiting_payment").label)


async def test_x_exports_the_marked_orders_or_the_filter(shop, admin, config, tmp_path):
    """`x` writes the marked orders (else the filter's) as CSV under ui.export_dir and says
    where; a clerk may not export."""
    import csv

    kept = [place(shop, name=f"Buyer {i}") for i in range(3)]
    place(shop, name="Other Person")
    app = make_app(config, export_dir=str(tmp_path / "out"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "x")
        await settle(pilot)
        files = list((tmp_path / "out").glob("orders-*.csv"))
        assert len(files) == 1
        rows = list(csv.DictReader(files[0].open()))
        assert {r["code"] for r in rows} == {o.code for o in app.screen.rows[:2]}
        assert "exported to" in " ".join(n.message for n in app._notifications)
        await pilot.press("u", "slash", *"buyer", "enter")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        newest = max((tmp_path / "out").glob("orders-*.csv"), key=lambda p: p.stat().st_mtime_ns)
        assert {r["code"] for r in csv.DictReader(newest.open())} == {o.code for o in kept}


async def test_a_reload_shows_a_change_made_elsewhere_on_rows_already_drawn(shop, admin,
                                                                           config):
    """Rows are drawn once and kept (tui/widgets/table.py); a row read again with a new
    status is drawn again: ctrl+r after another operator's change shows that change."""
    from store import status
    from tests.factories import place
    from tests.tui_support import make_app, screen_text, settle

    first, second = place(shop), place(shop)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)

        def row_of(code: str) -> str:
            return next(line for line in screen_text(app).splitlines() if code in line)

        assert "Shipped" not in row_of(first.code)
        status.change_status(shop, admin, [first.id, second.id], "paid")
        status.change_status(shop, admin, [first.id], "shipped", tracking="1Z999AA10123456784")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "Shipped" in row_of(first.code) and "Processing" in row_of(second.code)


async def test_a_row_back_from_another_tab_shows_its_status_and_marks_now(shop, admin, config):
    """A row drawn once, gone from the table (another tab, a change that takes it out of the
    tab) and back is drawn as it is now: not from the line kept while it was marked and
    Unpaid (the tester's steps at 80x24: Unpaid tab, mark the first order, pay it, All)."""
    insert_orders(shop, 12)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        first = screen.rows[0]

        def row_of(code: str) -> str:
            return next(line for line in screen_text(app).splitlines() if code in line)

        # a mark made on one tab is dropped by the next: its glyph goes with it
        await pilot.press("space")
        await settle(pilot)
        assert row_of(first.code).startswith(" ●")
        await pilot.press("right_square_bracket")  # the Unpaid tab
        await settle(pilot)
        assert not screen.marked
        assert "●" not in row_of(first.code)
        await pilot.press("home", "space")  # the first order, marked
        await settle(pilot)
        assert screen.marked == {first.id}
        assert row_of(first.code).startswith(" ●") and "Unpaid" in row_of(first.code)
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("p")  # Paid / processing
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert first.code not in screen_text(app)  # it left the Unpaid tab
        await pilot.press("left_square_bracket")  # back to All
        await settle(pilot)
        assert not screen.marked
        line = row_of(first.code)
        assert "Processing" in line and "Unpaid" not in line and "●" not in line, line
        await pilot.press("ctrl+r")
        await settle(pilot)
        line = row_of(first.code)
        assert "Processing" in line and "●" not in line, line
        # undone on the Unpaid tab: the order comes back into it, unmarked and Unpaid
        await pilot.press("right_square_bracket")
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        await wait_until(pilot, lambda: first.code in screen_text(app))
        line = row_of(first.code)
        assert "Unpaid" in line and "●" not in line, line
        assert not screen.marked
        assert "●" not in screen_text(app)
