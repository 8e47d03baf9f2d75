"""The command line: click, with the TUI as the default command. Every command calls store
services; a refusal prints one line and exits non-zero, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from store import config as configmod
from store.errors import BackroomError
from store.operators import Actor

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """What the group options chose; the shop is opened on first use."""

    config_path: str | None
    database: str | None
    _config: configmod.Config | None = None
    _shop: Any = None
    _actor: Actor | None = field(default=None)

    @property
    def config(self) -> configmod.Config:
        if self._config is None:
            self._config = configmod.load(self.config_path, self.database)
        return self._config

    @property
    def shop(self) -> Any:
        if self._shop is None:
            from store.shop import open_shop

            self._shop = open_shop(self.config)
        return self._shop

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = self.shop.actor()
        return self._actor


class BackroomGroup(click.Group):
    """A click group that turns store errors into one clear line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BackroomError as exc:
            click.echo(f"backroom: {exc}", err=True)
            sys.exit(1)


pass_state = click.make_pass_decorator(CliState)
FORMATS = click.Choice(["table", "csv", "json"])


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print rows as an aligned table, CSV with a header, or a JSON list."""
    if fmt == "json":
        click.echo(json.dumps(list(rows), default=str, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row[k] is None else row[k] for k in columns})
        click.echo(buffer.getvalue(), nl=False)
        return
    text = [[("" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in text)]) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


@click.group(cls=BackroomGroup, invoke_without_command=True)
@click.option("--config", "config_path", metavar="PATH", help="Config file to use.")
@click.option("--database", metavar="URL", envvar="BACKROOM_DATABASE_URL",
              help="Database URL (sqlite:///file or postgresql://...); overrides the config.")
@click.version_option(package_name="backroom")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, database: str | None) -> None:
    """backroom: the back office of an online shop, in a terminal.

    With no command, opens the app on the order queue."""
    ctx.obj = CliState(config_path, database)
    if ctx.invoked_subcommand is None:
        run_app(ctx.obj)


def run_app(state: CliState) -> None:
    """Open the TUI; until the screens land, print what the database holds."""
    try:
        from tui.app import build_app
    except ImportError:
        summary(state)
        return
    app = build_app(state.config)
    app.run()


def summary(state: CliState) -> None:
    from store.models import Customer, Order

    state.shop  # noqa: B018 (opens and migrates)
    click.echo(f"database: {state.config.database_url}")
    click.echo(f"orders: {Order.select().count()}, customers: {Customer.select().count()}")


@main.command()
@click.option("--database", "database_url", metavar="URL", help="Database URL to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option("--path", "path", default="config.toml", show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the config.")
@pass_state
def init(state: CliState, database_url: str | None, force: bool, path: str) -> None:
    """Write config.toml with the defaults, create the database, and make you admin."""
    from store import operators
    from store.shop import open_shop

    url = database_url or state.database
    written = configmod.write_initial(Path(path), url, force)
    config = configmod.load(str(written))
    open_shop(config)
    actor = operators.ensure_admin(operators.current_login())
    click.echo(f"wrote {written}; database {config.database_url}; {actor.login} is admin")


@main.command()
@pass_state
def migrate(state: CliState) -> None:
    """Apply pending schema migrations to the database."""
    from store import db as dbmod

    config = state.config.with_values("database", auto_migrate=False)
    database = dbmod.connect(config.database_url, int(config.get("database", "busy_timeout_ms")))
    try:
        database.connect()
    except Exception as exc:
        raise BackroomError(f"cannot open {dbmod.redact(config.database_url)}: {exc}") from None
    dbmod.db.initialize(database)
    applied = dbmod.migrate(database)
    click.echo(f"applied: {', '.join(applied)}" if applied else "the database is up to date")


@main.group(cls=BackroomGroup)
def operator() -> None:
    """Operators and their roles."""


@operator.command("add")
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(["viewer", "clerk", "manager", "admin"]))
@click.option("--name", "display_name", default="", help="Display name.")
@pass_state
def operator_add(state: CliState, login: str, role: str, display_name: str) -> None:
    """Add an operator (admin only)."""
    from store import operators

    added = operators.add(state.actor, login, role, display_name)
    click.echo(f"{added.login} is now a {added.role}")


@operator.command("list")
@pass_state
def operator_list(state: CliState) -> None:
    """List operators."""
    from store import operators

    state.actor  # noqa: B018 (an unknown login is refused here too)
    for login, name, role, active in operators.list_operators():
        click.echo(f"{login:<20} {role:<8} {'active' if active else 'inactive':<8} {name}")


@operator.command("set-role")
@click.argument("login")
@click.argument("role", type=click.Choice(["viewer", "clerk", "manager", "admin"]))
@pass_state
def operator_set_role(state: CliState, login: str, role: str) -> None:
    """Change an operator's role (admin only)."""
    from store import operators

    changed = operators.set_role(state.actor, login, role)
    click.echo(f"{changed.login} is now a {changed.role}")


@main.command()
@click.option("--orders", "count", default=3000, show_default=True, help="How many orders.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same shop).")
@click.option("--no-tui", is_flag=True, help="Build the data and exit.")
@click.option("--database", "database_url", metavar="URL", help="Database URL to build into.")
@pass_state
def demo(state: CliState, count: int, seed: int, no_tui: bool, database_url: str | None) -> None:
    """Build a deterministic, realistic demo shop, then open it."""
    from store import demo as demomod
    from store import operators

    if database_url:
        state.database = database_url
        state._config = None
    shop = state.shop
    operators.ensure_admin(operators.current_login())
    from store.models import Order

    existing = Order.select().count()
    if existing:
        click.echo(f"{state.config.database_url} already holds {existing:,} orders: "
                   "opening it as it is (give another --database to build a new demo)")
    else:
        with click.progressbar(length=count, label="building demo shop", file=sys.stderr) as bar:
            stats = demomod.build(shop, count, seed=seed, progress=bar.update)
        click.echo(stats.summary())
    if not no_tui:
        run_app(state)


def register(group: click.Group) -> None:
    main.add_command(group)


def _load_subcommands() -> None:
    """Command groups that live beside their features (orders, customers, mail)."""
    import importlib

    for name in ("tui.cli_orders", "tui.cli_customers", "tui.cli_mail", "tui.cli_print"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


_load_subcommands()
