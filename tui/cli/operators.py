"""`backroom operator ...`: who may use backroom, and with which role (admin only)."""

from __future__ import annotations

import click

from store import api_keys, operators
from store.text import printable
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
    click.echo(f"{added.login} is now {operators.article(added.role)}")


@operator.command("list")
@pass_state
def operator_list(state: CliState) -> None:
    """List operators."""
    state.actor  # noqa: B018 (an unknown login is refused here too)
    for login, name, role, active in operators.list_operators():
        click.echo(f"{printable(login):<20} {role:<8} {'active' if active else 'inactive':<8} "
                   f"{printable(name)}")


@operator.command("email")
@click.argument("login")
@click.argument("address")
@pass_state
def operator_email(state: CliState, login: str, address: str) -> None:
    """Set LOGIN's own address (a campaign's test send goes there); "" clears it. Each
    operator may set their own; an admin anyone's."""
    operators.set_email(state.actor, login, address)
    click.echo(f"{login}: {address or 'no address'}")


@operator.command("set-role")
@click.argument("login")
@click.argument("role", type=click.Choice(["viewer", "clerk", "manager", "admin"]))
@pass_state
def operator_set_role(state: CliState, login: str, role: str) -> None:
    """Change an operator's role (admin only)."""
    changed = operators.set_role(state.actor, login, role)
    click.echo(f"{changed.login} is now {operators.article(changed.role)}")


@operator.command("deactivate")
@click.argument("login")
@pass_state
def operator_deactivate(state: CliState, login: str) -> None:
    """Stop an operator from using backroom; kept in the history (admin only)."""
    changed = operators.deactivate(state.actor, login)
    click.echo(f"{changed.login} is deactivated")
    keys = api_keys.made_by(changed.login)
    if keys:
        click.echo(f"the API keys {changed.login} made still work and they saw their secrets: "
                   f"{', '.join(printable(k) for k in keys)}; replace each (`backroom apikey "
                   "add` as another admin, then `backroom apikey revoke NAME`)")


@operator.command("reactivate")
@click.argument("login")
@pass_state
def operator_reactivate(state: CliState, login: str) -> None:
    """Let a deactivated operator back in, with their role (admin only)."""
    changed = operators.reactivate(state.actor, login)
    click.echo(f"{changed.login} is active again, {operators.article(changed.role)}")


@operator.command("history")
@click.argument("login", required=False)
@pass_state
def operator_history(state: CliState, login: str | None) -> None:
    """Who added, re-roled, deactivated or reactivated operators, and when."""
    state.actor  # noqa: B018 (an unknown login is refused here too)
    for e in operators.operator_history(login):
        roles = f"{e.old_role} -> {e.new_role}" if e.kind == "role" else e.new_role
        click.echo(f"{e.created_at:%Y-%m-%d %H:%M}  {e.operator_login:<12} {e.kind:<11} "
                   f"{printable(e.login):<20} {roles}")


COMMANDS: list[click.Command] = [operator]
