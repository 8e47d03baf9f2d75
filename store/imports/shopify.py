"""Shopify's orders export (Orders > Export, CSV): one row per line item, the order's own
fields on its first row, columns read by their header names. The order's name (`#1001`) is
kept as its external reference. Its Financial Status and Fulfillment Status are mapped onto
the workflow as two separate things, each through its table in config
(`[imports.shopify_financial]`, `[imports.shopify_fulfillment]`): the fulfilment's status
wins unless the payment's is final (voided, refunded). Shopify writes times in the shop's own
zone with its offset (`2025-10-07 09:50:26 +0200`) and keeps a postcode's leading zero with an
apostrophe (`'08001`); both are read right. What was paid is the total less the Outstanding
Balance, so an order paid in part keeps what it still owes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from store.errors import BackroomError, ValidationError
from store.imports import orders as order_import
from store.imports import parallel
from store.imports.common import (
    Columns,
    ImportReport,
    ItemIn,
    Line,
    OrderIn,
    Parsed,
    Progress,
    amount,
    check_mapping,
    collector_paused,
    country,
    moment,
    numbered_rows,
    open_csv,
    postcode,
    split_name,
    yes_no,
)
from store.operators import Actor, require
from store.shop import Shop

REQUIRED = ("Name", "Lineitem name")
ADDRESS_COLUMNS = {"company": "Company", "line1": "Address1", "line2": "Address2",
                   "city": "City", "postcode": "Zip", "region": "Province", "phone": "Phone"}


def read_rows(path: Path) -> tuple[Columns, Iterator[tuple[int, list[str]]]]:
    """The header, then (row number, cells) for each row; row 1 is the header."""
    columns, reader, handle = open_csv(path)
    missing = [name for name in REQUIRED if not columns.has(name)]
    if missing:
        handle.close()
        raise ValidationError(f"{path.name} is not a Shopify orders export: no column "
                              f"{missing[0]!r}", field="file")

    return columns, numbered_rows(path, columns, reader, handle)


class _Reader:
    """Turns the rows of one order into an OrderIn."""

    def __init__(self, shop: Shop, columns: Columns) -> None:
        self.shop = shop
        self.unknown: list[tuple[str, str]] = []  # (table, value) the tables lacked
        self.checked = order_import.Checked()
        tables = shop.config.imports
        keys = shop.workflow.keys()
        self.financial = tables["shopify_financial"]
        self.fulfilment = tables["shopify_fulfillment"]
        check_mapping(self.financial, "shopify_financial", keys)
        check_mapping(self.fulfilment, "shopify_fulfillment", keys, blank_ok=True)
        get = columns.getter
        self.name, self.email = get("Name"), get("Email")
        self.financial_status = get("Financial Status")
        self.fulfilment_status = get("Fulfillment Status", "Fulfilment Status")
        self.paid_at, self.fulfilled_at = get("Paid at"), get("Fulfilled at")
        self.cancelled_at, self.created_at = get("Cancelled at"), get("Created at")
        self.marketing = get("Accepts Marketing", "Accepts Email Marketing")
        self.currency = get("Currency")
        self.subtotal, self.shipping, self.taxes = get("Subtotal"), get("Shipping"), get("Taxes")
        self.total, self.discount = get("Total"), get("Discount Amount")
        self.shipping_method = get("Shipping Method")
        self.quantity, self.item_name = get("Lineitem quantity"), get("Lineitem name")
        self.price, self.sku = get("Lineitem price"), get("Lineitem sku")
        self.notes, self.payment_method = get("Notes"), get("Payment Method")
        self.payment_reference = get("Payment Reference", "Payment References")
        self.refunded, self.phone = get("Refunded Amount"), get("Phone")
        self.has_outstanding = columns.has("Outstanding Balance")
        self.outstanding = get("Outstanding Balance")
        self.address = {kind: {key: get(f"{kind.capitalize()} {column}")
                               for key, column in ADDRESS_COLUMNS.items()}
                        | {"name": get(f"{kind.capitalize()} Name"),
                           "country": get(f"{kind.capitalize()} Country")}
                        for kind in ("billing", "shipping")}

    def status(self, row: list[str]) -> tuple[str, str] | None:
        """(workflow status, what the file said), or None when a mapping lacks a value."""
        financial = self.financial_status(row).lower()
        fulfilment = self.fulfilment_status(row).lower()
        paid_as = self.financial.get(financial)
        shipped_as = self.fulfilment.get(fulfilment) if fulfilment else ""
        if paid_as is None:
            self.unknown.append(("shopify_financial", financial or "(empty)"))
        if shipped_as is None:
            self.unknown.append(("shopify_fulfillment", fulfilment))
        if paid_as is None or shipped_as is None:
            return None
        final = self.shop.workflow[paid_as].final
        status = shipped_as if shipped_as and not final else paid_as
        said = f"financial status {financial or '-'}, fulfillment status {fulfilment or '-'}"
        return status, said

    def outcome(self, group: Group) -> Outcome:
        """One order read and checked (the work store.imports.parallel shares out)."""
        name, first, last, rows = group
        where = f"row {first}" if first == last else f"rows {first}-{last}"
        self.unknown = []
        try:
            order = self.order(where, rows)
        except BackroomError as exc:
            return Line(where, f"order {name}", str(exc)), (), None
        if order is None:
            return None, tuple(self.unknown), None
        return None, (), order_import.checked_or_refused(self.shop, order, self.checked)

    def order(self, where: str, rows: Sequence[list[str]]) -> OrderIn | None:
        first = rows[0]
        mapped = self.status(first)
        if mapped is None:
            return None
        status, said = mapped
        currency = (self.currency(first) or self.shop.currency).upper()
        placed_text = self.created_at(first)
        placed = moment(placed_text, "Created at")
        if placed is None:
            raise ValidationError("Created at is empty", field="Created at")
        total = amount(self.total(first), currency, "Total")
        paid = 0
        if self.financial_status(first).lower() != "voided":
            if self.has_outstanding and self.outstanding(first):
                paid = max(total - amount(self.outstanding(first), currency,
                                          "Outstanding Balance"), 0)
            elif self.financial_status(first).lower() in ("paid", "partially_refunded",
                                                          "refunded"):
                paid = total
        addresses = {}
        for kind, columns in self.address.items():
            values = {key: read(first) for key, read in columns.items()}
            if not any(values.values()):
                continue
            first_name, last_name = split_name(values.pop("name"))
            values["postcode"] = postcode(values["postcode"])
            values["country"] = country(values["country"], f"{kind.capitalize()} Country")
            addresses[kind] = {"first_name": first_name, "last_name": last_name} | values
        name = (self.address["billing"]["name"](first) or self.address["shipping"]["name"](first))
        items = []
        for row in rows:
            if not self.item_name(row) and not self.sku(row):
                continue
            quantity_text = self.quantity(row) or "1"
            if not quantity_text.isdigit():
                raise ValidationError(f"Lineitem quantity {quantity_text!r} is not a number",
                                      field="Lineitem quantity")
            items.append(ItemIn(self.sku(row), self.item_name(row), int(quantity_text),
                                amount(self.price(row), currency, "Lineitem price")))
        return OrderIn(
            where=where, reference=self.name(first), currency=currency, placed_at=placed,
            placed_text=placed_text, status=status, status_says=said,
            email=self.email(first), name=name.strip(),
            phone=self.phone(first) or self.address["billing"]["phone"](first),
            subtotal=amount(self.subtotal(first), currency, "Subtotal"),
            tax=amount(self.taxes(first), currency, "Taxes"),
            shipping_cost=amount(self.shipping(first), currency, "Shipping"),
            discount=amount(self.discount(first), currency, "Discount Amount"),
            total=total, paid=paid,
            refunded=amount(self.refunded(first), currency, "Refunded Amount"),
            payment_method=self.payment_method(first),
            payment_reference=self.payment_reference(first),
            shipping_method=self.shipping_method(first), customer_note=self.notes(first),
            consent=yes_no(self.marketing(first), "Accepts Marketing"),
            items=items, addresses=addresses,
            paid_at=moment(self.paid_at(first), "Paid at"),
            fulfilled_at=moment(self.fulfilled_at(first), "Fulfilled at"),
            cancelled_at=moment(self.cancelled_at(first), "Cancelled at"))


# One order's rows: (its Name, first row number, last row number, the rows).
Group = tuple[str, int, int, list[list[str]]]
# What one order came to: the reader's refusal, the values the tables lacked, and the order
# checked by the store's rules (or the check's refusal).
Outcome = tuple[Line | None, tuple[tuple[str, str], ...], OrderIn | Line | None]


def parse(shop: Shop, path: Path, parallel_from: int = parallel.PARALLEL_FROM) -> Parsed:
    """Every order of the file, grouped by its Name (the rows of an order follow each other;
    one that comes back later is the same order, so no Name comes twice), read and checked
    (on both cores from `parallel_from` orders: store.imports.parallel)."""
    columns, rows = read_rows(path)
    parsed = Parsed()
    reader = _Reader(shop, columns)
    groups: dict[str, tuple[int, int, list[list[str]]]] = {}
    for number, row in rows:
        if not any(row):
            continue
        name = reader.name(row)
        if not name:
            parsed.refused.append(Line(f"row {number}", "a line without an order Name",
                                       "every row names its order"))
            continue
        found = groups.get(name)
        if found is None:
            groups[name] = (number, number, [row])
        else:
            found[2].append(row)
            groups[name] = (found[0], number, found[2])
    work = [(name, first, last, order_rows) for name, (first, last, order_rows)
            in groups.items()]
    del groups
    checked: list[OrderIn | Line] = []
    for refusal, unknown, outcome in parallel.map_records(reader.outcome, work, parallel_from):
        if refusal is not None:
            parsed.refused.append(refusal)
        for table, value in unknown:
            parsed.note_unknown(table, value)
        if outcome is not None:
            checked.append(outcome)
    parsed.checked = checked
    return parsed


@collector_paused()
def run(shop: Shop, actor: Actor, path: Path, *, dry_run: bool = False, notify: bool = False,
        progress: Progress | None = None) -> ImportReport:
    """`backroom import shopify FILE.csv`."""
    require(actor, "import")
    return order_import.import_orders(shop, actor, "shopify", parse(shop, path),
                                      dry_run=dry_run, notify=notify, progress=progress)


def count_orders(path: Path) -> int:
    """How many orders the file holds (for a progress bar): its distinct names."""
    columns, rows = read_rows(path)
    name = columns.getter("Name")
    return len({name(row) for _n, row in rows if name(row)})
