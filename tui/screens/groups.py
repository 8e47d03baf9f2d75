"""Customer groups with member counts: add, rename, delete (members move to the default
group), set the default, edit the discount or privilege."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from store import customer_queries as cq
from store.errors import ValidationError
from tui.screens import ReportsWorkerErrors, in_db


@dataclass
class GroupsLoaded(Message):
    """The groups and their member counts arrived."""

    groups: tuple[cq.GroupRow, ...]


@dataclass
class GroupChanged(Message):
    """A write on groups finished."""

    summary: str


def parse_percent(text: str) -> int:
    """'7.5' or '7,5 %' as basis points (750)."""
    cleaned = text.replace("%", "").replace(",", ".").strip() or "0"
    try:
        return round(float(cleaned) * 100)
    except ValueError:
        raise ValidationError(f"{text!r} is not a percentage (like 5 or 7.5)") from None


class GroupsScreen(ReportsWorkerErrors, Screen[None]):
    """Every customer group; the default one is marked with *."""

    BINDINGS = [
        Binding("n", "add", "Add", id="groups.add"),
        Binding("r", "rename", "Rename", id="groups.rename"),
        Binding("e", "edit", "Discount/privilege", id="groups.edit"),
        Binding("asterisk,s", "set_default", "Set default", id="groups.default"),
        Binding("delete,d", "delete", "Delete", id="groups.delete"),
        Binding("ctrl+r", "reload", "Reload", id="groups.reload", show=False),
    ]

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
        for key, label in (("default", " "), ("name", "Name"), ("members", "Members"),
                           ("discount", "Discount"), ("privilege", "Privilege")):
            table.add_column(label, key=key)
        table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="groups-load", exit_on_error=False)
    def _load(self) -> None:
        groups = in_db(cq.group_rows)
        if not get_current_worker().is_cancelled:
            self.post_message(GroupsLoaded(groups))

    @on(DataTable.RowSelected, "#groups-table")
    async def _members(self) -> None:
        """Enter shows the group's members in the customers list."""
        group = self._selected()
        if group is None:
            return
        app: Any = self.app
        if "customers" not in getattr(app, "MODES", {}):
            return
        await app.switch_mode("customers")
        screen = app.screen
        if hasattr(screen, "show_query"):
            name = group.name.replace('"', "")
            screen.show_query(f'group:"{name}"' if " " in name else f"group:{name}")

    def on_groups_loaded(self, message: GroupsLoaded) -> None:
        table = self.query_one(DataTable)
        keep = self._selected()
        self.groups = {g.id: g for g in message.groups}
        with self.app.batch_update():
            table.clear()
            for g in message.groups:
                table.add_row(Text("*" if g.is_default else ""), Text(g.name),
                              Text(str(g.members), justify="right"),
                              Text(f"{g.discount_bp / 100:g} %", justify="right"),
                              Text(g.privilege), key=str(g.id))
        if keep is not None and str(keep.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep.id)))

    def _selected(self) -> cq.GroupRow | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.groups.get(int(key.value)) if key.value is not None else None

    @work(thread=True, exit_on_error=False, group="groups-write")
    def _write(self, fn: Callable[..., Any], args: tuple[Any, ...], summary: str) -> None:
        app: Any = self.app
        result = in_db(fn, app.shop, app.actor, *args)
        if "{moved}" in summary:
            summary = summary.replace("{moved}", str(result))
        self.post_message(GroupChanged(summary))

    def on_group_changed(self, message: GroupChanged) -> None:
        self.notify(message.summary, markup=False)
        self.action_reload()

    def action_add(self) -> None:
        from tui.screens.customer_form import CustomerForm as FormDialog

        fields = [("name", "Name", ""), ("discount", "Discount %", "0"),
                  ("privilege", "Privilege", "")]

        def done(changes: dict[str, str] | None) -> None:
            if changes is None:
                return
            values = {k: v for k, _label, v in fields} | changes
            try:
                discount = parse_percent(values["discount"])
            except ValidationError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            from store import customers

            self._write(customers.create_group, (values["name"], discount,
                                                 values["privilege"]),
                        f"Group {values['name'].strip()} added")

        self.app.push_screen(FormDialog("New group", fields), done)

    def action_rename(self) -> None:
        from tui.screens.text_prompt import TextPrompt

        group = self._selected()
        if group is None:
            return

        def done(name: str | None) -> None:
            if name and name.strip() != group.name:
                from store import customers

                self._write(customers.rename_group, (group.id, name),
                            f"Group renamed to {name.strip()}")

        self.app.push_screen(TextPrompt(f"Rename group {group.name}", group.name), done)

    def action_edit(self) -> None:
        from tui.screens.customer_form import CustomerForm as FormDialog

        group = self._selected()
        if group is None:
            return
        fields = [("discount", "Discount %", f"{group.discount_bp / 100:g}"),
                  ("privilege", "Privilege", group.privilege)]

        def done(changes: dict[str, str] | None) -> None:
            if not changes:
                return
            try:
                discount = parse_percent(changes["discount"]) if "discount" in changes else None
            except ValidationError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            from store import customers

            self._write(customers.edit_group, (group.id, discount, changes.get("privilege")),
                        f"Group {group.name} saved")

        self.app.push_screen(FormDialog(f"Group {group.name}", fields), done)

    def action_set_default(self) -> None:
        group = self._selected()
        if group is None:
            return
        from store import customers

        self._write(customers.set_default_group, (group.id,),
                    f"{group.name} is now the default group")

    def action_delete(self) -> None:
        from tui.screens.confirm_dialog import ConfirmDialog

        group = self._selected()
        if group is None:
            return
        if group.is_default:
            self.notify(f"{group.name} is the default group; make another group the default "
                        "before deleting it", severity="error", markup=False)
            return

        def done(yes: bool | None) -> None:
            if yes:
                from store import customers

                self._write(customers.delete_group, (group.id,),
                            f"Group {group.name} deleted; {{moved}} member(s) moved to the "
                            "default group")

        self.app.push_screen(ConfirmDialog(
            "Delete group", f"Delete {group.name}? Its {group.members} member(s) move to the "
            "default group.", yes="Delete"), done)
