"""Mail throughput: 2,000 mails through the outbox (claim, render, send, mark) to a loopback
aiosmtpd, beside raw aiosmtplib with as many reused connections, and beside one connection
per mail. Targets: >= 0.8x raw reused, >= 3x one connection per mail.

The SMTP server (aiosmtpd) runs in a child process, the same for the three contestants, so
that the figures are the client's: backroom's claim, render, send and mark against raw sends."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib

CONNECTIONS = 16
ROUNDS = 2  # best of two for each contestant: the machine is shared


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _serve(port: int, ready: Any, stop: Any) -> None:
    """The relay, in a child process: its CPU is not counted against the client's."""
    from aiosmtpd.controller import Controller

    controller = Controller(_Counter(), hostname="127.0.0.1", port=port,
                            server_hostname="bench")
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def _message(i: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "My Shop <shop@example.com>"
    message["To"] = f"c{i}@example.com"
    message["Subject"] = f"Your order BR-{100000 + i} at My Shop"
    message["Message-ID"] = f"<raw.{i}@example.com>"
    message.set_content("Hello,\n\nThank you for your order.\n" * 20)
    message.add_alternative("<p>Hello,</p><p>Thank you for your order.</p>" * 20,
                            subtype="html")
    return message


async def _raw_reused(port: int, messages: list[EmailMessage], connections: int) -> float:
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                               local_hostname="bench")
        await smtp.connect()
        while not queue.empty():
            await smtp.send_message(queue.get_nowait())
        await smtp.quit()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(messages) / (time.perf_counter() - start)


async def _one_per_mail(port: int, messages: list[EmailMessage]) -> float:
    start = time.perf_counter()
    for m in messages:
        await aiosmtplib.send(m, hostname="127.0.0.1", port=port, start_tls=False,
                              local_hostname="bench")
    return len(messages) / (time.perf_counter() - start)


def _backroom(port: int, count: int, workdir: Path) -> float:
    from mailer.delivery import Deliverer
    from store import orders
    from store.config import from_mapping
    from store.models import Outbox
    from store.operators import STOREFRONT
    from store.orders import ItemInput
    from store.shop import open_shop

    config = from_mapping({
        "database": {"url": f"sqlite:///{workdir / 'bench.db'}"},
        "smtp": {"port": port, "connections": CONNECTIONS},
        "mail": {"batch_size": 200},
    }, "bench", environ={})
    shop = open_shop(config)
    address = {"first_name": "Ann", "last_name": "Smith", "line1": "1 Rue de la Paix",
               "postcode": "75002", "city": "Paris", "country": "FR"}
    for i in range(count // 2):  # each order queues two mails: customer and merchant
        orders.place_order(shop, STOREFRONT, guest_name=f"Customer {i}",
                           guest_email=f"c{i}@example.com", shipping_address=address,
                           billing_address=address, payment_method="wire",
                           items=[ItemInput("MUG-1", "Mug", 2, 1999, 2000),
                                  ItemInput("TEA-2", "Tea", 1, 850, 550)])
    best = 0.0
    for _ in range(ROUNDS):
        Outbox.update(state="queued", attempts=0, sent_at=None).execute()
        deliverer = Deliverer(config, shop.workflow)
        start = time.perf_counter()
        stats = asyncio.run(deliverer.run(once=True))
        elapsed = time.perf_counter() - start
        sent = Outbox.select().where(Outbox.state == "sent").count()
        if sent != count or stats.sent != count:
            raise SystemExit(f"bench/mail: only {sent} of {count} mails sent "
                             f"({stats.summary()})")
        best = max(best, count / elapsed)
    return best


def _line(name: str, ours: float, theirs: float, label: str, target: float) -> bool:
    ratio = ours / theirs if theirs else 0.0
    met = ratio >= target
    print(f"{name}: backroom {ours:,.0f} msg/s beside {label} {theirs:,.0f} msg/s "
          f"({ratio:.2f}x), target >= {target:g}x, {'met' if met else 'MISSED'}")
    return met


def main(quick: bool = False) -> tuple[int, int]:
    count = 400 if quick else 2000
    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    server = ctx.Process(target=_serve, args=(port, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(60):
            raise SystemExit("bench/mail: the SMTP server did not start")
        messages = [_message(i) for i in range(count)]
        raw = max(asyncio.run(_raw_reused(port, messages, CONNECTIONS)) for _ in range(ROUNDS))
        single = max(asyncio.run(_one_per_mail(port, messages[: max(count // 4, 100)]))
                     for _ in range(ROUNDS))
        with tempfile.TemporaryDirectory() as tmp:
            ours = _backroom(port, count, Path(tmp))
    finally:
        stop.set()
        server.join(10)
    met = _line(f"mail ({count} mails, {CONNECTIONS} connections)", ours, raw,
                f"raw aiosmtplib reused x{CONNECTIONS}", 0.8)
    met2 = _line("mail vs one connection per mail", ours, single,
                 "raw aiosmtplib one connection per mail", 3.0)
    return int(met) + int(met2), 2


if __name__ == "__main__":
    done, total = main("--quick" in sys.argv)
    print(f"bench: {done} of {total} targets met")
