"""The storefront API through a real `backroom serve` (a subprocess on a free loopback port),
on SQLite and PostgreSQL: an order placed and read back over HTTP, fifty clients retrying
one Idempotency-Key at once make exactly one order, and SIGTERM stops the server."""

from __future__ import annotations

import json
import signal
import threading

import pytest

from store import db as dbmod
from store.models import IdempotencyRecord, Order, OrderEvent, Outbox
from store.shop import open_shop
from tests.conftest import make_config
from tests.web_support import bearer, make_key, order, serve

pytestmark = pytest.mark.slow


@pytest.fixture
def key_on(own_db_url: str) -> str:
    """The storefront's key on a shop of its own (the server opens the same database)."""
    from store import operators

    open_shop(make_config(own_db_url))
    token = make_key(operators.ensure_admin("ada"), "storefront", "orders:write",
                     "payments:write")
    dbmod.close()
    return token


def test_a_real_server_places_an_order_and_reads_it_back(tmp_path, own_db_url, key_on):
    with serve(tmp_path, own_db_url) as server:
        status, body, headers = server.request("POST", "/v1/orders", order(),
                                               bearer(key_on, **{"Idempotency-Key": "a1"}))
        assert status == 201, body
        assert headers["content-type"] == "application/json" and "server" not in headers
        code = json.loads(body)["code"]
        status, read, _ = server.request("GET", f"/v1/orders/{code}", None, bearer(key_on))
        assert status == 200 and json.loads(read)["can_pay"] is True
        status, paid, _ = server.request("POST", f"/v1/orders/{code}/payments",
                                         {"amount": 4333, "currency": "EUR"}, bearer(key_on))
        assert status == 201 and json.loads(paid)["moved_to"]["key"] == "paid"
        status, missing, _ = server.request("GET", "/v1/orders/BR-nope", None, bearer(key_on))
        assert status == 422 and json.loads(missing)["error"]["field"] == "code"
    # SIGTERM: requests finished, the app shut down (uvicorn then re-raises the signal)
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert any("Finished server process" in line for line in server.log), server.log
    open_shop(make_config(own_db_url))
    assert Order.select().count() == 1 and Order.get().status == "paid"


def test_fifty_concurrent_retries_of_one_key_make_one_order(tmp_path, own_db_url, key_on):
    clients = 50
    headers = bearer(key_on, **{"Idempotency-Key": "retry-storm-1"})
    ready = threading.Barrier(clients)
    answers: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def client(server) -> None:  # type: ignore[no-untyped-def]
        ready.wait()
        status, body, _ = server.request("POST", "/v1/orders", order(), headers)
        with lock:
            answers.append((status, body))

    with serve(tmp_path, own_db_url) as server:
        threads = [threading.Thread(target=client, args=(server,)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(answers) == clients
        statuses = sorted({s for s, _ in answers})
        assert set(statuses) <= {201, 409}, answers[:3]
        created = {body for s, body in answers if s == 201}
        assert len(created) == 1  # every 201 is the same response, byte for byte
        for status, body in answers:
            if status == 409:
                assert json.loads(body)["error"]["field"] == "Idempotency-Key"
        status, again, replay = server.request("POST", "/v1/orders", order(), headers)
        assert status == 201 and again in created and replay["idempotent-replayed"] == "true"
    open_shop(make_config(own_db_url))
    assert Order.select().count() == 1
    assert OrderEvent.select().where(OrderEvent.kind == "placed").count() == 1
    assert Outbox.select().where(Outbox.kind == "order_placed").count() == 1
    assert IdempotencyRecord.get().state == "done"
