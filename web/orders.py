"""/v1/orders: place an order, read one, report a payment. Each handler is one call into the
store, through web.deps.in_store (writes through store.idempotency.run, which makes a retry
with the same Idempotency-Key answer the first response and change nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, Security

from store import idempotency, orders, payments
from store.api_keys import Caller
from store.shop import Shop
from store.storefront_reads import order_id_of, order_view
from web.deps import IdempotencyKey, ShopDep, api_key, in_store, request_of, respond
from web.errors import ErrorBody
from web.order_models import OrderIn, OrderOut, PaymentIn, PaymentOut

router = APIRouter(prefix="/orders", tags=["orders"])
Code = Annotated[str, Path(max_length=40, description="the order code, like BR-100007")]
REFUSALS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (401, 403, 404, 409, 413, 422)}


def _order_json(shop: Shop, order_id: int) -> str:
    return OrderOut.of(order_view(shop, order_id)).model_dump_json()


@router.post("", status_code=201, response_model=OrderOut, responses=REFUSALS,
             summary="Place an order (a registered customer's or a guest's)")
async def place_order(body: OrderIn, shop: ShopDep, request: Request,
                      caller: Annotated[Caller, Security(api_key("orders:write"))],
                      key: IdempotencyKey = None) -> Response:
    """The confirmation mail and the shop's new-order notices are queued in the same
    transaction. A test order (`"test": true`) is marked everywhere and can be deleted."""
    fingerprint = request_of(request, body)
    return respond(await in_store(request, lambda: idempotency.run(
        shop, caller.key_pk, key, fingerprint,
        lambda: orders.place_order(shop, caller.actor, **body.service_args()),
        lambda ref: (201, _order_json(shop, ref.id)))))


@router.get("/{code}", response_model=OrderOut, responses=REFUSALS,
            summary="An order: status, whether it can be paid, tracking")
async def get_order(code: Code, shop: ShopDep, request: Request,
                    caller: Annotated[Caller, Security(api_key("orders:read"))]) -> Response:
    return Response(await in_store(request, lambda: _order_json(shop, order_id_of(shop, code))),
                    media_type="application/json")


@router.post("/{code}/payments", status_code=201, response_model=PaymentOut,
             responses=REFUSALS, summary="Report a payment the gateway confirmed")
async def pay_order(code: Code, body: PaymentIn, shop: ShopDep, request: Request,
                    caller: Annotated[Caller, Security(api_key("payments:write"))],
                    key: IdempotencyKey = None) -> Response:
    """Refused with 409 and the reason when the order cannot be paid now (its status, or an
    account waiting for validation); a payment that settles the order moves it to the
    workflow's paid status and queues the payment mail."""
    def render(result: payments.PaymentResult) -> tuple[int, str]:
        label = shop.workflow.label(result.moved_to) if result.moved_to else ""
        out = PaymentOut.of(body, result, order_view(shop, result.order_id), label)
        return 201, out.model_dump_json()

    fingerprint = request_of(request, body)
    return respond(await in_store(request, lambda: idempotency.run(
        shop, caller.key_pk, key, fingerprint,
        lambda: payments.confirm_payment(shop, caller.actor, order_id_of(shop, code),
                                         body.amount, body.currency, body.method,
                                         body.reference),
        render)))
