"""`backroom import shopify|woocommerce|customers FILE`: history brought over from another
shop, through store.imports. `--dry-run` prints what would be created, updated and skipped,
each with its reason, and writes nothing; a progress bar shows the writing; no mail or webhook
goes unless `--notify`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from store.imports import customers as customer_import
from store.imports import shopify, woocommerce
from store.imports.common import ImportReport, Line
from store.text import printable
from tui.cli.common import BackroomGroup, CliState, pass_state


@click.group("import", cls=BackroomGroup)
def import_group() -> None:
    """Import orders and customers from another shop (admin)."""


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--notify", is_flag=True,
                           help="Send the mails and webhooks a new order or account would "
                                "(off: an import tells no one).")(command)
    command = click.option("--dry-run", is_flag=True,
                           help="Print what would be created, updated, skipped and refused; "
                                "write nothing.")(command)
    command = click.argument("file", type=click.Path(exists=True, dir_okay=False,
                                                     path_type=Path))(command)
    return command


def _run(state: CliState, runner: Callable[..., ImportReport], count: Callable[[Path], int],
         file: Path, dry_run: bool, notify: bool) -> None:
    shop, actor = state.shop, state.actor
    if dry_run:
        report = runner(shop, actor, file, dry_run=True)
    else:
        total = count(file)
        with click.progressbar(length=total, label=f"importing {file.name}", file=None,
                               show_pos=True) as bar:
            report = runner(shop, actor, file, notify=notify, progress=bar.update)
    _print(report)
    if report.blocked:
        raise SystemExit(1)


def _lines(title: str, lines: list[Line]) -> None:
    if lines:
        click.echo(f"{title} ({len(lines):,}):")
        for line in lines:
            click.echo(printable(f"  {line.text()}"))


def _print(report: ImportReport) -> None:
    if report.blocked:
        for table, values in report.unknown.items():
            click.echo(f"[imports.{table}] does not map:")
            for value, count in values.items():
                click.echo(printable(f"  {value!r} ({count} order(s))"))
    elif report.dry_run:
        _lines("would create", report.created)
        _lines("would update", report.updated)
        _lines("would skip", report.skipped)
    else:
        _lines("skipped", report.skipped)
        _lines("updated", report.updated)
    _lines("refused", report.refused)
    click.echo(report.summary())


@import_group.command("shopify")
@_options
@pass_state
def import_shopify(state: CliState, file: Path, dry_run: bool, notify: bool) -> None:
    """Shopify's orders export (CSV, one row per line item)."""
    _run(state, shopify.run, shopify.count_orders, file, dry_run, notify)


@import_group.command("woocommerce")
@_options
@pass_state
def import_woocommerce(state: CliState, file: Path, dry_run: bool, notify: bool) -> None:
    """The orders array of WooCommerce's REST API (GET /wp-json/wc/v3/orders), as JSON."""
    _run(state, woocommerce.run, woocommerce.count_orders, file, dry_run, notify)


@import_group.command("customers")
@_options
@pass_state
def import_customers(state: CliState, file: Path, dry_run: bool, notify: bool) -> None:
    """Customers from a CSV: email, names, phone, company, address, city, postcode, country,
    marketing consent and its date (columns by header name)."""
    _run(state, customer_import.run, customer_import.count_rows, file, dry_run, notify)


COMMANDS: list[click.Command] = [import_group]
