"""Characters no font has are never dropped in silence: an invoice holding one is refused
(nothing written, printed or attached), slips, pick lists and customer sheets print and say
which orders lack which characters (the CLI on stderr, the app in a notice), and
`documents.fallback_fonts` brings the characters back. DejaVu Sans has no Chinese, Japanese,
Thai or Devanagari; the fallback font of these tests is built here with fontTools (a box for
each of a few CJK characters), so they need no font from the machine. PDFs are read back with
pdftotext and checked with qpdf."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

from documents import invoice, slips
from documents.pdf import MissingCharacters
from store import customers, document_reads, status
from store.config import from_mapping
from store.errors import ConfigError
from store.models import Outbox
from store.operators import STOREFRONT
from store.orders import ItemInput, OrderRef, place_order
from store.shop import Shop
from tests.conftest import cli_config, make_config
from tests.factories import ADDRESS
from tests.test_documents import ISSUED, check_pdf, pdffonts
from tui.cli import main

NAME = "山田 太郎"
THAI = "ไทย"
CJK = "山田太郎東京千代区"  # every CJK character of the order below


def box_font(path: Path, chars: str) -> Path:
    """A TrueType font with a square glyph for each of `chars` (and .notdef)."""
    names = [".notdef", *(f"uni{ord(c):04X}" for c in chars)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 700))
        pen.lineTo((900, 700))
        pen.lineTo((900, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000, 100) for name in names})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": "Boxes CJK", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=880, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.save(str(path))
    return path


def japanese_order(shop: Shop, name: str = NAME) -> OrderRef:
    """The tester's order: name, street and city in Japanese, an item half in Japanese."""
    first, _, last = name.partition(" ")
    address = dict(ADDRESS, first_name=first, last_name=last, line1="千代田区 1-1",
                   city="東京", postcode="100-0001", country="JP")
    return place_order(shop, STOREFRONT, items=[
        ItemInput("MUG-1", "Tasse 東京", 1, 900, 2000), ItemInput("TEE-1", "Tee", 1, 1500)],
        guest_name=name, guest_email="taro@example.jp", shipping_address=address,
        billing_address=address)


def text_of(data: bytes | bytearray) -> str:
    """pdftotext's text; its stderr must be empty (a line drawn with no font is an error)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    done = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=bytes(data),
                          capture_output=True, check=True)
    assert done.stderr == b"", done.stderr.decode()
    return done.stdout.decode("utf-8")


def fpdf_said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("fpdf")]


def test_an_invoice_with_characters_no_font_has_is_refused(shop, admin, caplog):
    caplog.set_level(logging.WARNING)
    ref = japanese_order(shop)
    doc = document_reads.invoice_doc(shop.config, ref.id, "FA-2026-00042", ISSUED)
    with pytest.raises(MissingCharacters) as refused:
        invoice.render_invoice(shop.config, doc)
    said = str(refused.value)
    assert said.startswith(f"invoice FA-2026-00042 of order {ref.code} is not printed")
    assert "its font lacks 山, 田, 太, 郎, 千, 代 …, which" in said
    assert "documents.fallback_fonts" in said
    assert "Noto Sans CJK" in said and "\n" not in said
    assert fpdf_said(caplog) == []


def test_slips_and_the_pick_list_print_and_name_what_they_left_out(shop, admin, caplog):
    caplog.set_level(logging.WARNING)
    ref = japanese_order(shop)
    other = japanese_order(shop, "Ann Smith")  # its street, city and item lack characters
    rows = document_reads.slip_rows([ref.id, other.id])
    done = slips.render_slips(shop.config, rows, picklist=True)
    check_pdf(done.data)
    assert list(done.missing) == [ref.code, other.code, slips.PICK_LIST]
    assert done.missing[ref.code][:4] == ["山", "田", "太", "郎"]
    assert done.missing[other.code] == ["千", "代", "田", "区", "東", "京"]
    assert done.warning.startswith(
        f"2 slip(s) printed without characters the font lacks: {ref.code} (山, 田, 太, 郎, "
        f"千, 代 …); {other.code} (千, 代, 田, 区, 東, 京); Pick list (東, 京). Set "
        "documents.fallback_fonts to a font that has them")
    text = text_of(done.data)
    assert "Tasse" in text and "1-1" in text and NAME not in text  # printed, less the CJK
    assert fpdf_said(caplog) == []  # fpdf2's own log line is ours now
    clean = slips.render_slips(shop.config, [without_cjk(rows[1])])
    assert clean.missing == {} and clean.warning == ""


def without_cjk(row: document_reads.SlipOrder) -> document_reads.SlipOrder:
    assert row.ship_to is not None
    items = tuple(dataclasses.replace(i, name="Tasse") for i in row.items)
    ship_to = dataclasses.replace(row.ship_to, line1="1-1", city="Tokyo")
    return dataclasses.replace(row, items=items, ship_to=ship_to)


def test_fallback_fonts_bring_the_characters_back(shop, admin, db_url, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    font = box_font(tmp_path / "boxes.ttf", CJK)
    config = make_config(db_url, documents={"fallback_fonts": [str(font)]})
    ref = japanese_order(shop)
    done = slips.render_slips(config, document_reads.slip_rows([ref.id]), picklist=True)
    check_pdf(done.data)
    assert done.missing == {} and done.warning == ""
    text = text_of(done.data)
    for expected in (NAME, "千代田区 1-1", "100-0001 東京", "Tasse 東京", "taro@example.jp"):
        assert expected in text, expected
    assert {f[0] for f in pdffonts(done.data)} == {
        "MPDFAA+DejaVuSansBook", "MPDFAA+DejaVuSansBold", "MPDFAA+BoxesCJK"}
    doc = document_reads.invoice_doc(config, ref.id, "FA-2026-00042", ISSUED)
    data = invoice.render_invoice(config, doc)
    check_pdf(data)
    assert data == invoice.render_invoice(config, doc)  # still the same bytes every time
    text = text_of(data)
    assert NAME in text and "MUG-1 · Tasse 東京" in text and "100-0001 東京" in text
    assert fpdf_said(caplog) == []
    thai = japanese_order(shop, f"{NAME} {THAI}")  # the fallback has no Thai
    partly = slips.render_slips(config, document_reads.slip_rows([thai.id]))
    assert partly.missing == {thai.code: ["ไ", "ท", "ย"]}
    assert NAME in text_of(partly.data)
    with pytest.raises(MissingCharacters, match=r"its font lacks ไ, ท, ย, which"):
        invoice.render_invoice(config, document_reads.invoice_doc(
            config, thai.id, "FA-2026-00043", ISSUED))


def test_fallback_fonts_are_checked_like_the_font(shop, admin, db_url, tmp_path):
    ref = japanese_order(shop)
    rows = document_reads.slip_rows([ref.id])
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font at all")
    text = tmp_path / "font.txt"
    text.write_text("x", encoding="utf-8")
    for path, said in ((tmp_path / "none.ttf", r"no such font file .*none\.ttf"),
                       (broken, r".*broken\.ttf cannot be used: "),
                       (text, r".*font\.txt is not a TrueType or OpenType font")):
        config = make_config(db_url, documents={"fallback_fonts": [str(path)]})
        with pytest.raises(ConfigError, match=r"^documents\.fallback_fonts: " + said):
            slips.render_slips(config, rows)
    with pytest.raises(ConfigError, match=r"fallback_fonts must be a list"):
        from_mapping({"documents": {"fallback_fonts": "/x.ttf"}}, "test", environ={})


# ----- the command line, the app and the paid mail -------------------------------------------

def _cli(db_url: str, tmp_path: Path, **documents: Any) -> Any:
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(
        db_url, documents={"output_dir": str(tmp_path / "docs"), **documents})),
        encoding="utf-8")

    def invoke(*args: str, ok: bool = True) -> Any:
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": "ada"}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_the_cli_warns_in_one_line_and_refuses_the_invoice(shop, admin, db_url, tmp_path):
    run = _cli(db_url, tmp_path)
    ref = japanese_order(shop)
    result = run("print", "slips", ref.code)
    assert re.search(r"wrote .+\.pdf", result.stdout) and "1 slip(s)" in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith(f"warning: 1 slip(s) printed without characters the font lacks: "
                           f"{ref.code} (山, 田, 太, 郎, 千, 代 …). Set "
                           "documents.fallback_fonts")
    status.change_status(shop, admin, [ref.id], "paid")
    issued = document_reads.order_invoice(ref.id)
    assert issued is not None  # the invoice as issued holds the whole name
    assert issued.doc.buyer.name == NAME
    result = run("print", "invoice", ref.code, ok=False)
    assert f"invoice {issued.code} of order {ref.code} is not printed" in result.output
    assert "missing the following glyphs" not in result.output
    assert not list((tmp_path / "docs").glob("invoice-*.pdf"))  # nothing written
    font = box_font(tmp_path / "boxes.ttf", CJK)
    run = _cli(db_url, tmp_path, fallback_fonts=[str(font)])
    result = run("print", "invoice", ref.code)
    assert result.stderr == ""
    [written] = (tmp_path / "docs").glob("invoice-*.pdf")
    assert NAME in text_of(written.read_bytes())
    assert run("print", "slips", ref.code).stderr == ""
    customer = customers.create_customer(shop, admin, email="hanako@example.jp",
                                         first_name="花子", last_name="山田")
    result = _cli(db_url, tmp_path)("print", "customer", "hanako@example.jp")
    assert f"customer-{customer.id}-" in result.stdout
    assert result.stderr == (f"warning: the customer sheet printed without characters the font "
                             f"lacks: Customer {customer.id} (花, 子, 山, 田). Set "
                             "documents.fallback_fonts to a font that has them (e.g. Noto "
                             "Sans CJK for Chinese, Japanese, Korean) and print again\n")


async def test_the_app_tells_the_operator(shop, admin, config, tmp_path):
    from tests.test_tui_paper import paper_app, written
    from tests.tui_support import settle, wait_until
    from tui.screens.order_detail import OrderDetailScreen

    ref = japanese_order(shop)
    status.change_status(shop, admin, [ref.id], "paid")
    out = tmp_path / "docs"
    app = paper_app(config, out)

    def warnings() -> list[str]:
        return [n.message for n in app._notifications if n.severity == "warning"]

    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("P", "enter")  # the queue's bulk print: the whole filter
        await wait_until(pilot, lambda: bool(warnings()))
        [notice] = warnings()
        assert "1 slip(s), 1 page(s): " in notice and f"{ref.code} (山, 田" in notice
        assert "documents.fallback_fonts" in notice
        assert len(written(out)) == 1  # printed all the same
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)
        await pilot.press("P")
        await wait_until(pilot, lambda: len(warnings()) == 2)
        notice = warnings()[1]
        assert "wrote " in notice and f"{ref.code} (山, 田" in notice
        assert len(written(out, "slip-*.pdf")) == 1
        await pilot.press("I")
        await wait_until(pilot, lambda: any(
            n.severity == "error" for n in app._notifications))
        [refused] = [n for n in app._notifications if n.severity == "error"]
        assert f"of order {ref.code} is not printed" in refused.message
        assert written(out, "invoice-*.pdf") == []


def test_the_paid_mail_fails_alone_when_its_invoice_cannot_be_drawn(shop, admin, db_url):
    from mailer.worker import deliver_once
    from tests.factories import place
    from tests.mail_server import Server

    server = Server().start()
    try:
        ref, other = japanese_order(shop), place(shop, email="bob@example.com")
        attached = make_config(db_url, smtp={"port": server.port},
                               documents={"attach_invoice": True})
        deliver_once(attached)  # the order confirmations
        status.change_status(shop, admin, [ref.id, other.id], "paid", hold_mail=False)
        deliver_once(attached)
        received = {str(m["To"]) for m in server.received
                    if str(m["X-Backroom-Mail"]).startswith("payment_received")}
    finally:
        server.stop()
    assert received == {"bob@example.com"}
    mail = Outbox.get((Outbox.order == ref.id) & (Outbox.kind == "payment_received"))
    assert mail.state == "failed"
    assert mail.last_error.startswith("cannot attach the invoice: invoice ")
    assert "documents.fallback_fonts" in mail.last_error
