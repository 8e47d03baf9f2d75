"""Every refusal as one JSON shape, `{"error": {"status", "type", "field", "message",
"fields"}}`: store errors (one handler, by their class), request bodies that do not validate
(the field's path, like `items[2].quantity`), unknown routes and methods, and anything
unexpected (logged, answered 500 without its details)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from store.db import store_error
from store.errors import (
    BackroomError,
    Conflict,
    DatabaseError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Refused,
    UnknownOperator,
    ValidationError,
)

log = logging.getLogger("backroom.web")

# The HTTP status of each store refusal; the first class an error is an instance of wins.
STATUS: tuple[tuple[type[BackroomError], int, str], ...] = (
    (NotAuthenticated, 401, "not_authenticated"),
    (UnknownOperator, 401, "not_authenticated"),
    (PermissionDenied, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (ValidationError, 422, "invalid"),
    (Conflict, 409, "conflict"),
    (Refused, 409, "refused"),
    (DatabaseError, 503, "unavailable"),
)
HTTP_TYPES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden",
              404: "not_found", 405: "method_not_allowed", 413: "too_large",
              415: "unsupported_media_type"}


class FieldError(BaseModel):
    field: str | None
    message: str


class ErrorDetail(BaseModel):
    status: int
    type: str
    field: str | None
    message: str
    fields: list[FieldError] = []


class ErrorBody(BaseModel):
    """What every refusal answers: the first field at fault and why, then all of them."""

    error: ErrorDetail


def error_response(status: int, kind: str, message: str, field: str | None = None,
                   fields: Sequence[FieldError] = (),
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    listed = list(fields) or [FieldError(field=field, message=message)]
    body = ErrorBody(error=ErrorDetail(status=status, type=kind, field=field, message=message,
                                       fields=listed))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def backroom_error(exc: BackroomError) -> JSONResponse:
    """A store refusal as JSON, naming the field it was about."""
    status, kind = next(((s, k) for cls, s, k in STATUS if isinstance(exc, cls)),
                        (400, "refused"))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, kind, exc.message, exc.field, headers=headers)


def field_path(loc: Sequence[Any]) -> str | None:
    """pydantic's location as a path a storefront developer reads: ("body", "items", 2,
    "name") is `items[2].name`; a header is named as it is sent."""
    parts = list(loc)
    if parts and parts[0] == "header":
        return "-".join(w.capitalize() for w in str(parts[-1]).split("-"))
    if parts and parts[0] in ("body", "path", "query"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-after[", "literal[")):
            continue  # a validator's own name, not a field
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _validation(exc: RequestValidationError) -> JSONResponse:
    fields = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":  # its location is a character position
            reason = (error.get("ctx") or {}).get("error", "")
            fields.append(FieldError(field="body", message=f"the body is not valid JSON "
                                     f"({reason}, at character {error['loc'][-1]})"))
            continue
        fields.append(FieldError(field=field_path(error.get("loc", ())), message=message))
    first = fields[0] if fields else FieldError(field="body", message="invalid request")
    return error_response(422, "invalid", first.message, first.field, fields)


def install(app: FastAPI) -> None:
    """The exception handlers: one for store errors, one for bodies that do not validate,
    one for HTTP errors (unknown route, wrong method), one for the rest."""

    @app.exception_handler(BackroomError)
    async def on_store_error(request: Request, exc: BackroomError) -> JSONResponse:
        return backroom_error(exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(exc)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        field = "body" if exc.status_code == 400 else None
        return error_response(exc.status_code, HTTP_TYPES.get(exc.status_code, "error"),
                              str(exc.detail), field, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        error = store_error(exc)
        if error is not None:  # the database out of reach, read-only, full: said plainly
            return backroom_error(error)
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "an unexpected error; it was logged, and "
                              "nothing was changed")
