"""`backroom groups ...`: customer groups, their discounts and privileges, and the default
group new customers join."""

from __future__ import annotations

import click

from store import customer_queries as cq
from store import customers
from store.money import parse_percent
from tui.cli.common import FORMATS, BackroomGroup, CliState, emit, pass_state


@click.group("groups", cls=BackroomGroup)
def groups_group() -> None:
    """Customer groups: list, add, rename, delete, set-default."""


@groups_group.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def groups_list(state: CliState, fmt: str) -> None:
    """List groups with their member counts."""
    state.shop  # noqa: B018
    state.actor  # noqa: B018
    rows = [{"id": g.id, "name": g.name, "default": "yes" if g.is_default else "",
             "discount": f"{g.discount_bp / 100:g} %" if fmt == "table" else g.discount_bp,
             "privilege": g.privilege, "members": g.members} for g in cq.group_rows()]
    if fmt != "table":
        for row in rows:
            row["default"] = bool(row["default"])
    emit(rows, ["id", "name", "default", "discount", "privilege", "members"], fmt)


def _discount_bp(percent: str | None) -> int | None:
    return None if percent is None else parse_percent(percent)


@groups_group.command("add")
@click.argument("name")
@click.option("--discount", default=None, help="Discount in percent, e.g. 5 or 7.5.")
@click.option("--privilege", default="", help="A named privilege, e.g. free-shipping.")
@click.option("--default", "make_default", is_flag=True, help="Make it the default group.")
@pass_state
def groups_add(state: CliState, name: str, discount: str | None, privilege: str,
               make_default: bool) -> None:
    """Add a customer group."""
    shop = state.shop
    gid = customers.create_group(shop, state.actor, name, _discount_bp(discount) or 0, privilege,
                                 make_default)
    click.echo(f"group {gid} {name!r} created")


@groups_group.command("edit")
@click.argument("name")
@click.option("--discount", default=None, help="Discount in percent.")
@click.option("--privilege", default=None)
@pass_state
def groups_edit(state: CliState, name: str, discount: str | None,
                privilege: str | None) -> None:
    """Change a group's discount or privilege."""
    shop = state.shop
    customers.edit_group(shop, state.actor, customers.find_group(name), _discount_bp(discount),
                         privilege)
    click.echo(f"group {name!r} updated")


@groups_group.command("rename")
@click.argument("name")
@click.argument("new_name")
@pass_state
def groups_rename(state: CliState, name: str, new_name: str) -> None:
    """Rename a group."""
    shop = state.shop
    customers.rename_group(shop, state.actor, customers.find_group(name), new_name)
    click.echo(f"group {name!r} renamed to {new_name!r}")


@groups_group.command("delete")
@click.argument("name")
@pass_state
def groups_delete(state: CliState, name: str) -> None:
    """Delete a group; its members move to the default group."""
    shop = state.shop
    moved = customers.delete_group(shop, state.actor, customers.find_group(name))
    click.echo(f"group {name!r} deleted; {moved} member(s) moved to the default group")


@groups_group.command("set-default")
@click.argument("name")
@pass_state
def groups_set_default(state: CliState, name: str) -> None:
    """Make a group the default (new customers join it)."""
    shop = state.shop
    customers.set_default_group(shop, state.actor, customers.find_group(name))
    click.echo(f"group {name!r} is now the default")



COMMANDS: list[click.Command] = [groups_group]
