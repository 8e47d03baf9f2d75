"""`backroom orders ...`: the order queue, detail and actions for scripts and cron, over the
same store queries and services as the app. A refusal exits non-zero."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from store import (
    archive,
    carriers,
    exports,
    labels,
    orders,
    payments,
    queries,
    replacements,
    tracking_import,
)
from store import status as statusmod
from store.customer_queries import resolve_customer
from store.errors import ValidationError
from store.money import format_money as money
from store.money import major, parse_amount, parse_percent
from store.text import printable
from tui.cli.common import (
    FORMATS,
    BackroomGroup,
    CliState,
    cut_at_limit,
    emit,
    json_text,
    pass_state,
)

LIST_COLUMNS = ("code", "placed", "customer", "email", "items", "total", "status", "mail")


@click.group("orders", cls=BackroomGroup)
def orders_group() -> None:
    """Orders: list, show, set-status, import-tracking, attach-label, note, pay, refund,
    replace, archive, place-test, delete."""


@orders_group.command("list")
@click.option("--status", "statuses", multiple=True,
              help="Status key, label or hotkey; repeat or comma-separate for several.")
@click.option("--search", "text", default="", help="Free text or filter tokens (status:paid ...).")
@click.option("--archived", is_flag=True, help="Archived orders instead of current ones.")
@click.option("--limit", default=100, show_default=True,
              help="At most this many orders (0: all of them).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def orders_list(state: CliState, statuses: tuple[str, ...], text: str, archived: bool, limit: int,
                fmt: str) -> None:
    """List orders, newest first, as the queue shows them. CSV and JSON give the total as a
    number in major units beside its currency (as every export does)."""
    shop = state.shop
    f = queries.parse_filter(text, shop.workflow, queries.QueueFilter(archived=archived))
    if statuses:
        wanted = [s for group in statuses for s in group.split(",") if s.strip()]
        try:
            keys = tuple(dict.fromkeys(shop.workflow.resolve(s) for s in wanted))
        except Exception as exc:
            raise ValidationError(f"--status: {exc}") from None
        f = replace(f, statuses=keys)
    if limit < 0:
        raise ValidationError("--limit: give a number of orders, or 0 for all of them")
    rows: list[dict[str, Any]] = []
    cursor = None
    more = False
    while limit == 0 or len(rows) < limit:
        page = queries.queue_page(f, cursor, 500 if limit == 0 else min(500, limit - len(rows)))
        for r in page.rows:
            rows.append({
                "code": r.code, "placed": r.placed_at.strftime("%Y-%m-%d %H:%M"),
                "customer": r.customer_name, "email": r.customer_email, "items": r.item_count,
                "total": money(r.total, r.currency) if fmt == "table"
                else Decimal(major(r.total, r.currency)),
                "currency": r.currency, "status": r.status, "mail": r.mail_state,
                "archived": r.archived, "test": r.is_test,
            })
        more = page.next_cursor is not None
        if not more:
            break
        cursor = page.next_cursor
    columns = LIST_COLUMNS if fmt == "table" else (*LIST_COLUMNS, "currency", "archived", "test")
    emit(rows, columns, fmt)
    cut_at_limit(len(rows), "orders", more)


def _echo(line: str) -> None:
    """One line of `show`: stored text is shown with its control characters made visible."""
    click.echo(printable(line))


def _detail_dict(detail: Any) -> dict[str, Any]:
    data = asdict(detail)
    data["placed_at"] = detail.placed_at.isoformat()
    return data


@orders_group.command("show")
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_state
def orders_show(state: CliState, code: str, fmt: str) -> None:
    """One order with its items, payments, refunds, addresses, history and mails."""
    detail = queries.order_detail(orders.find_order(state.shop, code).id)
    if fmt == "json":
        click.echo(json_text(_detail_dict(detail)))
        return
    _echo_order(state, detail)
    _echo_records(detail)


def _echo_order(state: CliState, detail: queries.OrderDetail) -> None:
    """The order itself: status, customer, addresses, items, amounts and the facts it has."""
    cur = detail.currency
    wf = state.shop.workflow
    flags = [w for w, on in (("archived", detail.archived), ("test", detail.is_test)) if on]
    _echo(f"{detail.code}  {wf.label(detail.status)}  placed {detail.placed_at:%Y-%m-%d %H:%M}"
          + (f"  ({', '.join(flags)})" if flags else ""))
    _echo(f"customer: {detail.customer_name} <{detail.customer_email}>"
          + (f"  {detail.customer_phone}" if detail.customer_phone else ""))
    for kind, a in detail.addresses.items():
        line = ", ".join(p for p in (f"{a.first_name} {a.last_name}".strip(), a.company, a.line1,
                                     a.line2, f"{a.postcode} {a.city}".strip(), a.region,
                                     a.country) if p)
        _echo(f"{kind}: {line}")
    _echo("items:")
    for i in detail.items:
        _echo(f"  {i.quantity} x {i.sku}  {i.name}  {money(i.unit_price, cur)}"
              f"  = {money(i.line_total, cur)}")
    _echo(f"subtotal {money(detail.subtotal, cur)}, tax {money(detail.tax, cur)}, "
          f"shipping {money(detail.shipping_cost, cur)}, discount "
          f"{money(detail.discount, cur)}, total {money(detail.total, cur)}")
    _echo(f"paid {money(detail.amount_paid, cur)} by {detail.payment_method or '-'}, "
          f"refunded {money(detail.amount_refunded, cur)}")
    if detail.tracking_number:
        carrier = carriers.label(state.config.carriers, detail.carrier)
        link = carriers.tracking_url(state.config.carriers, detail.carrier,
                                     detail.tracking_number)
        _echo(f"tracking: {detail.tracking_number} {carrier}".rstrip()
              + (f"  {link}" if link else ""))
    for label, value in (("carrier label", detail.label),
                         ("invoices", ", ".join(detail.documents)),
                         ("reference", detail.internal_reference)):
        if value:
            _echo(f"{label}: {value}")
    if detail.external_reference:
        _echo(f"imported: {detail.external_reference} from {detail.external_source}")
    if detail.customer_note:
        _echo(f"customer note: {detail.customer_note}")
    if detail.gift_message:
        _echo(f"gift message: {detail.gift_message}")


def _echo_records(detail: queries.OrderDetail) -> None:
    """What happened to the order: payments, history and mails, oldest first."""
    cur = detail.currency
    if detail.payments:
        _echo("payments:")
        for p in detail.payments:
            extra = f"  {p.reason}" if p.reason else ""
            _echo(f"  {p.created_at:%Y-%m-%d %H:%M}  {p.kind:<8} {money(p.amount, cur)}"
                  f"  {p.method}  {p.operator_login}{extra}")
    _echo("history:")
    for e in detail.events:
        move = f" {e.from_status} -> {e.to_status}" if e.kind == "status" else ""
        message = f"  {e.message}" if e.message else ""
        _echo(f"  {e.created_at:%Y-%m-%d %H:%M}  {e.operator_login or '-'}  {e.kind}{move}"
              f"{message}")
    if detail.mails:
        _echo("mails:")
        for m in detail.mails:
            _echo(f"  {m.created_at:%Y-%m-%d %H:%M}  {m.kind}  {m.recipient}  {m.state}")


def _ids(state: CliState, codes: Sequence[str]) -> list[int]:
    return [orders.find_order(state.shop, code).id for code in codes]


@orders_group.command("set-status")
@click.argument("codes", nargs=-1)
@click.option("--to", "to_status", required=True, help="Target status (key, label or hotkey).")
@click.option("--filter", "query", default=None,
              help="Every order matching this queue filter instead of codes.")
@click.option("--notify/--no-notify", default=True, show_default=True,
              help="Queue the customer emails the workflow sends.")
@click.option("--tracking", default=None, help="Tracking number (shipping statuses).")
@click.option("--carrier", default=None,
              help="Carrier of the tracking number ([carriers] name or label); default: the "
                   "one that recognises the number, else shipping.default_carrier.")
@click.option("--same-tracking", is_flag=True,
              help="Give several orders the one --tracking number (one parcel for them all).")
@click.option("--note", default=None,
              help="An internal note for the history of each order (never mailed).")
@click.option("--message", default=None,
              help="A message to the customer, written in the status email (needs a status "
                   "that sends one, and --notify).")
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@pass_state
def orders_set_status(state: CliState, codes: tuple[str, ...], to_status: str, query: str | None,
                      notify: bool, tracking: str | None, carrier: str | None,
                      same_tracking: bool, note: str | None, message: str | None,
                      dry_run: bool) -> None:
    """Move orders to a status: prints the preview, then each order's result. Exits 1 if any
    order was refused."""
    shop = state.shop
    if bool(codes) == (query is not None):
        raise ValidationError("give order codes or --filter QUERY (one of the two)")
    try:
        target = shop.workflow.resolve(to_status)
    except Exception as exc:
        raise ValidationError(f"--to: {exc}") from None
    if query is not None:
        ids = queries.matching_ids(queries.parse_filter(query, shop.workflow))
        if not ids:
            click.echo("no order matches that filter; nothing to do")
            return
    else:
        ids = _ids(state, codes)
    wf = shop.workflow
    options: dict[str, Any] = {"notify": notify, "tracking": tracking, "carrier": carrier,
                               "note": note, "message": message,
                               "shared_tracking": same_tracking}
    preview = statusmod.change_status(shop, state.actor, ids, target, dry_run=True, **options)
    _preview(preview, wf, target, len(ids))
    described = preview.describe(wf)
    if dry_run:
        click.echo(f"dry run: {described.headline}; nothing changed")
        if preview.refused:
            sys.exit(1)
        return
    result = statusmod.change_status(shop, state.actor, ids, target, hold_mail=False, **options)
    _results(result, wf, target)
    if result.refused:
        sys.exit(1)


def _preview(preview: statusmod.StatusChange, wf: Any, target: str, count: int) -> None:
    """The preview of a status change, as `set-status` and `import-tracking` print it."""
    described = preview.describe(wf)
    click.echo(f"preview: {count} order(s) to {wf.label(target)}")
    for line in described.moves:
        click.echo(f"  {line}")
    for code, reason in described.refusals:
        click.echo(f"  {code}: refused: {reason}")
    click.echo(f"  {described.mails}")
    if described.invoices:
        click.echo(f"  {described.invoices}")


def _results(result: statusmod.StatusChange, wf: Any, target: str) -> None:
    for r in result.results:
        if r.changed:
            click.echo(f"{r.code}: {wf.label(r.from_status)} -> {wf.label(target)}")
        else:
            click.echo(f"{r.code}: refused: {r.reason}")
    click.echo(result.summary(wf))


@orders_group.command("import-tracking")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--to", "to_status", default=None,
              help="Target status; default: the workflow's shipping status.")
@click.option("--notify/--no-notify", default=True, show_default=True,
              help="Queue the customer emails the workflow sends.")
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@pass_state
def orders_import_tracking(state: CliState, file: str, to_status: str | None, notify: bool,
                           dry_run: bool) -> None:
    """Ship the orders of a carrier's CSV, each with its own tracking number: columns by
    header (order code or reference, tracking number, carrier). Prints the preview, then
    ships in one change; exits 1 if a line or an order was refused."""
    shop = state.shop
    wf = shop.workflow
    imported = tracking_import.parse(shop, tracking_import.read_text(file))
    target = wf.resolve(to_status) if to_status else ""
    click.echo(f"{file}: {len(imported.lines)} line(s); columns: "
               f"{', '.join(imported.columns)}")
    for x in imported.problems:
        click.echo(f"  line {x.line}: skipped: {x.problem}")
    if not imported.usable:
        click.echo("no line names an order to ship; nothing to do")
        sys.exit(1)
    preview = tracking_import.ship(shop, state.actor, imported, to_status=target or None,
                                   notify=notify, dry_run=True)
    _preview(preview, wf, preview.to_status, len(imported.usable))
    if dry_run:
        click.echo(f"dry run: {preview.describe(wf).headline}; nothing changed")
    else:
        result = tracking_import.ship(shop, state.actor, imported, to_status=target or None,
                                      notify=notify, hold_mail=False)
        _results(result, wf, result.to_status)
        preview = result
    if preview.refused or imported.problems:
        sys.exit(1)


@orders_group.command("attach-label")
@click.argument("code")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_state
def orders_attach_label(state: CliState, code: str, file: str) -> None:
    """Keep a carrier's label PDF with an order (print slips --labels puts it after the
    slip); replaces the label it had."""
    ref = orders.find_order(state.shop, code)
    data, name = labels.read_label_file(file)
    pages = labels.attach_label(state.shop, state.actor, ref.id, data, name)
    click.echo(f"{ref.code}: label {name} attached ({pages} page(s))")


@orders_group.command("note")
@click.argument("code")
@click.argument("text")
@click.option("--visible", is_flag=True, help="Show it to the customer (queues an email).")
@pass_state
def orders_note(state: CliState, code: str, text: str, visible: bool) -> None:
    """Add a note to an order's history."""
    ref = orders.find_order(state.shop, code)
    orders.add_note(state.shop, state.actor, ref.id, text, visible=visible)
    click.echo(f"{ref.code}: note added" + (" (visible to the customer, email queued)"
                                            if visible else ""))


@orders_group.command("pay")
@click.argument("code")
@click.argument("amount")
@click.option("--method", default="", help="How it was paid (wire, cash...); default: the "
              "order's payment method.")
@click.option("--reference", default="", help="The bank's or till's reference of the payment.")
@pass_state
def orders_pay(state: CliState, code: str, amount: str, method: str, reference: str) -> None:
    """Record a payment of AMOUNT (major units, like 12.50) received for an order: any amount
    up to what is still owed (a manual or a part payment). The status stays as it is."""
    ref = orders.find_order(state.shop, code)
    currency = queries.order_detail(ref.id).currency
    result = payments.record_payment(state.shop, state.actor, ref.id,
                                     parse_amount(amount, currency), method, reference)
    click.echo(result.summary())


@orders_group.command("refund")
@click.argument("code")
@click.argument("amount")
@click.option("--reason", required=True, help="Why (kept in the history and the email).")
@click.option("--notify/--no-notify", default=True, show_default=True)
@pass_state
def orders_refund(state: CliState, code: str, amount: str, reason: str, notify: bool) -> None:
    """Refund AMOUNT (major units, like 12.50) of what was paid; says the status the order
    moved to and the mail queued."""
    ref = orders.find_order(state.shop, code)
    currency = queries.order_detail(ref.id).currency
    minor = parse_amount(amount, currency)
    result = payments.refund_order(state.shop, state.actor, ref.id, minor, reason,
                                   notify=notify)
    label = state.shop.workflow.label(result.moved_to) if result.moved_to else ""
    click.echo(result.summary(label))


@orders_group.command("replace")
@click.argument("code")
@click.option("--item", "items", multiple=True, metavar="SKU[:QTY]",
              help="An item to send again (repeat for several); default: every item.")
@click.option("--reason", default="", help="Why (lost in transit, arrived broken...): kept in "
              "both orders' histories, not mailed.")
@click.option("--notify/--no-notify", default=True, show_default=True,
              help="Send the customer the new order's confirmation.")
@pass_state
def orders_replace(state: CliState, code: str, items: tuple[str, ...], reason: str,
                   notify: bool) -> None:
    """A replacement for a lost or damaged parcel: a new order of the items at no charge, to
    the same address, linked to the original and noted in both histories."""
    ref = orders.find_order(state.shop, code)
    wanted = replacements.parse_items(items) if items else None
    result = replacements.place_replacement(state.shop, state.actor, ref.id, wanted, reason,
                                            notify=notify)
    click.echo(result.summary())


@orders_group.command("archive")
@click.argument("codes", nargs=-1)
@click.option("--filter", "query", default=None,
              help="Every order matching this queue filter instead of codes "
                   "(e.g. \"status:completed placed:<30d\").")
@click.option("--undo", is_flag=True, help="Unarchive instead.")
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@pass_state
def orders_archive(state: CliState, codes: tuple[str, ...], query: str | None, undo: bool,
                   dry_run: bool) -> None:
    """Archive orders in a final status (or unarchive them): prints the preview (what is
    archived, what is refused and why), then each order's result. Exits 1 if any was
    refused."""
    shop = state.shop
    if bool(codes) == (query is not None):
        raise ValidationError("give order codes or --filter QUERY (one of the two)")
    if query is not None:
        base = queries.QueueFilter(archived=undo)
        ids = queries.matching_ids(queries.parse_filter(query, shop.workflow, base))
        if not ids:
            click.echo("no order matches that filter; nothing to do")
            return
    else:
        ids = _ids(state, codes)
    preview = archive.set_archived(shop, state.actor, ids, not undo, dry_run=True)
    described = preview.describe(shop.workflow)
    click.echo(f"preview: {len(ids):,} order(s)")
    for line in (*described.moves, *(f"{code}: refused: {reason}"
                                      for code, reason in described.refusals)):
        click.echo(f"  {line}")
    if dry_run:
        click.echo(f"dry run: {described.headline}; nothing changed")
    else:
        result = archive.set_archived(shop, state.actor, ids, not undo)
        verb = "unarchived" if undo else "archived"
        for r in result.results:
            click.echo(f"{r.code}: {verb}" if r.changed else f"{r.code}: refused: {r.reason}")
        click.echo(result.summary())
        preview = result
    if preview.refused:
        sys.exit(1)


@orders_group.command("place-test")
@click.option("--email", default=None, help="Guest email (default: shop.email).")
@click.option("--name", default="Test order", show_default=True, help="Guest name.")
@click.option("--customer", "customer", default=None, metavar="ID|EMAIL",
              help="A registered customer's test order instead of a guest's.")
@click.option("--sku", default="TEST", show_default=True)
@click.option("--product", default="Test product", show_default=True, help="Item name.")
@click.option("--quantity", default=1, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--price", default="10.00", show_default=True,
              help="Unit price in major units of the shop currency, tax excluded.")
@click.option("--tax", "tax", default="0", show_default=True, help="Tax rate in percent.")
@click.option("--payment-method", default="card", show_default=True)
@click.option("--shipping-method", default="standard", show_default=True)
@pass_state
def orders_place_test(state: CliState, email: str | None, name: str, customer: str | None,
                      sku: str, product: str, quantity: int, price: str, tax: str,
                      payment_method: str, shipping_method: str) -> None:
    """Place a test order in your own shop: it goes through the workflow and its mails like a
    real one, is marked as a test everywhere, and can be deleted (`orders delete`)."""
    shop = state.shop
    buyer: dict[str, Any]
    if customer is not None:
        buyer = {"customer_id": resolve_customer(customer)}
    else:
        buyer = {"guest_name": name, "guest_email": email or str(shop.config.get("shop",
                                                                                  "email"))}
    item = orders.ItemInput(sku, product, quantity, parse_amount(price, shop.currency),
                            parse_percent(tax))
    ref = orders.place_test_order(shop, state.actor, items=[item],
                                  payment_method=payment_method,
                                  shipping_method=shipping_method, **buyer)
    total = queries.order_detail(ref.id).total
    click.echo(f"{ref.code}: test order placed ({money(total, shop.currency)}); delete it with "
               f"`backroom orders delete {ref.code}`")


@orders_group.command("delete")
@click.argument("codes", nargs=-1, required=True)
@pass_state
def orders_delete(state: CliState, codes: tuple[str, ...]) -> None:
    """Delete test orders (admin); a real order is refused (cancel or archive it)."""
    for ref_id in _ids(state, codes):
        code = orders.delete_order(state.shop, state.actor, ref_id)
        click.echo(f"{code}: deleted")


@orders_group.command("export")
@click.option("--filter", "query", default="",
              help="Only the orders this queue filter matches (words and tokens).")
@click.option("--current", "which", flag_value="current", help="Current orders only.")
@click.option("--archived", "which", flag_value="archived", help="Archived orders only.")
@click.option("--limit", default=0, show_default=True, help="At most this many (0: all).")
@click.option("--output", "-o", default="-", show_default=True,
              help="File to write (a new one); - for standard output.")
@pass_state
def orders_export(state: CliState, query: str, which: str | None, limit: int,
                  output: str) -> None:
    """Every order (current and archived; or those the filter matches) as CSV for the
    accounts, streamed: codes, dates (placed, paid), status, customer, billing country,
    payment method, currency, and subtotal, shipping, tax, discount, total, paid and
    refunded as numbers in major units."""
    shop = state.shop
    if limit < 0:
        raise ValidationError("--limit: give a number of orders, or 0 for all of them")
    base = queries.QueueFilter(archived=which == "archived")
    f = queries.parse_filter(query, shop.workflow, base)
    both = which is None and "archived:" not in query.lower()
    selection = exports.Selection(f, both_archived=both, limit=limit)
    if output == "-":
        count = exports.write(state.actor, selection, sys.stdout)
    else:
        done = exports.export_to(state.actor, selection, Path(output))
        count = done.orders
        click.echo(f"{count:,} order(s) written to {done.path}", err=True)
    if count == 0:
        click.echo("no order matches", err=True)


COMMANDS: list[click.Command] = [orders_group]
