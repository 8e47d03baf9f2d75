"""Doors in and out: webhook latency and the Shopify import.

- Webhook latency: a `backroom worker` process runs on a SQLite shop with one endpoint, a
  receiver on loopback notes when each webhook arrives; orders are placed one by one (20 a
  second) and each one's latency is from its commit to the arrival of its first attempt.
  Beside it, the floor: the same receiver reached by a bare httpx POST right after a commit.
  Target: p99 <= 5 s.
- Import: a Shopify orders export of N orders (generated here, in the documented columns,
  ~1.6 line items an order, 70 % of orders by 20 % as many returning customers, the rest
  guests) imported into an empty shop, beside the demo builder writing N orders into another
  (store.demo), and beside a raw floor (csv.reader and plain sqlite3 executemany of the
  orders and items into bare tables). Target: import <= 2x the demo builder.

--quick: 20 webhooks and 10,000 orders; otherwise 300 webhooks and 100,000 orders. One round
of the three imports either way."""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import tomli_w

TARGET_LATENCY = 5.0
TARGET_IMPORT = 2.0
HEADER = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
          "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
          "Discount Code", "Discount Amount", "Shipping Method", "Created at",
          "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
          "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable",
          "Lineitem fulfillment status", "Billing Name", "Billing Street", "Billing Address1",
          "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
          "Billing Province", "Billing Country", "Billing Phone", "Shipping Name",
          "Shipping Street", "Shipping Address1", "Shipping Address2", "Shipping Company",
          "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country",
          "Shipping Phone", "Notes", "Note Attributes", "Cancelled at", "Payment Method",
          "Payment Reference", "Refunded Amount", "Vendor", "Outstanding Balance", "Employee",
          "Location", "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount",
          "Tax 1 Name", "Tax 1 Value", "Phone", "Receipt Number", "Duties",
          "Billing Province Name", "Shipping Province Name", "Payment ID",
          "Payment Terms Name", "Next Payment Due At", "Payment References"]
FIRST = ("Zoé", "Łukasz", "Søren", "Jürgen", "María", "Siobhán", "Åsa", "Γιώργος", "Дмитрий",
         "山田", "Ann", "Omar")
LAST = ("Lefèvre", "Żółć", "Øster", "Müller", "Núñez", "O'Connor", "Ångström", "Иванов",
        "太郎", "Smith", "Haddad")
CITIES = (("Paris", "'75011", "FR"), ("Kraków", "30-001", "PL"), ("København", "1050", "DK"),
          ("Köln", "50667", "DE"), ("Madrid", "28013", "ES"), ("London", "EC1A 1BB", "GB"),
          ("Barcelona", "'08001", "ES"))
STATUSES = (("paid", "fulfilled"), ("paid", "unfulfilled"), ("pending", "unfulfilled"),
            ("refunded", "fulfilled"), ("partially_refunded", "fulfilled"),
            ("voided", "unfulfilled"), ("paid", "partial"))
STATUS_WEIGHTS = (60, 12, 8, 4, 4, 5, 7)


# ----- a Shopify export ----------------------------------------------------------------------

def write_export(path: Path, orders: int, seed: int = 7) -> int:
    """A Shopify orders export of `orders` orders; the number of rows written."""
    rng = random.Random(seed)
    index = {name: i for i, name in enumerate(HEADER)}
    status_table = [s for s, w in zip(STATUSES, STATUS_WEIGHTS, strict=True) for _ in range(w)]
    customers = max(20, orders // 5)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(orders):
            financial, fulfilment = rng.choice(status_table)
            person = int(customers * rng.random() ** 2)
            guest = rng.random() < 0.3
            first, last = FIRST[person % len(FIRST)], LAST[person % len(LAST)]
            email = "" if guest and rng.random() < 0.5 else (
                f"guest{n}@example.com" if guest else f"customer{person}@example.com")
            city, postcode, country = CITIES[person % len(CITIES)]
            lines = [(rng.randint(1, 3), f"Product {k}", 500 + k * 150, f"SKU-{k:03d}")
                     for k in rng.sample(range(60), 1 + int(rng.random() ** 2 * 3))]
            subtotal = sum(q * p for q, p in ((q, p) for q, _n, p, _s in lines))
            shipping = 0 if subtotal > 5000 else 490
            total = subtotal + shipping
            day = 1 + n * 1000 // max(orders, 1)
            created = (f"2024-{1 + day % 12:02d}-{1 + day % 28:02d} "
                       f"{n % 24:02d}:{n % 60:02d}:07 +0200")
            paid = total if financial in ("paid", "refunded", "partially_refunded") else 0
            refunded = total if financial == "refunded" else (
                500 if financial == "partially_refunded" else 0)
            for k, (quantity, name, price, sku) in enumerate(lines):
                row = [""] * len(HEADER)
                row[index["Name"]] = f"#{1001 + n}"
                row[index["Email"]] = email
                row[index["Lineitem quantity"]] = str(quantity)
                row[index["Lineitem name"]] = name
                row[index["Lineitem price"]] = f"{price / 100:.2f}"
                row[index["Lineitem sku"]] = sku
                if k == 0:
                    values = {
                        "Financial Status": financial, "Fulfillment Status": fulfilment,
                        "Paid at": created if paid else "", "Accepts Marketing": "yes"
                        if person % 3 == 0 else "no", "Currency": "EUR",
                        "Subtotal": f"{subtotal / 100:.2f}", "Shipping": f"{shipping / 100:.2f}",
                        "Taxes": "0.00", "Total": f"{total / 100:.2f}",
                        "Shipping Method": "Standard", "Created at": created,
                        "Billing Name": f"{first} {last}", "Billing Address1": "1 Main Street",
                        "Billing City": city, "Billing Zip": postcode,
                        "Billing Country": country, "Shipping Name": f"{first} {last}",
                        "Shipping Address1": "1 Main Street", "Shipping City": city,
                        "Shipping Zip": postcode, "Shipping Country": country,
                        "Payment Method": "Shopify Payments",
                        "Refunded Amount": f"{refunded / 100:.2f}",
                        "Outstanding Balance": f"{(total - paid) / 100:.2f}",
                        "Id": str(5000000 + n), "Source": "web"}
                    for name_, value in values.items():
                        row[index[name_]] = value
                writer.writerow(row)
                rows += 1
    return rows


# ----- the import beside the demo builder ----------------------------------------------------

def _fresh(directory: Path, name: str) -> Any:
    from store import db as dbmod
    from store.config import from_mapping
    from store.shop import open_shop

    dbmod.close()
    path = directory / name
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    return open_shop(from_mapping({"database": {"url": f"sqlite:///{path}"}}, "bench",
                                  environ={}))


def time_import(directory: Path, export: Path) -> float:
    from store import db as dbmod
    from store import operators
    from store.imports import shopify

    shop = _fresh(directory, "import.db")
    admin = operators.ensure_admin("bench")
    started = time.perf_counter()
    report = shopify.run(shop, admin, export)
    seconds = time.perf_counter() - started
    assert not report.refused and not report.blocked, report.summary()
    dbmod.close()
    return seconds


def time_demo(directory: Path, orders: int) -> float:
    from store import db as dbmod
    from store import demo

    shop = _fresh(directory, "demo.db")
    started = time.perf_counter()
    demo.build(shop, orders, seed=1)
    seconds = time.perf_counter() - started
    dbmod.close()
    return seconds


def time_raw(directory: Path, export: Path) -> float:
    """The floor: csv.reader and plain sqlite3 executemany into bare tables."""
    path = directory / "raw.db"
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT UNIQUE, email TEXT, "
                 "status TEXT, total INTEGER, placed TEXT)")
    conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, order_id INTEGER, sku TEXT, "
                 "name TEXT, quantity INTEGER, price INTEGER)")
    with export.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = {name: i for i, name in enumerate(next(reader))}
        orders: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        current = ""
        for row in reader:
            name = row[header["Name"]]
            if name != current:
                current = name
                orders.append((len(orders) + 1, name, row[header["Email"]],
                               row[header["Financial Status"]],
                               round(float(row[header["Total"]]) * 100),
                               row[header["Created at"]]))
            items.append((len(orders), row[header["Lineitem sku"]], row[header["Lineitem name"]],
                          int(row[header["Lineitem quantity"]]),
                          round(float(row[header["Lineitem price"]]) * 100)))
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders)
    conn.executemany("INSERT INTO item (order_id, sku, name, quantity, price) "
                     "VALUES (?, ?, ?, ?, ?)", items)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


# ----- webhook latency -----------------------------------------------------------------------

class _Receiver:
    """A loopback receiver noting when each webhook-id first arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                now = time.time()
                self.rfile.read(int(self.headers.get("content-length", "0")))
                arrived.setdefault(self.headers.get("webhook-id", ""), now)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        # polled every 50 ms, not 0.5 s: stop() waits for the poll
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def webhook_latency(directory: Path, count: int) -> tuple[list[float], list[float]]:
    """(latencies through a running worker, floor latencies of a bare POST), in seconds."""
    import httpx

    from store import db as dbmod
    from store import operators, orders, webhooks
    from store.models import WebhookDelivery
    from store.operators import STOREFRONT

    receiver = _Receiver()
    path = directory / "hooks.db"
    shop = _fresh(directory, "hooks.db")
    admin = operators.ensure_admin("bench")
    webhooks.add_endpoint(shop, admin, receiver.url, ["order.placed"])
    config = directory / "worker.toml"
    config.write_text(tomli_w.dumps({
        "database": {"url": f"sqlite:///{path}"},
        "operators": {"service_accounts": [operators.process_owner()]},
        "smtp": {"port": 9, "timeout_seconds": 1.0}, "mail": {"backoff_seconds": 3600}}),
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("BACKROOM_OPERATOR", "BACKROOM_DATABASE_URL")}
    worker = subprocess.Popen([str(Path(sys.executable).with_name("backroom")), "--config",
                               str(config), "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    committed: dict[str, float] = {}
    try:
        time.sleep(1.0)  # the worker's start-up is not a webhook's wait
        item = orders.ItemInput("SKU-1", "Mug", 1, 1290)
        for n in range(count):
            ref = orders.place_order(shop, STOREFRONT, items=[item], guest_name="Ann Smith",
                                     guest_email=f"ann{n}@example.com")
            committed[f"msg_placed{ref.id}_1"] = time.time()
            time.sleep(0.05)
        deadline = time.time() + 60
        while len(receiver.arrived) < count and time.time() < deadline:
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    through = [receiver.arrived[k] - at for k, at in committed.items() if k in receiver.arrived]
    missing = count - len(through)
    if missing:
        through += [float("inf")] * missing
    assert WebhookDelivery.select().count() == count
    floor = []
    with httpx.Client() as client:
        for n in range(min(count, 50)):
            started = time.time()
            client.post(receiver.url, content=b"{}", headers={"webhook-id": f"raw{n}"})
            floor.append(receiver.arrived[f"raw{n}"] - started)
    receiver.stop()
    dbmod.close()
    return through, floor


def main(quick: bool = False) -> tuple[int, int]:
    met = total = 0
    count, orders = (20, 10_000) if quick else (300, 100_000)
    with tempfile.TemporaryDirectory(prefix="backroom-bench-hooks-") as tmp:
        directory = Path(tmp)
        through, floor = webhook_latency(directory, count)
        p50, p99 = statistics.median(through), _p99(through)
        print(f"webhook, commit to first attempt ({count} orders, worker running): "
              f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(through) * 1000:.0f}"
              f" ms beside a bare POST after the commit: p50 {statistics.median(floor) * 1000:.1f}"
              " ms")
        total += 1
        met += p99 <= TARGET_LATENCY
        print(f"  target webhook first attempt p99 <= {TARGET_LATENCY:g} s: {p99:.2f} s, "
              f"{'met' if p99 <= TARGET_LATENCY else 'MISSED'}")

        export = directory / "orders_export.csv"
        rows = write_export(export, orders)
        rounds = 1
        imports, demos, raws = [], [], []
        for _ in range(rounds):  # interleaved
            imports.append(time_import(directory, export))
            demos.append(time_demo(directory, orders))
            raws.append(time_raw(directory, export))
        ours, demo, raw = (statistics.median(v) for v in (imports, demos, raws))
        ratio = ours / demo
        print(f"import of a {orders:,}-order Shopify export ({rows:,} rows): {ours:.1f} s "
              f"({orders / ours:,.0f} orders/s) beside the demo builder writing {orders:,} "
              f"orders {demo:.1f} s and raw csv+sqlite3 {raw:.1f} s")
        total += 1
        met += ratio <= TARGET_IMPORT
        print(f"  target import <= {TARGET_IMPORT:g}x the demo builder: {ratio:.2f}x, "
              f"{'met' if ratio <= TARGET_IMPORT else 'MISSED'}")
    return met, total


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    done, of = main(quick)
    print(f"bench: {done} of {of} targets met")
