"""Bounces and complaints read from a mailbox (store.bounce_reports' Reports), recorded. Each
is matched to the campaign mail it is about: by the returned original's Message-ID (ours,
checked against the mail's own; the address is then the one we sent to, as a provider may
hide it and a DSN may name where it was forwarded), else by its Feedback-ID's campaign and
the address, else by the address's last campaign mail. One bounce row per report and
address, so reading a mailbox twice counts nothing twice. A complaint or a hard bounce
suppresses the address for good at once; soft bounces do when newsletter.soft_bounce_limit
of them arrived within newsletter.soft_bounce_days. Campaigns whose rates went over their
threshold pause. A dry run decides the same and writes nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from store import campaigns, events_log, subscribers
from store.bounce_reports import Report
from store.models import Bounce, CampaignMail, Subscriber, db, utcnow
from store.operators import Actor, require
from store.shop import Shop

_OUR_MESSAGE_ID = re.compile(r"<c(\d+)\.(\d+)\.[0-9a-f]+@[^>]+>")
_FEEDBACK_ID = re.compile(r"(\d+):newsletter:backroom:")
_BACKROOM_MAIL = re.compile(r"campaign (\d+) (\d+)")
REASONS = {"hard": "hard bounce", "complaint": "complaint", "soft": "soft bounces"}


@dataclass(frozen=True)
class Outcome:
    """What became of one report's address."""

    email: str
    kind: str
    status: str
    campaign_id: int | None
    said: str  # suppressed (hard bounce), soft bounce 2 of 3 in 30 days, already read, ...


@dataclass
class BounceRun:
    outcomes: list[Outcome] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    paused: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        c = self.counts
        verb = "would be suppressed" if self.dry_run else "suppressed"
        text = (f"{c['reports']} report(s): {c['hard']} hard bounce(s), {c['soft']} soft, "
                f"{c['complaint']} complaint(s), {c['ignored']} ignored, {c['already']} "
                f"already read; {c['suppressed']} address(es) {verb}")
        for campaign_id, why in self.paused:
            text += f"\ncampaign #{campaign_id} {'would pause' if self.dry_run else why}"
        return text


def _campaign_hint(report: Report) -> int | None:
    for pattern, value in ((_FEEDBACK_ID, report.feedback_id),
                           (_BACKROOM_MAIL, report.backroom_mail)):
        found = pattern.match(value)
        if found:
            return int(found.group(1))
    return None


def _match(report: Report) -> tuple[str, int | None, int | None]:
    """(address, campaign id, campaign mail id) of a report: by our Message-ID first."""
    found = _OUR_MESSAGE_ID.fullmatch(report.message_id)
    if found:
        mail = CampaignMail.get_or_none(CampaignMail.id == int(found.group(2)))
        if mail is not None and mail.message_id == report.message_id:
            # the address we sent it to (a report may hide it, or name where it was forwarded)
            sub = (Subscriber.get_or_none(Subscriber.id == mail.subscriber_id)
                   if mail.subscriber_id is not None else None)
            address = sub.email if sub is not None and sub.email_key else report.email
            return address, int(mail.campaign_id), int(mail.id)
    key = report.email.strip().lower()
    sub = Subscriber.get_or_none(Subscriber.email_key == key) if key else None
    if sub is None:
        return report.email, _campaign_hint(report), None
    mails = CampaignMail.select().where(CampaignMail.subscriber == sub.id,
                                        CampaignMail.sent_at.is_null(False))
    hint = _campaign_hint(report)
    if hint is not None:
        mails = mails.where(CampaignMail.campaign == hint)
    last = mails.order_by(CampaignMail.sent_at.desc()).first()
    if last is None:
        return report.email, hint, None
    return report.email, int(last.campaign_id), int(last.id)


def record(shop: Shop, actor: Actor, reports: Iterable[Report],
           dry_run: bool = False) -> BounceRun:
    """Record the reports read from a mailbox (see the module's docstring)."""
    require(actor, "newsletter")
    news = shop.config["newsletter"]
    limit, days = int(news["soft_bounce_limit"]), int(news["soft_bounce_days"])
    run = BounceRun(dry_run=dry_run)
    now = utcnow()
    seen: set[tuple[str, str]] = set()
    soft_now: Counter[str] = Counter()
    suppressed_now: set[str] = set()
    with db.atomic():
        for report in reports:
            run.counts["reports"] += 1
            if not report.kind:
                run.counts["ignored"] += 1
                run.outcomes.append(Outcome(report.email, "", report.status, None,
                                            f"ignored: {report.detail}"))
                continue
            address, campaign_id, mail_id = _match(report)
            key = address.strip().lower()
            if not key:
                run.counts["ignored"] += 1
                run.outcomes.append(Outcome("", report.kind, report.status, campaign_id,
                                            "ignored: the report names no address, nor a "
                                            "mail of ours"))
                continue
            if (report.report_key, key) in seen or Bounce.select().where(
                    Bounce.report_key == report.report_key[:250],
                    Bounce.email_key == key).exists():
                run.counts["already"] += 1
                run.outcomes.append(Outcome(address, report.kind, report.status, campaign_id,
                                            "already read"))
                continue
            seen.add((report.report_key, key))
            run.counts[report.kind] += 1
            if not dry_run:
                Bounce.create(email_key=key, kind=report.kind, status=report.status[:250],
                              campaign=campaign_id, mail=mail_id,
                              report_key=report.report_key[:250], detail=report.detail,
                              created_at=now, updated_at=now)
            said = _suppress_if_due(actor, report, key, limit, days, now, dry_run, soft_now,
                                    suppressed_now)
            if said.startswith(("suppressed", "would be suppressed")):
                run.counts["suppressed"] += 1
            run.outcomes.append(Outcome(address, report.kind, report.status, campaign_id,
                                        said))
        if dry_run:
            run.paused = campaigns.due_to_pause(shop)
        else:
            run.paused = campaigns.pause_on_rates(shop)
    if not dry_run and run.counts["suppressed"]:
        events_log.event("bounces_read", actor.login, suppressed=run.counts["suppressed"],
                         reports=run.counts["reports"])
    return run


def _suppress_if_due(actor: Actor, report: Report, key: str, limit: int, days: int,
                     now: dt.datetime, dry_run: bool, soft_now: Counter[str],
                     suppressed_now: set[str]) -> str:
    """Suppress the address if this report makes it due; what to say of it."""
    already = key in suppressed_now or subscribers.suppression_of(key) is not None
    detail = f"{report.status} {report.detail}".strip()
    if report.kind == "soft":
        soft_now[key] += 1
        count = int(Bounce.select().where(
            Bounce.email_key == key, Bounce.kind == "soft",
            Bounce.created_at >= now - dt.timedelta(days=days)).count())
        count += soft_now[key] if dry_run else 0
        said = f"soft bounce {count} of {limit} in {days} days"
        if count < limit:
            return said
        detail = f"{count} soft bounces in {days} days, the last {detail}"
    else:
        said = REASONS[report.kind]
    if already:
        return f"{said}; already suppressed"
    suppressed_now.add(key)
    if dry_run:
        return f"would be suppressed ({said})"
    subscribers.suppress_address(actor, key, REASONS[report.kind], detail, now)
    return f"suppressed ({said})"
