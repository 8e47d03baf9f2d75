"""Packing slips: one page per order (more when its items or note need them, each with the
code repeated), many orders as one PDF in the order given, an optional pick list after them,
and optionally each order's carrier label merged after its slip.

One `Document` serves the whole batch, so the font is added and subset once. Orders are read
from the store in chunks and drawn as they come, so 10,000 slips never hold 10,000 orders'
rows at once. Labels are merged with pypdf's `PdfWriter.append`, which copies their pages
as they are (each keeps its own size) and shares the slips' font across every slip page."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from documents.pdf import MARGIN, Document, missing_sentence, money, one_line
from store import carriers, document_reads
from store.config import Config
from store.document_reads import SlipOrder
from store.errors import BackroomError, ValidationError

READ_CHUNK = 500
PICK_LIST = "Pick list"
_DIGITS = re.compile(r"(\d+)")
LINE = 4.8  # item and note line height, mm
BOX = 3.4  # tick box side, mm


class Cancelled(BackroomError):
    """The operator stopped a bulk print before it finished; nothing was written."""


@dataclass(frozen=True)
class PickRow:
    """One SKU of a batch: what to take from the shelf, how many, and for which orders (a
    code with ×N when that order takes more than one)."""

    sku: str
    name: str
    quantity: int
    orders: tuple[tuple[str, int], ...]

    def order_text(self) -> str:
        return ", ".join(code if qty == 1 else f"{code} ×{qty}" for code, qty in self.orders)


@dataclass
class _PickTally:
    name: str
    quantity: int = 0
    orders: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SlipsPdf:
    """A rendered batch: the PDF, its page count, and how many slips it holds."""

    data: bytes | bytearray
    pages: int
    orders: int
    # order code (or PICK_LIST) -> the characters left out of it: no font has them
    missing: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def warning(self) -> str:
        """One line for the operator when characters were left out; empty when none."""
        if not self.missing:
            return ""
        orders = sum(1 for label in self.missing if label != PICK_LIST)
        what = f"{orders} slip(s) printed" if orders else "the pick list printed"
        return missing_sentence(self.missing, what)


def pick_list(orders: Iterable[SlipOrder]) -> list[PickRow]:
    """Every SKU of the orders with its total quantity and the orders it goes to, by SKU
    (`sku_key`)."""
    tally: dict[str, _PickTally] = {}
    for order in orders:
        _count(tally, order)
    return _rows(tally)


def _count(tally: dict[str, _PickTally], order: SlipOrder) -> None:
    for item in order.items:
        entry = tally.get(item.sku)
        if entry is None:
            entry = tally[item.sku] = _PickTally(item.name)
        entry.quantity += item.quantity
        entry.orders[order.code] = entry.orders.get(order.code, 0) + item.quantity


def sku_key(sku: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a SKU, its numbers compared as numbers (SKU-9 before SKU-10), as shelves
    are laid out."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in _DIGITS.split(sku) if part)


def _rows(tally: dict[str, _PickTally]) -> list[PickRow]:
    return [PickRow(sku, tally[sku].name, tally[sku].quantity, tuple(tally[sku].orders.items()))
            for sku in sorted(tally, key=lambda s: (sku_key(s), s))]


class SlipWriter:
    """Draws slips into one Document; `slip()` per order, then `pick_list()` and `output()`."""

    def __init__(self, config: Config, *, prices: bool | None = None,
                 created: dt.datetime | None = None, title: str = "Packing slips") -> None:
        self.pdf = Document(config, title=title, created=created)
        self.shop_name = one_line(str(config.get("shop", "name")))
        self.shop_address = [line for line in str(config.get("documents", "shop_address"))
                             .splitlines() if line.strip()]
        self.prices = bool(config.get("documents", "slip_prices")) if prices is None else prices
        self.carriers = config.carriers
        self.tally: dict[str, _PickTally] = {}
        self.ranges: list[tuple[int, int, int]] = []  # (order id, first page, last page)
        self.count = 0
        self.in_items = False  # a page break inside the item table repeats its header

    # ----- one slip ----------------------------------------------------------------------------

    def slip(self, order: SlipOrder) -> None:
        """The slip of one order, from a new page; its pages are remembered for labels."""
        pdf = self.pdf
        first = pdf.page_no() + 1
        pdf.new_section(order.code, lambda: self._continued(order))
        right = pdf.w - MARGIN
        pdf.code128(right, MARGIN, order.code, right=True)
        pdf.font("B", 12)
        pdf.set_xy(right - 80, MARGIN + 14.5)
        pdf.cell(80, 6, order.code, align="R")
        pdf.set_xy(MARGIN, MARGIN)
        pdf.text_lines(MARGIN, 100, 7, self.shop_name, style="B", size=14)
        for line in self.shop_address:
            pdf.text_lines(MARGIN, 100, 4.2, line, size=9)
        pdf.y = max(pdf.y, MARGIN + 21) + 4
        pdf.font("B", 16)
        pdf.set_x(MARGIN)
        pdf.cell(90, 8, "Packing slip")
        pdf.font("", 10)
        pdf.set_x(right - 96)
        pdf.cell(96, 8, f"Order {order.code} · placed {order.placed_at:%Y-%m-%d}", align="R")
        pdf.y += 10
        pdf.rule()
        pdf.y += 3
        self._parties(order)
        pdf.y += 3
        pdf.rule()
        pdf.y += 2
        self._items(order)
        self._notes(order)
        if self.prices:
            self._totals(order)
        _count(self.tally, order)
        self.ranges.append((order.id, first, pdf.page_no()))
        self.count += 1

    def _continued(self, order: SlipOrder) -> None:
        """The header of a slip's later pages: its code as text and barcode again."""
        pdf = self.pdf
        pdf.code128(pdf.w - MARGIN, MARGIN, order.code, right=True, height=10)
        pdf.set_xy(MARGIN, MARGIN)
        pdf.font("B", 12)
        pdf.cell(100, 6, f"{order.code} (continued)")
        pdf.set_xy(MARGIN, MARGIN + 6)
        pdf.font("", 9)
        pdf.cell(100, 4.6, pdf.lines(order.customer_name, 100)[0])  # its first line only
        pdf.y = MARGIN + 14
        pdf.rule()
        pdf.y += 2
        if self.in_items:
            self._item_header(self._columns())

    def _parties(self, order: SlipOrder) -> None:
        pdf = self.pdf
        top, page = pdf.y, pdf.page_no()
        left_x, right_x = MARGIN, MARGIN + 110
        pdf.set_xy(right_x, top)
        pdf.label_value(right_x, 76, "Shipping", " · ".join(
            p for p in (order.shipping_method, carriers.label(self.carriers, order.carrier))
            if p) or "-")
        pdf.label_value(right_x, 76, "Tracking", order.tracking_number)
        pdf.label_value(right_x, 76, "Customer", "\n".join(
            p for p in (order.customer_name, order.customer_email, order.customer_phone) if p))
        right_bottom, right_page = pdf.y, pdf.page_no()
        if right_page == page:
            pdf.y = top  # the address goes beside; after a very long value, below it
        pdf.text_lines(left_x, 104, 5, "Ship to", style="B", size=10)
        if order.ship_to is None:
            pdf.text_lines(left_x, 104, 5, "(no shipping address)", size=10)
        else:
            lines = order.ship_to.lines()
            pdf.text_lines(left_x, 104, 5.4, lines[0] if lines else "", style="B", size=11)
            for line in lines[1:]:
                pdf.text_lines(left_x, 104, 5, line, size=10)
            if order.ship_to.phone:
                pdf.text_lines(left_x, 104, 5, order.ship_to.phone, size=10)
        if pdf.page_no() == right_page:
            pdf.y = max(pdf.y, right_bottom)

    def _columns(self) -> list[tuple[str, float, str]]:
        """(title, width, align) of the item table: tick box, SKU, item, quantity, prices."""
        fixed = [("", 7.0, "L"), ("SKU", 36.0, "L")]
        tail = [("Qty", 14.0, "R")]
        if self.prices:
            tail += [("Price", 26.0, "R"), ("Total", 26.0, "R")]
        name_w = self.pdf.width - sum(w for _, w, _ in fixed + tail)
        return [*fixed, ("Item", name_w, "L"), *tail]

    def _item_header(self, columns: list[tuple[str, float, str]]) -> None:
        pdf = self.pdf
        pdf.font("B", 9)
        x = MARGIN
        for title, width, align in columns:
            if title:
                pdf.set_xy(x, pdf.y)
                pdf.cell(width - 1, 5, title, align=align)
            x += width
        pdf.y += 5.5

    def _items(self, order: SlipOrder) -> None:
        pdf = self.pdf
        columns = self._columns()
        pdf.room(6 + LINE)
        self._item_header(columns)
        widths = [w - 1.5 for _, w, _ in columns]
        self.in_items = True
        for item in order.items:
            pdf.font("", 10)
            cells = [[""], pdf.lines(item.sku, widths[1]), pdf.lines(item.name, widths[2]),
                     [str(item.quantity)]]
            if self.prices:
                cells += [[money(item.unit_price, order.currency)],
                          [money(item.unit_price * item.quantity, order.currency)]]
            height = max(len(c) for c in cells) * LINE + 1.2
            if height <= pdf.bottom - MARGIN - 20:
                pdf.room(height)
            else:
                pdf.room(LINE + 1.2)  # taller than a page: it runs on line by line
            self._row(columns, cells)
        self.in_items = False

    def _row(self, columns: list[tuple[str, float, str]], cells: list[list[str]]) -> None:
        pdf = self.pdf
        top = pdf.y
        pdf.set_line_width(0.3)
        pdf.rect(MARGIN + 0.5, top + 0.7, BOX, BOX)
        rows = max(len(c) for c in cells)
        for n in range(rows):
            if n and pdf.y + LINE > pdf.bottom:
                pdf.add_page()
            x = MARGIN
            for (_, width, align), lines in zip(columns, cells, strict=True):
                if n < len(lines) and lines[n]:
                    pdf.set_xy(x, pdf.y)
                    pdf.cell(width - 1.5, LINE, lines[n], align=align)
                x += width
            pdf.y += LINE
        pdf.y += 1.2

    def _notes(self, order: SlipOrder) -> None:
        pdf = self.pdf
        for title, text in (("Note from the customer", order.customer_note),
                            ("Gift message", order.gift_message)):
            if not text.strip():
                continue
            pdf.y += 3
            pdf.room(5 + LINE)
            pdf.text_lines(MARGIN, pdf.width, 5, title, style="B", size=10)
            pdf.text_lines(MARGIN, pdf.width, LINE, text, size=10)

    def _totals(self, order: SlipOrder) -> None:
        pdf = self.pdf
        rows = [("Subtotal", order.subtotal), ("Tax", order.tax),
                ("Shipping", order.shipping_cost)]
        if order.discount:
            rows.append(("Discount", -order.discount))
        rows.append(("Total", order.total))
        pdf.y += 3
        pdf.room(LINE * len(rows))
        for label, amount in rows:
            pdf.font("B" if label == "Total" else "", 10)
            pdf.set_xy(pdf.w - MARGIN - 90, pdf.y)
            pdf.cell(50, LINE, label, align="R")
            pdf.cell(40, LINE, money(amount, order.currency), align="R")
            pdf.y += LINE

    # ----- the pick list ---------------------------------------------------------------------

    def pick_list(self) -> None:
        """Every SKU of the slips drawn so far, by SKU, after them on pages of its own."""
        pdf = self.pdf
        rows = _rows(self.tally)
        columns = [("SKU", 36.0, "L"), ("Item", 52.0, "L"), ("Qty", 14.0, "R"),
                   ("Orders", pdf.width - 102.0, "L")]
        pdf.new_section(PICK_LIST, lambda: self._pick_continued(columns))
        pdf.set_xy(MARGIN, MARGIN)
        pdf.font("B", 16)
        pdf.cell(90, 8, "Pick list")
        total = sum(r.quantity for r in rows)
        pdf.font("", 10)
        pdf.set_x(pdf.w - MARGIN - 110)
        pdf.cell(110, 8, f"{self.count} orders · {len(rows)} SKUs · {total} items",
                 align="R")
        pdf.y += 10
        pdf.rule()
        pdf.y += 2
        self._item_header(columns)
        widths = [w - 1.5 for _, w, _ in columns]
        for row in rows:
            pdf.font("", 10)
            cells = [pdf.lines(row.sku, widths[0]), pdf.lines(row.name, widths[1]),
                     [str(row.quantity)], pdf.lines(row.order_text(), widths[3])]
            height = max(len(c) for c in cells) * LINE + 1.2
            pdf.room(height if height <= pdf.bottom - MARGIN - 20 else LINE + 1.2)
            self._pick_row(columns, cells)

    def _pick_continued(self, columns: list[tuple[str, float, str]]) -> None:
        pdf = self.pdf
        pdf.set_xy(MARGIN, MARGIN)
        pdf.font("B", 12)
        pdf.cell(100, 6, "Pick list (continued)")
        pdf.y = MARGIN + 8
        self._item_header(columns)

    def _pick_row(self, columns: list[tuple[str, float, str]], cells: list[list[str]]) -> None:
        pdf = self.pdf
        pdf.font("", 10)
        for n in range(max(len(c) for c in cells)):
            if n and pdf.y + LINE > pdf.bottom:
                pdf.add_page()
            x = MARGIN
            for (_, width, align), lines in zip(columns, cells, strict=True):
                if n < len(lines) and lines[n]:
                    pdf.set_xy(x, pdf.y)
                    pdf.cell(width - 1.5, LINE, lines[n], align=align)
                x += width
            pdf.y += LINE
        pdf.set_draw_color(190, 190, 190)
        pdf.set_line_width(0.1)
        pdf.line(MARGIN, pdf.y + 0.6, pdf.w - MARGIN, pdf.y + 0.6)
        pdf.set_draw_color(0, 0, 0)
        pdf.y += 1.2

    def output(self) -> bytearray:
        """fpdf2's own buffer, not a copy: at 10,000 slips a copy is 13 MB more at the peak."""
        return self.pdf.output()


LabelSource = bytes | str | Path


def render_slips(config: Config, orders: Iterable[SlipOrder], *, picklist: bool = False,
                 labels: Mapping[int, LabelSource] | None = None, prices: bool | None = None,
                 created: dt.datetime | None = None, total: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> SlipsPdf:
    """One PDF of the slips of `orders`, in their order, then the pick list if asked; with
    `labels` (order id -> label PDF as bytes or a path) each order's label pages follow its
    slip. `progress(done, total)` is called after each slip; `cancelled()` returning True
    stops the batch with Cancelled."""
    writer = SlipWriter(config, prices=prices, created=created)
    for order in orders:
        if cancelled is not None and cancelled():
            raise Cancelled(f"printing stopped after {writer.count} slip(s); nothing written")
        writer.slip(order)
        if progress is not None:
            progress(writer.count, total or writer.count)
    if writer.count == 0:
        raise ValidationError("no orders to print")
    pick_from = writer.pdf.page_no() + 1
    if picklist:
        writer.pick_list()
    pages = writer.pdf.page_no()
    data: bytes | bytearray = writer.output()
    if labels:
        data, pages = merge_labels(data, writer.ranges, labels, pick_from)
    return SlipsPdf(data, pages, writer.count, writer.pdf.missing_chars())


def slips_pdf(config: Config, order_ids: Sequence[int], **options: object) -> SlipsPdf:
    """The slips of these orders (ids, in print order), read from the store in chunks as they
    are drawn. Options as `render_slips`."""

    def chunks() -> Iterable[SlipOrder]:
        for start in range(0, len(order_ids), READ_CHUNK):
            yield from document_reads.slip_rows(order_ids[start:start + READ_CHUNK])

    return render_slips(config, chunks(), total=len(order_ids), **options)  # type: ignore[arg-type]


def merge_labels(slips: bytes | bytearray, ranges: Sequence[tuple[int, int, int]],
                 labels: Mapping[int, LabelSource], pick_from: int) -> tuple[bytes, int]:
    """The slips with each order's label pages after its slip pages (pages are 1-based and
    inclusive in `ranges`), then the pages from `pick_from` on (the pick list)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(slips))
    writer = PdfWriter()
    for order_id, first, last in ranges:
        writer.append(reader, pages=(first - 1, last), import_outline=False)
        label = labels.get(order_id)
        if label is not None:
            source = io.BytesIO(label) if isinstance(label, bytes) else Path(label)
            try:
                writer.append(source, import_outline=False)
            except Exception as exc:  # pypdf raises several kinds on a broken file
                raise ValidationError(
                    f"the label of order id {order_id} is not a readable PDF: {exc}") from None
    if pick_from <= len(reader.pages):
        writer.append(reader, pages=(pick_from - 1, len(reader.pages)), import_outline=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)
