"""What documents print, read as frozen rows: packing slips, invoices and customer sheets.

Reads only. A batch of slips is read set-based (the orders with their ship-to address in one
query, their items in another, whatever the batch size), in the order the caller gave, so a
1,000-order print costs two queries, not two thousand: written-out SQL (see store.sql), since
peewee would build a model per row of a batch that only needs plain values."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from store import sql
from store.config import Config
from store.errors import NotFound, ValidationError
from store.models import Address, Customer, CustomerGroup, Invoice, Order, OrderLabel, db

# ----- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostalAddress:
    """An address as printed: name, company, street lines, postcode and city, region,
    country code, phone."""

    name: str
    company: str = ""
    line1: str = ""
    line2: str = ""
    postcode: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    phone: str = ""

    def lines(self) -> list[str]:
        """The non-empty lines of the address, top to bottom, as a label shows them."""
        return [p for p in (self.name, *self.street_lines()) if p]

    def street_lines(self) -> list[str]:
        """The lines below the name: company, street, postcode and city, region, country."""
        town = " ".join(p for p in (self.postcode, self.city) if p)
        parts = (self.company, self.line1, self.line2, town, self.region, self.country)
        return [p for p in parts if p]


@dataclass(frozen=True)
class SlipItem:
    sku: str
    name: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class SlipOrder:
    """One order as its packing slip shows it."""

    id: int
    code: str
    placed_at: dt.datetime
    ship_to: PostalAddress | None
    shipping_method: str
    carrier: str
    tracking_number: str
    customer_name: str
    customer_email: str
    customer_phone: str
    customer_note: str
    currency: str
    subtotal: int
    tax: int
    shipping_cost: int
    discount: int
    total: int
    items: tuple[SlipItem, ...]
    gift_message: str = ""


@dataclass(frozen=True)
class Party:
    """Seller or buyer on an invoice: who, where, and how to reach them."""

    name: str
    address: tuple[str, ...] = ()
    tax_id: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class InvoiceLine:
    """One line: net amounts in minor units; tax is rounded per line as the order was."""

    sku: str
    description: str
    quantity: int
    unit_price: int
    tax_rate_bp: int
    net: int
    tax: int

    @property
    def gross(self) -> int:
        return self.net + self.tax


@dataclass(frozen=True)
class TaxBand:
    rate_bp: int
    net: int
    tax: int


@dataclass(frozen=True)
class InvoiceDoc:
    """Everything an invoice or credit note prints; built only from stored data, so the same
    rows always give the same document. A credit note's amounts are negative and it names
    the invoice it corrects (`corrects`, `corrects_issued_at`)."""

    kind: str  # "invoice" or "credit_note"
    number: str
    issued_at: dt.datetime
    order_code: str
    order_placed_at: dt.datetime
    seller: Party
    buyer: Party
    ship_to: PostalAddress | None
    currency: str
    lines: tuple[InvoiceLine, ...]
    shipping: int
    discount: int
    net_total: int
    tax_total: int
    total: int
    taxes: tuple[TaxBand, ...]
    payment_method: str
    amount_paid: int
    corrects: str = ""
    corrects_issued_at: dt.datetime | None = None
    reason: str = ""

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"


@dataclass(frozen=True)
class SheetAddress:
    kind: str
    address: PostalAddress


@dataclass(frozen=True)
class SheetOrder:
    code: str
    placed_at: dt.datetime
    status: str
    item_count: int
    currency: str
    total: int
    amount_paid: int
    amount_refunded: int
    is_test: bool


@dataclass(frozen=True)
class CurrencyTotal:
    """Sums over a customer's real (not test) orders in one currency."""

    currency: str
    orders: int
    total: int
    paid: int
    refunded: int


@dataclass(frozen=True)
class CustomerSheet:
    """A customer's printed sheet: profile, addresses, group, and every order with totals."""

    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    language: str
    status: str
    registered_at: dt.datetime
    group_name: str
    group_discount_bp: int
    marketing_consent: bool
    addresses: tuple[SheetAddress, ...]
    orders: tuple[SheetOrder, ...]
    totals: tuple[CurrencyTotal, ...]

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


# ----- helpers -------------------------------------------------------------------------------

_ADDRESS_COLUMNS = ("first_name", "last_name", "company", "line1", "line2", "postcode", "city",
                    "region", "country", "phone")
SLIP_CHUNK = 2000


def _time(value: Any) -> dt.datetime:
    """A timestamp as either driver returns it (SQLite: text, PostgreSQL: datetime)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _postal(values: Sequence[Any]) -> PostalAddress:
    first, last, company, line1, line2, postcode, city, region, country, phone = (
        v or "" for v in values)
    return PostalAddress(f"{first} {last}".strip(), company, line1, line2, postcode, city,
                         region, country, phone)


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# ----- packing slips -------------------------------------------------------------------------

_SLIP_ORDERS = (
    "SELECT o.id, o.code, o.placed_at, o.shipping_method, o.carrier, o.tracking_number, "
    "o.customer_name, o.customer_email, o.customer_phone, o.customer_note, o.currency, "
    "o.subtotal, o.tax, o.shipping_cost, o.discount, o.total, o.gift_message, "
    + ", ".join(f"a.{c}" for c in _ADDRESS_COLUMNS) + ", a.id "
    "FROM {source} JOIN orders o ON o.id = pick.value "
    "LEFT JOIN address a ON a.id = (SELECT MIN(s.id) FROM address s "
    "WHERE s.order_id = o.id AND s.kind = 'shipping') "
    "ORDER BY pick.key"
)
_SLIP_ITEMS = (
    "SELECT i.order_id, i.sku, i.name, i.quantity, i.unit_price FROM order_item i "
    "WHERE i.order_id IN (SELECT pick.value FROM {source}) ORDER BY i.order_id, i.id"
)


def slip_rows(order_ids: Sequence[int]) -> list[SlipOrder]:
    """The slips of these orders, in the order given (an id given twice prints twice).

    Raises NotFound naming the first id that is not an order (deleted since it was listed),
    so a batch never silently prints fewer slips than asked."""
    result: list[SlipOrder] = []
    for part in _chunks(list(order_ids), SLIP_CHUNK):
        result.extend(_slip_chunk(part))
    return result


def _slip_chunk(order_ids: Sequence[int]) -> list[SlipOrder]:
    if not order_ids:
        return []
    source = sql.id_source("ids")
    params = {"ids": sql.id_value(order_ids)}
    rows = db.execute_sql(_SLIP_ORDERS.format(source=source), params).fetchall()
    if len(rows) != len(order_ids):
        found = {int(r[0]) for r in rows}
        missing = next(i for i in order_ids if int(i) not in found)
        raise NotFound(f"no such order (id {missing}); it may have been deleted")
    items: dict[int, list[SlipItem]] = {}
    for order_id, sku, name, quantity, unit_price in db.execute_sql(
            _SLIP_ITEMS.format(source=source), params).fetchall():
        items.setdefault(order_id, []).append(SlipItem(sku, name, quantity, unit_price))
    slips = []
    for r in rows:
        ship_to = _postal(r[17:27]) if r[27] is not None else None
        slips.append(SlipOrder(
            id=r[0], code=r[1], placed_at=_time(r[2]), ship_to=ship_to, shipping_method=r[3],
            carrier=r[4], tracking_number=r[5], customer_name=r[6], customer_email=r[7],
            customer_phone=r[8], customer_note=r[9], currency=r[10], subtotal=r[11], tax=r[12],
            shipping_cost=r[13], discount=r[14], total=r[15],
            items=tuple(items.get(r[0], ())), gift_message=r[16] or "",
        ))
    return slips


def labels(order_ids: Sequence[int]) -> dict[int, bytes]:
    """The carrier label PDF of each of these orders that has one (bulk print's --labels)."""
    found: dict[int, bytes] = {}
    for part in _chunks(list(order_ids), SLIP_CHUNK):
        rows: Any = (OrderLabel.select(OrderLabel.order, OrderLabel.data)
                     .where(OrderLabel.order.in_(list(part))).tuples())
        for order_id, data in rows:
            found[int(order_id)] = bytes(data)
    return found


# ----- invoices ------------------------------------------------------------------------------

def seller_from_config(config: Config) -> Party:
    """The shop as seller: its name, postal address lines, tax id and contact."""
    address = tuple(line.strip() for line in str(config.get("documents", "shop_address"))
                    .splitlines() if line.strip())
    return Party(str(config.get("shop", "name")), address,
                 str(config.get("documents", "tax_id")), str(config.get("shop", "email")),
                 str(config.get("shop", "phone")))


_INVOICE_ORDERS = (
    "SELECT o.id, o.code, o.placed_at, o.customer_name, o.customer_email, o.customer_phone, "
    "o.currency, o.shipping_cost, o.discount, o.payment_method, o.amount_paid "
    "FROM {source} JOIN orders o ON o.id = pick.value ORDER BY pick.key"
)
_INVOICE_ITEMS = (
    "SELECT i.order_id, i.sku, i.name, i.quantity, i.unit_price, i.tax_rate_bp "
    "FROM order_item i WHERE i.order_id IN (SELECT pick.value FROM {source}) "
    "ORDER BY i.order_id, i.id"
)
_INVOICE_ADDRESSES = (
    "SELECT a.order_id, a.kind, " + ", ".join(f"a.{c}" for c in _ADDRESS_COLUMNS) + " "
    "FROM address a WHERE a.order_id IN (SELECT pick.value FROM {source}) "
    "ORDER BY a.order_id, a.id"
)


def invoice_docs(config: Config, order_ids: Sequence[int], numbers: Sequence[str],
                 issued_at: dt.datetime) -> list[InvoiceDoc]:
    """The invoices of many orders, `numbers[i]` for `order_ids[i]`, read set-based (three
    queries whatever the count): what a status change freezes when it issues them."""
    if len(order_ids) != len(numbers):
        raise ValueError("one number per order")
    docs: list[InvoiceDoc] = []
    seller = seller_from_config(config)
    for start in range(0, len(order_ids), SLIP_CHUNK):
        part = list(order_ids[start:start + SLIP_CHUNK])
        source = sql.id_source("ids")
        params = {"ids": sql.id_value(part)}
        rows = db.execute_sql(_INVOICE_ORDERS.format(source=source), params).fetchall()
        if len(rows) != len(part):
            found = {int(r[0]) for r in rows}
            missing = next(i for i in part if int(i) not in found)
            raise NotFound(f"no such order (id {missing}); it may have been deleted")
        items: dict[int, list[tuple[Any, ...]]] = {}
        for row in db.execute_sql(_INVOICE_ITEMS.format(source=source), params).fetchall():
            items.setdefault(row[0], []).append(row[1:])
        addresses: dict[int, dict[str, PostalAddress]] = {}
        for row in db.execute_sql(_INVOICE_ADDRESSES.format(source=source),
                                  params).fetchall():
            addresses.setdefault(row[0], {}).setdefault(row[1], _postal(row[2:]))
        for n, r in enumerate(rows):
            docs.append(_invoice(seller, r, items.get(r[0], []), addresses.get(r[0], {}),
                                 numbers[start + n], issued_at))
    return docs


def _invoice(seller: Party, order: Sequence[Any], items: Sequence[Sequence[Any]],
             addresses: dict[str, PostalAddress], number: str,
             issued_at: dt.datetime) -> InvoiceDoc:
    (_id, code, placed_at, customer_name, customer_email, customer_phone, currency,
     shipping, discount, payment_method, amount_paid) = order
    if not number.strip():
        raise ValidationError("an invoice needs a number")
    billing = addresses.get("billing") or addresses.get("shipping")
    buyer = Party((billing.name if billing else "") or customer_name,
                  tuple(billing.street_lines()) if billing else (), "", customer_email,
                  customer_phone)
    lines = tuple(
        InvoiceLine(sku, name, quantity, unit_price, tax_rate_bp, quantity * unit_price,
                    round(quantity * unit_price * tax_rate_bp / 10000))
        for sku, name, quantity, unit_price, tax_rate_bp in items)
    return _totalled(InvoiceDoc(
        kind="invoice", number=number.strip(), issued_at=issued_at, order_code=code,
        order_placed_at=_time(placed_at), seller=seller, buyer=buyer,
        ship_to=addresses.get("shipping"), currency=currency, lines=lines, shipping=shipping,
        discount=discount, net_total=0, tax_total=0, total=0, taxes=(),
        payment_method=payment_method, amount_paid=amount_paid))


def _totalled(doc: InvoiceDoc) -> InvoiceDoc:
    """The document with its tax bands and totals summed from its lines."""
    bands: dict[int, list[int]] = {}
    for line in doc.lines:
        band = bands.setdefault(line.tax_rate_bp, [0, 0])
        band[0] += line.net
        band[1] += line.tax
    net_total = sum(x.net for x in doc.lines)
    tax_total = sum(x.tax for x in doc.lines)
    return replace(doc, net_total=net_total, tax_total=tax_total,
                   total=net_total + tax_total + doc.shipping - doc.discount,
                   taxes=tuple(TaxBand(rate, v[0], v[1]) for rate, v in sorted(bands.items())))


def credit_note_doc(invoice: InvoiceDoc, number: str, issued_at: dt.datetime, *,
                    amount: int | None = None, reason: str = "") -> InvoiceDoc:
    """The credit note correcting an invoice as it was issued: all of it negated, or with
    `amount` (minor units, tax included, less than its total) one line crediting that much."""
    if not number.strip():
        raise ValidationError("a credit note needs a number")
    lines, shipping, discount = invoice.lines, invoice.shipping, invoice.discount
    if amount is not None and amount != invoice.total:
        if amount <= 0 or amount > invoice.total:
            raise ValidationError(f"a credit note for {invoice.order_code} must be between 0 "
                                  f"and the invoice's total")
        lines = (InvoiceLine("", reason or f"Refund on order {invoice.order_code}", 1, -amount,
                             0, -amount, 0),)
        shipping = discount = 0
    else:
        lines = tuple(replace(x, unit_price=-x.unit_price, net=-x.net, tax=-x.tax)
                      for x in lines)
        shipping, discount = -shipping, -discount
    return _totalled(replace(
        invoice, kind="credit_note", number=number.strip(), issued_at=issued_at, lines=lines,
        shipping=shipping, discount=discount, corrects=invoice.number,
        corrects_issued_at=invoice.issued_at, reason=reason))


def invoice_doc(config: Config, order_id: int, number: str, issued_at: dt.datetime, *,
                corrects: str = "", corrects_issued_at: dt.datetime | None = None,
                amount: int | None = None, reason: str = "") -> InvoiceDoc:
    """The invoice of an order under `number` as its data stands now, or with `corrects`
    (the invoice's number) its credit note: the whole order negated, or with `amount` (minor
    units, tax included) one line refunding that much. Numbering is the caller's: this only
    reads the order (store.invoices issues and freezes the real ones)."""
    if not number.strip():
        raise ValidationError("an invoice needs a number")
    doc = invoice_docs(config, [order_id], [number], issued_at)[0]
    if not corrects:
        return doc
    credit = credit_note_doc(doc, number, issued_at, amount=amount, reason=reason)
    return replace(credit, corrects=corrects, corrects_issued_at=corrects_issued_at)


# ----- invoices as issued --------------------------------------------------------------------

def doc_json(doc: InvoiceDoc) -> str:
    """An invoice frozen as JSON (what store.invoices keeps): every field, times as ISO."""
    data = asdict(doc)
    data["issued_at"] = doc.issued_at.isoformat()
    data["order_placed_at"] = doc.order_placed_at.isoformat()
    data["corrects_issued_at"] = (doc.corrects_issued_at.isoformat()
                                  if doc.corrects_issued_at else None)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def doc_from_json(text: str) -> InvoiceDoc:
    """The invoice as it was frozen: the same document, field for field."""
    data = json.loads(text)
    ship_to = data["ship_to"]
    return InvoiceDoc(
        kind=data["kind"], number=data["number"],
        issued_at=dt.datetime.fromisoformat(data["issued_at"]),
        order_code=data["order_code"],
        order_placed_at=dt.datetime.fromisoformat(data["order_placed_at"]),
        seller=_party(data["seller"]), buyer=_party(data["buyer"]),
        ship_to=PostalAddress(**ship_to) if ship_to else None, currency=data["currency"],
        lines=tuple(InvoiceLine(**line) for line in data["lines"]),
        shipping=data["shipping"], discount=data["discount"], net_total=data["net_total"],
        tax_total=data["tax_total"], total=data["total"],
        taxes=tuple(TaxBand(**band) for band in data["taxes"]),
        payment_method=data["payment_method"], amount_paid=data["amount_paid"],
        corrects=data["corrects"],
        corrects_issued_at=(dt.datetime.fromisoformat(data["corrects_issued_at"])
                            if data["corrects_issued_at"] else None),
        reason=data["reason"])


def _party(data: dict[str, Any]) -> Party:
    return Party(data["name"], tuple(data["address"]), data["tax_id"], data["email"],
                 data["phone"])


@dataclass(frozen=True)
class IssuedDocument:
    """An invoice or credit note as issued: its code, kind, order, and the frozen document."""

    code: str
    kind: str
    order_id: int
    doc: InvoiceDoc


def _issued(rows: Any) -> list[IssuedDocument]:
    return [IssuedDocument(r.code, r.kind, r.order_id, doc_from_json(r.data)) for r in rows]


def order_invoice(order_id: int) -> IssuedDocument | None:
    """The invoice issued to an order, or None (it has not entered a paid status yet)."""
    found = _issued(Invoice.select().where(Invoice.order == order_id, Invoice.kind == "invoice")
                    .order_by(Invoice.id).limit(1))
    return found[0] if found else None


def order_invoices(order_ids: Sequence[int]) -> dict[int, IssuedDocument]:
    """The invoice of each of these orders that has one (a batch of mails to attach it to)."""
    if not order_ids:
        return {}
    rows = (Invoice.select().where(Invoice.order.in_(list(order_ids)),
                                   Invoice.kind == "invoice").order_by(Invoice.id))
    found: dict[int, IssuedDocument] = {}
    for issued in _issued(rows):
        found.setdefault(issued.order_id, issued)
    return found


def credit_notes(order_id: int) -> list[IssuedDocument]:
    """The credit notes of an order, oldest first."""
    return _issued(Invoice.select().where(Invoice.order == order_id,
                                          Invoice.kind == "credit_note").order_by(Invoice.id))


def issued_by_code(code: str) -> IssuedDocument | None:
    """An invoice or credit note by its number (FA-2026-00042), any case, or None."""
    return next(iter(_issued(Invoice.select().where(
        Invoice.code == code.strip().upper()))), None)


# ----- customer sheet ------------------------------------------------------------------------

def customer_sheet(customer_id: int) -> CustomerSheet:
    """A customer's profile, addresses, group and orders (newest first) with totals per
    currency over the real orders, in four queries."""
    c = Customer.get_or_none(Customer.id == customer_id)
    if c is None:
        raise NotFound(f"no customer with id {customer_id}")
    group = CustomerGroup.get_or_none(CustomerGroup.id == c.group_id) if c.group_id else None
    addresses = tuple(
        SheetAddress(a.kind, _postal([getattr(a, col) for col in _ADDRESS_COLUMNS]))
        for a in Address.select().where(Address.customer == c.id)
        .order_by(Address.kind, Address.id))
    orders = tuple(
        SheetOrder(o.code, o.placed_at, o.status, o.item_count, o.currency, o.total,
                   o.amount_paid, o.amount_refunded, bool(o.is_test))
        for o in Order.select(Order.code, Order.placed_at, Order.status, Order.item_count,
                              Order.currency, Order.total, Order.amount_paid,
                              Order.amount_refunded, Order.is_test)
        .where(Order.customer == c.id).order_by(Order.placed_at.desc(), Order.id.desc()))
    sums: dict[str, list[int]] = {}
    for o in orders:
        if o.is_test:
            continue
        s = sums.setdefault(o.currency, [0, 0, 0, 0])
        s[0] += 1
        s[1] += o.total
        s[2] += o.amount_paid
        s[3] += o.amount_refunded
    return CustomerSheet(
        id=c.id, first_name=c.first_name, last_name=c.last_name, email=c.email, phone=c.phone,
        language=c.language, status=c.status, registered_at=c.registered_at,
        group_name=group.name if group else "",
        group_discount_bp=group.discount_bp if group else 0,
        marketing_consent=bool(c.marketing_consent), addresses=addresses, orders=orders,
        totals=tuple(CurrencyTotal(cur, *v) for cur, v in sorted(sums.items())),
    )
