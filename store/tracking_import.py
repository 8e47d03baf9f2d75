"""Tracking numbers from a carrier's file: a CSV whose columns are found by their header
(the order's code or its internal reference, the tracking number, optionally the carrier),
read into lines with what each refers to, then one bulk status change that gives each order
its own number (store.status.change_status with tracking_each).

Written-out SQL (see store.sql) for the one read that finds orders by internal reference,
whatever the file's length."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from store import carriers as carriersmod
from store.codes import format_code, parse_code
from store.errors import BackroomError, ValidationError
from store.models import db
from store.operators import Actor
from store.shop import Shop
from store.sql import values_source
from store.status import StatusChange, change_status
from store.text import clean

MAX_LINES = 100_000
# Header names, compared lower-case with spaces, dashes and dots as underscores.
ORDER_HEADERS = ("order", "order_code", "code", "order_number", "order_no", "order_nr",
                 "order_ref", "commande", "numero_de_commande")
REFERENCE_HEADERS = ("reference", "ref", "internal_reference", "order_reference",
                     "customer_reference", "your_reference", "reference_client")
TRACKING_HEADERS = ("tracking", "tracking_number", "tracking_no", "tracking_nr",
                    "tracking_code", "tracking_id", "parcel_number", "consignment_number",
                    "awb", "numero_de_suivi", "suivi")
CARRIER_HEADERS = ("carrier", "courier", "transporteur")


@dataclass(frozen=True)
class ImportLine:
    """One line of the file: what it says, the order it names (id 0: none), and why it is
    skipped ('' when it is not)."""

    line: int
    given: str
    tracking: str
    carrier: str
    order_id: int = 0
    code: str = ""
    problem: str = ""


@dataclass(frozen=True)
class TrackingImport:
    """A carrier's file read: every line, in the file's order."""

    lines: tuple[ImportLine, ...]
    columns: tuple[str, ...]  # the headers used, as found: order/reference, tracking, carrier

    @property
    def problems(self) -> list[ImportLine]:
        return [x for x in self.lines if x.problem]

    @property
    def usable(self) -> list[ImportLine]:
        return [x for x in self.lines if not x.problem]


def _key(header: str) -> str:
    return re.sub(r"[\s\-.]+", "_", header.strip().lower().lstrip("\ufeff")).strip("_")


def _find(headers: Sequence[str], names: Sequence[str]) -> int | None:
    keys = [_key(h) for h in headers]
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def read_text(path: str | Path) -> str:
    """A carrier's file as text (UTF-8, with or without a byte-order mark)."""
    file = Path(path).expanduser()
    try:
        return file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"no such file: {file}", field="file") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{file} is not UTF-8 text; save it as UTF-8 CSV",
                              field="file") from None
    except OSError as exc:
        raise ValidationError(f"cannot read {file}: {exc.strerror}", field="file") from None


def parse(shop: Shop, text: str) -> TrackingImport:
    """Read a carrier's CSV (comma, semicolon or tab separated): each line's order by code,
    else by internal reference; its tracking number; its carrier if a column gives one.
    A line that names no order, names one twice, or gives an unknown carrier is kept with
    its problem, and skipped by `ship`."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        raise ValidationError("the file is empty", field="file")
    if len(rows) > MAX_LINES + 1:
        raise ValidationError(f"the file has {len(rows) - 1:,} lines; at most {MAX_LINES:,} "
                              "at a time", field="file")
    headers = rows[0]
    order_at = _find(headers, ORDER_HEADERS)
    reference_at = _find(headers, REFERENCE_HEADERS)
    tracking_at = _find(headers, TRACKING_HEADERS)
    carrier_at = _find(headers, CARRIER_HEADERS)
    if tracking_at is None or (order_at is None and reference_at is None):
        found = ", ".join(repr(h) for h in headers) or "none"
        raise ValidationError(
            "the file needs a header line naming an order column (order, order code, or "
            "reference) and a tracking column (tracking, tracking number); its headers are: "
            f"{found}", field="file")
    used = tuple(headers[i] for i in (order_at, reference_at, tracking_at, carrier_at)
                 if i is not None)
    lines: list[ImportLine] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(at: int | None, row: list[str] = row) -> str:
            return row[at].strip() if at is not None and at < len(row) else ""

        try:
            given = clean(cell(order_at) or cell(reference_at), "order")
            tracking = clean(cell(tracking_at), "tracking")
            carrier = clean(cell(carrier_at), "carrier")
        except BackroomError as exc:
            lines.append(ImportLine(number, "", "", "", problem=str(exc)))
            continue
        problem = ("no order code or reference" if not given
                   else "no tracking number" if not tracking else "")
        if carrier and not problem:
            try:
                carrier = carriersmod.resolve(shop.config.carriers, carrier)
            except BackroomError as exc:
                problem = str(exc)
        lines.append(ImportLine(number, given, tracking, carrier, problem=problem))
    return TrackingImport(tuple(_resolve(shop, lines, order_at is not None)), used)


def _resolve(shop: Shop, lines: list[ImportLine], codes: bool) -> list[ImportLine]:
    """Each line's order: by its code (the check digit checked), else by an internal
    reference (one read for the whole file); an order named on two lines is refused on
    both, since only one number can be its own."""
    numbers: dict[int, int] = {}  # line -> order number (-1: not a code)
    references = [x.given for x in lines if not x.problem]
    for x in lines:
        if x.problem:
            continue
        try:
            numbers[x.line] = parse_code(x.given, shop.prefix) if codes or _looks_like_code(
                x.given, shop.prefix) else -1
        except BackroomError:
            numbers[x.line] = -1
    found_numbers = _orders_by_number(list({n for n in numbers.values() if n >= 0}))
    found_refs = _orders_by_reference(references)
    resolved: list[ImportLine] = []
    for x in lines:
        if x.problem:
            resolved.append(x)
            continue
        number = numbers[x.line]
        hit = found_numbers.get(number) if number >= 0 else None
        if hit is None:
            hit = found_refs.get(x.given.casefold())
        if hit is None:
            what = (format_code(shop.prefix, number) if number >= 0
                    else f"an order with the reference {x.given!r}")
            resolved.append(replace(x, problem=f"no such order: {what}"))
        elif hit == (0, ""):
            resolved.append(replace(x, problem=f"several orders have the reference "
                                               f"{x.given!r}; give the order code"))
        else:
            resolved.append(replace(x, order_id=hit[0], code=hit[1]))
    seen: dict[int, list[int]] = {}
    for x in resolved:
        if x.order_id:
            seen.setdefault(x.order_id, []).append(x.line)
    return [replace(x, order_id=0, problem=f"{x.code} is on lines "
                    f"{', '.join(map(str, seen[x.order_id]))}: one number per order")
            if x.order_id and len(seen[x.order_id]) > 1 else x for x in resolved]


def _looks_like_code(text: str, prefix: str) -> bool:
    return bool(re.fullmatch(rf"(?:{re.escape(prefix)}-?)?\d+", text.strip(), re.I))


def _orders_by_number(numbers: list[int]) -> dict[int, tuple[int, str]]:
    if not numbers:
        return {}
    source, params = values_source("numbers", [("number", "bigint")], [(n,) for n in numbers])
    return {int(n): (int(i), str(c)) for i, c, n in db.execute_sql(
        f"SELECT o.id, o.code, o.number FROM {source} JOIN orders o ON o.number = given.number",
        params)}


def _orders_by_reference(references: list[str]) -> dict[str, tuple[int, str]]:
    """Orders by internal reference (any case); a reference on several orders maps to
    (0, '')."""
    if not references:
        return {}
    wanted = sorted({r.casefold() for r in references})
    source, params = values_source("refs", [("ref", "text")], [(r,) for r in wanted])
    found: dict[str, tuple[int, str]] = {}
    for oid, code, ref in db.execute_sql(
            f"SELECT o.id, o.code, lower(o.internal_reference) FROM orders o "
            f"WHERE o.internal_reference <> '' AND lower(o.internal_reference) IN "
            f"(SELECT ref FROM {source})", params):
        key = str(ref).casefold()
        found[key] = (0, "") if key in found else (int(oid), str(code))
    return found


def ship(shop: Shop, actor: Actor, imported: TrackingImport, *, to_status: str | None = None,
         notify: bool = True, dry_run: bool = False, hold_mail: bool = True) -> StatusChange:
    """One bulk status change (to the workflow's shipping status unless `to_status`) of every
    usable line's order, each with its own tracking number and carrier, in the file's
    order. Lines with a problem are left out (the caller shows them)."""
    target = to_status or next(iter(shop.workflow.shipping_keys()), "")
    if not target:
        raise ValidationError("the workflow has no status that takes a tracking number; "
                              "give the status (--to)", field="to")
    usable = imported.usable
    each = {x.order_id: (x.tracking, x.carrier or None) for x in usable}
    return change_status(shop, actor, [x.order_id for x in usable], target, notify=notify,
                         tracking_each=each, dry_run=dry_run, hold_mail=hold_mail)
