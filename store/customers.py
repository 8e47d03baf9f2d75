"""Customer and group services: accounts, their states, erasure, notes and groups."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from store import customer_figures, events_log, subscribers, webhooks
from store.contact import check_address, normalise_email
from store.errors import Conflict, NotFound, Refused, ValidationError
from store.folding import digits, fold
from store.models import (
    Address,
    Customer,
    CustomerEvent,
    CustomerGroup,
    Order,
    db,
    utcnow,
)
from store.operators import Actor, require
from store.outbox import Mail, enqueue, erase_mails_to
from store.rules import group_delete_refusal
from store.shop import Shop
from store.text import clean
from store.webhook_outbox import erase_payloads as erase_webhook_payloads

STATUSES = ("active", "pending", "suspended", "denied", "deleted")
LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class CustomerRef:
    id: int
    email: str


def customer_search_text(c: Customer | Mapping[str, Any], places: Iterable[str] = ()) -> str:
    """What free search matches of a customer, folded (store.folding): names, email, phone
    (also as its digits alone), and the postcodes, cities and countries of their addresses."""
    get = c.get if isinstance(c, Mapping) else lambda k, d="": getattr(c, k, d)
    phone = get("phone", "") or ""
    parts = (get("first_name", ""), get("last_name", ""), get("email", ""), phone,
             digits(phone), *places)
    return fold(" ".join(p for p in parts if p))


def _event(customer_id: int, actor: Actor, kind: str, message: str = "",
           data: Mapping[str, Any] | None = None) -> None:
    CustomerEvent.create(customer=customer_id, kind=kind, message=message,
                         data=json.dumps(data or {}, default=str, ensure_ascii=False),
                         operator_login=actor.login)


def _get(customer_id: int) -> Customer:
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}")
    if customer.status == "deleted":
        raise Refused(f"customer {customer_id} was deleted; nothing can be changed")
    return customer


def _email_taken(email: str, except_id: int | None = None) -> bool:
    query = Customer.select().where(Customer.email_key == email.lower())
    if except_id is not None:
        query = query.where(Customer.id != except_id)
    return bool(query.exists())


@contextlib.contextmanager
def _unique(message: str, field: str | None = None) -> Iterator[None]:
    """Another operator may take the same email or name between our check and our write (two
    transactions at once on PostgreSQL): the unique index refuses the second, said plainly."""
    try:
        yield
    except IntegrityError:
        raise Refused(message, field=field) from None


def default_group() -> CustomerGroup | None:
    return CustomerGroup.get_or_none(CustomerGroup.is_default == True)  # noqa: E712


def places(customer_id: int) -> list[str]:
    """The postcode, city and country of each of the customer's addresses, as their search
    text holds them (customer_search_text)."""
    return [part for a in Address.select(Address.postcode, Address.city, Address.country)
            .where(Address.customer == customer_id).order_by(Address.id)
            for part in (a.postcode, a.city, a.country)]


def _refresh_search(customer: Customer) -> None:
    Customer.update(search_text=customer_search_text(customer, places(customer.id))).where(
        Customer.id == customer.id).execute()


def create_customer(shop: Shop, actor: Actor, *, email: str, first_name: str, last_name: str,
                    phone: str = "", language: str | None = None, group_id: int | None = None,
                    marketing_consent: bool = False, consent_source: str = "back office",
                    address: Mapping[str, str] | None = None,
                    confirm_mail: bool = True) -> CustomerRef:
    """A registered customer; a confirm-account mail with a one-time token is queued, unless
    `confirm_mail` is off (a list brought over from another system: no mail to anyone)."""
    require(actor, "customers")
    return _create(shop, actor, email=email, first_name=first_name, last_name=last_name,
                   phone=phone, language=language, group_id=group_id,
                   marketing_consent=marketing_consent, consent_source=consent_source,
                   address=address, status="active",
                   history="account created" + ("" if confirm_mail
                                                else " (no confirm-account mail)"),
                   confirm_mail=confirm_mail)


def register_customer(shop: Shop, actor: Actor, *, email: str, first_name: str,
                      last_name: str, phone: str = "", language: str | None = None,
                      marketing_consent: bool = False,
                      address: Mapping[str, str] | None = None) -> CustomerRef:
    """A customer opening their own account on the storefront: they join the default group
    and get the confirm-account mail. With `customers.auto_validate = false` the account is
    "pending": it waits for an operator to validate it and cannot pay until then."""
    require(actor, "customers")
    auto = bool(shop.config.get("customers", "auto_validate"))
    return _create(shop, actor, email=email, first_name=first_name, last_name=last_name,
                   phone=phone, language=language, group_id=None,
                   marketing_consent=marketing_consent, consent_source="storefront",
                   address=address, status="active" if auto else "pending",
                   history="account opened on the storefront" + (
                       "" if auto else "; waits for validation"))


def _create(shop: Shop, actor: Actor, *, email: str, first_name: str, last_name: str,
            phone: str, language: str | None, group_id: int | None, marketing_consent: bool,
            consent_source: str, address: Mapping[str, str] | None, status: str,
            history: str, confirm_mail: bool = True) -> CustomerRef:
    email = normalise_email(email, shop.smtputf8)
    first_name, last_name = clean(first_name, "first_name"), clean(last_name, "last_name")
    phone, consent_source = clean(phone, "phone"), clean(consent_source, "consent_source")
    if not first_name and not last_name:
        raise ValidationError("a customer needs a first or last name", field="first_name")
    address = check_address(address) if address else None
    language = language or shop.language
    if language not in LANGUAGES:
        raise ValidationError(f"language must be one of {', '.join(LANGUAGES)}",
                              field="language")
    taken = f"a customer with email {email} already exists"
    with _unique(taken, "email"), db.atomic():
        if _email_taken(email):
            raise Refused(taken, field="email")
        if group_id is not None:
            if CustomerGroup.get_or_none(CustomerGroup.id == group_id) is None:
                raise NotFound(f"no customer group with id {group_id}", field="group")
            group: int | None = group_id
        else:
            default = default_group()
            group = default.id if default else None
        now = utcnow()
        token = secrets.token_urlsafe(24)
        customer = Customer.create(
            first_name=first_name, last_name=last_name, email=email,
            email_key=email.lower(), phone=phone, language=language, group=group,
            marketing_consent=marketing_consent, consent_at=now if marketing_consent else None,
            consent_source=consent_source if marketing_consent else "", confirm_token=token,
            status=status, updated_by=actor.login,
        )
        if address:
            for kind in ("billing", "shipping"):
                Address.create(customer=customer.id, kind=kind, **address)
        _refresh_search(customer)
        subscribers.customers_changed([customer.id], actor.login)
        _event(customer.id, actor, "created", history)
        webhooks.customer_created(customer)
        if confirm_mail:
            base = str(shop.config.get("shop", "storefront_url")).rstrip("/")
            enqueue([Mail("account_confirm", email, f"confirm:{customer.id}", language,
                          {"customer_id": customer.id, "token": token,
                           "link": f"{base}/account/confirm?token={token}"},
                          customer_id=customer.id)])
    events_log.event("customer_created", actor.login, customer=customer.id)
    return CustomerRef(customer.id, email)


def validate(shop: Shop, actor: Actor, customer_id: int) -> None:
    """An operator validates an account waiting for it (customers.auto_validate = false): it
    becomes active, and its orders may be paid."""
    require(actor, "validate_customer")
    with db.atomic():
        customer = _get(customer_id)
        if customer.status != "pending":
            raise Refused(f"customer {customer.email} is {customer.status}: only an account "
                          "waiting for validation can be validated", field="status")
        _write(customer, actor, status="active", status_reason="")
        _event(customer.id, actor, "validated", "account validated",
               {"from": "pending", "to": "active"})


EDITABLE = ("first_name", "last_name", "email", "phone", "language", "marketing_consent")


def edit_customer(shop: Shop, actor: Actor, customer_id: int, changes: Mapping[str, Any],
                  expected_version: int | None = None) -> None:
    """Edit contact fields; a duplicate email is refused, history keeps old and new."""
    require(actor, "customers")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            f"cannot edit {sorted(unknown)[0]!r}; editable: {', '.join(EDITABLE)}"
        )
    taken = f"another customer already has email {changes.get('email', '')}"
    with _unique(taken), db.atomic():
        customer = _get(customer_id)
        if expected_version is not None and customer.version != expected_version:
            raise _conflict(customer)
        values = dict(changes)
        if "email" in values:
            values["email"] = normalise_email(values["email"], shop.smtputf8)
            if _email_taken(values["email"], customer.id):
                raise Refused(f"another customer already has email {values['email']}")
            values["email_key"] = values["email"].lower()
        if "language" in values and values["language"] not in LANGUAGES:
            raise ValidationError(f"language must be one of {', '.join(LANGUAGES)}")
        if "marketing_consent" in values:
            values["consent_at"] = utcnow() if values["marketing_consent"] else None
            values["consent_source"] = "back office" if values["marketing_consent"] else ""
        for key in ("first_name", "last_name", "phone"):
            if key in values:
                values[key] = clean(str(values[key]), key)
        old = {k: getattr(customer, k) for k in changes}
        old_key = customer.email_key
        _write(customer, actor, **values)
        _refresh_search(customer)
        if "email" in values and old_key:
            subscribers.customer_email_changed(customer.id, old_key, values["email"],
                                               actor.login)
        if "marketing_consent" in values or "email" in values:
            subscribers.customers_changed([customer.id], actor.login)
        if {"first_name", "last_name", "email"} & set(values):
            subscribers.customers_renamed([customer.id])
        _event(customer.id, actor, "edited", "details edited",
               {"old": old, "new": {k: values[k] for k in changes}})
    events_log.event("customer_edited", actor.login, customer=customer_id,
                     fields=",".join(sorted(changes)))


def _conflict(customer: Customer) -> Exception:
    who = customer.updated_by or "another operator"
    return Conflict(f"customer {customer.email} was changed by {who} "
                    "since you opened it; reload and try again")


def _write(customer: Customer, actor: Actor, **values: Any) -> None:
    values.update(version=customer.version + 1, updated_at=utcnow(), updated_by=actor.login)
    count = Customer.update(**values).where(Customer.id == customer.id,
                                            Customer.version == customer.version).execute()
    if count != 1:
        raise _conflict(customer)
    for key, value in values.items():
        setattr(customer, key, value)


def set_status(shop: Shop, actor: Actor, customer_id: int, status: str, reason: str = "") -> None:
    """Suspend, deny or reactivate an account, with a reason in its history."""
    require(actor, "deny_customer")
    if status not in ("active", "suspended", "denied"):
        raise ValidationError("status must be active, suspended or denied (delete erases)")
    reason = clean(reason, "reason")
    if status != "active" and not reason:
        raise ValidationError(f"say why the customer is {status}", field="reason")
    with db.atomic():
        customer = _get(customer_id)
        if customer.status == status:
            raise Refused(f"customer {customer.email} is already {status}")
        if status == "active" and customer.status == "pending":
            raise Refused(f"customer {customer.email} waits for validation: validate the "
                          "account instead", field="status")
        old = customer.status
        _write(customer, actor, status=status, status_reason=reason)
        _event(customer.id, actor, status if status != "active" else "reactivated",
               reason, {"from": old, "to": status})
    events_log.event("customer_status", actor.login, customer=customer_id,
                     **{"from": old, "to": status})


def suspend(shop: Shop, actor: Actor, customer_id: int, reason: str) -> None:
    set_status(shop, actor, customer_id, "suspended", reason)


def deny(shop: Shop, actor: Actor, customer_id: int, reason: str) -> None:
    set_status(shop, actor, customer_id, "denied", reason)


def reactivate(shop: Shop, actor: Actor, customer_id: int, reason: str = "") -> None:
    set_status(shop, actor, customer_id, "active", reason)


def add_note(shop: Shop, actor: Actor, customer_id: int, text: str) -> None:
    require(actor, "add_note")
    text = clean(text, "note", multiline=True)
    if not text:
        raise ValidationError("the note is empty", field="note")
    with db.atomic():
        customer = _get(customer_id)
        _event(customer.id, actor, "note", text)
    events_log.event("customer_note", actor.login, customer=customer_id)


def set_address(shop: Shop, actor: Actor, customer_id: int, kind: str,
                fields: Mapping[str, str]) -> None:
    """Add or edit a customer's address; orders keep the copies they were placed with."""
    require(actor, "customers")
    if kind not in ("billing", "shipping"):
        raise ValidationError("address kind must be billing or shipping")
    fields = check_address(fields)
    if not any(fields.values()):
        raise ValidationError("the address is empty: fill in at least a street, city or country")
    with db.atomic():
        customer = _get(customer_id)
        address = Address.get_or_none(Address.customer == customer.id, Address.kind == kind)
        if address is None:
            Address.create(customer=customer.id, kind=kind, **fields)
        else:
            Address.update(updated_at=utcnow(), **fields).where(
                Address.id == address.id).execute()
        _write(customer, actor)
        _refresh_search(customer)
        _event(customer.id, actor, "address", f"{kind} address saved", {"new": dict(fields)})
    events_log.event("customer_address", actor.login, customer=customer_id, kind=kind)


def send_one_off(shop: Shop, actor: Actor, customer_id: int, subject: str, body: str) -> None:
    """Queue a one-off email to a customer."""
    require(actor, "send_mail")
    subject, body = clean(subject, "subject"), clean(body, "body", multiline=True)
    if not subject or not body:
        raise ValidationError("a one-off email needs a subject and a message",
                              field="subject" if not subject else "body")
    with db.atomic():
        customer = _get(customer_id)
        event = CustomerEvent.create(customer=customer.id, kind="mail", message=subject,
                                     operator_login=actor.login)
        enqueue([Mail("one_off", customer.email, f"one-off:{event.id}", customer.language,
                      {"customer_id": customer.id, "subject": subject, "body": body},
                      customer_id=customer.id)])
    events_log.event("one_off_mail", actor.login, customer=customer_id)


def _erase(shop: Shop, customer: Customer, actor: Actor) -> None:
    """Erase personal data; orders keep their own copies (for the accounts). Every mail to
    them (their account's, their orders', any to their address) is erased or withdrawn."""
    Address.delete().where(Address.customer == customer.id).execute()
    subscribers.customer_erased(customer.id, customer.email)
    erase_mails_to(customer.id, customer.email, "customer erased")
    erase_webhook_payloads(customer.id, customer.email)
    CustomerEvent.update(message="", data="{}").where(
        CustomerEvent.customer == customer.id, CustomerEvent.kind.in_(["note", "mail"])).execute()
    CustomerEvent.update(data="{}").where(  # old and new names, emails, phones, addresses
        CustomerEvent.customer == customer.id,
        CustomerEvent.kind.in_(["edited", "address", "group"])).execute()
    _write(customer, actor, first_name="", last_name="", email="", email_key=None, phone="",
           status="deleted", status_reason="erased", marketing_consent=False, consent_at=None,
           consent_source="", confirm_token=None, erased_at=utcnow(), search_text="")
    customer_figures.refresh([customer.id], shop.currency)
    _event(customer.id, actor, "erased", "personal data erased; orders kept for the accounts")


def delete_customer(shop: Shop, actor: Actor, customer_id: int, confirm_email: str) -> None:
    """Irreversible erasure by an admin, confirmed by typing the customer's email."""
    require(actor, "erase_customer")
    with db.atomic():
        customer = _get(customer_id)
        if confirm_email.strip().lower() != customer.email.lower():
            raise ValidationError("the email typed does not match the customer's; nothing deleted")
        _erase(shop, customer, actor)
    events_log.event("customer_erased", actor.login, customer=customer_id)


def self_delete(shop: Shop, actor: Actor, customer_id: int) -> None:
    """The customer deleted their own account (storefront): erase it, and tell the shop and
    its admins (shop.email, shop.admin_emails), in the same transaction."""
    with db.atomic():
        customer = _get(customer_id)
        name = f"{customer.first_name} {customer.last_name}".strip()
        orders = Order.select().where(Order.customer == customer.id).count()
        _erase(shop, customer, actor)
        merchants = [str(shop.config.get("shop", "email")),
                     *shop.config.get("shop", "admin_emails")]
        enqueue([Mail("merchant_account_deleted", address,
                      f"self-deleted:{customer.id}" + (f":{address}" if i else ""),
                      shop.language, {"customer_id": customer.id, "name": name,
                                      "orders": orders})
                 for i, address in enumerate(dict.fromkeys(a for a in merchants if a))])
    events_log.event("customer_erased", actor.login, customer=customer_id, by="customer")


# ----- groups --------------------------------------------------------------------------------

def create_group(shop: Shop, actor: Actor, name: str, discount_bp: int = 0, privilege: str = "",
                 default: bool = False) -> int:
    require(actor, "groups")
    name, privilege = clean(name, "name"), clean(privilege, "privilege")
    if not name:
        raise ValidationError("a group needs a name", field="name")
    if not 0 <= discount_bp <= 10000:
        raise ValidationError("a discount is between 0 and 100 %", field="discount")
    with _unique(f"a group named {name!r} already exists"), db.atomic():
        if CustomerGroup.get_or_none(CustomerGroup.name == name):
            raise Refused(f"a group named {name!r} already exists")
        first = not CustomerGroup.select().exists()
        group = CustomerGroup.create(name=name, discount_bp=discount_bp, privilege=privilege,
                                     is_default=False)
        if default or first:
            _make_default(group.id)
    return int(group.id)


def _group(group_id: int) -> CustomerGroup:
    group = CustomerGroup.get_or_none(CustomerGroup.id == group_id)
    if group is None:
        raise NotFound(f"no customer group with id {group_id}")
    return group


def find_group(name: str) -> int:
    group = CustomerGroup.get_or_none(CustomerGroup.name == name)
    if group is None:
        raise NotFound(f"no customer group named {name!r}")
    return int(group.id)


def rename_group(shop: Shop, actor: Actor, group_id: int, name: str) -> None:
    require(actor, "groups")
    name = clean(name, "name")
    if not name:
        raise ValidationError("a group needs a name", field="name")
    with _unique(f"a group named {name!r} already exists"), db.atomic():
        group = _group(group_id)
        if CustomerGroup.get_or_none(CustomerGroup.name == name, CustomerGroup.id != group.id):
            raise Refused(f"a group named {name!r} already exists")
        CustomerGroup.update(name=name, updated_at=utcnow()).where(
            CustomerGroup.id == group.id).execute()


def edit_group(shop: Shop, actor: Actor, group_id: int, discount_bp: int | None = None,
               privilege: str | None = None) -> None:
    require(actor, "groups")
    values: dict[str, Any] = {"updated_at": utcnow()}
    if discount_bp is not None:
        if not 0 <= discount_bp <= 10000:
            raise ValidationError("a discount is between 0 and 100 %", field="discount")
        values["discount_bp"] = discount_bp
    if privilege is not None:
        values["privilege"] = clean(privilege, "privilege")
    with db.atomic():
        _group(group_id)
        CustomerGroup.update(**values).where(CustomerGroup.id == group_id).execute()


def _make_default(group_id: int) -> None:
    CustomerGroup.update(is_default=False).where(CustomerGroup.id != group_id).execute()
    CustomerGroup.update(is_default=True).where(CustomerGroup.id == group_id).execute()


def set_default_group(shop: Shop, actor: Actor, group_id: int) -> None:
    require(actor, "groups")
    with db.atomic():
        _group(group_id)
        _make_default(group_id)


def delete_group(shop: Shop, actor: Actor, group_id: int) -> int:
    """Delete a group; its members move to the default group. Returns how many moved."""
    require(actor, "groups")
    with db.atomic():
        group = _group(group_id)
        refused = group_delete_refusal(group.name, bool(group.is_default))
        if refused:
            raise Refused(refused)
        default = default_group()
        moved = Customer.update(group=default.id if default else None).where(
            Customer.group == group.id).execute()
        CustomerGroup.delete().where(CustomerGroup.id == group.id).execute()
    return int(moved)


def assign_group_named(shop: Shop, actor: Actor, customer_id: int, name: str) -> None:
    """Move a customer to the group of that name (what an operator types)."""
    assign_group(shop, actor, customer_id, find_group(name.strip()))


def assign_group(shop: Shop, actor: Actor, customer_id: int, group_id: int) -> None:
    require(actor, "customers")
    with db.atomic():
        customer = _get(customer_id)
        group = _group(group_id)
        old = customer.group_id
        _write(customer, actor, group=group.id)
        _event(customer.id, actor, "group", f"moved to group {group.name}",
               {"old": old, "new": group.id})
    events_log.event("customer_group", actor.login, customer=customer_id, group=group_id)
