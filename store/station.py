"""The ship station's two steps, as rules: a scanned slip is an order that may ship now (or
is refused, saying why: not an order, a tracking number where a slip was expected, an order
not paid, shipped already, refunded); a scanned tracking number ships that order with its
carrier, in one status change the undo window can take back."""

from __future__ import annotations

import re
from dataclasses import dataclass

from store import carriers as carriersmod
from store.document_reads import SlipOrder, slip_rows
from store.errors import BackroomError, Refused, ValidationError
from store.models import Order
from store.operators import Actor, require
from store.orders import find_order
from store.shop import Shop
from store.status import StatusChange, change_status, refusal_for
from store.text import clean


@dataclass(frozen=True)
class StationOrder:
    """The order on the bench: what to pack and where it goes, and its version (a change by
    someone else meanwhile is refused when it ships)."""

    slip: SlipOrder
    version: int
    status: str


def ship_status(shop: Shop) -> str:
    """The status a parcel enters: the workflow's first that takes a tracking number."""
    keys = shop.workflow.shipping_keys()
    if not keys:
        raise ValidationError("the workflow has no status that takes a tracking number")
    return keys[0]


def scan_slip(shop: Shop, text: str) -> StationOrder:
    """The order a scanned slip names, if it may ship now; else refused with the reason."""
    text = clean(text, "scan").strip()
    if not text:
        raise Refused("nothing was scanned")
    target = ship_status(shop)
    try:
        ref = find_order(shop, text)
    except BackroomError as exc:
        found = carriersmod.recognise(shop.config.carriers, text)
        if found is not None:
            carrier = carriersmod.label(shop.config.carriers, found.carrier or found.courier)
            raise Refused(f"{text} is a tracking number ({carrier}), not a packing slip: scan "
                          "the order's slip first") from None
        raise Refused(f"{text!r} is not an order: {exc}") from None
    reason = refusal_for(shop, ref.id, target, "-")
    if reason:
        raise Refused(f"{ref.code} cannot ship: {reason}")
    slip = slip_rows([ref.id])[0]
    version, status = _version(ref.id)
    return StationOrder(slip, version, status)


def _version(order_id: int) -> tuple[int, str]:
    row = Order.select(Order.version, Order.status).where(Order.id == order_id).tuples().first()
    if row is None:
        raise Refused("that order was deleted")
    return int(row[0]), str(row[1])


@dataclass(frozen=True)
class Shipped:
    """A parcel shipped: the change (its batch undoes it), and the number and carrier kept."""

    change: StatusChange
    code: str
    tracking: str
    carrier: str  # the carrier's key ('' when none was named, recognised or set)
    mailed: bool


def ship_parcel(shop: Shop, actor: Actor, order: StationOrder, tracking: str) -> Shipped:
    """Ship the order on the bench with the scanned tracking number and its carrier (named
    by the number, else shipping.default_carrier), its mail held for the undo window. A
    packing slip scanned instead, a number already on another order, or an order changed
    since it was scanned is refused and nothing ships."""
    require(actor, "change_status")
    tracking = clean(tracking, "tracking").strip()
    if not tracking:
        raise Refused("scan the parcel's tracking number")
    prefix = re.escape(shop.prefix)
    if tracking.casefold() == order.slip.code.casefold() or (
            shop.prefix and re.fullmatch(rf"{prefix}-?\d+", tracking, re.I)):
        raise Refused(f"{tracking} is a packing slip, not a tracking number: scan the "
                      f"parcel's tracking number for {order.slip.code}")
    change = change_status(shop, actor, [order.slip.id], ship_status(shop),
                           tracking_each={order.slip.id: (tracking, None)},
                           expected_versions={order.slip.id: order.version})
    if change.refused:
        raise Refused(f"{order.slip.code} not shipped: {change.refused[0].reason}")
    row = Order.select(Order.tracking_number, Order.carrier).where(
        Order.id == order.slip.id).tuples().first()
    number, carrier = (str(row[0]), str(row[1])) if row else (tracking, "")
    return Shipped(change, order.slip.code, number, carrier, bool(change.mails))
