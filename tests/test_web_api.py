"""The storefront API through its ASGI app (httpx's ASGITransport), on SQLite and PostgreSQL:
keys and scopes, orders (guest, registered, test), Idempotency-Keys, payments and the
workflow, self-registration with validation, self-deletion, hostile and oversized input.
Every refusal is checked for its JSON shape and for having changed nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from store import api_keys, customers, idempotency, orders, queries, status
from store.codes import format_code
from store.errors import PermissionDenied
from store.models import (
    ALL_MODELS,
    Customer,
    CustomerEvent,
    IdempotencyRecord,
    Order,
    OrderEvent,
    Outbox,
    Payment,
    utcnow,
)
from tests.conftest import make_config
from tests.web_support import ADDRESS, bearer, make_key, order
from web.app import create_app
from web.order_models import OrderIn


def counts() -> dict[str, int]:
    """Rows in every table: what a refusal must leave as it was."""
    return {m._meta.table_name: m.select().count() for m in ALL_MODELS}


@pytest.fixture
def client_for(db_url: str, shop, admin) -> Callable[..., httpx.AsyncClient]:
    """An httpx client on the app of a shop whose config takes `sections`."""
    def make(**sections: dict[str, Any]) -> httpx.AsyncClient:
        app = create_app(make_config(db_url, **sections))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://shop.test")
    return make


@pytest.fixture
async def client(client_for) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as opened:
        yield opened


@pytest.fixture
def front(admin) -> str:
    """The storefront's key: orders, payments, customers."""
    return make_key(admin, "storefront", "orders:write", "payments:write", "customers:write")


def refusal(response: httpx.Response, status_code: int, field: str | None) -> str:
    """Check the error shape and status; the message."""
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == status_code and error["field"] == field, error
    assert error["fields"][0]["field"] == field and error["message"]
    return str(error["message"])


# ----- orders --------------------------------------------------------------------------------

async def test_a_guest_order_is_placed_with_its_mails_and_history(client, front, shop):
    response = await client.post("/v1/orders", json=order(), headers=bearer(front))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == {"key": "awaiting_payment", "label": "Awaiting payment"}
    assert body["can_pay"] is True and body["cannot_pay_because"] is None
    assert (body["subtotal"], body["tax"], body["total"], body["balance"]) == (
        3299, 544, 4333, 4333)
    assert body["test"] is False and body["tracking"] is None
    assert [i["line_total"] for i in body["items"]] == [2500, 799]
    placed = Order.get(Order.code == body["code"])
    assert placed.customer_email == "ann@example.com" and placed.total == 4333
    assert {m.kind for m in Outbox.select().where(Outbox.order == placed.id)} == {
        "order_placed", "merchant_new_order"}
    [event] = OrderEvent.select().where(OrderEvent.order == placed.id)
    assert event.kind == "placed" and event.operator_login == "storefront (key storefront)"
    assert placed.updated_by == "storefront (key storefront)"


async def test_with_worker_threads_orders_are_placed_and_replayed_alike(client_for, front):
    """web.threads: the store's work on worker threads (PostgreSQL's default; on SQLite it
    runs on the server's own thread unless told otherwise)."""
    async with client_for(web={"threads": 2}) as threaded:
        headers = bearer(front, **{"Idempotency-Key": "threaded-1"})
        first = await threaded.post("/v1/orders", json=order(), headers=headers)
        assert first.status_code == 201, first.text
        again = await threaded.post("/v1/orders", json=order(), headers=headers)
        assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
        read = await threaded.get(f"/v1/orders/{first.json()['code']}", headers=bearer(front))
        assert read.status_code == 200 and read.json()["total"] == 4333
        refusal(await threaded.get("/v1/orders/BR-100007", headers=bearer("brk_nope")), 401,
                "Authorization")
    assert Order.select().count() == 1


async def test_get_order_shows_status_tracking_and_can_pay(client, admin, front, shop):
    reader = make_key(admin, "reader", "orders:read")
    code = (await client.post("/v1/orders", json=order(), headers=bearer(front))).json()["code"]
    ref = orders.find_order(shop, code)
    status.change_status(shop, admin, [ref.id], "paid")
    orders.set_tracking(shop, admin, ref.id, "6A 123", carrier="Colissimo")
    response = await client.get(f"/v1/orders/{code.lower()}", headers=bearer(reader))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == {"key": "paid", "label": "Paid / processing"}
    assert body["can_pay"] is False and "takes no payment" in body["cannot_pay_because"]
    assert body["tracking"] == {"number": "6A 123", "carrier": "Colissimo",
                                "url": "https://www.laposte.fr/outils/suivre-vos-envois"
                                       "?code=6A%20123"}
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert "check character" in refusal(
        await client.get(f"/v1/orders/{typo}", headers=bearer(reader)), 422, "code")
    missing = format_code("BR", 999_999)
    refusal(await client.get(f"/v1/orders/{missing}", headers=bearer(reader)), 404, "code")


async def test_a_registered_customers_order_copies_the_account(client, front, shop, admin):
    cid = customers.create_customer(shop, admin, email="bob@example.com", first_name="Bob",
                                    last_name="Stone", language="fr").id
    customers.set_address(shop, admin, cid, "shipping", ADDRESS | {"city": "Lyon"})
    body = order(customer_id=cid, guest_name=None, guest_email=None, shipping_address=None)
    del body["guest_name"], body["guest_email"]
    response = await client.post("/v1/orders", json=body, headers=bearer(front))
    assert response.status_code == 201, response.text
    assert response.json()["customer_id"] == cid
    placed = Order.get(Order.code == response.json()["code"])
    assert (placed.customer_name, placed.language) == ("Bob Stone", "fr")
    assert placed.addresses.where(
        placed.addresses.model.kind == "shipping").get().city == "Lyon"
    both = order(customer_id=cid)
    refusal(await client.post("/v1/orders", json=both, headers=bearer(front)), 422, "body")
    refusal(await client.post("/v1/orders", json=order(customer_id=10**9, guest_name=None,
                                                       guest_email=None),
                              headers=bearer(front)), 404, None)
    customers.suspend(shop, admin, cid, "chargebacks")
    before = counts()
    message = refusal(await client.post("/v1/orders", json=body, headers=bearer(front)), 409,
                      "customer_id")
    assert "suspended" in message and counts() == before


async def test_a_test_order_is_marked_everywhere_and_deletable(client, front, shop, admin):
    response = await client.post("/v1/orders", json=order(test=True), headers=bearer(front))
    assert response.status_code == 201 and response.json()["test"] is True
    code = response.json()["code"]
    test_only = queries.parse_filter("test:only", shop.workflow)
    assert [r.code for r in queries.queue_page(test_only, None, 10).rows] == [code]
    ref = orders.find_order(shop, code)
    assert queries.order_detail(ref.id).is_test
    assert orders.delete_order(shop, admin, ref.id) == code
    assert not Order.select().exists()


# ----- idempotency ---------------------------------------------------------------------------

async def test_a_retry_gets_the_first_response_byte_for_byte(client, front, admin):
    other = make_key(admin, "till", "orders:write")
    headers = bearer(front, **{"Idempotency-Key": "order-7f3a"})
    first = await client.post("/v1/orders", json=order(), headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await client.post("/v1/orders", content=json.dumps(order(), indent=4),
                              headers=headers | {"Content-Type": "application/json"})
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert Order.select().count() == 1
    before = counts()
    message = refusal(await client.post("/v1/orders", json=order(discount=100, total=4233),
                                        headers=headers), 422, "Idempotency-Key")
    assert "another request" in message and counts() == before
    refusal(await client.post("/v1/orders/" + first.json()["code"] + "/payments",
                              json={"amount": 100, "currency": "EUR"}, headers=headers),
            422, "Idempotency-Key")
    # the same key from another API key is another key
    theirs = await client.post("/v1/orders", json=order(), headers=bearer(
        other, **{"Idempotency-Key": "order-7f3a"}))
    assert theirs.status_code == 201 and theirs.json()["code"] != first.json()["code"]
    assert Order.select().count() == 2
    for bad in ("k" * 256, '""', "  "):
        refusal(await client.post("/v1/orders", json=order(), headers=bearer(
            front, **{"Idempotency-Key": bad})), 422, "Idempotency-Key")


async def test_a_retry_while_the_first_runs_is_409_and_a_dead_claim_lapses(client, front,
                                                                           shop):
    key = "order-9c1e"
    body = json.dumps(order()).encode()
    caller = api_keys.authenticate(front, "orders:write")
    # a first request that is running: its claim is held, its order not yet written
    request = OrderIn.model_validate_json(body).model_dump_json()
    held = idempotency._claim(shop, caller.key_pk, key,
                              idempotency.fingerprint("POST", "/v1/orders", request))
    assert isinstance(held, idempotency._Claim)
    headers = bearer(front, **{"Idempotency-Key": key, "Content-Type": "application/json"})
    before = counts()
    message = refusal(await client.post("/v1/orders", content=body, headers=headers), 409,
                      "Idempotency-Key")
    assert "still being processed" in message and counts() == before
    # that request died (a killed server): once its lease has run out, a retry does the work
    IdempotencyRecord.update(lease_until=utcnow()).execute()
    retried = await client.post("/v1/orders", content=body, headers=headers)
    assert retried.status_code == 201 and Order.select().count() == 1
    # and should the first still finish, its claim is gone: it changes nothing
    with pytest.raises(Exception, match="taken over"):
        idempotency._complete(held, 201, "{}")
    assert (await client.post("/v1/orders", content=body, headers=headers)).content \
        == retried.content


async def test_a_refused_request_gives_its_key_back(client, front):
    headers = bearer(front, **{"Idempotency-Key": "order-3b"})
    refusal(await client.post("/v1/orders", json=order(total=1), headers=headers), 422,
            "total")
    assert not IdempotencyRecord.select().exists()
    response = await client.post("/v1/orders", json=order(), headers=headers)
    assert response.status_code == 201
    assert IdempotencyRecord.get().state == "done"


async def test_keys_are_kept_their_hours_then_forgotten(client, front):
    headers = bearer(front, **{"Idempotency-Key": "old"})
    first = await client.post("/v1/orders", json=order(), headers=headers)
    IdempotencyRecord.update(created_at=utcnow().replace(year=2000)).execute()
    again = await client.post("/v1/orders", json=order(), headers=headers)
    assert again.status_code == 201 and again.json()["code"] != first.json()["code"]


# ----- keys and scopes -----------------------------------------------------------------------

async def test_no_key_a_bad_key_or_a_revoked_key_is_401(client, front, admin):
    before = counts()
    response = await client.post("/v1/orders", json=order())
    assert "no API key" in refusal(response, 401, "Authorization")
    assert response.headers["www-authenticate"] == "Bearer"
    refusal(await client.post("/v1/orders", json=order(), headers=bearer("brk_x")), 401,
            "Authorization")
    forged = front[:-4] + ("AAAA" if not front.endswith("AAAA") else "BBBB")
    assert refusal(await client.post("/v1/orders", json=order(), headers=bearer(forged)),
                   401, "Authorization") == "unknown API key"
    api_keys.revoke(admin, "storefront")
    assert "revoked" in refusal(await client.post("/v1/orders", json=order(),
                                                  headers=bearer(front)), 401, "Authorization")
    assert counts() == before


async def test_two_keys_with_different_scopes_behave_differently(client, admin, front):
    gateway = make_key(admin, "gateway", "payments:write")
    reader = make_key(admin, "crm", "customers:read", "orders:read")
    code = (await client.post("/v1/orders", json=order(), headers=bearer(front))).json()["code"]
    before = counts()
    assert "orders:write" in refusal(await client.post("/v1/orders", json=order(),
                                                       headers=bearer(gateway)), 403,
                                     "Authorization")
    refusal(await client.get(f"/v1/orders/{code}", headers=bearer(gateway)), 403,
            "Authorization")
    refusal(await client.post(f"/v1/orders/{code}/payments",
                              json={"amount": 100, "currency": "EUR"}, headers=bearer(reader)),
            403, "Authorization")
    refusal(await client.post("/v1/customers", json={"email": "c@example.com"},
                              headers=bearer(reader)), 403, "Authorization")
    assert counts() == before
    assert (await client.get(f"/v1/orders/{code}", headers=bearer(reader))).status_code == 200
    paid = await client.post(f"/v1/orders/{code}/payments", json={"amount": 100,
                                                                   "currency": "EUR"},
                             headers=bearer(gateway))
    assert paid.status_code == 201, paid.text
    assert Payment.get().operator_login == "storefront (key gateway)"


def test_keys_are_made_by_admins_shown_once_and_stored_hashed(shop, admin, manager):
    row, token = api_keys.create(admin, "pos-paris", ["orders:write", "orders:read"])
    assert row.scopes == ("orders:read", "orders:write") and token.startswith("brk_")
    stored = api_keys.ApiKey.get()
    assert token.split("_", 2)[2] not in json.dumps(stored.__data__, default=str)
    assert api_keys.authenticate(token, "orders:read").name == "pos-paris"
    with pytest.raises(PermissionDenied):
        api_keys.create(manager, "other", ["orders:read"])
    with pytest.raises(Exception, match="unknown scope"):
        api_keys.create(admin, "other", ["orders:delete"])
    with pytest.raises(Exception, match="exists already"):
        api_keys.create(admin, "pos-paris", ["orders:read"])
    with pytest.raises(Exception, match="name"):
        api_keys.create(admin, "pos paris\x1b", ["orders:read"])


# ----- payments ------------------------------------------------------------------------------

async def test_payments_move_the_order_as_the_workflow_says(client, front, shop):
    code = (await client.post("/v1/orders", json=order(), headers=bearer(front))).json()["code"]
    pay = f"/v1/orders/{code}/payments"
    part = await client.post(pay, json={"amount": 1000, "currency": "EUR", "reference": "ch_1"},
                             headers=bearer(front))
    assert part.status_code == 201, part.text
    assert part.json()["moved_to"] is None
    assert part.json()["order"]["status"]["key"] == "awaiting_payment"
    assert part.json()["order"]["can_pay"] is True and part.json()["order"]["balance"] == 3333
    before = counts()
    refusal(await client.post(pay, json={"amount": 3333, "currency": "USD"},
                              headers=bearer(front)), 422, "currency")
    assert "exceed" in refusal(await client.post(pay, json={"amount": 5000, "currency": "EUR"},
                                                 headers=bearer(front)), 409, "amount")
    assert "recorded already" in refusal(await client.post(
        pay, json={"amount": 3333, "currency": "EUR", "reference": "ch_1"},
        headers=bearer(front)), 409, "reference")
    assert counts() == before
    rest = await client.post(pay, json={"amount": 3333, "currency": "EUR", "method": "paypal",
                                        "reference": "ch_2"}, headers=bearer(front))
    assert rest.status_code == 201, rest.text
    assert rest.json()["moved_to"] == {"key": "paid", "label": "Paid / processing"}
    assert rest.json()["order"]["can_pay"] is False
    placed = Order.get(Order.code == code)
    assert (placed.status, placed.amount_paid) == ("paid", 4333)
    assert [p.amount for p in Payment.select().order_by(Payment.id)] == [1000, 3333]
    assert Outbox.select().where(Outbox.kind == "payment_received",
                                 Outbox.hold_until.is_null()).count() == 1
    moves = OrderEvent.select().where(OrderEvent.kind == "status")
    assert [(e.from_status, e.to_status, e.operator_login) for e in moves] == [
        ("awaiting_payment", "paid", "storefront (key storefront)")]
    before = counts()
    message = refusal(await client.post(pay, json={"amount": 1, "currency": "EUR"},
                                        headers=bearer(front)), 409, "status")
    assert "Paid / processing" in message and "takes no payment" in message
    assert counts() == before


# ----- customers -----------------------------------------------------------------------------

async def test_self_registration_joins_the_default_group(client, front, shop, admin):
    gold = customers.create_group(shop, admin, "Gold", discount_bp=500, privilege="free returns",
                                  default=True)
    customers.create_group(shop, admin, "Others")
    response = await client.post("/v1/customers", json={
        "email": "Cleo@Example.com", "first_name": "Cléo", "last_name": "<script>x</script>",
        "language": "fr", "marketing_consent": True, "address": ADDRESS}, headers=bearer(front))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active" and body["can_pay"] is True
    assert body["group"] == {"id": gold, "name": "Gold", "discount_bp": 500,
                             "privilege": "free returns"}
    assert body["last_name"] == "<script>x</script>"
    account = Customer.get_by_id(body["id"])
    assert account.consent_source == "storefront" and account.group_id == gold
    assert Outbox.get(Outbox.customer == account.id).kind == "account_confirm"
    [created] = CustomerEvent.select().where(CustomerEvent.customer == account.id)
    assert created.operator_login == "storefront (key storefront)"
    again = await client.get(f"/v1/customers/{account.id}", headers=bearer(front))
    assert again.json() == body
    before = counts()
    refusal(await client.post("/v1/customers", json={"email": "cleo@example.com",
                                                     "first_name": "C"},
                              headers=bearer(front)), 409, "email")
    refusal(await client.post("/v1/customers", json={"email": "not an address",
                                                     "first_name": "C"},
                              headers=bearer(front)), 422, "email")
    assert counts() == before


async def test_an_account_waits_for_validation_and_cannot_pay_until_then(client_for, admin,
                                                                         shop):
    front = make_key(admin, "storefront", "orders:write", "payments:write", "customers:write")
    async with client_for(customers={"auto_validate": False}) as client:
        registered = await client.post("/v1/customers", json={
            "email": "dan@example.com", "first_name": "Dan"}, headers=bearer(front))
        assert registered.status_code == 201, registered.text
        assert registered.json()["status"] == "pending"
        assert registered.json()["status_label"] == "waiting for validation"
        assert registered.json()["can_pay"] is False
        cid = registered.json()["id"]
        body = order(customer_id=cid)
        del body["guest_name"], body["guest_email"]
        placed = await client.post("/v1/orders", json=body, headers=bearer(front))
        assert placed.status_code == 201, placed.text  # it may order, and pays once validated
        assert placed.json()["can_pay"] is False
        assert "waits for the shop to validate" in placed.json()["cannot_pay_because"]
        pay = f"/v1/orders/{placed.json()['code']}/payments"
        refusal(await client.post(pay, json={"amount": 4333, "currency": "EUR"},
                                  headers=bearer(front)), 409, "status")
        from store import customer_queries as cq
        waiting = cq.customer_page(shop, cq.parse_customer_filter("status:pending")).rows
        assert [r.id for r in waiting] == [cid]
        customers.validate(shop, admin, cid)
        assert (await client.get(f"/v1/customers/{cid}", headers=bearer(front))).json()[
            "status"] == "active"
        paid = await client.post(pay, json={"amount": 4333, "currency": "EUR"},
                                 headers=bearer(front))
        assert paid.status_code == 201 and paid.json()["moved_to"]["key"] == "paid"


async def test_self_deletion_erases_and_tells_the_shop(client_for, admin, shop):
    front = make_key(admin, "storefront", "orders:write", "customers:write")
    async with client_for(shop={"admin_emails": ["boss@example.com"]}) as client:
        cid = (await client.post("/v1/customers", json={"email": "eve@example.com",
                                                        "first_name": "Eve"},
                                 headers=bearer(front))).json()["id"]
        body = order(customer_id=cid)
        del body["guest_name"], body["guest_email"]
        code = (await client.post("/v1/orders", json=body, headers=bearer(front))).json()["code"]
        response = await client.delete(f"/v1/customers/{cid}", headers=bearer(front))
        assert response.status_code == 204 and response.content == b""
        account = Customer.get_by_id(cid)
        assert account.status == "deleted" and account.email == "" and account.first_name == ""
        told = Outbox.select().where(Outbox.kind == "merchant_account_deleted")
        assert sorted(m.recipient for m in told) == ["boss@example.com", "shop@example.com"]
        assert Order.get(Order.code == code).customer_email == "eve@example.com"  # the books
        refusal(await client.get(f"/v1/customers/{cid}", headers=bearer(front)), 404, "id")
        refusal(await client.delete(f"/v1/customers/{cid}", headers=bearer(front)), 409, None)
        refusal(await client.delete("/v1/customers/0", headers=bearer(front)), 422, "customer_id")


# ----- bad input -----------------------------------------------------------------------------

BAD_ORDERS: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("control character", {"guest_name": "Ann\x1b]0;pwned\x07"}, 422, "guest_name"),
    ("tab in an item", {"items": [{"sku": "A\tB", "name": "Mug", "quantity": 1,
                                   "unit_price": 100}]}, 422, "items[0].sku"),
    ("10 kB name", {"guest_name": "A" * 10_000}, 422, "guest_name"),
    ("a number as text", {"shipping_cost": "490"}, 422, "shipping_cost"),
    ("a float amount", {"shipping_cost": 4.9}, 422, "shipping_cost"),
    ("a negative amount", {"discount": -5}, 422, "discount"),
    ("an amount past 64 bits", {"shipping_cost": 2**70}, 422, "shipping_cost"),
    ("an unknown currency", {"currency": "ABC"}, 422, "currency"),
    ("an unknown country", {"shipping_address": ADDRESS | {"country": "UK"}}, 422,
     "shipping_address.country"),
    ("an unknown field", {"coupon": "FREE"}, 422, "coupon"),
    ("no item", {"items": []}, 422, "items"),
    ("a zero quantity", {"items": [{"sku": "A", "name": "B", "quantity": 0,
                                    "unit_price": 1}]}, 422, "items[0].quantity"),
    ("a total that does not add up", {"total": 4332}, 422, "total"),
    ("a tax that does not add up", {"tax": 500}, 422, "tax"),
    ("a discount above the order", {"discount": 10**6, "total": 0}, 422, "discount"),
    ("a bad email", {"guest_email": "ann@"}, 422, "guest_email"),
    ("no guest email", {"guest_email": None}, 422, "body"),
    ("a language not served", {"language": "de"}, 422, "language"),
]


@pytest.mark.parametrize(("changes", "code", "field"), [c[1:] for c in BAD_ORDERS],
                         ids=[c[0] for c in BAD_ORDERS])
async def test_bad_orders_are_refused_naming_the_field(client, front, changes, code, field):
    before = counts()
    refusal(await client.post("/v1/orders", json=order(**changes),
                              headers=bearer(front, **{"Idempotency-Key": "k"})), code, field)
    assert counts() == before


async def test_bodies_that_are_not_json_or_too_deep_are_refused(client, front):
    before = counts()
    for content in (b"{", b"[1, 2]", b"null", b"[" * 100_000, b'{"guest_name": "\xff"}'):
        response = await client.post("/v1/orders", content=content, headers=bearer(
            front, **{"Content-Type": "application/json"}))
        assert response.status_code in (400, 422), response.text
        assert response.json()["error"]["field"] == "body"
    half = json.dumps(order(guest_name="Ann \ud800")).encode()  # valid JSON, not text
    refusal(await client.post("/v1/orders", content=half, headers=bearer(
        front, **{"Content-Type": "application/json"})), 422, "guest_name")
    assert counts() == before


async def test_hostile_text_is_stored_and_given_back_as_text(client, front):
    hostile = {"guest_name": "<script>alert(1)</script> [/] Ann", "customer_note":
               "line one\nline two <img src=x onerror=alert(1)>",
               "items": [{"sku": "{{7*7}}", "name": "Robert'); DROP TABLE orders;--",
                          "quantity": 1, "unit_price": 100}], "tax": None, "total": 590}
    response = await client.post("/v1/orders", json=order(**hostile), headers=bearer(front))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    placed = Order.get(Order.code == response.json()["code"])
    assert placed.customer_name == hostile["guest_name"]
    assert placed.customer_note == hostile["customer_note"]
    assert response.json()["items"][0]["name"] == "Robert'); DROP TABLE orders;--"
    assert "<script>" not in response.text or "\\u003c" not in response.text


async def test_a_body_over_the_cap_is_refused_before_parsing(client_for, front):
    async with client_for(web={"max_body_bytes": 2048}) as client:
        before = counts()
        big = order(customer_note="x" * 3000)
        response = await client.post("/v1/orders", json=big, headers=bearer(front))
        assert "web.max_body_bytes" in refusal(response, 413, "body")
        assert response.headers["connection"] == "close"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            for _ in range(10):
                yield b"x" * 500

        refusal(await client.post("/v1/orders", content=chunks(), headers=bearer(front)), 413,
                "body")
        assert counts() == before
        small = await client.post("/v1/orders", json=order(), headers=bearer(front))
        assert small.status_code == 201


async def test_a_content_length_that_lies_is_not_trusted(db_url, shop, admin):
    app = create_app(make_config(db_url, web={"max_body_bytes": 1024}))
    sent: list[dict[str, Any]] = []
    parts = [b"{" + b" " * 800, b" " * 800, b"}"]

    async def receive() -> dict[str, Any]:
        chunk = parts.pop(0) if parts else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/orders", "raw_path": b"/v1/orders",
             "query_string": b"", "headers": [(b"content-length", b"10"),
                                                (b"content-type", b"application/json")],
             "http_version": "1.1", "scheme": "http", "server": ("test", 80),
             "client": ("127.0.0.1", 1), "root_path": "", "asgi": {"version": "3.0"}}
    await app(scope, receive, send)
    assert sent[0]["status"] == 413


# ----- the document and the rest ------------------------------------------------------------

async def test_openapi_documents_every_endpoint(client):
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    assert set(paths) == {"/v1/orders", "/v1/orders/{code}", "/v1/orders/{code}/payments",
                          "/v1/customers", "/v1/customers/{customer_id}", "/v1/subscribers",
                          "/healthz"}
    assert set(paths["/v1/customers/{customer_id}"]) == {"get", "delete"}
    post = paths["/v1/orders"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"]]
    assert {"201", "401", "403", "409", "413", "422"} <= set(post["responses"])
    assert post["security"] and "HTTPBearer" in document["components"]["securitySchemes"]
    assert "ErrorBody" in document["components"]["schemas"]


async def test_health_and_unknown_routes_answer_json(client, front):
    health = (await client.get("/healthz")).json()
    assert health["database"] == "ok" and set(health["signals"]) >= {
        "oldest_unsent_mail", "oldest_unsent_webhook", "worker"}  # store.health's report
    refusal(await client.get("/v2/orders", headers=bearer(front)), 404, None)
    refusal(await client.put("/v1/orders", headers=bearer(front)), 405, None)
