"""GET /healthz: whether this `backroom serve` reaches its database, and the health report,
for a load balancer or a monitor. No key needed: it gives counts and ages, no shop data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from store.db import ping
from store.errors import BackroomError
from store.health import HealthReport, health_report
from web.deps import ShopDep, in_store

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Is the database reachable, and how is the shop's delivery?")
async def healthz(shop: ShopDep, request: Request) -> JSONResponse:
    """200 with `{"database": "ok", "ok": ..., signals...}` (store.health: the oldest unsent
    mail and webhook, failed and dead counts, the last backup's age, the worker's heartbeat,
    each with `red`), or 503 when the database cannot be reached. Stuck mail is `"ok":
    false` with 200, not 503: a load balancer keeps this server in rotation (the storefront
    still takes orders); a monitor reads `ok`."""
    def read() -> HealthReport:
        ping()
        return health_report(shop.config)

    try:
        report = await in_store(request, read)
    except BackroomError as exc:
        return JSONResponse({"database": "unreachable", "reason": exc.message},
                            status_code=503)
    return JSONResponse({"database": "ok", **report.as_dict()})
