"""Opt-in tracking and a campaign's report, on SQLite and PostgreSQL: a tracked campaign sent
by the worker to aiosmtpd carries an open pixel and its body's links through /c/ (the text
part and a test send untouched); the pixel and the links answered by the app (httpx's ASGI
transport) and by a real `backroom serve`, machines labelled apart from people, no open
redirect, a tampered token 404."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import PIL.Image
import pytest
import tomli_w
from click.testing import CliRunner

from mailer import worker
from mailer.campaigns import send_test
from store import campaigns, newsletter_links
from store import db as dbmod
from store.campaign_queries import body_of
from store.campaign_report import campaign_report
from store.models import Campaign, CampaignEvent, CampaignMail, Order, utcnow
from store.shop import open_shop
from tests.conftest import cli_config
from tests.factories import place
from tests.mail_server import Server
from tests.test_newsletter_campaigns import SECRET, RawRecorder, add_subscribers, news_config
from tests.web_support import serve
from tui.cli import main
from web.app import create_app

BODY = ("<html><body><p>Hello {firstname|there}</p>"
        '<p><a href="https://shop.example.com/sale?a=1&amp;b=2">The sale</a></p>'
        "<p><a href='https://shop.example.com/new'>New</a> "
        '<a href="https://shop.example.com/offer?who={email}">Yours</a> '
        '<a href="mailto:hello@chez-ann.example">Write</a> <a href="#top">Top</a></p>'
        '<p><a href="{unsubscribe_url}">Stop</a></p></body></html>')
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
BASE = "https://news.chez-ann.example"


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server()
    server.handler = RawRecorder()
    server.start()
    yield server
    server.stop()


def _sent(smtp: Server) -> dict[str, Any]:
    return {to[0]: email.message_from_bytes(data, policy=email.policy.strict)
            for to, data in smtp.handler.raw}  # type: ignore[attr-defined]


def _paths(html_part: str, prefix: str) -> list[str]:
    return [m.replace(BASE, "") for m in re.findall(
        rf"""["']({re.escape(BASE)}/{prefix}/[^"']+)["']""", html_part)]


def _get(config: Any, *requests: tuple[str, str, str]) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(config)),
                                     base_url=BASE) as client:
            return [await client.request(method, path, headers={"User-Agent": agent})
                    for method, path, agent in requests]
    return asyncio.run(main())


def test_a_tracked_campaign_counts_opens_and_clicks_apart_from_machines(
        db_url, manager, clerk, smtp, tmp_path):
    config = news_config(db_url, smtp)
    shop = open_shop(config)
    emails = add_subscribers(shop, manager, 3)
    ref = campaigns.create_campaign(shop, manager, name="T", subject="S", body=BODY,
                                    body_kind="html", track=True)
    campaigns.start(shop, manager, "T")
    worker.deliver_all_once(config)
    sent = _sent(smtp)
    assert sorted(sent) == emails
    first = sent[emails[0]]
    html_part = first.get_body(("html",)).get_content()
    text_part = first.get_body(("plain",)).get_content()
    pixels, clicks = _paths(html_part, "o"), _paths(html_part, "c")
    assert len(pixels) == 1 and pixels[0].endswith(".gif") and len(clicks) == 2
    assert 'href="https://shop.example.com/offer?who=reader000%40example.com"' in html_part
    assert 'href="mailto:hello@chez-ann.example"' in html_part and 'href="#top"' in html_part
    assert "https://shop.example.com/sale?a=1&b=2" in text_part and "/c/" not in text_part
    for path in pixels + clicks:  # the tokens carry ids, never the address
        payload = path.split("/")[2].split(".")[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert b"reader" not in decoded and b"@" not in decoded

    # the first two mails went an hour ago, the third just now
    mails = {m.subscriber.email: m for m in CampaignMail.select()}
    CampaignMail.update(sent_at=utcnow() - dt.timedelta(hours=1)).where(
        CampaignMail.id.in_([mails[e].id for e in emails[:2]])).execute()
    second = _sent(smtp)[emails[1]].get_body(("html",)).get_content()
    third = _sent(smtp)[emails[2]].get_body(("html",)).get_content()
    answers = _get(
        config,
        ("GET", pixels[0], FIREFOX),  # a person
        ("GET", pixels[0], FIREFOX),  # again: one person still
        ("GET", _paths(second, "o")[0], "Mozilla/5.0"),  # Apple Mail Privacy Protection
        ("GET", _paths(third, "o")[0], FIREFOX),  # seconds after sending
        ("GET", clicks[0], FIREFOX),
        ("HEAD", clicks[1], FIREFOX),  # a scanner's HEAD
        ("GET", _paths(second, "c")[1], "Mimecast URL Protect"),
        ("GET", clicks[0][:-3] + "abc", FIREFOX),  # tampered
        ("GET", "/c/" + newsletter_links.click_url(config, mails[emails[0]].id, 7)
         .rsplit("/", 1)[1], FIREFOX),  # genuinely signed, a link the body has not
        ("GET", "/c/" + newsletter_links.unsubscribe_token(config, 1, ref.id), FIREFOX),
        ("GET", "/o/" + pixels[0].split("/")[2][:-6] + "x.gif", FIREFOX))
    gif = answers[0]
    assert gif.status_code == 200 and gif.headers["content-type"] == "image/gif"
    with PIL.Image.open(io.BytesIO(gif.content)) as image:
        assert (image.format, image.size) == ("GIF", (1, 1))
    assert "no-store" in gif.headers["cache-control"]
    assert answers[4].status_code == 302
    assert answers[4].headers["location"] == "https://shop.example.com/sale?a=1&b=2"
    assert answers[5].status_code == 302
    assert answers[5].headers["location"] == "https://shop.example.com/new"
    assert [a.status_code for a in answers[7:]] == [404, 404, 404, 404]
    events = [(e.mail.subscriber.email, e.kind, e.link, e.machine, e.why)
              for e in CampaignEvent.select().order_by(CampaignEvent.id)]
    assert events == [
        (emails[0], "open", -1, False, ""), (emails[0], "open", -1, False, ""),
        (emails[1], "open", -1, True, "a mail-privacy proxy"),
        (emails[2], "open", -1, True, "within 10 s of sending"),
        (emails[0], "click", 0, False, ""),
        (emails[0], "click", 1, True, "a HEAD request"),
        (emails[1], "click", 1, True, "a link scanner or robot")]

    # orders: reader000 (a person's click) buys twice, once a week before, once after the
    # click, as a guest in capitals; reader001 (only a scanner clicked) buys too
    click_at = CampaignEvent.get(CampaignEvent.kind == "click",
                                 ~CampaignEvent.machine).created_at
    before = place(shop, email="Reader000@Example.com", price=5000)
    Order.update(placed_at=click_at - dt.timedelta(days=7)).where(
        Order.id == before.id).execute()
    place(shop, email="Reader000@Example.com", price=2500)
    place(shop, email=emails[1], price=9900)
    report = campaign_report(shop, manager, "T")
    assert (report.sent, report.failed, report.unsubscribed) == (3, 0, 0)
    assert report.tracked is not None
    assert (report.tracked.opened, report.tracked.open_events,
            report.tracked.machine_opens) == (1, 2, 2)
    assert (report.tracked.clicked, report.tracked.click_events,
            report.tracked.machine_clicks) == (1, 1, 2)
    order_total = Order.get(Order.placed_at > click_at).total
    assert (report.orders, report.revenue) == (1, {"EUR": order_total})
    rates = {r.name: (round(r.value or 0, 3), r.verdict) for r in report.rates}
    assert rates == {"open": (0.333, "above the guide"), "click": (0.333, "above the guide"),
                     "unsubscribe": (0.0, "ok")}

    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url, newsletter={"secret": SECRET})),
                    encoding="utf-8")
    shown = CliRunner().invoke(main, ["--config", str(path), "newsletter", "campaign", "stats",
                                      "T"], env={"BACKROOM_OPERATOR": "cleo"}).output
    assert ("opened:        1 people (33.3%; guide 15-25%: above the guide); 2 by machines, "
            "not counted") in shown
    assert "clicked:       1 people, 1 clicks (33.3%; guide 2-5%: above the guide); 2 by " \
           "machines" in shown
    assert "conversions:   1 order(s) within 5 days of a click, " in shown
    assert "unsubscribed:  0 (0.0%; guide at most 0.5%: ok)" in shown

    # a test send and a preview: no pixel, the links as written, nothing to record
    addresses = ["qa@example.com"]
    send_test(config, body_of(manager, "T"), addresses)
    test = _sent(smtp)["qa@example.com"].get_body(("html",)).get_content()
    assert "/o/" not in test and "/c/" not in test
    assert 'href="https://shop.example.com/sale?a=1&amp;b=2"' in test


def test_conversions_look_between_the_first_and_last_click_of_people(
        db_url, manager, smtp):
    """The orders a campaign converted are looked for from a person's first click to the
    conversion days after a person's last one (read from the two ends of the people's
    clicks' index, migration 0020): an order a week after the first of two clicks three weeks
    apart counts, as does one a day after the last; a machine's later click widens nothing,
    and an order before any click does not count."""
    config = news_config(db_url, smtp)
    shop = open_shop(config)
    emails = add_subscribers(shop, manager, 3)
    campaigns.create_campaign(shop, manager, name="W", subject="S", body=BODY,
                              body_kind="html", track=True)
    campaigns.start(shop, manager, "W")
    worker.deliver_all_once(config)
    mails = {m.subscriber.email: m for m in CampaignMail.select()}
    now = utcnow()
    days = int(shop.config.get("newsletter", "conversion_days"))

    def event(address: str, at: dt.datetime, machine: bool = False) -> None:
        mail = mails[address]
        CampaignEvent.create(campaign=mail.campaign_id, mail=mail.id, kind="click", link=0,
                             machine=machine, created_at=at, updated_at=at)

    def order(address: str, at: dt.datetime, price: int) -> None:
        ref = place(shop, email=address, price=price)
        Order.update(placed_at=at).where(Order.id == ref.id).execute()

    first, last = now - dt.timedelta(days=3 * days), now - dt.timedelta(days=2 * days)
    event(emails[0], first)
    event(emails[0], last)
    event(emails[1], now - dt.timedelta(hours=1), machine=True)
    order(emails[0], first + dt.timedelta(days=1), 1000)
    order(emails[0], last + dt.timedelta(days=1), 2000)
    order(emails[1], now, 4000)  # only a machine clicked
    order(emails[2], first - dt.timedelta(days=1), 8000)  # before any click
    seen: list[str] = []
    if dbmod.is_sqlite():
        dbmod.db.connection().set_trace_callback(seen.append)
    try:
        report = campaign_report(shop, manager, "W")
    finally:
        if dbmod.is_sqlite():
            dbmod.db.connection().set_trace_callback(None)
    assert report.orders == 2
    assert sum(report.revenue.values()) == sum(
        o.total for o in Order.select().where(Order.customer_email == emails[0]))
    if dbmod.is_sqlite():
        (span,) = [sql for sql in seen if "MIN(created_at)" in sql]
        plan = " ".join(str(r) for r in dbmod.db.execute_sql(f"EXPLAIN QUERY PLAN {span}"))
        assert plan.count("campaign_event_people_clicks") == 2, plan


def test_an_untracked_campaign_has_no_pixel_and_a_real_server_answers_links(
        db_url, manager, smtp, tmp_path):
    config = news_config(db_url, smtp)
    shop = open_shop(config)
    add_subscribers(shop, manager, 1)
    campaigns.create_campaign(shop, manager, name="Plain", subject="S", body=BODY,
                              body_kind="html")
    campaigns.create_campaign(shop, manager, name="Tracked", subject="S", body="Hi",
                              track=True)
    with pytest.raises(Exception, match="plain-text campaign"):
        campaigns.create_campaign(shop, manager, name="X", subject="S", body="Hi",
                                  body_kind="text", track=True)
    campaigns.start(shop, manager, "Plain")
    worker.deliver_all_once(config)
    plain = smtp.handler.raw[-1][1]  # type: ignore[attr-defined]
    assert b"/o/" not in plain and b"/c/" not in plain
    campaigns.start(shop, manager, "Tracked")
    worker.deliver_all_once(config)
    tracked = email.message_from_bytes(smtp.handler.raw[-1][1],  # type: ignore[attr-defined]
                                       policy=email.policy.strict)
    pixel = _paths(tracked.get_body(("html",)).get_content(), "o")[0]
    plain_mail = CampaignMail.get(CampaignMail.campaign == 1)
    click_plain = newsletter_links.click_url(config, plain_mail.id, 0).replace(BASE, "")
    with serve(tmp_path, db_url, newsletter={"secret": SECRET}) as server:
        status, _body, headers = server.request("GET", pixel, headers={"User-Agent": FIREFOX})
        assert status == 200 and headers["content-type"] == "image/gif"
        # a campaign that is not tracked: the link still leads to its body's address,
        # and nothing is recorded
        status, _body, headers = server.request("GET", click_plain,
                                                headers={"User-Agent": FIREFOX})
        assert status == 302 and headers["location"] == "https://shop.example.com/sale?a=1&b=2"
        status, _body, _headers = server.request("GET", "/c/nope.nope")
        assert status == 404
    assert [(e.kind, e.campaign_id) for e in CampaignEvent.select()] == [("open", 2)]


def test_a_subject_ab_test_sends_the_winner_to_the_rest(db_url, manager, smtp):
    config = news_config(db_url, smtp)
    shop = open_shop(config)
    emails = add_subscribers(shop, manager, 40)
    with pytest.raises(Exception, match="needs tracking"):
        campaigns.create_campaign(shop, manager, name="X", subject="A", body="Hi",
                                  subject_b="B", ab_sample=20)
    campaigns.create_campaign(shop, manager, name="AB", subject="Spring is here",
                              subject_b="{firstname|Friend}, spring sale", body=BODY,
                              body_kind="html", track=True, ab_sample=30, ab_wait_minutes=60)
    campaigns.start(shop, manager, "AB")
    worker.deliver_all_once(config)
    sample = _sent(smtp)
    subjects = {to: str(m["Subject"]) for to, m in sample.items()}
    a = [to for to, s in subjects.items() if s == "Spring is here"]
    b = [to for to, s in subjects.items() if s.endswith(", spring sale")]
    assert a and b and len(a) + len(b) == len(sample) < len(emails)  # only the sample went
    assert {m.state for m in CampaignMail.select().where(CampaignMail.variant == "")} == {
        "waiting"}
    # people click in B's mails only (an hour after they went)
    CampaignMail.update(sent_at=utcnow() - dt.timedelta(hours=1)).execute()
    for to in b[:2]:
        html_part = sample[to].get_body(("html",)).get_content()
        assert _get(config, ("GET", _paths(html_part, "c")[0], FIREFOX))[0].status_code == 302
    worker.deliver_all_once(config)  # the wait is not over: nothing more goes
    assert len(smtp.handler.raw) == len(sample)  # type: ignore[attr-defined]
    Campaign.update(started_at=utcnow() - dt.timedelta(minutes=61)).execute()
    worker.deliver_all_once(config)
    row = Campaign.get(Campaign.name == "AB")
    assert (row.state, row.ab_winner, row.ab_result) == ("sent", "b",
                                                         "b won by clicks: a 0, b 2")
    everyone = _sent(smtp)
    assert sorted(everyone) == emails and len(smtp.handler.raw) == 40  # type: ignore[attr-defined]
    rest = [to for to in emails if to not in sample]
    assert all(str(everyone[to]["Subject"]).endswith(", spring sale") for to in rest)
    report = campaign_report(shop, manager, "AB")
    assert report.ab is not None and report.ab.result == "b won by clicks: a 0, b 2"


def test_an_ab_test_by_orders_from_the_command_line(db_url, shop, manager, smtp, tmp_path):
    emails = add_subscribers(shop, manager, 30)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(
        db_url, smtp={"port": smtp.port}, shop={"email": "hello@chez-ann.example"},
        newsletter={"secret": SECRET, "max_per_second": 1000.0})), encoding="utf-8")

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": "mo"}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("newsletter", "campaign", "create", "Sale", "--subject", "Our sale", "--body", "Hi",
        "--subject-b", "FREE sale!!!", "--ab-sample", "40", "--ab-wait", "30",
        "--ab-metric", "orders")
    run("newsletter", "campaign", "send", "Sale")
    run("worker", "--once")
    sample = {to[0]: email.message_from_bytes(data, policy=email.policy.default)["Subject"]
              for to, data in smtp.handler.raw}  # type: ignore[attr-defined]
    a = [to for to, s in sample.items() if s == "Our sale"]
    b = [to for to, s in sample.items() if s == "FREE sale!!!"]
    assert a and len(b) >= 2 and len(sample) < len(emails)
    shown = run("newsletter", "campaign", "stats", "Sale")
    assert "A/B test:      40% sample, by orders: the winner is chosen from " in shown
    assert "subject B:     FREE sale!!!" in shown
    for buyer in (a[0], b[0], b[1]):
        place(shop, email=buyer, price=1500)
    Campaign.update(started_at=utcnow() - dt.timedelta(minutes=31)).execute()
    run("worker", "--once")
    assert "A/B test:      40% sample, by orders: b won by orders: a 1, b 2" in run(
        "newsletter", "campaign", "stats", "Sale")
    rest = [data for to, data in smtp.handler.raw  # type: ignore[attr-defined]
            if to[0] not in sample and b"X-Backroom-Mail: campaign " in data]
    assert len(rest) == len(emails) - len(sample)
    assert all(b"Subject: FREE sale!!!" in data for data in rest)
