"""Orders as CSV for the accounts: streamed in batches by id, so a million orders take the
memory of a few thousand, with the accounting columns as plain numbers in major units beside
a currency column (every export in the same units).

Written-out SQL (see store.sql): the database formats each cell (the amounts in major units,
exactly, by the currency's digits; the times; a text cell that starts like a formula gets a
leading ', as store.csvout does), so Python only hands each batch to csv.writer, with no
Python line run per row: formatting seven amounts per row in Python cost three times the
reading. The billing country, a pair of correlated subqueries, is guarded inside them, on their
MIN: a CASE around the subqueries ran them three times a row (2 of the 13 s of CPU a million
orders took). Rows are read a batch at a time by keyset on the id (never OFFSET) and written
as they come; the currencies' digits are learnt from the batches (see _read)."""

from __future__ import annotations

import csv
import operator
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import platformdirs

from store import db as dbmod
from store.config import APP_NAME, Config
from store.csvout import FORMULA_STARTS
from store.errors import ValidationError
from store.models import Order, db, utcnow
from store.money import exponent
from store.operators import Actor, require
from store.queries import QueueFilter, filter_conditions
from store.sql import Params

SCAN_CACHE_KB = 8000  # see _scan_cache
BATCH = 1000  # 4 % less CPU than 5,000 a batch at 1M orders
COLUMNS = ("code", "placed_at", "paid_at", "status", "archived", "test", "customer_name",
           "customer_email", "billing_country", "payment_method", "currency", "subtotal",
           "shipping", "tax", "discount", "total", "paid", "refunded")
AMOUNTS = ("subtotal", "shipping_cost", "tax", "discount", "total", "amount_paid",
           "amount_refunded")


@dataclass(frozen=True)
class Selection:
    """Which orders an export holds: those with these ids, or those the filter matches
    (archived and current alike unless `both_archived` is off: then the filter's own tab)."""

    filter: QueueFilter | None = None
    ids: tuple[int, ...] = ()
    both_archived: bool = True
    limit: int = 0  # 0: no limit


def _text(column: str) -> str:
    """A text cell never read as a formula (store.csvout's rule, in SQL). `column` is named
    three times: give a column or an aggregate, never a subquery (each mention runs it)."""
    starts = ", ".join("'" + c.replace("'", "''") + "'" for c in FORMULA_STARTS)
    return (f"CASE WHEN substr({column}, 1, 1) IN ({starts}) THEN '''' || {column} "
            f"ELSE {column} END")


def _country(kind: str) -> str:
    """The country of the order's `kind` address, guarded on the subquery's MIN (run once)."""
    return (f"(SELECT {_text('MIN(a.country)')} FROM address a WHERE a.order_id = o.id "
            f"AND a.kind = '{kind}')")


def _time(column: str) -> str:
    if dbmod.is_sqlite():
        return f"COALESCE(substr({column}, 1, 19), '')"
    return f"COALESCE(to_char({column}, 'YYYY-MM-DD HH24:MI:SS'), '')"


def _amount(column: str, digits: int) -> str:
    """Minor units as major units with `digits` decimals, exactly, in integers (4762 -> 47.62,
    5 -> 0.05, -5 -> -0.05; with 0 digits 1200 -> 1200)."""
    if not digits:
        return f"CAST({column} AS TEXT)"
    scale = 10 ** digits
    if dbmod.is_sqlite():  # the sign tested first, not abs() twice: 0.5 s less a million
        shown = f"%d.%0{digits}d"
        return (f"CASE WHEN {column} < 0 THEN printf('-{shown}', -{column} / {scale}, "
                f"-{column} % {scale}) ELSE printf('{shown}', {column} / {scale}, "
                f"{column} % {scale}) END")
    sign = f"CASE WHEN {column} < 0 THEN '-' ELSE '' END"
    return (f"{sign} || CAST(abs({column}) / {scale} AS TEXT) || '.' || "
            f"lpad(CAST(mod(abs({column}), {scale}) AS TEXT), {digits}, '0')")


def _money(column: str, currencies: Sequence[str]) -> str:
    """`_amount` by the row's currency: one expression when every currency the shop has takes
    the same digits (the usual shop), else a CASE on the currency."""
    digits = {c: exponent(c) for c in currencies if c.isalpha() and len(c) == 3}
    kinds = set(digits.values()) or {2}
    if len(kinds) == 1:
        return _amount(column, kinds.pop())
    cases = " ".join(f"WHEN '{c}' THEN {_amount(column, d)}" for c, d in digits.items())
    return f"CASE o.currency {cases} ELSE {_amount(column, 2)} END"


def _select(currencies: Sequence[str]) -> str:
    paid_at = ("(SELECT MAX(p.created_at) FROM payment p WHERE p.order_id = o.id "
               "AND p.kind = 'payment')")
    country = f"COALESCE({_country('billing')}, {_country('shipping')}, '')"
    cells = ["o.id", "o.code", _time("o.placed_at"), _time(paid_at), "o.status",
             "CASE WHEN o.archived THEN 1 ELSE 0 END", "CASE WHEN o.is_test THEN 1 ELSE 0 END",
             _text("o.customer_name"), _text("o.customer_email"), country,
             _text("o.payment_method"), "o.currency",
             *(_money(f"o.{a}", currencies) for a in AMOUNTS)]
    return f"SELECT {', '.join(cells)} FROM orders o"


_CURRENCY = operator.itemgetter(1 + COLUMNS.index("currency"))


def _read(where: str, p: Params, known: set[str]) -> list[Sequence[Any]]:
    """One batch, its amounts formatted by the digits of the currencies `known` so far; a
    batch with another currency adds it and, if that changes the digits, is read again. (A
    DISTINCT over the orders up front scanned the whole table: 0.3 s a million.)"""
    while True:
        head = _select(sorted(known))
        found = db.execute_sql(head + where, p).fetchall()
        seen = set(map(_CURRENCY, found))
        if seen <= known:
            return found
        known |= seen
        if _select(sorted(known)) == head:
            return found


def batches(selection: Selection) -> Iterator[list[Sequence[Any]]]:
    """The orders of the selection by id, BATCH at a time: each row is the order's id, then
    its CSV row (COLUMNS)."""
    known: set[str] = set()
    conds = []
    if selection.filter is not None:
        conds = filter_conditions(selection.filter, selection.both_archived)
    ids = sorted(set(selection.ids))
    left = selection.limit or -1
    last = 0
    while left:
        batch = BATCH if left < 0 else min(BATCH, left)
        p = Params()
        if conds or selection.ids:  # the filter's own query picks the batch's ids
            query = Order.select(Order.id).where(Order.id > last, *conds)
            if selection.ids:
                chunk, ids = ids[:batch], ids[batch:]
                query = query.where(Order.id.in_(chunk))
            sql, params = query.order_by(Order.id).limit(batch).sql()
            picked = [oid for (oid,) in db.execute_sql(sql, params)]
            if not picked and not (selection.ids and ids):
                return
            where = f"o.id IN ({', '.join(p(i) for i in picked) or 'NULL'})"
        else:
            where = f"o.id > {p(last)}"
        found = _read(f" WHERE {where} ORDER BY o.id LIMIT {batch}", p, known)
        if found:
            yield found
        if not (conds or selection.ids) and len(found) < batch:
            return
        if selection.ids and not ids:
            return
        if found and not selection.ids:
            last = found[-1][0]
        if left > 0:
            left -= len(found)


@contextmanager
def _scan_cache() -> Iterator[None]:
    """SQLite's page cache at SCAN_CACHE_KB for the export, then back to its size: store.db
    gives each connection 64 MB, which a scan of every order fills for nothing (a page is
    read once), so a million orders took 108 MB against 48 MB for 10,000; with 8 MB, 52 MB
    and no slower."""
    if not dbmod.is_sqlite():
        yield
        return
    (size,) = db.execute_sql("PRAGMA cache_size").fetchone()
    db.execute_sql(f"PRAGMA cache_size = {-SCAN_CACHE_KB}")
    try:
        yield
    finally:
        db.execute_sql(f"PRAGMA cache_size = {int(size)}")


def write(actor: Actor, selection: Selection, out: IO[str],
          progress: Callable[[int], Any] | None = None) -> int:
    """Write the selection as CSV with a header to `out`, streaming; `progress(n)` hears how
    many rows are written after each batch. Returns the number of rows. A batch goes to
    csv.writer whole, its ids cut off in C (itemgetter): a generator's line per row cost
    0.2-0.5 s a million."""
    require(actor, "export")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    without_id = operator.itemgetter(slice(1, None))
    count = 0
    with _scan_cache():
        for found in batches(selection):
            writer.writerows(map(without_id, found))
            count += len(found)
            if progress is not None:
                progress(count)
    if progress is not None and not count:
        progress(0)
    return count


def export_dir(config: Config) -> Path:
    """`ui.export_dir`, or an `exports` folder in the user data directory."""
    configured = str(config.get("ui", "export_dir"))
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "exports"


@dataclass(frozen=True)
class ExportFile:
    path: Path
    orders: int


def export_file(actor: Actor, selection: Selection, folder: Path,
                progress: Callable[[int], Any] | None = None) -> ExportFile:
    """Write the selection to a new file `orders-<when>-<random>.csv` in `folder`."""
    name = f"orders-{utcnow():%Y-%m-%d-%H%M%S}-{secrets.token_hex(3)}.csv"
    return export_to(actor, selection, folder / name, progress)


def folder_problem(path: Path) -> str | None:
    """Why `path`'s folder cannot hold a file, when a part of it is a file (`cfg.toml/x.csv`):
    the system's own words ("File exists", "Not a directory") said the opposite of what was
    wrong."""
    for part in (path.parent, *path.parent.parents):
        if part.exists():
            return None if part.is_dir() else f"{part} is a file, not a folder"
    return None


def export_to(actor: Actor, selection: Selection, path: Path,
              progress: Callable[[int], Any] | None = None) -> ExportFile:
    """Write the selection to `path`, a new file (never over another one, readable by its
    owner only); a folder that cannot be written, or a file already there, is one line and
    leaves nothing behind."""
    require(actor, "export")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        reason = folder_problem(path) or exc.strerror or str(exc)
        raise ValidationError(f"cannot write the export to {path}: {reason}",
                              field="output") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            count = write(actor, selection, file, progress)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ExportFile(path.resolve(), count)
