"""`backroom print ...`: packing slips (with a pick list), invoices and customer sheets as
PDFs under documents.output_dir (or --out), sent to CUPS when a printer is set. Each says
where the file is; a refusal prints one line and exits 1, and a failed print keeps the PDF.
Slips that print without characters no font has say so in one line on stderr; an invoice
that would is refused (documents.pdf, MissingCharacters)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from store import document_reads, orders, queries
from store.customer_queries import resolve_customer
from store.errors import Refused, ValidationError
from store.operators import require
from tui.cli.common import BackroomGroup, CliState, pass_state

# `documents` is imported inside the commands that print: fpdf2, pypdf and the fonts cost
# ~180 ms to import (measured), which every other command would pay at start-up.


@click.group("print", cls=BackroomGroup)
def print_group() -> None:
    """Print: packing slips and pick lists, invoices, customer sheets."""


def _deliver(state: CliState, data: bytes | bytearray, name: str, kind: str,
             out: str | None, printer: str | None) -> None:
    """Write the PDF (never over a file), say where, then print it if a printer is set; a
    failed print is one line that names the PDF it kept."""
    from documents import output

    done = output.deliver(state.config, state.actor, data, name, kind,
                          out=Path(out) if out else None, printer=printer)
    click.echo(f"wrote {done.path}")
    if done.job:
        click.echo(f"sent to {done.printer}: job {done.job}")


@print_group.command("slips")
@click.argument("codes", nargs=-1)
@click.option("--filter", "query", default=None,
              help="Every order matching this queue filter, in queue order, instead of codes.")
@click.option("--picklist", is_flag=True, help="Append the pick list of the batch.")
@click.option("--labels", is_flag=True,
              help="Put each order's carrier label (orders attach-label) after its slip.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write here (never over a file) instead of documents.output_dir.")
@click.option("--printer", default=None, help="CUPS printer; overrides [print] settings.")
@pass_state
def print_slips(state: CliState, codes: tuple[str, ...], query: str | None, picklist: bool,
                labels: bool, out: str | None, printer: str | None) -> None:
    """Packing slips of orders, one PDF in the order given (or the filter's order)."""
    from documents import output, slips

    shop = state.shop
    require(state.actor, "print")
    if bool(codes) == (query is not None):
        raise ValidationError("give order codes or --filter QUERY (one of the two)")
    if query is not None:
        ids = queries.matching_ids(queries.parse_filter(query, shop.workflow))
        if not ids:
            click.echo("no order matches that filter; nothing to print")
            return
    else:
        ids = [orders.find_order(shop, code).id for code in codes]
    attached = document_reads.labels(ids) if labels else {}
    done = slips.slips_pdf(state.config, ids, picklist=picklist, labels=attached)
    now = dt.datetime.now()
    _deliver(state, done.data, output.slips_name(done.orders, now, picklist), "slips", out,
             printer)
    click.echo(f"{done.orders} slip(s), {done.pages} page(s)"
               + (f", {len(attached)} label(s)" if labels else ""))
    if done.warning:
        click.echo(f"warning: {done.warning}", err=True)


@print_group.command("invoice")
@click.argument("code")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write here (never over a file) instead of documents.output_dir.")
@click.option("--printer", default=None, help="CUPS printer; overrides [print] settings.")
@pass_state
def print_invoice(state: CliState, code: str, out: str | None, printer: str | None) -> None:
    """The invoice of an order (by order code, or the invoice's number), as it was issued
    when the order was paid."""
    require(state.actor, "print")
    issued = document_reads.issued_by_code(code)
    if issued is None or issued.kind != "invoice":
        ref = orders.find_order(state.shop, code)
        issued = document_reads.order_invoice(ref.id)
        if issued is None:
            raise Refused(f"{ref.code} has no invoice: an order gets one when it first "
                          "enters a paid status")
    _print_issued(state, issued, out, printer)


@print_group.command("credit-note")
@click.argument("code")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write here (never over a file); only with one credit note.")
@click.option("--printer", default=None, help="CUPS printer; overrides [print] settings.")
@pass_state
def print_credit_note(state: CliState, code: str, out: str | None, printer: str | None) -> None:
    """A credit note by its number, or every credit note of an order (by order code)."""
    require(state.actor, "print")
    issued = document_reads.issued_by_code(code)
    if issued is not None and issued.kind == "credit_note":
        notes = [issued]
    else:
        ref = orders.find_order(state.shop, code)
        notes = document_reads.credit_notes(ref.id)
        if not notes:
            raise Refused(f"{ref.code} has no credit note: a refund of an invoiced order "
                          "issues one")
    if out and len(notes) > 1:
        raise ValidationError(f"{len(notes)} credit notes: give one number with --out")
    for note in notes:
        _print_issued(state, note, out, printer)


def _print_issued(state: CliState, issued: document_reads.IssuedDocument, out: str | None,
                  printer: str | None) -> None:
    """Render an invoice or credit note from its frozen data (the same bytes each time)."""
    from documents import invoice, output

    _deliver(state, invoice.render_invoice(state.config, issued.doc),
             output.invoice_name(issued.code, issued.kind == "credit_note"), "invoices", out,
             printer)


@print_group.command("customer")
@click.argument("customer")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write here (never over a file) instead of documents.output_dir.")
@click.option("--printer", default=None, help="CUPS printer; overrides [print] settings.")
@pass_state
def print_customer(state: CliState, customer: str, out: str | None,
                   printer: str | None) -> None:
    """A customer's sheet (by id or email): profile, addresses, group, orders."""
    from documents import customer_sheet, output

    shop = state.shop
    require(state.actor, "print")
    customer_id = resolve_customer(customer)
    sheet = document_reads.customer_sheet(customer_id)
    warnings: list[str] = []
    data = customer_sheet.render_customer_sheet(state.config, sheet,
                                                status_label=shop.workflow.label,
                                                warn=warnings.append)
    _deliver(state, data, output.customer_name(customer_id, dt.datetime.now()), "invoices",
             out, printer)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


COMMANDS: list[click.Command] = [print_group]
