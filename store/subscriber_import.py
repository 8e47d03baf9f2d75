"""`backroom newsletter subscribers import FILE.csv`: subscribers from a file, each with the
consent the file records. A consent column is required; a row without consent (or with an
address that is not one, suppressed, or twice in the file) is refused and listed, never
subscribed. An address already on the list is left as it is: an import never subscribes
again someone who unsubscribed. One transaction: all or nothing.

Written-out SQL (see store.sql) so that 100,000 rows are a few statements: the addresses
already there are read a chunk at a time, the new rows go in with one executemany, and their
customers are linked and given the consent with one UPDATE each."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from store import events_log
from store.contact import normalise_email_quickly
from store.db import after_bulk_write
from store.errors import BackroomError, ValidationError
from store.imports.common import YES, Columns, collector_paused, moment, open_csv, yes_no
from store.models import Customer, CustomerEvent, Subscriber, db, utcnow
from store.operators import Actor, require
from store.shop import Shop
from store.sql import Params, insert_rows, insert_values, stored_time, values_source
from store.subscribers import search_text
from store.text import clean

HEADERS = {
    "email": ("Email", "E-mail", "Email address"),
    "first_name": ("First name", "Firstname", "Given name"),
    "last_name": ("Last name", "Lastname", "Surname", "Family name"),
    "consent": ("Consent", "Marketing consent", "Accepts marketing", "Accepts email marketing",
                "Opt-in", "Optin", "Newsletter", "Subscribed"),
    "consent_at": ("Consent date", "Consent at", "Consented at", "Marketing consent date",
                   "Opt-in date"),
    "consent_text": ("Consent text", "Wording", "List"),
}
CHUNK = 10_000
COLUMNS = ("email", "email_key", "first_name", "last_name", "language", "state",
           "consent_source", "consent_at", "consent_text", "added_by", "search_text",
           "created_at", "updated_at", "state_how")  # of each new subscriber's row, in order
MOST_LISTED = 1000  # refusals kept for the report; the count is always whole
# line, email, first name, last name, consent time, wording
Row = tuple[int, str, str, str, dt.datetime | None, str]


@dataclass(frozen=True)
class Refusal:
    line: int
    email: str
    reason: str


@dataclass(frozen=True)
class SubscriberImport:
    """What an import did (or, dry, would do)."""

    added: int
    already: int
    refused: int
    refusals: tuple[Refusal, ...]
    customers_opted_in: int
    dry_run: bool

    def summary(self) -> str:
        verb = "would be added" if self.dry_run else "added"
        return (f"{self.added} {verb}, {self.already} already on the list (left as they are), "
                f"{self.refused} refused")


@collector_paused()
def import_subscribers(shop: Shop, actor: Actor, path: Path, wording: str = "",
                       dry_run: bool = False) -> SubscriberImport:
    """Read the file, refuse what has no consent, write the rest (see the module)."""
    require(actor, "newsletter")
    wording = clean(wording, "wording")
    columns, reader, handle = open_csv(path)
    try:
        for name in ("email", "consent"):
            if not columns.has(*HEADERS[name]):
                raise ValidationError(
                    f"{path.name} has no {name} column: a newsletter import needs an email "
                    f"and a consent column (headers like {', '.join(HEADERS[name][:3])}); "
                    "rows without consent are refused", field="file")
        if not wording and not columns.has(*HEADERS["consent_text"]):
            raise ValidationError(
                f"{path.name} has no consent text column: say with --wording what these "
                "people agreed to (the form's sentence or the list's name)", field="wording")
        get = {name: columns.getter(*names) for name, names in HEADERS.items()}
        rows, refusals, refused = _read(shop, reader, columns, get, wording)
    finally:
        handle.close()
    keys = list(rows)
    now = utcnow()
    with db.atomic():
        already = _existing(keys)
        suppressed = _suppressed(keys)
        new = []
        stamp = stored_time(now)
        stored = {at: stored_time(at) for at in {r[4] for r in rows.values()} if at is not None}
        language = shop.language
        for key in keys:
            line, email, first, last, at, text = rows[key]
            if key in suppressed:
                refused += 1
                if len(refusals) < MOST_LISTED:
                    refusals.append(Refusal(line, email, f"suppressed ({suppressed[key]})"))
            elif key not in already:
                new.append((email, key, first, last, language, "subscribed", "import",
                            stored[at] if at is not None else stamp, text, actor.login,
                            search_text(email, first, last), stamp, stamp, ""))
        opted_in = 0
        if not dry_run:
            for start in range(0, len(new), CHUNK):
                insert_values(Subscriber, COLUMNS, new[start:start + CHUNK],
                              "ON CONFLICT (email_key) DO NOTHING")
            opted_in = _customers_in_step(now, actor)
    if not dry_run:
        after_bulk_write("subscriber", len(new))
    report = SubscriberImport(len(new), len(already), refused,
                              tuple(sorted(refusals, key=lambda r: r.line)), opted_in, dry_run)
    if not dry_run:
        events_log.event("subscribers_imported", actor.login, added=report.added,
                         refused=report.refused)
    return report


def _read(shop: Shop, reader: Iterator[list[str]], columns: Columns,
          get: dict[str, Callable[[Sequence[str]], str]], wording: str
          ) -> tuple[dict[str, Row], list[Refusal], int]:
    """email key -> (line, email, first, last, consent time, wording) of every row with
    consent; the refusals (the first MOST_LISTED) and how many."""
    rows: dict[str, Row] = {}
    refusals: list[Refusal] = []
    refused = 0
    smtputf8 = shop.smtputf8
    email_of, consent_of = get["email"], get["consent"]
    first_of, last_of = get["first_name"], get["last_name"]
    at_of, text_of = get["consent_at"], get["consent_text"]
    normal, width = columns.normal, columns.width
    times: dict[str, dt.datetime | None] = {}  # a file's consent dates repeat: read each once
    yes = YES
    line = 1
    # a refusal names the line its record starts on: a quoted cell may hold line breaks, so
    # that is the line after the one the last record ended on (the reader's line_num)
    ended = int(getattr(reader, "line_num", 1))
    try:
        for raw in reader:
            line, ended = ended + 1, int(getattr(reader, "line_num", ended + 1))
            if len(raw) == width:  # the common row: its cells stripped as they are read
                raw.append("")
                row = raw
            else:
                row = normal(raw)
            given = email_of(row).strip()
            try:
                consent = consent_of(row).strip()
                if consent.lower() not in yes and not yes_no(consent, "consent"):
                    raise ValidationError("no consent")
                email = normalise_email_quickly(given, smtputf8)
                key = email.lower()
                if key in rows:
                    raise ValidationError(f"twice in the file (first on line {rows[key][0]})")
                first, last = first_of(row).strip(), last_of(row).strip()
                if not (first + last).isprintable():
                    first, last = clean(first, "first_name"), clean(last, "last_name")
                when = at_of(row).strip()
                if when in times:
                    at = times[when]
                else:
                    at = times[when] = moment(when, "consent date")
                text = text_of(row).strip() or wording
                rows[key] = (line, email, first[:100], last[:100], at, text[:1000])
            except BackroomError as exc:
                refused += 1
                if len(refusals) < MOST_LISTED:
                    refusals.append(Refusal(line, given[:254], exc.message))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot be read past row {line}: {exc}", field="file") from None
    return rows, refusals, refused


def _existing(keys: list[str]) -> set[str]:
    found: set[str] = set()
    if not db.execute_sql("SELECT 1 FROM subscriber LIMIT 1").fetchone():
        return found  # the first import into an empty list
    for start in range(0, len(keys), CHUNK):
        source, params = values_source("k", [("key", "text")],
                                       [(k,) for k in keys[start:start + CHUNK]])
        found.update(r[0] for r in db.execute_sql(
            f"SELECT s.email_key FROM subscriber s WHERE s.email_key IN (SELECT given.key "
            f"FROM {source})", params).fetchall())
    return found


def _suppressed(keys: list[str]) -> dict[str, str]:
    if not db.execute_sql("SELECT 1 FROM suppression LIMIT 1").fetchone():
        return {}
    found: dict[str, str] = {}
    for start in range(0, len(keys), CHUNK):
        source, params = values_source("k", [("key", "text")],
                                       [(k,) for k in keys[start:start + CHUNK]])
        found.update((r[0], r[1]) for r in db.execute_sql(
            f"SELECT s.email_key, s.reason FROM suppression s WHERE s.email_key IN "
            f"(SELECT given.key FROM {source})", params).fetchall())
    return found


def _customers_in_step(now: dt.datetime, actor: Actor) -> int:
    """The imported addresses that are customers: linked, and their marketing consent given
    (with a line in their history); how many customers opted in."""
    if not db.execute_sql("SELECT 1 FROM customer LIMIT 1").fetchone():
        return 0  # a shop without customers: no one to link
    p = Params()
    at = p(stored_time(now))
    mine = f"s.consent_source = 'import' AND s.created_at = {at}"
    db.execute_sql(
        f"UPDATE subscriber SET customer_id = (SELECT c.id FROM customer c WHERE c.email_key "
        f"= subscriber.email_key) WHERE customer_id IS NULL AND consent_source = 'import' "
        f"AND created_at = {at} AND email_key IN (SELECT email_key FROM customer)", p)
    changed = [int(r[0]) for r in db.execute_sql(
        f"SELECT c.id FROM customer c JOIN subscriber s ON s.customer_id = c.id WHERE {mine} "
        f"AND NOT c.marketing_consent AND c.status <> 'deleted'", p).fetchall()]
    if changed:
        Customer.update(marketing_consent=True, consent_at=now, consent_source="newsletter import",
                        version=Customer.version + 1, updated_at=now,
                        updated_by=actor.login).where(Customer.id.in_(changed)).execute()
        insert_rows(CustomerEvent, [
            {"customer": cid, "kind": "newsletter", "message": "subscribed (newsletter import)",
             "operator_login": actor.login, "data": "{}", "created_at": now, "updated_at": now}
            for cid in changed])
    return len(changed)
