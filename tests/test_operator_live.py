"""An operator's rights are read from their row at each check, not from what an app, a
command or a server read when it started: deactivated since, they are refused and nothing
changes; re-roled since, the new role counts. API keys made by an operator deactivated since
go on working (a storefront must not stop), and the deactivation names them. SQLite files and
PostgreSQL; the deactivation comes from another connection (a thread, or a `backroom`
process), as it would from an admin's own terminal."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from store import api_keys, operators, orders, payments, status
from store import db as dbmod
from store.errors import PermissionDenied, Refused, UnknownOperator
from store.models import ALL_MODELS, Order, OrderEvent, Outbox
from store.operators import SYSTEM, Actor, service_actor
from store.shop import Shop, open_shop
from tests.conftest import make_config
from tests.factories import place
from tests.tui_support import make_app, settle, wait_until
from tests.web_support import BACKROOM, bearer, make_key, order, serve
from web.app import create_app


def elsewhere(call: Callable[[], Any]) -> None:
    """Run `call` on a thread of its own: its own connection, committed before this returns
    (an admin's command beside the operator's open app)."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # re-raised on the test's thread
            failed.append(exc)
        finally:
            dbmod.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def counts() -> dict[str, int]:
    return {m._meta.table_name: m.select().count() for m in ALL_MODELS}


def order_state(order_id: int) -> tuple[Any, ...]:
    o = Order.get_by_id(order_id)
    return (o.status, o.version, o.amount_paid,
            OrderEvent.select().where(OrderEvent.order == order_id).count())


def test_an_actor_taken_while_active_is_refused_once_deactivated(shop: Shop, admin: Actor,
                                                                 clerk: Actor) -> None:
    ref = place(shop)
    status.change_status(shop, clerk, [ref.id], "paid", dry_run=True)  # allowed while active
    elsewhere(lambda: operators.deactivate(admin, "cleo"))
    before, rows = order_state(ref.id), counts()
    with pytest.raises(UnknownOperator) as refused:
        status.change_status(shop, clerk, [ref.id], "paid")
    message = str(refused.value)
    assert message == ("operator cleo was deactivated: nothing was done; ask an admin to "
                       "reactivate it (`backroom operator reactivate cleo`)")
    with pytest.raises(UnknownOperator, match="cleo was deactivated"):
        orders.add_note(shop, clerk, ref.id, "still here")
    with pytest.raises(UnknownOperator, match="cleo was deactivated"):
        status.change_status(shop, clerk, [ref.id], "paid", dry_run=True)
    assert order_state(ref.id) == before and counts() == rows
    assert Order.get_by_id(ref.id).status == "awaiting_payment"
    elsewhere(lambda: operators.reactivate(admin, "cleo"))
    status.change_status(shop, clerk, [ref.id], "paid")  # the same actor, active again
    assert Order.get_by_id(ref.id).status == "paid"
    assert OrderEvent.select().where(OrderEvent.order == ref.id, OrderEvent.kind == "status",
                                     OrderEvent.operator_login == "cleo").count() == 1


def test_a_demoted_operator_has_the_new_roles_rights(shop: Shop, admin: Actor,
                                                     manager: Actor, clerk: Actor) -> None:
    ref = place(shop)
    elsewhere(lambda: operators.set_role(admin, "mo", "clerk"))
    before, rows = order_state(ref.id), counts()
    with pytest.raises(PermissionDenied) as refused:
        payments.record_payment(shop, manager, ref.id, 100)
    assert str(refused.value) == "mo is a clerk: only a manager or above may record payments"
    assert order_state(ref.id) == before and counts() == rows
    orders.add_note(shop, manager, ref.id, "a clerk may")  # what a clerk may still goes
    # promoted: the row's role counts both ways
    elsewhere(lambda: operators.set_role(admin, "cleo", "manager"))
    payments.record_payment(shop, clerk, ref.id, 100)
    assert Order.get_by_id(ref.id).amount_paid == 100


def test_an_admin_demoted_may_no_longer_edit_a_shipped_order(shop: Shop, admin: Actor) -> None:
    al = operators.add(admin, "al", "admin")
    ref = place(shop)
    status.change_status(shop, al, [ref.id], "paid")
    status.change_status(shop, al, [ref.id], "shipped", tracking="1Z")
    elsewhere(lambda: operators.set_role(admin, "al", "manager"))
    before = order_state(ref.id)
    with pytest.raises(Refused, match="has shipped: only an admin"):
        orders.edit_address(shop, al, ref.id, "shipping", {"city": "Lyon"})
    assert order_state(ref.id) == before


def test_actors_no_operator_row_stands_for_are_taken_as_made(shop: Shop, admin: Actor) -> None:
    """SYSTEM, a service account (even one whose name an operator row holds, deactivated)
    and an API key's actor keep working: no row is read for them."""
    ref = place(shop)  # as STOREFRONT
    status.change_status(shop, SYSTEM, [ref.id], "paid")
    operators.add(admin, "backroom", "viewer")
    operators.deactivate(admin, "backroom")
    operators.require(service_actor("backroom"), "maintenance")
    orders.add_note(shop, api_keys.actor_for("storefront"), ref.id, "from the storefront")
    assert Order.get_by_id(ref.id).status == "paid"


# ----- the storefront API: a key made by an operator deactivated since ----------------------

async def test_a_key_outlives_its_makers_deactivation(db_url: str, shop: Shop,
                                                      admin: Actor) -> None:
    """**Choice:** a storefront must not stop taking orders the day the admin who made its
    key leaves: the key goes on working (requests act as the key, not as its maker)."""
    al = operators.add(admin, "al", "admin")
    token = make_key(al, "storefront", "orders:write")
    app = create_app(make_config(db_url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://shop.test") as client:
        assert (await client.post("/v1/orders", json=order(),
                                  headers=bearer(token))).status_code == 201
        elsewhere(lambda: operators.deactivate(admin, "al"))
        kept = await client.post("/v1/orders", json=order(), headers=bearer(token))
        assert kept.status_code == 201, kept.text
    assert api_keys.authenticate(token, "orders:write").actor.login == "storefront (key storefront)"


@pytest.mark.slow
def test_deactivating_an_operator_names_the_keys_they_made(tmp_path, own_db_url: str) -> None:
    """The tester's steps: `serve` started by the operator who made the key, then `backroom
    operator deactivate` from an admin's terminal: it says which live keys they made (they
    saw the secrets) and how to replace them; the running `serve` goes on taking orders."""
    open_shop(make_config(own_db_url))
    ada = operators.ensure_admin("ada")
    al = operators.add(ada, "al", "admin")
    token = make_key(al, "storefront", "orders:write")
    make_key(al, "old-till", "orders:write")
    api_keys.revoke(ada, "old-till")
    make_key(ada, "ada-own", "orders:write")
    dbmod.close()
    with serve(tmp_path, own_db_url, login="al") as server:
        status_code, body, _ = server.request("POST", "/v1/orders", order(), bearer(token))
        assert status_code == 201, body
        done = subprocess.run(
            [BACKROOM, "--config", str(tmp_path / "serve.toml"), "operator", "deactivate",
             "al"], env={**os.environ, "BACKROOM_OPERATOR": "ada"}, capture_output=True,
            text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "al is deactivated",
            "the API keys al made still work and they saw their secrets: storefront; replace "
            "each (`backroom apikey add` as another admin, then `backroom apikey revoke NAME`)"]
        status_code, body, _ = server.request("POST", "/v1/orders", order(), bearer(token))
        assert status_code == 201, body
    open_shop(make_config(own_db_url))
    try:
        assert Order.select().count() == 2
    finally:
        dbmod.close()


# ----- the app: the refusal is a notice ------------------------------------------------------

async def test_the_open_app_of_a_deactivated_clerk_shows_a_refusal(shop, admin, clerk,
                                                                   config) -> None:
    """The tester's steps: `s`, `p`, `y` in the clerk's app, deactivated between the preview
    and `y`, then again from the start: each time a notice, no traceback, nothing changed."""
    ref = place(shop)
    app = make_app(config, login="cleo")

    def refusals() -> list[Any]:
        return [n for n in app._notifications if "cleo was deactivated" in n.message]

    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("p")
        await settle(pilot)
        body = str(app.screen.query_one("#confirm-body").render())
        assert "Awaiting payment → Paid / processing" in body  # the preview, while active
        elsewhere(lambda: operators.deactivate(admin, "cleo"))
        before, rows = order_state(ref.id), counts()
        await pilot.press("y")
        await wait_until(pilot, lambda: len(refusals()) == 1)
        notice = refusals()[0]
        assert "backroom operator reactivate cleo" in notice.message
        assert notice.severity == "error"
        assert order_state(ref.id) == before and counts() == rows
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("p")
        await wait_until(pilot, lambda: len(refusals()) == 2)  # the preview is refused too
        await pilot.press("y")
        await settle(pilot)
        assert not any("Unexpected error" in n.message for n in app._notifications)
        assert app.is_running
        assert order_state(ref.id) == before and counts() == rows
        assert not Outbox.select().where(Outbox.kind == "payment_received").exists()
