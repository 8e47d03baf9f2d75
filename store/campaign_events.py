"""Opens and clicks of tracked campaigns (campaign.track), each one row of campaign_event
written by one INSERT ... SELECT (the mail, its campaign and whether it is tracked resolved
in the same statement: no read before the write for an open).

Machine, not a person (the event is kept, labelled, and never counted as people):
  - a mail-privacy proxy fetching images for the reader (Apple Mail Privacy Protection
    fetches with the bare user agent "Mozilla/5.0"; Google's and Yahoo's image proxies name
    themselves), for opens;
  - a link scanner or preview fetcher: a known scanner or robot user agent (security
    gateways, HTTP libraries, headless browsers, chat previews), no user agent at all, or a
    HEAD request;
  - anything within MACHINE_SECONDS of the mail being sent: no person opens and clicks
    that fast, scanners at the receiving end do."""

from __future__ import annotations

import datetime as dt
import re

from peewee import Case, Value

from store import campaign_links, newsletter_links
from store.errors import NotFound
from store.models import Campaign, CampaignEvent, CampaignMail, utcnow
from store.shop import Shop

MACHINE_SECONDS = 10
_PROXY = re.compile(r"^Mozilla/5\.0$|GoogleImageProxy|ggpht\.com|YahooMailProxy", re.I)
_SCANNER = re.compile(
    r"bot\b|crawl|spider|scan|curl|wget|python|httpx|go-http-client|java/|libwww|okhttp|"
    r"headless|phantomjs|barracuda|mimecast|proofpoint|urldefense|symantec|messagelabs|"
    r"trend ?micro|sophos|bitdefender|forcepoint|safelinks|microsoft office|"
    r"facebookexternalhit|slack|whatsapp|preview", re.I)


def machine_reason(kind: str, agent: str, method: str) -> str:
    """Why an open or a click is a machine's by its request alone ("" when it may be a
    person; the time since sending is judged in the database)."""
    agent = agent.strip()
    if method.upper() == "HEAD":
        return "a HEAD request"
    if not agent:
        return "no user agent"
    if kind == "open" and _PROXY.search(agent):
        return "a mail-privacy proxy"
    if _SCANNER.search(agent):
        return "a link scanner or robot"
    return ""


def _record(kind: str, mail_id: int, link: int, agent: str, method: str) -> int:
    now = utcnow()
    why = machine_reason(kind, agent, method)
    fast = CampaignMail.sent_at > now - dt.timedelta(seconds=MACHINE_SECONDS)
    machine = Value(True) if why else fast
    said = Value(why) if why else Case(None, [(fast, f"within {MACHINE_SECONDS} s of "
                                                     "sending")], "")
    query = (CampaignMail.select(Value(now), Value(now), CampaignMail.campaign, CampaignMail.id,
                                 Value(kind), Value(link), machine, said)
             .join(Campaign, on=(Campaign.id == CampaignMail.campaign))
             .where(CampaignMail.id == mail_id, Campaign.track == True))  # noqa: E712
    return int(CampaignEvent.insert_from(query, [
        CampaignEvent.created_at, CampaignEvent.updated_at, CampaignEvent.campaign,
        CampaignEvent.mail, CampaignEvent.kind, CampaignEvent.link, CampaignEvent.machine,
        CampaignEvent.why]).as_rowcount().execute())


def record_open(shop: Shop, token: str, agent: str = "", method: str = "GET") -> None:
    """The open pixel was fetched; a token not ours is NotFound (one of a campaign not
    tracked records nothing)."""
    _record("open", newsletter_links.read_open(shop.config, token), -1, agent, method)


def record_click(shop: Shop, token: str, agent: str = "", method: str = "GET") -> str:
    """A tracked link was followed: the address of that link of the campaign's own body
    (never another: no open redirect); NotFound for a token not ours or a link it has not."""
    mail_id, link = newsletter_links.read_click(shop.config, token)
    row = (Campaign.select(Campaign.body, Campaign.body_kind)
           .join(CampaignMail, on=(CampaignMail.campaign == Campaign.id))
           .where(CampaignMail.id == mail_id).first())
    url = (campaign_links.link_at(row.body, link)
           if row is not None and row.body_kind == "html" else None)
    if url is None:
        raise NotFound("this link is not valid")
    _record("click", mail_id, link, agent, method)
    return url
