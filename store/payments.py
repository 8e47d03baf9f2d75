"""Money in and out of an order: payments recorded and refunds, never more than the rules
allow (store.rules); a full refund moves the order to the workflow's refunded status."""

from __future__ import annotations

import uuid
from typing import Any

from store import events_log
from store.errors import Refused, ValidationError
from store.models import Payment, db, utcnow
from store.money import format_money
from store.operators import Actor, require
from store.order_rows import bump, event, insert_events, insert_withdrawn_events, load_for_write
from store.outbox import Mail, enqueue, order_payload, withdraw_superseded
from store.rules import payment_refusal, refund_refusal
from store.shop import Shop
from store.text import clean


def record_payment(shop: Shop, actor: Actor, order_id: int, amount: int, method: str = "",
                   reference: str = "", expected_version: int | None = None) -> None:
    """Money received for an order; more than the order's total is refused."""
    require(actor, "record_payment")
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount", field="amount")
    method, reference = clean(method, "method"), clean(reference, "reference")
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        reason = payment_refusal(order.code, amount, order.amount_paid, order.total,
                                 order.currency)
        if reason:
            raise Refused(reason, field="amount")
        Payment.create(order=order.id, kind="payment", amount=amount, currency=order.currency,
                       method=method or order.payment_method, reference=reference,
                       operator_login=actor.login)
        changes: dict[str, Any] = {"amount_paid": order.amount_paid + amount}
        if reference:
            changes["payment_reference"] = reference
        bump(order, actor, **changes)
        insert_events([event(order.id, actor, "payment",
                             f"payment of {format_money(amount, order.currency)} recorded",
                             data={"amount": amount, "method": method, "reference": reference})])
    events_log.event("payment", actor.login, order=order.code, amount=amount,
                     currency=order.currency)


def refund(shop: Shop, actor: Actor, order_id: int, amount: int, reason: str, *,
           method: str = "", notify: bool = True, expected_version: int | None = None) -> bool:
    """Refund part or all of what was paid, never more; a full refund moves the order to the
    workflow's refunded status where allowed (the only way into it), withdrawing the status
    mail it supersedes. Returns True when the status changed."""
    require(actor, "refund")
    if amount <= 0:
        raise ValidationError("a refund must be a positive amount", field="amount")
    reason, method = clean(reason, "reason"), clean(method, "method")
    if not reason:
        raise ValidationError("a refund needs a reason", field="reason")
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        refused = refund_refusal(order.code, amount, order.amount_paid, order.amount_refunded,
                                 order.currency)
        if refused:
            raise Refused(refused, field="amount")
        Payment.create(order=order.id, kind="refund", amount=amount, currency=order.currency,
                       method=method or order.payment_method, reason=reason,
                       operator_login=actor.login)
        refunded = order.amount_refunded + amount
        full = refunded == order.amount_paid
        changes: dict[str, Any] = {"amount_refunded": refunded}
        wf = shop.workflow
        target = wf.refunded_key()
        moved = bool(full and target and wf.allowed(order.status, target) and not order.archived)
        events = [event(order.id, actor, "refund", reason,
                        data={"amount": amount, "full": full, "method": method})]
        if moved and target:
            changes["status"] = target
            events.append(event(order.id, actor, "status", "fully refunded",
                                from_status=order.status, to_status=target, visible=True))
        previous = order.status
        bump(order, actor, **changes)
        insert_events(events)
        if moved and target:  # the customer hears of the refund, not of a status it ended
            why = f"superseded by {wf.label(target)}"
            insert_withdrawn_events(withdraw_superseded([order.id], why), actor, why, None,
                                    utcnow())
        if notify and order.customer_email:
            enqueue([Mail("refunded", order.customer_email,
                          f"refund:{order.id}:{uuid.uuid4().hex}", order.language,
                          order_payload(order, amount=amount, currency=order.currency,
                                        full=full, reason=reason, from_status=previous),
                          order_id=order.id, customer_id=order.customer_id)])
    events_log.event("refund", actor.login, order=order.code, amount=amount,
                     currency=order.currency, full=int(full),
                     status=target if moved else None)
    return moved
