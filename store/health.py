"""The shop's health, as `backroom status`, the app's status line and `GET /healthz` show it:
the oldest unsent mail (and webhook), failed and dead mails, the last backup's age and the
delivery workers' heartbeat, each red past its threshold in `[health]`.

    report = health_report(shop.config)        # a frozen HealthReport
    report.ok                                  # False when any signal is red
    report.as_dict()                           # JSON-ready, for /healthz and --format json

A read: a few indexed queries, cheap enough to run every few seconds on a million orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from peewee import fn

from store.config import Config
from store.models import BackupRecord, Heartbeat, Outbox, WebhookDelivery, mail_held, utcnow

UNSENT = ("queued", "sending")


@dataclass(frozen=True)
class Signal:
    """One thing the report measures: `value` in seconds (an age) or a count, None when
    there is nothing to measure; `text` as an operator reads it (`short`: in a status line,
    to the minute); `red` past `limit`."""

    key: str
    label: str
    value: float | None
    text: str
    red: bool
    limit: str
    short: str = ""


@dataclass(frozen=True)
class HealthReport:
    """The shop's health at `at` (UTC)."""

    at: dt.datetime
    oldest_unsent_mail: Signal
    oldest_unsent_webhook: Signal
    failed_mail: Signal
    dead_mail: Signal
    last_backup: Signal
    worker: Signal

    @property
    def signals(self) -> tuple[Signal, ...]:
        return (self.oldest_unsent_mail, self.oldest_unsent_webhook, self.failed_mail,
                self.dead_mail, self.last_backup, self.worker)

    @property
    def ok(self) -> bool:
        return not any(s.red for s in self.signals)

    @property
    def red(self) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.red)

    def as_dict(self) -> dict[str, Any]:
        """{"ok": ..., "at": ISO time, "signals": {key: {label, value, text, red, limit}}}."""
        return {"ok": self.ok, "at": self.at.isoformat() + "Z",
                "signals": {s.key: {k: v for k, v in asdict(s).items() if k != "key"}
                            for s in self.signals}}


def age_text(seconds: float) -> str:
    """An age the way a person says it: 45 s, 12 min, 3 h, 2 d."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def short_age(seconds: float) -> str:
    """An age to the minute, for a line that is read again every few seconds."""
    return "< 1 min" if seconds < 60 else age_text(max(seconds, 90))


def oldest_unsent(now: dt.datetime) -> tuple[dt.datetime | None, int]:
    """When the oldest mail still to send became due, and how many are due or sending. A
    mail held for the undo window is not due yet; one given back for a retry still waits
    since it first became due."""
    due = Outbox.state.in_(UNSENT) & ~mail_held(Outbox, now)
    since = fn.COALESCE(Outbox.hold_until, Outbox.created_at)
    row = Outbox.select(fn.MIN(since), fn.COUNT(Outbox.id)).where(due).tuples().first()
    if row is None or not row[1]:
        return None, 0
    first = row[0]
    if isinstance(first, str):  # SQLite hands back an aggregate of datetimes as text
        first = dt.datetime.fromisoformat(first)
    return first, int(row[1])


def _mail(config: Config, now: dt.datetime) -> Signal:
    minutes = int(config.get("health", "mail_stuck_minutes"))
    since, count = oldest_unsent(now)
    limit = f"red past {minutes} min"
    if since is None:
        return Signal("oldest_unsent_mail", "oldest unsent mail", None, "none waiting", False,
                      limit, "all sent")
    age = (now - since).total_seconds()
    return Signal("oldest_unsent_mail", "oldest unsent mail", round(age, 1),
                  f"{age_text(age)} ({count:,} waiting)", age > minutes * 60, limit,
                  f"{count:,} unsent, {short_age(age)}")


def _oldest_unsent_webhook(config: Config, now: dt.datetime) -> Signal:
    """The oldest webhook delivery still to go (queued or being sent), red past the same
    threshold as mail: an endpoint that stopped answering shows here before it is disabled."""
    minutes = int(config.get("health", "mail_stuck_minutes"))
    limit = f"red past {minutes} min"
    row = (WebhookDelivery.select(fn.MIN(WebhookDelivery.created_at),
                                  fn.COUNT(WebhookDelivery.id))
           .where(WebhookDelivery.state.in_(("queued", "sending"))).tuples().first())
    if row is None or not row[1]:
        return Signal("oldest_unsent_webhook", "oldest unsent webhook", None, "none waiting",
                      False, limit, "")
    first = row[0]
    if isinstance(first, str):  # SQLite hands back an aggregate of datetimes as text
        first = dt.datetime.fromisoformat(first)
    age = (now - first).total_seconds()
    return Signal("oldest_unsent_webhook", "oldest unsent webhook", round(age, 1),
                  f"{age_text(age)} ({int(row[1]):,} waiting)", age > minutes * 60, limit,
                  f"hooks {int(row[1]):,} unsent, {short_age(age)}")


def _counts(config: Config) -> tuple[Signal, Signal]:
    counts: dict[str, int] = dict(
        Outbox.select(Outbox.state, fn.COUNT(Outbox.id))  # type: ignore[arg-type]
        .where(Outbox.state.in_(("failed", "dead"))).group_by(Outbox.state).tuples())
    signals = []
    for state, key in (("failed", "failed_max"), ("dead", "dead_max")):
        most = int(config.get("health", key))
        count = int(counts.get(state, 0))
        signals.append(Signal(f"{state}_mail", f"{state} mails", count, f"{count:,}",
                              count > most, f"red past {most:,}", f"{count:,}"))
    return signals[0], signals[1]


def _backup(config: Config, now: dt.datetime) -> Signal:
    hours = float(config.get("health", "backup_max_hours"))
    last = BackupRecord.select().order_by(BackupRecord.id.desc()).first()
    limit = f"red past {hours:g} h" if hours else "not watched (health.backup_max_hours = 0)"
    if last is None:
        return Signal("last_backup", "last backup", None, "never", bool(hours), limit, "never")
    age = (now - last.created_at).total_seconds()
    name = str(last.file).rpartition("/")[2]
    return Signal("last_backup", "last backup", round(age, 1),
                  f"{age_text(age)} ago ({name}, {last.bytes / 1e6:,.1f} MB)",
                  bool(hours) and age > hours * 3600, limit, f"{short_age(age)} ago")


def _worker(config: Config, now: dt.datetime) -> Signal:
    most = float(config.get("health", "heartbeat_max_seconds"))
    limit = f"red past {most:g} s"
    rows: list[tuple[dt.datetime, dt.datetime | None, str]] = list(
        Heartbeat.select(Heartbeat.beat_at, Heartbeat.stopped_at, Heartbeat.kind)
        .order_by(Heartbeat.beat_at.desc()).limit(50).tuples())  # type: ignore[arg-type]
    if not rows:
        return Signal("worker", "worker heartbeat", None, "no worker has run", True, limit,
                      "none")
    fresh = now - dt.timedelta(seconds=most)
    running = [r for r in rows if r[1] is None and r[0] >= fresh]
    age = (now - rows[0][0]).total_seconds()
    if running:
        kinds = sorted({r[2] for r in running})
        text = f"{age_text(age)} ago ({len(running)} running: {', '.join(kinds)})"
        return Signal("worker", "worker heartbeat", round(age, 1), text, False, limit, "ok")
    if rows[0][1] is not None:
        text = f"stopped {age_text((now - rows[0][1]).total_seconds())} ago; none running"
    else:
        text = f"{age_text(age)} ago; none running (stopped without a word?)"
    return Signal("worker", "worker heartbeat", round(age, 1), text, True, limit,
                  "stopped" if rows[0][1] is not None else f"silent {short_age(age)}")


def health_report(config: Config, now: dt.datetime | None = None) -> HealthReport:
    """The report now (or at `now`, for a test). Plain reads, no transaction: on SQLite a
    transaction of backroom's takes the write lock, which a poll every few seconds must not."""
    now = now or utcnow()
    failed, dead = _counts(config)
    return HealthReport(now, _mail(config, now), _oldest_unsent_webhook(config, now),
                        failed, dead, _backup(config, now), _worker(config, now))
