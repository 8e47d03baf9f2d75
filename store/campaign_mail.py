"""The recipients of campaigns, an outbox of their own: the only module that changes a
campaign mail's state (campaign_mail rows).

    (audience) --queue_batch--> queued --claim--> sending --mark--> sent | queued (retry) |
    failed | dead;  queued --claim, no longer subscribed or suppressed--> skipped;
    queued/waiting --cancel_rest (the campaign cancelled)--> cancelled;
    sending, lease run out --claim--> sending (the worker that held it stopped);
    (an A/B test: outside the sample) waiting --release_waiting (the winner)--> queued

Recipients are written a batch at a time with INSERT ... SELECT from the audience, in
subscriber id order, the campaign's `queued_through` moved in the same transaction: a crash
resumes after the last batch, and the unique (campaign, subscriber) pair makes a second mail
to one recipient impossible. A claim takes only what the shop-wide bucket allows
(store.send_rate), never while a transactional mail is due (orders go first), and checks
consent and suppression again, skipping whoever left since the audience was written. A crash
between send and mark may resend one mail once, with the same Message-ID (as the outbox).

Written-out SQL (see store.sql): the INSERT ... SELECT of a batch, the claim's read of due
rows with their subscribers, and the UPDATE ... RETURNING that leases them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from store import audience, send_rate
from store.db import is_sqlite
from store.models import Campaign, CampaignMail, db, utcnow
from store.outbox import DeliveryStats, Outcome, backoff_delay
from store.shop import Shop
from store.sql import Params, id_source, id_value, named, stored_time


@dataclass(frozen=True)
class CampaignClaimed:
    """A campaign mail a worker holds the lease of, with what its merge tags need."""

    id: int
    campaign_id: int
    subscriber_id: int
    email: str
    first_name: str
    last_name: str
    attempts: int
    message_id: str
    variant: str = ""  # a or b in an A/B test: which subject


@dataclass(frozen=True)
class Claim:
    rows: tuple[CampaignClaimed, ...]
    skipped: int
    wait: float  # nothing claimed: how long until the bucket allows a send


# ----- writing the recipients ----------------------------------------------------------------

def queue_batch(shop: Shop, campaign_id: int, size: int) -> tuple[int, bool]:
    """Write the next `size` recipients of a campaign being sent (or paused) in one
    transaction; (rows written, all written now)."""
    now = utcnow()
    with db.atomic():
        p = Params()
        locked = db.execute_sql(
            f"UPDATE campaign SET updated_at = {p(stored_time(now))} WHERE id = {p(campaign_id)} "
            f"AND state IN ('sending', 'paused') AND NOT queued_all "
            f"RETURNING queued_through, audience, ab_sample", p).fetchone()
        if locked is None:
            return 0, True
        through, text, sample = int(locked[0]), str(locked[1]), int(locked[2])
        p = Params({"now": stored_time(now)})
        source = audience.where(shop, text, p)
        at = named("now")
        batch = f"SELECT s.id {source} AND s.id > {p(through)} ORDER BY s.id LIMIT {int(size)}"
        state, variant = "'queued'", "''"
        if sample:  # an A/B test: a fixed pseudo-random sample, split in two by id
            mod = "%" if is_sqlite() else "%%"  # psycopg2's placeholders are %(name)s
            inside = f"({{ids}} * 7919) {mod} 100 < {int(sample)}"
            state = f"CASE WHEN {inside} THEN 'queued' ELSE 'waiting' END"
            variant = (f"CASE WHEN {inside} THEN (CASE WHEN {{ids}} {mod} 2 = 0 THEN 'a' "
                       "ELSE 'b' END) ELSE '' END")
        insert = ("INSERT INTO campaign_mail (created_at, updated_at, campaign_id, "
                  "subscriber_id, state, attempts, next_attempt_at, lease_owner, message_id, "
                  f"last_error, variant) SELECT {at}, {at}, {p(campaign_id)}, {{ids}}, {state}, "
                  f"0, {at}, '', '', '', {variant} FROM {{rows}} "
                  "ON CONFLICT (campaign_id, subscriber_id) DO NOTHING")
        if is_sqlite():  # two statements: the batch's last id, then its rows
            last = db.execute_sql(f"SELECT MAX(id) FROM ({batch}) AS batch", p).fetchone()[0]
            written = 0
            if last is not None:
                rows = f"{source[len('FROM '):]} AND s.id > {p(through)} AND s.id <= {p(last)}"
                written = int(db.execute_sql(insert.replace("{ids}", "s.id").replace(
                    "{rows}", rows), p).rowcount)
        else:  # one statement, one walk of the audience: the batch, written, and its last id
            last, written = db.execute_sql(
                f"WITH batch AS MATERIALIZED ({batch}), written AS ("
                + insert.replace("{ids}", "batch.id").replace("{rows}", "batch")
                + " RETURNING 1) "
                "SELECT (SELECT MAX(id) FROM batch), (SELECT COUNT(*) FROM written)",
                p).fetchone()
        if last is None:
            Campaign.update(queued_all=True).where(Campaign.id == campaign_id).execute()
            return 0, True
        written = int(written)
        Campaign.update(queued_through=int(last), recipients=Campaign.recipients + written).where(
            Campaign.id == campaign_id).execute()
    return written, False


def queue_all(shop: Shop, campaign_id: int) -> int:
    """Write every recipient not yet written, batch after batch; how many were written."""
    size = int(shop.config.get("newsletter", "recipients_batch"))
    total = 0
    while True:
        written, done = queue_batch(shop, campaign_id, size)
        total += written
        if done:
            return total


def cancel_rest(campaign_id: int, reason: str) -> int:
    """The campaign was cancelled: what has not gone is never sent."""
    return int(CampaignMail.update(state="cancelled", last_error=reason, updated_at=utcnow())
               .where(CampaignMail.campaign == campaign_id,
                      CampaignMail.state.in_(["queued", "waiting"])).execute())


def pending(campaign_id: int) -> int:
    """Mails of the campaign still to go (queued, being sent, or waiting for an A/B test)."""
    return int(CampaignMail.select().where(
        CampaignMail.campaign == campaign_id,
        CampaignMail.state.in_(["queued", "sending", "waiting"])).count())


def sample_pending(campaign_id: int) -> int:
    """Mails of an A/B test's sample not yet tried (its winner waits for them)."""
    return int(CampaignMail.select().where(
        CampaignMail.campaign == campaign_id, CampaignMail.variant != "",
        CampaignMail.state.in_(["queued", "sending"])).count())


def release_waiting(campaign_id: int, winner: str) -> int:
    """An A/B test decided: the rest of the audience is due now, with the winning subject."""
    now = utcnow()
    return int(CampaignMail.update(state="queued", variant=winner, next_attempt_at=now,
                                   updated_at=now)
               .where(CampaignMail.campaign == campaign_id, CampaignMail.state == "waiting")
               .execute())


# ----- claiming ------------------------------------------------------------------------------

def _transactional_due(now: dt.datetime) -> bool:
    p = Params({"now": stored_time(now)})
    at = named("now")
    return db.execute_sql(
        "SELECT 1 FROM outbox WHERE state = 'queued' AND next_attempt_at <= "
        f"{at} AND (hold_until IS NULL OR hold_until <= {at}) LIMIT 1",
        p).fetchone() is not None


def claim(owner: str, limit: int, lease_seconds: float, rate: float,
          domain: str = "backroom", caps: Mapping[str, float] | None = None) -> Claim:
    """Lease due mails of campaigns being sent, as many as the bucket allows and at most
    `limit`; none while a transactional mail is due. Whoever is no longer subscribed, or is
    suppressed, is skipped here (consent is checked at claim, not only when the audience was
    written). `caps` (recipient domain -> mails a second) hold a domain's mails back past
    what its own bucket allows: those wait their turn, and the rest go on meanwhile."""
    now = utcnow()
    # read first, outside any write transaction: an idle worker takes no write lock
    sending = [int(c.id) for c in Campaign.select(Campaign.id).where(
        Campaign.state == "sending").order_by(Campaign.id)]
    if not sending:
        return Claim((), 0, 1.0)
    if _transactional_due(now):
        return Claim((), 0, 0.2)
    with db.atomic():
        if _transactional_due(now):
            return Claim((), 0, 0.2)
        _release_lapsed(sending, now)
        candidates: list[tuple[int, bool, str]] = []
        want = max(1, min(limit, int(max(1.0, rate))))
        for campaign_id in sending:
            p = Params({"now": stored_time(now)})
            at = named("now")
            rows = db.execute_sql(
                f"SELECT m.id, (s.id IS NOT NULL AND s.state = 'subscribed' AND s.email_key IS "
                f"NOT NULL AND NOT EXISTS (SELECT 1 FROM suppression x WHERE x.email_key = "
                f"s.email_key)), s.email FROM campaign_mail m LEFT JOIN subscriber s ON s.id = "
                f"m.subscriber_id WHERE m.campaign_id = {p(campaign_id)} AND m.state = 'queued' "
                f"AND m.next_attempt_at <= {at} ORDER BY m.next_attempt_at, m.id "
                f"LIMIT {want - len(candidates)}"
                + ("" if is_sqlite() else " FOR UPDATE OF m SKIP LOCKED"), p).fetchall()
            candidates += [(int(r[0]), bool(r[1]), _domain_of(r[2])) for r in rows]
            if len(candidates) >= want:
                break
        gone = [i for i, ok, _ in candidates if not ok]
        if gone:
            _set(gone, "skipped", "not subscribed any more (or suppressed) when its turn came",
                 now)
        eligible, held_for = _within_caps([(i, d) for i, ok, d in candidates if ok],
                                          caps or {}, now)
        if not eligible:
            return Claim((), len(gone), 0.0 if gone else held_for)
        grant = send_rate.take(rate, len(eligible), now)
        _give_back(eligible[grant.count:], caps or {})
        if not grant.count:
            return Claim((), len(gone), grant.wait)
        leased = _lease([i for i, _ in eligible[:grant.count]], owner, lease_seconds, domain,
                        now)
    return Claim(leased, len(gone), 0.0)


def _domain_of(email: object) -> str:
    return str(email or "").rpartition("@")[2].lower()


def _within_caps(eligible: list[tuple[int, str]], caps: Mapping[str, float],
                 now: dt.datetime) -> tuple[list[tuple[int, str]], float]:
    """The mails their domain's bucket lets go now; the others are due again when it has
    room (so the next claims take other domains' mails meanwhile). Also how long until the
    first of those held is due, for a claim that leaves nothing to send."""
    wanted: dict[str, list[int]] = {}
    for mail_id, domain in eligible:
        if domain in caps:
            wanted.setdefault(domain, []).append(mail_id)
    held: set[int] = set()
    first_due = 1.0
    for domain, ids in wanted.items():
        rate = caps[domain]
        grant = send_rate.take(rate, len(ids), now, send_rate.domain_bucket(domain))
        later = ids[grant.count:]
        if later:
            wait = max(grant.wait, 1.0 / rate)
            first_due = min(first_due, wait)
            held.update(later)
            CampaignMail.update(next_attempt_at=now + dt.timedelta(seconds=wait),
                                updated_at=now).where(CampaignMail.id.in_(later)).execute()
    return [(i, d) for i, d in eligible if i not in held], first_due


def _give_back(unsent: list[tuple[int, str]], caps: Mapping[str, float]) -> None:
    """Sends a domain's bucket granted that the shop-wide bucket then held back."""
    counts: dict[str, int] = {}
    for _, domain in unsent:
        if domain in caps:
            counts[domain] = counts.get(domain, 0) + 1
    for domain, count in counts.items():
        send_rate.give_back(send_rate.domain_bucket(domain), count, caps[domain])


def _release_lapsed(campaigns: list[int], now: dt.datetime) -> None:
    """Mails left "sending" by a worker that stopped: due again (their Message-ID kept)."""
    CampaignMail.update(state="queued", lease_owner="", lease_until=None, next_attempt_at=now) \
        .where(CampaignMail.campaign.in_(campaigns), CampaignMail.state == "sending",
               CampaignMail.lease_until < now).execute()


def _set(ids: Sequence[int], state: str, reason: str, now: dt.datetime) -> None:
    CampaignMail.update(state=state, last_error=reason, updated_at=now).where(
        CampaignMail.id.in_(list(ids))).execute()


def _lease(ids: Sequence[int], owner: str, lease_seconds: float, domain: str,
           now: dt.datetime) -> tuple[CampaignClaimed, ...]:
    p = Params({"ids": id_value(ids)})
    suffix = f".{uuid.uuid4().hex[:12]}@{domain}>"
    until = stored_time(now + dt.timedelta(seconds=lease_seconds))
    db.execute_sql(
        f"UPDATE campaign_mail SET state = 'sending', lease_owner = {p(owner)}, "
        f"lease_until = {p(until)}, attempts = attempts + 1, updated_at = {p(stored_time(now))}, "
        f"message_id = CASE WHEN message_id = '' THEN '<c' || CAST(campaign_id AS TEXT) || '.' "
        f"|| CAST(id AS TEXT) || {p(suffix)} ELSE message_id END "
        f"WHERE id IN (SELECT value FROM {id_source('ids')}) AND state = 'queued'", p)
    p = Params({"ids": id_value(ids)})
    rows = db.execute_sql(
        f"SELECT m.id, m.campaign_id, s.id, s.email, COALESCE(NULLIF(c.first_name, ''), "
        f"s.first_name), COALESCE(NULLIF(c.last_name, ''), s.last_name), m.attempts, "
        f"m.message_id, m.variant FROM campaign_mail m JOIN subscriber s ON s.id = "
        f"m.subscriber_id "
        f"LEFT JOIN customer c ON c.id = s.customer_id WHERE m.id IN (SELECT value FROM "
        f"{id_source('ids')}) AND m.lease_owner = {p(owner)} AND m.state = 'sending' "
        f"ORDER BY m.id", p).fetchall()
    return tuple(CampaignClaimed(int(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4] or ""),
                                 str(r[5] or ""), int(r[6]), str(r[7]), str(r[8])) for r in rows)


# ----- recording -----------------------------------------------------------------------------

def release(ids: Sequence[int], owner: str) -> int:
    """Give back mails claimed but not tried (a clean stop)."""
    if not ids:
        return 0
    with db.atomic():
        return int(CampaignMail.update(state="queued", lease_until=None, lease_owner="",
                                       attempts=CampaignMail.attempts - 1, updated_at=utcnow())
                   .where(CampaignMail.id.in_(list(ids)), CampaignMail.lease_owner == owner,
                          CampaignMail.state == "sending").execute())


def mark(outcomes: Sequence[Outcome], owner: str, max_attempts: int, backoff: float,
         stats: DeliveryStats | None = None) -> DeliveryStats:
    """Record what became of claimed mails; only rows this worker still holds are touched."""
    stats = stats if stats is not None else DeliveryStats()
    now = utcnow()
    sent = [o.id for o in outcomes if o.result == "sent"]
    with db.atomic():
        if sent:
            stats.sent += CampaignMail.update(
                state="sent", sent_at=now, updated_at=now, last_error="", lease_until=None,
                lease_owner="").where(CampaignMail.id.in_(sent), CampaignMail.lease_owner == owner,
                                      CampaignMail.state == "sending").execute()
        for o in outcomes:
            if o.result == "sent":
                continue
            changes: dict[str, object] = {"lease_until": None, "lease_owner": "",
                                          "updated_at": now}
            if o.result == "released":
                changes.update(state="queued", attempts=CampaignMail.attempts - 1,
                               next_attempt_at=now)
                stats.released += 1
            elif o.result == "permanent":
                changes.update(state="failed", last_error=o.error[:2000])
                stats.failed += 1
            elif o.attempts >= max_attempts:
                changes.update(state="dead", last_error=(
                    f"gave up after {o.attempts} attempts: {o.error}")[:2000])
                stats.dead += 1
            else:
                changes.update(state="queued", last_error=o.error[:2000],
                               next_attempt_at=now + dt.timedelta(
                                   seconds=backoff_delay(o.attempts, backoff)))
                stats.retried += 1
            CampaignMail.update(**changes).where(  # type: ignore[arg-type]
                CampaignMail.id == o.id, CampaignMail.lease_owner == owner,
                CampaignMail.state == "sending").execute()
    return stats
