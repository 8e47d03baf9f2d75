"""What comes back from a campaign, on SQLite and PostgreSQL: a campaign that pauses itself on
its bounce or complaint rate, and bounces and complaints read later from a mailbox (DSN,
RFC 3464; ARF, RFC 5965), built here with the email package and written as files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mailer import worker
from store import campaigns, subscribers
from store.models import Campaign, CampaignMail
from store.shop import open_shop
from tests.conftest import make_config
from tests.mail_server import Server
from tests.test_newsletter_campaigns import SECRET, RawRecorder, add_subscribers


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server()
    server.handler = RawRecorder()
    server.start()
    yield server
    server.stop()


def feedback_config(db_url: str, smtp: Server, **newsletter: Any) -> Any:
    return make_config(db_url, smtp={"port": smtp.port, "connections": 1},
                       mail={"backoff_seconds": 0, "poll_seconds": 0.05, "batch_size": 2},
                       shop={"name": "Chez Ann", "email": "hello@chez-ann.example"},
                       newsletter={"secret": SECRET, "max_per_second": 1000.0,
                                   "public_url": "https://news.chez-ann.example",
                                   **newsletter})


def test_a_campaign_pauses_itself_when_too_many_bounce_and_says_why(db_url, manager, smtp):
    config = feedback_config(db_url, smtp, pause_after=4, pause_bounce_rate=0.05)
    shop = open_shop(config)
    emails = add_subscribers(shop, manager, 12)
    for address in emails[:3]:
        smtp.handler.rcpt_replies[address] = ["550 5.1.1 No such user"]
    ref = campaigns.create_campaign(shop, manager, name="B", subject="S", body="Hi")
    campaigns.start(shop, manager, "B")
    worker.deliver_all_once(config)
    row = Campaign.get_by_id(ref.id)
    assert row.state == "paused"
    assert row.paused_reason.startswith("paused itself: 3 of 4 mails bounced for good (75.0%, "
                                        "over newsletter.pause_bounce_rate 5.0%)")
    states = [m.state for m in CampaignMail.select().order_by(CampaignMail.id)]
    assert states == ["failed"] * 3 + ["sent"] + ["queued"] * 8  # nothing more went
    assert len(smtp.received) == 1
    # resumed: judged afresh on what goes from now on, so it finishes
    campaigns.resume(shop, manager, "B")
    worker.deliver_all_once(config)
    row = Campaign.get_by_id(ref.id)
    assert (row.state, row.paused_reason) == ("sent", "")
    assert len(smtp.received) == 9


def test_below_the_threshold_or_too_few_mails_it_goes_on(db_url, manager, smtp):
    config = feedback_config(db_url, smtp, pause_after=20, pause_bounce_rate=0.05)
    shop = open_shop(config)
    emails = add_subscribers(shop, manager, 12)
    smtp.handler.rcpt_replies[emails[0]] = ["550 5.1.1 No such user"]
    campaigns.create_campaign(shop, manager, name="C", subject="S", body="Hi")
    campaigns.start(shop, manager, "C")
    worker.deliver_all_once(config)
    assert Campaign.get(Campaign.name == "C").state == "sent"  # 12 gone: not judged yet
    assert subscribers.find(emails[0]).state == "subscribed"
