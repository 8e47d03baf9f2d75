"""Snapshots of the order screens at 80x24 and 120x40 (pytest-textual-snapshot).

Data is fixed (names, totals, placed times) so the frames are stable; update them with
`pytest tests/test_snapshots.py --snapshot-update` after a deliberate change of the look."""

from __future__ import annotations

import datetime as dt

import pytest

from store import status
from tests.factories import place
from tests.tui_support import make_app, settle

BASE = dt.datetime(2026, 11, 5, 9, 30)
NAMES = ["Ann [/] Smith", "[@click=app.quit]x", "Chloé Dubois", "Dmitri Ivanov",
         "Eve Martin", "Farid Haddad", "Grace Hopper-Lee", "Hiro Tanaka"]


@pytest.fixture
def snapshot_app(sqlite_url, tmp_path):
    from store import operators
    from store.shop import open_shop
    from tests.conftest import make_config

    config = make_config(sqlite_url)
    shop = open_shop(config)
    admin = operators.ensure_admin("ada")
    refs = [place(shop, name=name, email=f"c{i}@example.com", total_items=1 + i % 3,
                  price=1500 + 250 * i, placed_at=BASE + dt.timedelta(hours=i))
            for i, name in enumerate(NAMES)]
    status.change_status(shop, admin, [refs[0].id, refs[1].id], "paid", hold_mail=False)
    status.change_status(shop, admin, [refs[2].id], "cancelled", hold_mail=False)
    return make_app(config)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_queue(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_status_picker(snap_compare, snapshot_app, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(snapshot_app, terminal_size=size, run_before=run_before)


def test_help(snap_compare, snapshot_app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=run_before)


def test_bulk_preview(snap_compare, snapshot_app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("s", "x")
        await settle(pilot)

    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=run_before)


def test_queue_cursor_and_marks(snap_compare, snapshot_app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("down", "space", "space", "down", "up")
        await settle(pilot)

    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=run_before)
