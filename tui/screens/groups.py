"""Customer groups with member counts: add, rename, delete (members move to the default
group), set the default, edit the discount or privilege."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from store import customer_queries as cq
from store import customers
from store.money import parse_percent
from store.rules import group_delete_refusal
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.form import FormDialog
from tui.dialogs.prompt import TextPrompt
from tui.format import shown
from tui.messages import GroupsLoaded
from tui.screens.base import BackroomScreen
from tui.widgets.table import Column, cut, fit_data_table
from tui.workers import read_db, run_db

# A long name or privilege takes what is left of the width, cut with an ellipsis.
COLUMNS = (Column("default", " ", 1), Column("name", "Name", 12, grow=1),
           Column("members", "Members", 7), Column("discount", "Discount", 8),
           Column("privilege", "Privilege", 12, grow=1))


class GroupsScreen(BackroomScreen):
    """Every customer group; the default one is marked with *."""

    BINDINGS = [
        Binding("n", "add", "Add", id="groups.add"),
        Binding("r", "rename", "Rename", id="groups.rename"),
        Binding("e", "edit", "Discount/privilege", id="groups.edit"),
        Binding("asterisk,s", "set_default", "Set default", id="groups.default"),
        Binding("delete,d", "delete", "Delete", id="groups.delete"),
    ]
    ACTION_PERMISSIONS = {"add": "groups", "rename": "groups", "edit": "groups",
                          "set_default": "groups", "delete": "groups"}

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[int, cq.GroupRow] = {}

    def compose(self) -> ComposeResult:
        yield Static("Customer groups  (* = default: new customers join it)", id="groups-info",
                     markup=False)
        table: DataTable[Any] = DataTable(id="groups-table", cursor_type="row")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        fit_data_table(table, COLUMNS, self.app.size.width)
        table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="groups-load", exit_on_error=False)
    async def _load(self) -> None:
        self.post_message(GroupsLoaded(await read_db(cq.group_rows)))

    @on(DataTable.RowSelected, "#groups-table")
    async def _members(self) -> None:
        """Enter shows the group's members in the customers list."""
        group = self._selected()
        if group is not None:
            name = group.name.replace('"', "")
            await self.backroom.show_customers(
                f'group:"{name}"' if " " in name else f"group:{name}")

    def on_groups_loaded(self, message: GroupsLoaded) -> None:
        table = self.query_one(DataTable)
        keep = self._selected()
        self.groups = {g.id: g for g in message.groups}
        with self.app.batch_update():
            table.clear()
            for g in message.groups:
                table.add_row(Text("*" if g.is_default else ""), cut(shown(g.name)),
                              Text(f"{g.members:,}", justify="right"),
                              Text(f"{g.discount_bp / 100:g} %", justify="right"),
                              cut(shown(g.privilege)), key=str(g.id))
        if keep is not None and str(keep.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep.id)))

    def _selected(self) -> cq.GroupRow | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.groups.get(int(key.value)) if key.value is not None else None

    def _form(self, title: str, fields: list[tuple[str, str, str]],
              save: Callable[[dict[str, str]], Any], done: str) -> None:
        """A form the store checks as it is saved: a refusal keeps it open."""
        async def submit(changes: dict[str, str]) -> Any:
            return await run_db(save, changes)

        def closed(result: Any) -> None:
            if result is not None:
                self.notify(done)
                self.action_reload()

        self.app.push_screen(FormDialog(title, fields, submit=submit), closed)

    def action_add(self) -> None:
        app = self.backroom
        fields = [("name", "Name", ""), ("discount", "Discount %", "0"),
                  ("privilege", "Privilege", "")]

        def save(changes: dict[str, str]) -> int:
            values = {k: v for k, _label, v in fields} | changes
            return customers.create_group(app.shop, app.actor, values["name"],
                                          parse_percent(values["discount"]),
                                          values["privilege"])

        self._form("New group", fields, save, "Group added")

    def action_rename(self) -> None:
        group = self._selected()
        if group is None:
            return

        def done(name: str | None) -> None:
            if name and name.strip() != group.name:
                self.write(customers.rename_group, group.id, name,
                           done=f"Group renamed to {name.strip()}")

        self.app.push_screen(TextPrompt(f"Rename group {group.name}", group.name), done)

    def action_edit(self) -> None:
        group = self._selected()
        if group is None:
            return
        app = self.backroom
        fields = [("discount", "Discount %", f"{group.discount_bp / 100:g}"),
                  ("privilege", "Privilege", group.privilege)]

        def save(changes: dict[str, str]) -> None:
            discount = (parse_percent(changes["discount"])
                        if "discount" in changes else None)
            customers.edit_group(app.shop, app.actor, group.id, discount,
                                 changes.get("privilege"))

        self._form(f"Group {group.name}", fields, save, f"Group {group.name} saved")

    def action_set_default(self) -> None:
        group = self._selected()
        if group is not None:
            self.write(customers.set_default_group, group.id,
                       done=f"{group.name} is now the default group")

    def action_delete(self) -> None:
        group = self._selected()
        if group is None:
            return
        refused = group_delete_refusal(group.name, group.is_default)
        if refused:
            self.notify(refused, severity="error")
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.write(customers.delete_group, group.id,
                           done=lambda moved: f"Group {group.name} deleted; {moved} member(s) "
                           "moved to the default group")

        self.app.push_screen(ConfirmDialog(
            "Delete group", f"Delete {group.name}? Its {group.members} member(s) move to the "
            "default group.", yes="Delete"), done)
