"""`backroom customers ...` and `backroom groups ...` end to end through click, on SQLite and
PostgreSQL: output formats, effects in the database, refusals as one line and exit 1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from store.models import Customer, CustomerEvent, CustomerGroup, Order, Outbox
from tests.conftest import cli_config
from tests.factories import place
from tui.cli import main


@pytest.fixture
def run(shop, admin, clerk, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def invoke(*args: str, login: str = "ada", ok: bool = True, stdin: str | None = None):
        result = CliRunner().invoke(main, ["--config", str(path), *args], input=stdin,
                                    env={"BACKROOM_OPERATOR": login}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_add_list_show_edit_in_every_format(run):
    out = run("customers", "add", "--email", "ann@example.com", "--first-name", "Ann",
              "--last-name", "[red]Smith[/red]", "--consent").output
    assert "confirm-account mail queued" in out
    customer = Customer.get(Customer.email_key == "ann@example.com")
    assert Outbox.get(Outbox.customer == customer.id).kind == "account_confirm"
    run("customers", "add", "--email", "bob@example.com", "--first-name", "Bob")
    table = run("customers", "list").output.splitlines()
    assert table[0].split()[:3] == ["id", "name", "email"] and len(table) == 3
    assert "[red]Smith[/red]" in table[2]
    rows = list(csv.DictReader(io.StringIO(run("customers", "list", "--format", "csv").output)))
    assert [r["email"] for r in rows] == ["bob@example.com", "ann@example.com"]
    data = json.loads(run("customers", "list", "smi", "--format", "json").output)
    assert [d["email"] for d in data] == ["ann@example.com"]
    subs = json.loads(run("customers", "list", "--segment", "subscribers", "--format",
                          "json").output)
    assert [d["email"] for d in subs] == ["ann@example.com"]
    run("customers", "edit", "ann@example.com", "--phone", "+33 1 23 45 67 89")
    assert "+33 1 23 45 67 89" in run("customers", "show", "ann@example.com").output
    refused = run("customers", "edit", "ann@example.com", "--email", "BOB@example.com", ok=False)
    assert refused.output.strip().splitlines() == [
        "backroom: another customer already has email BOB@example.com"]
    shown = json.loads(run("customers", "show", str(customer.id), "--format", "json").output)
    assert shown["phone"] == "+33 1 23 45 67 89" and shown["marketing_consent"] is True


def test_status_changes_and_refusals(run):
    run("customers", "add", "--email", "ann@example.com", "--first-name", "Ann")
    run("customers", "suspend", "ann@example.com", "--reason", "chargebacks")
    assert Customer.get().status == "suspended"
    out = run("customers", "deny", "ann@example.com", "--reason", "fraud", login="cleo", ok=False)
    assert "only a manager or above may deny or suspend customers" in out.output
    assert len(out.output.strip().splitlines()) == 1
    run("customers", "deny", "ann@example.com", "--reason", "fraud")
    run("customers", "reactivate", "ann@example.com")
    assert Customer.get().status == "active"
    kinds = [e.kind for e in CustomerEvent.select().order_by(CustomerEvent.id)]
    assert kinds == ["created", "suspended", "denied", "reactivated"]
    assert "no customer with email nobody@example.com" in run(
        "customers", "show", "nobody@example.com", ok=False).output


def test_export_and_delete_keep_the_orders(run, shop, tmp_path):
    run("customers", "add", "--email", "ann@example.com", "--first-name", "Ann")
    cid = Customer.get().id
    ref = place(shop, customer_id=cid)
    assert "only a manager or above may export data" in run(
        "customers", "export", str(cid), "--out", str(tmp_path), login="cleo", ok=False).output
    path = Path(run("customers", "export", str(cid), "--out", str(tmp_path)).output.strip())
    assert json.loads(path.read_text(encoding="utf-8"))["customer"]["email"] == "ann@example.com"
    assert "only an admin" in run("customers", "delete", str(cid), "--confirm",
                                  "ann@example.com", login="cleo", ok=False).output
    assert "does not match" in run("customers", "delete", str(cid), "--confirm", "x@example.com",
                                   ok=False).output
    out = run("customers", "delete", str(cid), stdin="ann@example.com\n").output
    assert "erased" in out
    order = Order.get_by_id(ref.id)
    assert order.customer_email == "ann@example.com" and order.total > 0
    assert Customer.get_by_id(cid).email == "" and Customer.get_by_id(cid).status == "deleted"


def test_groups_commands(run):
    run("groups", "add", "Retail")
    run("groups", "add", "Trade", "--discount", "7.5", "--privilege", "net-30")
    run("customers", "add", "--email", "ann@example.com", "--first-name", "Ann", "--group",
        "Trade")
    rows = json.loads(run("groups", "list", "--format", "json").output)
    assert {r["name"]: (r["default"], r["discount"], r["members"]) for r in rows} == {
        "Retail": (True, 0, 0), "Trade": (False, 750, 1)}
    refused = run("groups", "delete", "Retail", ok=False).output
    assert "default group" in refused
    run("groups", "rename", "Trade", "Wholesale")
    run("groups", "set-default", "Wholesale")
    assert CustomerGroup.get(CustomerGroup.is_default == True).name == "Wholesale"  # noqa: E712
    run("groups", "delete", "Retail")
    assert "clerk" in run("groups", "add", "X", login="cleo", ok=False).output
    table = run("groups", "list").output
    assert "Wholesale" in table and "Retail" not in table


def test_a_list_cut_by_its_limit_says_so_on_stderr(run, shop):
    """`customers list --format csv` wrote the first 100 customers of 515 to a spreadsheet
    without a word: a list that --limit cut says so on stderr (the CSV stays clean), one
    that holds every match does not."""
    for name in ("ann", "bob", "cy"):
        run("customers", "add", "--email", f"{name}@example.com", "--first-name", name)
        place(shop, email=f"{name}@example.com")
    cut = run("customers", "list", "--format", "csv", "--limit", "2")
    assert len(list(csv.DictReader(io.StringIO(cut.stdout)))) == 2
    assert cut.stderr == ("the first 2 customers are listed and more match: --limit 0 lists "
                          "them all\n")
    whole = run("customers", "list", "--format", "csv", "--limit", "3")
    assert len(list(csv.DictReader(io.StringIO(whole.stdout)))) == 3 and not whole.stderr
    orders_cut = run("orders", "list", "--format", "csv", "--limit", "1")
    assert "the first 1 orders are listed and more match" in orders_cut.stderr
    assert not run("orders", "list", "--format", "csv", "--limit", "0").stderr
    assert "the first 1 events are listed" in run("log", "--limit", "1").stderr
