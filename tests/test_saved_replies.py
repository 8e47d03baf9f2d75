"""Issue 12 point 12 (and 14's second half): saved replies, files under the templates
directory with a fixed set of merge fields filled in literally, start a note to the customer
or a one-off email; the one-off email's message runs over several lines."""

from __future__ import annotations

from mailer import replies
from store import customers
from store.models import CustomerEvent, OrderEvent, Outbox
from tests.conftest import make_config
from tests.factories import place
from tests.tui_support import app_config, settle, wait_until
from tui.app import build_app
from tui.dialogs.compose import ComposeDialog
from tui.dialogs.note import NoteDialog
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.profile import ProfileScreen


def test_merge_fields_are_filled_once_and_literally():
    values = {"firstname": "{order_code}", "order_code": "BR-100009", "shop_name": "Mug & Co",
              "lastname": ""}
    text = ("Hi {firstname}, order {order_code} from {shop_name}; {secret} {{ x }} "
            "{firstname.__class__} {lastname|friend} p { color: red }")
    assert replies.fill(text, values) == (
        "Hi {order_code}, order BR-100009 from Mug & Co; {secret} {{ x }} "
        "{firstname.__class__} friend p { color: red }")
    assert replies.unknown_fields(text) == ["secret", "firstname.__class__"]


def test_shipped_replies_and_the_shops_own(tmp_path):
    shipped = {r.name for r in replies.saved_replies(None)}
    assert {"where_is_my_order", "lost_parcel", "refund_on_its_way"} <= shipped
    for reply in replies.saved_replies(None):
        assert reply.subject and "{firstname|there}" in reply.body
        assert replies.unknown_fields(reply.subject + reply.body) == []
    own = tmp_path / "replies"
    own.mkdir()
    (own / "lost_parcel.txt").write_text("Hello {firstname}, ours.\n", encoding="utf-8")
    (own / "thanks.txt").write_text("Subject: Thanks\n\nThank you!\n", encoding="utf-8")
    found = {r.name: r for r in replies.saved_replies(tmp_path)}
    assert found["lost_parcel"].body == "Hello {firstname}, ours.\n"
    assert found["lost_parcel"].subject == ""
    assert (found["thanks"].subject, found["thanks"].body) == ("Thanks", "Thank you!\n")


async def test_a_note_to_the_customer_from_a_saved_reply(shop, admin, config):
    ref = place(shop, name="Ann Smith")
    app = build_app(app_config(config), "ada")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        picker = app.screen.query_one("#note-reply")
        picker.value = "lost_parcel"
        await settle(pilot)
        text = app.screen.query_one("#note-text").text
        assert text.startswith("Hello Ann,\n\nWe are sorry that your parcel for order "
                               f"{ref.code} did not reach you")
        assert app.screen.query_one("#note-visible").value  # a reply goes to the customer
        await pilot.press("ctrl+s")
        await settle(pilot)
        note = OrderEvent.get(OrderEvent.order == ref.id, OrderEvent.kind == "note")
        assert note.visible and note.message.startswith("Hello Ann,\n\nWe are sorry")
        mail = Outbox.get(Outbox.kind == "customer_note")
        assert "Hello Ann," in mail.payload


async def test_one_off_email_from_a_reply_over_several_lines(shop, admin, config, tmp_path):
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    own = tmp_path / "tpl" / "replies"
    own.mkdir(parents=True)
    (own / "welcome.txt").write_text("Subject: Welcome {firstname}\n\nHello "
                                     "{firstname},\nwelcome to {shop_name}.\n",
                                     encoding="utf-8")
    url = config.database_url
    app = build_app(make_config(url, mail={"deliver_in_app": False,
                                           "templates_dir": str(tmp_path / "tpl")},
                                shop={"name": "Mug & Co"}), "ada")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_customer(ann.id)
        await wait_until(pilot, lambda: isinstance(app.screen, ProfileScreen)
                         and app.screen.profile is not None)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeDialog))
        app.screen.query_one("#compose-reply").value = "welcome"
        await settle(pilot)
        assert app.screen.query_one("#compose-subject").value == "Welcome Ann"
        await pilot.press("down", "end", "enter", *"See you soon!")  # Enter: a new line
        await pilot.press("ctrl+s")
        await settle(pilot)
        mail = Outbox.get(Outbox.kind == "one_off")
        assert "Hello Ann,\\nwelcome to Mug & Co.\\nSee you soon!" in mail.payload
        assert CustomerEvent.get(CustomerEvent.kind == "mail").message == "Welcome Ann"


async def test_merge_fields_typed_by_hand_are_filled_and_an_unknown_one_refused(
        shop, admin, config):
    """A one-off email typed with `{name}` went out as typed (found by a tester): fields are
    filled as a saved reply's are, and `{bogus}` is refused by name with nothing queued."""
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    app = build_app(make_config(config.database_url, mail={"deliver_in_app": False},
                                shop={"name": "Mug & Co"}), "ada")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_customer(ann.id)
        await wait_until(pilot, lambda: isinstance(app.screen, ProfileScreen)
                         and app.screen.profile is not None)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeDialog))
        app.screen.query_one("#compose-subject").value = "Hi {name}"
        await pilot.press("tab", *"{firstname|there}, {bogus} from {shop_name}")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeDialog)
        assert "unknown merge field {bogus}: the fields are {firstname}" in str(
            app.screen.query_one("#compose-error").render())
        assert not Outbox.select().where(Outbox.kind == "one_off").exists()
        body = app.screen.query_one("#compose-body")
        body.load_text(body.text.replace("{bogus} ", ""))
        await pilot.press("ctrl+s")
        await settle(pilot)
        mail = Outbox.get(Outbox.kind == "one_off")
        assert "Ann, from Mug & Co" in mail.payload
        assert CustomerEvent.get(CustomerEvent.kind == "mail").message == "Hi Ann Smith"


def test_mail_check_names_a_reply_with_an_unknown_field(tmp_path):
    from mailer.check import reply_problems
    assert reply_problems("") == []  # the shipped replies are right
    own = tmp_path / "replies"
    own.mkdir()
    (own / "oops.txt").write_text("Hello {first_name},\nbye\n", encoding="utf-8")
    found = reply_problems(str(tmp_path))
    assert found == [f"{own / 'oops.txt'}:1: unknown merge field {{first_name}} (fields: "
                     "{firstname}, {lastname}, {name}, {email}, {order_code}, "
                     "{tracking_number}, {shop_name})"]
