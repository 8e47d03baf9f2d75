"""`backroom worker` as a process: SIGKILL mid-batch loses nothing, SIGTERM stops cleanly;
and the store's side of the outbox (counts, pages, retry, cancel, resend)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from store import outbox as outboxmod
from store import outbox_queries
from store.errors import PermissionDenied, Refused
from store.models import Outbox
from store.operators import Actor
from store.shop import Shop, open_shop
from tests.conftest import make_config
from tests.factories import place
from tests.mail_server import Server, wait_for

BACKROOM = str(Path(sys.executable).with_name("backroom"))


@pytest.fixture
def slow_smtp() -> Iterator[Server]:
    server = Server()
    server.handler.data_delay = 0.05
    server.start()
    yield server
    server.stop()


def worker_config(tmp_path: Path, db_url: str, port: int) -> Path:
    path = tmp_path / "worker.toml"
    path.write_text(tomli_w.dumps({
        "database": {"url": db_url},
        "smtp": {"port": port, "connections": 2, "timeout_seconds": 10.0},
        "mail": {"batch_size": 8, "lease_seconds": 1, "poll_seconds": 0.1,
                 "backoff_seconds": 0},
    }), encoding="utf-8")
    return path


def start_worker(config_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "BACKROOM_DATABASE_URL"}
    return subprocess.Popen([BACKROOM, "--config", str(config_path), "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def states() -> Counter[str]:
    return Counter(state for (state,) in Outbox.select(Outbox.state).tuples())


@pytest.mark.slow
def test_worker_killed_mid_batch_loses_nothing(db_url: str, tmp_path: Path,
                                               slow_smtp: Server) -> None:
    shop = open_shop(make_config(db_url))
    for i in range(20):
        place(shop, email=f"c{i}@example.com")
    config_path = worker_config(tmp_path, db_url, slow_smtp.port)
    first = start_worker(config_path)
    wait_for(lambda: len(slow_smtp.received) >= 5, what="the first mails")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert len(slow_smtp.received) < 40  # killed mid-way
    assert states()["sending"] > 0  # it held leases when it died

    second = start_worker(config_path)
    try:
        wait_for(lambda: states()["sent"] == 40, timeout=60, what="every mail sent")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    expected = {m for (m,) in Outbox.select(Outbox.message_id).tuples()}
    arrived = Counter(m["Message-ID"] for m in slow_smtp.received)
    assert set(arrived) == expected and len(expected) == 40
    assert max(arrived.values()) <= 2  # a mail in flight at the kill may come twice


@pytest.mark.slow
def test_sigterm_stops_cleanly_without_losing_a_claimed_mail(db_url: str, tmp_path: Path,
                                                             slow_smtp: Server) -> None:
    shop = open_shop(make_config(db_url))
    for i in range(20):
        place(shop, email=f"c{i}@example.com")
    worker = start_worker(worker_config(tmp_path, db_url, slow_smtp.port))
    wait_for(lambda: len(slow_smtp.received) >= 3, what="the first mails")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    counts = states()
    assert counts["sending"] == 0  # every claimed mail was sent or given back
    assert counts["sent"] + counts["queued"] == 40
    sent_ids = {m for (m,) in Outbox.select(Outbox.message_id)
                .where(Outbox.state == "sent").tuples()}
    assert {m["Message-ID"] for m in slow_smtp.received} == sent_ids
    assert b"sent" in worker.stdout.read()  # type: ignore[union-attr]


# ----- the store's side -----------------------------------------------------------------------

def test_counts_pages_retry_cancel_resend(shop: Shop, admin: Actor, clerk: Actor,
                                          viewer: Actor) -> None:
    refs = [place(shop, email=f"c{i}@example.com") for i in range(3)]
    counts = outbox_queries.outbox_counts()
    assert counts["queued"] == 6 and counts["_all"] == 6
    first = outbox_queries.outbox_page(None, None, 4)
    assert len(first.rows) == 4 and first.next_cursor
    rest = outbox_queries.outbox_page(None, first.next_cursor, 4)
    assert len(rest.rows) == 2 and rest.next_cursor is None
    assert [r.id for r in first.rows + rest.rows] == sorted(
        (r.id for r in first.rows + rest.rows), reverse=True)
    mine = outbox_queries.outbox_page(None, None, 10, order_id=refs[0].id).rows
    assert {r.order_code for r in mine} == {refs[0].code}

    customer_mail = next(r for r in mine if r.kind == "order_placed")
    with pytest.raises(Refused, match="only a failed or dead"):
        outboxmod.retry_mail(shop, clerk, customer_mail.id)
    with pytest.raises(PermissionDenied):
        outboxmod.cancel_mail(shop, viewer, customer_mail.id)
    cancelled = outboxmod.cancel_mail(shop, clerk, customer_mail.id)
    assert cancelled.state == "cancelled" and "cleo" in cancelled.last_error
    with pytest.raises(Refused):
        outboxmod.cancel_mail(shop, clerk, customer_mail.id)

    Outbox.update(state="failed", attempts=1, last_error="550 no such user").where(
        Outbox.id == mine[0].id).execute()
    retried = outboxmod.retry_mail(shop, clerk, mine[0].id)
    assert retried.state == "queued" and retried.attempts == 0
    assert "550 no such user" in retried.last_error

    Outbox.update(state="sent").where(Outbox.id == retried.id).execute()
    copy = outboxmod.resend_mail(shop, clerk, retried.id)
    assert copy.id != retried.id and copy.state == "queued"
    assert (copy.kind, copy.recipient, copy.order_id) == (retried.kind, retried.recipient,
                                                           retried.order_id)
    assert outbox_queries.outbox_counts()["sent"] == 1


def test_run_blocking_delivers_in_a_thread_and_stops_when_told(db_url: str) -> None:
    """The TUI's background loop: mails placed while it runs arrive; `stop` ends it."""
    import threading

    from mailer.worker import run_blocking

    server = Server().start()
    try:
        config = make_config(db_url, smtp={"port": server.port},
                             mail={"poll_seconds": 0.05, "backoff_seconds": 0})
        shop = open_shop(config)
        stop = threading.Event()
        loop = threading.Thread(target=run_blocking, args=(config, stop))
        loop.start()
        for i in range(3):
            place(shop, email=f"c{i}@example.com")
        wait_for(lambda: states()["sent"] == 6, what="six mails sent")
        stop.set()
        loop.join(timeout=30)
        assert not loop.is_alive()
        assert sorted(m["To"] for m in server.received)[:3] == [
            "c0@example.com", "c1@example.com", "c2@example.com"]
    finally:
        server.stop()
