"""CSV that a spreadsheet opens as data, never as formulas: every CSV backroom writes goes
through here (the command line's `--format csv`).

A name like `+SUM(1,2)` or `=HYPERLINK(...)` typed by a customer would otherwise run as a
formula in the operator's spreadsheet (CSV injection). The OWASP rule: a text cell that starts
with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which spreadsheets
show as text and do not evaluate. Numbers the program wrote (int, float, Decimal values, e.g.
a total in cents or an order count) are left as numbers, negative ones too: pass them as
numbers, not as formatted text, to keep them numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """One cell as written: a number stays a number, None is empty, anything else is text,
    prefixed with `'` when it starts like a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):  # bool too: it prints True / False
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """csv.writer whose every cell goes through safe_cell."""

    def __init__(self, file: Any, **fmtparams: Any) -> None:
        self._writer = csv.writer(file, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """csv.DictWriter whose every cell (the header's too) goes through safe_cell; keys not in
    `fieldnames` are left out."""

    def __init__(self, file: Any, fieldnames: Sequence[str], **fmtparams: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = SafeWriter(file, **fmtparams)

    def writeheader(self) -> Any:
        return self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, Any]) -> Any:
        return self._writer.writerow([row.get(name) for name in self.fieldnames])

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV text with a header line: what `--format csv` prints."""
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
