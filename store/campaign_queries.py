"""Campaign reads: the list with each one's counts, a campaign's report (recipients, sent,
failed, skipped, unsubscribed through its links, and the audience it would have now), the
body a worker compiles, and a chosen recipient for a preview."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import fn

from store import audience
from store.errors import NotFound
from store.models import CAMPAIGN_MAIL_STATES, Bounce, Campaign, CampaignMail, Subscriber
from store.operators import Actor, require
from store.shop import Shop


@dataclass(frozen=True)
class CampaignBody:
    """What a campaign's mails are made of."""

    id: int
    subject: str
    sender_name: str
    sender_email: str
    body_kind: str
    body: str
    text_body: str
    track: bool = False  # opens and clicks recorded (store.campaign_events)
    subject_b: str = ""  # an A/B test's second subject
    ab_sample: int = 0  # its sample, percent of the audience
    ab_wait_minutes: int = 0
    ab_metric: str = ""


@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str
    state: str
    subject: str
    audience: str
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    recipients: int
    counts: dict[str, int]
    unsubscribed: int
    paused_reason: str = ""  # why it paused itself ("" when it did not)
    track: bool = False

    @property
    def sent(self) -> int:
        return self.counts.get("sent", 0)


def _find(text: str) -> Campaign:
    text = text.strip()
    row = Campaign.get_or_none(Campaign.name == text)
    if row is None and text.isdigit():
        row = Campaign.get_or_none(Campaign.id == int(text))
    if row is None:
        raise NotFound(f"no campaign {text!r}", field="campaign")
    return row


def campaign_body(campaign_id: int) -> CampaignBody:
    c = Campaign.get_by_id(campaign_id)
    return CampaignBody(c.id, c.subject, c.sender_name, c.sender_email, c.body_kind, c.body,
                        c.text_body, c.track, c.subject_b, c.ab_sample, c.ab_wait_minutes,
                        c.ab_metric)


def body_of(actor: Actor, text: str) -> CampaignBody:
    require(actor, "newsletter_view")
    return campaign_body(_find(text).id)


def _counts(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {i: dict.fromkeys(CAMPAIGN_MAIL_STATES, 0)
                                        for i in campaign_ids}
    query: Any = (CampaignMail.select(CampaignMail.campaign, CampaignMail.state,
                                      fn.COUNT(CampaignMail.id))
                  .where(CampaignMail.campaign.in_(campaign_ids))
                  .group_by(CampaignMail.campaign, CampaignMail.state).tuples())
    for campaign_id, state, count in query:
        found[int(campaign_id)][str(state)] = int(count)
    return found


def _unsubscribed(campaign_ids: list[int]) -> dict[int, int]:
    query: Any = (Subscriber.select(Subscriber.state_campaign, fn.COUNT(Subscriber.id))
                  .where(Subscriber.state_campaign.in_(campaign_ids))
                  .group_by(Subscriber.state_campaign).tuples())
    return {int(c): int(n) for c, n in query}


def _rows(rows: list[Campaign]) -> list[CampaignRow]:
    ids = [r.id for r in rows]
    counts, gone = (_counts(ids), _unsubscribed(ids)) if ids else ({}, {})
    return [CampaignRow(r.id, r.name, r.state, r.subject, r.audience or "all subscribers",
                        r.scheduled_at, r.started_at, r.finished_at, r.recipients,
                        counts.get(r.id, {}), gone.get(r.id, 0), r.paused_reason, r.track)
            for r in rows]


@dataclass(frozen=True)
class Rates:
    """What a campaign's rates are judged on, since a time: mails gone (sent or refused for
    good), those refused or hard-bounced, those reported as spam."""

    gone: int
    bounced: int
    complaints: int


def rates_since(campaign_id: int, since: dt.datetime | None) -> Rates:
    """Since a resume (None: since the start, counted from the indexes alone: the worker
    asks this of a million-mail campaign every few seconds)."""
    sent = CampaignMail.select().where(CampaignMail.campaign == campaign_id,
                                       CampaignMail.state == "sent")
    refused = CampaignMail.select().where(CampaignMail.campaign == campaign_id,
                                          CampaignMail.state == "failed")
    later: Any = (Bounce.select(Bounce.kind, fn.COUNT(fn.DISTINCT(Bounce.email_key)))
                  .where(Bounce.campaign == campaign_id, Bounce.kind.in_(["hard", "complaint"]))
                  .group_by(Bounce.kind).tuples())
    if since is not None:
        sent = sent.where(CampaignMail.sent_at >= since)
        refused = refused.where(CampaignMail.updated_at >= since)
        later = later.where(Bounce.created_at >= since)
    found = {str(k): int(n) for k, n in later}
    failed = int(refused.count())
    return Rates(int(sent.count()) + failed, failed + found.get("hard", 0),
                 found.get("complaint", 0))


def campaign_list(actor: Actor) -> list[CampaignRow]:
    """Every campaign, newest first, with its mails counted by state."""
    require(actor, "newsletter_view")
    return _rows(list(Campaign.select().order_by(Campaign.id.desc())))


def campaign_row(actor: Actor, text: str) -> CampaignRow:
    require(actor, "newsletter_view")
    return _rows([_find(text)])[0]


def audience_now(shop: Shop, actor: Actor, text: str) -> int:
    """How many the campaign would go to if sent now (shown before sending)."""
    require(actor, "newsletter_view")
    return audience.count(shop, _find(text).audience)


@dataclass(frozen=True)
class SampleRecipient:
    subscriber_id: int
    email: str
    first_name: str
    last_name: str


def recipient(actor: Actor, email: str) -> SampleRecipient:
    """A subscriber as a preview shows the campaign to them."""
    require(actor, "newsletter_view")
    row = Subscriber.get_or_none(Subscriber.email_key == email.strip().lower())
    if row is None:
        raise NotFound(f"no subscriber {email!r}", field="as")
    return SampleRecipient(row.id, row.email, row.first_name, row.last_name)
