"""The ship station: a screen for the packing bench, driven by a barcode scanner. Scan the
slip's barcode and the order shows large (what to pack, where it goes, the notes); scan the
parcel's tracking number and it ships with its carrier, its mail held for the undo window,
and the station waits for the next slip. No dialog and no other key: a scan the station
cannot take is refused loudly (red, and the terminal's bell) and ships nothing. `z` (with
nothing typed) undoes the last parcel; Esc drops the order on the bench, or leaves."""

from __future__ import annotations

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Digits, Footer, Input, Static

from store import carriers
from store.errors import BackroomError
from store.station import Shipped, StationOrder, scan_slip, ship_parcel, ship_status
from store.status import StatusChange
from store.text import printable
from store.undo import undo
from tui.messages import OrdersChanged
from tui.screens.base import BackroomScreen
from tui.widgets.steady_input import SteadyInput
from tui.workers import run_db

# What the empty field says between parcels: the keys live here, since the title line has no
# room for them at 80 columns and the footer leaves out keys the focused field types.
READY_HINT = "scan a packing slip  ·  z undoes the last parcel  ·  Esc leaves"


class ScanInput(SteadyInput):
    """The one field a scanner types into; `z` with nothing typed asks for undo (a tracking
    number that holds a z is typed as it comes)."""

    class UndoAsked(Message):
        """z was pressed with nothing typed."""

    async def _on_key(self, event: events.Key) -> None:
        if event.character in ("z", "Z") and not self.value:
            event.stop()
            event.prevent_default()
            self.post_message(self.UndoAsked())
            return
        await super()._on_key(event)


class ShipStationScreen(BackroomScreen):
    """Two scans per parcel: the slip, then the tracking number."""

    BINDINGS = [
        Binding("escape", "back", "Drop order / leave", id="ship.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current: StationOrder | None = None
        self.last: tuple[str, str] | None = None  # (batch, code) of the last parcel shipped
        self.shipped = 0
        self.busy_scan = False

    def compose(self) -> ComposeResult:
        yield Static("", id="ship-title", markup=False)
        yield Static("", id="ship-banner", markup=False)
        with Horizontal(id="ship-head"):
            yield Digits("", id="ship-number")
            yield Static("", id="ship-to", markup=False)
        with VerticalScroll(id="ship-body"):
            yield Static("", id="ship-items", markup=False)
        yield ScanInput(placeholder=READY_HINT, id="ship-scan")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ship-scan", ScanInput).focus()
        self._title()
        self._ready("Scan a packing slip.")

    # ----- what the station shows ---------------------------------------------------------

    def _title(self) -> None:
        config = self.backroom.config
        default = str(config.get("shipping", "default_carrier"))
        carrier = carriers.label(config.carriers, default) if default else "from the number"
        try:
            target = self.backroom.shop.workflow.label(ship_status(self.backroom.shop))
        except BackroomError as exc:
            target = str(exc)
        text = Text(" SHIP STATION ", style="bold reverse")
        text.append(f"  → {target} · carrier: {carrier} · {self.shipped} shipped here",
                    style="dim")
        self.query_one("#ship-title", Static).update(text, layout=False)

    def _banner(self, text: str, kind: str) -> None:
        banner = self.query_one("#ship-banner", Static)
        banner.update(Text(printable(text)), layout=False)
        for name in ("-ok", "-refused", "-waiting"):
            banner.set_class(name == f"-{kind}", name)

    def _ready(self, text: str, kind: str = "ok") -> None:
        """Nothing on the bench: the next scan is a slip."""
        if self.current is not None:  # clear what the last order showed, once
            self.query_one("#ship-number", Digits).update("")
            self.query_one("#ship-to", Static).update("", layout=False)
            self.query_one("#ship-items", Static).update("")
            self.query_one("#ship-scan", ScanInput).placeholder = READY_HINT
        self.current = None
        self._banner(text, kind)

    def _refuse(self, text: str) -> None:
        """Loud: red, and the bell. Nothing was shipped."""
        self.app.bell()
        self._banner(f"✗ {text}", "refused")

    def _show(self, order: StationOrder) -> None:
        slip = order.slip
        self.current = order
        digits = "".join(ch for ch in slip.code if ch.isdigit())
        self.query_one("#ship-number", Digits).update(digits)
        ship_to = Text(printable(slip.code), style="bold")
        ship_to.append(f"  {printable(slip.shipping_method)}\n", style="dim")
        if slip.ship_to is None:
            ship_to.append("(no shipping address)\n", style="bold red")
        else:
            for n, line in enumerate(slip.ship_to.lines()):
                ship_to.append(printable(line) + "\n", style="bold" if n == 0 else "")
        self.query_one("#ship-to", Static).update(ship_to, layout=False)
        body = Text()
        for item in slip.items:
            body.append(f"{item.quantity:>3} × ", style="bold")
            body.append(f"{printable(item.sku)}  ", style="cyan")
            body.append(printable(item.name) + "\n")
        for title, text in (("Note", slip.customer_note), ("Gift message", slip.gift_message)):
            if text.strip():
                body.append(f"\n{title}: ", style="bold yellow")
                body.append(printable(text) + "\n")
        self.query_one("#ship-items", Static).update(body)
        count = sum(i.quantity for i in slip.items)
        self.query_one("#ship-scan", ScanInput).placeholder = (
            f"scan the tracking number for {slip.code}")
        self._banner(f"{slip.code}: pack {count} item(s), then scan the parcel's tracking "
                     "number.", "waiting")

    # ----- scans --------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        event.input.value = ""
        if not text:
            return
        if self.current is None:
            self._scan_slip(text)
        else:
            self._ship(self.current, text)

    # Async workers awaiting run_db: the store call runs on the loop's pool of threads,
    # already started, instead of a thread made for each scan.

    @work(exclusive=True, group="ship-scan", exit_on_error=False)
    async def _scan_slip(self, text: str) -> None:
        try:
            order = await run_db(scan_slip, self.backroom.shop, text)
        except BackroomError as exc:
            self._refuse(str(exc))
            return
        with self.app.batch_update():  # one frame for every part of the screen
            self._show(order)

    @work(exclusive=True, group="ship-scan", exit_on_error=False)
    async def _ship(self, order: StationOrder, tracking: str) -> None:
        app = self.backroom
        try:
            shipped = await run_db(ship_parcel, app.shop, app.actor, order, tracking)
        except BackroomError as exc:
            self._refuse(str(exc))
            return
        with self.app.batch_update():
            self._shipped(shipped)

    def _shipped(self, shipped: Shipped) -> None:
        code = shipped.code
        self.last = (shipped.change.batch, code)
        self.shipped += 1
        self.backroom.remember_change(shipped.change.batch, f"{code} shipped")
        name = (carriers.label(self.backroom.config.carriers, shipped.carrier)
                if shipped.carrier else "")
        detail = (f"with {name} {shipped.tracking}" if name
                  else f"with {shipped.tracking} (carrier unknown)")
        mail = (f"mail held {self.backroom.shop.undo_seconds} s" if shipped.mailed
                else "no mail (no address)")
        self._title()
        self._ready(f"✓ {code} shipped {detail}; {mail}. Scan the next slip.")
        for screen in self.app.screen_stack:
            if screen is not self:
                screen.post_message(OrdersChanged(f"{code} shipped"))

    # ----- undo and leaving ---------------------------------------------------------------

    def on_scan_input_undo_asked(self, message: ScanInput.UndoAsked) -> None:
        if self.last is None:
            self._refuse("nothing to undo here yet")
            return
        batch, code = self.last
        self.last = None
        self._undo(batch, code)

    @work(exclusive=True, group="ship-undo", exit_on_error=False)
    async def _undo(self, batch: str, code: str) -> None:
        app = self.backroom
        try:
            result = await run_db(undo, app.shop, app.actor, batch)
        except BackroomError as exc:
            self._refuse(f"{code} not undone: {exc}")
            return
        self._undone(code, result)

    def _undone(self, code: str, result: StatusChange) -> None:
        if self.backroom.last_change is not None and self.backroom.last_change.batch == (
                result.batch):
            self.backroom.last_change = None
        if result.changed:
            self.shipped = max(0, self.shipped - 1)
        self._title()
        back = self.backroom.shop.workflow.label(result.to_status)
        self._ready(f"↶ {code} undone: back to {back}, its mail withdrawn. Scan a packing slip.")

    def action_back(self) -> None:
        if self.current is not None:
            self._ready(f"{self.current.slip.code} put aside (nothing shipped). "
                        "Scan a packing slip.")
            return
        self.app.pop_screen()
