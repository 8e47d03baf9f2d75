"""Delivery against a real aiosmtpd on loopback: every event's mail, retries, failures, leases."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import trustme
from aiosmtpd.smtp import AuthResult

from mailer import render
from mailer.delivery import Deliverer
from mailer.worker import deliver_once
from store import config as configmod
from store import (
    customers,
    heartbeat,
    orders,
    outbox_queries,
    payments,
    status,
    subscribers,
    undo,
    webhook_outbox,
    webhooks,
)
from store import outbox as outboxmod
from store.models import Outbox, db, utcnow
from store.operators import STOREFRONT, Actor
from store.shop import Shop
from tests.conftest import make_config
from tests.factories import place
from tests.mail_server import Server, free_port, parts

MAIL = {"backoff_seconds": 0, "poll_seconds": 0.05, "max_attempts": 5}


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server().start()
    yield server
    server.stop()


@pytest.fixture
def config(db_url: str, smtp: Server) -> configmod.Config:
    return make_config(db_url, smtp={"port": smtp.port, "connections": 2}, mail=MAIL,
                       shop={"admin_emails": ["boss@example.com"], "name": "Chez Ann",
                             "email": "hello@chez-ann.example"})


def kind_of(message) -> str:  # type: ignore[no-untyped-def]
    return str(message["X-Backroom-Mail"]).split()[0]


def deliver_until_settled(config: configmod.Config, rounds: int = 20) -> None:
    """Run `--once` rounds until nothing is queued or sending (retries are due at once here)."""
    for _ in range(rounds):
        deliver_once(config)
        due = Outbox.select().where(Outbox.state.in_(["queued", "sending"]),
                                    Outbox.hold_until.is_null() | (Outbox.hold_until <= utcnow()))
        if not due.exists():
            return
    raise AssertionError("mails still queued after many delivery rounds")


def test_every_event_mail_arrives_with_both_parts_and_language(
        shop: Shop, admin: Actor, smtp: Server, config: configmod.Config) -> None:
    o1 = place(shop, email="ann@example.com", payment_method="wire")
    deliver_until_settled(config)  # rendered at send time: still unpaid, so how to pay
    for to, extra in (("awaiting_verification", {}), ("paid", {}),
                      ("shipped", {"tracking": "6A123", "carrier": "Colissimo"}),
                      ("completed", {})):
        status.change_status(shop, admin, [o1.id], to, hold_mail=False, **extra)
        deliver_until_settled(config)  # sent before the next change, which would supersede it
    payments.refund(shop, admin, o1.id, 500, "damaged mug")
    orders.add_note(shop, admin, o1.id, "Your mug <b>was</b> re-sent", visible=True)
    zoe = customers.create_customer(shop, admin, email="zoe@example.fr", first_name="Zoé",
                                    last_name="Martin", language="fr")
    o2 = place(shop, customer_id=zoe.id)
    status.change_status(shop, admin, [o2.id], "cancelled", hold_mail=False)
    customers.send_one_off(shop, admin, zoe.id, "Une question", "Bonjour Zoé")
    gone = customers.create_customer(shop, admin, email="gone@example.com", first_name="Gus",
                                     last_name="Gone")
    deliver_until_settled(config)  # its confirm mail goes before the account does
    customers.self_delete(shop, STOREFRONT, gone.id)
    hook = webhooks.add_endpoint(shop, admin, "https://till.example.com/h", ["order.placed"])
    with db.atomic():  # as the webhook loop does when an endpoint answers 410
        webhook_outbox.disable_endpoint(hook.id, "it answered 410 Gone", webhooks.notice(shop))
    # as if that mail had waited 31 minutes: the admins hear that mail is stuck
    assert heartbeat.check_stuck_mail(config, utcnow() + dt.timedelta(minutes=31)) == "raised"
    doi = dataclasses.replace(shop, config=config.with_values(
        "newsletter", double_opt_in=True, secret="a-newsletter-secret-of-32-chars"))
    subscribers.subscribe(doi, STOREFRONT, email="news@example.com", source="signup form",
                          wording="Monthly news", confirm=True)  # the confirmation mail

    deliver_until_settled(config)

    rows = {r.id: r for r in outbox_queries.outbox_page(None, None, 500).rows}
    erased = [(r.kind, r.recipient, r.subject) for r in rows.values() if r.state == "erased"]
    assert erased == [("account_confirm", "", "")]  # sent, then erased with its account
    assert {r.state for r in rows.values()} == {"sent", "erased"}
    assert len(smtp.received) == len(rows)
    assert {kind_of(m) for m in smtp.received} == set(render.EVENTS)
    for message in smtp.received:
        row = rows[int(str(message["X-Backroom-Mail"]).split()[1])]
        if row.state == "erased":
            assert message["To"] == "gone@example.com"
            continue
        assert message["To"] == row.recipient
        assert message["Subject"] == row.subject
        assert message["Message-ID"] == row.message_id
        body = parts(message)
        assert set(body) == {"text/plain", "text/html"}
        expected = "fr" if row.recipient == "zoe@example.fr" else "en"
        assert message["Content-Language"] == expected
        if not row.kind.startswith("merchant"):
            for part in body.values():  # every customer mail names the shop and its address
                assert "Chez Ann" in part and "hello@chez-ann.example" in part
    by_kind: dict[str, list] = {}
    for message in smtp.received:
        by_kind.setdefault(kind_of(message), []).append(message)
    assert sorted(m["To"] for m in by_kind["merchant_new_order"]) == [
        "boss@example.com", "boss@example.com", "hello@chez-ann.example",
        "hello@chez-ann.example"]
    shipped = parts(by_kind["shipped"][0])["text/plain"]
    assert "6A123" in shipped and "Colissimo" in shipped and "laposte.fr" in shipped
    refunded = parts(by_kind["refunded"][0])["text/plain"]
    assert "€5.00" in refunded and "damaged mug" in refunded
    note_html = parts(by_kind["customer_note"][0])["text/html"]
    assert "&lt;b&gt;was&lt;/b&gt;" in note_html  # customer-facing text is escaped in HTML
    placed_fr = next(m for m in by_kind["order_placed"] if m["To"] == "zoe@example.fr")
    assert placed_fr["Subject"].startswith("Votre commande")
    assert "23,99" in parts(placed_fr)["text/plain"]  # French money: 23,99 €
    placed_en = next(m for m in by_kind["order_placed"] if m["To"] == "ann@example.com")
    assert "IBAN" in parts(placed_en)["text/plain"]  # unpaid: how to pay
    assert parts(by_kind["one_off"][0])["text/plain"].startswith("Bonjour Zoé")
    assert "Gus Gone" in parts(by_kind["merchant_account_deleted"][0])["text/plain"]


def test_smtp_down_then_up_mails_wait_then_all_arrive(db_url: str) -> None:
    port = free_port()
    config = make_config(db_url, smtp={"port": port, "timeout_seconds": 5}, mail=MAIL)
    from store.shop import open_shop

    shop = open_shop(config)
    for i in range(5):
        place(shop, email=f"c{i}@example.com")
    stats = deliver_once(config)
    assert stats.sent == 0
    waiting = outbox_queries.outbox_page("queued", None, 100).rows
    assert len(waiting) == 10
    assert all("cannot reach" in r.last_error and r.attempts >= 1 for r in waiting)
    server = Server(port).start()
    try:
        deliver_until_settled(config)
        assert outbox_queries.outbox_counts()["sent"] == 10
        ids = Counter(m["Message-ID"] for m in server.received)
        assert len(ids) == 10 and set(ids.values()) == {1}
    finally:
        server.stop()


def test_451_is_retried_with_the_same_message_id(shop: Shop, smtp: Server,
                                                 config: configmod.Config) -> None:
    smtp.handler.rcpt_replies["ann@example.com"] = ["451 4.3.0 Greylisted, try later"]
    place(shop, email="ann@example.com")
    deliver_until_settled(config)
    mail = Outbox.get(Outbox.recipient == "ann@example.com")
    assert mail.state == "sent" and mail.attempts == 2
    arrived = [m for m in smtp.received if m["To"] == "ann@example.com"]
    assert [m["Message-ID"] for m in arrived] == [mail.message_id]


def test_550_is_marked_failed_with_the_reply(shop: Shop, smtp: Server,
                                             config: configmod.Config) -> None:
    smtp.handler.rcpt_replies["nobody@example.com"] = ["550 5.1.1 No such user here"]
    place(shop, email="nobody@example.com")
    deliver_until_settled(config)
    mail = Outbox.get(Outbox.recipient == "nobody@example.com")
    assert mail.state == "failed" and mail.attempts == 1
    assert "550" in mail.last_error and "No such user here" in mail.last_error
    assert sorted(m["To"] for m in smtp.received) == ["boss@example.com",
                                                      "hello@chez-ann.example"]


def test_an_address_that_cannot_be_sent_fails_its_mail_and_the_others_go(
        shop: Shop, smtp: Server, config: configmod.Config) -> None:
    # internationalised: needs SMTPUTF8, never asked for; refused on entry since, so this row
    # stands for one written before that or by another program
    place(shop, email="zoe@exemple.fr")
    Outbox.update(recipient="zoé@exemple.fr").where(
        Outbox.recipient == "zoe@exemple.fr").execute()
    place(shop, email="bob@example.com")
    deliver_until_settled(config)
    mail = Outbox.get(Outbox.recipient == "zoé@exemple.fr")
    assert mail.state == "failed" and "not plain ASCII" in mail.last_error
    assert sorted(m["To"] for m in smtp.received) == [
        "bob@example.com", "boss@example.com", "boss@example.com", "hello@chez-ann.example",
        "hello@chez-ann.example"]


def test_drop_after_data_gives_at_most_two_deliveries_with_one_message_id(
        shop: Shop, smtp: Server, config: configmod.Config) -> None:
    smtp.handler.drops_after_data = 1
    config = config.with_values("mail", batch_size=1)
    place(shop, email="ann@example.com")
    deliver_until_settled(config)
    assert outbox_queries.outbox_counts()["sent"] == 3
    ids = Counter(m["Message-ID"] for m in smtp.received)
    assert len(ids) == 3  # customer, shop, admin; the dropped one came twice at most
    assert max(ids.values()) == 2 and min(ids.values()) == 1


def test_two_workers_deliver_each_mail_exactly_once(shop: Shop, smtp: Server,
                                                    config: configmod.Config) -> None:
    config = config.with_values("mail", batch_size=7)
    for i in range(60):
        place(shop, email=f"c{i}@example.com")
    workflow = shop.workflow

    async def both() -> None:
        await asyncio.gather(Deliverer(config, workflow, owner="w1").run(once=True),
                             Deliverer(config, workflow, owner="w2").run(once=True))

    asyncio.run(both())
    deliver_until_settled(config)
    ids = Counter(m["Message-ID"] for m in smtp.received)
    assert len(ids) == 180 and set(ids.values()) == {1}
    assert outbox_queries.outbox_counts()["sent"] == 180


def test_a_lease_that_ran_out_while_rendering_is_given_back_not_sent(
        shop: Shop, smtp: Server, config: configmod.Config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The lease counts from the claim: a mail whose lease ran out before its turn to be
    sent (here: a slow template) may belong to another worker by now, so it goes back to
    the queue untried instead of being sent twice; with a lease long enough, it is sent."""
    root = tmp_path / "templates"
    (root / "en").mkdir(parents=True)
    (root / "en" / "order_placed.txt").write_text(
        "Subject: Thanks\n\n{% for i in range(1000) %}{% for j in range(300) %}{% endfor %}"
        "{% endfor %}Thank you.\n", encoding="utf-8")
    place(shop, email="ann@example.com")

    def deliver(lease: float) -> None:
        short = config.with_values("mail", lease_seconds=lease, batch_size=10)
        renderer = render.Renderer(root, max_seconds=60)
        asyncio.run(Deliverer(short, shop.workflow, renderer=renderer).run(once=True))

    deliver(0.05)
    mail = Outbox.get(Outbox.recipient == "ann@example.com")
    assert mail.state == "queued"
    assert "ann@example.com" not in [m["To"] for m in smtp.received]

    deliver(300)
    assert Outbox.get_by_id(mail.id).state == "sent"
    ids = Counter(m["Message-ID"] for m in smtp.received)
    assert len(ids) == 3 and set(ids.values()) == {1}


def test_held_mail_is_not_sent_before_its_hold(shop: Shop, admin: Actor, smtp: Server,
                                               config: configmod.Config) -> None:
    order = place(shop, email="ann@example.com")
    change = status.change_status(shop, admin, [order.id], "paid")  # held for the undo window
    deliver_until_settled(config)
    assert outbox_queries.outbox_counts()["held"] == 1
    assert [kind_of(m) for m in smtp.received if m["To"] == "ann@example.com"] == [
        "order_placed"]
    undo.undo(shop, admin, change.batch)
    assert outbox_queries.outbox_counts()["cancelled"] == 1


def test_starttls_with_a_self_signed_certificate(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    import ssl

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    server = Server(tls_context=server_ctx, require_starttls=True, authenticator=authenticator,
                    auth_required=True).start()
    try:
        config = make_config(db_url, smtp={"port": server.port, "security": "starttls",
                                           "ca_file": str(ca_file), "user": "shop",
                                           "password": "s3cret"}, mail=MAIL)
        from store.shop import open_shop

        shop = open_shop(config)
        place(shop, email="ann@example.com")
        deliver_until_settled(config)
        assert sorted(m["To"] for m in server.received) == ["ann@example.com",
                                                            "shop@example.com"]
        assert logins[0] == (b"shop", b"s3cret")
        # without the CA the relay's certificate is refused and the mail waits
        place(shop, email="bob@example.com")
        untrusting = config.with_values("smtp", ca_file="")
        deliver_once(untrusting)
        waiting = outbox_queries.outbox_page("queued", None, 10).rows
        assert waiting and all(re.search(r"certif", r.last_error, re.I) for r in waiting)
    finally:
        server.stop()


def test_temporary_failures_end_dead_after_max_attempts(db_url: str) -> None:
    config = make_config(db_url, smtp={"port": free_port(), "timeout_seconds": 5},
                         mail=MAIL | {"max_attempts": 2})
    from store.shop import open_shop

    shop = open_shop(config)
    place(shop, email="ann@example.com")
    deliver_once(config)
    deliver_once(config)
    rows = outbox_queries.outbox_page(None, None, 10).rows
    assert {r.state for r in rows} == {"dead"}
    assert all(r.attempts == 2 and "gave up after 2 attempts" in r.last_error for r in rows)


def test_implicit_tls(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ssl

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = Server(ssl_context=server_ctx).start()
    try:
        config = make_config(db_url, smtp={"port": server.port, "security": "tls",
                                           "ca_file": str(ca_file)}, mail=MAIL)
        from store.shop import open_shop

        place(open_shop(config), email="ann@example.com")
        deliver_until_settled(config)
        assert sorted(m["To"] for m in server.received) == ["ann@example.com",
                                                            "shop@example.com"]
    finally:
        server.stop()


def test_a_broken_template_fails_its_mail_with_file_and_line_then_retry_sends(
        db_url: str, smtp: Server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from store import operators
    from store.shop import open_shop

    templates = tmp_path / "templates" / "en"
    templates.mkdir(parents=True)
    (templates / "order_placed.txt").write_text("Subject: hi\n\n{{ order.nope }}\n")
    broken = make_config(db_url, smtp={"port": smtp.port}, mail=MAIL | {
        "templates_dir": str(tmp_path / "templates")})
    shop = open_shop(broken)
    admin = operators.ensure_admin("ada")
    place(shop, email="ann@example.com")
    deliver_until_settled(broken)
    mail = Outbox.get(Outbox.recipient == "ann@example.com")
    assert mail.state == "failed"
    assert "template error" in mail.last_error and "order_placed.txt:3" in mail.last_error
    (templates / "order_placed.txt").write_text("Subject: fixed {{ code }}\n\nThanks\n")
    outboxmod.retry_mail(shop, admin, mail.id)
    deliver_until_settled(broken)
    assert Outbox.get_by_id(mail.id).state == "sent"
    assert any(m["Subject"].startswith("fixed BR-") for m in smtp.received)
