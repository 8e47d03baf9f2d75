"""The campaign editor: name, subject, sender, audience, the subject A/B test (a second
subject, its sample, wait and metric) and body (in the text area, or in $EDITOR with
ctrl+o). While typing it shows how many the audience would reach now and the
store's warnings on the subject; saving goes through the store, and a refusal (an unknown
merge tag, a filter that is not one) stays beside the form with nothing typed lost."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static, TextArea

from store.campaigns import AB_METRICS, AB_SAMPLE, AB_WAIT_MINUTES, BODY_KINDS, subject_warnings
from store.errors import BackroomError
from tui.format import shown

# (key, label, placeholder) of the one-line fields, in order
FIELDS = (
    ("name", "Name", "unique, e.g. June news"),
    ("subject", "Subject", "{firstname|there}, the June news"),
    ("subject_b", "Subject B", "empty: no A/B test; else the second subject"),
    ("sender_name", "Sender", "empty: the shop's name"),
    ("sender_email", "Sender email", "empty: shop.email"),
    ("audience", "Audience", "empty: all subscribers; segment:vip, group:NAME, words"),
    ("body_kind", "Body is", " or ".join(BODY_KINDS)),
    ("track", "Track", "yes: count opens and clicks (a pixel, links through /o/ and /c/)"),
)
# the A/B test's settings, on one row: (key, label, width)
AB_FIELDS = (("ab_sample", "A/B sample %", 6), ("ab_wait_minutes", "wait min", 7),
             ("ab_metric", "by", 10))
SUGGESTIONS = {"body_kind": BODY_KINDS, "track": ("yes", "no"), "ab_metric": AB_METRICS}
EDITOR_SUFFIX = {"template": ".txt", "html": ".html", "text": ".txt"}


def external_editor() -> list[str]:
    """The operator's editor command ($VISUAL, then $EDITOR, then vi)."""
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


class CampaignEditor(ModalScreen[Any]):
    """Dismisses with what `save(values)` returns once the store accepts, or None on Esc.
    `count(audience)` says how many that audience reaches now (refusing a bad filter)."""

    DEFAULT_CSS = """
    CampaignEditor #campaign-editor { height: 100%; }
    CampaignEditor #campaign-reach { height: auto; max-height: 3; }
    CampaignEditor #f-body { height: 1fr; min-height: 4; }
    CampaignEditor #f-body.-refused { border: tall $error; }
    CampaignEditor #form-error { width: 100%; height: auto; max-height: 4; }
    CampaignEditor .ab-label { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="campaign_editor.cancel"),
        Binding("ctrl+s", "save", "Save", id="campaign_editor.save"),
        Binding("ctrl+o", "external_editor", "$EDITOR", id="campaign_editor.editor"),
    ]

    def __init__(self, save: Callable[[dict[str, str]], Awaitable[Any]],
                 count: Callable[[str], Awaitable[int]], values: dict[str, str] | None = None,
                 title: str = "New campaign") -> None:
        super().__init__()
        self.save = save
        self.count = count
        self.initial = {"body_kind": "template", "track": "no", "ab_sample": str(AB_SAMPLE),
                        "ab_wait_minutes": str(AB_WAIT_MINUTES),
                        "ab_metric": AB_METRICS[0]} | (values or {})
        self.title_text = title
        self._reach = Text("")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="campaign-editor"):
            yield Label(shown(self.title_text), classes="dialog-title", markup=False)
            for key, label, placeholder in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label", markup=False)
                    suggester = (SuggestFromList(SUGGESTIONS[key], case_sensitive=False)
                                 if key in SUGGESTIONS else None)
                    yield Input(self.initial.get(key, ""), placeholder=placeholder,
                                id=f"f-{key}", suggester=suggester)
            with Horizontal(classes="form-row", id="ab-row"):
                for key, label, width in AB_FIELDS:
                    yield Label(label, classes="ab-label", markup=False)
                    suggester = (SuggestFromList(SUGGESTIONS[key], case_sensitive=False)
                                 if key in SUGGESTIONS else None)
                    field = Input(self.initial.get(key, ""), id=f"f-{key}", suggester=suggester)
                    field.styles.width = width + 2
                    yield field
            yield Static("", id="campaign-reach", markup=False)
            yield TextArea(self.initial.get("body", ""), id="f-body", soft_wrap=True,
                           show_line_numbers=False)
            yield Label("", id="form-error", classes="dialog-error", markup=False)
            yield Label("ctrl+s save · ctrl+o body in $EDITOR · Tab next · Esc cancel",
                        classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()
        self._recount(self.initial.get("audience", ""))

    def values(self) -> dict[str, str]:
        """Every field as typed, and the body."""
        found = {key: self.query_one(f"#f-{key}", Input).value
                 for key in [k for k, _l, _p in FIELDS] + [k for k, _l, _w in AB_FIELDS]}
        found["body"] = self.query_one("#f-body", TextArea).text
        return found

    # ----- what it would do -------------------------------------------------------------

    @on(Input.Changed, "#f-audience")
    def _audience_changed(self, event: Input.Changed) -> None:
        self._recount(event.value)

    @on(Input.Changed, "#f-subject, #f-subject_b")
    def _subject_changed(self) -> None:
        self._show_reach(self._reach)

    @work(exclusive=True, group="audience-count", exit_on_error=False)
    async def _recount(self, audience: str) -> None:
        try:
            count = await self.count(audience)
        except BackroomError as exc:
            self._show_reach(Text(f"audience: {exc}", style="red"))
            return
        who = "all subscribers" if not audience.strip() else "this audience"
        self._show_reach(Text(f"{who}: {count} subscriber(s) now"))

    def _show_reach(self, reach: Text) -> None:
        self._reach = reach
        text = reach.copy()
        for key in ("subject", "subject_b"):
            for warning in subject_warnings(self.query_one(f"#f-{key}", Input).value):
                text.append(f"\nwarning: {'subject B: ' if key == 'subject_b' else ''}{warning}",
                            style="yellow")
        self.query_one("#campaign-reach", Static).update(text)

    # ----- saving -----------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last one-line field, to the body."""
        event.stop()
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.query_one("#f-body", TextArea).focus()
        else:
            inputs[inputs.index(event.input) + 1].focus()

    def action_save(self) -> None:
        self._submit(self.values())

    @work(exclusive=True, group="campaign-save", exit_on_error=False)
    async def _submit(self, values: dict[str, str]) -> None:
        self.refuse("", None)
        try:
            result = await self.save(values)
        except BackroomError as exc:
            self.refuse(str(exc), exc.field)
            return
        self.dismiss(result)

    def refuse(self, message: str, field: str | None) -> None:
        """Show the store's refusal under the form and mark (and focus) the field it names."""
        self.query_one("#form-error", Label).update(message)
        marked = None
        for widget in self.query("Input, TextArea"):
            hit = widget.id == f"f-{field}"
            widget.set_class(hit, "-refused")
            marked = widget if hit else marked
        if marked is not None:
            marked.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    # ----- $EDITOR ----------------------------------------------------------------------

    @work(exclusive=True, group="campaign-editor", exit_on_error=False)
    async def action_external_editor(self) -> None:
        """Edit the body in the operator's editor: the app steps aside until it exits."""
        area = self.query_one("#f-body", TextArea)
        kind = self.query_one("#f-body_kind", Input).value.strip()
        path = await asyncio.to_thread(_write_temp, area.text, EDITOR_SUFFIX.get(kind, ".txt"))
        try:
            try:
                with self.app.suspend():
                    returned = subprocess.run([*external_editor(), str(path)], check=False)
            except SuspendNotSupported:
                self.notify("This terminal cannot hand over to an editor; edit the body here.",
                            severity="warning")
                return
            except OSError as exc:
                self.notify(f"The editor did not start: {exc}", severity="error")
                return
            if returned.returncode != 0:
                self.notify(f"The editor exited with {returned.returncode}; the body is "
                            "unchanged.", severity="warning")
                return
            try:
                area.text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.notify(f"The edited body cannot be read as UTF-8 text: {exc}",
                            severity="error")
                return
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        area.focus()


def _write_temp(text: str, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix="backroom-campaign-", suffix=suffix)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    return Path(name)
