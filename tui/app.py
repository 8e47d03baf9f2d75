"""The backroom App: modes, app-wide keys, scan-to-open, the command palette and command line,
undo, the in-app mail loop, and the one handler that turns a failed worker into a notice."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import os
import re
import sys
import threading
import time
import traceback
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, cast

import platformdirs
from rich.text import Text
from textual import events, work
from textual._styles_cache import StylesCache
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.filter import LineFilter
from textual.keys import _character_to_key
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, TextArea
from textual.worker import Worker, WorkerState

from mailer import worker as mail_worker
from store import events_log
from store.codes import looks_like_code
from store.config import APP_NAME, Config
from store.db import store_error
from store.errors import BackroomError, Conflict, Refused
from store.health import health_report
from store.operators import Actor
from store.orders import find_order
from store.queries import QueueFilter
from store.shop import Shop, open_shop
from store.undo import undo
from tui import binding_ids
from tui.dialogs.command_line import CommandLine
from tui.dialogs.help import HelpScreen, binding_rows, screen_name
from tui.format import ControlCharacterFilter, shown
from tui.messages import HealthRead, OrdersChanged
from tui.screens.base import BackroomScreen
from tui.screens.customers import CustomersScreen
from tui.screens.groups import GroupsScreen
from tui.screens.newsletter import NewsletterScreen
from tui.screens.order_detail import OrderDetailScreen
from tui.screens.outbox import OutboxScreen
from tui.screens.profile import ProfileScreen
from tui.screens.queue import QueueScreen
from tui.screens.ship import ShipStationScreen
from tui.screens.shop_log import ShopLogScreen
from tui.widgets.health_line import HealthLine
from tui.workers import in_db, read_db, readers, run_db, wait_for_store_calls

# Built-in views of the `:` command line; config [views] adds to them and wins.
BUILTIN_VIEWS = {
    "all": "",
    "pending": "status:awaiting_payment,awaiting_verification",
    "today": "placed:today",
    "toship": "status:paid",
    "toarchive": "status:completed placed:<30d",
}
SCREENS_BY_MODE: dict[str, type[BackroomScreen]] = {
    "orders": QueueScreen,
    "customers": CustomersScreen,
    "groups": GroupsScreen,
    "outbox": OutboxScreen,
    "newsletter": NewsletterScreen,
    "log": ShopLogScreen,
}
MODE_KEYS = {"1": "orders", "2": "customers", "3": "groups", "4": "outbox", "5": "newsletter",
             "6": "log"}
LEAD = re.compile(r"[A-Za-z]+-$")  # letters and a dash right before a code's digits: a prefix
SCAN_SETTLE = 0.4  # a lone digit this long with nothing after is a mode key, not a code
COLLECT_AFTER = 0.5  # seconds after a screen closes, once keys pause: free it then
COLLECT_EVERY = 10  # closed screens freed at once when keys never pause (~15 ms a time)

log = logging.getLogger("backroom.tui")
CONTROL_FILTER = ControlCharacterFilter()


@dataclasses.dataclass
class LastChange:
    """The status change `z` can revert: its batch, and what it was. Whether it still may be
    reverted is the store's to say (store.orders.undo counts the window)."""

    batch: str
    summary: str


class OrderCodeCommands(Provider):
    """The palette opens an order by its code: what looks like one (BR-100007, or its digits)
    is offered as "Open order ...", which opens it or refuses as a scan would."""

    async def search(self, query: str) -> Hits:
        text = query.strip()
        if looks_like_code(text):
            app = cast("BackroomApp", self.app)
            yield Hit(1.0, Text(f"Open order {text}"), partial(app.scan_open, text),
                      text=f"Open order {text}", help="the order with this code")


class BackroomApp(App[None]):
    """The back office: orders, customers, groups and outbox as modes over one shop."""

    TITLE = "backroom"
    CSS_PATH = "backroom.tcss"
    COMMANDS = App.COMMANDS | {OrderCodeCommands}
    MODES = dict(SCREENS_BY_MODE)
    DEFAULT_MODE = "orders"
    BINDINGS = [
        Binding("1", "mode('orders')", "Orders", id="app.orders", show=False),
        Binding("2", "mode('customers')", "Customers", id="app.customers", show=False),
        Binding("3", "mode('groups')", "Groups", id="app.groups", show=False),
        Binding("4", "mode('outbox')", "Outbox", id="app.outbox", show=False),
        Binding("5", "mode('newsletter')", "Newsletter", id="app.newsletter", show=False),
        Binding("6", "mode('log')", "Shop log", id="app.log", show=False),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon", "command_line", "Cmd", id="app.command", show=False),
        Binding("z", "undo", "Undo", id="app.undo", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", show=False, priority=True),
    ]

    def __init__(self, config: Config, login: str | None = None) -> None:
        super().__init__()
        self.config = config
        self._terminal = _terminal_fd()  # before the migrations: the terminal may go meanwhile
        self.shop: Shop = open_shop(config, pooled=True)  # workers reuse connections
        self.actor: Actor = self.shop.actor(login)
        self.last_change: LastChange | None = None
        self._scan = ""  # the code being typed or scanned
        self._lead = ""  # letters and a dash typed just before it: another shop's prefix?
        self._scan_timer: Any = None
        self._settle_turn = 0  # which restart of the settle timer is the latest
        self._replaying: list[str] = []  # keys held back, sent again as key presses
        self._mail_stop = threading.Event()
        self._collect_timer: Any = None
        self._closed_screens = 0  # screens closed since the last collection
        self.health: HealthRead | None = None
        events_log.setup(str(config.get("ui", "log_to")), str(config.get("ui", "log_file")),
                         interactive=True)
        self.sub_title = f"{self.actor.login} ({self.actor.role})"
        if config.keys:
            binding_ids.check(config.keys)
            self.set_keymap(dict(config.keys))
        command = self._keymap.get("app.command") or "colon"
        self._command_keys = {key.strip() for key in command.split(",")}

    # ----- start and stop ---------------------------------------------------------------

    def on_mount(self) -> None:
        # Everything imported so far lives as long as the app: keep it out of the collector's
        # full passes, and collect young objects less often, so a key never waits on a GC.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        if self.config.get("mail", "deliver_in_app"):
            self._deliver_mail()
        self._read_health()
        self.set_interval(float(self.config.get("ui", "health_seconds")), self._read_health)
        terminal = None if self.is_headless else self._terminal
        if terminal is not None:
            threading.Thread(target=self._watch_terminal, args=(terminal, get_running_loop()),
                             daemon=True, name="backroom-terminal").start()

    def _watch_terminal(self, fd: int, loop: AbstractEventLoop) -> None:
        """Leave when the terminal is gone: an SSH connection that drops without a hang-up
        signal, a killed tmux server. Textual's input thread would read the terminal's
        end of file over and over and its output thread die on the first write, so the app
        stayed, a core busy, until killed (`make demo` in a killed tmux: 43-77 % of a core).
        A thread of its own watches, as the event loop may be stuck writing to the terminal.
        It asks the app to exit, then, if Textual's exit is stuck on the terminal too
        (LEAVE_SECONDS), ends the process once the store calls under way are done (a write
        commits, an export's file is whole; at most STORE_CALLS_SECONDS, past which one is
        rolled back whole); unsent mail waits in the outbox. `fd` was found a terminal when
        the app started (before its migrations, which may take a while)."""
        while os.isatty(fd):
            time.sleep(TERMINAL_CHECK_SECONDS)
        events_log.event("terminal_gone", self.actor.login)
        self._mail_stop.set()
        with contextlib.suppress(RuntimeError):  # the loop has closed: the app has exited
            loop.call_soon_threadsafe(self.exit)
        time.sleep(LEAVE_SECONDS)
        # a write, an export or a print job under way finishes first (a bulk change commits,
        # an export's file is whole); reads are dropped
        if not wait_for_store_calls(STORE_CALLS_SECONDS):
            events_log.event("terminal_gone_work_cut", self.actor.login)
        readers.close(wait=0.5)
        logging.shutdown()
        os._exit(0)

    @work(thread=True, exit_on_error=False, group="mail", name="mail delivery")
    def _deliver_mail(self) -> None:
        """The delivery loop of a one-person shop, until the app exits."""
        mail_worker.run_blocking(self.config, self._mail_stop)

    @work(thread=True, exclusive=True, group="health", exit_on_error=False, name="health")
    def _read_health(self) -> None:
        """Read the shop's health for the line at the foot of the screens; a failure to read
        it is shown there, never as a notice every few seconds."""
        try:
            report = in_db(health_report, self.config)
        except Exception as exc:
            error = store_error(exc)
            self.post_message(HealthRead(None, str(error) if error else type(exc).__name__))
            return
        self.post_message(HealthRead(report))

    def on_health_read(self, message: HealthRead) -> None:
        self.health = message
        for screen in self.screen_stack:
            for line in screen.query(HealthLine):
                line.show(message.report, message.problem)

    async def action_quit(self) -> None:
        self._mail_stop.set()
        await super().action_quit()

    def on_unmount(self) -> None:
        self._mail_stop.set()
        readers.close()  # the read threads close their kept connections

    # ----- navigation -------------------------------------------------------------------

    def screen_closed(self) -> None:
        """A screen was closed: free it soon, when the operator pauses. Its widgets form
        reference cycles that the raised collector thresholds (on_mount) would keep for a
        long time, and Textual 8's StylesCache.get_inner_outer is an lru_cache on a method
        that keeps up to 1,024 closed widgets' caches alive: measured, 600 opened orders
        took the app from 62 to 381 MB; with this, 1,000 opens stay within 1.05x. Keys that
        never pause (`]` held down through the orders, a scanner fed a stack of slips) get a
        collection every COLLECT_EVERY closed screens instead: 300 orders opened by their
        codes with no pause took it from 82 to 144 MB."""
        if not self.is_running:
            return
        if self._collect_timer is not None:
            self._collect_timer.stop()
        self._closed_screens += 1
        if self._closed_screens >= COLLECT_EVERY:
            self._collect()
            return
        self._collect_timer = self.set_timer(COLLECT_AFTER, self._collect)

    def _collect(self) -> None:
        self._collect_timer = None
        self._closed_screens = 0
        StylesCache.get_inner_outer.cache_clear()
        gc.collect()  # ~15 ms with the start-up objects frozen out of it

    def action_mode(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def open_order(self, order_id: int, filter: QueueFilter | None = None) -> None:
        """Show the detail of one order; `filter` gives next/previous their order. Over an
        order already open (a scan, a typed code) it takes that screen's place, so Esc goes
        back to where the scanning began and no screen piles up."""
        if filter is None and self.current_mode == "orders":
            queue = self.screen_stack[0] if self.screen_stack else None
            filter = queue.filter if isinstance(queue, QueueScreen) else None
        screen = OrderDetailScreen(order_id, filter)
        if isinstance(self.screen, OrderDetailScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def open_ship_station(self) -> None:
        """The packing bench's screen (`:ship`, or S on the queue), over the current one."""
        if not isinstance(self.screen, ShipStationScreen):
            self.push_screen(ShipStationScreen())

    def open_customer(self, customer_id: int) -> None:
        self.push_screen(ProfileScreen(customer_id))

    async def show_customers(self, query: str) -> None:
        """The customers screen, filtered by `query` (a group's members)."""
        await self.switch_mode("customers")
        screen = self.screen
        if isinstance(screen, CustomersScreen):
            screen.show_query(query)

    def open_view(self, query: str) -> None:
        """Show the queue filtered by `query` (a saved view or a typed filter)."""
        self.switch_mode("orders")
        while len(self.screen_stack) > 1:
            self.pop_screen()
        queue = self.screen_stack[0]
        if isinstance(queue, QueueScreen):
            queue.set_filter_text(query)

    def views(self) -> dict[str, str]:
        return BUILTIN_VIEWS | dict(self.config.views)

    # ----- help, palette, command line --------------------------------------------------

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, ModalScreen):
            return
        self.push_screen(HelpScreen(screen_name(screen), binding_rows(screen)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every screen, every saved view, and every action of the current screen."""
        yield from super().get_system_commands(screen)
        for key, mode in MODE_KEYS.items():
            yield SystemCommand(f"Go to {mode}", f"key {key}",
                                lambda mode=mode: self.action_mode(mode))
        for name, query in self.views().items():
            yield SystemCommand(f"View: {name}", query or "every current order",
                                lambda query=query: self.open_view(query))
        yield SystemCommand("Undo the last status change", "key z", self.action_undo)
        yield SystemCommand("Ship station", "the packing bench: scan slip, scan tracking (:ship)",
                            self.open_ship_station)
        yield SystemCommand("Command line", "key :", self.action_command_line)
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in seen or active.node is self:
                continue
            seen.add(binding.action)
            node = active.node
            if isinstance(node, BackroomScreen) and node.forbidden(binding.action):
                continue

            def run(node: Any = node, action: str = binding.action) -> None:
                self.call_later(node.run_action, action)

            yield SystemCommand(binding.description, f"key {self.get_key_display(binding)}",
                                run)

    def action_command_line(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        names = [*self.views(), "order ", *SCREENS_BY_MODE, "ship", "help", "undo", "quit"]
        self.push_screen(CommandLine(names), self.run_command)

    def run_command(self, text: str | None) -> None:
        """`:name` of a view or screen, `:order CODE`, `:filter QUERY`, `:undo`, `:q`."""
        if not text:
            return
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word in ("q", "quit", "exit"):
            self.exit()
        elif word in ("o", "order"):
            self.scan_open(rest)
        elif word in ("f", "filter"):
            self.open_view(rest)
        elif word in self.views():
            self.open_view(self.views()[word])
        elif word in SCREENS_BY_MODE:
            self.action_mode(word)
        elif word == "ship":
            self.open_ship_station()
        elif word == "help":
            self.action_help()
        elif word == "undo":
            self.action_undo()
        elif word[:1].isdigit() or "-" in word:
            self.scan_open(text)
        else:
            known = ", ".join(sorted([*self.views(), *SCREENS_BY_MODE, "order CODE", "ship",
                                      "q"]))
            self.notify(f"unknown command :{word} (known: {known})", severity="warning")

    # ----- scan-to-open -----------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and self._scan_key(event):
            return
        await super().on_event(event)

    def _scan_key(self, event: events.Key) -> bool:
        """Collect a code typed or scanned (the shop's prefix, then digits), shown in the
        status line as it comes; Enter opens the order. True when the key was consumed."""
        if self._replaying and event.key == self._replaying[0]:
            self._replaying.pop(0)
            return False
        if isinstance(self.screen, ModalScreen | ShipStationScreen) or isinstance(
                self.focused, Input | TextArea):
            return False  # the ship station reads its own scans
        if not self._scan and event.key in self._command_keys:
            # opened now, not when the key has passed the focused widget: the keys typed
            # right after it (`:p`) then reach the line, not the screen under it
            self.action_command_line()
            return True
        char = event.character or ""
        if event.key == "enter" and self._scan:
            code, self._scan = self._scan, ""
            self._show_scan()
            if any(c.isdigit() for c in code):
                self.scan_open(code)
            return True
        if event.key == "escape" and self._scan:
            self._scan = ""
            self._show_scan()
            return True
        own = f"{self.shop.prefix.upper()}-" if self.shop.prefix else ""
        digits = any(c.isdigit() for c in self._scan)
        prefix_next = (not digits and len(char) == 1 and (char.isupper() or char == "-")
                       and own.startswith(self._scan + char) and (char != "-" or self._scan))
        if len(char) == 1 and (char.isdigit() or prefix_next):
            if char.isdigit() and not self._scan:
                # letters and a dash typed just before (another shop's prefix): part of it
                lead = LEAD.search(self._lead)
                self._scan = lead.group(0) if lead else ""
            self._scan += char
            self._lead = ""
            self._show_scan()
            self._restart_settle()
            return True
        if self._scan:
            return self._break_scan(event)
        if len(char) == 1 and (char.isalpha() or char == "-"):
            self._lead = (self._lead + char)[-12:]
            self._restart_settle()
        else:
            self._lead = ""
        return False

    def _restart_settle(self) -> None:
        if self._scan_timer is not None:
            self._scan_timer.stop()
        self._settle_turn += 1
        turn = self._settle_turn
        self._scan_timer = self.set_timer(SCAN_SETTLE, lambda: self._settle_scan(turn))

    def _settle_scan(self, turn: int) -> None:
        """Keys paused: a lone mode digit, or the prefix's letters with no digit after them,
        were key presses after all: replay them. Letters typed before the pause are no
        code's prefix any more.

        A timer whose time came while a key was on its way is stale when it runs (stopping
        it then is too late): the next code's first digit, a 1, was taken for the mode key
        and the code for 00046 (a scan right after the settle time of the one before)."""
        if turn != self._settle_turn:
            return
        self._lead = ""
        if self._scan and (self._scan in MODE_KEYS or not any(c.isdigit() for c in self._scan)):
            self._replay(self._scan)
        self._show_scan()

    def _break_scan(self, event: events.Key) -> bool:
        """A key that is no part of a code came: what was held back that was no code (a mode
        digit, the prefix's letters) is replayed, in order, before this key."""
        held = self._scan
        if held in MODE_KEYS or not any(c.isdigit() for c in held):
            self._replay(held, event.key)
            char = event.character or ""
            self._lead = held + char if char.isalpha() or char == "-" else ""
            return True
        self._scan = ""
        self._show_scan()
        return False

    def _replay(self, held: str, then: str | None = None) -> None:
        self._scan = ""
        keys = [_character_to_key(c) for c in held] + ([then] if then else [])
        self._replaying.extend(keys)
        for key in keys:
            self.simulate_key(key)
        self._show_scan()

    def _show_scan(self) -> None:
        """The code so far in the status line; a lone mode digit (most likely a switch of
        screen) shows once a second key follows it."""
        shown = "" if self._scan in MODE_KEYS else self._scan
        try:
            screen = self.screen
        except ScreenStackError:  # between two modes, or the app is closing: nothing to show
            return
        for line in screen.query(HealthLine):
            line.typed(shown)

    def scan_open(self, text: str) -> None:
        """Open the order of a code typed, scanned, given to `:order` or the palette: one
        check (store.orders.find_order) and one refusal for all of them."""
        self._find_and_open(text.strip())

    @work(group="scan", exit_on_error=False)
    async def _find_and_open(self, text: str) -> None:
        try:
            ref = await read_db(find_order, self.shop, text)
        except BackroomError as exc:
            self.notify(str(exc), title="Open order", severity="error")
            return
        self.open_order(ref.id)

    # ----- undo -------------------------------------------------------------------------

    def remember_change(self, batch: str, summary: str) -> None:
        self.last_change = LastChange(batch, summary)

    def action_undo(self) -> None:
        change = self.last_change
        if change is None:
            self.notify("Nothing to undo.")
            return
        self.last_change = None
        self._undo(change)

    @work(group="undo", exit_on_error=False)
    async def _undo(self, change: LastChange) -> None:
        try:
            result = await run_db(undo, self.shop, self.actor, change.batch)
        except Refused as exc:  # its window closed, or it was undone already
            self.notify(f"Not undone: {exc}.", title="Undo", severity="warning")
            return
        text = result.summary()
        text = text[0].upper() + text[1:]
        self.notify(text, title="Undo")
        self.broadcast_change(text)

    def broadcast_change(self, summary: str = "") -> None:
        """Tell every screen of the current mode that orders changed, so it reloads."""
        for screen in self.screen_stack:
            screen.post_message(OrdersChanged(summary))

    # ----- errors -----------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report_error(event.worker.error)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notice is plain text, its control characters made visible: they quote
        codes, names and reasons people typed (a toast's title is never markup)."""
        super().notify(shown(message, multiline=True), title=shown(title), severity=severity,
                       timeout=timeout, markup=False)

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, and the last guard against control characters (tui.format)."""
        return [*super().get_line_filters(), CONTROL_FILTER]

    def report_error(self, error: BaseException) -> None:
        """A refusal is a notice; a conflict also reloads; anything else is logged too."""
        if isinstance(error, Conflict):
            self.notify(str(error), title="Changed by someone else", severity="warning",
                        markup=False)
            self.broadcast_change()
        elif isinstance(error, BackroomError):
            self.notify(str(error), title="Refused", severity="error", markup=False)
        else:
            path = self._log_error(error)
            self.notify(f"Unexpected error: {type(error).__name__}: {error}. Details in {path}",
                        title="Error", severity="error", timeout=15, markup=False)

    def _log_error(self, error: BaseException) -> Path:
        configured = str(self.config.get("ui", "log_file"))
        if configured:
            path = Path(configured)
        else:
            path = Path(platformdirs.user_log_dir(APP_NAME)) / "backroom.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(traceback.format_exception(error))
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} "
                             f"{self.actor.login}\n{text}\n")
        except OSError:
            log.exception("cannot write the error log", exc_info=error)
        return path

    def _handle_exception(self, error: Exception) -> None:
        """An error in a handler after start-up becomes a notice, not a traceback."""
        if self.is_running and self._exit_renderables == [] and not isinstance(
                error, (KeyboardInterrupt, SystemExit)):
            try:
                self.report_error(error)
                if not isinstance(error, BackroomError):
                    self._close_failed_dialog()
                return
            except Exception:
                pass
        super()._handle_exception(error)

    def _close_failed_dialog(self) -> None:
        """A dialog whose own code failed unexpectedly is closed, so the screen under it takes
        the keys again and its notice is seen: one that failed while it was built stayed on
        top half drawn and took every key but ctrl+q (its Esc failed too: the replacement
        dialog on an item named `Plate [/]`)."""
        dialog = self.screen
        if isinstance(dialog, ModalScreen) and len(self.screen_stack) > 1:
            try:  # dismissed with None, as Esc does: a flow awaiting it goes on, cancelled
                dialog.dismiss(None)
            except Exception:
                with contextlib.suppress(Exception):
                    self.pop_screen()


TERMINAL_CHECK_SECONDS = 1.0  # how soon the app notices its terminal went away
LEAVE_SECONDS = 5.0  # how long Textual's own exit may take before the process ends
STORE_CALLS_SECONDS = 600.0  # how long the store calls under way may take to finish then


def _terminal_fd() -> int | None:
    """The file descriptor of the terminal the app reads keys from, if it reads a terminal
    (after a hang-up the same descriptor is no longer one)."""
    stdin = sys.__stdin__
    if stdin is None:
        return None
    try:
        fd = stdin.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


def build_app(config: Config, login: str | None = None) -> BackroomApp:
    """The one factory the CLI and the tests use."""
    return BackroomApp(config, login)
