"""/v1/customers: a customer registers, reads their account, deletes it. Each handler is
one call into the store, through web.deps.in_store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, Security

from store import customers, idempotency
from store.api_keys import Caller
from store.models import MAX_INT
from store.storefront_reads import customer_view
from web.customer_models import CustomerIn, CustomerOut
from web.deps import IdempotencyKey, ShopDep, api_key, in_store, request_of, respond
from web.errors import ErrorBody

router = APIRouter(prefix="/customers", tags=["customers"])
CustomerId = Annotated[int, Path(ge=1, le=MAX_INT)]
REFUSALS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (401, 403, 404, 409, 413, 422)}


@router.post("", status_code=201, response_model=CustomerOut, responses=REFUSALS,
             summary="Register a customer (self-registration)")
async def register(body: CustomerIn, shop: ShopDep, request: Request,
                   caller: Annotated[Caller, Security(api_key("customers:write"))],
                   key: IdempotencyKey = None) -> Response:
    """The account joins the default group and a confirm-account mail is queued; an email
    already registered is refused (409)."""
    fingerprint = request_of(request, body)
    return respond(await in_store(request, lambda: idempotency.run(
        shop, caller.key_pk, key, fingerprint,
        lambda: customers.register_customer(shop, caller.actor, **body.service_args()),
        lambda ref: (201, CustomerOut.of(customer_view(shop, ref.id)).model_dump_json()))))


@router.get("/{customer_id}", response_model=CustomerOut, responses=REFUSALS,
            summary="An account: status, group and its privileges")
async def get_customer(customer_id: CustomerId, shop: ShopDep, request: Request,
                       caller: Annotated[Caller, Security(api_key("customers:read"))]
                       ) -> Response:
    view = await in_store(request, lambda: customer_view(shop, customer_id))
    return Response(CustomerOut.of(view).model_dump_json(), media_type="application/json")


@router.delete("/{customer_id}", status_code=204, responses=REFUSALS,
               summary="Delete an account (the customer's own request)")
async def delete(customer_id: CustomerId, shop: ShopDep, request: Request,
                 caller: Annotated[Caller, Security(api_key("customers:write"))],
                 key: IdempotencyKey = None) -> Response:
    """Erased as the app erases it (personal data blanked, their mails erased; orders keep
    their own copies for the accounts), and the shop is told, in one transaction."""
    await in_store(request, lambda: customers.self_delete(shop, caller.actor, customer_id))
    return Response(status_code=204)
