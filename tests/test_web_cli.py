"""The command line of the storefront API, on SQLite and PostgreSQL: `backroom apikey
add|list|revoke`, `backroom orders place-test|delete`, `backroom customers validate` and the
`status:pending` filter; and the profile's `v` key."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import tomli_w
from click.testing import CliRunner
from textual.widgets import Static

from store import api_keys, customers
from store.errors import NotAuthenticated
from store.models import ApiKey, Customer, CustomerEvent, Order, Outbox
from tests.conftest import cli_config, make_config
from tests.factories import place
from tui.app import build_app
from tui.cli import main


@pytest.fixture
def run(shop, admin, manager, clerk, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url, customers={"auto_validate": False})),
                    encoding="utf-8")

    def invoke(*args: str, login: str = "ada", ok: bool = True):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": login}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_apikey_add_prints_the_key_once_list_and_revoke(run):
    added = run("apikey", "add", "storefront", "--scopes", "orders:write, customers:write")
    token = added.stdout.strip()
    assert token.startswith("brk_") and len(token.splitlines()) == 1
    assert "shown this once" in added.stderr
    assert api_keys.authenticate(token, "customers:read").name == "storefront"
    listed = json.loads(run("apikey", "list", "--format", "json").output)
    assert listed[0]["name"] == "storefront" and listed[0]["state"] == "active"
    assert listed[0]["scopes"] == "orders:write,customers:write"
    assert token.split("_", 2)[2] not in run("apikey", "list").output
    refused = run("apikey", "add", "till", "--scopes", "orders:write", login="mo", ok=False)
    assert refused.output.strip().splitlines() == [
        "backroom: mo is a manager: only an admin or above may manage API keys"]
    assert "unknown scope" in run("apikey", "add", "x", "--scopes", "orders:nuke",
                                  ok=False).output
    assert "revoked" in run("apikey", "revoke", "storefront").output
    with pytest.raises(NotAuthenticated, match="revoked"):
        api_keys.authenticate(token, "orders:write")
    assert "revoked" in run("apikey", "list").output
    assert "revoked already" in run("apikey", "revoke", "storefront", ok=False).output
    assert ApiKey.select().count() == 1


def test_place_test_then_delete_it(run, shop):
    out = run("orders", "place-test", "--price", "12.50", "--quantity", "2", "--tax", "20",
              login="mo").output
    code = out.split(":")[0]
    assert "test order placed (30.00 EUR)" in out and f"orders delete {code}" in out
    order = Order.get(Order.code == code)
    assert order.is_test and order.customer_email == "shop@example.com"
    assert order.updated_by == "mo"
    assert {m.kind for m in Outbox.select()} == {"order_placed", "merchant_new_order"}
    assert "(test)" in run("orders", "show", code).output
    assert "place test orders" in run("orders", "place-test", login="cleo", ok=False).output
    real = place(shop)
    refused = run("orders", "delete", real.code, ok=False).output
    assert "real order" in refused
    assert f"{code}: deleted" in run("orders", "delete", code).output
    assert Order.select().count() == 1


def test_validate_an_account_waiting_for_it(run, shop, admin, db_url):
    from store.operators import STOREFRONT

    shop = replace(shop, config=make_config(db_url, customers={"auto_validate": False}))
    ref = customers.register_customer(shop, STOREFRONT, email="dan@example.com",
                                      first_name="Dan", last_name="Lee")
    other = customers.create_customer(shop, admin, email="eve@example.com", first_name="Eve",
                                      last_name="")
    assert Customer.get_by_id(ref.id).status == "pending"
    assert Customer.get_by_id(other.id).status == "active"
    waiting = json.loads(run("customers", "list", "--status", "pending", "--format",
                             "json").output)
    assert [c["email"] for c in waiting] == ["dan@example.com"]
    assert [c["email"] for c in json.loads(run("customers", "list", "status:to-validate",
                                               "--format", "json").output)] == [
        "dan@example.com"]
    assert "only a manager" in run("customers", "validate", "dan@example.com", login="cleo",
                                   ok=False).output
    assert "waits for validation" in run("customers", "reactivate", "dan@example.com",
                                         ok=False).output
    assert "validated" in run("customers", "validate", "dan@example.com").output
    assert Customer.get_by_id(ref.id).status == "active"
    assert "only an account waiting" in run("customers", "validate", "dan@example.com",
                                            ok=False).output
    kinds = [e.kind for e in CustomerEvent.select().where(CustomerEvent.customer == ref.id)
             .order_by(CustomerEvent.id)]
    assert kinds == ["created", "validated"]


async def test_the_profile_validates_with_v(shop, admin, db_url):
    from store.operators import STOREFRONT
    from tests.tui_support import screen_text, settle

    config = make_config(db_url, customers={"auto_validate": False},
                         mail={"deliver_in_app": False})
    ref = customers.register_customer(replace(shop, config=config), STOREFRONT,
                                      email="dan@example.com", first_name="Dan",
                                      last_name="Lee")
    app = build_app(config, "ada")
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_customer(ref.id)
        await settle(pilot)
        head = app.screen.query_one("#profile-head", Static)
        assert "status waiting for validation (v validates it)" in str(head.render())
        assert "v Valid" in screen_text(app)  # the footer offers it
        await pilot.press("v")
        await settle(pilot)
        assert Customer.get_by_id(ref.id).status == "active"
        assert "status active" in str(head.render())
