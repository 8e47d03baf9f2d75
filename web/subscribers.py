"""/v1/subscribers: the shop's signup form. One call into the store, through the
Idempotency-Key like every write."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, Security

from store import idempotency, subscribers
from store.api_keys import Caller
from web.deps import IdempotencyKey, ShopDep, api_key, in_store, request_of, respond
from web.errors import ErrorBody
from web.subscriber_models import SubscriberIn, SubscriberOut

router = APIRouter(prefix="/subscribers", tags=["newsletter"])
REFUSALS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (401, 403, 409, 413, 422)}


@router.post("", status_code=201, response_model=SubscriberOut, responses=REFUSALS,
             summary="Sign someone up for the newsletter (with their consent)")
async def sign_up(body: SubscriberIn, shop: ShopDep, request: Request,
                  caller: Annotated[Caller, Security(api_key("subscribers:write"))],
                  key: IdempotencyKey = None) -> Response:
    """201 when the address was added (or came back after unsubscribing), 200 when it was
    already subscribed or waiting for its confirmation; a suppressed, bounced or complained
    address is refused (409)."""
    fingerprint = request_of(request, body)
    return respond(await in_store(request, lambda: idempotency.run(
        shop, caller.key_pk, key, fingerprint,
        lambda: subscribers.subscribe(shop, caller.actor, source="signup form", confirm=True,
                                      **body.service_args()),
        lambda ref: (201 if ref.changed else 200,
                     SubscriberOut(id=ref.id, email=ref.email,
                                   state=ref.state).model_dump_json()))))
