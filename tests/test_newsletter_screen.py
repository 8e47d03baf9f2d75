"""The newsletter screen (key 5) driven with Textual's pilot at 80x24, on SQLite and
PostgreSQL: campaigns and subscribers listed (hostile names as text), the campaign editor
saving through the store and keeping its form on a refusal, a test send reaching aiosmtpd,
sending with a confirmation, and a clerk not offered the keys that change anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import DataTable, Input, Label, Static, TextArea

from store import campaigns, operators, subscribers
from store.models import Campaign, CampaignMail, Subscriber
from tests.conftest import make_config
from tests.mail_server import Server
from tests.tui_support import screen_text, settle, wait_until
from tui.app import build_app
from tui.dialogs.campaign_editor import CampaignEditor
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.form import FormDialog
from tui.screens.newsletter import NewsletterScreen

SECRET = "newsletter-screen-secret-0123456789"
HOSTILE = "Ann [/] [@click=app.quit]x"
SIZE = (80, 24)


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server().start()
    yield server
    server.stop()


@pytest.fixture
def config(db_url: str, smtp: Server) -> Any:
    return make_config(
        db_url, mail={"deliver_in_app": False}, smtp={"port": smtp.port},
        shop={"email": "hello@chez-ann.example", "time_zone": "Europe/Paris"},
        newsletter={"secret": SECRET, "test_addresses": ["qa@example.com"],
                    "public_url": "https://news.chez-ann.example"})


@pytest.fixture
def app_for(config: Any, shop: Any, admin: Any, manager: Any, clerk: Any) -> Any:
    def make(login: str = "mo") -> Any:
        return build_app(config, login)

    return make


@pytest.fixture
def readers(shop: Any, manager: Any) -> list[str]:
    """Three subscribers, one with a name that is markup, one who left."""
    subscribers.subscribe(shop, manager, email="ann@example.com", source="operator",
                          wording="Monthly news, signed up at the till", first_name=HOSTILE)
    subscribers.subscribe(shop, manager, email="bob@example.com", source="operator",
                          wording="Monthly news", first_name="Bob")
    subscribers.subscribe(shop, manager, email="cy@example.com", source="operator",
                          wording="Monthly news", first_name="Cy")
    subscribers.unsubscribe(shop, manager, "cy@example.com", "asked by phone")
    return ["ann@example.com", "bob@example.com"]


def cells(table: DataTable[Any]) -> list[list[str]]:
    return [[getattr(c, "plain", str(c)) for c in table.get_row_at(i)]
            for i in range(table.row_count)]


def last_notice(app: Any) -> str:
    notices = list(app._notifications)
    return notices[-1].message if notices else ""


def dialog_text(app: Any) -> str:
    """The question or text of the dialog on top."""
    return str(app.screen.query_one("#confirm-body", Static).render())


async def open_newsletter(pilot: Any) -> NewsletterScreen:
    await pilot.press("5")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewsletterScreen)
                     and pilot.app.screen.query_one("#subscribers-table", DataTable).row_count)
    return pilot.app.screen


async def test_the_screen_lists_campaigns_and_subscribers(app_for, shop, manager, readers):
    campaigns.create_campaign(shop, manager, name="June [b]news[/b]", subject="June",
                              body="Hello {firstname|there}")
    campaigns.create_campaign(shop, manager, name="May", subject="May", body="Hi")
    campaigns.start(shop, manager, "May")
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        rows = cells(screen.query_one("#campaigns-table", DataTable))
        assert [r[:4] for r in rows] == [["May", "sending", "2", "0"],
                                         ["June [b]news[/b]", "draft", "0", "0"]]
        people = cells(screen.query_one("#subscribers-table", DataTable))
        assert [(r[0], r[2]) for r in people] == [("cy@example.com", "unsubscribed"),
                                                  ("bob@example.com", "subscribed"),
                                                  ("ann@example.com", "subscribed")]
        assert people[2][1] == HOSTILE  # markup stays text
        text = screen_text(app)
        assert "2 subscribed, 1 unsubscribed" in text
        assert "n New" in text.splitlines()[-1]  # the footer fits at 80x24
        await pilot.press("slash", *"ann", "enter")
        await wait_until(pilot, lambda: screen.query_one(
            "#subscribers-table", DataTable).row_count == 1)
        detail = str(screen.query_one("#news-detail", Static).render())
        assert "consent: operator" in detail and "signed up at the till" in detail
        await pilot.press("enter")  # the whole consent record
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Monthly news, signed up at the till" in dialog_text(app)


async def fill_editor(pilot: Any, name: str, subject: str, body: str,
                      audience: str = "") -> CampaignEditor:
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CampaignEditor))
    editor = pilot.app.screen
    await pilot.press(*name, "enter", *subject, "enter", "enter", "enter", "enter", *audience,
                      "enter", "enter", "enter", "enter", "enter", "enter")
    assert pilot.app.focused is editor.query_one("#f-body", TextArea)
    for number, line in enumerate(body.split("\n")):
        await pilot.press(*(["enter"] if number else []), *line)
    await settle(pilot)
    return editor


async def test_a_manager_creates_a_campaign_in_the_editor(app_for, readers):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        editor = await fill_editor(pilot, "July", "FREE gifts, {firstname|friend}!!!",
                                   "Hello {firstname|there},\nour July news.")
        reach = str(editor.query_one("#campaign-reach", Static).render())
        assert "all subscribers: 2 subscriber(s) now" in reach
        assert "spam filters dislike: !!!, FREE" in reach  # a warning, not a refusal
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen
                         and screen.query_one("#campaigns-table", DataTable).row_count == 1)
        row = Campaign.get(Campaign.name == "July")
        assert (row.subject, row.body, row.body_kind, row.state, row.created_by) == (
            "FREE gifts, {firstname|friend}!!!", "Hello {firstname|there},\nour July news.",
            "template", "draft", "mo")
        assert cells(screen.query_one("#campaigns-table", DataTable))[0][:2] == ["July",
                                                                              "draft"]


async def test_e_edits_a_draft_in_place_and_refuses_one_being_sent(app_for, shop, manager,
                                                                   readers):
    campaigns.create_campaign(shop, manager, name="May", subject="May", body="Hi")
    campaigns.start(shop, manager, "May")
    ref = campaigns.create_campaign(shop, manager, name="June", subject="June",
                                    body="Hello {firstname|there}")
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        await pilot.press("e")  # the newest, June, under the cursor
        await wait_until(pilot, lambda: isinstance(app.screen, CampaignEditor))
        editor = app.screen
        assert editor.query_one("#f-name", Input).value == "June"
        assert editor.query_one("#f-body", TextArea).text == "Hello {firstname|there}"
        editor.query_one("#f-subject", Input).value = "June news"
        editor.query_one("#f-body", TextArea).text = "Hi {nmae}"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor  # refused as at create, the form kept
        assert "unknown merge tag {nmae}" in str(editor.query_one("#form-error", Label).render())
        editor.query_one("#f-body", TextArea).text = "Hi {firstname}"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen)
        row = Campaign.get_by_id(ref.id)
        assert (row.subject, row.body, row.state, row.version) == (
            "June news", "Hi {firstname}", "draft", 2)
        assert Campaign.select().count() == 2  # changed in place, not a copy
        await pilot.press("down", "e")  # May is being sent
        await settle(pilot)
        assert app.screen is screen
        assert "only a draft or a scheduled campaign can be edited" in last_notice(app)


async def test_the_editor_sets_up_a_subject_ab_test(app_for, readers):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        editor = await fill_editor(pilot, "Duel", "June news", "Hello {firstname|there}")
        text = screen_text(app)
        assert "Subject B" in text and "A/B sample %" in text and "wait min" in text
        assert "Hello {firstname|there}" in text  # the body still has room at 80x24
        editor.query_one("#f-subject_b", Input).value = "FREE June!!!"
        editor.query_one("#f-ab_sample", Input).value = "ten"
        await settle(pilot)
        assert "subject B: the subject has words spam filters dislike" in str(
            editor.query_one("#campaign-reach", Static).render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = str(editor.query_one("#form-error", Label).render())
        assert error == "'ten' is not a whole number"
        assert app.focused is editor.query_one("#f-ab_sample", Input)
        editor.query_one("#f-ab_sample", Input).value = "10"
        await pilot.press("ctrl+s")  # by clicks, the default: needs tracking
        await settle(pilot)
        assert "choosing by clicks needs tracking" in str(
            editor.query_one("#form-error", Label).render())
        editor.query_one("#f-ab_metric", Input).value = "orders"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen)
        row = Campaign.get(Campaign.name == "Duel")
        assert (row.subject_b, row.ab_sample, row.ab_wait_minutes, row.ab_metric) == (
            "FREE June!!!", 10, 240, "orders")
        await pilot.press("e")  # the test's settings come back in the editor
        await wait_until(pilot, lambda: isinstance(app.screen, CampaignEditor))
        assert [app.screen.query_one(f"#f-{k}", Input).value for k in (
            "subject_b", "ab_sample", "ab_wait_minutes", "ab_metric")] == [
            "FREE June!!!", "10", "240", "orders"]


async def test_the_subscriber_search_forgives_accents(app_for, shop, manager, readers):
    subscribers.subscribe(shop, manager, email="marketa@example.cz", source="operator",
                          wording="Monthly news", first_name="Markéta", last_name="Wichterlová")
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        await pilot.press("slash", *"WICHTERLOVA", "enter")
        await wait_until(pilot, lambda: screen.query_one(
            "#subscribers-table", DataTable).row_count == 1)
        assert screen.selected_subscriber().email == "marketa@example.cz"


async def test_an_unknown_merge_tag_is_refused_and_the_form_stays_open(app_for, readers):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_newsletter(pilot)
        editor = await fill_editor(pilot, "Typo", "News", "Hi {nmae}", audience="segment:vip")
        assert "this audience: 0 subscriber(s) now" in str(
            editor.query_one("#campaign-reach", Static).render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor  # still open, nothing typed lost
        error = str(editor.query_one("#form-error", Label).render())
        assert error.startswith("unknown merge tag {nmae} on line 1 of the body")
        body = editor.query_one("#f-body", TextArea)
        assert body.has_class("-refused") and app.focused is body
        assert editor.query_one("#f-name", Input).value == "Typo"
        assert not Campaign.select().exists()
        body.text = "Hi {firstname}"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is not editor)
        assert Campaign.get(Campaign.name == "Typo").audience == "segment:vip"


async def test_a_test_send_arrives_after_the_worker_runs(app_for, shop, manager, readers,
                                                         smtp):
    operators.set_email(manager, "mo", "mo@example.com")
    campaigns.create_campaign(shop, manager, name="June", subject="June, {firstname|friend}",
                              body="Hello {firstname|there}")
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_newsletter(pilot)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "mo@example.com" in dialog_text(app) and "qa@example.com" in dialog_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: len(smtp.received) == 2)
        await settle(pilot)
        assert sorted(str(m["To"]) for m in smtp.received) == ["mo@example.com",
                                                              "qa@example.com"]
        assert {str(m["Subject"]) for m in smtp.received} == {"[TEST] June, friend"}
        assert "qa@example.com: sent" in last_notice(app)
        assert not CampaignMail.select().exists()  # a test is no send


async def test_send_now_is_confirmed_with_the_count_and_pause_cancel_follow(
        app_for, shop, manager, readers):
    campaigns.create_campaign(shop, manager, name="June", subject="June", body="Hello")
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "all subscribers: 2 subscriber(s) now" in dialog_text(app)
        await pilot.press("n")  # no: nothing goes
        await settle(pilot)
        assert Campaign.get().state == "draft"
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: Campaign.get().state == "sending")
        assert CampaignMail.select().count() == 2
        await pilot.press("space")
        await wait_until(pilot, lambda: Campaign.get().state == "paused")
        await wait_until(pilot, lambda: cells(screen.query_one(
            "#campaigns-table", DataTable))[0][1] == "paused")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: Campaign.get().state == "cancelled")
        assert "2 mail(s) not sent" in last_notice(app)
        await pilot.press("enter")  # the campaign's figures
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        figures = dialog_text(app)
        assert "Recipients: 2, sent 0, to go 0, skipped 0, cancelled 2" in figures
        assert "Opens and clicks: not tracked" in figures


async def test_schedule_takes_the_shops_time_zone(app_for, shop, manager, readers):
    campaigns.create_campaign(shop, manager, name="June", subject="June", body="Hello")
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_newsletter(pilot)
        await pilot.press("w")
        await settle(pilot)
        tomorrow = dt.datetime.now(ZoneInfo("Europe/Paris")).date() + dt.timedelta(days=1)
        assert app.screen.query_one("#prompt-input").placeholder == f"{tomorrow} 09:00"
        await pilot.press(*"2020-06-01 09:00", "enter")  # past: said before any y/n
        await wait_until(pilot, lambda: "is past" in last_notice(app))
        assert not isinstance(app.screen, ConfirmDialog)
        assert Campaign.get().state == "draft"
        await pilot.press("w")
        await settle(pilot)
        await pilot.press(*"2099-06-01 09:00", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Europe/Paris (2099-06-01 07:00 UTC)" in dialog_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: Campaign.get().state == "scheduled")
        assert f"{Campaign.get().scheduled_at:%Y-%m-%d %H:%M}" == "2099-06-01 07:00"


async def test_a_clerk_is_not_offered_create_or_send(app_for, shop, manager, readers):
    campaigns.create_campaign(shop, manager, name="June", subject="June", body="Hello")
    app = app_for("cleo")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "p Preview" in footer
        for label in ("New", "Test", "Send", "Schedule", "Pause"):
            assert f" {label} " not in f"{footer} "
        for action in ("new_campaign", "test_send", "send_now", "schedule", "pause_resume",
                       "cancel_campaign", "copy_campaign", "edit_campaign"):
            assert not screen.check_action(action, ())
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen
        assert "only a manager" in last_notice(app)
        await pilot.press("s", "y")
        await settle(pilot)
        assert Campaign.get().state == "draft"
        await pilot.press("p", "enter")  # a clerk may look: the preview, as a sample
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Subject: June" in dialog_text(app)


async def test_a_manager_adds_a_subscriber_with_consent_and_unsubscribes_one(app_for, readers):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newsletter(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, FormDialog))
        await pilot.press(*"dee@example.com", "enter", "enter", "enter", "enter")
        await settle(pilot)
        assert "wording" in str(app.screen.query_one("#form-error", Label).render())
        await pilot.press(*"Said yes at the market stall")  # the wording field is focused
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen and screen.query_one(
            "#subscribers-table", DataTable).row_count == 4)
        dee = Subscriber.get(Subscriber.email_key == "dee@example.com")
        assert (dee.state, dee.consent_source, dee.consent_text, dee.added_by) == (
            "subscribed", "operator", "Said yes at the market stall", "mo")
        await pilot.press("tab", "tab", "up", "up", "up")  # the subscribers' top: the newest
        assert screen.selected_subscriber().email == "dee@example.com"
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: Subscriber.get_by_id(dee.id).state == "unsubscribed")
        assert Subscriber.get_by_id(dee.id).state_how == "by mo"
