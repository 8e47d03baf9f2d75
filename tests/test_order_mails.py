"""Issue 12 point 4: resend from the order. The order detail lists the order's mails; `r`
resends the chosen one and `R` the latest status mail, each after y/n; the outbox filters by
order code, recipient and state (erased too) and asks before it resends or cancels."""

from __future__ import annotations

import pytest

from store import customers, outbox, outbox_queries, status
from store.errors import PermissionDenied, ValidationError
from store.models import OrderEvent, Outbox, db
from tests.factories import place
from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.dialogs.confirm import ConfirmDialog
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.outbox import OutboxScreen


def _notices(app) -> str:
    return "\n".join(n.message for n in app._notifications)


def _shipped(shop, admin, **kwargs):
    ref = place(shop, **kwargs)
    status.change_status(shop, admin, [ref.id], "paid", hold_mail=False)
    status.change_status(shop, admin, [ref.id], "shipped", tracking="TRK1", hold_mail=False)
    return ref


def test_latest_status_mail_is_the_newest_not_withdrawn(shop, admin):
    ref = place(shop)
    assert outbox_queries.latest_status_mail(ref.id) is None  # the confirmation is no status mail
    status.change_status(shop, admin, [ref.id], "paid", hold_mail=False)
    paid = outbox_queries.latest_status_mail(ref.id)
    assert paid is not None and paid.kind == "payment_received"
    claimed = outbox.claim("test", 10, 60)  # sent, so the next change leaves it as it is
    outbox.mark([outbox.Outcome(c.id, c.attempts, "sent") for c in claimed], "test", 5, 0)
    change = status.change_status(shop, admin, [ref.id], "shipped", tracking="T1")  # held
    held = outbox_queries.latest_status_mail(ref.id)
    assert held is not None and held.kind == "shipped" and held.state == "held"
    outbox.withdraw_batch(change.batch)  # the undo: the withdrawn mail is not the latest
    again = outbox_queries.latest_status_mail(ref.id)
    assert again is not None and again.id == paid.id


def test_a_status_kind_without_a_batch_counts_when_the_workflow_names_it(shop, admin):
    """An imported or demo shop's status mails carry no batch: the workflow's kinds find them."""
    ref = place(shop)
    with db.atomic():
        outbox.enqueue([outbox.Mail("shipped", "ann@example.com", "imported:1",
                                    order_id=ref.id)])
    kinds = [s.mail for s in shop.workflow.statuses.values() if s.mail]
    assert outbox_queries.latest_status_mail(ref.id) is None
    found = outbox_queries.latest_status_mail(ref.id, kinds)
    assert found is not None and found.kind == "shipped"


def test_resend_writes_the_order_history(shop, admin):
    ref = _shipped(shop, admin)
    mail = outbox_queries.latest_status_mail(ref.id)
    assert mail is not None
    copy = outbox.resend_mail(shop, admin, mail.id)
    event = OrderEvent.get(OrderEvent.order == ref.id, OrderEvent.kind == "mail_resent")
    assert event.message == f"shipped mail resent (copy of #{mail.id})"
    assert event.operator_login == "ada"
    assert Outbox.get_by_id(copy.id).state == "queued" and copy.kind == "shipped"


def test_resend_needs_the_role_of_the_action_that_sent_it(shop, admin, clerk):
    ref = _shipped(shop, admin)
    from store import payments
    payments.refund(shop, admin, ref.id, 100, "scratched")
    refund_mail = Outbox.get(Outbox.order == ref.id, Outbox.kind == "refunded")
    assert not clerk.can(outbox.resend_action(refund_mail.kind, refund_mail.batch))
    with pytest.raises(PermissionDenied):
        outbox.resend_mail(shop, clerk, refund_mail.id)
    mail = outbox_queries.latest_status_mail(ref.id)
    assert mail is not None
    assert outbox.resend_mail(shop, clerk, mail.id).kind == "shipped"  # a clerk's own kind


def test_outbox_filter_by_order_code_recipient_and_state(shop, admin):
    ann = place(shop, email="ann@example.com")
    bob = place(shop, email="Bob.Jones@Example.org")
    status.change_status(shop, admin, [bob.id], "paid", hold_mail=False)
    where = outbox_queries.parse_outbox_filter(f"{ann.code}", shop.prefix)
    assert {r.order_code for r in outbox_queries.outbox_page(where=where).rows} == {ann.code}
    where = outbox_queries.parse_outbox_filter("bob.jones@example", shop.prefix)
    rows = outbox_queries.outbox_page(where=where).rows
    assert {r.recipient for r in rows} == {"Bob.Jones@example.org"} and len(rows) == 2
    where = outbox_queries.parse_outbox_filter("jones state:queued", shop.prefix)
    kinds = {r.kind for r in outbox_queries.outbox_page(where=where).rows}
    assert kinds == {"order_placed", "payment_received"}
    digits = ann.code.split("-")[1]  # the code's digits alone find the order too
    where = outbox_queries.parse_outbox_filter(digits, shop.prefix)
    assert where.order_number is not None and where.recipient == ""
    with pytest.raises(ValidationError, match="unknown mail state 'lost'"):
        outbox_queries.parse_outbox_filter("state:lost", shop.prefix)


def test_outbox_shows_and_filters_erased_mails(shop, admin):
    ref = customers.create_customer(shop, admin, email="gone@example.com", first_name="Gone",
                                   last_name="Away")
    customers.delete_customer(shop, admin, ref.id, "gone@example.com")
    erased = outbox_queries.outbox_page("erased").rows
    assert erased and all(r.recipient == "" for r in erased)
    assert outbox_queries.outbox_counts()["erased"] == len(erased)


async def test_detail_lists_mails_and_resends_the_chosen_one_after_yes(shop, admin, config):
    ref = _shipped(shop, admin)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        screen = app.screen
        table = screen.query_one("#detail-mails")
        # newest first: shipped, payment_received, the shop's new-order notice, order_placed
        assert table.row_count == 4
        await pilot.press("r")  # the first r goes to the mails
        await settle(pilot)
        assert table.has_focus and not isinstance(app.screen, ConfirmDialog)
        await pilot.press("down", "down", "down", "r")  # the order confirmation
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "order_placed" in screen_text(app)
        await pilot.press("n")  # no: nothing is queued
        await settle(pilot)
        assert Outbox.select().where(Outbox.kind == "order_placed").count() == 1
        await pilot.press("r", "y")
        await settle(pilot)
        assert Outbox.select().where(Outbox.kind == "order_placed").count() == 2
        await wait_until(pilot, lambda: table.row_count == 5)
        history = "\n".join(line.plain for line in screen._history(screen.detail).renderables)
        assert "mail resent order_placed mail resent (copy of #" in history


async def test_capital_r_resends_the_latest_status_mail(shop, admin, config):
    ref = _shipped(shop, admin)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Resend the latest status mail?" in screen_text(app)
        assert "shipped" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        copies = list(Outbox.select().where(Outbox.kind == "shipped").order_by(Outbox.id))
        assert len(copies) == 2 and copies[1].state == "queued" and copies[1].batch is None


async def test_no_status_mail_says_so(shop, admin, config):
    ref = place(shop)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("R")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert "has no status mail to resend" in _notices(app)


async def test_a_clerk_is_not_offered_to_resend_a_refund_mail(shop, admin, clerk, config):
    ref = _shipped(shop, admin)
    from store import payments
    payments.refund(shop, admin, ref.id, 100, "scratched")
    app = make_app(config, login="cleo")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("r")  # the newest mail: the refund's
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert "only a manager or above may refund orders" in _notices(app)
        assert Outbox.select().where(Outbox.kind == "refunded").count() == 1


async def test_outbox_screen_filters_and_asks_before_resend_and_cancel(shop, admin, config):
    ann = place(shop, email="ann@example.com")
    place(shop, email="bob@example.org")
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen)
                         and app.screen.mails)
        screen = app.screen
        await pilot.press("slash", *ann.code, "enter")
        await wait_until(pilot, lambda: {m.order_code for m in screen.mails.values()}
                         == {ann.code})
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        states = {m.kind: m.state for m in Outbox.select().where(Outbox.order == ann.id)}
        assert states == {"order_placed": "queued", "merchant_new_order": "queued"}
        await pilot.press("c", "y")  # the newest: the shop's new-order notice
        await settle(pilot)
        states = {m.kind: m.state for m in Outbox.select().where(Outbox.order == ann.id)}
        assert states == {"order_placed": "queued", "merchant_new_order": "cancelled"}
        query = screen.query_one("#outbox-search")
        query.value = "bob@ state:queued"
        await wait_until(pilot, lambda: {m.recipient for m in screen.mails.values()}
                         == {"bob@example.org"})
        await pilot.press("e")
        await settle(pilot)
        assert "Resend this mail?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert Outbox.select().where(Outbox.recipient == "bob@example.org").count() == 2
        for _ in range(7):  # the state filter cycles to erased
            await pilot.press("f")
        query.value = ""
        await settle(pilot)
        assert "showing: erased" in screen_text(app)
