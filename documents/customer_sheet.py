"""A customer's sheet, for the file or the phone call: profile, group, addresses, and every
order with its total, paid and refunded, then the sums per currency over real orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from documents.pdf import MARGIN, Document, missing_sentence, money, one_line
from store.config import Config
from store.document_reads import CustomerSheet

LINE = 4.8
COLUMNS = [("Order", 30.0, "L"), ("Placed", 24.0, "L"), ("Status", 36.0, "L"),
           ("Items", 14.0, "R"), ("Total", 28.0, "R"), ("Paid", 28.0, "R"),
           ("Refunded", 26.0, "R")]


def render_customer_sheet(config: Config, sheet: CustomerSheet, *,
                          status_label: Callable[[str], str] | None = None,
                          created: dt.datetime | None = None,
                          warn: Callable[[str], None] | None = None) -> bytes:
    """The PDF of one customer's sheet; statuses by `status_label` (the workflow's labels).
    It prints when a character of it is in no font, and `warn` is told which."""
    label_of = status_label or (lambda key: key)
    name = one_line(sheet.name) or f"Customer {sheet.id}"
    pdf = Document(config, title=f"Customer {sheet.id}: {name}", created=created)
    section = f"Customer {sheet.id}"
    in_orders: list[bool] = []  # set once the order table starts: its header then repeats
    pdf.new_section(section, lambda: _continued(pdf, section, name, bool(in_orders)))
    pdf.set_xy(MARGIN, MARGIN)
    pdf.text_lines(MARGIN, pdf.width, 9, sheet.name or name, style="B", size=18)
    pdf.text_lines(MARGIN, pdf.width, 5, f"Customer {sheet.id} · {sheet.status}", size=10)
    pdf.y += 3
    pdf.rule()
    pdf.y += 3
    _facts(pdf, sheet)
    if sheet.addresses:
        _addresses(pdf, sheet)
    pdf.y += 4
    pdf.room(6 + LINE * 3)
    pdf.text_lines(MARGIN, pdf.width, 6, f"Orders ({len(sheet.orders)})", style="B", size=12)
    _header(pdf)
    in_orders.append(True)
    for order in sheet.orders:
        _row(pdf, [order.code + (" (test)" if order.is_test else ""),
                   f"{order.placed_at:%Y-%m-%d}", label_of(order.status), str(order.item_count),
                   money(order.total, order.currency), money(order.amount_paid, order.currency),
                   money(order.amount_refunded, order.currency)])
    if sheet.totals:
        _totals(pdf, sheet)
    missing = pdf.missing_chars()
    if missing and warn is not None:
        warn(missing_sentence(missing, "the customer sheet printed"))
    return bytes(pdf.output())


def _facts(pdf: Document, sheet: CustomerSheet) -> None:
    """The profile: one labelled line a fact."""
    group = sheet.group_name
    if group and sheet.group_discount_bp:
        group += f" ({sheet.group_discount_bp / 100:g}% discount)"
    facts = [("Email", sheet.email), ("Phone", sheet.phone), ("Language", sheet.language),
             ("Registered", f"{sheet.registered_at:%Y-%m-%d}"), ("Group", group or "-"),
             ("Newsletter", "yes" if sheet.marketing_consent else "no")]
    for key, value in facts:
        pdf.room(LINE)
        pdf.font("B", 10)
        pdf.set_xy(MARGIN, pdf.y)
        pdf.cell(32, LINE, key)
        pdf.text_lines(MARGIN + 32, pdf.width - 32, LINE, value or "-", size=10)


def _addresses(pdf: Document, sheet: CustomerSheet) -> None:
    """Each address on one line, under its kind."""
    pdf.y += 4
    pdf.room(5 + LINE * 3)
    pdf.text_lines(MARGIN, pdf.width, 6, "Addresses", style="B", size=12)
    for entry in sheet.addresses:
        pdf.room(LINE * 3)
        pdf.text_lines(MARGIN, pdf.width, LINE, entry.kind.capitalize(), style="B",
                       size=10)
        lines = entry.address.lines() + ([entry.address.phone] if entry.address.phone
                                         else [])
        pdf.text_lines(MARGIN, pdf.width, LINE, ", ".join(lines) or "-", size=10)
        pdf.y += 1


def _row(pdf: Document, cells: list[str]) -> None:
    """One order of the table, each cell wrapped in its column; a page break may fall
    between its lines only when it is taller than ten."""
    pdf.font("", 9)
    wrapped = [pdf.lines(text, width - 1.5) for text, (_, width, _) in
               zip(cells, COLUMNS, strict=True)]
    pdf.room(min(max(len(w) for w in wrapped), 10) * LINE)
    pdf.wrapped_row(COLUMNS, wrapped, LINE)


def _totals(pdf: Document, sheet: CustomerSheet) -> None:
    """The sums per currency, under a rule, kept on one page."""
    pdf.y += 3
    pdf.room(LINE * (len(sheet.totals) + 1) + 3)
    pdf.rule()
    pdf.y += 1.5
    for total in sheet.totals:
        pdf.font("B", 10)
        pdf.set_xy(MARGIN, pdf.y)
        pdf.cell(pdf.width, LINE,
                 f"{total.orders} order(s) in {total.currency}: "
                 f"total {money(total.total, total.currency)}, "
                 f"paid {money(total.paid, total.currency)}, "
                 f"refunded {money(total.refunded, total.currency)}")
        pdf.y += LINE


def _header(pdf: Document) -> None:
    pdf.room(6 + LINE)
    pdf.font("B", 9)
    x = MARGIN
    for title, width, align in COLUMNS:
        pdf.set_xy(x, pdf.y)
        pdf.cell(width - 1.5, 5, title, align=align)
        x += width
    pdf.y += 5.5


def _continued(pdf: Document, section: str, name: str, in_orders: bool) -> None:
    pdf.set_xy(MARGIN, MARGIN)
    pdf.text_lines(MARGIN, pdf.width, 6, f"{section}: {name} (continued)", style="B", size=12)
    pdf.y += 2
    if in_orders:
        _header(pdf)
