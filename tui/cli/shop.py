"""Setting a shop up: `backroom init`, `migrate` and `demo`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from store import config as configmod
from store import demo as demomod
from store import operators
from store.shop import login_of, open_shop, upgrade
from tui.cli.common import CliState, pass_state


@click.command()
@click.option("--database", "database_url", metavar="URL", help="Database URL to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option("--path", "path", default="config.toml", show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the config.")
@pass_state
def init(state: CliState, database_url: str | None, force: bool, path: str) -> None:
    """Write config.toml with the defaults and create the database; on a new database you
    become its admin, on an existing one you must already be an operator."""
    url = database_url or state.database
    if Path(path).exists() and not force:
        raise configmod.ConfigError(f"{path} exists; use --force to overwrite it")
    try:
        current = state.config  # who runs it, as the config in use says (service accounts)
    except configmod.ConfigError:  # a broken file that --force is about to replace
        current = configmod.from_mapping({}, "defaults")
    fresh = configmod.from_mapping({}, "defaults").with_database(url)
    shop = open_shop(fresh, login_of(current))
    written = configmod.write_initial(Path(path), url, force)
    config = configmod.load(str(written))
    actor = shop.require_operator()
    click.echo(f"wrote {written}; database {config.database_url}; {actor.login} is "
               f"{operators.article(actor.role)}")


@click.command()
@pass_state
def migrate(state: CliState) -> None:
    """Apply pending schema migrations to the database (an admin, or anyone on a database
    with no operator yet)."""
    applied = upgrade(state.config, login_of(state.config))
    click.echo(f"applied: {', '.join(applied)}" if applied else "the database is up to date")


@click.command()
@click.option("--orders", "count", default=3000, show_default=True, help="How many orders.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same shop).")
@click.option("--no-tui", is_flag=True, help="Build the data and exit.")
@click.option("--database", "database_url", metavar="URL", help="Database URL to build into.")
@pass_state
def demo(state: CliState, count: int, seed: int, no_tui: bool, database_url: str | None) -> None:
    """Build a deterministic, realistic demo shop, then open it."""
    if database_url:
        state.database = database_url
        state._config = None
    shop = state.shop  # a new database makes its first login admin
    existing = demomod.existing_orders()
    if existing:
        click.echo(f"{state.config.database_url} already holds {existing:,} orders: "
                   "opening it as it is (give another --database to build a new demo)")
    else:
        with click.progressbar(length=count, label="building demo shop", file=sys.stderr) as bar:
            stats = demomod.build(shop, count, seed=seed, progress=bar.update)
        click.echo(stats.summary())
    if not no_tui:
        from tui.cli import run_app  # the app is imported only when it opens (see run_app)

        run_app(state)


COMMANDS: list[click.Command] = [init, migrate, demo]
