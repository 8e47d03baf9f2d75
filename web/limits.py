"""A cap on request bodies (web.max_body_bytes), as pure ASGI middleware in front of the app:
a declared Content-Length over the cap is refused at once, and the body is read from the
stream with its size counted (a chunked body, or one longer than it said, cannot slip
past), so nothing over the cap is ever buffered whole or parsed."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Refuse request bodies larger than `max_bytes` with 413 before the app sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "bad_request", "the Content-Length header is not a number")
            return
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        given = False

        async def replay() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _refuse(send, 413, "too_large",
                      f"the request body is larger than {self.max_bytes:,} bytes "
                      "(web.max_body_bytes)")


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when not given, -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else -1
    return None


async def _refuse(send: Send, status: int, kind: str, message: str) -> None:
    """The refusal in the API's error shape; the connection is closed after it, since the
    rest of the body is never read."""
    payload: dict[str, Any] = {"error": {"status": status, "type": kind, "field": "body",
                                         "message": message,
                                         "fields": [{"field": "body", "message": message}]}}
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
