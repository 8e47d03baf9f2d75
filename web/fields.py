"""The field types every request body is built of: text of bounded size without control
characters, amounts in minor units within what a column holds, ISO 3166 countries and ISO
4217 currencies, each checked by the store's own rule so the refusal names the exact field
(`items[2].name`) before the store sees the request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from store.contact import check_country
from store.errors import BackroomError
from store.money import check_currency
from store.text import problem

# Amounts in minor units: up to ten billion major units of a two-decimal currency, so that
# sums of lines times quantities stay far inside the 64-bit columns.
MAX_AMOUNT = 10**12
MAX_QUANTITY = 100_000
MAX_ITEMS = 500

STRICT = ConfigDict(extra="forbid", strict=True)


def _single_line(value: str) -> str:
    wrong = problem(value)
    if wrong is not None:
        raise ValueError(wrong)
    return value


def _multi_line(value: str) -> str:
    wrong = problem(value.replace("\r\n", "\n"), multiline=True)
    if wrong is not None:
        raise ValueError(wrong)
    return value


def _rule(check: Callable[[str], str]) -> AfterValidator:
    """A store rule as a validator: its refusal becomes the field's error message."""
    def validate(value: str) -> str:
        try:
            return check(value)
        except BackroomError as exc:
            raise ValueError(exc.message) from None
    return AfterValidator(validate)


Name = Annotated[str, Field(max_length=100), AfterValidator(_single_line)]
Short = Annotated[str, Field(max_length=64), AfterValidator(_single_line)]
Line = Annotated[str, Field(max_length=200), AfterValidator(_single_line)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_single_line)]
Note = Annotated[str, Field(max_length=4000), AfterValidator(_multi_line)]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT, description="minor units (cents)")]
PositiveAmount = Annotated[int, Field(ge=1, le=MAX_AMOUNT, description="minor units (cents)")]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
TaxRate = Annotated[int, Field(ge=0, le=10000, description="basis points: 2000 is 20 %")]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["EUR"],
                                description="ISO 4217 code"), _rule(check_currency)]
Country = Annotated[str, Field(min_length=2, max_length=2, examples=["FR"],
                               description="ISO 3166-1 alpha-2 code"), _rule(check_country)]
Language = Literal["en", "fr"]
