"""What a delivery worker writes about itself: its heartbeat (one row per worker process,
renewed every `health.heartbeat_seconds`, marked stopped on a clean stop), and the alert
mail to the shop's admins when mail has been stuck past `health.mail_stuck_minutes`.

The alert goes once per episode, however many workers beat: the first worker to see mail
stuck flips `ops_alert.raised_at` from empty to now with a conditional UPDATE (one of them
wins; the others change no row), and only that one queues the mail, in the same
transaction. When mail flows again the alert is cleared, so the next episode mails again."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from store import events_log
from store.config import Config
from store.health import oldest_unsent
from store.models import Heartbeat, OpsAlert, db, utcnow
from store.outbox import Mail, enqueue

KEEP_DAYS = 7  # heartbeats of workers gone this long are deleted
MAIL_STUCK = "mail_stuck"


def beat(name: str, kind: str = "worker", now: dt.datetime | None = None) -> None:
    """Record that worker `name` (its lease owner) is alive now; a first beat also forgets
    workers gone for a week."""
    now = now or utcnow()
    with db.atomic():
        changed = (Heartbeat.update(beat_at=now, updated_at=now, stopped_at=None)
                   .where(Heartbeat.name == name).execute())
        if changed:
            return
        Heartbeat.delete().where(Heartbeat.beat_at < now - dt.timedelta(days=KEEP_DAYS)).execute()
        Heartbeat.insert(name=name, kind=kind, host=socket.gethostname()[:200], pid=os.getpid(),
                         started_at=now, beat_at=now, created_at=now, updated_at=now
                         ).on_conflict_ignore().execute()


def stopped(name: str, now: dt.datetime | None = None) -> None:
    """Worker `name` stopped cleanly (SIGTERM, the app quit)."""
    now = now or utcnow()
    with db.atomic():
        Heartbeat.update(stopped_at=now, beat_at=now, updated_at=now).where(
            Heartbeat.name == name).execute()


def alert_recipients(config: Config) -> list[str]:
    """shop.admin_emails, else the shop's own address."""
    admins = [str(a) for a in config.get("shop", "admin_emails") if a]
    return admins or [str(config.get("shop", "email"))]


def check_stuck_mail(config: Config, now: dt.datetime | None = None) -> str:
    """Raise the stuck-mail alert (queuing its mail) when the oldest unsent mail has waited
    past the threshold and no alert is raised yet, or clear it when mail flows again.
    Returns "raised", "cleared" or "" (nothing changed)."""
    now = now or utcnow()
    minutes = int(config.get("health", "mail_stuck_minutes"))
    since, count = oldest_unsent(now)
    with db.atomic():
        OpsAlert.insert(key=MAIL_STUCK, created_at=now, updated_at=now).on_conflict_ignore() \
            .execute()
        if since is None or now - since <= dt.timedelta(minutes=minutes):
            changed = _clear(now)
            what = "cleared"
        else:
            changed = _raise(config, now, since, count, minutes)
            what = "raised"
    if not changed:
        return ""
    events_log.event(f"alert_{what}", "backroom", alert=MAIL_STUCK, unsent=count)
    return what


def _clear(now: dt.datetime) -> bool:
    return bool(OpsAlert.update(raised_at=None, cleared_at=now, updated_at=now)
                .where(OpsAlert.key == MAIL_STUCK, OpsAlert.raised_at.is_null(False))
                .execute())


def _raise(config: Config, now: dt.datetime, since: dt.datetime, count: int,
           minutes: int) -> bool:
    """Flip the alert to raised and queue its mail, unless another worker did first."""
    waited = int((now - since).total_seconds() // 60)
    detail = f"{count} mail(s) waiting, the oldest for {waited} min"
    raised = (OpsAlert.update(raised_at=now, updated_at=now, detail=detail)
              .where(OpsAlert.key == MAIL_STUCK, OpsAlert.raised_at.is_null()).execute())
    if not raised:
        return False
    stamp = f"{now:%Y%m%dT%H%M%S}:{uuid.uuid4().hex[:8]}"
    payload = {"minutes": waited, "unsent": count, "threshold": minutes,
               "since": since.strftime("%Y-%m-%d %H:%M UTC")}
    language = str(config.get("shop", "language"))
    enqueue([Mail("merchant_mail_stuck", address, f"alert:{MAIL_STUCK}:{stamp}:{address}",
                  language, payload) for address in alert_recipients(config)])
    return True
