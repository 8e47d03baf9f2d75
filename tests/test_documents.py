"""documents/: packing slips, pick lists, labels, invoices, customer sheets, output and
printing, on a SQLite file and on PostgreSQL. Every PDF is read back with the tools a person
would trust: qpdf --check, pdftotext (names come back exactly, every word inside its page),
pdffonts (embedded and subset), pypdf (text, page counts and sizes), and the barcode is
decoded from a 300 dpi rendering with zxing-cpp."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from fpdf import FPDF
from pypdf import PdfReader

from documents import customer_sheet, invoice, output, slips
from documents.pdf import printable
from store import customers, document_reads, operators, status
from store.config import Config
from store.errors import ConfigError, NotFound, PermissionDenied, PrintError, ValidationError
from store.models import Order, db
from store.orders import ItemInput, place_order
from store.shop import Shop
from tests.conftest import cli_config, make_config
from tests.factories import ADDRESS, place
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["Łukasz Żółć", "Jiří Wichterlová", "Søren Ærø", "Γιώργος Παπαδόπουλος",
         "Дмитрий Шостакович", "Ann [/] Smith", "<b>x</b>", "**bold**"]
ISSUED = dt.datetime(2026, 11, 30, 9, 15)


# ----- reading PDFs back ---------------------------------------------------------------------

def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install qpdf poppler-utils)")
    return path


def _run(args: list[str], data: bytes) -> str:
    done = subprocess.run(args, input=data, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def check_pdf(data: bytes | bytearray) -> None:
    """qpdf finds no error (the one assertion that may be skipped where qpdf is missing)."""
    assert data.startswith(b"%PDF-")
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "check.pdf"
        path.write_bytes(data)
        done = subprocess.run([qpdf, "--check", str(path)], capture_output=True, check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def pdftotext(data: bytes, *, first: int | None = None, last: int | None = None) -> str:
    args = [_tool("pdftotext"), "-enc", "UTF-8"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return _run([*args, "-", "-"], data)


def pdffonts(data: bytes) -> list[list[str]]:
    text = _run([_tool("pdffonts"), "-"], data)
    return [line.split() for line in text.splitlines()[2:] if line.strip()]


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')
_WORD = re.compile(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" '
                   r'yMax="([\d.-]+)">(.*?)</word>')


def words_off_page(data: bytes) -> list[str]:
    """Every word pdftotext finds outside its page's box (should be none)."""
    text = _run([_tool("pdftotext"), "-bbox", "-enc", "UTF-8", "-", "-"], data)
    off: list[str] = []
    for page in text.split("<page ")[1:]:
        size = _PAGE.match("<page " + page)
        assert size is not None
        width, height = float(size.group(1)), float(size.group(2))
        for x0, y0, x1, y1, word in _WORD.findall(page):
            if float(x0) < 0 or float(y0) < 0 or float(x1) > width or float(y1) > height:
                off.append(html.unescape(word))
    return off


def barcodes(data: bytes, page: int) -> list[str]:
    """The Code 128 symbols zxing-cpp reads on a page rendered at 300 dpi."""
    import zxingcpp
    from PIL import Image

    png = subprocess.run([_tool("pdftoppm"), "-r", "300", "-png", "-f", str(page), "-l",
                          str(page), "-"], input=data, capture_output=True, check=True).stdout
    image = Image.open(io.BytesIO(png))
    return [r.text for r in zxingcpp.read_barcodes(image)
            if r.format == zxingcpp.BarcodeFormat.Code128]


def page_texts(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def label_pdf(text: str, size: tuple[float, float] = (101.6, 152.4)) -> bytes:
    """A carrier's label as carriers send them: one 4x6 in page of its own."""
    pdf = FPDF(unit="mm", format=size)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 18)
    pdf.text(8, 20, text)
    return bytes(pdf.output())


def named_order(shop: Shop, name: str, legacy_note: str = "",
                **kwargs: object) -> document_reads.SlipOrder:
    """An order for `name`; a `legacy_note` is written straight into the row, as one stored
    before control characters were refused (or by another program) would be."""
    first, _, last = name.partition(" ")
    address = dict(ADDRESS, first_name=first, last_name=last)
    ref = place(shop, name=name, shipping_address=address, billing_address=address,
                **kwargs)  # type: ignore[arg-type]
    if legacy_note:
        Order.update(customer_note=legacy_note).where(Order.id == ref.id).execute()
    return document_reads.slip_rows([ref.id])[0]


# ----- store.document_reads ------------------------------------------------------------------

def test_slip_rows_in_the_order_given_and_set_based(shop, admin, db_url):
    refs = [place(shop, total_items=(i % 4) + 1, customer_note=f"note {i}")
            for i in range(30)]
    wanted = [refs[7].id, refs[2].id, refs[29].id, refs[2].id, *[r.id for r in refs[10:20]]]
    statements: list[str] = []
    if db_url.startswith("sqlite"):
        db.connection().set_trace_callback(statements.append)
    rows = document_reads.slip_rows(wanted)
    if db_url.startswith("sqlite"):
        db.connection().set_trace_callback(None)
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
    by_id = {r.id: r for r in refs}
    assert [r.code for r in rows] == [by_id[i].code for i in wanted]
    first = rows[0]
    assert first.customer_note == "note 7" and len(first.items) == 4
    assert [i.sku for i in first.items] == ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]
    assert first.ship_to is not None and first.ship_to.lines()[:2] == ["Ann Smith",
                                                                       "1 Rue de la Paix"]
    assert first.total == 4 * 1999 + 4 * 400 and first.currency == "EUR"
    assert isinstance(first.placed_at, dt.datetime)
    with pytest.raises(NotFound, match="no such order"):
        document_reads.slip_rows([refs[0].id, 999_999])


def test_customer_sheet_reads_profile_addresses_group_and_totals(shop, admin):
    group = customers.create_group(shop, admin, "Wholesale", discount_bp=1000)
    added = customers.create_customer(
        shop, admin, email="jiri@example.cz", first_name="Jiří", last_name="Wichterlová",
        phone="+420 123", group_id=group)
    customers.set_address(shop, admin, added.id, "shipping", dict(
        ADDRESS, first_name="Jiří", last_name="Wichterlová", city="Praha", country="CZ"))
    for price in (1000, 2500):
        place(shop, customer_id=added.id, price=price)
    place(shop, customer_id=added.id, price=700, is_test=True)
    sheet = document_reads.customer_sheet(added.id)
    assert sheet.name == "Jiří Wichterlová" and sheet.group_name == "Wholesale"
    assert sheet.group_discount_bp == 1000
    assert [a.kind for a in sheet.addresses] == ["shipping"]
    assert sheet.addresses[0].address.city == "Praha"
    assert len(sheet.orders) == 3
    assert sheet.totals == (document_reads.CurrencyTotal("EUR", 2, 1200 + 3000, 0, 0),)
    with pytest.raises(NotFound):
        document_reads.customer_sheet(424242)


# ----- packing slips -------------------------------------------------------------------------

def test_slips_print_every_name_literally_and_stay_on_the_page(shop, admin):
    long_note = ("Please ring twice. " * 600)[:10_000] + " END-OF-NOTE"
    rows = [named_order(shop, name, legacy_note=f"\x1b[2J note for {name}")
            for name in NAMES]
    rows.append(named_order(shop, "Ann Smith", customer_note=long_note))
    rows.append(named_order(shop, "X" * 200))  # one word wider than any column
    done = slips.render_slips(shop.config, rows)
    check_pdf(done.data)
    text = pdftotext(done.data)
    for name in NAMES:
        assert name in text, name
        assert f"[2J note for {name}" in text
    assert "\x1b" not in text and all("\x1b" not in t for t in page_texts(done.data))
    assert "END-OF-NOTE" in text
    assert words_off_page(done.data) == []
    fonts = pdffonts(done.data)
    assert fonts and all(f[0].startswith("MPDFAA+DejaVuSans") for f in fonts)
    assert all(f[-5:-2] == ["yes", "yes", "yes"] for f in fonts)  # emb, sub, uni
    reader = PdfReader(io.BytesIO(done.data))
    assert done.orders == len(rows) and done.pages == len(reader.pages)
    assert len(reader.pages) > len(rows)  # the 10 kB note went on to a second page
    codes = [r.code for r in rows]
    firsts = [i for i, t in enumerate(page_texts(done.data)) if "Packing slip" in t]
    assert len(firsts) == len(rows)
    assert [next(c for c in codes if c in page_texts(done.data)[i]) for i in firsts] == codes


def test_printable_drops_controls_and_keeps_text():
    assert printable("a\x1b[2Jb\x00c\x7f\x85d\u202eé\tf\r\ng") == "a[2Jbcdé f\ng"
    assert printable("**bold** <b>x</b> [/]") == "**bold** <b>x</b> [/]"


def test_barcode_decodes_to_the_order_code_on_every_page(shop, admin):
    short = named_order(shop, "Søren Ærø")
    many = place(shop, total_items=90)
    rows = [short, *document_reads.slip_rows([many.id])]
    done = slips.render_slips(shop.config, rows)
    assert done.pages >= 3
    assert barcodes(done.data, 1) == [short.code]
    texts = page_texts(done.data)
    for page in range(2, done.pages + 1):
        assert barcodes(done.data, page) == [many.code]
        assert many.code in texts[page - 1]
    assert "(continued)" in texts[2] and "SKU" in texts[2]  # code and table header repeated
    assert f"{many.code} · page 2" in texts[2]
    assert words_off_page(done.data) == []


def test_slip_content_gift_message_and_prices_setting(shop, admin, db_url):
    row = named_order(shop, "Дмитрий Шостакович", customer_note="Leave at the door",
                      shipping_method="express")
    row = dataclasses.replace(row, gift_message="Happy birthday, Dima!", carrier="DHL",
                              tracking_number="JD014600006281234567")
    plain = pdftotext(slips.render_slips(shop.config, [row]).data)
    for expected in ("Packing slip", row.code, f"placed {row.placed_at:%Y-%m-%d}",
                     "Ship to", "1 Rue de la Paix", "75002 Paris", "express · DHL",
                     "JD014600006281234567", "SKU-0", "Product 0", "Leave at the door",
                     "Gift message", "Happy birthday, Dima!", "My Shop"):
        assert expected in plain, expected
    assert "EUR" not in plain
    priced = make_config(db_url, documents={"slip_prices": True,
                                            "shop_address": "12 Quai Voltaire\n75007 Paris"})
    text = pdftotext(slips.render_slips(priced, [row]).data)
    assert "19.99 EUR" in text and "23.99 EUR" in text and "12 Quai Voltaire" in text


def test_pick_list_totals_sorted_by_sku(shop, admin):
    lines = [
        [ItemInput("MUG-10", "Mug, large", 2, 900), ItemInput("MUG-9", "Mug", 1, 800)],
        [ItemInput("MUG-10", "Mug, large", 1, 900), ItemInput("TEE-1", "Tee", 3, 1500)],
        [ItemInput("MUG-10", "Mug, large", 4, 900), ItemInput("MUG-10", "Mug, large", 1, 900)],
    ]
    refs = [place_order(shop, operators.STOREFRONT, items=items, guest_name="Ann",
                        guest_email="a@example.com", shipping_address=ADDRESS)
            for items in lines]
    rows = document_reads.slip_rows([r.id for r in refs])
    picks = slips.pick_list(rows)
    assert [(p.sku, p.quantity) for p in picks] == [("MUG-9", 1), ("MUG-10", 8), ("TEE-1", 3)]
    assert picks[1].orders == ((refs[0].code, 2), (refs[1].code, 1), (refs[2].code, 5))
    done = slips.render_slips(shop.config, rows, picklist=True)
    check_pdf(done.data)
    last = page_texts(done.data)[-1]
    assert "Pick list" in last and "3 orders · 3 SKUs · 12 items" in last
    assert f"8 {refs[0].code} ×2, {refs[1].code}, {refs[2].code} ×5" in " ".join(
        pdftotext(done.data, first=done.pages).split())
    assert done.pages == 4


def test_labels_merged_after_their_slips_keep_their_size(shop, admin, tmp_path):
    rows = [named_order(shop, name) for name in NAMES[:3]]
    on_disk = tmp_path / "label.pdf"
    on_disk.write_bytes(label_pdf(f"LABEL {rows[2].code}"))
    labels = {rows[0].id: label_pdf(f"LABEL {rows[0].code}"), rows[2].id: on_disk}
    done = slips.render_slips(shop.config, rows, picklist=True, labels=labels)
    check_pdf(done.data)
    reader = PdfReader(io.BytesIO(done.data))
    texts = [p.extract_text() for p in reader.pages]
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height)))
             for p in reader.pages]
    assert done.pages == len(reader.pages) == 6
    assert f"LABEL {rows[0].code}" in texts[1] and f"LABEL {rows[2].code}" in texts[4]
    assert [rows[0].code in texts[0], rows[1].code in texts[2], rows[2].code in texts[3]] == [
        True, True, True]
    assert "Pick list" in texts[5]
    assert sizes == [(595, 842), (288, 432), (595, 842), (595, 842), (288, 432), (595, 842)]
    with pytest.raises(ValidationError, match="not a readable PDF"):
        slips.render_slips(shop.config, rows[:1], labels={rows[0].id: b"not a pdf"})


def test_slips_pdf_reads_in_chunks_and_reports_progress(shop, admin, monkeypatch):
    refs = [place(shop) for _ in range(7)]
    monkeypatch.setattr(slips, "READ_CHUNK", 3)
    seen: list[tuple[int, int]] = []
    done = slips.slips_pdf(shop.config, [r.id for r in reversed(refs)],
                           progress=lambda n, total: seen.append((n, total)))
    assert seen == [(n, 7) for n in range(1, 8)]
    texts = page_texts(done.data)
    assert [next(r.code for r in refs if r.code in t) for t in texts] == [
        r.code for r in reversed(refs)]
    with pytest.raises(slips.Cancelled):
        slips.slips_pdf(shop.config, [r.id for r in refs], cancelled=lambda: True)


def test_font_setting_overrides_the_shipped_font(shop, admin, db_url, tmp_path):
    custom = tmp_path / "house.ttf"
    shutil.copy(ROOT / "documents" / "fonts" / "DejaVuSans-Bold.ttf", custom)
    row = named_order(shop, "Γιώργος Παπαδόπουλος")
    config = make_config(db_url, documents={"font": str(custom)})
    data = slips.render_slips(config, [row]).data
    assert {f[0] for f in pdffonts(data)} == {"MPDFAA+DejaVuSansBold"}  # regular is bold
    assert "Γιώργος Παπαδόπουλος" in pdftotext(data)
    missing = make_config(db_url, documents={"font": str(tmp_path / "none.ttf")})
    with pytest.raises(ConfigError, match=r"documents\.font: no such font file"):
        slips.render_slips(missing, [row])


# ----- invoices and customer sheets ----------------------------------------------------------

def _seller(db_url: str) -> Config:
    return make_config(db_url, shop={"name": "Żabka & Co"}, documents={
        "shop_address": "ul. Długa 5\n00-001 Warszawa\nPoland", "tax_id": "PL5260001246"})


def test_invoice_is_rebuilt_byte_for_byte(shop, admin, db_url):
    config = _seller(db_url)
    address = dict(ADDRESS, first_name="Łukasz", last_name="Żółć", line1="ul. Piękna 3",
                   company="Żółć Sp. z o.o.")
    ref = place(shop, name="Łukasz Żółć", total_items=3, shipping_cost=500, discount=100,
                billing_address=address)
    doc = document_reads.invoice_doc(config, ref.id, "FA-2026-00042", ISSUED)
    first = invoice.render_invoice(config, doc)
    again = invoice.render_invoice(
        config, document_reads.invoice_doc(config, ref.id, "FA-2026-00042", ISSUED))
    assert first == again
    check_pdf(first)
    meta = PdfReader(io.BytesIO(first)).metadata
    assert meta is not None and meta.creation_date == ISSUED.replace(tzinfo=dt.UTC)
    text = pdftotext(first)
    for expected in ("Invoice", "FA-2026-00042", "2026-11-30", ref.code, "Żabka & Co",
                     "ul. Długa 5", "PL5260001246", "Łukasz Żółć", "Żółć Sp. z o.o.",
                     "ul. Piękna 3", "Tax 20% on 59.97 EUR",
                     "12.00 EUR", "5.00 EUR", "-1.00 EUR", "75.97 EUR", "SKU-2 · Product 2"):
        assert expected in text, expected
    assert doc.total == 5997 + 1200 + 500 - 100
    assert words_off_page(first) == []
    assert {f[0] for f in pdffonts(first)} == {"MPDFAA+DejaVuSansBook",
                                                "MPDFAA+DejaVuSansBold"}


def test_a_long_invoice_runs_on_with_its_number_and_table_header(shop, admin, db_url):
    config = _seller(db_url)
    ref = place(shop, total_items=80, name="Søren Ærø")
    doc = document_reads.invoice_doc(config, ref.id, "FA-2026-00043", ISSUED)
    data = invoice.render_invoice(config, doc)
    check_pdf(data)
    texts = page_texts(data)
    assert len(texts) >= 2 and data == invoice.render_invoice(config, doc)
    assert "Invoice FA-2026-00043 (continued)" in texts[1] and "Unit price" in texts[1]
    assert "Invoice FA-2026-00043 · page 2" in texts[1]
    assert "SKU-79 · Product 79" in texts[-1] and "Total" in texts[-1]
    assert words_off_page(data) == []


def test_credit_notes_name_the_invoice_they_correct(shop, admin, db_url):
    config = _seller(db_url)
    ref = place(shop, total_items=2)
    full = document_reads.invoice_doc(config, ref.id, "AV-2026-00001", ISSUED,
                                      corrects="FA-2026-00042",
                                      corrects_issued_at=dt.datetime(2026, 11, 2))
    assert full.is_credit_note and full.total == -(2 * 1999 + 2 * 400)
    text = pdftotext(invoice.render_invoice(config, full))
    assert "Credit note" in text and "FA-2026-00042 of 2026-11-02" in text
    assert "-47.98 EUR" in text
    part = document_reads.invoice_doc(config, ref.id, "AV-2026-00002", ISSUED,
                                      corrects="FA-2026-00042", amount=1000,
                                      reason="Mug arrived chipped")
    assert part.total == -1000 and len(part.lines) == 1
    data = invoice.render_invoice(config, part)
    check_pdf(data)
    assert "Mug arrived chipped" in pdftotext(data) and "-10.00 EUR" in pdftotext(data)


def test_customer_sheet_pdf(shop, admin):
    added = customers.create_customer(
        shop, admin, email="dmitri@example.ru", first_name="Дмитрий", last_name="Шостакович")
    refs = [place(shop, customer_id=added.id, price=1000 + i) for i in range(70)]
    sheet = document_reads.customer_sheet(added.id)
    data = customer_sheet.render_customer_sheet(shop.config, sheet,
                                                status_label=shop.workflow.label)
    check_pdf(data)
    text = pdftotext(data)
    assert "Дмитрий Шостакович" in text and "dmitri@example.ru" in text
    assert all(r.code in text for r in refs) and "Awaiting payment" in text
    assert "70 order(s) in EUR" in text
    assert len(PdfReader(io.BytesIO(data)).pages) >= 2
    assert words_off_page(data) == []


# ----- output and printing -------------------------------------------------------------------

def test_names_say_what_and_nothing_is_overwritten(tmp_path):
    when = dt.datetime(2026, 11, 30, 9, 15)
    assert output.slips_name(50, when) == "slips-2026-11-30-0915-50-orders.pdf"
    assert output.invoice_name("FA-2026-00042") == "invoice-FA-2026-00042.pdf"
    assert output.invoice_name("AV/2026/7", credit_note=True) == "credit-note-AV-2026-7.pdf"
    first = output.save(b"one", tmp_path / "docs", "invoice-FA-1.pdf")
    second = output.save(b"two", tmp_path / "docs", "invoice-FA-1.pdf")
    assert (first.name, second.name) == ("invoice-FA-1.pdf", "invoice-FA-1-2.pdf")
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    with pytest.raises(ConfigError, match="exists"):
        output.save_to(b"three", first)
    assert first.read_bytes() == b"one"
    with pytest.raises(ConfigError) as inside_a_file:  # it said "x.pdf exists", which did not
        output.save_to(b"four", first / "x.pdf")
    assert str(inside_a_file.value) == f"cannot write {first / 'x.pdf'}: {first} is a file, " \
        "not a folder"
    config = make_config("sqlite:///x.db", documents={"output_dir": str(tmp_path / "out")})
    assert output.output_dir(config) == tmp_path / "out"
    assert output.output_dir(make_config("sqlite:///x.db")).name == "documents"


def _fake_lp(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lp = folder / "lp"
    lp.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    lp.chmod(lp.stat().st_mode | stat.S_IEXEC)
    return lp


def test_printing_through_lp_without_a_shell(tmp_path, monkeypatch):
    args_file = tmp_path / "args.txt"
    _fake_lp(tmp_path / "bin", f'printf "%s\\n" "$@" > "{args_file}"\n'
                               'echo "request id is $2-42 (1 file(s))"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    config = make_config("sqlite:///x.db", print={"printer": "Office",
                                                  "labels_printer": "Zebra"})
    pdf = output.save(b"%PDF-1.4", tmp_path, "slips; rm -rf ~ $(x).pdf")
    assert output.print_target(config, "invoices") == output.PrintTarget("Office", "A4",
                                                                         "portrait")
    labels = output.print_target(config, "labels")
    assert labels == output.PrintTarget("Zebra", "4x6", "portrait")
    assert output.send_to_printer(pdf, labels) == "Zebra-42"
    assert args_file.read_text().splitlines() == [
        "-d", "Zebra", "-o", "media=Custom.4x6in", "-o", "orientation-requested=3", "--",
        str(pdf)]
    assert output.cups_media("100x150mm") == "Custom.100x150mm"
    assert output.cups_media("w288h432") == "w288h432"
    assert output.print_target(make_config("sqlite:///x.db"), "slips") is None
    landscape = make_config("sqlite:///x.db", print={"slips_orientation": "landscape"})
    target = output.print_target(landscape, "slips", printer="Other")
    assert target is not None and "orientation-requested=4" in output.lp_command(target, pdf)


def test_a_refused_or_missing_printer_is_one_line_and_keeps_the_pdf(tmp_path, monkeypatch):
    pdf = output.save(b"%PDF-1.4", tmp_path, "invoice-FA-1.pdf")
    target = output.PrintTarget("Nowhere", "A4", "portrait")
    _fake_lp(tmp_path / "bin", 'echo "lp: The printer or class does not exist." >&2\n'
                               "exit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(PrintError) as refused:
        output.send_to_printer(pdf, target)
    assert "\n" not in str(refused.value)
    assert "Nowhere refused the job: lp: The printer or class does not exist." in str(
        refused.value) and str(pdf) in str(refused.value)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PrintError, match=r"`lp` \(CUPS\) is not installed; the PDF is kept"):
        output.send_to_printer(pdf, target)
    assert pdf.read_bytes() == b"%PDF-1.4"


# ----- the command line ----------------------------------------------------------------------

@pytest.fixture
def run(shop, admin, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(
        db_url, documents={"output_dir": str(tmp_path / "docs")})), encoding="utf-8")

    def invoke(*args: str, login: str = "ada", ok: bool = True):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": login}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_cli_prints_slips_invoices_and_sheets(shop, admin, run, tmp_path):
    a = place(shop, name="Søren Ærø")
    b = place(shop, name="Jiří Wichterlová")
    result = run("print", "slips", b.code, a.code.lower(), "--picklist")
    assert "2 slip(s), 3 page(s)" in result.output
    written = Path(re.search(r"wrote (.+\.pdf)", result.output).group(1))  # type: ignore[union-attr]
    assert written.parent == tmp_path / "docs" and "-2-orders-with-picklist" in written.name
    texts = page_texts(written.read_bytes())
    assert b.code in texts[0] and a.code in texts[1] and "Pick list" in texts[2]
    out = tmp_path / "all.pdf"
    result = run("print", "slips", "--filter", "Wichterlová", "--out", str(out))
    assert f"wrote {out}" in result.output and len(page_texts(out.read_bytes())) == 1
    assert "exists" in run("print", "slips", a.code, "--out", str(out), ok=False).output
    assert "has no invoice" in run("print", "invoice", a.code, ok=False).output
    status.change_status(shop, admin, [a.id], "paid")
    issued = document_reads.order_invoice(a.id)
    assert issued is not None
    run("print", "invoice", a.code)
    written = tmp_path / "docs" / f"invoice-{issued.code}.pdf"
    assert written.read_bytes() == invoice.render_invoice(shop.config, issued.doc)
    run("print", "invoice", issued.code.lower())  # by its number: a second file, same bytes
    again = tmp_path / "docs" / f"invoice-{issued.code}-2.pdf"
    assert again.read_bytes() == written.read_bytes()
    customer = customers.create_customer(shop, admin, email="s@example.dk", first_name="Søren",
                                         last_name="Ærø")
    result = run("print", "customer", "s@example.dk")
    assert f"customer-{customer.id}-" in result.output
    assert "no such order" in run("print", "slips", "BR-999999", ok=False).output
    assert "one of the two" in run("print", "slips", ok=False).output


def test_cli_sends_to_the_printer_and_keeps_the_pdf_when_refused(shop, admin, run, tmp_path,
                                                                  monkeypatch):
    ref = place(shop)
    _fake_lp(tmp_path / "bin", 'echo "request id is $2-7 (1 file(s))"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ.get('PATH', '')}")
    result = run("print", "slips", ref.code, "--printer", "Bench")
    assert "sent to Bench: job Bench-7" in result.output
    _fake_lp(tmp_path / "bin", 'echo "lp: Unable to connect to the printer" >&2\nexit 1\n')
    result = run("print", "slips", ref.code, "--printer", "Bench", ok=False)
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("backroom: Bench refused the job: lp: Unable to connect")
    kept = Path(line.rsplit("the PDF is kept at ", 1)[1])
    assert kept.exists() and kept.read_bytes().startswith(b"%PDF-")


def test_cli_print_needs_the_print_permission(shop, admin, run):
    operators.add(admin, "vic", "viewer")
    ref = place(shop)
    result = run("print", "slips", ref.code, login="vic", ok=False)
    assert "backroom:" in result.output and len(result.output.strip().splitlines()) == 1
    with pytest.raises(PermissionDenied):
        operators.require(operators.resolve("vic", ""), "print")


# ----- layering ------------------------------------------------------------------------------

def test_documents_sit_above_store():
    script = (
        "import importlib, pkgutil, sys\n"
        "import documents, store\n"
        "for pkg in (store, documents):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'tui', 'mailer', 'web',"
        " 'textual'})\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == ""
    store_only = ("import importlib, pkgutil, sys, store\n"
                  "for m in pkgutil.iter_modules(store.__path__):\n"
                  "    importlib.import_module(f'store.{m.name}')\n"
                  "print('documents' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", store_only], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "False"


def test_shipped_font_and_its_licence_are_package_data():
    fonts = ROOT / "documents" / "fonts"
    assert (fonts / "DejaVuSans.ttf").stat().st_size > 100_000
    assert (fonts / "DejaVuSans-Bold.ttf").stat().st_size > 100_000
    assert "Bitstream Vera" in (fonts / "LICENSE").read_text(encoding="utf-8")
