"""Contact details that customers and orders both take: postal addresses and email
addresses, checked the same way wherever they are entered."""

from __future__ import annotations

import re
from collections.abc import Mapping

from store.errors import ValidationError
from store.models import Address

ADDRESS_FIELDS = ("first_name", "last_name", "company", "line1", "line2", "postcode", "city",
                  "region", "country", "phone")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """A trimmed email, or a ValidationError saying what is wrong with it."""
    email = email.strip()
    if not _EMAIL.match(email):
        raise ValidationError(f"{email!r} is not a valid email address (like ann@example.com)")
    return email


def check_address(address: Mapping[str, str]) -> None:
    """Refuse unknown fields and a country that is not a two-letter ISO code."""
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValidationError(f"unknown address field {sorted(unknown)[0]!r}",
                              field=sorted(unknown)[0])
    country = address.get("country", "")
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationError(f"country must be a two-letter ISO code, not {country!r}",
                              field="country")


def customer_address(customer_id: int, kind: str) -> dict[str, str] | None:
    """The customer's address of that kind, to copy onto a new order (which then keeps it)."""
    row = Address.get_or_none(Address.customer == customer_id, Address.kind == kind)
    return {f: getattr(row, f) for f in ADDRESS_FIELDS} if row else None
