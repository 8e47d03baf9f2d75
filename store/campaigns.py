"""Campaigns: made by a manager (clerks may look), checked when saved (merge tags, audience),
scheduled in the shop's time zone or sent now, paused, resumed, cancelled. The campaign's
state machine, the only module that changes it:

    draft --schedule--> scheduled --(its time: start_due)--> sending
    draft/scheduled --send--> sending --pause--> paused --resume--> sending
    sending --(its bounce or complaint rate over the threshold: pause_on_rates)--> paused

A subject A/B test (subject_b, ab_sample): the sample's mails go first, half with each
subject; the rest wait until decide_ab, after ab_wait_minutes, picks the winner by people's
clicks or by the shop's orders and releases them with it (the worker calls it).
    sending --(every recipient written and none left to go: finish_done)--> sent
    draft/scheduled/sending/paused --cancel--> cancelled

Its recipients' own states are store.campaign_mail's."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from store import (
    audience,
    campaign_mail,
    campaign_queries,
    campaign_report,
    events_log,
    merge_tags,
    newsletter_links,
)
from store.contact import normalise_email
from store.errors import NotFound, Refused, ValidationError
from store.models import Campaign, db, utcnow
from store.operators import Actor, require
from store.shop import Shop
from store.text import clean

BODY_KINDS = ("template", "html", "text")
MAX_BODY = 1_000_000  # characters: a newsletter is never megabytes of text
SUBJECT_WARN = 50
AB_SAMPLE = 20  # percent of the audience an A/B test tries, unless told
AB_WAIT_MINUTES = 240  # before its winner is chosen, unless told
SPAM_WORDS = re.compile(r"\b(FREE|WINNER|GUARANTEED|CASH|URGENT)\b|!!!|\$\$\$")


@dataclass(frozen=True)
class CampaignRef:
    id: int
    name: str


def subject_warnings(subject: str) -> list[str]:
    """What to say about a subject before it goes (warnings, never refusals)."""
    found = []
    if len(subject) > SUBJECT_WARN:
        found.append(f"the subject is {len(subject)} characters long: over {SUBJECT_WARN}, "
                     "phones cut it")
    spam = sorted({m.group(0) for m in SPAM_WORDS.finditer(subject)})
    if spam:
        found.append(f"the subject has words spam filters dislike: {', '.join(spam)}")
    return found


def _check_content(subject: str, body_kind: str, body: str, text_body: str) -> None:
    if body_kind not in BODY_KINDS:
        raise ValidationError(f"the body is one of {', '.join(BODY_KINDS)}", field="body_kind")
    if not subject:
        raise ValidationError("a campaign needs a subject", field="subject")
    if not body.strip():
        raise ValidationError("a campaign needs a body", field="body")
    if len(body) > MAX_BODY or len(text_body) > MAX_BODY:
        raise ValidationError(f"the body is over {MAX_BODY:,} characters", field="body")
    merge_tags.parse(subject, "subject")
    merge_tags.parse(body, "body")
    merge_tags.parse(text_body, "text part")


def create_campaign(shop: Shop, actor: Actor, *, name: str, subject: str, body: str,
                    body_kind: str = "template", text_body: str = "", audience_text: str = "",
                    sender_name: str = "", sender_email: str = "", track: bool = False,
                    subject_b: str = "", ab_sample: int | str = 0,
                    ab_wait_minutes: int | str = AB_WAIT_MINUTES,
                    ab_metric: str = "clicks") -> CampaignRef:
    """A draft campaign. The body is the operator's text inside the built-in template, a
    custom HTML document, or plain text; its merge tags are checked now (an unknown one is
    refused, naming its line), and so is the audience (a customer filter, or every
    subscriber). The sender defaults to the shop. With `track`, its mails carry an open
    pixel and their links lead through /c/ (store.campaign_events); a plain-text campaign
    cannot be tracked. With `subject_b` it is a subject A/B test (see the module)."""
    require(actor, "newsletter")
    values = _checked(shop, name=name, subject=subject, body=body, body_kind=body_kind,
                      text_body=text_body, audience_text=audience_text,
                      sender_name=sender_name, sender_email=sender_email, track=track,
                      subject_b=subject_b, ab_sample=ab_sample,
                      ab_wait_minutes=ab_wait_minutes, ab_metric=ab_metric)
    with db.atomic():
        _name_free(values["name"])
        row = Campaign.create(**values, created_by=actor.login, updated_by=actor.login)
    events_log.event("campaign_created", actor.login, campaign=row.id)
    return CampaignRef(row.id, row.name)


# what update_campaign may change, by the names create_campaign takes them
EDITABLE = ("name", "subject", "body", "body_kind", "text_body", "audience_text",
            "sender_name", "sender_email", "track", "subject_b", "ab_sample",
            "ab_wait_minutes", "ab_metric")
EDITABLE_STATES = ("draft", "scheduled")


def update_campaign(shop: Shop, actor: Actor, campaign: int | str, **fields: Any
                    ) -> CampaignRef:
    """Change a campaign not yet sending (a draft, or a scheduled one: its time stays) in
    place: the fields given (EDITABLE, as create_campaign names them) replace the stored
    ones and the whole is checked as create checks it (an unknown merge tag is refused, and
    so on). One that is sending or done is refused: its mails went with what it said."""
    require(actor, "newsletter")
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValidationError(f"a campaign has no field {', '.join(unknown)} to change; "
                              f"fields are {', '.join(EDITABLE)}", field=unknown[0])
    row = find(campaign)
    _editable(row)
    stored: dict[str, Any] = {
        "name": row.name, "subject": row.subject, "body": row.body, "body_kind": row.body_kind,
        "text_body": row.text_body, "audience_text": row.audience,
        "sender_name": row.sender_name, "sender_email": row.sender_email, "track": row.track,
        "subject_b": row.subject_b, "ab_sample": row.ab_sample,
        "ab_wait_minutes": row.ab_wait_minutes or AB_WAIT_MINUTES,
        "ab_metric": row.ab_metric or "clicks"}
    values = _checked(shop, **(stored | fields))
    with db.atomic():
        if values["name"] != row.name:
            _name_free(values["name"])
        changed = Campaign.update(**values, updated_at=utcnow(), updated_by=actor.login,
                                  version=Campaign.version + 1).where(
            Campaign.id == row.id, Campaign.version == row.version,
            Campaign.state.in_(EDITABLE_STATES)).execute()
        if not changed:
            _editable(find(row.id))
            raise Refused(f"campaign {row.name!r} was changed meanwhile; look again")
    events_log.event("campaign_updated", actor.login, campaign=row.id)
    return CampaignRef(row.id, str(values["name"]))


def require_editable(actor: Actor, campaign: int | str) -> None:
    """Refused unless the campaign can still be edited (the app asks before opening it)."""
    require(actor, "newsletter")
    _editable(find(campaign))


def _editable(row: Campaign) -> None:
    if row.state not in EDITABLE_STATES:
        raise Refused(f"campaign {row.name!r} is {row.state}: only a draft or a scheduled "
                      "campaign can be edited; copy it into a new one instead", field="state")


def _name_free(name: object) -> None:
    if Campaign.select().where(Campaign.name == name).exists():
        raise Refused(f"a campaign named {name!r} already exists", field="name")


def _checked(shop: Shop, *, name: str, subject: str, body: str, body_kind: str,
             text_body: str, audience_text: str, sender_name: str, sender_email: str,
             track: bool, subject_b: str, ab_sample: int | str, ab_wait_minutes: int | str,
             ab_metric: str) -> dict[str, object]:
    """A campaign's stored columns from what was typed, checked (create and update alike)."""
    name, subject = clean(name, "name"), clean(subject, "subject")
    body = body.replace("\r\n", "\n")
    text_body = text_body.replace("\r\n", "\n")
    if not name:
        raise ValidationError("a campaign needs a name", field="name")
    _check_content(subject, body_kind, body, text_body)
    sender_name = clean(sender_name, "sender_name") or str(shop.config.get("shop", "name"))
    sender_email = normalise_email(sender_email or str(shop.config.get("shop", "email")),
                                   field="sender_email")
    subject_b = clean(subject_b, "subject_b")
    ab = _check_ab(subject_b, ab_sample, ab_wait_minutes, ab_metric, track)
    if track and body_kind == "text":
        raise ValidationError("a plain-text campaign has no pixel or links to track: use the "
                              "template or HTML, or leave tracking off", field="track")
    stored_audience = audience.check(shop, audience_text)
    return {"name": name, "subject": subject, "body": body, "body_kind": body_kind,
            "text_body": text_body, "audience": stored_audience, "sender_name": sender_name,
            "sender_email": sender_email, "track": track,
            **(ab or {"subject_b": "", "ab_sample": 0, "ab_wait_minutes": 0, "ab_metric": ""})}


AB_METRICS = ("clicks", "orders")


def _whole(value: int | str, field: str) -> int:
    """A number as typed in a form ("20") or given (20); a word is refused naming the field."""
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValidationError(f"{value!r} is not a whole number", field=field) from None


def _check_ab(subject_b: str, sample_given: int | str, wait_given: int | str, metric: str,
              track: bool) -> dict[str, object]:
    if not subject_b:
        return {}
    merge_tags.parse(subject_b, "second subject")
    sample = _whole(sample_given, "ab_sample")
    wait = _whole(wait_given, "ab_wait_minutes")
    metric = metric.strip().lower()
    if not 2 <= sample <= 50:
        raise ValidationError("an A/B test's sample is 2 to 50 percent of the audience (half "
                              "of it gets each subject)", field="ab_sample")
    if not 1 <= wait <= 7 * 24 * 60:
        raise ValidationError("an A/B test waits 1 minute to 7 days before choosing",
                              field="ab_wait_minutes")
    if metric not in AB_METRICS:
        raise ValidationError(f"an A/B test's winner is chosen by {' or '.join(AB_METRICS)}",
                              field="ab_metric")
    if metric == "clicks" and not track:
        raise ValidationError("choosing by clicks needs tracking on (--track), or choose by "
                              "orders", field="ab_metric")
    return {"subject_b": subject_b, "ab_sample": sample, "ab_wait_minutes": wait,
            "ab_metric": metric}


def decide_ab(shop: Shop, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """A/B tests whose wait is over and whose sample has all been tried: the winner (the
    higher score; a tie keeps the first subject) goes to the rest of the audience."""
    now = now or utcnow()
    decided = []
    for row in Campaign.select().where(Campaign.state == "sending", Campaign.ab_sample > 0,
                                       Campaign.ab_winner == "",
                                       Campaign.queued_all == True):  # noqa: E712
        started = row.started_at or row.created_at
        if started + dt.timedelta(minutes=row.ab_wait_minutes) > now:
            continue
        if campaign_mail.sample_pending(row.id):
            continue
        scores = campaign_report.ab_scores(row.id, row.ab_metric, started)
        winner = "b" if scores.get("b", 0) > scores.get("a", 0) else "a"
        said = (f"{winner} won by {row.ab_metric}: a {scores.get('a', 0)}, "
                f"b {scores.get('b', 0)}")
        with db.atomic():
            if not Campaign.update(ab_winner=winner, ab_result=said, updated_at=now).where(
                    Campaign.id == row.id, Campaign.ab_winner == "").execute():
                continue
            campaign_mail.release_waiting(row.id, winner)
        events_log.event("campaign_ab_decided", "worker", campaign=row.id, winner=winner)
        decided.append((int(row.id), said))
    return decided


def find(text: int | str) -> Campaign:
    """A campaign by id or name, as typed (an int: by id alone)."""
    if isinstance(text, int):
        found = Campaign.get_or_none(Campaign.id == text)
        if found is None:
            raise NotFound(f"no campaign #{text}", field="campaign")
        return found
    text = text.strip()
    row = Campaign.get_or_none(Campaign.name == text)
    if row is None and text.isdigit():
        row = Campaign.get_or_none(Campaign.id == int(text))
    if row is None:
        raise NotFound(f"no campaign {text!r}", field="campaign")
    return row


def _move(row: Campaign, actor: Actor, allowed: tuple[str, ...], to: str, **values: object
          ) -> None:
    if row.state not in allowed:
        raise Refused(f"campaign {row.name!r} is {row.state}: only a campaign "
                      f"{' or '.join(allowed)} can be made {to}", field="state")
    changed = Campaign.update(state=to, updated_at=utcnow(), updated_by=actor.login,
                              version=Campaign.version + 1, **values).where(
        Campaign.id == row.id, Campaign.version == row.version).execute()
    if not changed:
        raise Refused(f"campaign {row.name!r} was changed meanwhile; look again")
    events_log.event(f"campaign_{to}", actor.login, campaign=row.id)


def parse_local_time(shop: Shop, text: str) -> dt.datetime:
    """"2026-05-01 09:00" in the shop's time zone (shop.time_zone) as naive UTC."""
    zone = zoneinfo.ZoneInfo(str(shop.config.get("shop", "time_zone")))
    try:
        local = dt.datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        raise ValidationError(f"{text!r} is not a date and time like 2026-05-01 09:00 "
                              f"(in {zone.key})", field="when") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def time_to_come(shop: Shop, when: str) -> dt.datetime:
    """A date and time of the shop's time zone, in UTC, refused when it is past (the app asks
    before its confirmation: it asked y/n first, then refused)."""
    at = parse_local_time(shop, when)
    if at <= utcnow():
        raise ValidationError(f"{when} ({shop.config.get('shop', 'time_zone')}) is past; "
                              "give a time to come, or send now", field="when")
    return at


def schedule(shop: Shop, actor: Actor, text: str, when: str) -> dt.datetime:
    """Send at a date and time of the shop's time zone; the time in UTC."""
    require(actor, "newsletter")
    newsletter_links.secret(shop.config)
    newsletter_links.answered_base(shop.config)
    at = time_to_come(shop, when)
    with db.atomic():
        _move(find(text), actor, ("draft", "scheduled"), "scheduled", scheduled_at=at)
    return at


def start(shop: Shop, actor: Actor, text: str) -> int:
    """Send now: the campaign is "sending" and its recipients are written (a batch per
    transaction; the worker resumes any left after a crash); how many."""
    require(actor, "newsletter")
    newsletter_links.secret(shop.config)
    newsletter_links.answered_base(shop.config)
    with db.atomic():
        row = find(text)
        _move(row, actor, ("draft", "scheduled"), "sending", started_at=utcnow())
    return campaign_mail.queue_all(shop, row.id)


def start_due(shop: Shop, now: dt.datetime | None = None) -> list[int]:
    """The scheduled campaigns whose time has come start (the worker calls this)."""
    now = now or utcnow()
    due = [int(c.id) for c in Campaign.select(Campaign.id).where(
        Campaign.state == "scheduled", Campaign.scheduled_at <= now)]
    for campaign_id in due:
        Campaign.update(state="sending", started_at=now, updated_at=now,
                        version=Campaign.version + 1).where(
            Campaign.id == campaign_id, Campaign.state == "scheduled").execute()
        events_log.event("campaign_sending", "scheduler", campaign=campaign_id)
    return due


def unqueued() -> list[int]:
    """Campaigns being sent whose recipients are not all written yet (a crash, a schedule)."""
    return [int(c.id) for c in Campaign.select(Campaign.id).where(
        Campaign.state.in_(["sending", "paused"]), Campaign.queued_all == False  # noqa: E712
    )]


def pause(shop: Shop, actor: Actor, text: str) -> None:
    require(actor, "newsletter")
    with db.atomic():
        _move(find(text), actor, ("sending",), "paused", paused_reason="")


def resume(shop: Shop, actor: Actor, text: str) -> None:
    """Sending again. A campaign that paused itself is judged afresh from now: what bounced
    before is accepted, and it pauses again only if the mails sent from now on bounce."""
    require(actor, "newsletter")
    with db.atomic():
        _move(find(text), actor, ("paused",), "sending", paused_reason="", judged_from=utcnow())


def rate_verdict(shop: Shop, rates: campaign_queries.Rates) -> str:
    """Why a campaign with these rates must pause, or "" (too few mails gone yet, or fine)."""
    news = shop.config["newsletter"]
    if rates.gone < int(news["pause_after"]):
        return ""
    for what, count, limit, key in (
            ("bounced for good", rates.bounced, float(news["pause_bounce_rate"]),
             "pause_bounce_rate"),
            ("were reported as spam", rates.complaints, float(news["pause_complaint_rate"]),
             "pause_complaint_rate")):
        if count / rates.gone > limit:
            return (f"paused itself: {count} of {rates.gone} mails {what} "
                    f"({count / rates.gone:.1%}, over newsletter.{key} {limit:.1%}); look at "
                    "the list, then resume or cancel")
    return ""


def due_to_pause(shop: Shop) -> list[tuple[int, str]]:
    """Campaigns being sent whose bounce rate (refused at sending, or hard bounces read
    later) or complaint rate passed newsletter.pause_bounce_rate / pause_complaint_rate,
    over the mails gone since it started (or was last resumed), with why."""
    due = []
    for row in Campaign.select().where(Campaign.state == "sending"):
        reason = rate_verdict(shop, campaign_queries.rates_since(row.id, row.judged_from))
        if reason:
            due.append((int(row.id), reason))
    return due


def pause_on_rates(shop: Shop) -> list[tuple[int, str]]:
    """The campaigns due_to_pause pause themselves, saying why in `paused_reason`. The worker
    calls this between claims, and so does reading bounces."""
    paused = []
    for campaign_id, reason in due_to_pause(shop):
        if Campaign.update(
                state="paused", paused_reason=reason[:255], updated_at=utcnow(),
                updated_by="worker", version=Campaign.version + 1).where(
                Campaign.id == campaign_id, Campaign.state == "sending").execute():
            paused.append((campaign_id, reason))
            events_log.event("campaign_paused", "worker", campaign=campaign_id, why=reason)
    return paused


def cancel(shop: Shop, actor: Actor, text: str) -> int:
    """Nothing more of it goes; how many mails were withdrawn."""
    require(actor, "newsletter")
    with db.atomic():
        row = find(text)
        _move(row, actor, ("draft", "scheduled", "sending", "paused"), "cancelled",
              finished_at=utcnow())
        return campaign_mail.cancel_rest(row.id, f"cancelled by {actor.login}")


def finish_done() -> list[int]:
    """Campaigns whose every recipient is written and none is left to go: sent."""
    done = []
    for row in Campaign.select().where(Campaign.state == "sending",
                                       Campaign.queued_all == True):  # noqa: E712
        if campaign_mail.pending(row.id) == 0:
            now = utcnow()
            if Campaign.update(state="sent", finished_at=now, updated_at=now).where(
                    Campaign.id == row.id, Campaign.state == "sending").execute():
                done.append(row.id)
                events_log.event("campaign_sent", "worker", campaign=row.id)
    return done
