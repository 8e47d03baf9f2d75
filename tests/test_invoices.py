"""Invoices and credit notes (store/invoices.py): numbered from a gapless sequence per series
and year in the transaction that issues them, frozen as issued, on SQLite and PostgreSQL.
The sequence is tested with five real processes issuing at once, one transaction in ten
rolled back on purpose: no gap, no duplicate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from documents import invoice as invoice_pdf
from store import document_reads, invoices, orders, payments, status, undo
from store.errors import ConfigError
from store.models import Counter, Invoice, Order, db, utcnow
from store.shop import open_shop
from tests.conftest import make_config
from tests.factories import place

ROOT = Path(__file__).resolve().parent.parent


def _codes(kind: str = "invoice") -> list[str]:
    return [i.code for i in Invoice.select().where(Invoice.kind == kind).order_by(Invoice.id)]


def test_entering_paid_issues_each_real_order_one_invoice_in_order(shop, clerk, manager):
    year = utcnow().year
    a, b, c = (place(shop, email=f"{n}@example.com") for n in "abc")
    test = place(shop, is_test=True)
    change = status.change_status(shop, clerk, [c.id, test.id, a.id], "paid")
    assert change.invoices == 2 and change.describe(shop.workflow).invoices == (
        "2 invoice(s) issued")
    assert _codes() == [f"INV-{year}-00001", f"INV-{year}-00002"]
    assert [i.order_id for i in Invoice.select().order_by(Invoice.id)] == [c.id, a.id]
    preview = status.change_status(shop, clerk, [b.id], "paid", dry_run=True)
    assert preview.describe(shop.workflow).invoices == "1 invoice(s) will be issued"
    assert len(_codes()) == 2  # a dry run issues nothing
    # undo keeps the invoice; entering paid again issues no second one
    undo.undo(shop, clerk, change.batch)
    assert Order.get_by_id(a.id).status == "awaiting_payment"
    again = status.change_status(shop, clerk, [a.id, b.id], "paid")
    assert again.invoices == 1
    assert _codes() == [f"INV-{year}-0000{n}" for n in (1, 2, 3)]
    assert Invoice.get(Invoice.code == f"INV-{year}-00003").order_id == b.id
    # a payment recorded in full issues none (the paid status does)
    d = place(shop)
    payments.record_payment(shop, manager, d.id, Order.get_by_id(d.id).total)
    assert document_reads.order_invoice(d.id) is None


def test_an_issued_invoice_never_changes(shop, clerk, admin, db_url):
    ref = place(shop, name="Łukasz Żółć", total_items=2)
    status.change_status(shop, clerk, [ref.id], "paid")
    issued = document_reads.order_invoice(ref.id)
    assert issued is not None and issued.doc.buyer.name == "Ann Smith"
    first = invoice_pdf.render_invoice(shop.config, issued.doc)
    orders.edit_address(shop, admin, ref.id, "billing", {"first_name": "Zoë", "city": "Nice"})
    moved = make_config(db_url, shop={"name": "Renamed"},
                        documents={"shop_address": "1 New Street"})
    again = document_reads.order_invoice(ref.id)
    assert again is not None and again.doc == issued.doc  # frozen: not the order's new data
    assert invoice_pdf.render_invoice(moved, again.doc) == first
    assert document_reads.issued_by_code(issued.code.lower()) == issued
    assert issued.doc.total == Order.get_by_id(ref.id).total
    assert issued.doc.amount_paid == Order.get_by_id(ref.id).total


def test_a_refund_issues_a_credit_note_naming_the_invoice(shop, clerk, manager):
    year = utcnow().year
    ref = place(shop, total_items=2)
    no_invoice = place(shop)
    status.change_status(shop, clerk, [ref.id], "paid")
    invoice = document_reads.order_invoice(ref.id)
    assert invoice is not None
    payments.refund(shop, manager, ref.id, 1000, "Mug arrived chipped")
    total = Order.get_by_id(ref.id).total
    payments.refund(shop, manager, ref.id, total - 1000, "returned")
    notes = document_reads.credit_notes(ref.id)
    assert [n.code for n in notes] == [f"CN-{year}-00001", f"CN-{year}-00002"]
    assert [n.doc.total for n in notes] == [-1000, -(total - 1000)]
    assert all(n.doc.corrects == invoice.code and n.doc.is_credit_note for n in notes)
    assert notes[0].doc.lines[0].description == "Mug arrived chipped"
    assert Invoice.get(Invoice.code == notes[0].code).corrects_id == Invoice.get(
        Invoice.code == invoice.code).id
    # an order that was never invoiced gets no credit note
    status.change_status(shop, clerk, [no_invoice.id], "awaiting_verification")
    payments.record_payment(shop, manager, no_invoice.id, 500)
    payments.refund(shop, manager, no_invoice.id, 500, "changed their mind")
    assert document_reads.credit_notes(no_invoice.id) == []


def test_a_full_refund_of_the_whole_invoice_negates_every_line(shop, clerk, manager):
    ref = place(shop, total_items=3, shipping_cost=490)
    status.change_status(shop, clerk, [ref.id], "paid")
    payments.refund(shop, manager, ref.id, Order.get_by_id(ref.id).total, "cancelled")
    [note] = document_reads.credit_notes(ref.id)
    invoice = document_reads.order_invoice(ref.id)
    assert invoice is not None
    assert [line.net for line in note.doc.lines] == [-line.net for line in invoice.doc.lines]
    assert note.doc.shipping == -490 and note.doc.total == -invoice.doc.total


def test_prefixes_and_years_make_series(shop, clerk, db_url):
    renamed = open_shop(make_config(db_url, documents={"invoice_prefix": "fa"}))
    ref = place(renamed)
    status.change_status(renamed, clerk, [ref.id], "paid")
    assert _codes() == [f"FA-{utcnow().year}-00001"]
    assert invoices.series("FA", utcnow().replace(year=2031)) == "FA-2031"
    with pytest.raises(ConfigError, match="invoice_prefix"):
        make_config(db_url, documents={"invoice_prefix": "F-A"})


def test_gaps_names_every_missing_number(shop, clerk):
    refs = [place(shop) for _ in range(5)]
    status.change_status(shop, clerk, [r.id for r in refs], "paid")
    assert invoices.gaps() == []
    year = utcnow().year
    with db.atomic():  # what no service does: an invoice removed behind backroom's back
        db.execute_sql("DELETE FROM invoice WHERE number IN (2, 4)")
    assert invoices.gaps() == [f"invoice series INV-{year}: 2 number(s) missing: "
                               f"INV-{year}-00002, INV-{year}-00004"]
    with db.atomic():
        Counter.update(value=Counter.value + 1).where(
            Counter.name == f"invoice:INV-{year}").execute()
    assert invoices.gaps()[-1] == (f"invoice series INV-{year}: its counter is at 6 but the "
                                   "last number issued is 5")


# ----- the sequence under five processes at once ---------------------------------------------

ISSUER = """
import sys
from store import config, operators, status
from store.models import db
from store.shop import open_shop

url, ids = sys.argv[1], [int(i) for i in sys.argv[2].split(",")]
shop = open_shop(config.from_mapping({"database": {"url": url}}, "issuer", environ={}))
actor = shop.actor("ada")
print("ready", flush=True)
sys.stdin.readline()  # the parent says go to all five at once
committed = rolled_back = 0
for n, oid in enumerate(ids):
    with db.atomic() as txn:
        change = status.change_status(shop, actor, [oid], "paid", hold_mail=False)
        assert change.invoices == 1, change.summary()
        if n % 10 == 9:  # one transaction in ten rolled back on purpose, invoice issued
            txn.rollback()
            rolled_back += 1
        else:
            committed += 1
print(committed, rolled_back, flush=True)
"""
PROCESSES = 5
EACH = 20


@pytest.mark.slow
def test_five_processes_issue_invoices_without_gap_or_duplicate(own_db_url):
    from store import db as dbmod
    from store import operators

    shop = open_shop(make_config(own_db_url))
    operators.ensure_admin("ada")
    refs = [place(shop) for _ in range(PROCESSES * EACH)]
    dbmod.close()
    parts = [refs[n::PROCESSES] for n in range(PROCESSES)]
    children = [subprocess.Popen(
        [sys.executable, "-c", ISSUER, own_db_url, ",".join(str(r.id) for r in part)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for part in parts]
    for child in children:  # every child has opened the shop and waits at the line
        assert child.stdout is not None
        ready = child.stdout.readline()
        assert ready.strip() == "ready", child.stderr.read() if child.stderr else ready
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outcomes = [child.communicate(timeout=300) for child in children]
    assert all(child.returncode == 0 for child in children), [err for _, err in outcomes]
    committed = sum(int(out.split()[0]) for out, _ in outcomes)
    rolled_back = sum(int(out.split()[1]) for out, _ in outcomes)
    assert (committed, rolled_back) == (PROCESSES * EACH * 9 // 10, PROCESSES * EACH // 10)

    open_shop(make_config(own_db_url))
    numbers = [i.number for i in Invoice.select().order_by(Invoice.number)]
    assert numbers == list(range(1, committed + 1))  # no gap, no duplicate
    assert len({i.code for i in Invoice.select()}) == committed
    assert invoices.gaps() == []
    year = utcnow().year
    assert Counter.get(Counter.name == f"invoice:INV-{year}").value == committed
    invoiced = {i.order_id for i in Invoice.select()}
    for part in parts:  # the tenth of each child's orders was rolled back: no invoice, unpaid
        for n, ref in enumerate(part):
            order = Order.get_by_id(ref.id)
            assert (ref.id in invoiced) == (n % 10 != 9)
            assert order.status == ("awaiting_payment" if n % 10 == 9 else "paid")


# ----- the invoice with the paid mail --------------------------------------------------------

def test_the_paid_mail_carries_the_invoice_pdf_when_asked(shop, clerk, db_url):
    from email import policy
    from email.parser import BytesParser

    from mailer.worker import deliver_once
    from tests.mail_server import Server

    server = Server().start()
    try:
        ref, other = place(shop, email="ann@example.com"), place(shop, email="bob@example.com")
        plain = make_config(db_url, smtp={"port": server.port})
        attached = make_config(db_url, smtp={"port": server.port},
                               documents={"attach_invoice": True})
        deliver_once(plain)  # the order confirmations
        status.change_status(shop, clerk, [other.id], "paid", hold_mail=False)
        deliver_once(plain)
        status.change_status(shop, clerk, [ref.id], "paid", hold_mail=False)
        deliver_once(attached)
        mails = {str(m["X-Backroom-Mail"]).split()[0] + ":" + str(m["To"]): m
                 for m in server.received}
    finally:
        server.stop()
    without = mails["payment_received:bob@example.com"]
    assert without.get_content_type() == "multipart/alternative"
    message = mails["payment_received:ann@example.com"]
    raw = BytesParser(policy=policy.strict).parsebytes(message.as_bytes())
    assert raw.get_content_type() == "multipart/mixed"
    body, pdf = raw.get_payload()  # type: ignore[misc]
    assert body.get_content_type() == "multipart/alternative"
    issued = document_reads.order_invoice(ref.id)
    assert issued is not None
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"invoice-{issued.code}.pdf"
    assert pdf.get_content() == invoice_pdf.render_invoice(attached, issued.doc)
