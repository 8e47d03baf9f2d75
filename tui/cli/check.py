"""`backroom check [--repair] [NAME...]`: what the store keeps derived from other rows,
recomputed and compared (store.checks); exit 1 when a difference is left."""

from __future__ import annotations

import sys

import click

from store import checks
from store.text import printable
from tui.cli.common import CliState, pass_state

SHOWN = 20  # differences listed per check; the count says how many there are


@click.command("check")
@click.argument("names", nargs=-1)
@click.option("--repair", is_flag=True,
              help="Rebuild what a repairable check finds wrong (admin).")
@pass_state
def check(state: CliState, names: tuple[str, ...], repair: bool) -> None:
    """Recompute what backroom keeps (customer figures, ...) and report any difference.
    NAMES picks checks (all by default): """ + ", ".join(checks.CHECKS) + "."
    results = checks.run(state.shop, state.actor, names, repair=repair)
    left = 0
    for result in results:
        if not result.differences:
            click.echo(f"{result.name}: ok ({result.doc})")
            continue
        found = len(result.differences)
        if result.repaired is not None:
            click.echo(f"{result.name}: {found:,} difference(s), repaired "
                       f"({result.repaired:,} row(s) rebuilt)")
        else:
            left += 1
            hint = " (backroom check --repair rebuilds it)" if result.repairable else ""
            click.echo(f"{result.name}: {found:,} difference(s){hint}")
        for line in result.differences[:SHOWN]:
            click.echo(f"  {printable(line)}")
        if found > SHOWN:
            click.echo(f"  ... and {found - SHOWN:,} more")
    if left:
        sys.exit(1)


COMMANDS: list[click.Command] = [check]
