"""`python -m bench.newsletter [--quick] [--database postgresql://...]`: the newsletter's bulk
writes beside raw floors in the same run, on a scratch database of their own (a SQLite file
under bench/data/, or an empty PostgreSQL database given), medians of interleaved rounds
(each contestant's rows are removed between rounds, untimed).

- Queuing a campaign to 100,000 subscribers (store.campaign_mail.queue_all: INSERT ...
  SELECT from the audience in batches of newsletter.recipients_batch, each its own
  transaction, resumable) beside one raw `INSERT ... SELECT` of the same rows on a bare
  connection. Target <= 2x; the process's peak memory queuing 100,000 <= 1.2x queuing
  10,000 (the high-water mark of resident memory, as the export is measured; Python's own
  peak from tracemalloc is shown beside it).
- Importing 100,000 subscribers from a CSV file (store.subscriber_import: read, check each
  address and its consent, write) beside csv.reader + a raw executemany of the same rows.
  Target <= 2x.
- A campaign's report (store.campaign_report: its mails by state, bounces, opens and clicks
  of people and machines, unsubscribed, conversions over 5,000 orders of its recipients)
  over 1,000,000 events (200,000 with --quick) beside one raw aggregate of those events
  (kind, machine, count, distinct mails) on a bare connection. Target <= 1.5x.
- Sending (`--send` runs only this): a campaign's mails (mailer.campaigns: claim from the
  shop-wide bucket, newsletter.max_per_second at its highest, fill the merge tags, send,
  mark) to a loopback aiosmtpd in a child process, beside the transactional mails of
  bench/mail.py (the outbox's claim, render, send, mark) to the same relay over as many
  connections, in the same run, medians of interleaved rounds. Target >= 0.8x.

--quick: 10,000 subscribers imported and queued (memory: beside 1,000), 200,000 events, 400
mails sent, 3 rounds (else 5)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Raw
from bench.data import DATA_DIR

QUEUE_TARGET = 2.0
IMPORT_TARGET = 2.0
MEMORY_TARGET = 1.2
REPORT_TARGET = 1.5
SEND_TARGET = 0.8
SEND_BODY = "Hello {firstname|there},\n\n" + "Thank you for reading our news this month.\n\n" * 20
RAW_REPORT = ("SELECT kind, machine, COUNT(*), COUNT(DISTINCT mail_id) FROM campaign_event "
              "WHERE campaign_id = ? GROUP BY kind, machine")
RAW_QUEUE = (
    "INSERT INTO campaign_mail (created_at, updated_at, campaign_id, subscriber_id, state, "
    "attempts, next_attempt_at, lease_owner, message_id, last_error) "
    "SELECT ?, ?, ?, s.id, 'queued', 0, ?, '', '', '' FROM subscriber s "
    "WHERE s.state = 'subscribed' AND s.email_key IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM suppression x WHERE x.email_key = s.email_key) ORDER BY s.id")
RAW_IMPORT = (
    "INSERT INTO subscriber (email, email_key, first_name, last_name, language, state, "
    "consent_source, consent_at, consent_text, added_by, created_at, updated_at, state_how) "
    "VALUES (?, ?, ?, ?, 'en', 'subscribed', 'import', ?, ?, 'bench', ?, ?, '')")



def _high_water_mb() -> float:
    """This process's peak resident memory since the last reset (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")

def rounds_of(contestants: list[tuple[Callable[[], Any], Callable[[], Any]]], rounds: int
              ) -> list[float]:
    """Median ms of each (setup, run) pair over interleaved rounds; setups are not timed."""
    samples: list[list[float]] = [[] for _ in contestants]
    for _ in range(rounds):
        for i, (setup, run) in enumerate(contestants):
            setup()
            started = time.perf_counter()
            run()
            samples[i].append((time.perf_counter() - started) * 1000)
    return [statistics.median(s) for s in samples]


def _line(name: str, ours: float, floor: float, target: float) -> bool:
    ratio = ours / floor if floor else float("inf")
    met = ratio <= target
    print(f"{name}: backroom {ours:,.0f} ms beside raw {floor:,.0f} ms ({ratio:.2f}x), "
          f"target <= {target:g}x, {'met' if met else 'MISSED'}")
    return met


def _scratch(url: str | None) -> str:
    if url:
        return url
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "newsletter.db"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Email", "First name", "Last name", "Consent", "Consent date"])
        for i in range(count):
            out.writerow([f"reader{i:06d}@example.com", f"First{i}", f"Last{i}", "yes",
                          "2025-03-01 10:00"])


def main(quick: bool = False, database: str | None = None) -> tuple[int, int]:
    from store import campaign_mail, campaigns, subscriber_import
    from store import db as dbmod
    from store.config import from_mapping
    from store.models import Campaign, CampaignMail, Subscriber, db, utcnow
    from store.operators import ensure_admin
    from store.shop import open_shop

    count = 10_000 if quick else 100_000
    small = count // 10
    rounds = 3 if quick else 5
    url = _scratch(database)
    shop = open_shop(from_mapping({"database": {"url": url}, "newsletter": {
        "secret": "bench-secret-0123456789abcdef"}}, "bench", environ={}))
    if Subscriber.select().exists():
        raise SystemExit(f"{dbmod.redact(url)} is not empty: give an empty database")
    admin = ensure_admin("bench")
    raw = Raw(url)
    csv_path = DATA_DIR / f"newsletter-{count}.csv"
    _write_csv(csv_path, count)
    met = 0

    # ----- importing ------------------------------------------------------------------------
    def clear() -> None:
        CampaignMail.delete().execute()
        Subscriber.delete().execute()

    def ours_import() -> None:
        report = subscriber_import.import_subscribers(shop, admin, csv_path, "bench list")
        assert report.added == count, report.summary()

    def raw_import() -> None:
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            now = str(utcnow())
            rows = [(email, email.lower(), first, last, at, "bench list", now, now)
                    for email, first, last, _consent, at in reader]
        raw.run("BEGIN")
        raw.many(RAW_IMPORT, rows)
        raw.run("COMMIT")

    ours, floor = rounds_of([(clear, ours_import), (clear, raw_import)], rounds)
    met += _line(f"import {count:,} subscribers from CSV", ours, floor, IMPORT_TARGET)

    # ----- queuing ----------------------------------------------------------------------------
    clear()
    ours_import()
    campaign = campaigns.create_campaign(shop, admin, name="bench", subject="Bench",
                                         body="Hello {firstname|there}")

    def reset() -> None:
        CampaignMail.delete().execute()
        Campaign.update(state="sending", queued_through=0, queued_all=False, recipients=0) \
            .where(Campaign.id == campaign.id).execute()

    def ours_queue() -> None:
        assert campaign_mail.queue_all(shop, campaign.id) == count

    def raw_queue() -> None:
        now = str(utcnow())
        raw.run("BEGIN")
        raw.run(RAW_QUEUE, (now, now, campaign.id, now))
        raw.run("COMMIT")

    ours, floor = rounds_of([(reset, ours_queue), (reset, raw_queue)], rounds)
    met += _line(f"queue a campaign to {count:,} subscribers", ours, floor, QUEUE_TARGET)

    def peak() -> tuple[float, float]:
        """The process's peak resident memory while queuing (Linux's VmHWM, reset first) and
        Python's own peak (tracemalloc), in MB; the same measure as the export's."""
        reset()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # the high-water mark starts again from what is resident now
        tracemalloc.start()
        campaign_mail.queue_all(shop, campaign.id)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return _high_water_mb(), top / 1e6

    big, big_python = peak()
    Subscriber.update(state="unsubscribed").where(Subscriber.id > Subscriber.select(
        Subscriber.id).order_by(Subscriber.id).offset(small - 1).limit(1)).execute()
    little, little_python = peak()
    ok = big <= MEMORY_TARGET * little
    print(f"  peak memory queuing: {big:.0f} MB for {count:,}, {little:.0f} MB for {small:,} "
          f"({big / little:.2f}x), target <= {MEMORY_TARGET}x, {'met' if ok else 'MISSED'} "
          f"(of it Python's own: {big_python * 1000:.0f} KB and {little_python * 1000:.0f} KB)")
    met += ok

    # ----- a report over a million events -----------------------------------------------------
    from store.campaign_report import campaign_report
    from store.models import Order

    events = 200_000 if quick else 1_000_000
    reset()
    campaign_mail.queue_all(shop, campaign.id)
    Campaign.update(state="sent", track=True).where(Campaign.id == campaign.id).execute()
    first_mail = CampaignMail.select(CampaignMail.id).order_by(CampaignMail.id).first().id
    mails = CampaignMail.select().count()
    now = utcnow()
    # 80% opens, 20% clicks over three links; one in five a machine's; spread over the mails
    numbers = (f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < "
               f"{events - 1}) " if raw.sqlite else "")
    source = "n" if raw.sqlite else f"generate_series(0, {events - 1}) AS n(i)"
    raw.run("BEGIN")
    raw.run(f"{numbers}INSERT INTO campaign_event (created_at, updated_at, campaign_id, "
            "mail_id, kind, link, machine, why) SELECT ?, ?, ?, ? + ((i / 10) % ?), "
            "CASE WHEN i % 10 < 8 THEN 'open' ELSE 'click' END, "
            "CASE WHEN i % 10 < 8 THEN -1 ELSE i % 3 END, "
            f"(i % 5 = 0), '' FROM {source}",
            (str(now), str(now), campaign.id, first_mail, mails))
    raw.run("COMMIT")
    Order.insert_many([
        {"number": 900_000 + i, "code": f"BENCH-{i}", "status": "paid", "currency": "EUR",
         "customer_email": f"reader{i * 7 % mails:06d}@example.com", "total": 1000 + i,
         "placed_at": now + dt.timedelta(days=1)} for i in range(5_000)]).execute()
    raw.run("ANALYZE")

    def ours_report() -> None:
        report = campaign_report(shop, admin, "bench")
        assert report.tracked is not None and report.orders > 0

    def raw_report() -> None:
        assert raw.all(RAW_REPORT, (campaign.id,))

    ours, floor = rounds_of([(lambda: None, ours_report), (lambda: None, raw_report)], rounds)
    met += _line(f"a campaign's report over {events:,} events", ours, floor, REPORT_TARGET)
    raw.close()
    db.close()
    csv_path.unlink(missing_ok=True)
    met += sending(quick)  # on SQLite, as bench/mail.py
    return met, 5


def sending(quick: bool = False) -> bool:
    """Campaign mail rate beside transactional mail rate, the same relay and run; printed."""
    import asyncio
    import multiprocessing
    import tempfile

    from bench import mail as mailbench
    from mailer.campaigns import CampaignSender
    from store import campaigns
    from store import db as dbmod
    from store.models import Campaign, CampaignMail, SendRate, Subscriber, db, utcnow
    from store.operators import ensure_admin

    count = 400 if quick else 2000
    rounds = 3 if quick else 5
    port = mailbench._free_port()
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    server = ctx.Process(target=mailbench._serve, args=(port, ready, stop), daemon=True)
    server.start()
    ours, theirs = mailbench.Figure(), mailbench.Figure()
    try:
        if not ready.wait(60):
            raise SystemExit("bench/newsletter: the SMTP server did not start")
        with tempfile.TemporaryDirectory() as tmp:
            dbmod.close()
            config, shop = mailbench._shop(port, count, Path(tmp), newsletter={
                "secret": "bench-secret-0123456789abcdef", "max_per_second": 10_000.0,
                "public_url": "https://news.bench.test"})
            now = utcnow()
            Subscriber.insert_many([
                {"email": f"reader{i:06d}@example.com", "email_key": f"reader{i:06d}@example.com",
                 "first_name": f"First{i}", "last_name": f"Last{i}", "state": "subscribed",
                 "consent_source": "import", "consent_at": now, "consent_text": "bench",
                 "created_at": now, "updated_at": now} for i in range(count)]).execute()
            admin = ensure_admin("bench")
            campaigns.create_campaign(shop, admin, name="send", subject="News, {firstname}",
                                      body=SEND_BODY)
            campaigns.start(shop, admin, "send")

            def requeue_campaign() -> None:
                at = utcnow()
                CampaignMail.update(state="queued", attempts=0, sent_at=None, lease_owner="",
                                    lease_until=None, next_attempt_at=at).execute()
                Campaign.update(state="sending").execute()
                SendRate.delete().execute()

            def campaign_round() -> None:
                asyncio.run(CampaignSender(shop).run(once=True))
                sent = CampaignMail.select().where(CampaignMail.state == "sent").count()
                if sent != count:
                    raise SystemExit(f"bench/newsletter: only {sent} of {count} campaign "
                                     "mails sent")

            for i in range(rounds):
                if i:  # the campaign's first round starts from the queue start() wrote
                    requeue_campaign()
                mailbench._requeue()  # the outbox sent first: a due order mail holds campaigns
                mailbench._timed(theirs, count, lambda: mailbench._backroom(config, shop, count))
                mailbench._timed(ours, count, campaign_round)
            db.close()
    finally:
        stop.set()
        server.join(10)
    met = mailbench._line(f"send a campaign ({count} mails, {mailbench.CONNECTIONS} "
                          "connections)", ours, theirs, "transactional mail (bench/mail.py)",
                          SEND_TARGET)
    mailbench._rounds("campaign", ours)
    mailbench._rounds("transactional", theirs)
    return met


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.newsletter", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", metavar="URL", help="an empty postgresql://... database")
    parser.add_argument("--send", action="store_true", help="only the sending rate")
    args = parser.parse_args()
    if args.send:
        done, total = int(sending(args.quick)), 1
    else:
        done, total = main(args.quick, args.database)
    print(f"bench: {done} of {total} targets met")
    sys.exit(0)
