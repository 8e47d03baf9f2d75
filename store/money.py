"""Money as integers of minor units: the one place that formats and parses amounts exactly."""

from __future__ import annotations

import functools
import re

from babel.numbers import get_currency_precision

from store.errors import ValidationError
from store.models import MAX_INT
from store.text import shown

_AMOUNT = re.compile(r"\s*(\d+)(?:[.,](\d+))?\s*", re.ASCII)


@functools.cache
def exponent(currency: str) -> int:
    """Digits of the minor unit (EUR 2, JPY 0, KWD 3), from ISO 4217 via Babel."""
    return int(get_currency_precision(currency.upper()))


def check_currency(code: str, field: str = "currency") -> str:
    """An ISO 4217 currency code (as Babel, which formats it, knows them), upper-cased."""
    from babel.numbers import list_currencies

    upper = code.strip().upper() if isinstance(code, str) else ""
    if len(upper) != 3 or not upper.isascii() or upper not in list_currencies():
        raise ValidationError(f"{shown(str(code))} is not an ISO 4217 currency code (like EUR)",
                              field=field)
    return upper


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


def major(amount: int, currency: str) -> str:
    """Minor units as a plain number of major units, exactly, for exports: 4762 EUR -> '47.62',
    -5 EUR -> '-0.05', 1200 JPY -> '1200'."""
    digits = exponent(currency)
    if not digits:
        return str(amount)
    whole, frac = divmod(abs(amount), 10**digits)
    return f"{'-' if amount < 0 else ''}{whole}.{frac:0{digits}d}"


def parse_amount(text: str, currency: str) -> int:
    """'12.50' (or '12,50', '12') in major units -> 1250 minor units, parsed exactly."""
    digits = exponent(currency)
    match = _AMOUNT.fullmatch(text)
    if not match:
        raise ValidationError(f"{shown(text)} is not an amount; write it like 12.50",
                              field="amount")
    whole, frac = match.group(1).lstrip("0") or "0", match.group(2) or ""
    if len(frac) > digits:
        raise ValidationError(
            f"{shown(text)} has more decimals than {currency} allows ({digits})", field="amount"
        )
    amount = int(whole) * 10**digits + int(frac.ljust(digits, "0") or "0") \
        if len(whole) <= 19 else MAX_INT + 1
    if amount > MAX_INT:
        raise ValidationError(f"{shown(text)} is too large an amount", field="amount")
    return amount


_PERCENT = re.compile(r"\s*(\d{1,3})(?:[.,](\d{1,2}))?\s*%?\s*", re.ASCII)


def parse_percent(text: str) -> int:
    """'7.5' (or '7,5', '7.5 %') percent -> 750 basis points, exactly; 0 to 100 only. No
    float: 'inf', 'nan' and '1e309' are not percentages."""
    match = _PERCENT.fullmatch(text)
    if not match:
        raise ValidationError(
            f"{shown(text)} is not a percentage; write it like 5 or 7.5 (at most two decimals)",
            field="discount")
    basis = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
    if basis > 10000:
        raise ValidationError(f"{shown(text)}: a discount is between 0 and 100 %",
                              field="discount")
    return basis
