"""Invoices and credit notes from an `InvoiceDoc`: seller and buyer, lines with their tax
rate, tax per rate, totals. The same document always renders to the same bytes: the PDF's
creation date is the issue date and nothing else in it depends on the clock, so an invoice
can be rebuilt from stored data at any time and compared with the one sent."""

from __future__ import annotations

import datetime as dt

from documents.pdf import (
    MARGIN,
    Document,
    MissingCharacters,
    money,
    one_line,
    shown_characters,
    tax_rate,
)
from store.config import Config
from store.document_reads import InvoiceDoc, InvoiceLine, Party

LINE = 4.8


def _title(doc: InvoiceDoc) -> str:
    return "Credit note" if doc.is_credit_note else "Invoice"


def render_invoice(config: Config, doc: InvoiceDoc) -> bytes:
    """The PDF of an invoice or credit note; byte-identical for the same document. Refused
    (MissingCharacters) when a character of it is in no font: a legal document is never
    printed with part of a name or an item left out."""
    created = doc.issued_at if doc.issued_at.tzinfo else doc.issued_at.replace(tzinfo=dt.UTC)
    pdf = Document(config, title=f"{_title(doc)} {one_line(doc.number)}", created=created)
    pdf.set_author(one_line(doc.seller.name))
    columns = [("Item", pdf.width - 104.0, "L"), ("Qty", 14.0, "R"),
               ("Unit price", 28.0, "R"), ("Tax", 18.0, "R"), ("Net", 44.0, "R")]
    label = f"{_title(doc)} {one_line(doc.number)}"
    pdf.new_section(label, lambda: _continued(pdf, label, columns))
    _head(pdf, doc)
    _parties(pdf, doc)
    pdf.y += 4
    _table_header(pdf, columns)
    for line in doc.lines:
        _line(pdf, doc, columns, line)
    _totals(pdf, doc)
    missing = list(dict.fromkeys(c for chars in pdf.missing_chars().values() for c in chars))
    if missing:
        raise MissingCharacters(
            f"{_title(doc).lower()} {one_line(doc.number)} of order {one_line(doc.order_code)} "
            "is not printed, written or attached: its font lacks "
            f"{shown_characters(missing)}, which would be left out of it. Set "
            "documents.fallback_fonts to a font that has them (e.g. Noto Sans CJK for Chinese, "
            "Japanese, Korean) and print it again: as issued it keeps the full text")
    return bytes(pdf.output())


def _head(pdf: Document, doc: InvoiceDoc) -> None:
    pdf.set_xy(MARGIN, MARGIN)
    pdf.font("B", 18)
    pdf.cell(90, 9, _title(doc))
    pdf.y += 10
    facts = [("Number", doc.number), ("Date", f"{doc.issued_at:%Y-%m-%d}"),
             ("Order", f"{doc.order_code} of {doc.order_placed_at:%Y-%m-%d}")]
    if doc.is_credit_note:
        corrects = doc.corrects
        if doc.corrects_issued_at is not None:
            corrects += f" of {doc.corrects_issued_at:%Y-%m-%d}"
        facts.append(("Corrects invoice", corrects))
        if doc.reason:
            facts.append(("Reason", doc.reason))
    for name, value in facts:
        pdf.font("B", 10)
        pdf.set_xy(MARGIN, pdf.y)
        pdf.cell(38, 5, name)
        pdf.text_lines(MARGIN + 38, pdf.width - 38, 5, value, size=10)
    pdf.y += 4


def _party(pdf: Document, x: float, width: float, title: str, party: Party) -> None:
    pdf.text_lines(x, width, 5, title, style="B", size=9)
    pdf.text_lines(x, width, 5.2, party.name, style="B", size=10)
    for line in party.address:
        pdf.text_lines(x, width, 4.6, line, size=9)
    if party.tax_id:
        pdf.text_lines(x, width, 4.6, f"Tax id: {party.tax_id}", size=9)
    for contact in (party.email, party.phone):
        if contact:
            pdf.text_lines(x, width, 4.6, contact, size=9)


def _parties(pdf: Document, doc: InvoiceDoc) -> None:
    top, page = pdf.y, pdf.page_no()
    half = pdf.width / 2
    _party(pdf, MARGIN, half - 6, "Seller", doc.seller)
    seller_bottom, seller_page = pdf.y, pdf.page_no()
    if seller_page == page:
        pdf.y = top
    _party(pdf, MARGIN + half, half - 6, "Buyer", doc.buyer)
    if pdf.page_no() == seller_page:
        pdf.y = max(pdf.y, seller_bottom)


def _table_header(pdf: Document, columns: list[tuple[str, float, str]]) -> None:
    pdf.room(6 + LINE)
    pdf.font("B", 9)
    x = MARGIN
    for title, width, align in columns:
        pdf.set_xy(x, pdf.y)
        pdf.cell(width - 1.5, 5, title, align=align)
        x += width
    pdf.y += 5.5
    pdf.rule()
    pdf.y += 1


def _continued(pdf: Document, label: str, columns: list[tuple[str, float, str]]) -> None:
    pdf.set_xy(MARGIN, MARGIN)
    pdf.font("B", 12)
    pdf.cell(120, 6, f"{label} (continued)")
    pdf.y = MARGIN + 9
    _table_header(pdf, columns)


def _line(pdf: Document, doc: InvoiceDoc, columns: list[tuple[str, float, str]],
          line: InvoiceLine) -> None:
    pdf.font("", 10)
    text = f"{line.sku} · {line.description}" if line.sku else line.description
    cells = [pdf.lines(text, columns[0][1] - 1.5), [str(line.quantity)],
             [money(line.unit_price, doc.currency)], [tax_rate(line.tax_rate_bp)],
             [money(line.net, doc.currency)]]
    pdf.room(min(max(len(c) for c in cells) * LINE, LINE * 20) + 1)
    pdf.wrapped_row(columns, cells, LINE)
    pdf.y += 1


def _totals(pdf: Document, doc: InvoiceDoc) -> None:
    cur = doc.currency
    rows: list[tuple[str, int, bool]] = [("Net amount", doc.net_total, False)]
    for band in doc.taxes:
        rows.append((f"Tax {tax_rate(band.rate_bp)} on {money(band.net, cur)}", band.tax,
                     False))
    if doc.shipping:
        rows.append(("Shipping", doc.shipping, False))
    if doc.discount:
        rows.append(("Discount", -doc.discount, False))
    rows.append(("Total credited" if doc.is_credit_note else "Total", doc.total, True))
    pdf.y += 2
    pdf.room(len(rows) * 5.4 + 14)
    pdf.rule()
    pdf.y += 1.5
    for name, amount, strong in rows:
        pdf.font("B" if strong else "", 11 if strong else 10)
        pdf.set_xy(pdf.w - MARGIN - 130, pdf.y)
        pdf.cell(86, 5.4, name, align="R")
        pdf.cell(44 - 1.5, 5.4, money(amount, cur), align="R")
        pdf.y += 5.4
    pdf.y += 4
    pdf.font("", 9)
    if not doc.is_credit_note and doc.payment_method:
        paid = f"Paid {money(doc.amount_paid, cur)} by {doc.payment_method}." if (
            doc.amount_paid) else f"Payment method: {doc.payment_method}."
        pdf.text_lines(MARGIN, pdf.width, 4.6, paid, size=9)
    if doc.seller.tax_id:
        pdf.text_lines(MARGIN, pdf.width, 4.6,
                       f"{doc.seller.name} · tax id {doc.seller.tax_id}", size=9)
