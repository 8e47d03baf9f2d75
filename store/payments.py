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
    """A payment recorded: the order, and the status it moved to (None if it stayed); what
    the order has been paid of its total since."""

    order_id: int
    code: str
    moved_to: str | None
    amount: int = 0
    paid: int = 0
    total: int = 0
    currency: str = ""

    def summary(self) -> str:
        """"payment of 12.00 EUR recorded on BR-100042: paid 12.00 EUR of 20.00 EUR"."""
        return (f"payment of {format_money(self.amount, self.currency)} recorded on "
                f"{self.code}: paid {format_money(self.paid, self.currency)} of "
                f"{format_money(self.total, self.currency)}")


@dataclass(frozen=True)
class RefundResult:
    """A refund made: how much, the status the order moved to (None if it stayed: a part
    refund), the mail queued to the customer ("" when none: no email, or --no-notify) and the
    credit note issued ("" for an order without an invoice)."""

    order_id: int
    code: str
    amount: int
    currency: str
    moved_to: str | None
    mail: str
    recipient: str
    credit_note: str

    def summary(self, status_label: str = "") -> str:
        """What an operator is told: "refunded 5.00 EUR of BR-100042; the order is now
        Refunded; the refunded mail is queued to ann@example.com"."""
        text = f"refunded {format_money(self.amount, self.currency)} of {self.code}"
        if self.moved_to:
            text += f"; the order is now {status_label or self.moved_to}"
        else:
            text += "; the status stays as it was"
        if self.mail:
            text += f"; the {self.mail} mail is queued to {self.recipient}"
        else:
            text += "; no mail to the customer"
        if self.credit_note:
            text += f"; credit note {self.credit_note}"
        return text


def record_payment(shop: Shop, actor: Actor, order_id: int, amount: int, method: str = "",
                   reference: str = "", expected_version: int | None = None) -> PaymentResult:
    """Money received for an order, as an operator records it (any amount: a manual or a
    part payment); more than the order's total is refused. The status stays as it is (the
    operator moves it)."""
    require(actor, "record_payment")
    if amount <= 0:
        raise ValidationError("a payment must be a positive amount", field="amount")
    method, reference = clean(method, "method"), clean(reference, "reference")
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        _record(shop, order, actor, amount, method, reference)
    events_log.event("payment", actor.login, order=order.code, amount=amount,
                     currency=order.currency)
    return PaymentResult(order.id, order.code, None, amount, order.amount_paid, order.total,
                         order.currency)


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
    """refund_order, answering only whether the status changed."""
    return refund_order(shop, actor, order_id, amount, reason, method=method, notify=notify,
                        expected_version=expected_version).moved_to is not None


def refund_order(shop: Shop, actor: Actor, order_id: int, amount: int, reason: str, *,
                 method: str = "", notify: bool = True,
                 expected_version: int | None = None) -> RefundResult:
    """Refund part or all of what was paid, never more; a full refund moves the order to the
    workflow's refunded status where allowed (the only way into it), withdrawing the status
    mail it supersedes. Returns what was done: the status moved to, the mail queued."""
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
        mailed = bool(notify and order.customer_email)
        if mailed:
            enqueue([Mail("refunded", order.customer_email,
                          f"refund:{order.id}:{key}", order.language,
                          order_payload(order, amount=amount, currency=order.currency,
                                        full=full, reason=reason, from_status=previous),
                          order_id=order.id, customer_id=order.customer_id)])
    events_log.event("refund", actor.login, order=order.code, amount=amount,
                     currency=order.currency, full=int(full),
                     status=target if moved else None)
    return RefundResult(order.id, order.code, amount, order.currency,
                        target if moved and target else None, "refunded" if mailed else "",
                        order.customer_email if mailed else "", credit or "")
