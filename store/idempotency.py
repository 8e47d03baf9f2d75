"""Idempotency-Keys of the storefront API, as the IETF idempotency-key draft has them (and
Stripe does): a client sends a key of its own choosing with a write; a retry with the same
key gets the first response again, byte for byte, and no second change.

Each key belongs to one API key and is kept `web.idempotency_hours` (at least 24 h). A key
is claimed in a short transaction of its own, so that a retry arriving while the first
request still runs finds it taken (409, retry later); the change, and the response to
replay, are then written in one transaction, so a stored response always means the change
was made and a change always has its stored response. A refusal gives the key back (nothing
was written). A claim whose request died (a killed server) lapses after LEASE_SECONDS and a
retry takes it over; the first request, should it still finish, then finds its claim gone
and is rolled back, so one key never makes two changes."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from store import db as dbmod
from store.errors import Conflict, ValidationError
from store.models import IdempotencyRecord, db, utcnow
from store.shop import Shop

T = TypeVar("T")
LEASE_SECONDS = 120
PURGE_EVERY = 256  # every this many keys claimed, records past their time are deleted
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Response:
    """What a write answered: its HTTP status and JSON text; `replayed` when it is the
    stored answer of an earlier request with the same key."""

    status: int
    body: str
    replayed: bool = False


@dataclass(frozen=True)
class _Claim:
    id: int
    token: str


def check_key(value: str) -> str:
    """The key as sent: 1-255 printable ASCII characters (an sf-string's quotes removed)."""
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise ValidationError(f"an {HEADER} is 1 to {MAX_KEY_LENGTH} printable ASCII "
                              "characters (a UUID is a good one)", field=HEADER)
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for a key: method, path and the JSON body with
    its keys sorted and spacing dropped (the same order sent again, however serialized)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def run(shop: Shop, api_key_pk: int, key: str | None, fingerprint: str,
        work: Callable[[], T], render: Callable[[T], tuple[int, str]]) -> Response:
    """Do `work` in one transaction and answer `render(result)`; with a key, at most once
    per key: the answer is stored in that transaction and replayed to every retry."""
    if key is None:
        with db.atomic():
            result = work()
            status, body = render(result)
        return Response(status, body)
    claimed = _claim(shop, api_key_pk, check_key(key), fingerprint)
    if isinstance(claimed, Response):
        return claimed
    try:
        with db.atomic():
            result = work()
            status, body = render(result)
            _complete(claimed, status, body)
    except BaseException:
        _release(claimed)
        raise
    return Response(status, body)


def _cutoff(shop: Shop, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(hours=int(shop.config.get("web", "idempotency_hours")))


def _claim(shop: Shop, api_key_pk: int, key: str, fingerprint: str) -> _Claim | Response:
    """Take the key for this request, or say why not: the stored answer (done), 422 (used
    for another request), 409 (its request still runs)."""
    now = utcnow()
    token = uuid.uuid4().hex
    lease = now + dt.timedelta(seconds=LEASE_SECONDS)
    mine = (IdempotencyRecord.api_key == api_key_pk) & (IdempotencyRecord.key == key)
    with db.atomic():
        IdempotencyRecord.delete().where(mine, IdempotencyRecord.created_at
                                         < _cutoff(shop, now)).execute()
        IdempotencyRecord.insert(api_key=api_key_pk, key=key, fingerprint=fingerprint,
                                 claim=token, lease_until=lease, created_at=now,
                                 updated_at=now).on_conflict_ignore().execute()
        query = IdempotencyRecord.select().where(mine)
        row = (query if dbmod.is_sqlite() else query.for_update()).get()
        if row.claim == token:
            if row.id % PURGE_EVERY == 0:
                IdempotencyRecord.delete().where(
                    IdempotencyRecord.created_at < _cutoff(shop, now)).execute()
            return _Claim(row.id, token)
        if row.fingerprint != fingerprint:
            raise ValidationError(
                f"this {HEADER} was used for another request (a different body or endpoint): "
                "send a new key for a new request", field=HEADER)
        if row.state == "done":
            return Response(int(row.status_code or 0), row.body, replayed=True)
        if row.lease_until is not None and row.lease_until > now:
            raise Conflict(f"the first request with this {HEADER} is still being processed: "
                           "retry it in a moment", field=HEADER)
        IdempotencyRecord.update(claim=token, lease_until=lease, updated_at=now).where(
            IdempotencyRecord.id == row.id, IdempotencyRecord.claim == row.claim).execute()
    return _Claim(row.id, token)


def _complete(claim: _Claim, status: int, body: str) -> None:
    """Store the answer, inside the change's transaction; a claim taken over meanwhile (its
    lease ran out) rolls the change back."""
    done = IdempotencyRecord.update(state="done", status_code=status, body=body,
                                    lease_until=None, updated_at=utcnow()).where(
        IdempotencyRecord.id == claim.id, IdempotencyRecord.claim == claim.token,
        IdempotencyRecord.state == "started").execute()
    if done != 1:
        raise Conflict(f"this {HEADER} was taken over by a retry while the request ran; "
                       "nothing was changed by this one", field=HEADER)


def _release(claim: _Claim) -> None:
    """Give the key back after a refusal or an error: nothing was written, so a retry may do
    the work. A database out of reach leaves the claim to lapse with its lease."""
    with contextlib.suppress(Exception), db.atomic():
        IdempotencyRecord.delete().where(IdempotencyRecord.id == claim.id,
                                         IdempotencyRecord.claim == claim.token,
                                         IdempotencyRecord.state == "started").execute()
