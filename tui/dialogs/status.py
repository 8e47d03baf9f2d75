"""Pick the next status: only the allowed ones, each with its hotkey, plus the mail switch
and the inputs the status requires (a tracking number for shipped)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Switch
from textual.widgets.option_list import Option

from store.workflow import Status, Workflow


@dataclass(frozen=True)
class StatusChoice:
    """What the operator picked."""

    status: str
    notify: bool
    tracking: str | None = None
    message: str | None = None  # written to the customer in the status email
    carrier: str | None = None  # as typed: a [carriers] name or label; None: decided by store


class StatusDialog(ModalScreen[StatusChoice | None]):
    """A status hotkey picks it at once; Enter picks the highlighted one; ctrl+e turns the
    customer email on or off; ctrl+t adds a message to the customer, sent in that email."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="status.cancel"),
        Binding("ctrl+e", "toggle_mail", "Email on/off", id="status.mail", priority=True),
        Binding("ctrl+t", "message", "Message to the customer", id="status.message",
                priority=True),
    ]

    def __init__(self, workflow: Workflow, from_statuses: Iterable[str], count: int = 1, *,
                 shipping_method: str | None = None, tracking: str = "",
                 default_carrier: str = "") -> None:
        """`shipping_method` and `tracking` of the one order changed (None for many): the
        workflow says from them whether a tracking number must be asked for."""
        super().__init__()
        self.workflow = workflow
        self.targets: list[Status] = workflow.targets(from_statuses)
        self.count = count
        self.shipping_method = shipping_method
        self.tracking = tracking
        self.default_carrier = default_carrier
        self._override: bool | None = None
        self._chosen: Status | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            what = "this order" if self.count == 1 else f"{self.count} orders"
            yield Label(f"Change the status of {what}", classes="dialog-title")
            if not self.targets:
                yield Label("No status can follow the current one.", classes="dialog-error")
            options = [
                Option(Text.assemble((f"[{s.hotkey}] ", "bold"), (s.label, s.colour)), id=s.key)
                for s in self.targets
            ]
            yield OptionList(*options, id="status-options")
            with Horizontal(classes="switch-row"):
                yield Switch(False, id="status-mail")
                yield Label("", id="status-mail-label", markup=False)
            yield Input(placeholder="message to the customer, sent in the status email "
                        "(Enter: back to the statuses)", id="status-message", classes="hidden")
            yield Input(placeholder=("tracking number (Enter skips)" if self.count == 1 else
                                     f"ONE tracking number for all {self.count} orders "
                                     "without one (one parcel); Enter skips"),
                        id="status-tracking", classes="hidden")
            otherwise = (f"else {self.default_carrier}" if self.default_carrier
                         else "else none")
            yield Input(placeholder=f"carrier (Tab; empty: recognised from the number, "
                                    f"{otherwise})", id="status-carrier", classes="hidden")
            yield Label("hotkey or Enter picks · ctrl+t message · Esc cancels",
                        classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.targets:
            options.highlighted = 0
        options.focus()
        self._sync_switch()

    def _highlighted(self) -> Status | None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.targets:
            return None
        return self.targets[options.highlighted]

    def _sync_switch(self) -> None:
        status = self._chosen or self._highlighted()
        has_mail = bool(status and status.mail)
        switch = self.query_one("#status-mail", Switch)
        switch.value = has_mail if self._override is None else (self._override and has_mail)
        switch.disabled = not has_mail
        state = ("ON" if switch.value else "OFF") if has_mail else "none for this status"
        self.query_one("#status-mail-label", Label).update(
            f"email to the customer: {state}" + (" (ctrl+e)" if has_mail else ""))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._sync_switch()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(self.targets[event.option_index])

    def on_key(self, event: events.Key) -> None:
        if isinstance(self.focused, Input) or not event.character:
            return
        for index, status in enumerate(self.targets):
            if event.character == status.hotkey:
                event.stop()
                event.prevent_default()
                self.query_one(OptionList).highlighted = index
                self._pick(status)
                return

    def _needs_tracking(self, status: Status) -> bool:
        return "tracking" in self.workflow.needs(status.key, shipping_method=self.shipping_method,
                                                 tracking=self.tracking)

    def _pick(self, status: Status) -> None:
        self._chosen = status
        self._sync_switch()
        if self._needs_tracking(status):
            tracking = self.query_one("#status-tracking", Input)
            tracking.remove_class("hidden")
            self.query_one("#status-carrier", Input).remove_class("hidden")
            tracking.focus()
            return
        self._finish()

    def _finish(self, tracking: str | None = None) -> None:
        assert self._chosen is not None
        notify = self.query_one("#status-mail", Switch).value
        message = self.query_one("#status-message", Input).value.strip() or None
        carrier = self.query_one("#status-carrier", Input).value.strip() or None
        self.dismiss(StatusChoice(self._chosen.key, notify, tracking, message,
                                  carrier if tracking else None))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "status-message":
            self.query_one(OptionList).focus()
        elif self._chosen is not None:
            # Empty is allowed: store refuses, order by order, those that still need one.
            tracking = self.query_one("#status-tracking", Input).value
            self._finish(tracking.strip() or None)

    def action_message(self) -> None:
        """Show the message box (its text goes in the status email the store sends)."""
        box = self.query_one("#status-message", Input)
        box.remove_class("hidden")
        box.focus()

    def action_toggle_mail(self) -> None:
        switch = self.query_one("#status-mail", Switch)
        if not switch.disabled:
            self._override = not switch.value
            switch.value = self._override
            self._sync_switch()

    def action_cancel(self) -> None:
        self.dismiss(None)
