"""Request and response bodies of /v1/customers: a customer opening an account, and an
account as the storefront needs it (status, group and its privileges, which the storefront
applies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from store.storefront_reads import CustomerView
from web.fields import STRICT, Email, Language, Name, Short
from web.order_models import AddressIn


class CustomerIn(BaseModel):
    """A customer opening their own account. It joins the default group; with
    `customers.auto_validate = false` it waits for the shop to validate it."""

    model_config = STRICT

    email: Email
    first_name: Name = ""
    last_name: Name = ""
    phone: Short = ""
    language: Language | None = None
    marketing_consent: bool = False
    address: AddressIn | None = Field(default=None, description="kept as billing and shipping")

    def service_args(self) -> dict[str, Any]:
        """The keyword arguments of store.customers.register_customer."""
        return {"email": self.email, "first_name": self.first_name,
                "last_name": self.last_name, "phone": self.phone, "language": self.language,
                "marketing_consent": self.marketing_consent,
                "address": self.address.model_dump() if self.address else None}


class GroupOut(BaseModel):
    id: int
    name: str
    discount_bp: int = Field(description="basis points off every order: 500 is 5 %")
    privilege: str


class CustomerOut(BaseModel):
    """An account. `status` is active, pending (waiting for validation), suspended or
    denied; only an active account may pay (`can_pay`)."""

    id: int
    email: str
    first_name: str
    last_name: str
    language: str
    status: str
    status_label: str
    can_pay: bool
    marketing_consent: bool
    confirmed: bool
    registered_at: dt.datetime
    group: GroupOut | None

    @classmethod
    def of(cls, v: CustomerView) -> CustomerOut:
        group = (GroupOut(id=v.group.id, name=v.group.name, discount_bp=v.group.discount_bp,
                          privilege=v.group.privilege) if v.group else None)
        return cls(id=v.id, email=v.email, first_name=v.first_name, last_name=v.last_name,
                   language=v.language, status=v.status, status_label=v.status_label,
                   can_pay=v.can_pay, marketing_consent=v.marketing_consent,
                   confirmed=v.confirmed, registered_at=v.registered_at.replace(tzinfo=dt.UTC),
                   group=group)
