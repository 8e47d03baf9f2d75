"""Showing values on the screens: money and times as the operator reads them, and stored text
made safe for a terminal."""

from __future__ import annotations

import datetime as dt

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from store.money import format_money
from store.text import CONTROL as _CONTROL
from store.text import printable


def money(amount: int, currency: str) -> str:
    """Minor units as '1,234.50 EUR' for the screens."""
    return format_money(amount, currency, grouping=True)


def when(value: dt.datetime | None, *, short: bool = False) -> str:
    """A UTC time as the operator reads it: '2026-11-05 14:32'. Short, in a table's column:
    '11-05 14:32' this year, and the date with its year, '2025-11-05', any other year, so an
    archived order of a year ago never reads as one of today."""
    if value is None:
        return ""
    if short:
        this_year = value.year == dt.datetime.now(dt.UTC).year
        return value.strftime("%m-%d %H:%M" if this_year else "%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M")


def shown(value: object, multiline: bool = False) -> str:
    """Text a customer, an import or another program wrote, as the screens show it: each
    control character a visible escape (store.text.printable), never a terminal command."""
    return printable(value, multiline)


class ControlCharacterFilter(LineFilter):
    """The last guard: control characters left in any text the app paints are dropped before
    the line reaches the terminal (a terminal obeys `\\x1b]0;…\\x07` and `\\x1b[2J`). They
    take no cell, so the layout does not move; screens show them visibly with `shown`."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not any(not control and _CONTROL.search(text) for text, _s, control in segments):
            return segments
        return [Segment(_CONTROL.sub("", text), style, control) if not control else
                Segment(text, style, control) for text, style, control in segments]
