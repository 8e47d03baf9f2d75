"""GET /healthz: whether this `backroom serve` reaches its database, for a load balancer or
a monitor. No key needed; it says nothing about the shop's data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from store.db import ping
from store.errors import BackroomError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Is the database reachable?")
def healthz() -> JSONResponse:
    """`{"database": "ok"}`, or 503 with the reason. A fuller report (outbox, webhooks) plugs
    in here: merge the dict a store read returns into `report`."""
    try:
        ping()
    except BackroomError as exc:
        return JSONResponse({"database": "unreachable", "reason": exc.message},
                            status_code=503)
    report = {"database": "ok"}
    return JSONResponse(report)
