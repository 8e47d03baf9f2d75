"""WooCommerce's orders, as its REST API v3 returns them (`GET /wp-json/wc/v3/orders`: a JSON
array of orders; the pages of a paged export concatenated into one array). The order's
`number` is kept as its external reference (`#1234`); its `status` is mapped onto the
workflow through `[imports.woocommerce_status]`. Times are read from the `*_gmt` fields
(UTC), else from the site-local ones taken as UTC; amounts are decimal strings. What was paid
is the total once `date_paid` is set; the refunds are the `refunds` array (each negative)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from store.errors import BackroomError, ValidationError
from store.imports import orders as order_import
from store.imports.common import (
    ImportReport,
    ItemIn,
    Line,
    OrderIn,
    Parsed,
    Progress,
    RefundIn,
    amount,
    check_mapping,
    collector_paused,
    country,
    moment,
    postcode,
)
from store.operators import Actor, require
from store.shop import Shop

MAX_BYTES = 2 * 1024**3


def load(path: Path) -> list[Any]:
    """The orders array of the file."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValidationError(f"{path.name} is larger than 2 GB; split the export",
                                  field="file")
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path.name} is not JSON in UTF-8: {exc}", field="file") from None
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        data = data["orders"]  # the legacy v1-v3 "orders" envelope
    if not isinstance(data, list):
        raise ValidationError(f"{path.name} is not the orders array of the WooCommerce REST "
                              "API (a JSON list of orders)", field="file")
    return data


def _text(order: Mapping[str, Any], key: str) -> str:
    value = order.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{key} must be text, not {type(value).__name__}", field=key)
    return str(value)


def _when(order: Mapping[str, Any], key: str) -> Any:
    return moment(_text(order, f"{key}_gmt") or _text(order, key), key)


def _address(block: Any, kind: str) -> dict[str, str] | None:
    if not isinstance(block, dict):
        return None
    values = {"first_name": _text(block, "first_name"), "last_name": _text(block, "last_name"),
              "company": _text(block, "company"), "line1": _text(block, "address_1"),
              "line2": _text(block, "address_2"), "city": _text(block, "city"),
              "region": _text(block, "state"), "postcode": postcode(_text(block, "postcode")),
              "country": country(_text(block, "country"), f"{kind}.country"),
              "phone": _text(block, "phone")}
    return values if any(values.values()) else None


def _items(raw: Mapping[str, Any], currency: str) -> list[ItemIn]:
    """The line items; a unit price is the line's subtotal shared out, rounded half up."""
    items = []
    for line in raw.get("line_items") or []:
        if not isinstance(line, dict):
            raise ValidationError("a line item must be a JSON object", field="line_items")
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ValidationError(f"line item {_text(line, 'name')!r}: quantity must be a "
                                  "positive whole number", field="line_items")
        subtotal = amount(_text(line, "subtotal"), currency, "line_items.subtotal")
        items.append(ItemIn(_text(line, "sku"), _text(line, "name"), quantity,
                            (subtotal + quantity // 2) // quantity))
    return items


def _refunds(raw: Mapping[str, Any], currency: str) -> list[RefundIn]:
    """The refunds, undated: the export dates none (order_in gives them the order's last
    change)."""
    refunds = []
    for refund in raw.get("refunds") or []:
        if not isinstance(refund, dict):
            raise ValidationError("a refund must be a JSON object", field="refunds")
        refunds.append(RefundIn(amount(_text(refund, "total"), currency, "refunds.total"),
                                _text(refund, "reason"), None))
    return refunds


def order_in(shop: Shop, table: Mapping[str, str], raw: Any, where: str,
             parsed: Parsed) -> OrderIn | None:
    if not isinstance(raw, dict):
        raise ValidationError("an order must be a JSON object", field="order")
    said = _text(raw, "status").lower()
    status = table.get(said)
    if status is None:
        parsed.note_unknown("woocommerce_status", said or "(empty)")
        return None
    currency = (_text(raw, "currency") or shop.currency).upper()
    placed = _when(raw, "date_created")
    if placed is None:
        raise ValidationError("date_created is empty", field="date_created")
    total = amount(_text(raw, "total"), currency, "total")
    paid_at = _when(raw, "date_paid")
    items = _items(raw, currency)
    refunds = _refunds(raw, currency)
    refunded = sum(r.amount for r in refunds)
    billing: Mapping[str, Any] = raw["billing"] if isinstance(raw.get("billing"), dict) else {}
    addresses = {kind: found for kind in ("billing", "shipping")
                 if (found := _address(raw.get(kind), kind)) is not None}
    name = f"{_text(billing, 'first_name')} {_text(billing, 'last_name')}".strip()
    if not name and "shipping" in addresses:
        name = f"{addresses['shipping']['first_name']} {addresses['shipping']['last_name']}"
    shipping_lines = [line for line in raw.get("shipping_lines") or [] if isinstance(line, dict)]
    number = _text(raw, "number") or _text(raw, "id")
    if not number:
        raise ValidationError("the order has neither number nor id", field="number")
    modified = _when(raw, "date_modified")
    return OrderIn(
        where=where, reference=f"#{number}", currency=currency, placed_at=placed,
        placed_text=_text(raw, "date_created") or _text(raw, "date_created_gmt"),
        status=status, status_says=f"status {said}",
        email=_text(billing, "email"), name=name.strip(), phone=_text(billing, "phone"),
        subtotal=sum(i.quantity * i.unit_price for i in items),
        tax=amount(_text(raw, "total_tax"), currency, "total_tax"),
        shipping_cost=amount(_text(raw, "shipping_total"), currency, "shipping_total"),
        discount=amount(_text(raw, "discount_total"), currency, "discount_total"),
        total=total, paid=total if paid_at is not None else 0, refunded=refunded,
        payment_method=_text(raw, "payment_method_title") or _text(raw, "payment_method"),
        payment_reference=_text(raw, "transaction_id"),
        shipping_method=", ".join(_text(line, "method_title") for line in shipping_lines),
        customer_note=_text(raw, "customer_note"), items=items, addresses=addresses,
        paid_at=paid_at, completed_at=_when(raw, "date_completed"),
        cancelled_at=modified if said in ("cancelled", "failed") else None,
        refunds=[RefundIn(r.amount, r.reason, modified) for r in refunds])


def parse(shop: Shop, path: Path) -> Parsed:
    table = shop.config.imports["woocommerce_status"]
    check_mapping(table, "woocommerce_status", shop.workflow.keys())
    parsed = Parsed()
    for index, raw in enumerate(load(path)):
        number = raw.get("number") or raw.get("id") if isinstance(raw, dict) else None
        where = f"order {index + 1} of the array"
        try:
            found = order_in(shop, table, raw, where, parsed)
        except BackroomError as exc:
            parsed.refused.append(Line(where, f"order #{number}" if number else "an order",
                                       str(exc)))
            continue
        if found is not None:
            parsed.orders.append(found)
    return parsed


@collector_paused()
def run(shop: Shop, actor: Actor, path: Path, *, dry_run: bool = False, notify: bool = False,
        progress: Progress | None = None) -> ImportReport:
    """`backroom import woocommerce FILE.json`."""
    require(actor, "import")
    return order_import.import_orders(shop, actor, "woocommerce", parse(shop, path),
                                      dry_run=dry_run, notify=notify, progress=progress)


def count_orders(path: Path) -> int:
    return len(load(path))
