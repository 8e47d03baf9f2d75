"""Formatting money and times for display, and parsing amounts an operator types."""

from __future__ import annotations

import datetime as dt

from store.money import exponent, format_money, parse_amount

__all__ = ["exponent", "money", "parse_amount", "when"]



def money(amount: int, currency: str) -> str:
    """Minor units as '1,234.50 EUR' for the screens."""
    return format_money(amount, currency, grouping=True)


def when(value: dt.datetime | None, *, short: bool = False) -> str:
    """A UTC time as the operator reads it: '2026-11-05 14:32' (short: '11-05 14:32')."""
    if value is None:
        return ""
    return value.strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")
