"""The shop's rules that screens show and services enforce, as pure functions of the values
they judge (an order's money, a group's flag): each sentence an operator reads is written
here once, so a dialog can say it before asking and the service still refuses."""

from __future__ import annotations

from store.money import format_money


def refund_cap(paid: int, refunded: int) -> int:
    """What can still be refunded: at most what was paid, less what went back already."""
    return max(paid - refunded, 0)


def refund_refusal(code: str, amount: int, paid: int, refunded: int, currency: str) -> str:
    """Why refunding `amount` of this order is refused, or '' when it may be refunded."""
    if amount <= 0:
        return "a refund must be a positive amount"
    cap = refund_cap(paid, refunded)
    if cap == 0:
        return (f"order {code}: nothing can be refunded (paid {format_money(paid, currency)}, "
                f"refunded {format_money(refunded, currency)})")
    if amount > cap:
        return (f"order {code}: a refund of {format_money(amount, currency)} exceeds what can "
                f"still be refunded ({format_money(cap, currency)}: paid "
                f"{format_money(paid, currency)}, refunded {format_money(refunded, currency)})")
    return ""


def refunded_refusal(label: str, paid: int, refunded: int, currency: str) -> str:
    """Why no status change enters a status that means the money went back (the workflow's
    `refunded` flag): only a refund bringing what was paid to zero does, so the customer's
    "has been refunded" mail is never sent for money still held."""
    cap = refund_cap(paid, refunded)
    if cap:
        return (f"{label} is entered only by refunding the order: use the refund action for "
                f"the {format_money(cap, currency)} still paid, and the order moves there")
    return (f"{label} is entered only by refunding the order (the refund action), and "
            f"nothing paid is left to refund (paid {format_money(paid, currency)}, refunded "
            f"{format_money(refunded, currency)})")


def payment_cap(paid: int, total: int) -> int:
    """What a payment may still bring in: the order's total, less what was paid already."""
    return max(total - paid, 0)


def payment_refusal(code: str, amount: int, paid: int, total: int, currency: str) -> str:
    """Why recording a payment of `amount` is refused, or '' when it may be recorded."""
    if amount <= 0:
        return "a payment must be a positive amount"
    if paid + amount > total:
        return (f"order {code}: a payment of {format_money(amount, currency)} would exceed the "
                f"total ({format_money(paid, currency)} of {format_money(total, currency)} "
                "already paid)")
    return ""


# What an account's status means for paying, for the states that forbid it.
ACCOUNT_PAY_REFUSALS = {
    "pending": "waits for the shop to validate it",
    "suspended": "is suspended",
    "denied": "is denied",
}


def pay_refusal(code: str, label: str, may_pay: bool, paid: int, total: int, currency: str,
                account_status: str = "") -> str:
    """Why the customer may not pay order `code` now, or '' when they may: only while its
    status (`label`) allows paying, something is still owed, and the customer's account (if
    they have one) is neither waiting for validation nor suspended or denied."""
    if not may_pay:
        if paid >= total:
            return (f"order {code} is {label} and paid ({format_money(paid, currency)} of "
                    f"{format_money(total, currency)}): it takes no payment now")
        return f"order {code} is {label}: it takes no payment now"
    if paid >= total:
        return (f"order {code} is paid already ({format_money(paid, currency)} of "
                f"{format_money(total, currency)})")
    if account_status in ACCOUNT_PAY_REFUSALS:
        until = "; it cannot pay until then" if account_status == "pending" else ""
        return (f"order {code}: the customer's account "
                f"{ACCOUNT_PAY_REFUSALS[account_status]}{until}")
    return ""


def delete_refusal(code: str, is_test: bool, documents: tuple[str, ...] = ()) -> str:
    """Why an order may not be deleted, or '' when it may (test orders only, and none that
    was issued an invoice or credit note: their numbers have no gaps, and the accounts keep
    them)."""
    if not is_test:
        return (f"order {code} is a real order: cancel or archive it instead "
                "(only test orders can be deleted)")
    if documents:
        return (f"order {code} was issued {', '.join(documents)}: issued documents are kept "
                "for the accounts, so archive the order instead")
    return ""


def group_delete_refusal(name: str, is_default: bool) -> str:
    """Why a customer group may not be deleted, or '' when it may."""
    if is_default:
        return f"{name!r} is the default group; make another group the default before deleting it"
    return ""
