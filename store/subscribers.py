"""Subscribers and their consent: the ways in (an operator, the signup form, the checkout
opt-in, a customer account), double opt-in, the ways out (an operator, the one-click link, a
customer's own opt-out), the suppression list, and a customer's marketing consent kept in step
with the row of their address, both ways, in the same transaction as the change.

Written-out SQL (see store.sql) where customers are synced set-based (an import of 100,000
customers syncs them in a few statements): customers_changed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from store import events_log, newsletter_links
from store.contact import normalise_email
from store.errors import NotFound, Refused, ValidationError
from store.folding import fold
from store.models import (
    SUBSCRIBER_SOURCES,
    Customer,
    CustomerEvent,
    Outbox,
    Subscriber,
    Suppression,
    db,
    utcnow,
)
from store.operators import Actor, require
from store.outbox import Mail, enqueue
from store.shop import Shop
from store.sql import Params, id_source, id_value, named, stored_time, update_rows
from store.text import MOST_ON_A_LINE, clean

# the ways out of "subscribed", as state_how says them
BY_LINK = "one-click link"
BY_CUSTOMER = "customer account"
LEFT = ("unsubscribed", "bounced", "complained")


@dataclass(frozen=True)
class SubscriberRef:
    """What a way in answers: the row, its state, and whether this call made or changed it."""

    id: int
    email: str
    state: str
    changed: bool


def split_name(name: str) -> tuple[str, str]:
    """"Ann Smith" -> ("Ann", "Smith"): a guest's one name field as first and last."""
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def search_text(email: str, first_name: str, last_name: str) -> str:
    """What the list's search compares (store.folding): the address and the name, folded, so
    "wichterlova" finds Wichterlová. Every write of a subscriber's address or name fills it."""
    return fold(f"{email} {first_name} {last_name}".strip())


def fill_search_text(where: str, params: Params) -> int:
    """Set-based writes (SQL cannot fold) leave search_text '': fill those rows `where` says
    (SQL over `subscriber`) with the one Python definition; how many."""
    rows = db.execute_sql(
        f"SELECT id, email, first_name, last_name FROM subscriber WHERE search_text = '' "
        f"AND email_key IS NOT NULL AND {where}", params).fetchall()
    update_rows(Subscriber, ["search_text"], [(search_text(r[1], r[2], r[3]), r[0])
                                             for r in rows])
    return len(rows)


def suppression_of(email_key: str) -> Suppression | None:
    return Suppression.get_or_none(Suppression.email_key == email_key)


def _suppressed_refusal(row: Suppression, email: str) -> Refused:
    return Refused(f"{email} is on the suppression list since {row.created_at:%Y-%m-%d} "
                   f"({row.reason}): no campaign goes to it", field="email")


def subscribe(shop: Shop, actor: Actor, *, email: str, source: str, wording: str,
              first_name: str = "", last_name: str = "", language: str | None = None,
              customer_id: int | None = None, confirm: bool = False) -> SubscriberRef:
    """An explicit opt-in. `wording` is what the person agreed to (the form's sentence, the
    list's name): without it there is no consent record, so it is refused. With `confirm`
    (the signup form, the checkout) and newsletter.double_opt_in, the row waits ("pending")
    and a confirmation mail with a signed link goes; otherwise it is subscribed at once.
    Signing up again changes nothing; an address that left by unsubscribing comes back
    with its new consent; a bounced or complained one, or a suppressed one, is refused.
    Call inside or outside a transaction (a checkout calls it inside its order's)."""
    if source in ("operator", "import"):
        require(actor, "newsletter")
    if source not in SUBSCRIBER_SOURCES:
        raise ValidationError(f"source must be one of {', '.join(SUBSCRIBER_SOURCES)}",
                              field="source")
    email = normalise_email(email, shop.smtputf8)
    wording = clean(wording, "consent_text")
    if not wording:
        raise ValidationError("say what the person agreed to (the form's wording or the "
                              "list's name): it is their consent record", field="consent_text")
    first_name, last_name = clean(first_name, "first_name"), clean(last_name, "last_name")
    language = language or shop.language
    doi = confirm and bool(shop.config.get("newsletter", "double_opt_in"))
    if doi:
        newsletter_links.secret(shop.config)  # refuse before writing, not in the mail
    key = email.lower()
    now = utcnow()
    with db.atomic():
        blocked = suppression_of(key)
        if blocked is not None:
            raise _suppressed_refusal(blocked, email)
        if customer_id is None:
            customer_id = Customer.select(Customer.id).where(Customer.email_key == key).scalar()
        row = Subscriber.get_or_none(Subscriber.email_key == key)
        state = "pending" if doi else "subscribed"
        consent = {"consent_source": source, "consent_at": now, "consent_text": wording,
                   "state": state, "state_at": None, "state_how": "", "state_campaign": None,
                   "confirmed_at": None, "updated_at": now}
        if row is None:
            row = Subscriber.create(email=email, email_key=key, first_name=first_name,
                                    last_name=last_name, language=language,
                                    search_text=search_text(email, first_name, last_name),
                                    customer=customer_id, added_by=actor.login, created_at=now,
                                    **consent)
        elif row.state == "subscribed" or (row.state == "pending" and doi):
            if row.state == "pending":
                _confirmation_mail(shop, row, now)
            return SubscriberRef(row.id, row.email, row.state, False)
        elif row.state in ("bounced", "complained"):
            raise Refused(f"{email} {row.state} on {row.state_at:%Y-%m-%d}: it is not "
                          "subscribed again", field="email")
        else:  # unsubscribed or pending: a new explicit consent
            names = {k: v for k, v in (("first_name", first_name), ("last_name", last_name))
                     if v}
            names["search_text"] = search_text(row.email, names.get("first_name", row.first_name),
                                               names.get("last_name", row.last_name))
            Subscriber.update(customer=customer_id or row.customer_id, **names,
                              **consent).where(Subscriber.id == row.id).execute()
        if doi:
            _confirmation_mail(shop, row, now)
        else:
            _customer_in_step([row.id], True, actor, f"subscribed ({source})")
    events_log.event("subscribed", actor.login, subscriber=row.id, source=source, state=state)
    return SubscriberRef(row.id, email, state, True)


def _confirmation_mail(shop: Shop, row: Subscriber, now: dt.datetime) -> None:
    """The double opt-in mail, at most one a day per address (a form sent again and again
    must not mail someone again and again)."""
    key = f"newsletter-confirm:{row.id}:{now:%Y%m%d}"
    if Outbox.select().where(Outbox.idempotency_key == key).exists():
        return
    enqueue([Mail("newsletter_confirm", row.email, key,
                  row.language or shop.language,
                  {"subscriber_id": row.id, "name": f"{row.first_name} {row.last_name}".strip(),
                   "link": newsletter_links.confirm_url(shop.config, row.id)})])


def confirm(shop: Shop, actor: Actor, token: str) -> SubscriberRef:
    """The confirmation link was followed: a pending subscriber is subscribed (again: no
    change); a token not ours, too old, or of an address since gone is refused."""
    subscriber_id = newsletter_links.read_confirm(shop.config, token)
    now = utcnow()
    with db.atomic():
        row = Subscriber.get_or_none(Subscriber.id == subscriber_id)
        if row is None or row.email_key is None:
            raise NotFound("this confirmation link is not valid")
        if row.state != "pending":
            return SubscriberRef(row.id, row.email, row.state, False)
        Subscriber.update(state="subscribed", confirmed_at=now, updated_at=now).where(
            Subscriber.id == row.id, Subscriber.state == "pending").execute()
        _customer_in_step([row.id], True, actor, "subscription confirmed")
    events_log.event("subscription_confirmed", actor.login, subscriber=row.id)
    return SubscriberRef(row.id, row.email, "subscribed", True)


def find(text: str) -> Subscriber:
    """A subscriber by id or email, as typed on the command line."""
    text = text.strip()
    row = (Subscriber.get_or_none(Subscriber.id == int(text)) if text.isdigit()
           else Subscriber.get_or_none(Subscriber.email_key == text.lower()))
    if row is None:
        raise NotFound(f"no subscriber {text!r}", field="email")
    return row


def _leave(row_id: int, how: str, campaign_id: int | None, now: dt.datetime) -> bool:
    """Subscribed or pending -> unsubscribed, at once; False when it had already left."""
    return bool(Subscriber.update(
        state="unsubscribed", state_at=now, state_how=how[:250], state_campaign=campaign_id,
        updated_at=now).where(Subscriber.id == row_id,
                              Subscriber.state.in_(["subscribed", "pending"])).execute())


def unsubscribe(shop: Shop, actor: Actor, text: str, how: str = "") -> SubscriberRef:
    """An operator unsubscribes an address (a reply, a phone call); already gone: no change."""
    require(actor, "newsletter")
    now = utcnow()
    with db.atomic():
        row = find(text)
        changed = _leave(row.id, how or f"by {actor.login}", None, now)
        if changed:
            _customer_in_step([row.id], False, actor, "unsubscribed by an operator")
    if changed:
        events_log.event("unsubscribed", actor.login, subscriber=row.id, how="operator")
    return SubscriberRef(row.id, row.email, "unsubscribed" if changed else row.state, changed)


def unsubscribe_by_token(shop: Shop, token: str) -> SubscriberRef:
    """The one-click link (RFC 8058) or its page's button: unsubscribed at once, so the
    claim of any campaign mail to the address from now on skips it. Idempotent: a second
    POST answers the same. A test send's token (subscriber 0) changes nothing."""
    subscriber_id, campaign_id = newsletter_links.read_unsubscribe(shop.config, token)
    if subscriber_id == 0:
        return SubscriberRef(0, "", "unsubscribed", False)
    now = utcnow()
    with db.atomic():
        row = Subscriber.get_or_none(Subscriber.id == subscriber_id)
        if row is None or row.email_key is None:  # erased since: nothing to mail any more
            return SubscriberRef(subscriber_id, "", "unsubscribed", False)
        changed = _leave(row.id, BY_LINK, campaign_id or None, now)
        if changed:
            _customer_in_step([row.id], False, None, "unsubscribed by the newsletter's link")
    if changed:
        events_log.event("unsubscribed", "subscriber", subscriber=row.id, campaign=campaign_id,
                         how="link")
    return SubscriberRef(row.id, row.email, "unsubscribed" if changed else row.state, changed)


SUPPRESSED_STATE = {"complaint": "complained", "hard bounce": "bounced",
                    "soft bounces": "bounced"}


def suppress_address(actor: Actor, key: str, reason: str, detail: str,
                     now: dt.datetime) -> bool:
    """Inside a transaction: the address goes on the suppression list (already there: the
    first reason stays) and its subscriber leaves with it, complained or bounced as the
    reason says; whether it was not suppressed before."""
    new = suppression_of(key) is None
    if new:
        Suppression.create(email_key=key, reason=reason, detail=detail[:2000],
                           operator_login=actor.login, created_at=now, updated_at=now)
    row = Subscriber.get_or_none(Subscriber.email_key == key)
    if row is not None and row.state in ("subscribed", "pending", "unsubscribed"):
        Subscriber.update(state=SUPPRESSED_STATE.get(reason, "unsubscribed"), state_at=now,
                          state_how=reason, updated_at=now).where(
            Subscriber.id == row.id).execute()
        _customer_in_step([row.id], False, actor, f"suppressed ({reason})")
    return new


def suppress(shop: Shop, actor: Actor, email: str, reason: str, detail: str = "") -> None:
    """Put an address on the suppression list (for good: a complaint, a hard bounce, an
    operator's block); its subscriber leaves with it. Already there: the first reason stays."""
    require(actor, "newsletter")
    key = email.strip().lower()
    # a receiver's diagnostic can run long: what it says first is what tells the reason
    reason, detail = clean(reason, "reason"), clean(detail[:MOST_ON_A_LINE], "detail")
    if not key or not reason:
        raise ValidationError("give the address and the reason", field="email")
    with db.atomic():
        suppress_address(actor, key, reason, detail, utcnow())
    events_log.event("suppressed", actor.login, reason=reason)


# ----- a customer's consent, kept in step -----------------------------------------------------

def _customer_in_step(subscriber_ids: list[int], consent: bool, actor: Actor | None,
                      why: str) -> None:
    """The customers of these subscribers (by link or by address) take the consent the
    subscriber now has; their version moves (an open form reloads) and their history says
    why."""
    p = Params({"ids": id_value(subscriber_ids)})
    now = utcnow()
    customers = [int(r[0]) for r in db.execute_sql(
        f"SELECT c.id FROM customer c JOIN subscriber s ON (s.customer_id = c.id OR "
        f"s.email_key = c.email_key) WHERE s.id IN (SELECT value FROM {id_source('ids')}) "
        f"AND c.status <> 'deleted' AND c.marketing_consent <> {p(consent)}", p).fetchall()]
    if not customers:
        return
    login = actor.login if actor else "subscriber"
    values: dict[str, Any] = {"marketing_consent": consent, "updated_at": now,
                              "updated_by": login, "version": Customer.version + 1,
                              "consent_at": now if consent else None,
                              "consent_source": "newsletter" if consent else ""}
    Customer.update(values).where(Customer.id.in_(customers)).execute()
    CustomerEvent.insert_many([
        {"customer": cid, "kind": "newsletter", "message": why, "operator_login": login,
         "data": json.dumps({"marketing_consent": consent})} for cid in customers]).execute()


def customers_changed(customer_ids: list[int], actor_login: str) -> None:
    """After customers were written (made, edited, imported): the subscriber of each address
    follows the customer's marketing consent. Consent given: subscribed ("customer account",
    with the customer's consent time and wording), unless the address left after that
    consent or is suppressed; consent withdrawn: unsubscribed at once. Set-based; call inside
    the writing transaction."""
    if not customer_ids:
        return
    now = stored_time(utcnow())
    p = Params({"ids": id_value(customer_ids)})
    mine = f"c.id IN (SELECT value FROM {id_source('ids')}) AND c.email_key IS NOT NULL"
    # withdrawn: their subscriber leaves
    db.execute_sql(
        f"UPDATE subscriber SET state = 'unsubscribed', state_at = {p(now)}, "
        f"state_how = {p(BY_CUSTOMER)}, updated_at = {p(now)} "
        f"WHERE state IN ('subscribed', 'pending') AND email_key IN "
        f"(SELECT c.email_key FROM customer c WHERE {mine} AND NOT c.marketing_consent)", p)
    # given: a new row, or an unsubscribed one whose consent came later than its leaving
    consent_at = "COALESCE(c.consent_at, c.registered_at)"
    db.execute_sql(
        f"UPDATE subscriber SET state = 'subscribed', state_at = NULL, state_how = '', "
        f"state_campaign = NULL, consent_source = 'customer account', updated_at = {p(now)}, "
        f"consent_at = (SELECT {consent_at} FROM customer c WHERE c.email_key = "
        f"subscriber.email_key), consent_text = (SELECT c.consent_source FROM customer c "
        f"WHERE c.email_key = subscriber.email_key) "
        f"WHERE state = 'unsubscribed' AND email_key IN (SELECT c.email_key FROM customer c "
        f"WHERE {mine} AND c.marketing_consent AND {consent_at} > subscriber.state_at) "
        f"AND NOT EXISTS (SELECT 1 FROM suppression x WHERE x.email_key = "
        f"subscriber.email_key)", p)
    db.execute_sql(
        f"INSERT INTO subscriber (created_at, updated_at, email, email_key, first_name, "
        f"last_name, language, customer_id, state, consent_source, consent_at, consent_text, "
        f"state_how, added_by) SELECT {p(now)}, {p(now)}, c.email, c.email_key, c.first_name, "
        f"c.last_name, c.language, c.id, 'subscribed', 'customer account', {consent_at}, "
        f"c.consent_source, '', {p(actor_login)} FROM customer c WHERE {mine} "
        f"AND c.marketing_consent AND c.status <> 'deleted' AND NOT EXISTS "
        f"(SELECT 1 FROM subscriber s WHERE s.email_key = c.email_key) AND NOT EXISTS "
        f"(SELECT 1 FROM suppression x WHERE x.email_key = c.email_key)", p)
    fill_search_text(f"email_key IN (SELECT c.email_key FROM customer c WHERE {mine})", p)
    db.execute_sql(
        f"UPDATE subscriber SET customer_id = (SELECT c.id FROM customer c WHERE c.email_key "
        f"= subscriber.email_key) WHERE customer_id IS NULL AND email_key IN "
        f"(SELECT c.email_key FROM customer c WHERE {mine})", p)


def customers_renamed(customer_ids: list[int]) -> int:
    """After customers' names were written: their subscribers (linked by customer_id) take
    the customer's name, and its folded search text, in the same transaction (the list and
    its `/` show the customer as they are now). Set-based; how many changed."""
    if not customer_ids:
        return 0
    p = Params({"ids": id_value(customer_ids), "now": stored_time(utcnow())})
    mine = f"customer_id IN (SELECT value FROM {id_source('ids')}) AND email_key IS NOT NULL"
    theirs = "FROM customer c WHERE c.id = subscriber.customer_id"
    changed = db.execute_sql(
        f"UPDATE subscriber SET first_name = (SELECT c.first_name {theirs}), last_name = "
        f"(SELECT c.last_name {theirs}), search_text = '', updated_at = {named('now')} "
        f"WHERE {mine} AND EXISTS (SELECT 1 {theirs} AND c.status <> 'deleted' AND "
        f"(c.first_name <> subscriber.first_name OR c.last_name <> subscriber.last_name))",
        p).rowcount
    fill_search_text(mine, p)
    return int(changed)


FOLLOWS = ("subscribed", "unsubscribed")  # the person's wish; the other states are the address's


def customer_email_changed(customer_id: int, old_key: str, new_email: str,
                           actor_login: str) -> str:
    """Inside the edit's transaction, the customer's email just changed: the subscription of
    the old address follows to the new one (its consent record and state, subscribed or
    unsubscribed, are the person's), unless the new address has a subscriber of its own or
    is suppressed. A pending row (a confirmation asked of the old address), a bounced or
    complained one (about that mailbox), or one that cannot follow stays with its address,
    no longer the customer's; the customer's consent then governs the new address
    (customers_changed). What happened, for the customer's history ("" when nothing)."""
    new_key = new_email.lower()
    row = Subscriber.get_or_none(Subscriber.email_key == old_key)
    if row is None or old_key == new_key or row.customer_id not in (None, customer_id):
        return ""
    now = utcnow()
    taken = Subscriber.select().where(Subscriber.email_key == new_key).exists()
    if row.state in FOLLOWS and not taken and suppression_of(new_key) is None:
        Subscriber.update(email=new_email, email_key=new_key, customer=customer_id,
                          search_text=search_text(new_email, row.first_name, row.last_name),
                          updated_at=now).where(Subscriber.id == row.id).execute()
        why = f"the newsletter subscription ({row.state}) follows to {new_email}"
    else:
        Subscriber.update(customer=None, updated_at=now).where(Subscriber.id == row.id).execute()
        why = (f"the newsletter subscriber {row.email} ({row.state}) stays with that address"
               + (f": {new_email} has a subscriber of its own" if taken else
                  f": {new_email} is suppressed" if suppression_of(new_key) else ""))
    CustomerEvent.create(customer=customer_id, kind="newsletter", message=why,
                         operator_login=actor_login,
                         data=json.dumps({"subscriber": row.id, "state": row.state}))
    return why


def customer_erased(customer_id: int, email: str) -> int:
    """A customer erased (GDPR): the subscriber of their account or address goes with them
    (their campaign mails keep their counts, without a subscriber). The suppression list
    keeps an address that must never be mailed. How many went."""
    key = email.strip().lower()
    query = Subscriber.customer == customer_id
    if key:
        query |= Subscriber.email_key == key
    return int(Subscriber.delete().where(query).execute())
