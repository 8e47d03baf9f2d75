"""Paper in the app (issue 14, points 3, 6, 7, 11): bulk printing of the marked orders or of
the filter as one PDF in queue order (pick list, labels, progress, stop), the detail's slip,
invoice and label keys, and the carrier's tracking file with its preview; driven with the
pilot on a real database, the PDFs read back with pypdf."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from store import labels, status
from store.models import Order
from tests.conftest import make_config
from tests.factories import place
from tests.test_documents import label_pdf
from tests.tui_support import database_held, poll_until, screen_text, settle, wait_until
from tui.app import build_app
from tui.screens.order_detail import OrderDetailScreen


def paper_app(config: Any, out: Path) -> Any:
    url = config.database_url
    return build_app(make_config(url, mail={"deliver_in_app": False},
                                 documents={"output_dir": str(out)}), "ada")


def texts(path: Path) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages]


def written(out: Path, pattern: str = "slips-*.pdf") -> list[Path]:
    return sorted(out.glob(pattern))


async def test_the_morning_batch_prints_with_its_pick_list_in_three_keys(shop, admin, config,
                                                                       tmp_path):
    """The README's count: once the batch is filtered, its slips and pick list are P, k,
    Enter (at most 4 keys)."""
    paid = [place(shop, email=f"m{n}@example.com") for n in range(3)]
    place(shop)  # not paid: not in the batch
    status.change_status(shop, admin, [r.id for r in paid], "paid")
    out = tmp_path / "docs"
    app = paper_app(config, out)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.run_command("toship")  # the batch filtered (status:paid): not counted
        await settle(pilot)
        keys = ["P", "k", "enter"]
        await pilot.press(*keys)
        await wait_until(pilot, lambda: bool(written(out)))
    assert len(keys) <= 4
    [pdf] = written(out)
    pages = texts(pdf)
    assert "-3-orders-with-picklist" in pdf.name and len(pages) == 4
    queue_order = [r.code for r in reversed(paid)]  # newest first, as the queue shows them
    assert [next(c for c in queue_order if c in t) for t in pages[:3]] == queue_order
    assert "Pick list" in pages[3] and "3 orders" in pages[3]


async def test_marked_orders_print_in_queue_order_with_their_labels(shop, admin, config,
                                                                   tmp_path):
    a, b, c = place(shop), place(shop), place(shop)
    labels.attach_label(shop, admin, a.id, label_pdf(f"LABEL {a.code}"), "a.pdf")
    out = tmp_path / "docs"
    app = paper_app(config, out)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "down", "space")  # c (newest), then a: b is skipped
        await settle(pilot)
        await pilot.press("P", "l", "enter")
        await wait_until(pilot, lambda: bool(written(out)))
    pages = texts(written(out)[0])
    assert len(pages) == 3  # c's slip, a's slip, a's label: queue order, newest first
    assert c.code in pages[0] and a.code in pages[1] and f"LABEL {a.code}" in pages[2]
    assert not any(b.code in p for p in pages)
    sizes = [round(float(p.mediabox.width)) for p in
             PdfReader(io.BytesIO(written(out)[0].read_bytes())).pages]
    assert 288 in sizes  # the label kept its own 4x6 size


async def test_a_bulk_print_can_be_stopped_and_writes_nothing(shop, admin, config, db_url,
                                                             tmp_path):
    for _ in range(5):
        place(shop)
    out = tmp_path / "docs"
    app = paper_app(config, out)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        with database_held(db_url):  # the print waits on the database: x comes first
            await pilot.press("P", "enter")
            await poll_until(pilot, lambda: "printing" in str(
                app.screen.query_one("#queue-status").render()))
            await pilot.press("x")
        await wait_until(pilot, lambda: "printing" not in str(
            app.screen.query_one("#queue-status").render()))
        notices = [n.message for n in app._notifications]
    assert written(out) == []
    assert any("printing stopped" in n and "nothing written" in n for n in notices)


async def test_the_detail_prints_its_slip_and_invoice_and_takes_a_label(shop, admin, config,
                                                                      tmp_path):
    ref = place(shop, gift_message="Bon anniversaire")
    label = tmp_path / "ups-label.pdf"
    label.write_bytes(label_pdf(f"LABEL {ref.code}"))
    out = tmp_path / "docs"
    app = paper_app(config, out)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*list(str(label)), "enter")
        await wait_until(pilot, lambda: "ups-label.pdf, 1 page" in screen_text(app))
        await pilot.press("P")
        await wait_until(pilot, lambda: bool(written(out, "slip-*.pdf")))
        slip = texts(written(out, "slip-*.pdf")[0])
        assert ref.code in slip[0] and "Bon anniversaire" in slip[0]
        assert f"LABEL {ref.code}" in slip[1]
        await pilot.press("I")  # not paid yet: no invoice
        await settle(pilot)
        assert not written(out, "invoice-*.pdf")
        assert any("has no invoice" in n.message for n in app._notifications)
        status.change_status(shop, admin, [ref.id], "paid")
        await pilot.press("ctrl+r", "I")
        await wait_until(pilot, lambda: bool(written(out, "invoice-*.pdf")))
        assert ref.code in texts(written(out, "invoice-*.pdf")[0])[0]


async def test_tracking_numbers_import_in_the_app_with_its_preview(shop, admin, config,
                                                                  tmp_path):
    a, b = place(shop), place(shop)
    status.change_status(shop, admin, [a.id, b.id], "paid")
    file = tmp_path / "carrier.csv"
    file.write_text(f"Order,Tracking\n{a.code},1Z5R89390357567127\n{b.code},BB-2\n"
                    "BR-999999,X\n", encoding="utf-8")
    app = paper_app(config, tmp_path / "docs")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("T")
        await pilot.pause()
        await pilot.press(*list(str(file)), "enter")
        await wait_until(pilot, lambda: "Preview" in str(app.screen.query_one(
            ".dialog-title").render()) if app.screen.query(".dialog-title") else False)
        body = str(app.screen.query_one("#confirm-body").render())
        assert "line 4: skipped: no such order" in body and "2 × Paid" in body
        assert Order.get_by_id(a.id).status == "paid"
        await pilot.press("y")
        await wait_until(pilot, lambda: Order.get_by_id(b.id).status == "shipped")
        assert Order.get_by_id(a.id).carrier == "ups"
        assert Order.get_by_id(b.id).tracking_number == "BB-2"
        await pilot.press("z")
        await wait_until(pilot, lambda: Order.get_by_id(a.id).status == "paid")
