"""The ASGI app: the shop opened once, the body cap in front, the error handlers, a router
per resource. `create_app(config)` serves the tests (httpx's ASGI transport) and
`from_environment()` is the factory `backroom serve` hands uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI

from store import config as configmod
from store import db as dbmod
from store.contact import check_country
from store.shop import open_shop
from web import customers, errors, health, newsletter_pages, orders, subscribers
from web.limits import BodyLimit

DESCRIPTION = """The storefront's door into backroom: place orders, read them, report payments,
register and delete customer accounts. Every call carries an API key
(`Authorization: Bearer brk_...`, made by `backroom apikey add NAME --scopes ...`); writes take
an `Idempotency-Key`. Amounts are integers of minor units beside an ISO 4217 currency. Every
refusal is `{"error": {"status", "type", "field", "message", "fields"}}`."""


def create_app(config: configmod.Config) -> FastAPI:
    """The API on the shop `config` names (its database opened and migrated now, so the
    first request does not pay for it)."""
    shop = open_shop(config, temp_in_memory=True)
    check_country("FR")  # loads pycountry's table once, here rather than in a request
    # SQLite takes one writer at a time: 16 worker threads only queued on its lock and on the
    # interpreter's (0.42x the direct calls' orders per second, p99 3x p50), one worker thread
    # still handed each request over and back and shared the interpreter with the event loop
    # (0.46-0.49x); on the event loop's own thread, one request after another, no hand-off
    threads = int(config.get("web", "threads")) or (0 if dbmod.is_sqlite() else 16)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if threads:  # each request runs on a worker thread holding its own connection
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        dbmod.close()

    app = FastAPI(title="backroom storefront API", version="1", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json")
    app.state.shop = shop
    app.state.one_at_a_time = None if threads else anyio.Lock()  # web.deps.in_store
    errors.install(app)
    app.include_router(orders.router, prefix="/v1")
    app.include_router(customers.router, prefix="/v1")
    app.include_router(subscribers.router, prefix="/v1")
    app.include_router(newsletter_pages.router)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, max_bytes=int(config.get("web", "max_body_bytes")))
    return app


def from_environment() -> FastAPI:
    """The app for `backroom serve`, which passes its --config and --database through
    $BACKROOM_CONFIG and $BACKROOM_DATABASE_URL (the config's own lookup)."""
    return create_app(configmod.load())
