"""`backroom check [--repair] [--only NAME]`: the checks of store.checks."""

from __future__ import annotations

import sys

import click

from store import checks as checksmod
from tui.cli.common import CliState, pass_state


def _print(results: list[checksmod.CheckResult]) -> None:
    for result in results:
        if not result.applicable:
            click.echo(f"{result.name}: not applicable to this database")
        elif result.ok:
            click.echo(f"{result.name}: ok ({result.title})")
        else:
            click.echo(f"{result.name}: DIFFERS ({result.title})")
            for line in result.differences:
                click.echo(f"  {line}")
            if result.hint:
                click.echo(f"  repair: {result.hint}")


@click.command()
@click.option("--repair", is_flag=True, help="Rebuild what can be rebuilt, then check again.")
@click.option("--only", "names", multiple=True, metavar="NAME",
              help="Run only this check (repeatable).")
@pass_state
def check(state: CliState, repair: bool, names: tuple[str, ...]) -> None:
    """Check the database: SQLite's integrity, the search index against the orders and
    customers, the outbox's leases, the figures the store maintains. Exit status 1 when
    something differs (with how to repair it)."""
    actor = state.maintainer()
    results = checksmod.run_checks(state.shop, actor, names)
    _print(results)
    if repair and any(r.differences and r.repairable for r in results):
        for line in checksmod.repair(state.shop, actor, results):
            click.echo(f"repaired: {line}")
        results = checksmod.run_checks(state.shop, actor, [r.name for r in results])
        click.echo("after repair:")
        _print(results)
    differing = [r for r in results if r.differences]
    if differing:
        click.echo(f"check: {len(differing)} of {len(results)} check(s) differ")
        sys.exit(1)
    click.echo(f"check: {len(results)} check(s) ok")


COMMANDS: list[click.Command] = [check]
