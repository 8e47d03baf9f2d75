"""Text people wrote (a customer's item names, a saved reply's file name, the shop's status
labels) reaches widgets that read a str as Rich/Textual markup: a SelectionList's items, a
Select's options, a Tab, a Checkbox. Each shows it as written: `[/]` froze the app (a markup
error while the replacement dialog composed), `[XL]` vanished. Control characters in it are
shown as visible escapes and never reach the terminal."""

from __future__ import annotations

from store import orders, status
from store.models import Order, OrderItem
from store.operators import STOREFRONT
from store.orders import ItemInput
from tests.conftest import make_config
from tests.factories import ADDRESS
from tests.tui_support import make_app, screen_text, settle, wait_until
from tui.app import build_app
from tui.dialogs.note import NoteDialog
from tui.dialogs.print_options import PrintDialog
from tui.dialogs.replacement import ReplacementDialog
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.queue import QueueScreen

HOSTILE_NAMES = ["[red on white]Red mug[/] [link=https://evil.example]click[/link]",
                 "Plate [/]", "T-shirt [XL] blue", "Poster [framed]"]
ESCAPING = "Bell\x07 \x1b]0;pwned\x07mug"  # a title change and a bell, if obeyed


def _shipped_with_hostile_items(shop, admin):
    items = [ItemInput(f"SKU-{i}", name, 1, 1999, 2000) for i, name in enumerate(HOSTILE_NAMES)]
    items.append(ItemInput("[b]SKU-X", "Bell", 1, 1999, 2000))
    ref = orders.place_order(shop, STOREFRONT, items=items, guest_name="Ann",
                             guest_email="ann@example.com", shipping_address=ADDRESS,
                             billing_address=ADDRESS)
    # stored before control characters were refused, or by another program
    OrderItem.update(name=ESCAPING).where(OrderItem.order == ref.id,
                                          OrderItem.sku == "[b]SKU-X").execute()
    status.change_status(shop, admin, [ref.id], "paid", hold_mail=False)
    status.change_status(shop, admin, [ref.id], "shipped", tracking="TRK1", hold_mail=False)
    return ref


def _painted(app) -> str:
    text = screen_text(app)
    assert "\x1b" not in text and "\x07" not in text
    return text


async def test_replacement_dialog_shows_item_names_as_written(shop, admin, config):
    ref = _shipped_with_hostile_items(shop, admin)
    app = make_app(config)
    async with app.run_test(size=(120, 30)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, ReplacementDialog)
        text = _painted(app)
        for n, name in enumerate(HOSTILE_NAMES):
            assert f"1 × SKU-{n}  {name}" in text
        assert "1 × [b]SKU-X  Bell\\x07 \\x1b]0;pwned\\x07mug" in text
        # the app still answers keys: Esc closes the dialog, L opens it again
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, ReplacementDialog)
        items = app.screen.query_one("#replacement-items")
        for index in (0, 2, 3, 4):
            items.deselect(index)  # only "Plate [/]"
        await pilot.press(*"broken", "enter")
        await settle(pilot)
        new = Order.get(Order.replaces == ref.id)
        assert [(i.sku, i.name) for i in OrderItem.select().where(OrderItem.order == new.id)] \
            == [("SKU-1", "Plate [/]")]
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None
                         and app.screen.detail.replaced_by == (new.code,))


async def test_replacement_dialog_at_80x24(shop, admin, config):
    ref = _shipped_with_hostile_items(shop, admin)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, ReplacementDialog)
        text = _painted(app)
        for shorter in ("1 × SKU-0  [red on white]Red mug[/]", "1 × SKU-1  Plate [/]",
                        "1 × SKU-2  T-shirt [XL] blue", "1 × SKU-3  Poster [framed]",
                        "1 × [b]SKU-X  Bell\\x07 \\x1b]0;pwned\\x07mug"):
            assert shorter in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)


async def test_saved_reply_titles_are_shown_as_written(shop, admin, config, tmp_path):
    """A saved reply's title is its file's name, which the Select read as markup."""
    from tests.factories import place
    ref = place(shop, name="Ann Smith")
    own = tmp_path / "tpl" / "replies"
    own.mkdir(parents=True)
    (own / "sorry [late].txt").write_text("Sorry {firstname}.\n", encoding="utf-8")
    (own / "[red]urgent.txt").write_text("Urgent.\n", encoding="utf-8")
    app = build_app(make_config(config.database_url,
                                mail={"deliver_in_app": False,
                                      "templates_dir": str(tmp_path / "tpl")}), "ada")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_order(ref.id)
        await wait_until(pilot, lambda: isinstance(app.screen, OrderDetailScreen)
                         and app.screen.detail is not None)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        picker = app.screen.query_one("#note-reply")
        picker.focus()
        await pilot.press("enter")  # the list of replies opens
        await settle(pilot)
        text = _painted(app)
        assert "Sorry [late]" in text and "[red]urgent" in text
        await pilot.press("escape")
        await settle(pilot)
        picker.value = "sorry [late]"
        await settle(pilot)
        assert "Sorry [late]" in _painted(app)  # the chosen one, in the closed picker
        assert app.screen.query_one("#note-text").text == "Sorry Ann.\n"


async def test_print_dialog_names_its_keys(shop, admin, config):
    """"[k]" and "[l]" were read as styles and vanished from the check boxes."""
    from tests.factories import place
    place(shop)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.press("P")
        await wait_until(pilot, lambda: isinstance(app.screen, PrintDialog))
        text = _painted(app)
        assert "[k] pick list after the slips" in text
        assert "[l] each order's carrier label" in text
        await pilot.press("escape")


async def test_status_tabs_show_the_shops_labels_as_written(shop, admin, config):
    workflow = {"statuses": {
        "new": {"initial": True, "next": ["done"], "hotkey": "n", "short": "New [b]"},
        "done": {"final": True, "hotkey": "d", "label": "Done [/]"}}}
    app = build_app(make_config(config.database_url, mail={"deliver_in_app": False},
                                workflow=workflow), "ada")
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, QueueScreen))
        text = _painted(app)
        assert "New [b] 0" in text and "Done [/] 0" in text


async def test_delete_dialog_shows_escapes_in_the_customers_name(shop, admin, config):
    """The name is stored text: its control characters read as visible escapes there too."""
    from store import customers
    from store.models import Customer
    from tui.dialogs.customer_delete import CustomerDeleteDialog
    from tui.screens.profile import ProfileScreen
    cid = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith").id
    Customer.update(first_name="Ann\x1b]0;pwned\x07 [b]").where(Customer.id == cid).execute()
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_customer(cid)
        await wait_until(pilot, lambda: isinstance(app.screen, ProfileScreen)
                         and app.screen.profile is not None)
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, CustomerDeleteDialog))
        _painted(app)
        body = str(app.screen.query_one("#delete-body").render())
        assert "Delete customer Ann\\x1b]0;pwned\\x07 [b] Smith <ann@example.com>" in body
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ProfileScreen)
