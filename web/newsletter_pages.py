"""The newsletter's links, answered by `backroom serve` without a key, a cookie or a login:
`/u/{token}` unsubscribes (GET shows a one-button page, so a link scanner that follows the
link unsubscribes no one; POST is the one-click of RFC 8058: 200, no redirect, the same
answer every time) and `/s/{token}` confirms a double opt-in the same way. A tracked
campaign's `/o/{token}.gif` answers a 1x1 GIF and records an open; `/c/{token}` records a
click and redirects to that link of the campaign's own body, nowhere else (an unknown or
tampered token: 404). Tokens are store.newsletter_links': signed, carrying no email."""

from __future__ import annotations

import base64
import html
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from store import campaign_events, subscribers
from store.errors import BackroomError, ConfigError, NotFound
from store.newsletter_links import read_unsubscribe
from store.operators import Actor
from web.deps import ShopDep, in_store

router = APIRouter(tags=["newsletter"], include_in_schema=False)
Token = Annotated[str, Path(max_length=300)]
SUBSCRIBER = Actor("subscriber", "viewer", "a subscriber's link")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex"}


def _page(shop_name: str, title: str, text: str, button: str = "", status: int = 200
          ) -> HTMLResponse:
    """A small page of its own (no script, no outside resource); every word of it escaped."""
    form = (f'<form method="post"><button type="submit">{html.escape(button)}</button></form>'
            if button else "")
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head>"
            f'<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">'
            f"<h1>{html.escape(shop_name)}</h1><p>{html.escape(text)}</p>{form}</body></html>")
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _name(shop: ShopDep) -> str:
    return str(shop.config.get("shop", "name"))


def _refused(shop: ShopDep, title: str, exc: BackroomError) -> HTMLResponse:
    """A link that is not ours (404), or a shop that cannot check links now (503: no
    newsletter.secret; the page says nothing of the config)."""
    if isinstance(exc, ConfigError):
        return _page(_name(shop), title, "This link cannot be checked right now; please try "
                     "again later.", status=503)
    return _page(_name(shop), title, exc.message, status=404)


@router.get("/u/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: Token, shop: ShopDep) -> HTMLResponse:
    """The page a click lands on: nothing changes until its button is pressed."""
    try:
        read_unsubscribe(shop.config, token)
    except BackroomError as exc:
        return _refused(shop, "Unsubscribe", exc)
    return _page(_name(shop), "Unsubscribe", "Press the button to stop receiving our "
                 "newsletter at this address.", "Unsubscribe")


@router.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe(token: Token, shop: ShopDep, request: Request) -> HTMLResponse:
    """One click: unsubscribed at once (a campaign being sent sends nothing more there)."""
    try:
        await in_store(request, lambda: subscribers.unsubscribe_by_token(shop, token))
    except BackroomError as exc:
        return _refused(shop, "Unsubscribe", exc)
    return _page(_name(shop), "Unsubscribed",
                 "You are unsubscribed: you will receive no more newsletters from us.")


@router.get("/s/{token}", response_class=HTMLResponse)
async def confirm_page(token: Token, shop: ShopDep) -> HTMLResponse:
    return _page(_name(shop), "Confirm your subscription",
                 "Press the button to confirm that you want our newsletter.", "Confirm")


@router.post("/s/{token}", response_class=HTMLResponse)
async def confirm(token: Token, shop: ShopDep, request: Request) -> HTMLResponse:
    try:
        await in_store(request, lambda: subscribers.confirm(shop, SUBSCRIBER, token))
    except BackroomError as exc:
        return _refused(shop, "Confirm your subscription", exc)
    return _page(_name(shop), "Subscribed", "Thank you: your subscription is confirmed.")


# a transparent GIF of one pixel (42 bytes)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NOT_KEPT = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:500]


@router.api_route("/o/{token}.gif", methods=["GET", "HEAD"])
async def open_pixel(token: Token, request: Request, shop: ShopDep) -> Response:
    """A tracked mail was opened (or its images fetched by a proxy: labelled machine)."""
    agent, method = _agent(request), request.method
    try:
        await in_store(request, lambda: campaign_events.record_open(shop, token, agent, method))
    except NotFound:
        return Response(status_code=404, headers=NOT_KEPT)
    except ConfigError:
        return Response(status_code=503, headers=NOT_KEPT)
    return Response(PIXEL, media_type="image/gif", headers=NOT_KEPT)


@router.api_route("/c/{token}", methods=["GET", "HEAD"])
async def click(token: Token, request: Request, shop: ShopDep) -> Response:
    """A tracked link: to that link of the campaign's own body (302), never elsewhere."""
    agent, method = _agent(request), request.method
    try:
        url = await in_store(request, lambda: campaign_events.record_click(shop, token, agent,
                                                                            method))
    except BackroomError as exc:
        return _refused(shop, "Link", exc)
    return RedirectResponse(url, status_code=302, headers=NOT_KEPT)
