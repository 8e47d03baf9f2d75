"""Issue 11's defects of the app, each tried as an operator would meet it, at 80x24 where the
screen's fit matters: escapes in stored text, screens that pile up, forms that lose work,
notices twice, keys a role may not use, test orders, the message to the customer."""

from __future__ import annotations

import json

from store import operators, status
from store.models import Order, Outbox
from tests.factories import place
from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.dialogs.form import FormDialog
from tui.dialogs.status import StatusDialog
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.queue import QueueScreen


def painted(app) -> list[str]:
    """Every line as it goes to the terminal, after the app's line filters."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_escapes_in_stored_text_are_shown_never_obeyed(shop, admin, config):
    """A name written before control characters were refused (or by another program) shows
    its escapes visibly and never reaches the terminal as one (issue 11, point 7)."""
    ref = place(shop, name="Ann Smith")
    Order.update(customer_name="Ann\x1b]0;PWNED\x07 X\x1b[2J").where(
        Order.id == ref.id).execute()
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lines = painted(app)
        assert not any("\x1b" in line or "\x07" in line for line in lines)
        assert "Ann\\x1b" in "\n".join(lines)  # cut to the column, escape shown
        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(app.screen, "detail", None) is not None)
        lines = painted(app)
        assert not any("\x1b" in line or "\x07" in line for line in lines)
        assert "Ann\\x1b]0;PWNED\\x07 X\\x1b[2J" in "\n".join(lines)


async def test_a_code_typed_on_an_order_takes_its_place(shop, admin, config):
    """Scanning order after order keeps one order screen; Esc goes back to where the
    scanning began (issue 11, point 17)."""
    refs = [place(shop) for _ in range(5)]
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for ref in refs:
            await pilot.press(*ref.code.partition("-")[2], "enter")
            await wait_until(pilot, lambda ref=ref: getattr(app.screen, "detail", None)
                             is not None and app.screen.detail.code == ref.code)
            assert len(app.screen_stack) == 2
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_the_address_form_keeps_what_was_typed_and_offers_countries(shop, admin, config):
    """The form focuses its first field, a refusal keeps it open with the field marked and
    the store's message beside it, and "bra" offers Brazil (issue 11, point 18)."""
    ref = place(shop)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: getattr(app.screen, "detail", None) is not None)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormDialog)
        assert form.focused is form.query_one("#f-first_name")
        await pilot.press(*"Zoé")
        country = form.query_one("#f-country")
        country.value = ""
        country.focus()
        await pilot.press(*"Brasilia", "ctrl+s")
        await settle(pilot)
        assert app.screen is form  # still open, nothing lost
        assert "is not a country" in str(form.query_one("#form-error").render())
        assert country.has_class("-refused")
        assert form.query_one("#f-first_name").value.endswith("Zoé")
        country.value = ""
        await pilot.press(*"bra")
        await wait_until(pilot, lambda: country._suggestion == "Brazil (BR)")
        await pilot.press("right", "ctrl+s")  # the right arrow takes what is offered
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)
        detail = app.screen.detail
        assert detail is not None and detail.addresses["shipping"].country == "BR"


async def test_a_refused_preview_clears_the_status_line_and_notices_once(shop, admin, config):
    """A refusal during the bulk flow is one notice, and "preview…" does not stay in the
    status line (issue 11, point 19)."""
    place(shop)
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, StatusDialog)
        await pilot.press("ctrl+e")  # the email off...
        await pilot.press("ctrl+t", *"hello", "enter")  # ...and a message for it: refused
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        line = str(app.screen.query_one("#queue-status").render())
        assert "preview" not in line
        refusals = [n for n in app._notifications if "message to the customer" in n.message]
        assert len(refusals) == 1
        assert not Order.select().where(Order.status == "paid").exists()


async def test_keys_a_role_may_not_use_are_not_offered(shop, admin, config):
    """A viewer's footer has no Status key; pressing it says why at once and opens nothing
    (issue 11, point 20)."""
    place(shop)
    operators.add(admin, "vic", "viewer")
    app = make_app(config, login="vic")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Status" not in screen_text(app).splitlines()[-1]
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert "may change order statuses" in list(app._notifications)[-1].message


async def test_test_orders_are_marked_in_the_queue(shop, admin, config):
    """A test order says so on its row (issue 11, point 21)."""
    real = place(shop)
    test = place(shop, is_test=True)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert f"{test.code}T" in text and f"{real.code}T" not in text


async def test_the_message_to_the_customer_goes_in_the_status_mail(shop, admin, config):
    """ctrl+t in the status dialog writes a message the status email carries; the note of a
    status change stays internal (issue 11, point 3)."""
    ref = place(shop)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: getattr(app.screen, "detail", None) is not None)
        await pilot.press("s", "ctrl+t", *"Your parcel leaves today", "enter", "p")
        await settle(pilot)
    mail = Outbox.get(Outbox.order == ref.id, Outbox.kind == "payment_received")
    assert json.loads(mail.payload)["message"] == "Your parcel leaves today"
    assert status.status_mail_payload  # the Python twin the SQL payload is held to
