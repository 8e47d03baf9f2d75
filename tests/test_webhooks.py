"""Webhooks (issue 15 point 5): events queued in the transaction of their change with the
payload of that moment, delivered signed (checked with the `standardwebhooks` library by a
receiver on loopback), retried on the schedule (503, 429 with Retry-After), an endpoint
disabled only when the schedule is spent or it answers 410 (and the admins told once), a
rotated secret signing twice, the command line, and a worker killed with SIGKILL losing
nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from mailer.webhooks import WebhookDeliverer, retry_after
from store import customers, operators, payments, status, undo, webhook_queries, webhooks
from store.config import Config
from store.errors import PermissionDenied, Refused, ValidationError
from store.models import Order, Outbox, WebhookDelivery, WebhookEndpoint, utcnow
from store.operators import Actor
from store.shop import Shop, open_shop
from tests.conftest import cli_config, make_config
from tests.factories import place
from tests.mail_server import wait_for
from tests.webhook_receiver import Receiver
from tui.cli import main

BACKROOM = str(Path(sys.executable).with_name("backroom"))
FAST = {"retry_schedule": "0 0 0 0", "poll_seconds": 0.05, "timeout_seconds": 5.0}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def hook_config(shop: Shop, **webhook_settings: object) -> Config:
    return shop.config.with_values("webhooks", **(FAST | webhook_settings))


def deliver(config: Config) -> None:
    """One pass of the webhook loop over what is due now (as `backroom worker --once`)."""
    asyncio.run(WebhookDeliverer(config).run(once=True))


def verified(receiver: Receiver, secret: str) -> list[dict]:
    """Every request the receiver got, each checked with the standardwebhooks library."""
    checker = Webhook(secret)
    return [checker.verify(r.body, r.headers) for r in receiver.received]


def states() -> Counter[str]:
    return Counter(s for (s,) in WebhookDelivery.select(WebhookDelivery.state).tuples())


# ----- queued with the change ----------------------------------------------------------------

def test_every_event_is_queued_with_its_change_and_its_payload_of_that_moment(
        shop: Shop, admin: Actor) -> None:
    hook = webhooks.add_endpoint(shop, admin, "https://till.example.com/hooks", ["*"])
    only_placed = webhooks.add_endpoint(shop, admin, "https://push.example.com/x",
                                        ["order.placed"])
    refs = [place(shop, email=f"c{i}@example.com", name="Zoé Łukasz 山田") for i in range(3)]
    change = status.change_status(shop, admin, [r.id for r in refs], "paid", hold_mail=False)
    payments.refund(shop, admin, refs[0].id, 500, "scratched")
    customers.create_customer(shop, admin, email="new@example.com", first_name="Ann",
                              last_name="[/] Smith")
    rows = list(WebhookDelivery.select().order_by(WebhookDelivery.id))
    by_endpoint = Counter(r.endpoint_id for r in rows)
    assert by_endpoint == {hook.id: 3 + 3 + 1 + 1, only_placed.id: 3}
    placed = json.loads(rows[0].payload)
    # placed as placed: awaiting payment, nothing paid, even though it was paid since
    assert placed["status"] == "awaiting_payment" and placed["amount_paid"] == 0
    assert placed["customer_name"] == "Zoé Łukasz 山田" and placed["items"][0]["sku"] == "SKU-0"
    assert placed["addresses"]["shipping"]["city"] == "Paris"
    changed = [json.loads(r.payload) for r in rows if r.event == "order.status_changed"]
    assert {c["code"] for c in changed} == {r.code for r in refs}
    assert all(c["status"] == "paid" and c["previous_status"] == "awaiting_payment"
               and c["amount_paid"] == c["total"] and c["changed_by"] == "ada"
               and c["undo"] is False for c in changed)
    # the database built these (set-based) with the keys and values Python gives
    order = Order.get_by_id(refs[1].id)
    [from_sql] = [c for c in changed if c["id"] == order.id]
    assert from_sql == webhooks.order_snapshot(order, previous_status="awaiting_payment",
                                               changed_by="ada", undo=False)
    refunded = json.loads(next(r.payload for r in rows if r.event == "order.refunded"))
    assert refunded["refund"]["amount"] == 500 and refunded["amount_refunded"] == 500
    created = json.loads(next(r.payload for r in rows if r.event == "customer.created"))
    assert created["email"] == "new@example.com" and created["last_name"] == "[/] Smith"
    assert len({r.message_id for r in rows}) == len(rows)
    assert all(change.batch in r.message_id for r in rows if r.event == "order.status_changed")


def test_undo_tells_of_the_status_going_back(shop: Shop, admin: Actor) -> None:
    webhooks.add_endpoint(shop, admin, "https://till.example.com/hooks",
                          ["order.status_changed"])
    ref = place(shop)
    change = status.change_status(shop, admin, [ref.id], "paid")
    undo.undo(shop, admin, change.batch)
    forth, back = (json.loads(r.payload) for r in
                   WebhookDelivery.select().order_by(WebhookDelivery.id))
    assert (forth["status"], forth["undo"]) == ("paid", False)
    assert (back["previous_status"], back["status"], back["undo"]) == (
        "paid", "awaiting_payment", True)
    assert back["amount_paid"] == 0


def test_a_change_refused_or_rolled_back_queues_no_webhook(shop: Shop, admin: Actor) -> None:
    webhooks.add_endpoint(shop, admin, "https://till.example.com/hooks", ["*"])
    ref = place(shop)
    before = WebhookDelivery.select().count()
    with pytest.raises(Refused):
        payments.refund(shop, admin, ref.id, 100, "nothing was paid")
    result = status.change_status(shop, admin, [ref.id], "shipped")  # needs a tracking number
    assert not result.changed
    assert WebhookDelivery.select().count() == before


def test_endpoints_are_checked_and_an_admins_business(shop: Shop, admin: Actor,
                                                      manager: Actor) -> None:
    with pytest.raises(PermissionDenied):
        webhooks.add_endpoint(shop, manager, "https://x.example.com", ["order.placed"])
    for url in ("http://till.example.com/h", "ftp://x.example.com", "https://",
                "https://x.example.com/\x1b[2J", "javascript:alert(1)"):
        with pytest.raises(ValidationError) as refused:
            webhooks.add_endpoint(shop, admin, url, ["order.placed"])
        assert refused.value.field == "url"
    with pytest.raises(ValidationError, match=r"unknown event 'order\.shipped'"):
        webhooks.add_endpoint(shop, admin, "https://x.example.com", ["order.shipped"])
    added = webhooks.add_endpoint(shop, admin, "http://localhost:8000/h", ["order.placed"])
    assert added.secret.startswith("whsec_") and len(Webhook(added.secret)._whsecret) == 24


# ----- delivered, signed, retried -------------------------------------------------------------

def test_receiver_verifies_every_signature_and_sees_retries_after_503(
        shop: Shop, admin: Actor, receiver: Receiver) -> None:
    hook = webhooks.add_endpoint(shop, admin, receiver.url, ["order.placed"])
    receiver.answer((503, {}), (503, {}))
    ref = place(shop, name="Ann \"quoted\" [bold]x[/bold] <script> \\u0000 Ωμέγα")
    config = hook_config(shop)
    for _ in range(3):
        deliver(config)
    assert len(receiver.received) == 3
    bodies = verified(receiver, hook.secret)  # raises unless every signature checks
    assert [b["data"]["code"] for b in bodies] == [ref.code] * 3
    assert len(set(receiver.ids())) == 1  # the same webhook-id on every retry
    assert len({r.body for r in receiver.received}) == 1  # and the same bytes
    assert bodies[0]["type"] == "order.placed"
    [row] = WebhookDelivery.select()
    assert (row.state, row.attempts, row.last_status) == ("delivered", 3, 200)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(receiver.received[0].body,
                                              receiver.received[0].headers)


def test_retries_follow_the_schedule_and_a_429_waits_what_it_asks(
        shop: Shop, admin: Actor, receiver: Receiver) -> None:
    webhooks.add_endpoint(shop, admin, receiver.url, ["order.placed"])
    place(shop)
    receiver.answer((500, {}), (429, {"Retry-After": "120"}))
    config = shop.config.with_values("webhooks", poll_seconds=0.05)  # the spec's schedule
    deliver(config)
    row = WebhookDelivery.get()
    assert row.state == "queued" and row.last_status == 500
    assert dt.timedelta(seconds=4) < row.next_attempt_at - row.updated_at <= dt.timedelta(
        seconds=5)
    deliver(config)
    assert len(receiver.received) == 1  # not due yet: 5 s
    WebhookDelivery.update(next_attempt_at=utcnow()).execute()
    deliver(config)
    row = WebhookDelivery.get()
    assert row.last_status == 429 and row.attempts == 2
    assert row.next_attempt_at - row.updated_at == dt.timedelta(seconds=120)
    assert 0 < retry_after("Wed, 21 Oct 2099 07:28:00 GMT") and retry_after("x") is None


def test_410_disables_the_endpoint_keeps_its_events_and_tells_the_admins_once(
        shop: Shop, admin: Actor, receiver: Receiver) -> None:
    config = hook_config(shop).with_values(
        "shop", admin_emails=["boss@example.com", "ops@example.com"])
    hook = webhooks.add_endpoint(shop, admin, receiver.url, ["order.placed"])
    receiver.answer(then=(410, {}))
    place(shop, email="a@example.com")
    place(shop, email="b@example.com")
    deliver(config)
    endpoint = WebhookEndpoint.get_by_id(hook.id)
    assert not endpoint.active and "410" in endpoint.disabled_reason
    notices = list(Outbox.select().where(Outbox.kind == "merchant_webhook_disabled"))
    assert sorted(n.recipient for n in notices) == ["boss@example.com", "ops@example.com"]
    assert json.loads(notices[0].payload)["url"] == receiver.url
    counts = states()
    assert counts["failed"] >= 1 and counts["failed"] + counts["queued"] == 2
    place(shop, email="c@example.com")  # a disabled endpoint hears of nothing new
    assert WebhookDelivery.select().count() == 2
    deliver(config)  # nothing is sent to a disabled endpoint, and no second notice
    assert Outbox.select().where(Outbox.kind == "merchant_webhook_disabled").count() == 2
    [row] = webhook_queries.disabled_endpoints()
    assert row.id == hook.id and "410" in row.disabled_reason

    receiver.answer()  # it works again: turned back on, every kept event goes
    assert webhooks.enable_endpoint(shop, admin, hook.id) >= 1
    deliver(config)
    assert states() == {"delivered": 2}


def test_a_spent_schedule_disables_the_endpoint(shop: Shop, admin: Actor,
                                                receiver: Receiver) -> None:
    hook = webhooks.add_endpoint(shop, admin, receiver.url, ["order.placed"])
    receiver.answer(then=(500, {}))
    place(shop)
    config = hook_config(shop, retry_schedule="0 0 0")
    for _ in range(5):
        deliver(config)
    assert len(receiver.received) == 3
    endpoint = WebhookEndpoint.get_by_id(hook.id)
    assert not endpoint.active and "schedule was spent" in endpoint.disabled_reason
    assert states() == {"failed": 1}
    [notice] = Outbox.select().where(Outbox.kind == "merchant_webhook_disabled")
    assert notice.recipient == shop.config.get("shop", "email")  # no admin_emails: the shop


def test_a_rotated_secret_signs_twice_until_its_time_is_up(
        shop: Shop, admin: Actor, receiver: Receiver) -> None:
    hook = webhooks.add_endpoint(shop, admin, receiver.url, ["order.placed"])
    rotated = webhooks.rotate_secret(shop, admin, hook.id)
    place(shop)
    deliver(hook_config(shop))
    [request] = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook.secret, rotated.secret):  # the receiver may hold either
        Webhook(secret).verify(request.body, request.headers)
    WebhookEndpoint.update(previous_until=utcnow()).execute()  # the rotation is over
    place(shop)
    deliver(hook_config(shop))
    last = receiver.received[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated.secret).verify(last.body, last.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(hook.secret).verify(last.body, last.headers)


def test_an_unreachable_endpoint_is_retried_not_lost(shop: Shop, admin: Actor,
                                                     receiver: Receiver) -> None:
    port = receiver.port
    receiver.stop()
    webhooks.add_endpoint(shop, admin, f"http://127.0.0.1:{port}/gone", ["order.placed"])
    place(shop)
    deliver(hook_config(shop))
    row = WebhookDelivery.get()
    assert row.state == "queued" and row.attempts == 1 and "cannot reach" in row.last_error


# ----- the command line ----------------------------------------------------------------------

def test_webhook_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          receiver: Receiver) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    config_file = tmp_path / "config.toml"
    config_file.write_text(tomli_w.dumps(cli_config(url, webhooks=FAST)))
    shop = open_shop(make_config(url))
    operators.add(operators.ensure_admin("ada"), "mo", "manager")
    runner = CliRunner()
    args = ["--config", str(config_file)]
    monkeypatch.setenv("BACKROOM_OPERATOR", "mo")
    result = runner.invoke(main, [*args, "webhook", "add", receiver.url, "--events",
                                  "order.placed"])
    assert result.exit_code == 1 and "manage webhooks" in result.output
    monkeypatch.setenv("BACKROOM_OPERATOR", "ada")
    result = runner.invoke(main, [*args, "webhook", "add", receiver.url, "--events",
                                  "order.placed,order.status_changed", "--description", "till"])
    assert result.exit_code == 0, result.output
    secret = next(line.split()[1] for line in result.output.splitlines()
                  if line.startswith("secret:"))
    result = runner.invoke(main, [*args, "webhook", "test", "1"])
    assert result.exit_code == 0 and "delivered (200)" in result.output, result.output
    assert verified(receiver, secret)[0]["type"] == "webhook.test"

    place(shop)
    monkeypatch.delenv("BACKROOM_OPERATOR")
    result = runner.invoke(main, [*args, "worker", "--once"])
    assert result.exit_code == 0 and "webhooks: 1 delivered" in result.output, result.output
    monkeypatch.setenv("BACKROOM_OPERATOR", "ada")
    result = runner.invoke(main, [*args, "webhook", "list", "--format", "json"])
    [row] = json.loads(result.output)
    assert row["state"] == "active" and row["delivered"] == 2

    result = runner.invoke(main, [*args, "webhook", "rotate-secret", "1"])
    assert result.exit_code == 0 and "both signatures" in result.output
    result = runner.invoke(main, [*args, "webhook", "list"])
    assert "active (rotating)" in result.output

    receiver.answer(then=(410, {}))
    result = runner.invoke(main, [*args, "webhook", "test", "1"])
    assert result.exit_code == 1 and "410" in result.output
    result = runner.invoke(main, [*args, "webhook", "list"])
    assert "disabled" in result.output and "it answered 410 Gone" in result.output
    result = runner.invoke(main, [*args, "webhook", "test", "1"])
    assert result.exit_code == 1 and "enable it first" in result.output
    result = runner.invoke(main, [*args, "webhook", "deliveries", "--state", "failed"])
    assert "webhook.test" in result.output
    result = runner.invoke(main, [*args, "webhook", "enable", "1"])
    assert result.exit_code == 0 and "1 delivery(ies) queued again" in result.output
    result = runner.invoke(main, [*args, "webhook", "remove", "1"])
    assert result.exit_code == 0 and "removed; 1 delivery(ies)" in result.output
    assert WebhookDelivery.select().count() == 0
    result = runner.invoke(main, [*args, "webhook", "remove", "1"])
    assert result.exit_code == 1 and "no webhook endpoint #1" in result.output


# ----- kill -9 -------------------------------------------------------------------------------

@pytest.mark.slow
def test_worker_killed_with_sigkill_loses_no_webhook(own_db_url: str, tmp_path: Path,
                                                     receiver: Receiver) -> None:
    shop = open_shop(make_config(own_db_url))
    admin = operators.ensure_admin("ada")
    hook = webhooks.add_endpoint(shop, admin, receiver.url, ["order.placed"])
    for i in range(40):
        place(shop, email=f"c{i}@example.com")
    config_path = tmp_path / "worker.toml"
    # the worker runs as a service account (this process's owner), not as an operator
    config_path.write_text(tomli_w.dumps(cli_config(
        own_db_url, smtp={"port": 9, "timeout_seconds": 1.0}, mail={"poll_seconds": 0.1},
        webhooks={"retry_schedule": "0 0 0 0 0 0 0 0", "poll_seconds": 0.05,
                  "lease_seconds": 2, "concurrency": 4, "batch_size": 4,
                  "timeout_seconds": 5.0})), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("BACKROOM_DATABASE_URL", "BACKROOM_OPERATOR")}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([BACKROOM, "--config", str(config_path), "worker"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    receiver.script.hold = hold = threading.Event()  # answers wait: requests pile up in flight
    first = start()
    wait_for(lambda: receiver.count() >= 4, timeout=30, what="the first webhooks")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    hold.set()
    receiver.script.hold = None
    assert states()["sending"] > 0  # it held leases when it died

    second = start()
    try:
        wait_for(lambda: states()["delivered"] == 40, timeout=60, what="every webhook")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    expected = {m for (m,) in WebhookDelivery.select(WebhookDelivery.message_id).tuples()}
    arrived = Counter(receiver.ids())
    assert set(arrived) == expected and len(expected) == 40
    assert max(arrived.values()) <= 2  # one in flight at the kill may come twice
    verified(receiver, hook.secret)


# ----- the app -------------------------------------------------------------------------------

async def _outbox(pilot: object, app: object, ready: object) -> None:
    """Open the outbox (`4`) and wait until `ready()` holds: a lone digit waits for a code
    that may follow, and the screen loads in a worker."""
    await pilot.press("4")  # type: ignore[attr-defined]
    for _ in range(400):
        if ready():  # type: ignore[operator]
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError("the outbox never showed what was expected")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_outbox_screen_shows_a_disabled_endpoint_and_why(
        shop: Shop, admin: Actor, config: Config) -> None:
    from textual.widgets import Static

    from store.webhook_outbox import Notice, disable_endpoint
    from tests.tui_support import make_app
    from tui.screens.outbox import OutboxScreen

    def counts_shown(app: object) -> bool:
        screen = app.screen  # type: ignore[attr-defined]
        return isinstance(screen, OutboxScreen) and "queued" in str(
            screen.query_one("#outbox-counts", Static).render())

    app = make_app(config.with_values("mail", deliver_in_app=False))
    async with app.run_test(size=(80, 24)) as pilot:  # no endpoint: no webhook line
        await _outbox(pilot, app, lambda: counts_shown(app))
        assert not app.screen.query_one("#outbox-hooks", Static).display
    hook = webhooks.add_endpoint(shop, admin, "https://till.example.com/[bold]x", ["*"])
    place(shop)
    disable_endpoint(hook.id, "it answered 410 Gone", Notice(("boss@example.com",)))
    app = make_app(config.with_values("mail", deliver_in_app=False))
    async with app.run_test(size=(80, 24)) as pilot:

        def hooks_shown() -> bool:
            return counts_shown(app) and "webhooks:" in str(
                app.screen.query_one("#outbox-hooks", Static).render())

        await _outbox(pilot, app, hooks_shown)
        line = app.screen.query_one("#outbox-hooks", Static)
        text = str(line.render())
        assert line.display and "webhooks: 1 queued, 0 delivered, 0 failed" in text
        assert "disabled: #1 https://till.example.com/[bold]x (it answered 410 Gone" in text


def test_erasing_a_customer_blanks_their_webhook_payloads(shop: Shop, admin: Actor) -> None:
    webhooks.add_endpoint(shop, admin, "https://till.example.com/h", ["*"])
    ann = customers.create_customer(shop, admin, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    place(shop, customer_id=ann.id)
    place(shop, email="ANN@example.com", name="Ann as a guest")
    place(shop, email="bob@example.com", name="Bob")
    customers.delete_customer(shop, admin, ann.id, "ann@example.com")
    payloads = [json.loads(d.payload) for d in WebhookDelivery.select()]
    assert sum(p == {"erased": True} for p in payloads) == 3
    assert [p["customer_name"] for p in payloads if "customer_name" in p] == ["Bob"]
