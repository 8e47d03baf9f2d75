"""What every screen of backroom shares: the typed app, one reload key, one handler that
turns a failed worker into a notice, keys offered by role, and one way to run a write."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, work
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from store.operators import refusal
from tui.widgets.health_line import HealthLine
from tui.workers import run_db

if TYPE_CHECKING:
    from tui.app import BackroomApp


class BackroomScreen(Screen[None]):
    """A screen of the app. Subclasses set ACTION_PERMISSIONS (action name -> the store
    permission it needs): a key the operator's role may not use is left out of the footer,
    `?` and the palette, and pressing it says why at once."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("ctrl+r", "reload", "Reload", id="screen.reload", show=False),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str]] = {}
    NAME: ClassVar[str] = ""  # what `?` is titled; empty: the class name in words

    @property
    def backroom(self) -> BackroomApp:
        return cast("BackroomApp", self.app)

    @property
    def shown(self) -> bool:
        """On screen: on top, or beneath a dialog it shows through. Textual's is_current is
        true beneath a full screen too (the queue under the ship station), where reloading
        after each parcel only competed with the station; a screen reloads on its return."""
        top = self.app.screen
        return top is self or (self.is_current and isinstance(top, ModalScreen))

    def action_reload(self) -> None:
        """Read what the screen shows again (each screen says what that is)."""

    def on_unmount(self) -> None:
        self.backroom.screen_closed()

    def on_mount(self) -> None:
        """Every screen has the health line at its foot (the app keeps it read), and a compact
        footer: at 80 columns it shows the screen's main keys (the palette's ctrl+p is in `?`)."""
        line = HealthLine()
        self.mount(line)
        read = self.backroom.health
        if read is not None:
            line.show(read.report, read.problem)
        for footer in self.query(Footer):
            footer.compact = True

    # ----- workers ----------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Worker.StateChanged does not bubble: each screen hands its failures to the app."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.backroom.report_error(event.worker.error)

    def write(self, fn: Callable[..., Any], *args: Any, done: str | Callable[[Any], str] = "",
              then: Callable[[Any], None] | None = None, **kwargs: Any) -> None:
        """Run one store service as this operator (`fn(shop, actor, *args, **kwargs)`) on a
        worker; then say `done` and reload (or call `then` with the result). A refusal
        becomes the app's notice and changes nothing."""
        self._write(fn, args, kwargs, done, then)

    @work(group="write", exit_on_error=False)
    async def _write(self, fn: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: dict[str, Any], done: str | Callable[[Any], str],
                     then: Callable[[Any], None] | None) -> None:
        app = self.backroom
        result = await run_db(fn, app.shop, app.actor, *args, **kwargs)
        text = done(result) if callable(done) else done
        if text:
            self.notify(text)
        if then is not None:
            then(result)
        else:
            self.action_reload()

    def set_busy(self, text: str) -> None:
        """Show what a long write is doing (screens with a status line show it)."""

    @contextlib.contextmanager
    def busy(self, text: str) -> Iterator[None]:
        """`text` in the status line while the block runs, cleared whatever happens."""
        self.set_busy(text)
        try:
            yield
        finally:
            self.set_busy("")

    # ----- keys by role -----------------------------------------------------------------

    def forbidden(self, action: str) -> str:
        """Why this operator may not run `action` here, or '' when they may."""
        permission = self.ACTION_PERMISSIONS.get(action.partition("(")[0])
        return refusal(self.backroom.actor, permission) if permission else ""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.forbidden(action)

    def on_key(self, event: events.Key) -> None:
        """A key whose action the role may not take: say so, instead of nothing happening."""
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            reason = self.forbidden(binding.action)
            if reason:
                event.stop()
                event.prevent_default()
                self.notify(reason, title="Not allowed", severity="warning")
                return
