"""Regression tests of issue 11's mail and data points: each failed on the main branch the
issue was filed against, against the real parts (SQLite, PostgreSQL, aiosmtpd on loopback)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st
from peewee import fn

from mailer.delivery import Connection, Outgoing, SmtpSettings
from mailer.worker import deliver_once, run_blocking
from store import config as configmod
from store import (
    csvout,
    customers,
    operators,
    orders,
    outbox_queries,
    payments,
    status,
    undo,
    workflow,
)
from store import customer_queries as customers_queries
from store import outbox as outboxmod
from store.errors import ConfigError, PermissionDenied, Refused, ValidationError
from store.models import Customer, CustomerEvent, Order, OrderEvent, Outbox, utcnow
from store.operators import Actor
from store.shop import Shop, open_shop
from tests.conftest import make_config
from tests.factories import place
from tests.mail_server import Server, parts, wait_for

BACKROOM = str(Path(sys.executable).with_name("backroom"))
BAD = [f"ctl{i}\x07x@example.com" for i in range(5)]


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server().start()
    yield server
    server.stop()


def states() -> Counter[str]:
    return Counter(state for (state,) in Outbox.select(Outbox.state).tuples())


# ----- 1. one bad address stops all delivery --------------------------------------------------

def bad_and_good_shop(db_url: str) -> Shop:
    """Five customers whose email holds a control character (written straight into the
    table, as an old version or another program would), their orders first in the queue,
    then forty good orders: 5 mails that cannot go and 85 that can (40 confirmations, 45
    notices to the shop)."""
    shop = open_shop(make_config(db_url, shop={"admin_emails": []}))
    for address in BAD:
        customer = Customer.create(first_name="Bad", last_name="Address", email=address,
                                   email_key=address.lower())
        place(shop, customer_id=customer.id)
    for i in range(40):
        place(shop, email=f"good{i}@example.com")
    return shop


def worker_config(tmp_path: Path, db_url: str, port: int, timeout: float = 3.0) -> Path:
    path = tmp_path / "worker.toml"
    path.write_text(tomli_w.dumps({
        "database": {"url": db_url},
        "shop": {"admin_emails": []},
        "smtp": {"port": port, "connections": 2, "timeout_seconds": timeout},
        "mail": {"batch_size": 8, "lease_seconds": 30, "poll_seconds": 0.1,
                 "backoff_seconds": 0},
    }), encoding="utf-8")
    return path


def backroom(config_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "BACKROOM_DATABASE_URL"}
    return subprocess.Popen([BACKROOM, "--config", str(config_path), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def assert_bad_failed_alone(smtp: Server) -> None:
    assert len(smtp.received) == 85
    assert states() == Counter({"sent": 85, "failed": 5})
    for mail in Outbox.select().where(Outbox.state == "failed"):
        assert mail.recipient in BAD and "control character" in mail.last_error


@pytest.mark.slow
def test_worker_once_fails_bad_addresses_alone_and_returns(db_url: str, tmp_path: Path,
                                                           smtp: Server) -> None:
    bad_and_good_shop(db_url)
    worker = backroom(worker_config(tmp_path, db_url, smtp.port), "worker", "--once")
    try:
        out, err = worker.communicate(timeout=60)
    finally:
        stop(worker)
    assert worker.returncode == 0, err.decode()
    assert b"85 sent" in out and b"5 failed" in out
    assert_bad_failed_alone(smtp)


@pytest.mark.slow
def test_worker_service_delivers_past_bad_addresses_and_stops_on_sigterm(
        db_url: str, tmp_path: Path, smtp: Server) -> None:
    bad_and_good_shop(db_url)
    timeout = 3.0
    worker = backroom(worker_config(tmp_path, db_url, smtp.port, timeout), "worker")
    try:
        wait_for(lambda: states()["sent"] == 85, timeout=60, what="the good mails sent")
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=timeout + 10) == 0
        assert time.monotonic() - started < timeout + 2
    finally:
        stop(worker)
    assert_bad_failed_alone(smtp)


@pytest.mark.slow
def test_sigterm_stops_a_worker_waiting_on_a_stalled_relay_within_the_timeout(
        db_url: str, tmp_path: Path) -> None:
    """A relay that never answers DATA: the mails in hand wait at most smtp.timeout_seconds,
    then the worker exits and nothing is left leased."""
    server = Server()
    server.handler.data_delay = 120
    server.start()
    try:
        shop = open_shop(make_config(db_url, shop={"admin_emails": []}))
        for i in range(10):
            place(shop, email=f"c{i}@example.com")
        timeout = 2.0
        worker = backroom(worker_config(tmp_path, db_url, server.port, timeout), "worker")
        try:
            wait_for(lambda: states()["sending"] > 0, what="a claim")
            started = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=timeout + 10) == 0
            assert time.monotonic() - started < timeout + 2
        finally:
            stop(worker)
        assert states()["sending"] == 0 and states()["queued"] == 20
    finally:
        server.stop()


def test_in_app_delivery_stops_when_told_despite_bad_addresses(db_url: str,
                                                               smtp: Server) -> None:
    """The app's background loop (run_blocking in a thread): the bad mails fail, the good
    ones go, and setting `stop` ends the thread (the app can quit)."""
    bad_and_good_shop(db_url)
    config = make_config(db_url, smtp={"port": smtp.port, "connections": 2},
                         shop={"admin_emails": []},
                         mail={"poll_seconds": 0.05, "backoff_seconds": 0, "batch_size": 8})
    halt = threading.Event()
    loop = threading.Thread(target=run_blocking, args=(config, halt), daemon=True)
    loop.start()
    try:
        wait_for(lambda: states()["sent"] == 85, timeout=60, what="the good mails sent")
    finally:
        halt.set()
        loop.join(timeout=15)
    assert not loop.is_alive()
    assert_bad_failed_alone(smtp)


def test_a_send_that_raises_fails_that_mail_and_the_connection_goes_on(
        db_url: str, smtp: Server) -> None:
    """Whatever a send raises (here aiosmtplib's ValueError for a control character in RCPT,
    after MAIL FROM was accepted) becomes that mail's failure; the next mail goes."""
    config = make_config(db_url, smtp={"port": smtp.port})
    connection = Connection(SmtpSettings.from_config(config), b"<shop@example.com>")
    data = b"Subject: hi\r\nTo: a@example.com\r\n\r\nhello\r\n"

    async def both() -> tuple[outboxmod.Outcome, outboxmod.Outcome]:
        bad = await connection.send(Outgoing(1, 1, 0.0, "hi", rcpt=b"<ctl\x07x@example.com>",
                                             data=data))
        good = await connection.send(Outgoing(2, 1, 0.0, "hi", rcpt=b"<a@example.com>",
                                              data=data))
        await connection.close()
        return bad, good

    bad, good = asyncio.run(both())
    assert bad.result == "permanent" and "control character" in bad.error
    assert good.result == "sent"
    assert [m["To"] for m in smtp.received] == ["a@example.com"]


def lapse(mail_id: int) -> None:
    """What a worker that died mid-send leaves: sending, its lease run out."""
    Outbox.update(state="sending", lease_owner="gone:1", attempts=1,
                  lease_until=utcnow() - dt.timedelta(seconds=5)).where(
        Outbox.id == mail_id).execute()


def test_a_sending_mail_whose_lease_ran_out_can_be_cancelled_or_retried(
        shop: Shop, clerk: Actor) -> None:
    first, second, third = (place(shop, email=f"c{i}@example.com").id for i in range(3))
    mails = {oid: Outbox.get(Outbox.order == oid, Outbox.kind == "order_placed").id
             for oid in (first, second, third)}
    lapse(mails[first])
    lapse(mails[second])
    cancelled = outboxmod.cancel_mail(shop, clerk, mails[first])
    assert cancelled.state == "cancelled" and "cleo" in cancelled.last_error
    retried = outboxmod.retry_mail(shop, clerk, mails[second])
    assert (retried.state, retried.attempts) == ("queued", 0)
    # a lease still running belongs to a live worker: neither is allowed
    Outbox.update(state="sending", lease_owner="alive:1",
                  lease_until=utcnow() + dt.timedelta(minutes=5)).where(
        Outbox.id == mails[third]).execute()
    with pytest.raises(Refused, match="lease ran out"):
        outboxmod.retry_mail(shop, clerk, mails[third])
    with pytest.raises(Refused, match="lease run out"):
        outboxmod.cancel_mail(shop, clerk, mails[third])
    # the dead worker, should it come back, records nothing over the operator's decision
    outboxmod.mark([outboxmod.Outcome(mails[first], 1, "sent")], "gone:1", 5, 0)
    assert Outbox.get_by_id(mails[first]).state == "cancelled"



# ----- 6. Refunded is entered only by a refund -------------------------------------------------

def test_a_clerk_cannot_mark_an_order_refunded_only_a_full_refund_moves_it(
        shop: Shop, clerk: Actor, manager: Actor) -> None:
    ref = place(shop)  # 23.99 EUR
    status.change_status(shop, clerk, [ref.id], "paid", hold_mail=False)
    change = status.change_status(shop, clerk, [ref.id], "refunded", hold_mail=False)
    assert not change.changed and change.mails == 0
    reason = change.refused[0].reason
    assert "refund" in reason and "23.99 EUR" in reason, reason
    assert Order.get_by_id(ref.id).status == "paid"
    assert not Outbox.select().where(Outbox.kind == "refunded").exists()

    assert payments.refund(shop, manager, ref.id, 1000, "one mug broken") is False
    assert Order.get_by_id(ref.id).status == "paid"
    assert "13.99 EUR" in status.change_status(shop, clerk, [ref.id], "refunded",
                                               dry_run=True).refused[0].reason
    assert payments.refund(shop, manager, ref.id, 1399, "the rest") is True
    order = Order.get_by_id(ref.id)
    assert (order.status, order.amount_paid - order.amount_refunded) == ("refunded", 0)


REFUND_WORKFLOW = {"statuses": {
    "new": {"initial": True, "hotkey": "n", "next": ["done", "money_back"]},
    "done": {"hotkey": "d", "final": True, "next": ["money_back"]},
    "money_back": {"hotkey": "m", "final": True, "refunded": True, "mail": "refunded"},
}}


def test_the_refunded_flag_is_read_and_checked_when_the_workflow_loads() -> None:
    assert workflow.DEFAULT["refunded"].refunded
    assert [s.key for s in workflow.DEFAULT.statuses.values() if s.refunded] == ["refunded"]
    assert workflow.from_config(REFUND_WORKFLOW).refunded_key() == "money_back"
    statuses = REFUND_WORKFLOW["statuses"]

    def broken(**changes: dict[str, object]) -> dict[str, object]:
        return {"statuses": {k: {**v, **changes.get(k, {})} for k, v in statuses.items()}}

    with pytest.raises(ConfigError, match="refunded must be true or false"):
        workflow.from_config(broken(money_back={"refunded": "yes"}))
    with pytest.raises(ConfigError, match="several workflow statuses are marked refunded"):
        workflow.from_config(broken(done={"refunded": True}))
    with pytest.raises(ConfigError, match="both refunded and initial"):
        workflow.from_config(broken(new={"refunded": True}, money_back={"refunded": False}))
    with pytest.raises(ConfigError, match="both refunded and paid"):
        workflow.from_config(broken(money_back={"refunded": True, "paid": True}))
    # a workflow written before the flag: the status sending the refunded mail gets it
    old = {"statuses": {k: {n: v for n, v in spec.items() if n != "refunded"}
                        for k, spec in statuses.items()}}
    assert workflow.from_config(old).refunded_key() == "money_back"


# ----- 15. refusals name money as the screens do -----------------------------------------------

def test_refusals_that_name_money_format_it(shop: Shop, manager: Actor) -> None:
    with pytest.raises(ValidationError) as discount:
        place(shop, price=1000, discount=5000)  # 12.00 EUR with tax
    assert "50.00 EUR" in str(discount.value) and "12.00 EUR" in str(discount.value)
    assert "5000" not in str(discount.value)
    ref = place(shop, price=1000)
    payments.record_payment(shop, manager, ref.id, 1200)
    with pytest.raises(Refused) as refund:
        payments.refund(shop, manager, ref.id, 2500, "too much")
    assert "25.00 EUR" in str(refund.value) and "2500" not in str(refund.value)
    with pytest.raises(Refused) as payment:
        payments.record_payment(shop, manager, ref.id, 100)
    assert "1.00 EUR" in str(payment.value) and "12.00 EUR" in str(payment.value)


# ----- 3. the note of a status change is internal; a message to the customer is explicit -----

def mail_config(db_url: str, smtp: Server) -> configmod.Config:
    return make_config(db_url, smtp={"port": smtp.port}, shop={"admin_emails": []},
                       mail={"backoff_seconds": 0, "poll_seconds": 0.05})


def text_to(smtp: Server, address: str, kind: str) -> str:
    [message] = [m for m in smtp.received
                 if m["To"] == address and str(m["X-Backroom-Mail"]).startswith(kind)]
    return parts(message)["text/plain"] + parts(message)["text/html"]


def test_a_status_note_never_reaches_the_customer_a_message_does(
        db_url: str, smtp: Server) -> None:
    config = mail_config(db_url, smtp)
    shop = open_shop(config)
    ada = operators.ensure_admin("ada")
    a = place(shop, email="a@example.com")
    b = place(shop, email="b@example.com")
    internal = "customer was rude on the phone"
    change = status.change_status(shop, ada, [a.id], "cancelled", note=internal,
                                  hold_mail=False)
    assert change.mails == 1
    status.change_status(shop, ada, [b.id], "paid", hold_mail=False)
    shipped = status.change_status(shop, ada, [b.id], "shipped", tracking="1Z9", hold_mail=False,
                                   note=internal, message="Sorry for the delay: a gift inside.")
    for mail in Outbox.select().where(Outbox.batch.is_null(False)):
        assert internal not in mail.payload and "note" not in json.loads(mail.payload)
    [status_row] = OrderEvent.select().where(OrderEvent.batch == shipped.batch,
                                             OrderEvent.kind == "status")
    assert status_row.message == internal
    [told] = OrderEvent.select().where(OrderEvent.batch == shipped.batch,
                                       OrderEvent.kind == "note")
    assert (told.message, told.visible) == ("Sorry for the delay: a gift inside.", True)

    deliver_once(config)
    cancelled = text_to(smtp, "a@example.com", "cancelled")
    assert "has been cancelled" in cancelled and internal not in cancelled
    mailed = text_to(smtp, "b@example.com", "shipped")
    assert "Sorry for the delay: a gift inside." in mailed and internal not in mailed
    assert "1Z9" in mailed


def test_a_message_is_refused_when_no_mail_carries_it_and_the_preview_says_it_is_mailed(
        shop: Shop, clerk: Actor) -> None:
    ref = place(shop)
    with pytest.raises(ValidationError, match="customer email is off") as off:
        status.change_status(shop, clerk, [ref.id], "paid", notify=False, message="Hi")
    assert off.value.field == "message"
    preview = status.change_status(shop, clerk, [ref.id], "paid", message="Thanks!",
                                   dry_run=True).describe(shop.workflow)
    assert preview.mails == "1 email(s) will be queued, each with the message to the customer"
    assert preview.message == "Thanks!"
    plain = status.change_status(shop, clerk, [ref.id], "paid", dry_run=True)
    assert plain.describe(shop.workflow).mails == "1 email(s) will be queued"


def test_the_status_mail_payload_built_in_sql_equals_the_python_one(
        shop: Shop, clerk: Actor) -> None:
    refs = [place(shop, email=f"c{i}@example.com") for i in range(3)]
    ids = [r.id for r in refs]
    status.change_status(shop, clerk, ids, "paid", message='Merci « Zoë » "ok"\nline 2')
    orders.set_tracking(shop, clerk, ids[1], "OWN-1", "DHL")
    change = status.change_status(shop, clerk, ids, "shipped", tracking="BULK-2",
                                  carrier="UPS", message="Bon voyage ✈", shared_tracking=True)
    for batch, text in ((None, 'Merci « Zoë » "ok"\nline 2'), (change.batch, "Bon voyage ✈")):
        query = Outbox.select().where(Outbox.batch.is_null(False))
        query = query.where(Outbox.batch == batch) if batch else query.where(
            Outbox.kind == "payment_received")
        for mail in query:
            order = Order.get_by_id(mail.order_id)
            tracking = order.tracking_number if batch else ""
            carrier = order.carrier if batch else ""
            expected = status.status_mail_payload(order.id, order.code, json.loads(
                mail.payload)["status"], tracking, carrier, text)
            assert json.loads(mail.payload) == expected
            assert list(json.loads(mail.payload)) == list(expected)  # same keys, same order


# ----- 4. superseded status mails are withdrawn ------------------------------------------------

def status_mails(order_id: int) -> list[tuple[str, str, str]]:
    return [(m.kind, m.state, m.last_error) for m in Outbox.select().where(
        Outbox.order == order_id, Outbox.batch.is_null(False)).order_by(Outbox.id)]


def test_only_the_latest_status_mail_goes_when_changes_follow_within_the_window(
        db_url: str, smtp: Server) -> None:
    config = mail_config(db_url, smtp)
    shop = open_shop(config)
    clerk = operators.ensure_admin("cleo")
    refs = [place(shop, email=f"c{i}@example.com", payment_method="wire") for i in range(3)]
    ids = [r.id for r in refs]
    deliver_once(config)  # the confirmations
    status.change_status(shop, clerk, ids, "awaiting_verification")
    preview = status.change_status(shop, clerk, ids, "paid", dry_run=True)
    assert preview.withdrawn == 3 and "3 earlier email(s) to withdraw" in preview.summary()
    paid = status.change_status(shop, clerk, ids, "paid")
    assert paid.withdrawn == 3
    shipped = status.change_status(shop, clerk, ids, "shipped", tracking="1Z1",
                                   shared_tracking=True)
    assert "3 earlier email(s) withdrawn" in shipped.summary()
    for oid in ids:
        assert status_mails(oid) == [
            ("awaiting_verification", "cancelled", "superseded by Paid / processing"),
            ("payment_received", "cancelled", "superseded by Shipped"),
            ("shipped", "queued", "")]
    history = [(e.message, e.batch, e.visible) for e in OrderEvent.select().where(
        OrderEvent.order == ids[0], OrderEvent.kind == "mail_withdrawn").order_by(OrderEvent.id)]
    assert history == [
        ("awaiting_verification mail withdrawn: superseded by Paid / processing", paid.batch,
         False),
        ("payment_received mail withdrawn: superseded by Shipped", shipped.batch, False)]

    over = utcnow() - dt.timedelta(seconds=1)  # the undo window has passed
    Outbox.update(hold_until=over, next_attempt_at=over).where(
        Outbox.state == "queued").execute()
    smtp.received.clear()
    deliver_once(config)
    assert sorted((m["To"], str(m["X-Backroom-Mail"]).split()[0]) for m in smtp.received) == [
        (f"c{i}@example.com", "shipped") for i in range(3)]


def test_undo_of_the_later_change_keeps_the_earlier_mail_withdrawn(
        shop: Shop, clerk: Actor) -> None:
    ref = place(shop, payment_method="wire")
    first = status.change_status(shop, clerk, [ref.id], "awaiting_verification")
    later = status.change_status(shop, clerk, [ref.id], "paid")
    back = undo.undo(shop, clerk, later.batch)
    assert back.withdrawn == 1 and Order.get_by_id(ref.id).status == "awaiting_verification"
    assert status_mails(ref.id) == [
        ("awaiting_verification", "cancelled", "superseded by Paid / processing"),
        ("payment_received", "cancelled", "withdrawn by undo")]
    # the first change can still be undone; it has no mail left to withdraw
    again = undo.undo(shop, clerk, first.batch)
    assert (again.withdrawn, Order.get_by_id(ref.id).status) == (0, "awaiting_payment")
    confirmation = Outbox.get(Outbox.order == ref.id, Outbox.kind == "order_placed")
    assert confirmation.state == "queued"  # never a status mail: never superseded


# ----- 9. erasure erases the customer's mails; resending needs the sender's role --------------

def test_erasing_a_customer_erases_every_mail_to_them_and_none_can_be_resent(
        shop: Shop, admin: Actor, manager: Actor, clerk: Actor) -> None:
    ann = customers.create_customer(shop, manager, email="Ann@Example.com", first_name="Ann",
                                    last_name="Smith")
    customers.send_one_off(shop, manager, ann.id, "Your parcel", "The secret code is 1234")
    own = place(shop, customer_id=ann.id)
    guest = place(shop, email="ann@EXAMPLE.com", name="Ann Smith")  # a guest order, same address
    other = place(shop, email="bob@example.com")
    status.change_status(shop, clerk, [own.id, guest.id], "paid", hold_mail=False)
    Outbox.update(state="sent", sent_at=utcnow()).where(Outbox.kind == "one_off").execute()
    theirs = [m.id for m in Outbox.select().where(
        (Outbox.customer == ann.id) | (fn.lower(Outbox.recipient) == "ann@example.com"))]
    assert len(theirs) == 6  # confirm, one-off, 2 placed, 2 payment received

    customers.delete_customer(shop, admin, ann.id, "ann@example.com")

    for mail in Outbox.select().where(Outbox.id.in_(theirs)):
        assert (mail.state, mail.recipient, mail.subject, mail.payload) == ("erased", "", "", "{}")
        with pytest.raises(Refused, match="erased"):
            outboxmod.resend_mail(shop, admin, mail.id)
    rest = Outbox.select().where(Outbox.id.not_in(theirs))
    assert {(m.kind, m.state) for m in rest} == {("merchant_new_order", "queued"),
                                                ("order_placed", "queued")}
    assert Outbox.get(Outbox.order == other.id, Outbox.kind == "order_placed").recipient == (
        "bob@example.com")
    assert outbox_queries.outbox_counts()["erased"] == 6
    assert len(outbox_queries.outbox_page("erased").rows) == 6


def test_resending_needs_the_role_of_the_action_that_sent_the_mail(
        shop: Shop, manager: Actor, clerk: Actor) -> None:
    ann = customers.create_customer(shop, manager, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    customers.send_one_off(shop, manager, ann.id, "Hello", "A word from the shop")
    ref = place(shop, customer_id=ann.id)
    status.change_status(shop, clerk, [ref.id], "paid", hold_mail=False)
    Outbox.update(state="sent").execute()
    one_off = Outbox.get(Outbox.kind == "one_off").id
    confirm = Outbox.get(Outbox.kind == "account_confirm").id
    paid = Outbox.get(Outbox.kind == "payment_received").id
    with pytest.raises(PermissionDenied, match="only a manager or above may send one-off"):
        outboxmod.resend_mail(shop, clerk, one_off)
    with pytest.raises(PermissionDenied, match="manager"):
        outboxmod.resend_mail(shop, clerk, confirm)
    assert outboxmod.resend_mail(shop, manager, one_off).state == "queued"
    assert outboxmod.resend_mail(shop, clerk, paid).state == "queued"  # a status mail: clerk


# ----- 10. CSV cells never run as formulas ------------------------------------------------------

def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_a_text_cell_never_starts_a_formula_and_keeps_its_text(text: str) -> None:
    [header, [cell]] = read_back(csvout.csv_text([{"name": text}], ["name"]))
    assert header == ["name"]
    if text.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert cell == "'" + text
    else:
        assert cell == text
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@given(st.one_of(st.integers(), st.decimals(allow_nan=False, allow_infinity=False)))
def test_number_cells_stay_numbers(number: int | Decimal) -> None:
    buffer = io.StringIO()
    csvout.SafeWriter(buffer).writerow([number, str(number)])
    [[as_number, as_text]] = read_back(buffer.getvalue())
    assert as_number == str(number)  # negative numbers too: not prefixed
    assert as_text == (f"'{number}" if str(number).startswith("-") else str(number))


def test_the_formula_names_of_issue_11_come_out_as_text() -> None:
    rows = [{"id": 7, "name": "+SUM(1,2)", "email": "=HYPERLINK(\"http://x\")", "spent": -1250,
             "note": "@cmd", "city": None, "extra": "left out"}]
    out = read_back(csvout.csv_text(rows, ["id", "name", "email", "spent", "note", "city"]))
    assert out == [["id", "name", "email", "spent", "note", "city"],
                   ["7", "'+SUM(1,2)", "'=HYPERLINK(\"http://x\")", "-1250", "'@cmd", ""]]


# ----- 11. the GDPR export ---------------------------------------------------------------------

def test_the_export_is_private_unique_and_holds_every_order_with_the_customers_email(
        shop: Shop, manager: Actor, clerk: Actor, tmp_path: Path) -> None:
    ann = customers.create_customer(shop, manager, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    own = place(shop, customer_id=ann.id)
    guest = place(shop, email="ANN@Example.com", name="Ann S.")  # before she registered
    other = place(shop, email="bob@example.com", name="Bob")
    status.change_status(shop, clerk, [guest.id], "paid", note="internal: paid by her sister",
                         hold_mail=False)
    old = os.umask(0o022)
    try:
        first = customers_queries.export_customer(shop, manager, ann.id, tmp_path)
        second = customers_queries.export_customer(shop, manager, ann.id, tmp_path)
    finally:
        os.umask(old)
    assert first.path != second.path and first.path.exists() and second.path.exists()
    assert first.path.stat().st_mode & 0o777 == 0o600
    doc = json.loads(second.path.read_text(encoding="utf-8"))
    assert [o["code"] for o in doc["orders"]] == [own.code, guest.code]
    assert other.code not in second.path.read_text(encoding="utf-8")
    assert "sister" not in second.path.read_text(encoding="utf-8")  # a note is internal
    mailed = {(m["kind"], m["order_id"]) for m in doc["mails"]}
    assert {("order_placed", own.id), ("order_placed", guest.id),
            ("payment_received", guest.id)} <= mailed
    assert all(m["recipient"].lower() == "ann@example.com" for m in doc["mails"])
    assert (first.orders, len(doc["orders"])) == (2, 2)


def test_an_export_that_cannot_be_written_is_one_line_and_records_nothing(
        shop: Shop, manager: Actor) -> None:
    ann = customers.create_customer(shop, manager, email="ann@example.com", first_name="Ann",
                                    last_name="Smith")
    with pytest.raises(ValidationError) as refused:
        customers_queries.export_customer(shop, manager, ann.id, "/proc/nonexistent")
    assert "cannot write the export to /proc/nonexistent" in str(refused.value)
    assert "\n" not in str(refused.value) and refused.value.field == "directory"
    assert not CustomerEvent.select().where(CustomerEvent.kind == "exported").exists()
