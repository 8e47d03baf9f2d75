"""Order codes: PREFIX-NUMBER plus a Damm check digit, which catches every single-digit
typo and every swap of two adjacent digits, so a mistyped code never opens another order."""

from __future__ import annotations

import re

from store.errors import ValidationError
from store.models import MAX_INT
from store.text import shown

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

FIRST_NUMBER = 10000


def check_digit(number: int | str) -> int:
    """The Damm check digit of a non-negative number (or of its decimal digits, as typed)."""
    interim = 0
    for ch in str(number):
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def format_code(prefix: str, number: int) -> str:
    """The printed code of order number `number`, e.g. BR-100007."""
    body = f"{number}{check_digit(number)}"
    return f"{prefix}-{body}" if prefix else body


_CODE = re.compile(r"^\s*(?:([A-Za-z]+)\s*[-_ ]?\s*)?(\d{2,})\s*$", re.ASCII)


def looks_like_code(text: str) -> bool:
    """True when text has the shape of an order code (a scanner's input, or typed)."""
    return bool(_CODE.match(text))


def parse_code(text: str, prefix: str) -> int:
    """The order number in a code typed or scanned, with or without prefix, any case.

    Raises ValidationError when the text is not a code, names another shop's prefix, or its
    check digit does not match (a typo)."""
    match = _CODE.match(text)
    if not match:
        example = format_code(prefix, FIRST_NUMBER)
        raise ValidationError(f"{shown(text)} is not an order code (like {example})",
                              field="code")
    given_prefix, digits = match.groups()
    if given_prefix and prefix and given_prefix.upper() != prefix.upper():
        raise ValidationError(
            f"no such order: {shown(text)} has prefix {given_prefix.upper()}, "
            f"this shop's codes start with {prefix}", field="code"
        )
    if len(digits) > 20 or int(digits[:-1]) > MAX_INT:
        raise ValidationError(f"no such order: {shown(text)} is longer than any order code",
                              field="code")
    number, check = int(digits[:-1]), ord(digits[-1]) - 48
    if check_digit(str(number)) != check:
        raise ValidationError(
            f"no such order: check character does not match in {shown(text)} (a typo?)",
            field="code"
        )
    return number
