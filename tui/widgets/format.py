"""Formatting money and times for display, and parsing amounts an operator types."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from store.errors import ValidationError

# ISO 4217 currencies whose minor unit is not 1/100.
_EXPONENT = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3, "TND": 3,
             "JOD": 3, "OMR": 3}


def exponent(currency: str) -> int:
    return _EXPONENT.get(currency.upper(), 2)


def money(amount: int, currency: str) -> str:
    """Minor units as '1,234.50 EUR' (no float on the way)."""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    text = f"{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
    return f"{sign}{text} {currency}"


def parse_amount(text: str, currency: str) -> int:
    """'12.5' or '12,50' in major units to minor units; refuses junk and too many decimals."""
    exp = exponent(currency)
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(f"{text.strip()!r} is not an amount (like 12.50)") from None
    minor = value * (10**exp)
    if minor != minor.to_integral_value():
        raise ValidationError(f"{text.strip()!r} has more than {exp} decimals for {currency}")
    return int(minor)


def when(value: dt.datetime | None, *, short: bool = False) -> str:
    """A UTC time as the operator reads it: '2026-11-05 14:32' (short: '11-05 14:32')."""
    if value is None:
        return ""
    return value.strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")
