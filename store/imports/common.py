"""What every importer shares: the rows read from a file (orders, customers) before the
store's rules check them, the report (created, updated, skipped, refused: each with where in
the file and why), and the readers of the values other programs write (amounts, dates with
their offsets, `'75008`-style postcodes, countries, yes/no)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gc
import operator
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from store.errors import ValidationError
from store.money import exponent, parse_amount
from store.text import shown

SOURCE_LABELS = {"shopify": "Shopify", "woocommerce": "WooCommerce",
                 "customers": "a customers file"}
Progress = Callable[[int], Any]


@dataclass(frozen=True)
class Line:
    """One line of a report: where in the file, what, and why (or what it becomes)."""

    where: str
    what: str
    reason: str = ""

    def text(self) -> str:
        return f"{self.where}: {self.what}" + (f": {self.reason}" if self.reason else "")


@dataclass
class ImportReport:
    """What an import did (or, dry, would do). `unknown`: values the mapping tables do not
    know (table -> value -> how many orders); while there are any, nothing is written."""

    source: str
    dry_run: bool
    created: list[Line] = field(default_factory=list)
    updated: list[Line] = field(default_factory=list)
    skipped: list[Line] = field(default_factory=list)
    refused: list[Line] = field(default_factory=list)
    unknown: dict[str, dict[str, int]] = field(default_factory=dict)
    mails: int = 0
    webhooks: int = 0

    @property
    def blocked(self) -> bool:
        return bool(self.unknown)

    def summary(self) -> str:
        label = SOURCE_LABELS.get(self.source, self.source)
        if self.blocked:
            values = "; ".join(f"{table}: " + ", ".join(f"{v!r} ({n})" for v, n in vals.items())
                               for table, vals in self.unknown.items())
            return (f"import from {label}: nothing written; the mapping tables do not know "
                    f"{values} (add them under [imports.<table>] in config.toml)")
        verb = "would be " if self.dry_run else ""
        text = (f"import from {label}: {_kinds(self.created)} {verb}created, "
                f"{_kinds(self.updated)} {verb}updated, {_kinds(self.skipped)} skipped, "
                f"{_kinds(self.refused)} refused")
        if self.mails or self.webhooks:
            text += f"; {self.mails:,} email(s) and {self.webhooks:,} webhook(s) queued"
        return text


def _kinds(lines: list[Line]) -> str:
    """"2 orders and 1 customer", "0": how many lines of each kind."""
    counts: dict[str, int] = {}
    for line in lines:
        kind = line.what.split(" ", 1)[0]
        kind = kind if kind in ("order", "customer") else "row"
        counts[kind] = counts.get(kind, 0) + 1
    if not counts:
        return "0"
    return " and ".join(f"{n:,} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items())


@dataclass
class ItemIn:
    sku: str
    name: str
    quantity: int
    unit_price: int
    tax_rate_bp: int = 0


@dataclass
class RefundIn:
    amount: int
    reason: str
    at: dt.datetime | None


@dataclass
class OrderIn:
    """One order as a file gives it, its status already mapped onto the workflow."""

    where: str
    reference: str
    currency: str
    placed_at: dt.datetime  # naive UTC
    placed_text: str  # as the file wrote it (the shop's local time and offset)
    status: str
    status_says: str  # what the file said, for the history ("paid, fulfilled")
    email: str = ""
    name: str = ""
    phone: str = ""
    subtotal: int = 0
    tax: int = 0
    shipping_cost: int = 0
    discount: int = 0
    total: int = 0
    paid: int = 0
    refunded: int = 0
    payment_method: str = ""
    payment_reference: str = ""
    shipping_method: str = ""
    customer_note: str = ""
    consent: bool = False
    items: list[ItemIn] = field(default_factory=list)
    addresses: dict[str, dict[str, str]] = field(default_factory=dict)
    paid_at: dt.datetime | None = None
    fulfilled_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    refunds: list[RefundIn] = field(default_factory=list)
    customer_id: int | None = None  # set once matched or created


@dataclass
class CustomerIn:
    """One customer as a customers file gives them, checked."""

    where: str
    email: str
    first_name: str
    last_name: str
    phone: str
    address: dict[str, str]
    consent: bool
    consent_at: dt.datetime | None


@dataclass
class Parsed:
    """What a reader made of a file: the orders, the rows it could not read, and the values
    its mapping tables do not know."""

    orders: list[OrderIn] = field(default_factory=list)
    refused: list[Line] = field(default_factory=list)
    unknown: dict[str, dict[str, int]] = field(default_factory=dict)
    # A reader that checks its orders as it reads them (store.imports.shopify, on both cores)
    # gives here each one's outcome in the file's order: the order checked, or its refusal.
    checked: list[OrderIn | Line] | None = None

    def note_unknown(self, table: str, value: str) -> None:
        counts = self.unknown.setdefault(table, {})
        counts[value] = counts.get(value, 0) + 1


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a file is imported (reference counting
    still frees what is dropped), then back on as it was: a file's records are millions of
    objects that live to the end, and the collector's passes over them, which free nothing,
    took as much as 40 % of reading 100,000 orders."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ----- reading values ------------------------------------------------------------------------

def header_key(name: str) -> str:
    """A header as it is matched: case, spaces, dashes and underscores left aside."""
    return re.sub(r"[\s_\-]+", "", name.strip().lstrip("\ufeff")).lower()


class Columns:
    """The columns of a CSV file by their header names (never by position). Rows are first
    made `normal` (cells stripped, short rows padded), so a getter is a plain itemgetter."""

    def __init__(self, header: Sequence[str]) -> None:
        self.index: dict[str, int] = {}
        self.width = len(header)
        for position, name in enumerate(header):
            self.index.setdefault(header_key(name), position)

    def normal(self, row: Sequence[str]) -> list[str]:
        """The row's cells stripped, padded to the header and one empty cell more (where a
        column the file lacks reads from)."""
        cells = list(map(str.strip, row[:self.width]))
        cells.extend([""] * (self.width + 1 - len(cells)))
        return cells

    def has(self, *names: str) -> bool:
        return any(header_key(n) in self.index for n in names)

    def getter(self, *names: str) -> Callable[[Sequence[str]], str]:
        """A reader of the first of `names` the header has, on a normal row ("" when the
        header has none of them)."""
        for name in names:
            position = self.index.get(header_key(name))
            if position is not None:
                return operator.itemgetter(position)
        return operator.itemgetter(self.width)


_CENTS = re.compile(r"-?(\d{1,15})\.(\d\d)")


@functools.lru_cache(maxsize=64)
def _digits(currency: str) -> int:
    return exponent(currency)


def amount(text: str, currency: str, field_name: str) -> int:
    """An amount in major units ('53.91', '-5.00', '1,234.50', '') as minor units; a refund
    written negative counts as its size. Exact: never through a float."""
    plain = _CENTS.fullmatch(text)
    if plain is not None and _digits(currency) == 2:  # what exports write, read at once
        return int(plain.group(1)) * 100 + int(plain.group(2))
    text = text.strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return 0
    text = text.lstrip("-+")
    if "," in text and "." in text:
        text = text.replace(",", "")
    try:
        return parse_amount(text, currency)
    except ValidationError as exc:
        raise ValidationError(f"{field_name}: {exc}", field=field_name) from None


_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?"
                   r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?", re.IGNORECASE)


def moment(text: str, field_name: str) -> dt.datetime | None:
    """A time as another shop writes it, as naive UTC: Shopify's shop-local time with its
    offset ('2025-10-07 09:50:26 +0200'), ISO 8601 ('2017-03-22T16:28:02', with Z or an
    offset). A time without an offset is taken as UTC (WooCommerce's *_gmt fields)."""
    text = text.strip()
    if not text:
        return None
    found = _TIME.fullmatch(text)
    try:
        if found is None:
            raise ValueError(text)
        day, clock, zone = found.groups()
        value = dt.datetime.fromisoformat(f"{day} {clock or '00:00'}")
        if zone and zone.upper() not in ("Z", "UTC", "GMT"):
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            value -= sign * offset
    except ValueError:
        raise ValidationError(f"{field_name}: {shown(text)} is not a date and time",
                              field=field_name) from None
    return value


def postcode(text: str) -> str:
    """A postcode as a spreadsheet-safe export writes it: `'75008` is 75008 (the apostrophe
    only kept the leading zero from being dropped)."""
    text = text.strip()
    return text[1:].strip() if text.startswith("'") else text


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for language in ("en", "fr", "de", "es"):
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(_fold(name), code)
    return names


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def country(text: str, field_name: str = "country") -> str:
    """A two-letter ISO code, from a code or a country's name ('France', 'Deutschland')."""
    text = text.strip()
    if not text:
        return ""
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    found = _country_names().get(_fold(text))
    if found is None:
        raise ValidationError(f"{field_name}: {shown(text)} is not a country (a two-letter "
                              "ISO code or an English name)", field=field_name)
    return found


YES = {"yes", "y", "true", "1", "subscribed", "confirmed", "opt-in", "optin", "oui", "x"}
NO = {"", "no", "n", "false", "0", "unsubscribed", "not_subscribed", "notsubscribed",
      "pending", "non", "opt-out", "optout", "redacted", "invalid"}


def yes_no(text: str, field_name: str) -> bool:
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValidationError(f"{field_name}: {shown(text)} is neither yes nor no",
                          field=field_name)


def split_name(name: str) -> tuple[str, str]:
    """'Sophie GALLAS' -> ('Sophie', 'GALLAS'): the first word, then the rest."""
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def check_mapping(table: Mapping[str, str], name: str, workflow_keys: Sequence[str],
                  blank_ok: bool = False) -> None:
    """Each status a mapping table names is one of the workflow's."""
    for key, value in table.items():
        if value == "" and blank_ok:
            continue
        if value not in workflow_keys:
            raise ValidationError(
                f"imports.{name}.{key} = {value!r} is not a status of the workflow "
                f"({', '.join(workflow_keys)})", field=f"imports.{name}")


def open_csv(path: Path) -> tuple[Columns, Any, IO[str]]:
    """A CSV file opened for reading (UTF-8, a BOM allowed): its columns, the csv reader
    past the header and the open file (the caller closes it); a file that cannot be read,
    is empty or is not UTF-8 CSV is refused in one line."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValidationError(f"{path}: cannot be read: {exc.strerror}", field="file") from None
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise ValidationError(f"{path.name} is empty", field="file") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        handle.close()
        raise ValidationError(f"{path.name} is not a CSV file in UTF-8: {exc}",
                              field="file") from None
    return Columns(header), reader, handle


def numbered_rows(path: Path, columns: Columns, reader: Any,
                  handle: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each row after the header (row 1), the file closed at the
    end; a row that cannot be read is refused naming where."""
    normal = columns.normal
    try:
        for number, row in enumerate(reader, start=2):
            yield number, normal(row)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path.name}: cannot be read past row {reader.line_num}: "
                              f"{exc}", field="file") from None
    finally:
        handle.close()
