"""`backroom customers ...` and `backroom groups ...`: the same services as the app, for
scripts. Listing commands take --format table|csv|json; a refusal is one line and exit 1."""

from __future__ import annotations

from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any

import click

from store import customer_queries as cq
from store import customers
from store.customers import find_group
from store.errors import ValidationError
from store.money import format_money, major
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

# ----- customers -----------------------------------------------------------------------------

@click.group("customers", cls=BackroomGroup)
def customers_group() -> None:
    """Customers: list, show, add, edit, validate, suspend, deny, reactivate, delete,
    export."""


@customers_group.command("list")
@click.argument("query", nargs=-1)
@click.option("--group", "group_name", default="", help="Only members of this group.")
@click.option("--status", default="",
              help="active, pending (waiting for validation), suspended, denied or deleted.")
@click.option("--segment", default="", help="vip, recent, inactive, subscribers or first.")
@click.option("--limit", default=100, show_default=True, help="At most this many rows (0: all).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def customers_list(state: CliState, query: tuple[str, ...], group_name: str, status: str,
                   segment: str, limit: int, fmt: str) -> None:
    """List customers, newest first; QUERY searches name, email, phone (its digits too),
    postcode, city and country, accents and case aside, and accepts group:NAME status:S
    segment:S tokens. CSV and JSON give what they spent as a number in major units beside
    its currency (as every export does)."""
    shop = state.shop
    state.actor  # noqa: B018 (an unknown login is refused here too)
    f = cq.parse_customer_filter(" ".join(query))
    if group_name:
        f = replace(f, group_id=find_group(group_name))
    if status:
        f = replace(f, status=cq.check_status(status))
    if segment:
        f = replace(f, segment=cq.check_segment(segment))
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        want = 500 if limit <= 0 else min(500, limit - len(rows))
        page = cq.customer_page(shop, f, cursor, want)
        for r in page.rows:
            rows.append({"id": r.id, "name": r.name, "email": r.email, "status": r.status,
                         "postcode": r.postcode, "city": r.city, "country": r.country,
                         "group": r.group_name, "orders": r.order_count,
                         "spent": format_money(r.total_spent, r.currency) if fmt == "table"
                         else Decimal(major(r.total_spent, r.currency)),
                         "currency": r.currency,
                         "last_order": r.last_order_at.isoformat(" ", "minutes")
                         if r.last_order_at else ""})
        cursor = page.next_cursor
        if cursor is None or (limit > 0 and len(rows) >= limit):
            break
    columns = ["id", "name", "email", "city", "country", "status", "group", "orders", "spent",
               "last_order"]
    if fmt != "table":
        columns.insert(3, "postcode")
        columns.insert(10, "currency")
    emit(rows, columns, fmt)
    cut_at_limit(len(rows), "customers", cursor is not None)


@customers_group.command("show")
@click.argument("customer")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_state
def customers_show(state: CliState, customer: str, fmt: str) -> None:
    """Show a customer's profile (CUSTOMER is an id or an email)."""
    shop = state.shop
    state.actor  # noqa: B018
    profile = cq.customer_profile(shop, cq.resolve_customer(customer))
    if fmt == "json":
        click.echo(json_text(asdict(profile)))
        return
    money = format_money
    lines = [
        f"customer {profile.id}: {profile.name}",
        f"email: {profile.email}   phone: {profile.phone or '-'}   language: {profile.language}",
        f"status: {profile.status}" + (f" ({profile.status_reason})" if profile.status_reason
                                       else ""),
        f"registered: {profile.registered_at:%Y-%m-%d}   group: {profile.group_name or '-'}   "
        f"marketing consent: {'yes' if profile.marketing_consent else 'no'}",
        f"orders: {profile.order_count}   lifetime value: "
        f"{money(profile.lifetime_value, profile.currency)}   average order: "
        f"{money(profile.average_order, profile.currency)}   last order: "
        + (f"{profile.last_order_at:%Y-%m-%d}" if profile.last_order_at else "-"),
    ]
    for a in profile.addresses:
        parts = [f"{a.first_name} {a.last_name}".strip(), a.company, a.line1, a.line2,
                 f"{a.postcode} {a.city}".strip(), a.region, a.country]
        lines.append(f"{a.kind}: " + ", ".join(p for p in parts if p))
    for o in profile.orders:
        lines.append(f"order {o.code}  {o.placed_at:%Y-%m-%d}  {o.status:<16} "
                     f"{money(o.total, o.currency)}")
    for h in profile.history:
        lines.append(f"{h.created_at:%Y-%m-%d %H:%M}  {h.operator_login:<10} {h.kind:<10} "
                     f"{h.message}")
    click.echo("\n".join(printable(line) for line in lines))


ADDRESS_OPTIONS = (("company", "Company"), ("line1", "Street address, first line"),
                   ("line2", "Street address, second line"), ("postcode", "Postcode"),
                   ("city", "City"), ("region", "Region or state"),
                   ("country", "Country: ISO code (FR) or name (France)"))


def address_options(command: Any) -> Any:
    """--company, --line1, --line2, --postcode, --city, --region, --country."""
    for name, help_text in reversed(ADDRESS_OPTIONS):
        command = click.option(f"--{name}", name, default=None, help=help_text)(command)
    return command


@customers_group.command("add")
@click.option("--email", required=True)
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--phone", default="")
@click.option("--language", default=None)
@click.option("--group", "group_name", default="", help="Group name (default: the default group).")
@click.option("--consent/--no-consent", default=False, help="Marketing consent given.")
@address_options
@click.option("--no-email", is_flag=True,
              help="Queue no confirm-account mail (bringing a list over from elsewhere).")
@pass_state
def customers_add(state: CliState, email: str, first_name: str, last_name: str, phone: str,
                  language: str | None, group_name: str, consent: bool, no_email: bool,
                  **fields: str | None) -> None:
    """Create a customer, with an address (billing and shipping alike) when one is given; a
    confirm-account mail with a set-password link is queued unless --no-email."""
    shop = state.shop
    given = {k: v for k, v in fields.items() if v}
    address = ({"first_name": first_name, "last_name": last_name} | given) if given else None
    ref = customers.create_customer(
        shop, state.actor, email=email, first_name=first_name, last_name=last_name, phone=phone,
        language=language, group_id=find_group(group_name) if group_name else None,
        marketing_consent=consent, address=address, confirm_mail=not no_email)
    click.echo(f"customer {ref.id} created ({ref.email}); "
               + ("no confirm-account mail" if no_email else "confirm-account mail queued"))


@customers_group.command("edit")
@click.argument("customer")
@click.option("--email", default=None)
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
@click.option("--phone", default=None)
@click.option("--language", default=None)
@click.option("--consent/--no-consent", default=None)
@click.option("--group", "group_name", default=None, help="Move to this group.")
@address_options
@click.option("--address-kind", type=click.Choice(["both", "shipping", "billing"]),
              default="both", show_default=True,
              help="Which address the address options change (made if missing).")
@pass_state
def customers_edit(state: CliState, customer: str, email: str | None, first_name: str | None,
                   last_name: str | None, phone: str | None, language: str | None,
                   consent: bool | None, group_name: str | None, address_kind: str,
                   **fields: str | None) -> None:
    """Edit a customer's contact details, consent, group or address (only the options
    given change)."""
    shop = state.shop
    cid = cq.resolve_customer(customer)
    changes = {k: v for k, v in (("email", email), ("first_name", first_name),
                                 ("last_name", last_name), ("phone", phone),
                                 ("language", language), ("marketing_consent", consent))
               if v is not None}
    address = {k: v for k, v in fields.items() if v is not None}
    if not changes and group_name is None and not address:
        raise ValidationError("nothing to change: give --email, --first-name, --city, ... "
                              "or --group")
    if changes:
        customers.edit_customer(shop, state.actor, cid, changes)
    if group_name is not None:
        customers.assign_group(shop, state.actor, cid, customers.find_group(group_name))
    for kind in ("shipping", "billing") if address_kind == "both" else (address_kind,):
        if address:
            customers.set_address(shop, state.actor, cid, kind, address)
    click.echo(f"customer {cid} updated")


def _status_command(name: str, verb: str, needs_reason: bool) -> click.Command:
    @click.argument("customer")
    @click.option("--reason", required=needs_reason, default="", help="Why (kept in history).")
    @pass_state
    def command(state: CliState, customer: str, reason: str) -> None:
        shop = state.shop
        cid = cq.resolve_customer(customer)
        getattr(customers, name)(shop, state.actor, cid, reason)
        click.echo(f"customer {cid} {verb}")

    command.__doc__ = f"Mark a customer {verb}" + (" (a reason is required)." if needs_reason
                                                     else ".")
    return customers_group.command(name)(command)


_status_command("suspend", "suspended", True)
_status_command("deny", "denied", True)
_status_command("reactivate", "reactivated", False)


@customers_group.command("validate")
@click.argument("customers_", metavar="CUSTOMER...", nargs=-1, required=True)
@pass_state
def customers_validate(state: CliState, customers_: tuple[str, ...]) -> None:
    """Validate accounts waiting for it (`customers list --status pending`): they become
    active and may pay."""
    shop = state.shop
    for text in customers_:
        cid = cq.resolve_customer(text)
        customers.validate(shop, state.actor, cid)
        click.echo(f"customer {cid} validated")


@customers_group.command("delete")
@click.argument("customer")
@click.option("--confirm", "confirm_email", default=None,
              help="The customer's email, typed again (asked for when missing).")
@pass_state
def customers_delete(state: CliState, customer: str, confirm_email: str | None) -> None:
    """Erase a customer's personal data (admin); their orders stay, for the accounts."""
    shop = state.shop
    cid = cq.resolve_customer(customer)
    if confirm_email is None:
        confirm_email = click.prompt("type the customer's email to confirm", err=True)
    customers.delete_customer(shop, state.actor, cid, confirm_email)
    click.echo(f"customer {cid} erased; their orders are kept for the accounts")


@customers_group.command("export")
@click.argument("customer")
@click.option("--out", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Directory for the JSON file.")
@pass_state
def customers_export(state: CliState, customer: str, directory: str) -> None:
    """GDPR export: one JSON file with everything held about the customer; prints its path."""
    shop = state.shop
    result = cq.export_customer(shop, state.actor, cq.resolve_customer(customer), directory)
    click.echo(str(result.path))


COMMANDS: list[click.Command] = [customers_group]
