"""`backroom operator ...`: who may use backroom, and with which role (admin only)."""

from __future__ import annotations

import click

from store import operators
from tui.cli.common import BackroomGroup, CliState, pass_state


@click.group(cls=BackroomGroup)
def operator() -> None:
    """Operators and their roles."""


@operator.command("add")
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(["viewer", "clerk", "manager", "admin"]))
@click.option("--name", "display_name", default="", help="Display name.")
@pass_state
def operator_add(state: CliState, login: str, role: str, display_name: str) -> None:
    """Add an operator (admin only)."""
    added = operators.add(state.actor, login, role, display_name)
    click.echo(f"{added.login} is now a {added.role}")


@operator.command("list")
@pass_state
def operator_list(state: CliState) -> None:
    """List operators."""
    state.actor  # noqa: B018 (an unknown login is refused here too)
    for login, name, role, active in operators.list_operators():
        click.echo(f"{login:<20} {role:<8} {'active' if active else 'inactive':<8} {name}")


@operator.command("set-role")
@click.argument("login")
@click.argument("role", type=click.Choice(["viewer", "clerk", "manager", "admin"]))
@pass_state
def operator_set_role(state: CliState, login: str, role: str) -> None:
    """Change an operator's role (admin only)."""
    changed = operators.set_role(state.actor, login, role)
    click.echo(f"{changed.login} is now a {changed.role}")


COMMANDS: list[click.Command] = [operator]
