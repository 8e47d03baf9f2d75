"""Money in and out of an order: payments recorded (by an operator, or confirmed by the
gateway through the storefront API) and refunds, never more than the rules allow
(store.rules); a gateway payment that settles an order moves it to the workflow's paid
status, a full refund to its refunded status. A refund of an invoiced order issues its
credit note in the same transaction (store.invoices); a payment an operator records issues
no invoice (the paid status does, see store.invoices)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from store import customer_figures, events_log, webhooks
from store.errors import Refused, ValidationError
from store.invoices import issue_credit_note
from store.models import Customer, Order, Payment, db, utcnow
from store.money import check_currency, format_money
from store.operators import Actor, require
from store.order_rows import bump, event, insert_events, insert_withdrawn_events, load_for_write
from store.outbox import Mail, enqueue, order_payload, withdraw_superseded
from store.rules import pay_refusal, payment_refusal, refund_refusal
from store.shop import Shop
from store.status import change_status
from store.text import clean, shown


@dataclass(frozen=True)
class PaymentResult:
    """A payment recorded: the order, and the status it moved to (None if it stayed)."""

    order_id: int
    code: str
    moved_to: str | None


def record_payment(shop: Shop, actor: Actor, order_id: int, amount: int, method: str = "",
                   reference: str = "", expected_version: int | None = None) -> None:
    """Money received for an order, as an operator records it; more than the order's total
    is refused. The status stays as it is (the operator moves it)."""
    require(actor, "record_payment")
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount", field="amount")
    method, reference = clean(method, "method"), clean(reference, "reference")
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        _record(shop, order, actor, amount, method, reference)
    events_log.event("payment", actor.login, order=order.code, amount=amount,
                     currency=order.currency)


def confirm_payment(shop: Shop, actor: Actor, order_id: int, amount: int, currency: str,
                    method: str = "", reference: str = "") -> PaymentResult:
    """A payment the gateway confirmed (the storefront API). Refused, with the reason, while
    the order's status does not let the customer pay or their account may not pay yet
    (store.rules.pay_refusal), in another currency than the order's, beyond what is owed, or
    with a gateway reference already recorded on the order. A payment that settles an order
    whose status may be paid moves it to the workflow's paid status (Workflow.paid_target),
    with its payment mail queued at once, in the same transaction."""
    require(actor, "record_payment")
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount", field="amount")
    currency = check_currency(currency)
    method, reference = clean(method, "method"), clean(reference, "reference")
    wf = shop.workflow
    with db.atomic():
        order = load_for_write(order_id)
        if currency != order.currency:
            raise ValidationError(f"order {order.code} is in {order.currency}, not {currency}",
                                  field="currency")
        status = wf.statuses.get(order.status)
        account = (Customer.select(Customer.status).where(Customer.id == order.customer_id)
                   .scalar() if order.customer_id else "")
        refused = pay_refusal(order.code, wf.label(order.status), bool(status and status.may_pay),
                              order.amount_paid, order.total, order.currency, account or "")
        if refused:
            raise Refused(refused, field="status")
        if reference and Payment.select().where(
                Payment.order == order.id, Payment.kind == "payment",
                Payment.reference == reference).exists():
            raise Refused(f"order {order.code}: the payment {shown(reference)} is recorded "
                          "already", field="reference")
        _record(shop, order, actor, amount, method, reference)
        target = wf.paid_target(order.status) if order.amount_paid >= order.total else None
        if target is not None:
            change_status(shop, actor, [order.id], target, hold_mail=False)
    events_log.event("payment", actor.login, order=order.code, amount=amount,
                     currency=order.currency, by="gateway")
    return PaymentResult(order.id, order.code, target)


def _record(shop: Shop, order: Order, actor: Actor, amount: int, method: str,
            reference: str) -> None:
    """The payment row, the order's paid amount (and its customer's spent), its history row;
    refused beyond the total (store.rules.payment_refusal)."""
    reason = payment_refusal(order.code, amount, order.amount_paid, order.total, order.currency)
    if reason:
        raise Refused(reason, field="amount")
    Payment.create(order=order.id, kind="payment", amount=amount, currency=order.currency,
                   method=method or order.payment_method, reference=reference,
                   operator_login=actor.login)
    changes: dict[str, Any] = {"amount_paid": order.amount_paid + amount}
    if reference:
        changes["payment_reference"] = reference
    bump(order, actor, **changes)
    if order.customer_id is not None and customer_figures.counts(
            order.customer_id, order.is_test, order.currency, shop.currency):
        customer_figures.move_spent({order.customer_id: amount})
    insert_events([event(order.id, actor, "payment",
                         f"payment of {format_money(amount, order.currency)} recorded",
                         data={"amount": amount, "method": method, "reference": reference})])


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
        credit = issue_credit_note(shop, actor, order.id, amount, reason)
        refunded = order.amount_refunded + amount
        full = refunded == order.amount_paid
        changes: dict[str, Any] = {"amount_refunded": refunded}
        wf = shop.workflow
        target = wf.refunded_key()
        moved = bool(full and target and wf.allowed(order.status, target) and not order.archived)
        events = [event(order.id, actor, "refund", reason,
                        data={"amount": amount, "full": full, "method": method,
                              "credit_note": credit or ""})]
        if moved and target:
            changes["status"] = target
            events.append(event(order.id, actor, "status", "fully refunded",
                                from_status=order.status, to_status=target, visible=True))
        previous = order.status
        bump(order, actor, **changes)
        if order.customer_id is not None and customer_figures.counts(
                order.customer_id, order.is_test, order.currency, shop.currency):
            customer_figures.move_spent({order.customer_id: -amount})
        insert_events(events)
        if moved and target:  # the customer hears of the refund, not of a status it ended
            why = f"superseded by {wf.label(target)}"
            insert_withdrawn_events(withdraw_superseded([order.id], why), actor, why, None,
                                    utcnow())
        key = uuid.uuid4().hex
        webhooks.order_refunded(order, amount, full, reason, order.status, key, actor)
        if moved:
            webhooks.status_changed(order, previous, actor, f"refund{key}")
        if notify and order.customer_email:
            enqueue([Mail("refunded", order.customer_email,
                          f"refund:{order.id}:{key}", order.language,
                          order_payload(order, amount=amount, currency=order.currency,
                                        full=full, reason=reason, from_status=previous),
                          order_id=order.id, customer_id=order.customer_id)])
    events_log.event("refund", actor.login, order=order.code, amount=amount,
                     currency=order.currency, full=int(full),
                     status=target if moved else None)
    return moved
