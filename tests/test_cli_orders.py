"""`backroom orders ...` through click on SQLite and PostgreSQL: list, show, set-status with
preview and refusals, note, refund (exact amounts), archive."""

from __future__ import annotations

import csv
import io
import json

import pytest
import tomli_w
from click.testing import CliRunner

from store.errors import ValidationError
from store.models import Order, OrderEvent, Outbox, Payment
from store.money import format_money as money
from store.money import parse_amount
from tests.conftest import cli_config
from tests.factories import place
from tui.cli import main


@pytest.fixture
def run(shop, admin, clerk, tmp_path, db_url):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(db_url)), encoding="utf-8")

    def invoke(*args: str, login: str = "ada", ok: bool = True):
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": login}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_amounts_are_exact():
    assert parse_amount("12.50", "EUR") == 1250
    assert parse_amount("12,5", "EUR") == 1250
    assert parse_amount("0.01", "EUR") == 1
    assert parse_amount("19.99", "EUR") == 1999  # a float would give 1998.9999
    assert parse_amount("500", "JPY") == 500
    assert money(1250, "EUR") == "12.50 EUR" and money(-5, "EUR") == "-0.05 EUR"
    for bad in ("12.505", "-3", "abc", "1e3"):
        with pytest.raises(ValidationError, match=r"amount|decimals"):
            parse_amount(bad, "EUR")


def test_list_in_every_format(shop, run):
    a = place(shop, name="Ann [bold]Smith[/]", email="ann@example.com")
    b = place(shop, name="Łukasz Żółć", email="lukasz@example.pl", payment_method="wire")
    table = run("orders", "list").output.splitlines()
    assert table[0].split() == ["code", "placed", "customer", "email", "items", "total",
                                "status", "mail"]
    assert b.code in table[1] and a.code in table[2]
    assert "Ann [bold]Smith[/]" in table[2]
    rows = list(csv.DictReader(io.StringIO(run("orders", "list", "--format", "csv").output)))
    assert [r["code"] for r in rows] == [b.code, a.code]
    assert rows[0]["customer"] == "Łukasz Żółć"  # the total in major units, as every export
    assert (rows[0]["total"], rows[0]["currency"]) == ("23.99", "EUR")
    data = json.loads(run("orders", "list", "--search", "żółć", "--format", "json").output)
    assert [d["code"] for d in data] == [b.code]
    assert (data[0]["total"], data[0]["currency"]) == ("23.99", "EUR")  # exact, as text
    data = json.loads(run("orders", "list", "--search", "pay:wire", "--format", "json").output)
    assert [d["code"] for d in data] == [b.code]
    cut = run("orders", "list", "--limit", "1")
    assert len(cut.stdout.splitlines()) == 2 and "more match" in cut.stderr
    assert len(run("orders", "list", "--status", "paid").output.splitlines()) == 1
    assert len(run("orders", "list", "--archived").output.splitlines()) == 1
    out = run("orders", "list", "--status", "nope", ok=False).output
    assert "unknown status" in out


def test_set_status_preview_apply_and_refusals(shop, run):
    a = place(shop)
    b = place(shop)
    c = place(shop)
    run("orders", "set-status", "--to", "cancelled", c.code)
    out = run("orders", "set-status", "--to", "paid", a.code, b.code, c.code, "--dry-run",
              ok=False).output
    assert "2 × Awaiting payment → Paid / processing" in out
    assert f"{c.code}: refused: Cancelled cannot move to Paid" in out
    assert "2 email(s) to queue" in out and "nothing changed" in out
    assert Order.get_by_id(a.id).status == "awaiting_payment"
    out = run("orders", "set-status", "--to", "p", a.code, b.code, c.code, "--note", "bank ok",
              ok=False).output
    assert f"{a.code}: Awaiting payment -> Paid / processing" in out
    assert "2 changed to Paid / processing, 1 refused" in out
    assert Order.get_by_id(a.id).status == "paid" and Order.get_by_id(c.id).status == "cancelled"
    event = OrderEvent.get(OrderEvent.order == a.id, OrderEvent.to_status == "paid")
    assert event.message == "bank ok" and event.operator_login == "ada"
    mail = Outbox.get(Outbox.order == a.id, Outbox.kind == "payment_received")
    assert mail.hold_until is None and mail.state == "queued"
    # by filter, without mails
    out = run("orders", "set-status", "--to", "shipped", "--filter", "status:paid",
              "--tracking", "1Z999", "--same-tracking", "--no-notify").output
    assert "2 changed to Shipped, 0 refused" in out
    assert Order.get_by_id(b.id).tracking_number == "1Z999"
    assert not Outbox.select().where(Outbox.kind == "shipped").exists()
    out = run("orders", "set-status", "--to", "shipped", "--filter", "status:paid").output
    assert "no order matches" in out


def test_set_status_refuses_bad_input(shop, run, viewer):
    a = place(shop)
    assert "one of the two" in run("orders", "set-status", "--to", "paid", ok=False).output
    wrong = a.code[:-1] + str((int(a.code[-1]) + 1) % 10)
    out = run("orders", "set-status", "--to", "paid", wrong, ok=False).output
    assert "check character does not match" in out
    out = run("orders", "set-status", "--to", "paid", a.code, login="vic", ok=False).output
    assert "viewer" in out and Order.get_by_id(a.id).status == "awaiting_payment"


def test_show_note_refund_archive(shop, admin, run):
    a = place(shop, name="Zoë Øster", customer_note="[link]ring twice[/link]")
    run("orders", "set-status", "--to", "paid", a.code)
    out = run("orders", "note", a.code, "called the customer").output
    assert "note added" in out
    out = run("orders", "refund", a.code, "5.25", "--reason", "scratched").output
    assert "refunded 5.25 EUR" in out
    assert Payment.get(Payment.order == a.id, Payment.kind == "refund").amount == 525
    out = run("orders", "refund", a.code, "500", "--reason", "too much", ok=False).output
    assert "exceeds" in out
    text = run("orders", "show", a.code.lower()).output
    assert a.code in text and "Zoë Øster" in text and "[link]ring twice[/link]" in text
    assert "1 x SKU-0" in text and "refund   5.25 EUR" in text
    assert "status awaiting_payment -> paid" in text and "called the customer" in text
    data = json.loads(run("orders", "show", a.code, "--format", "json").output)
    assert data["code"] == a.code and data["refundable"] == data["amount_paid"] - 525
    assert [e["kind"] for e in data["events"]] == ["placed", "status", "note", "refund"]
    assert data["addresses"]["shipping"]["city"] == "Paris"
    out = run("orders", "archive", a.code, ok=False).output
    assert "refused: only orders in a final status" in out
    run("orders", "set-status", "--to", "cancelled", a.code)
    assert "1 archived, 0 refused" in run("orders", "archive", a.code).output
    assert Order.get_by_id(a.id).archived
    assert a.code in run("orders", "list", "--archived").output
    assert "1 unarchived" in run("orders", "archive", a.code, "--undo").output
