"""Replacement orders: a parcel lost or damaged in transit is sent again as a new order of the
items chosen, at no charge, to the same addresses, linked both ways (the new order's
`replaces`, the original's replacements) and noted in both histories, in one transaction.

The replacement enters the status an order enters once paid (it owes nothing), so it waits
with the orders to ship; it issues no invoice (nothing is sold) and records no payment. The
customer gets the order confirmation, which names the order it replaces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from store import customer_figures, events_log, webhooks
from store.codes import format_code
from store.contact import ADDRESS_FIELDS
from store.errors import Refused, ValidationError
from store.folding import fold_item
from store.models import Address, Order, OrderItem, db, utcnow
from store.operators import Actor, require
from store.order_rows import event, insert_events, insert_search, load_for_write, search_row
from store.orders import allocate_numbers
from store.outbox import Mail, enqueue, order_payload
from store.shop import Shop
from store.text import clean


@dataclass(frozen=True)
class Replacement:
    """A replacement placed: the new order, the one it replaces, and what it sends."""

    order_id: int
    code: str
    replaces: str
    items: tuple[tuple[str, int], ...]  # (sku, quantity)
    status: str

    def summary(self) -> str:
        count = sum(q for _sku, q in self.items)
        return (f"replacement {self.code} placed for {self.replaces}: {count} item(s) at no "
                "charge, to the same address")


def choose_items(order_id: int, wanted: Mapping[str, int] | None) -> list[OrderItem]:
    """The lines of the original to send again: every line (wanted None), or the skus asked
    for, each at most the quantity ordered (0: the whole line). An sku the order does not
    hold, too many of one, or none at all is refused, naming what was wrong."""
    lines = list(OrderItem.select().where(OrderItem.order == order_id).order_by(OrderItem.id))
    if wanted is None:
        return lines
    if not wanted:
        raise ValidationError("choose at least one item to send again", field="items")
    by_sku: dict[str, OrderItem] = {}
    for each in lines:
        by_sku.setdefault(each.sku.casefold(), each)
    chosen: list[OrderItem] = []
    for sku, quantity in wanted.items():
        line = by_sku.get(sku.strip().casefold())
        if line is None:
            held = ", ".join(dict.fromkeys(i.sku for i in lines)) or "none"
            raise ValidationError(f"the order holds no item {sku!r} (its items: {held})",
                                  field="items")
        ordered = sum(i.quantity for i in lines if i.sku.casefold() == line.sku.casefold())
        if quantity < 0 or quantity > ordered:
            raise ValidationError(f"item {line.sku}: {ordered} ordered, so between 1 and "
                                  f"{ordered} can be replaced, not {quantity}", field="items")
        line.quantity = quantity or ordered
        chosen.append(line)
    return chosen


def place_replacement(shop: Shop, actor: Actor, order_id: int,
                      items: Mapping[str, int] | None = None, reason: str = "",
                      notify: bool = True) -> Replacement:
    """A new order of the chosen items (sku -> quantity, 0: the whole line; None: every
    line) at zero price,
    for the same customer and addresses, linked to the original and noted in both histories.
    `reason` (a lost parcel, a broken mug) goes in both histories, not to the customer."""
    require(actor, "replace_order")
    reason = clean(reason, "reason").strip()
    wf = shop.workflow
    status = wf.paid_target(wf.initial.key) or wf.initial.key
    with db.atomic():
        original = load_for_write(order_id)
        lines = choose_items(original.id, items)
        if not lines:
            raise Refused(f"order {original.code} has no item to replace", field="items")
        number = allocate_numbers(1)
        code = format_code(shop.prefix, number)
        now = utcnow()
        fields = {
            "number": number, "code": code, "customer": original.customer_id,
            "customer_name": original.customer_name, "customer_email": original.customer_email,
            "customer_phone": original.customer_phone, "language": original.language,
            "status": status, "currency": original.currency,
            "payment_method": "replacement", "shipping_method": original.shipping_method,
            "carrier": original.carrier, "item_count": sum(i.quantity for i in lines),
            "placed_at": now, "is_test": original.is_test, "updated_by": actor.login,
            "replaces": original.id,
            "internal_reference": f"replaces {original.code}",
        }
        order = Order.create(**fields)
        insert_search([search_row(order.id, fields, [(i.sku, i.name) for i in lines])])
        customer_figures.placed(original.customer_id, now, bool(original.is_test))
        OrderItem.insert_many([
            {"order": order.id, "sku": i.sku, "name": i.name, "folded": fold_item(i.sku, i.name),
             "quantity": i.quantity, "unit_price": 0, "tax_rate_bp": 0, "created_at": now,
             "updated_at": now}
            for i in lines]).execute()
        for address in Address.select().where(Address.order == original.id):
            Address.create(order=order.id, kind=address.kind,
                           **{f: getattr(address, f) for f in ADDRESS_FIELDS})
        chosen = tuple((i.sku, i.quantity) for i in lines)
        listed = ", ".join(f"{q} × {sku}" for sku, q in chosen)
        why = f" ({reason})" if reason else ""
        insert_events([
            event(order.id, actor, "placed", f"replacement for {original.code}: {listed}{why}",
                  to_status=status, data={"replaces": original.code, "reason": reason},
                  now=now),
            event(original.id, actor, "replacement",
                  f"replacement {code} placed: {listed}{why}",
                  data={"replacement": code, "items": dict(chosen), "reason": reason},
                  now=now)])
        if notify and original.customer_email:
            enqueue([Mail("order_placed", original.customer_email, f"placed:{code}",
                          original.language,
                          order_payload(fields | {"id": order.id}, replaces=original.code),
                          order_id=order.id, customer_id=original.customer_id)])
        webhooks.order_placed(order.id)
    events_log.event("replacement", actor.login, order=code, replaces=original.code)
    return Replacement(order.id, code, original.code, chosen, status)


def parse_items(given: Sequence[str]) -> dict[str, int]:
    """`--item SKU` or `--item SKU:QTY` (repeatable) as sku -> quantity (0: the whole line)."""
    wanted: dict[str, int] = {}
    for text in given:
        sku, _colon, count = text.partition(":")
        if not sku.strip():
            raise ValidationError(f"--item {text!r}: give an sku, like MUG-01 or MUG-01:2",
                                  field="items")
        try:
            quantity = int(count) if count.strip() else 0
        except ValueError:
            raise ValidationError(f"--item {text!r}: the quantity after ':' must be a whole "
                                  "number, like MUG-01:2", field="items") from None
        if quantity < 0 or (count.strip() and quantity == 0):  # 0 read as the whole line
            raise ValidationError(f"--item {text!r}: the quantity must be at least 1 (without "
                                  "one, the whole line is replaced)", field="items")
        wanted[sku.strip()] = wanted.get(sku.strip(), 0) + quantity
    return wanted
