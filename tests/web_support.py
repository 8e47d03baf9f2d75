"""What the storefront API tests share: request bodies, API keys made through the store, and
a real `backroom serve` on a free loopback port (a subprocess, stopped with SIGTERM)."""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from store import api_keys
from store.operators import Actor
from tests.conftest import cli_config

BACKROOM = str(Path(sys.executable).with_name("backroom"))
ADDRESS = {"first_name": "Ann", "last_name": "Smith", "line1": "1 Rue de la Paix",
           "postcode": "75002", "city": "Paris", "country": "FR"}
ORDER: dict[str, Any] = {
    "guest_name": "Ann Smith", "guest_email": "ann@example.com", "currency": "EUR",
    "items": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": 1250,
               "tax_rate_bp": 2000},
              {"sku": "TEA-9", "name": "Tea", "quantity": 1, "unit_price": 799,
               "tax_rate_bp": 550}],
    "shipping_address": ADDRESS, "billing_address": ADDRESS,
    "shipping_method": "colissimo", "shipping_cost": 490, "discount": 0,
    "tax": 544, "total": 4333, "payment_method": "card",
}  # 2 x 12.50 + 7.99 = 32.99; tax 5.00 + 0.44; shipping 4.90: 43.33


def order(**changes: Any) -> dict[str, Any]:
    """The sample order with some fields replaced (a deep copy each time)."""
    body = copy.deepcopy(ORDER)
    body.update(changes)
    return body


def make_key(admin: Actor, name: str, *scopes: str) -> str:
    """A new API key's token, made as `backroom apikey add` makes it."""
    return api_keys.create(admin, name, scopes)[1]


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@dataclass
class Served:
    """A running `backroom serve`."""

    process: subprocess.Popen[bytes]
    port: int
    log: list[str]

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        """One request on a connection of its own: (status, body bytes, headers)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = json.dumps(body).encode() if body is not None else None
            sent = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, response.read(), {k.lower(): v for k, v in
                                                      response.getheaders()}
        finally:
            conn.close()


@contextlib.contextmanager
def serve(tmp_path: Path, db_url: str, login: str = "ada", **sections: dict[str, Any]
          ) -> Iterator[Served]:
    """`backroom serve --port 0` on `db_url`, as operator `login`; yields once it answers
    /healthz, and stops it with SIGTERM (waiting for it to exit) afterwards."""
    config = tmp_path / "serve.toml"
    config.write_text(tomli_w.dumps(cli_config(db_url, **sections)), encoding="utf-8")
    env = {**os.environ, "BACKROOM_OPERATOR": login}
    env.pop("BACKROOM_CONFIG", None)
    env.pop("BACKROOM_DATABASE_URL", None)
    process = subprocess.Popen(
        [BACKROOM, "--config", str(config), "serve", "--port", "0",
         "--no-access-log"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    assert process.stderr is not None
    stderr = process.stderr
    log: list[str] = []
    started = threading.Event()
    found: list[int] = []

    def read() -> None:  # the server's log, read on a thread: no select on a buffered pipe
        for raw in iter(stderr.readline, b""):
            line = raw.decode(errors="replace")
            log.append(line)
            match = re.search(r"running on http://127\.0\.0\.1:(\d+)", line)
            if match:
                found.append(int(match.group(1)))
                started.set()
        started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        started.wait(timeout=60)
        if not found:
            raise AssertionError("backroom serve did not start:\n" + "".join(log))
        port = found[0]
        served = Served(process, port, log)
        status, body, _ = served.request("GET", "/healthz")
        assert status == 200 and json.loads(body)["database"] == "ok", body  # and the report
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=10)
        stderr.close()
