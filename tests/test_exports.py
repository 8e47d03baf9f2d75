"""CSV exports of orders (issue 13, point 3): every order in one command, streamed, with the
accounting columns as numbers in major units beside a currency column, the same units as the
customers' export; --limit 0 means all; an export of the filter or of given orders, to a new
file only; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import os
import stat

import pytest
import tomli_w
from click.testing import CliRunner

from store import exports, orders, payments, status
from store.errors import PermissionDenied, ValidationError
from store.models import Address, Order
from store.queries import QueueFilter
from tests.conftest import cli_config
from tests.factories import ADDRESS, place
from tui.cli import main


@pytest.fixture
def shopful(shop, admin):
    """Three orders: one paid and partly refunded (billed to DE), one archived, one in JPY
    whose customer's name starts like a formula."""
    a = place(shop, price=4000, billing_address=ADDRESS | {"country": "DE"})
    status.change_status(shop, admin, [a.id], "paid")
    payments.refund(shop, admin, a.id, 505, "scratched")
    b = place(shop, price=1999, name="Ann Archived")
    status.change_status(shop, admin, [b.id], "cancelled")
    orders.set_archived(shop, admin, [b.id])
    c = place(shop, price=1200, currency="JPY", name="=HYPERLINK(1)")
    return a, b, c


def _read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_every_order_with_accounting_columns(shop, admin, shopful):
    a, b, c = shopful
    out = io.StringIO()
    assert exports.write(admin, exports.Selection(QueueFilter()), out) == 3
    rows = {r["code"]: r for r in _read(out.getvalue())}
    assert list(rows) == [a.code, b.code, c.code]
    first = rows[a.code]
    assert first["currency"] == "EUR" and first["billing_country"] == "DE"
    assert (first["subtotal"], first["tax"], first["shipping"], first["total"], first["paid"],
            first["refunded"]) == ("40.00", "8.00", "0.00", "48.00", "48.00", "5.05")
    assert first["paid_at"] and first["placed_at"] and first["status"] == "paid"
    assert rows[b.code]["archived"] == "1" and rows[b.code]["paid_at"] == ""
    assert rows[c.code]["total"] == "1440" and rows[c.code]["currency"] == "JPY"
    assert rows[c.code]["customer_name"] == "'=HYPERLINK(1)"  # never a formula
    assert rows[c.code]["billing_country"] == "FR"


def test_filter_ids_and_limit(shop, admin, shopful):
    a, b, c = shopful
    out = io.StringIO()
    exports.write(admin, exports.Selection(QueueFilter(text="archived")), out)
    assert [r["code"] for r in _read(out.getvalue())] == [b.code]
    out = io.StringIO()
    exports.write(admin, exports.Selection(QueueFilter(), both_archived=False), out)
    assert [r["code"] for r in _read(out.getvalue())] == [a.code, c.code]
    out = io.StringIO()
    exports.write(admin, exports.Selection(ids=(c.id, a.id)), out)
    assert [r["code"] for r in _read(out.getvalue())] == [a.code, c.code]
    out = io.StringIO()
    exports.write(admin, exports.Selection(QueueFilter(), limit=2), out)
    assert len(_read(out.getvalue())) == 2


def test_many_batches_stream(shop, admin, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 3)
    made = [place(shop, price=100 + i).code for i in range(8)]
    seen: list[int] = []
    out = io.StringIO()
    assert exports.write(admin, exports.Selection(QueueFilter()), out, seen.append) == 8
    assert [r["code"] for r in _read(out.getvalue())] == made
    assert seen == [3, 6, 8]
    out = io.StringIO()
    exports.write(admin, exports.Selection(QueueFilter(text="ann"), limit=7), out)
    assert len(_read(out.getvalue())) == 7


def test_a_new_file_only_and_a_manager_s_action(shop, admin, viewer, shopful, tmp_path):
    done = exports.export_file(admin, exports.Selection(QueueFilter()), tmp_path / "x")
    assert done.orders == 3 and done.path.parent == (tmp_path / "x").resolve()
    assert stat.S_IMODE(os.stat(done.path).st_mode) == 0o600
    with pytest.raises(ValidationError, match="cannot write the export"):
        exports.export_to(admin, exports.Selection(QueueFilter()), done.path)
    with pytest.raises(PermissionDenied):
        exports.export_file(viewer, exports.Selection(QueueFilter()), tmp_path)


def test_command_line(shop, shopful, tmp_path, monkeypatch):
    a, b, c = shopful
    (tmp_path / "config.toml").write_text(tomli_w.dumps(cli_config(shop.config.database_url)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BACKROOM_DATABASE_URL", raising=False)
    monkeypatch.delenv("BACKROOM_CONFIG", raising=False)
    runner = CliRunner(env={"BACKROOM_OPERATOR": "ada"})
    out = runner.invoke(main, ["orders", "export"])
    assert out.exit_code == 0, out.output
    assert [r["code"] for r in _read(out.stdout)] == [a.code, b.code, c.code]
    out = runner.invoke(main, ["orders", "export", "--current", "--output", "all.csv"])
    assert out.exit_code == 0 and "2 order(s) written to" in out.output, out.output
    assert [r["code"] for r in _read((tmp_path / "all.csv").read_text())] == [a.code, c.code]
    out = runner.invoke(main, ["orders", "export", "--output", "all.csv"])
    assert out.exit_code == 1 and "cannot write the export" in out.output
    out = runner.invoke(main, ["orders", "export", "--output", "all.csv/x.csv"])  # was: "File
    assert out.exit_code == 1 and out.output.strip() == (  # exists", of a file that did not
        "backroom: cannot write the export to all.csv/x.csv: all.csv is a file, not a folder")
    out = runner.invoke(main, ["orders", "export", "--archived"])
    assert [r["code"] for r in _read(out.stdout)] == [b.code]
    out = runner.invoke(main, ["orders", "list", "--limit", "0", "--format", "csv"])
    rows = _read(out.stdout)
    assert {r["code"] for r in rows} == {a.code, c.code}
    assert {(r["total"], r["currency"]) for r in rows} == {("48.00", "EUR"), ("1440", "JPY")}
    out = runner.invoke(main, ["customers", "list", "--format", "csv"])
    assert out.exit_code == 0 and "postcode" in out.stdout.splitlines()[0]


def test_no_text_cell_reads_as_a_formula(shop, admin):
    """The four text cells, the billing country (or the shipping one when there is no billing
    address) included, each get a leading ' when they start like a formula; a negative amount
    keeps its sign."""
    a = place(shop, price=1000, billing_address=ADDRESS | {"country": "DE"})
    b = place(shop, price=1000)
    Order.update(customer_email="@evil.example", payment_method="-pay",
                 discount=-5).where(Order.id == a.id).execute()
    Address.update(country="=1").where(Address.order == a.id,
                                          Address.kind == "billing").execute()
    Address.delete().where(Address.order == b.id, Address.kind == "billing").execute()
    Address.update(country="+3").where(Address.order == b.id).execute()
    out = io.StringIO()
    exports.write(admin, exports.Selection(QueueFilter()), out)
    rows = {r["code"]: r for r in _read(out.getvalue())}
    first = rows[a.code]
    assert (first["customer_email"], first["payment_method"], first["billing_country"],
            first["discount"]) == ("'@evil.example", "'-pay", "'=1", "-0.05")
    assert rows[b.code]["billing_country"] == "'+3"
