"""Running a shop: `backroom backup`, `backroom restore` and `backroom status`."""

from __future__ import annotations

import sys

import click

from store import backup as backupmod
from store.health import health_report
from store.shop import login_of
from tui.cli.common import CliState, json_text, pass_state


@click.command()
@click.option("--to", "to", metavar="DIR", default=None,
              help="Directory to write to (default: backup.dir, else `backups` in the user "
                   "data directory).")
@click.option("--keep", type=click.IntRange(min=1), default=None, metavar="N",
              help="Keep this database's N newest backups there (default: backup.keep).")
@pass_state
def backup(state: CliState, to: str | None, keep: int | None) -> None:
    """Back up the database: SQLite's online backup API, compressed (.db.zst), or pg_dump in
    its custom format (.dump); named by date; the oldest pruned past N. Operators and the
    worker go on working meanwhile."""
    actor = state.maintainer()
    result = backupmod.backup(state.shop, actor, to, keep)
    click.echo(f"backup: {result.path} ({result.bytes / 1e6:,.1f} MB in {result.seconds:.1f} s)")
    for path in result.pruned:
        click.echo(f"pruned: {path}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--to", "url", required=True, metavar="URL",
              help="The database to restore into: sqlite:///path or postgresql://...")
@click.option("--force", is_flag=True,
              help="Overwrite a database that holds orders (back it up first).")
@pass_state
def restore(state: CliState, file: str, url: str, force: bool) -> None:
    """Restore a backup into the database at URL: the file is checked first, a database that
    holds orders is refused unless --force, and an older backup is upgraded."""
    result = backupmod.restore(file, url, login_of(state.config), force, state.is_service)
    migrated = f"; upgraded by {', '.join(result.migrated)}" if result.migrated else ""
    click.echo(f"restored {file} into {result.target}: {result.orders:,} order(s){migrated}")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@pass_state
def status(state: CliState, fmt: str) -> None:
    """The shop's health: oldest unsent mail and webhook, failed and dead mails, the last
    backup's age and the worker's heartbeat; exit status 1 when any is red."""
    state.maintainer()  # an operator (any role) or the service account; anyone else is refused
    report = health_report(state.config)
    if fmt == "json":
        click.echo(json_text(report.as_dict()))
    else:
        width = max(len(s.label) for s in report.signals)
        colour = sys.stdout.isatty()
        for signal in report.signals:
            mark = "RED" if signal.red else "ok"
            if colour:
                mark = click.style(mark, fg="red" if signal.red else "green", bold=signal.red)
            limit = f"  ({signal.limit})" if signal.limit else ""
            click.echo(f"{signal.label.ljust(width)}  {mark:<3}  {signal.text}{limit}")
    if not report.ok:
        sys.exit(1)


COMMANDS: list[click.Command] = [backup, restore, status]
