"""Request and response bodies of /v1/orders: what the storefront sends to place an order or
report a payment, and the order as its customer may see it. Amounts are integers of minor
units beside an ISO 4217 currency; requests are strict (no "12" for 12, no unknown key)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, model_validator

from store.orders import ItemInput
from store.payments import PaymentResult
from store.storefront_reads import OrderView
from web.fields import (
    MAX_ITEMS,
    STRICT,
    Amount,
    Country,
    Currency,
    Email,
    Language,
    Line,
    Name,
    Note,
    PositiveAmount,
    Quantity,
    Short,
    TaxRate,
)


class AddressIn(BaseModel):
    model_config = STRICT

    first_name: Name = ""
    last_name: Name = ""
    company: Line = ""
    line1: Line
    line2: Line = ""
    postcode: Short = ""
    city: Line
    region: Line = ""
    country: Country
    phone: Short = ""


class ItemIn(BaseModel):
    model_config = STRICT

    sku: Short
    name: Line
    quantity: Quantity
    unit_price: Amount = Field(description="price of one, tax excluded, in minor units")
    tax_rate_bp: TaxRate = 0


class OrderIn(BaseModel):
    """A new order: a registered customer's (`customer_id`) or a guest's (`guest_name` and
    `guest_email`). `total` (and `tax`, if given) must be what the items add up to: tax per
    line is quantity x unit_price x tax_rate_bp / 10000 rounded half to even, shipping is
    untaxed, the discount comes off the total."""

    model_config = STRICT

    customer_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    guest_name: Name | None = None
    guest_email: Email | None = None
    phone: Short = ""
    language: Language | None = None
    currency: Currency
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS)
    shipping_address: AddressIn | None = None
    billing_address: AddressIn | None = None
    shipping_method: Short = "standard"
    shipping_cost: Amount = 0
    discount: Amount = 0
    tax: Amount | None = Field(default=None, description="checked against the lines' tax")
    total: Amount = Field(description="what the customer was shown; checked")
    payment_method: Short = "card"
    customer_note: Note = ""
    test: bool = Field(default=False, description="a test order: marked everywhere, deletable")
    newsletter_opt_in: Line = Field(
        default="", description="the wording of the newsletter box the buyer ticked at "
                                "checkout (their consent record); empty: not ticked")

    @model_validator(mode="after")
    def _one_buyer(self) -> OrderIn:
        if self.customer_id is not None:
            if self.guest_name is not None or self.guest_email is not None:
                raise ValueError("give customer_id for a registered customer, or guest_name "
                                 "and guest_email for a guest, not both")
        elif not self.guest_name or not self.guest_email:
            raise ValueError("a guest order needs guest_name and guest_email (or give the "
                             "customer_id of a registered customer)")
        return self

    def service_args(self) -> dict[str, Any]:
        """The keyword arguments of store.orders.place_order."""
        def address(a: AddressIn | None) -> dict[str, str] | None:
            return a.model_dump() if a is not None else None

        return {
            "items": [ItemInput(i.sku, i.name, i.quantity, i.unit_price, i.tax_rate_bp)
                      for i in self.items],
            "customer_id": self.customer_id, "guest_name": self.guest_name or "",
            "guest_email": self.guest_email or "", "phone": self.phone,
            "language": self.language, "currency": self.currency,
            "shipping_address": address(self.shipping_address),
            "billing_address": address(self.billing_address),
            "shipping_method": self.shipping_method, "shipping_cost": self.shipping_cost,
            "discount": self.discount, "expected_tax": self.tax, "expected_total": self.total,
            "payment_method": self.payment_method, "customer_note": self.customer_note,
            "is_test": self.test, "newsletter_opt_in": self.newsletter_opt_in,
        }


class PaymentIn(BaseModel):
    """A payment the gateway confirmed."""

    model_config = STRICT

    amount: PositiveAmount
    currency: Currency
    method: Short = Field(default="", description="card, paypal, ... (default: the order's)")
    reference: Line = Field(default="", description="the gateway's transaction id; a "
                                                    "reference recorded already is refused")


class StatusOut(BaseModel):
    key: str
    label: str


class TrackingOut(BaseModel):
    number: str
    carrier: str
    url: str | None = Field(description="the carrier's public tracking page, when known")


class ItemOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price: int
    tax_rate_bp: int
    line_total: int


class OrderOut(BaseModel):
    """An order as its customer may see it. `can_pay` is whether the customer may pay it
    now; `cannot_pay_because` says why not."""

    code: str
    status: StatusOut
    can_pay: bool
    cannot_pay_because: str | None
    currency: str
    subtotal: int
    tax: int
    shipping_cost: int
    discount: int
    total: int
    amount_paid: int
    amount_refunded: int
    balance: int
    payment_method: str
    shipping_method: str
    tracking: TrackingOut | None
    customer_id: int | None
    test: bool
    placed_at: dt.datetime
    items: list[ItemOut]

    @classmethod
    def of(cls, v: OrderView) -> OrderOut:
        tracking = (TrackingOut(number=v.tracking_number, carrier=v.carrier,
                                url=v.tracking_url or None) if v.tracking_number else None)
        return cls(
            code=v.code, status=StatusOut(key=v.status, label=v.status_label),
            can_pay=v.can_pay, cannot_pay_because=v.pay_refusal or None, currency=v.currency,
            subtotal=v.subtotal, tax=v.tax, shipping_cost=v.shipping_cost, discount=v.discount,
            total=v.total, amount_paid=v.amount_paid, amount_refunded=v.amount_refunded,
            balance=v.balance, payment_method=v.payment_method,
            shipping_method=v.shipping_method, tracking=tracking, customer_id=v.customer_id,
            test=v.is_test, placed_at=v.placed_at.replace(tzinfo=dt.UTC),
            items=[ItemOut(sku=i.sku, name=i.name, quantity=i.quantity,
                           unit_price=i.unit_price, tax_rate_bp=i.tax_rate_bp,
                           line_total=i.line_total) for i in v.items])


class PaymentOut(BaseModel):
    """A payment recorded, and the order after it (`moved_to`: the status it entered)."""

    amount: int
    currency: str
    method: str
    reference: str
    moved_to: StatusOut | None
    order: OrderOut

    @classmethod
    def of(cls, paid: PaymentIn, result: PaymentResult, order: OrderView,
           moved_label: str) -> PaymentOut:
        moved = StatusOut(key=result.moved_to, label=moved_label) if result.moved_to else None
        return cls(amount=paid.amount, currency=paid.currency.upper(),
                   method=paid.method or order.payment_method, reference=paid.reference,
                   moved_to=moved, order=OrderOut.of(order))
