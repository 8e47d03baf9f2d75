"""A customers file (CSV, columns by header name: email, first and last name, phone, company,
address, city, postcode, country, marketing consent and its date; Shopify's customers export
reads as one). A customer is matched by email: one already there only has what it lacks
filled in (a name, a phone, an address, a consent the file dates), never overwritten, so a
second run changes nothing; a new one is created as the back office would, without its
confirm-account mail unless `--notify`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from store.contact import check_address, normalise_email_quickly
from store.customers import default_group
from store.errors import BackroomError, ValidationError
from store.imports.common import (
    Columns,
    CustomerIn,
    ImportReport,
    Line,
    Progress,
    collector_paused,
    country,
    moment,
    numbered_rows,
    open_csv,
    postcode,
    yes_no,
)
from store.imports.writer import CHUNK, write_customers
from store.models import Address, Customer
from store.operators import Actor, require
from store.shop import Shop
from store.text import clean

SOURCE = "imported from a customers file"
HEADERS = {
    "email": ("Email", "E-mail", "Email address"),
    "first_name": ("First name", "Firstname", "Given name"),
    "last_name": ("Last name", "Lastname", "Surname", "Family name"),
    "phone": ("Phone", "Telephone", "Phone number", "Default Address Phone"),
    "company": ("Company", "Default Address Company"),
    "line1": ("Address", "Address1", "Address 1", "Street", "Line1", "Default Address Address1"),
    "line2": ("Address2", "Address 2", "Line2", "Default Address Address2"),
    "city": ("City", "Town", "Default Address City"),
    "postcode": ("Postcode", "Zip", "Postal code", "Zip code", "Default Address Zip"),
    "region": ("Region", "Province", "State", "Province code", "Default Address Province Code"),
    "country": ("Country", "Country code", "Default Address Country Code"),
    "consent": ("Marketing consent", "Accepts marketing", "Accepts email marketing",
                "Consent", "Newsletter", "Subscribed"),
    "consent_at": ("Consent date", "Marketing consent date", "Consent at", "Consented at",
                   "Marketing consent at"),
}


def _rows(path: Path) -> tuple[Columns, Iterator[tuple[int, list[str]]]]:
    columns, reader, handle = open_csv(path)
    if not columns.has(*HEADERS["email"]):
        handle.close()
        raise ValidationError(f"{path.name} has no email column (headers: Email, First name, "
                              "Last name, Phone, Company, Address, City, Postcode, Country, "
                              "Marketing consent, Consent date)", field="file")

    return columns, numbered_rows(path, columns, reader, handle)


def _read(shop: Shop, get: dict[str, Any], row: list[str], where: str) -> CustomerIn:
    value = {key: read(row) for key, read in get.items()}
    email = normalise_email_quickly(value["email"], shop.smtputf8)
    first, last = clean(value["first_name"], "first_name"), clean(value["last_name"], "last_name")
    if not first and not last:
        raise ValidationError("a customer needs a first or last name", field="first_name")
    address = {key: value[key] for key in ("company", "line1", "line2", "city", "region")}
    address["postcode"] = postcode(value["postcode"])
    address["country"] = country(value["country"])
    address = check_address({k: v for k, v in address.items() if v})
    if address:
        address = {"first_name": first, "last_name": last} | address
    consent = yes_no(value["consent"], "marketing consent")
    consent_at = moment(value["consent_at"], "consent date")
    return CustomerIn(where, email, first, last, clean(value["phone"], "phone"), address,
                      consent, consent_at)


def _changes(customer: Customer, has_address: bool, row: CustomerIn) -> dict[str, Any]:
    """What the file adds to a customer already there: only what they lack."""
    changes: dict[str, Any] = {}
    for key in ("first_name", "last_name", "phone"):
        if not getattr(customer, key) and getattr(row, key):
            changes[key] = getattr(row, key)
    if row.consent and not customer.marketing_consent and row.consent_at is not None:
        changes.update(marketing_consent=True, consent_at=row.consent_at,
                       consent_source=SOURCE)
    if row.address and not has_address:
        changes["address"] = row.address
    return changes


@collector_paused()
def run(shop: Shop, actor: Actor, path: Path, *, dry_run: bool = False, notify: bool = False,
        progress: Progress | None = None) -> ImportReport:
    """`backroom import customers FILE.csv`."""
    require(actor, "import")
    columns, rows = _rows(path)
    get = {key: columns.getter(*names) for key, names in HEADERS.items()}
    report = ImportReport("customers", dry_run)
    read: list[CustomerIn] = []
    seen: dict[str, str] = {}
    for number, row in rows:
        if not any(row):
            continue
        where = f"row {number}"
        try:
            customer = _read(shop, get, row, where)
        except BackroomError as exc:
            report.refused.append(Line(where, f"customer {get['email'](row) or '(no email)'}",
                                       str(exc)))
            continue
        key = customer.email.lower()
        if key in seen:
            report.refused.append(Line(where, f"customer {customer.email}",
                                       f"the file has this email twice (also {seen[key]})"))
            continue
        seen[key] = where
        read.append(customer)
    existing = _existing([c.email.lower() for c in read])
    new: list[CustomerIn] = []
    updates: list[tuple[Customer, CustomerIn, dict[str, Any]]] = []
    for person in read:
        found = existing.get(person.email.lower())
        if found is None:
            new.append(person)
            report.created.append(Line(person.where, f"customer {person.email}",
                                       f"{person.first_name} {person.last_name}".strip()))
            continue
        there, has_address = found
        changes = _changes(there, has_address, person)
        if not changes:
            report.skipped.append(Line(person.where, f"customer {person.email}",
                                       "already there, nothing new"))
            continue
        updates.append((there, person, changes))
        report.updated.append(Line(person.where, f"customer {person.email}",
                                   "adds " + ", ".join(k.replace("_", " ") for k in changes
                                                       if k not in ("consent_at",
                                                                    "consent_source"))))
    if dry_run:
        if progress is not None:
            progress(len(read))
        return report
    group = default_group()
    mails, hooks = write_customers(shop, actor, new, updates, group.id if group else None,
                                   SOURCE, notify=notify, progress=progress)
    report.mails, report.webhooks = mails, hooks
    return report


def _existing(keys: list[str]) -> dict[str, tuple[Customer, bool]]:
    found: dict[str, tuple[Customer, bool]] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        customers = list(Customer.select().where(Customer.email_key.in_(chunk)))
        owners: Any = Address.select(Address.customer).where(
            Address.customer.in_([c.id for c in customers])).tuples()
        with_address = {cid for (cid,) in owners}
        for c in customers:
            found[str(c.email_key)] = (c, c.id in with_address)
    return found


def count_rows(path: Path) -> int:
    _columns, rows = _rows(path)
    return sum(1 for _ in rows)

