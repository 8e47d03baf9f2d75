"""Money as integers of minor units: the one place that formats and parses amounts exactly."""

from __future__ import annotations

import re

from babel.numbers import get_currency_precision

from store.errors import ValidationError

_AMOUNT = re.compile(r"\s*(\d+)(?:[.,](\d+))?\s*")


def exponent(currency: str) -> int:
    """Digits of the minor unit (EUR 2, JPY 0, KWD 3), from ISO 4217 via Babel."""
    return int(get_currency_precision(currency.upper()))


def format_money(amount: int, currency: str, grouping: bool = False) -> str:
    """Minor units as major units, exactly (no float): 123450 EUR -> '1234.50 EUR'
    ('1,234.50 EUR' with grouping)."""
    digits = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**digits)
    text = f"{whole:,}" if grouping else str(whole)
    if digits:
        text += f".{frac:0{digits}d}"
    return f"{sign}{text} {currency}"


def parse_amount(text: str, currency: str) -> int:
    """'12.50' (or '12,50', '12') in major units -> 1250 minor units, parsed exactly."""
    digits = exponent(currency)
    match = _AMOUNT.fullmatch(text)
    if not match:
        raise ValidationError(f"{text.strip()!r} is not an amount; write it like 12.50")
    whole, frac = match.group(1), match.group(2) or ""
    if len(frac) > digits:
        raise ValidationError(
            f"{text.strip()!r} has more decimals than {currency} allows ({digits})"
        )
    return int(whole) * 10**digits + int(frac.ljust(digits, "0") or "0")
