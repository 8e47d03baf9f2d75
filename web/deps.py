"""The dependencies every handler takes: the open shop (the database session: peewee gives
each thread its own connection, opened on first use and kept for the thread's life) and the
caller named by its API key with the scope the route needs; the Idempotency-Key header of
writes, and what makes a write's request itself. `in_store` is how a handler calls the
store. Turning the store's answer into a response is here too, so a replayed answer is the
stored bytes themselves."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from store import api_keys, idempotency
from store.api_keys import Caller
from store.shop import Shop

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="An API key made by `backroom apikey add`.")


async def in_store(request: Request, call: Callable[[], T]) -> T:
    """Run `call` (the store's work of a request): on a worker thread when the server has
    them (`web.threads`; PostgreSQL by default), else right here on the event loop's thread,
    one request after another (SQLite by default: it lets one writer in at a time, and the
    hand-off to one worker thread and back, with the interpreter shared between the two,
    cost 0.3-0.4 ms of an order). Handlers are `async` for this, so FastAPI sends none of
    them to its thread pool itself.

    Here, requests take their turn in the order they reach this point: the lock queues them
    and passes through the event loop before each call (anyio's Lock does, unless told
    not to), so the sockets are read between two calls. Run back to back, the calls of
    the requests read at once left a client whose answer went last to miss the next read,
    and wait a whole round more: two of 8 clients at half the others' rate, p99 2.3-3.1x
    p50 (1.3-1.4x in turn)."""
    lock: anyio.Lock | None = request.app.state.one_at_a_time
    if lock is None:
        return await anyio.to_thread.run_sync(call)
    async with lock:
        return call()


async def get_shop(request: Request) -> Shop:
    """The shop `backroom serve` opened (async: no thread is needed to hand it over)."""
    shop: Shop = request.app.state.shop
    return shop


def api_key(scope: str) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """A dependency: the caller whose key holds `scope` (401 without a valid key, 403
    without the scope; nothing runs then). The key is read from the database on every
    request, so a revoked key is refused at once."""
    async def caller(request: Request, credentials: Annotated[
            HTTPAuthorizationCredentials | None, Security(_bearer)]) -> Caller:
        token = credentials.credentials if credentials else None
        return await in_store(request, lambda: api_keys.authenticate(token, scope))

    caller.__name__ = f"api_key_{scope.replace(':', '_')}"
    return caller


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=300,
    description="Any unique string (a UUID): a retry with the same key gets the first response "
                "again, byte for byte, and changes nothing; kept at least 24 h.")]


def request_of(request: Request, body: BaseModel) -> str:
    """What makes a write's request itself, for its Idempotency-Key: method, path and the
    validated body (so key order and spacing do not count)."""
    return idempotency.fingerprint(request.method, request.url.path, body.model_dump_json())


def respond(answer: idempotency.Response) -> Response:
    """The answer as sent the first time, byte for byte; a replay says so in a header."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body.encode(), status_code=answer.status,
                    media_type="application/json", headers=headers)


ShopDep = Annotated[Shop, Depends(get_shop)]
