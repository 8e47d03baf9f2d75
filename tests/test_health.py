"""Health you can see: `backroom status` (and the app's line) turns each signal red past its
threshold, exercised with a real worker that beats and then stops; the stuck-mail alert goes
to the admins once per episode; the event log names the operator and the order code and
nothing personal."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from store import backup as backupmod
from store import customers, events_log, heartbeat, outbox, payments, status, webhooks
from store import db as dbmod
from store.config import Config
from store.health import health_report
from store.models import Heartbeat, OpsAlert, Outbox, utcnow
from store.operators import Actor
from store.shop import Shop, open_shop
from tests.conftest import OWNER, cli_config, make_config
from tests.factories import place
from tests.mail_server import Server, parts, wait_for
from tests.test_mail_worker import start_worker, worker_config
from tests.tui_support import make_app, settle
from tui.cli import main
from tui.widgets.health_line import HealthLine

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server().start()
    yield server
    server.stop()


def _status(tmp_path: Path, url: str, *args: str):  # type: ignore[no-untyped-def]
    config = tmp_path / "status.toml"
    config.write_text(tomli_w.dumps(cli_config(url)))
    dbmod.close()
    result = CliRunner().invoke(main, ["--config", str(config), "status", *args],
                                env={"BACKROOM_OPERATOR": "ada"})
    dbmod.close()
    return result


def _red(config: Config, now: dt.datetime | None = None) -> set[str]:
    return {s.key for s in health_report(config, now).red}


@pytest.mark.slow
def test_thresholds_with_a_worker_that_beats_then_stops(db_url: str, tmp_path: Path,
                                                        smtp: Server) -> None:
    shop = open_shop(make_config(db_url))
    from store import operators

    admin = operators.ensure_admin("ada")
    config = shop.config
    assert _red(config) == {"worker", "last_backup"}  # no worker ever ran, no backup made
    backupmod.backup(shop, admin, tmp_path / "backups")
    place(shop, email="ann@example.com")  # the customer's mail and the shop's notice
    now = utcnow()
    assert _red(config, now + 31 * MINUTE) == {"worker", "oldest_unsent_mail"}

    path = worker_config(tmp_path, db_url, smtp.port)
    worker_settings = tomllib.loads(path.read_text())  # runs as a service account, as under
    worker_settings["operators"] = {"service_accounts": [OWNER]}  # systemd
    path.write_text(tomli_w.dumps(worker_settings))
    worker = start_worker(path)
    try:
        wait_for(lambda: Outbox.select().where(Outbox.state == "sent").count() == 2,
                 what="the mails sent")
        wait_for(lambda: Heartbeat.select().where(Heartbeat.stopped_at.is_null()).exists(),
                 what="the worker's heartbeat")
        report = health_report(config)
        assert report.ok, report.red
        assert report.worker.text.endswith("(1 running: worker)")
        assert report.oldest_unsent_mail.text == "none waiting"
        # the same report past the heartbeat threshold: a worker that hung or was killed
        later = health_report(config, utcnow() + dt.timedelta(seconds=121))
        assert [s.key for s in later.red] == ["worker"]
        assert later.worker.text.endswith("none running (stopped without a word?)")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    stopped = health_report(config)
    assert [s.key for s in stopped.red] == ["worker"]
    assert stopped.worker.text.startswith("stopped ") and stopped.worker.short == "stopped"

    result = _status(tmp_path, db_url)
    assert result.exit_code == 1
    lines = {line.split("  ")[0]: line for line in result.output.splitlines()}
    assert "RED" in lines["worker heartbeat"] and "red past 120 s" in lines["worker heartbeat"]
    assert " ok " in lines["last backup"] and "red past 26 h" in lines["last backup"]
    shown = json.loads(_status(tmp_path, db_url, "--format", "json").output)
    assert shown["ok"] is False and shown["signals"]["worker"]["red"] is True
    assert shown["signals"]["oldest_unsent_webhook"]["text"] == "none waiting"

    # failed and dead mails, and the backup's age, against their own thresholds
    shop = open_shop(make_config(db_url))
    place(shop, email="bob@example.com")
    claimed = outbox.claim("w", 2, 60)
    outbox.mark([outbox.Outcome(claimed[0].id, claimed[0].attempts, "permanent", error="550"),
                 outbox.Outcome(claimed[1].id, claimed[1].attempts, "temporary", error="421")],
                "w", max_attempts=1, backoff=0)
    at = utcnow() + dt.timedelta(hours=27)
    assert _red(config, at) >= {"failed_mail", "dead_mail", "last_backup"}
    relaxed = make_config(db_url, health={"failed_max": 1, "dead_max": 1,
                                          "backup_max_hours": 0})
    assert {"failed_mail", "dead_mail", "last_backup"}.isdisjoint(_red(relaxed, at))
    assert health_report(relaxed, at).last_backup.limit.startswith("not watched")
    dbmod.close()


def test_stuck_mail_alerts_the_admins_once_per_episode(db_url: str, smtp: Server) -> None:
    config = make_config(db_url, shop={"admin_emails": ["boss@example.com", "ops@example.com"]},
                         smtp={"port": smtp.port}, mail={"backoff_seconds": 0})
    shop = open_shop(config)
    place(shop, email="ann@example.com")
    now = utcnow()
    assert heartbeat.check_stuck_mail(config, now + 29 * MINUTE) == ""
    assert heartbeat.check_stuck_mail(config, now + 31 * MINUTE) == "raised"
    assert heartbeat.check_stuck_mail(config, now + 32 * MINUTE) == ""  # still the same episode
    assert heartbeat.check_stuck_mail(config, now + 90 * MINUTE) == ""
    alerts = Outbox.select().where(Outbox.kind == "merchant_mail_stuck")
    assert sorted(m.recipient for m in alerts) == ["boss@example.com", "ops@example.com"]

    from mailer.worker import deliver_once

    waiting = Outbox.select().where(Outbox.kind != "merchant_mail_stuck").count()
    deliver_once(config)  # mail flows again: the backlog and the alert go out; its beat
    arrived = [m for m in smtp.received  # sees nothing stuck and clears the alert
               if str(m["X-Backroom-Mail"]).startswith("merchant_mail")]
    assert sorted(m["To"] for m in arrived) == ["boss@example.com", "ops@example.com"]
    assert arrived[0]["Subject"] == f"Mail is stuck: {waiting} waiting for 31 min"
    assert "`backroom worker` is running" in parts(arrived[0])["text/plain"]
    assert OpsAlert.get(OpsAlert.key == "mail_stuck").raised_at is None
    assert heartbeat.check_stuck_mail(config) == ""

    place(shop, email="bob@example.com")  # a second episode alerts again, once
    later = utcnow() + 31 * MINUTE
    assert heartbeat.check_stuck_mail(config, later) == "raised"
    assert heartbeat.check_stuck_mail(config, later + MINUTE) == ""
    assert Outbox.select().where(Outbox.kind == "merchant_mail_stuck").count() == 4


async def test_the_app_shows_the_health_line(shop: Shop, admin: Actor, config: Config) -> None:
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = app.screen.query_one(HealthLine)
        text = line.render()
        assert str(text) == "mail all sent · failed 0 · dead 0 · backup never · worker none"
        red = {str(text)[s.start:s.end] for s in text.spans if "red" in str(s.style)}
        assert red == {"backup never", "worker none"}
        assert line.region.y == 22  # above the footer, in an 80x24 terminal
        heartbeat.beat("bench-1")
        app._read_health()
        await settle(pilot)
        text = app.screen.query_one(HealthLine).render()
        assert str(text).endswith("· worker ok")
        assert {str(text)[s.start:s.end] for s in text.spans} == {"backup never"}
        await pilot.press("2")
        await settle(pilot)
        assert str(app.screen.query_one(HealthLine).render()).endswith("· worker ok")


def test_the_event_log_names_operator_and_order_and_nothing_personal(
        shop: Shop, admin: Actor, tmp_path: Path) -> None:
    log_file = tmp_path / "events.log"
    events_log.setup("file", str(log_file))
    try:
        zoe = customers.create_customer(shop, admin, email="zoe@example.fr",
                                        first_name="Zoé", last_name="Martin")
        ref = place(shop, customer_id=zoe.id)
        status.change_status(shop, admin, [ref.id], "paid", note="VIP, call Zoé first")
        payments.refund(shop, admin, ref.id, 500, "broken in transit")
        customers.delete_customer(shop, admin, zoe.id, "zoe@example.fr")
    finally:
        events_log.setup("off", "")
    lines = log_file.read_text(encoding="utf-8").splitlines()
    events = [line.split(" ", 3)[3] for line in lines]
    assert f"placed operator=storefront order={ref.code} status=awaiting_payment " \
           "total=2399 currency=EUR" in events
    assert any(e == f"status operator=ada order={ref.code} from=awaiting_payment to=paid "
               f"batch={e.rsplit('=', 1)[1]}" for e in events)
    assert f"refund operator=ada order={ref.code} amount=500 currency=EUR full=0" in events
    assert f"customer_erased operator=ada customer={zoe.id}" in events
    assert all(line[:20].endswith("Z") and " INFO events: " in line for line in lines)
    text = "\n".join(lines)
    for personal in ("zoe", "Zoé", "Martin", "VIP", "transit", "example.fr"):
        assert personal not in text


def test_one_formatter_one_line(tmp_path: Path) -> None:
    record = logging.LogRecord("backroom.events", logging.INFO, __file__, 1,
                               "note operator=a\nforged line", None, None)
    assert "\n" not in events_log.LineFormatter().format(record)
    assert events_log.line("x", "ann lee", {"order": "BR-1", "why": "a=b c"}) == (
        "x operator=ann\\x20lee order=BR-1 why=a\\x3db\\x20c")
    assert events_log.destination("auto", False, {"JOURNAL_STREAM": "8:1"}) == "stderr"
    assert events_log.destination("auto", False, {}) == "file"
    assert events_log.destination("stderr", True, {}) == "file"  # the app's screen
    assert events_log.destination("off", False, {}) == "off"


def test_a_webhook_that_waits_turns_the_report_red(shop: Shop, admin: Actor) -> None:
    """The oldest unsent webhook is a signal of its own, red past the same threshold as mail
    (an endpoint that stopped answering shows before it is disabled)."""
    webhooks.add_endpoint(shop, admin, "https://till.example.com/h", ["order.placed"])
    place(shop)
    soon = health_report(shop.config).oldest_unsent_webhook
    assert soon.red is False and "1 waiting" in soon.text
    later = health_report(shop.config, utcnow() + dt.timedelta(minutes=31))
    assert later.oldest_unsent_webhook.red and not later.ok
