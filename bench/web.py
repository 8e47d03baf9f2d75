"""`POST /v1/orders` through a real `backroom serve` (a subprocess on a loopback port, run as
by default: no access log, httptools and uvloop), from 8 concurrent clients each on a kept-alive
connection and each order with an Idempotency-Key, beside the floor measured in the same
run: `store.orders.place_order` called directly, one order after another, in this process.
Both write the same guest order (two lines, two addresses, a confirmation mail and the
shop's notice) to one fresh shop database. Medians of interleaved rounds.

Targets: the server sustains >= 0.5x the direct calls' orders per second, and its p99
latency is <= 5x its p50. On a fresh SQLite file by default; with $BACKROOM_BENCH_PG_URL
(a PostgreSQL server URL whose role may create databases) on a scratch PostgreSQL database
as well. --quick: 100 orders a round, 3 rounds (else 1,000 and 5)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import tomli_w

CLIENTS = 8
TARGET_RATE = 0.5
TARGET_TAIL = 5.0
BACKROOM = str(Path(sys.executable).with_name("backroom"))
ADDRESS = {"first_name": "Ann", "last_name": "Smith", "line1": "1 Rue de la Paix",
           "postcode": "75002", "city": "Paris", "country": "FR"}
ITEMS = [("MUG-1", "Mug", 2, 1250, 2000), ("TEA-9", "Tea", 1, 799, 550)]
BODY = {"guest_name": "Ann Smith", "guest_email": "ann@example.com", "currency": "EUR",
        "items": [{"sku": s, "name": n, "quantity": q, "unit_price": p, "tax_rate_bp": t}
                  for s, n, q, p, t in ITEMS],
        "shipping_address": ADDRESS, "billing_address": ADDRESS,
        "shipping_method": "colissimo", "shipping_cost": 490, "tax": 544, "total": 4333,
        "payment_method": "card"}


def _owner() -> str:
    from store.operators import process_owner

    return process_owner()


def _prepare(url: str, folder: Path) -> tuple[Path, str]:
    """A config file on `url` (this process's account may run `serve` as a service) and an
    API key for the storefront."""
    from store import api_keys, operators
    from store import db as dbmod
    from store.config import from_mapping
    from store.shop import open_shop

    raw = {"database": {"url": url}, "operators": {"service_accounts": [_owner()]}}
    config = folder / "config.toml"
    config.write_text(tomli_w.dumps(raw), encoding="utf-8")
    open_shop(from_mapping(raw, "bench", environ={}))
    token = api_keys.create(operators.ensure_admin("bench"), f"bench-{uuid.uuid4().hex[:8]}",
                            ["orders:write"])[1]
    dbmod.close()
    return config, token


@contextmanager
def _server(config: Path, folder: Path) -> Iterator[int]:
    """`backroom serve --port 0` with its log in a file; the port it listens on."""
    log_path = folder / "serve.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("BACKROOM_OPERATOR", "BACKROOM_CONFIG", "BACKROOM_DATABASE_URL")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([BACKROOM, "--config", str(config), "serve", "--port", "0"],
                                   stdout=log, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            found = re.search(r"running on http://127\.0\.0\.1:(\d+)",
                              log_path.read_text(errors="replace"))
            if found:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("backroom serve did not start: "
                                   + log_path.read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        yield int(found.group(1))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _direct(url: str, count: int) -> float:
    """Orders per second of store.orders.place_order, called one after another."""
    from store import db as dbmod
    from store import orders
    from store.api_keys import actor_for
    from store.config import from_mapping
    from store.orders import ItemInput
    from store.shop import open_shop

    shop = open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))
    actor = actor_for("direct")
    items = [ItemInput(*i) for i in ITEMS]
    started = time.perf_counter()
    for _ in range(count):
        orders.place_order(shop, actor, items=items, guest_name="Ann Smith",
                           guest_email="ann@example.com", currency="EUR",
                           shipping_address=ADDRESS, billing_address=ADDRESS,
                           shipping_method="colissimo", shipping_cost=490, expected_tax=544,
                           expected_total=4333, payment_method="card")
    took = time.perf_counter() - started
    dbmod.close()
    return count / took


def _http(port: int, token: str, count: int) -> tuple[float, list[float]]:
    """Orders per second through the server from CLIENTS threads, and each request's
    latency in seconds."""
    body = json.dumps(BODY).encode()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    share = [count // CLIENTS + (1 if i < count % CLIENTS else 0) for i in range(CLIENTS)]
    ready = threading.Barrier(CLIENTS + 1)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        ready.wait()
        for _ in range(n):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                       "Idempotency-Key": uuid.uuid4().hex}
            started = time.perf_counter()
            conn.request("POST", "/v1/orders", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 201:
                with lock:
                    failures.append(f"{response.status} {answer[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} request(s) failed, first: {failures[0]}")
    return count / took, latencies


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _measure(label: str, url: str, folder: Path, count: int, rounds: int) -> tuple[int, int]:
    config, token = _prepare(url, folder)
    direct_rates: list[float] = []
    http_rates: list[float] = []
    latencies: list[float] = []
    with _server(config, folder) as port:
        _http(port, token, CLIENTS * 5)  # warm-up: connections, imports, the first writes
        _direct(url, 20)
        for _ in range(rounds):
            direct_rates.append(_direct(url, count))
            rate, times = _http(port, token, count)
            http_rates.append(rate)
            latencies.extend(times)
    direct, served = statistics.median(direct_rates), statistics.median(http_rates)
    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    met = 0
    ratio = served / direct
    ok = ratio >= TARGET_RATE
    met += ok
    print(f"POST /v1/orders through backroom serve ({label}, {CLIENTS} clients): {served:.0f} "
          f"orders/s beside store.orders.place_order called directly {direct:.0f} orders/s "
          f"({ratio:.2f}x), target >= {TARGET_RATE}x, {'met' if ok else 'MISSED'}")
    tail = p99 / p50
    ok = tail <= TARGET_TAIL
    met += ok
    print(f"  latency at {CLIENTS} clients ({label}): p50 {p50 * 1000:.1f} ms, p99 "
          f"{p99 * 1000:.1f} ms ({tail:.2f}x p50), target p99 <= {TARGET_TAIL:g}x p50, "
          f"{'met' if ok else 'MISSED'}")
    print(f"  (rounds: direct {', '.join(f'{r:.0f}' for r in direct_rates)}; served "
          f"{', '.join(f'{r:.0f}' for r in http_rates)} orders/s)")
    return met, 2


@contextmanager
def _pg_database(server_url: str) -> Iterator[str]:
    """A scratch PostgreSQL database on the server, dropped afterwards."""
    import psycopg2

    name = f"backroom_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(server_url)._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main(quick: bool = False) -> tuple[int, int]:
    count, rounds = (100, 3) if quick else (1000, 5)
    met = total = 0
    with tempfile.TemporaryDirectory(prefix="backroom-bench-web-") as tmp:
        folder = Path(tmp)
        m, t = _measure("SQLite", f"sqlite:///{folder / 'shop.db'}", folder, count, rounds)
        met, total = met + m, total + t
    pg = os.environ.get("BACKROOM_BENCH_PG_URL", "")
    if pg:
        with tempfile.TemporaryDirectory(prefix="backroom-bench-web-") as tmp, \
                _pg_database(pg) as url:
            m, t = _measure("PostgreSQL", url, Path(tmp), count, rounds)
            met, total = met + m, total + t
    return met, total


def _cli(argv: list[str]) -> Any:
    quick = "--quick" in argv
    met, total = main(quick)
    print(f"bench.web: {met} of {total} targets met")


if __name__ == "__main__":
    _cli(sys.argv[1:])
