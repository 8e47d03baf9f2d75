"""API keys: one per integration (the storefront, a till, a payment gateway), each with the
scopes it may use. A key is shown once, when it is made: `brk_<id>_<secret>`, where the id
(12 hex digits) is public and finds the row, and the secret is 32 random bytes of which only
the SHA-256 is stored; a presented secret's digest is compared with `hmac.compare_digest`.
A 256-bit random secret needs no slow hash (there is no password to guess).

Written-out SQL (see store.sql) for the one statement every API request runs, finding its
key: peewee took 0.16 ms of Python to build and read it back, the database 0.02 ms."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from peewee import IntegrityError

from store.errors import NotAuthenticated, PermissionDenied, Refused, ValidationError
from store.models import ApiKey, db, utcnow
from store.operators import Actor, require
from store.sql import named
from store.text import clean, shown

# Every scope a key may hold, with what it allows. A write scope includes reading the same
# resource (the answer to a write is the resource). New endpoints add theirs here.
SCOPES: dict[str, str] = {
    "orders:read": "read orders: status, can_pay, tracking (GET /v1/orders/{code})",
    "orders:write": "place orders, test orders too (POST /v1/orders); includes orders:read",
    "payments:write": "record payments confirmed by the gateway "
                      "(POST /v1/orders/{code}/payments)",
    "customers:read": "read customer accounts: status, group, privileges "
                      "(GET /v1/customers/{id})",
    "customers:write": "register and delete customer accounts (POST /v1/customers, DELETE "
                       "/v1/customers/{id}); includes customers:read",
    "subscribers:write": "sign people up for the newsletter, with their consent "
                         "(POST /v1/subscribers)",
}
IMPLIED: dict[str, tuple[str, ...]] = {
    "orders:write": ("orders:read",),
    "customers:write": ("customers:read",),
}
PREFIX = "brk"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_TOKEN = re.compile(rf"{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})")


@dataclass(frozen=True)
class ApiKeyRow:
    """An API key as `backroom apikey list` shows it (never its secret)."""

    name: str
    key_id: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None
    revoked_by: str

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Caller:
    """Who called the API: the key (its row id scopes Idempotency-Keys) and the actor its
    writes are made as, whose login names the key in every history row."""

    key_pk: int
    name: str
    scopes: frozenset[str]
    actor: Actor


def actor_for(name: str) -> Actor:
    """The actor of an API key: "storefront (key NAME)" in the history. Its role lets it do
    what the endpoints do (place orders, record payments, register customers); what each key
    may do is its scopes, checked by `authenticate`."""
    return Actor(f"storefront (key {name})", "manager", f"Storefront (key {name})")


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes given, each known, in the order of SCOPES; none at all is refused."""
    wanted = {s.strip() for s in scopes if s.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ValidationError(f"unknown scope {shown(unknown[0])}; scopes are "
                              f"{', '.join(SCOPES)}", field="scopes")
    if not wanted:
        raise ValidationError(f"give the key at least one scope ({', '.join(SCOPES)})",
                              field="scopes")
    return tuple(s for s in SCOPES if s in wanted)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _row(key: ApiKey) -> ApiKeyRow:
    return ApiKeyRow(key.name, key.key_id, tuple(s for s in key.scopes.split(",") if s),
                     key.created_at, key.created_by, key.revoked_at, key.revoked_by)


def create(actor: Actor, name: str, scopes: Iterable[str]) -> tuple[ApiKeyRow, str]:
    """A new key and its token, which is shown this once and never stored."""
    require(actor, "api_keys")
    name = clean(name, "name")
    if not _NAME.fullmatch(name):
        raise ValidationError(
            f"{shown(name)}: a key's name is 1-40 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (like storefront or pos-paris)", field="name")
    granted = check_scopes(scopes)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    taken = f"an API key named {name} exists already (names are never reused)"
    try:
        with db.atomic():
            if ApiKey.get_or_none(ApiKey.name == name) is not None:
                raise Refused(taken, field="name")
            key = ApiKey.create(name=name, key_id=key_id, secret_sha256=_digest(secret),
                                scopes=",".join(granted), created_by=actor.login)
    except IntegrityError:  # made by someone else between the check and the insert
        raise Refused(taken, field="name") from None
    return _row(key), f"{PREFIX}_{key_id}_{secret}"


def list_keys(actor: Actor) -> list[ApiKeyRow]:
    """Every key, active and revoked, by name."""
    require(actor, "api_keys")
    return [_row(k) for k in ApiKey.select().order_by(ApiKey.name)]


def made_by(login: str) -> list[str]:
    """The names of the live keys `login` made: an operator who leaves saw their secrets,
    and each is to be replaced (a key goes on working after its maker's deactivation, so a
    storefront never stops taking orders the day an admin leaves)."""
    return [k.name for k in ApiKey.select(ApiKey.name).where(
        ApiKey.created_by == login, ApiKey.revoked_at.is_null()).order_by(ApiKey.name)]


def revoke(actor: Actor, name: str) -> ApiKeyRow:
    """Refuse the key from now on, in every `backroom serve`; kept in the list as revoked."""
    require(actor, "api_keys")
    with db.atomic():
        key = ApiKey.get_or_none(ApiKey.name == name.strip())
        if key is None:
            raise Refused(f"no API key named {shown(name)}", field="name")
        if key.revoked_at is not None:
            raise Refused(f"API key {key.name} was revoked already", field="name")
        key.revoked_at, key.revoked_by, key.updated_at = utcnow(), actor.login, utcnow()
        key.save()
    return _row(key)


def authenticate(token: str | None, scope: str) -> Caller:
    """The caller a token belongs to, if it may use `scope`: no token, an unknown or revoked
    one is NotAuthenticated (401); a key without the scope is PermissionDenied (403)."""
    if not token:
        raise NotAuthenticated("no API key: send it as `Authorization: Bearer <key>`",
                               field="Authorization")
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise NotAuthenticated("that is not a backroom API key (brk_...)", field="Authorization")
    key_id, secret = match.groups()
    row = db.execute_sql("SELECT id, name, secret_sha256, scopes, revoked_at FROM api_key "
                         f"WHERE key_id = {named('key_id')}", {"key_id": key_id}).fetchone()
    if row is None or not hmac.compare_digest(_digest(secret), row[2]):
        raise NotAuthenticated("unknown API key", field="Authorization")
    pk, name, _digested, scopes, revoked = row
    if revoked is not None:
        raise NotAuthenticated(f"API key {name} was revoked on {str(revoked)[:16]} UTC",
                               field="Authorization")
    granted = frozenset(s for s in scopes.split(",") if s)
    held = granted | {implied for s in granted for implied in IMPLIED.get(s, ())}
    if scope not in held:
        raise PermissionDenied(f"API key {name} may not do this: it needs the scope "
                               f"{scope} (it has {', '.join(sorted(granted)) or 'none'})",
                               field="Authorization")
    return Caller(int(pk), name, frozenset(held), actor_for(name))
