"""Invoices and credit notes: numbered from a gapless sequence per series and year, issued
in the transaction of the change that calls for them, frozen, and never changed.

A series is PREFIX-YEAR (documents.invoice_prefix, or credit_note_prefix for credit notes;
the year of issue, UTC). Its counter row (`counter`, named invoice:FA-2026) is advanced by
`UPDATE ... RETURNING` inside the issuing transaction: the row stays locked until that
transaction ends, so two issuers take turns, and a rollback gives the numbers back with
everything else (an auto-increment or a sequence would keep them: a gap). `MAX(number)+1`
is never used: two transactions would read the same maximum. The unique key on (series,
number) refuses a duplicate should anything else go wrong.

What is issued is frozen: `invoice.data` holds the whole document as JSON
(store.document_reads.doc_json), so it prints the same bytes at any time, whatever changes
later on the order (an address edited) or in the config (the shop's address).

When: an order gets its invoice the first time it enters a status flagged `paid` (the status
change issues it, set-based for a bulk change). A payment recorded with `record_payment`
issues none, even when it pays the order in full: the invoice goes with the paid status and
its mail, once. Test orders get none. Undoing the change keeps the invoice (a number once
issued stands; entering the paid status again issues no second one). A refund of an order
that has an invoice issues a credit note in its own series, naming the invoice it corrects.

Written-out SQL (see store.sql): the counter's UPDATE ... RETURNING, the set-based choice of
the orders to invoice, and the gap check's grouped read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from store.document_reads import credit_note_doc, doc_json, invoice_docs, order_invoice
from store.models import Counter, Invoice, db, utcnow
from store.operators import Actor
from store.shop import Shop
from store.sql import id_source, id_value, insert_rows, named

NUMBER_DIGITS = 5


def series(prefix: str, when: dt.datetime) -> str:
    """The series of a document issued at `when` (UTC): FA-2026."""
    return f"{prefix.upper()}-{when.year}"


def code(series_name: str, number: int) -> str:
    """FA-2026-00042."""
    return f"{series_name}-{number:0{NUMBER_DIGITS}d}"


def allocate(series_name: str, count: int) -> int:
    """Take `count` consecutive numbers of a series inside the current transaction; the
    first. The counter row is created at 0 on first use (a concurrent creator waits, then
    finds it), then advanced by UPDATE ... RETURNING, which holds its lock until commit."""
    name = f"invoice:{series_name}"
    Counter.insert(name=name, value=0).on_conflict_ignore().execute()
    row = db.execute_sql(
        f"UPDATE counter SET value = value + {named('count')}, updated_at = {named('now')} "
        f"WHERE name = {named('name')} RETURNING value",
        {"count": int(count), "now": utcnow(), "name": name}).fetchone()
    return int(row[0]) - count + 1


def to_issue(order_ids: Sequence[int]) -> list[int]:
    """The orders among these (in the order given) that would get an invoice: real orders
    that have none yet."""
    if not order_ids:
        return []
    rows = db.execute_sql(
        f"SELECT o.id FROM {id_source('ids')} JOIN orders o ON o.id = pick.value "
        "WHERE NOT o.is_test AND NOT EXISTS (SELECT 1 FROM invoice i WHERE "
        "i.order_id = o.id AND i.kind = 'invoice') ORDER BY pick.key",
        {"ids": id_value(order_ids)})
    return [int(r[0]) for r in rows]


def issue_for(shop: Shop, actor: Actor, order_ids: Sequence[int],
              now: dt.datetime | None = None) -> list[str]:
    """Issue each of these orders its invoice if it is a real order without one, numbered
    in the order given; inside the caller's transaction (the status change's). The codes."""
    ids = to_issue(order_ids)
    if not ids:
        return []
    now = now or utcnow()
    name = series(str(shop.config.get("documents", "invoice_prefix")), now)
    first = allocate(name, len(ids))
    codes = [code(name, first + n) for n in range(len(ids))]
    docs = invoice_docs(shop.config, ids, codes, now)
    insert_rows(Invoice, [
        {"kind": "invoice", "series": name, "number": first + n, "code": codes[n],
         "order": oid, "corrects": None, "issued_at": now, "currency": doc.currency,
         "total": doc.total, "data": doc_json(doc), "operator_login": actor.login,
         "created_at": now, "updated_at": now}
        for n, (oid, doc) in enumerate(zip(ids, docs, strict=True))])
    return codes


def issue_credit_note(shop: Shop, actor: Actor, order_id: int, amount: int, reason: str,
                      now: dt.datetime | None = None) -> str | None:
    """The credit note of a refund of `amount`, correcting the order's invoice as issued, in
    the caller's transaction (the refund's); its code, or None when the order has no invoice
    (a test order, or one that never entered a paid status)."""
    invoice = order_invoice(order_id)
    if invoice is None:
        return None
    row = Invoice.get(Invoice.code == invoice.code)
    now = now or utcnow()
    name = series(str(shop.config.get("documents", "credit_note_prefix")), now)
    number = allocate(name, 1)
    doc = credit_note_doc(invoice.doc, code(name, number), now,
                          amount=min(amount, invoice.doc.total), reason=reason)
    insert_rows(Invoice, [{
        "kind": "credit_note", "series": name, "number": number, "code": doc.number,
        "order": order_id, "corrects": row.id, "issued_at": now, "currency": doc.currency,
        "total": doc.total, "data": doc_json(doc), "operator_login": actor.login,
        "created_at": now, "updated_at": now}])
    return doc.number


def gaps() -> list[str]:
    """Every break in the invoice and credit-note sequences, one sentence each (none: an
    empty list): a number missing from a series, or a counter past the last number issued.
    For `backroom check`."""
    problems: list[str] = []
    rows: Any = Counter.select(Counter.name, Counter.value).where(
        Counter.name.startswith("invoice:")).tuples()
    counters = {str(name).removeprefix("invoice:"): int(value) for name, value in rows}
    seen: set[str] = set()
    for name, count, low, high in db.execute_sql(
            "SELECT series, COUNT(*), MIN(number), MAX(number) FROM invoice GROUP BY series "
            "ORDER BY series"):
        seen.add(name)
        if count != high or low != 1:
            numbers = {int(r[0]) for r in db.execute_sql(
                f"SELECT number FROM invoice WHERE series = {named('series')}",
                {"series": name})}
            missing = [n for n in range(1, high + 1) if n not in numbers]
            shown = ", ".join(code(name, n) for n in missing[:10])
            more = f" and {len(missing) - 10:,} more" if len(missing) > 10 else ""
            problems.append(f"invoice series {name}: {len(missing):,} number(s) missing: "
                            f"{shown}{more}")
        if counters.get(name, high) != high:
            problems.append(f"invoice series {name}: its counter is at {counters[name]} but "
                            f"the last number issued is {high}")
    for name, value in sorted(counters.items()):
        if name not in seen and value:
            problems.append(f"invoice series {name}: its counter is at {value} but no number "
                            "was issued")
    return problems
