"""The command line: click, a module per command group, the app as the default command.
Every command calls store services; a refusal prints one line and exits 1, never a
traceback."""

from __future__ import annotations

import click

from tui.cli import (
    apikey,
    check,
    customers,
    groups,
    imports,
    mail,
    newsletter,
    operators,
    ops,
    orders,
    serve,
    shop,
    shop_log,
    webhooks,
)
from tui.cli import print as print_cmd
from tui.cli.common import BackroomGroup, CliState


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
    """Open the app on the order queue."""
    # Imported here, not at the top: Textual and the screens cost ~190 ms to import
    # (measured with -X importtime), which every `backroom orders list` in cron would pay.
    from tui.app import build_app

    build_app(state.config).run()


for module in (shop, operators, orders, customers, groups, mail, print_cmd, apikey, serve,
               webhooks, imports, check, ops, newsletter, shop_log):
    for command in module.COMMANDS:
        main.add_command(command)
