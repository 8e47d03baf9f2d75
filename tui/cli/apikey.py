"""`backroom apikey add|list|revoke`: the keys integrations call the storefront API with
(admin only). A key is printed once, when it is made; only a digest of it is kept."""

from __future__ import annotations

import click

from store import api_keys
from tui.cli.common import FORMATS, BackroomGroup, CliState, emit, pass_state


@click.group("apikey", cls=BackroomGroup)
def apikey_group() -> None:
    """API keys of the storefront API: add, list, revoke."""


@apikey_group.command("add")
@click.argument("name")
@click.option("--scopes", required=True, metavar="SCOPE,...",
              help=f"Comma-separated: {', '.join(api_keys.SCOPES)}.")
@pass_state
def apikey_add(state: CliState, name: str, scopes: str) -> None:
    """Make a key for one integration and print it (the only time it is shown)."""
    row, token = api_keys.create(state.actor, name, scopes.split(","))
    click.echo(token)
    click.echo(f"API key {row.name} made with scopes {', '.join(row.scopes)}; it is shown "
               "this once: store it in the integration now", err=True)


@apikey_group.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def apikey_list(state: CliState, fmt: str) -> None:
    """Every key (never its secret): name, id, scopes, who made or revoked it and when."""
    rows = [{"name": k.name, "id": k.key_id, "scopes": ",".join(k.scopes),
             "state": "active" if k.active else "revoked",
             "created": k.created_at.strftime("%Y-%m-%d %H:%M"), "created_by": k.created_by,
             "revoked": k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
             "revoked_by": k.revoked_by} for k in api_keys.list_keys(state.actor)]
    emit(rows, ("name", "id", "scopes", "state", "created", "created_by", "revoked",
                "revoked_by"), fmt)


@apikey_group.command("revoke")
@click.argument("name")
@pass_state
def apikey_revoke(state: CliState, name: str) -> None:
    """Refuse a key from now on, in every running `backroom serve`."""
    row = api_keys.revoke(state.actor, name)
    click.echo(f"API key {row.name} revoked")


COMMANDS: list[click.Command] = [apikey_group]
