"""TUI benchmarks: launch to the first queue frame, key-to-frame latency while scrolling,
peak memory, on a big shop beside a small one, memory after opening many orders, and the
ship station's scan to shipped. Each measurement runs in a fresh process so imports and
memory are counted as an operator would feel them: the launch is counted from the moment
the parent starts the process (interpreter start and imports included), and the keys keep
coming at their pace while a page loads (a key that waits for a page is timed until its
frame).

    python -m bench.tui [--quick]

--quick: 100,000 orders instead of 1,000,000; 150 keys instead of 600, and no bare
DataTable floor (printed for information only); one launch a side (the first frame of the
run with keys), no launches alone; 40 orders opened by code instead of 1,000; 15 parcels
through the station instead of 60.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SMALL = 1_000
BIG = 1_000_000
QUICK_BIG = 100_000
KEYS = 600  # cursor moves measured (crossing several page boundaries)
QUICK_KEYS = 150  # --quick: still across a page boundary (ui.page_size 100)
LAUNCHES = 3  # more launches per side, without keys: one launch varies by +-30% here
TARGET_LAUNCH = 1.2
TARGET_P90_MS = 10.0
TARGET_MEMORY = 1.3
OPENS = 1_000  # orders opened one after another by their code, as a scanner would
QUICK_OPENS = 40  # --quick: four collections (COLLECT_EVERY), enough to see memory grow
TARGET_OPENS_MEMORY = 1.2
PARCELS = 60  # parcels through the ship station (--quick: 15)
QUICK_PARCELS = 15
TARGET_STATION_MS = 50.0


def database(orders: int) -> str:
    """A reused SQLite demo database of `orders` orders (bench.data when it exists)."""
    try:
        from bench.data import ensure_database  # type: ignore[import-not-found,attr-defined]
    except ImportError:
        return _build(orders)
    return str(ensure_database(orders))


def _build(orders: int) -> str:
    cache = Path(os.environ.get("BACKROOM_BENCH_DIR", "/tmp/backroom-bench"))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"tui-{orders}.db"
    url = f"sqlite:///{path}"
    done = path.with_suffix(".ok")
    if done.exists():
        return url
    path.unlink(missing_ok=True)
    from store import config as configmod
    from store import demo, operators
    from store.shop import open_shop

    shop = open_shop(configmod.from_mapping({"database": {"url": url}}, "bench", environ={}))
    operators.ensure_admin("bench")
    demo.build(shop, orders, seed=1)
    from store import db as dbmod

    dbmod.close()
    done.write_text("ok")
    return url


async def _child(url: str, keys: int, t0: float) -> dict[str, Any]:
    """Runs in the measured process: open the app, wait for the first rows, then scroll.
    `t0` is when the parent started this process (time.time())."""
    import resource

    from store import config as configmod
    from tui.app import build_app

    config = configmod.from_mapping(
        {"database": {"url": url}, "mail": {"deliver_in_app": False},
         "operators": {"new_login_role": "admin"}}, "bench", environ={})
    app = build_app(config, "bench")
    first_frame: list[float] = []
    display = app._display

    def first(*args: Any) -> None:
        """The launch ends with the first frame written that shows orders."""
        display(*args)
        if not first_frame and getattr(app.screen, "rows", None):
            first_frame.append(time.time())

    app._display = first  # type: ignore[method-assign,assignment]
    async with app.run_test(size=(120, 40)) as pilot:
        screen: Any = app.screen
        while not first_frame:
            await pilot.pause(0.005)
            screen = app.screen
        launch = first_frame[0] - t0
        await pilot.pause()  # the status counts that follow the rows finish before scrolling
        latencies = await _key_latencies(app, ["down"] * keys)
        reached = len(screen.rows)
    peak = _peak_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"launch": launch, **_percentiles(latencies), "peak_mb": peak,
            "rows_in_table": reached, "fps": _fps(), "gc_threshold": gc.get_threshold()}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _opens_child(url: str, opens: int) -> dict[str, Any]:
    """Open `opens` orders one after another by typing their codes on the order detail (each
    takes the place of the one before), reading RSS after 10 and after all of them, each
    time once the keys have paused long enough for the app to free what it closed."""
    from textual import events

    from store import config as configmod
    from store.models import Order
    from tui.app import COLLECT_AFTER, build_app

    config = configmod.from_mapping(
        {"database": {"url": url}, "mail": {"deliver_in_app": False},
         "operators": {"new_login_role": "admin"}}, "bench", environ={})
    app = build_app(config, "bench")
    rss: dict[int, float] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        codes = [c for (c,) in Order.select(Order.code).order_by(Order.id.desc())
                 .limit(opens).tuples()]
        driver = app._driver
        assert driver is not None
        for index, code in enumerate(codes, 1):
            # sent as a scanner types them (the pilot waits about 80 ms after each key)
            for char in code.partition("-")[2]:
                driver.send_message(events.Key(char, char))
            driver.send_message(events.Key("enter", "\r"))
            for _ in range(2000):
                await asyncio.sleep(0.002)
                detail = getattr(app.screen, "detail", None)
                if detail is not None and detail.code == code:
                    break
            if index in (10, len(codes)):
                await pilot.pause(COLLECT_AFTER + 0.5)
                rss[index] = _rss_mb()
    return {"after_10": rss[10], "after_all": rss[len(codes)], "opens": len(codes)}


def _fps() -> int:
    from textual import constants

    return constants.MAX_FPS


async def _key_latencies(app: Any, keys: list[str],
                         settle: Callable[[], Awaitable[None]] | None = None) -> list[float]:
    """Seconds from sending each key to the next frame written, one key at a time."""
    from textual import events

    frame = _frames(app, lambda: True)
    driver = app._driver
    assert driver is not None
    latencies: list[float] = []
    for key in keys:
        frame.clear()
        before = time.perf_counter()
        driver.send_message(events.Key(key, None))
        await asyncio.wait_for(frame.wait(), 5)
        latencies.append(time.perf_counter() - before)
        if settle is not None:
            await settle()
        await asyncio.sleep(0.002)
    return latencies


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies) or [0.0]  # a launch-only run presses no keys
    return {"p50": ordered[len(ordered) // 2] * 1000,
            "p90": ordered[int(len(ordered) * 0.9)] * 1000}


def _frames(app: Any, ready: Callable[[], bool]) -> asyncio.Event:
    """An event set by each frame the app writes while `ready()` is true (its display
    hooked)."""
    frame = asyncio.Event()
    display = app._display

    def displayed(*args: Any) -> None:
        display(*args)
        if ready():
            frame.set()

    app._display = displayed
    return frame


async def _scan(app: Any, frame: asyncio.Event, text: str, arm: Callable[[], None]) -> float:
    """Send `text` as a scanner does (its characters in one burst, then Enter); seconds from
    the Enter to the frame `frame` is set by, once `arm()` has said which one."""
    from textual import events
    from textual.keys import _character_to_key

    driver = app._driver
    assert driver is not None
    for char in text:
        key = char if char.isalnum() else _character_to_key(char)
        driver.send_message(events.Key(key, char))
    await asyncio.sleep(0.01)  # the burst lands in the field before Enter
    frame.clear()
    arm()
    started = time.perf_counter()
    driver.send_message(events.Key("enter", "\r"))
    await asyncio.wait_for(frame.wait(), 10)
    return time.perf_counter() - started


def _paid_codes(url: str, parcels: int) -> list[str]:
    """The codes of the latest current paid orders: the slips a station run scans."""
    import sqlite3

    raw = sqlite3.connect(url[len("sqlite:///"):])
    codes = [r[0] for r in raw.execute(
        "SELECT code FROM orders WHERE status = 'paid' AND archived = 0 "
        "ORDER BY placed_at DESC LIMIT ?", (parcels,))]
    raw.close()
    return codes


def _bare_list_type() -> Any:
    """The floor's list: pre-drawn lines without a scrollbar, a highlighted cursor row kept
    in view (a class made here: Textual loads only in the measured process)."""
    from rich.segment import Segment
    from rich.style import Style
    from textual.geometry import Size
    from textual.scroll_view import ScrollView
    from textual.strip import Strip

    class BareList(ScrollView, can_focus=True):
        DEFAULT_CSS = "BareList { overflow: hidden hidden; }"  # no scrollbar to redraw
        BINDINGS = [("down", "move(1)"), ("up", "move(-1)")]

        def __init__(self) -> None:
            super().__init__()
            self.cursor = 0
            self.virtual_size = Size(98, 300)
            plain, lit = Style(color="white", bgcolor="black"), Style(color="black",
                                                                        bgcolor="blue")
            texts = ["".join(f" cell {row}.{c}".ljust(14) for c in range(7)) for row in range(300)]
            self.lines = [(Strip([Segment(t, plain)]), Strip([Segment(t, lit)])) for t in texts]

        def render_line(self, y: int) -> Strip:
            index = y + self.scroll_offset.y
            if index >= len(self.lines):
                return Strip.blank(self.size.width)
            return self.lines[index][index == self.cursor]

        def action_move(self, step: int) -> None:
            old, self.cursor = self.cursor, max(0, min(self.cursor + step, len(self.lines) - 1))
            top = self.scroll_offset.y
            if self.cursor < top or self.cursor >= top + self.size.height:
                self.scroll_to(y=self.cursor - (0 if self.cursor < top else self.size.height - 1),
                               animate=False, force=True)
            else:
                self.refresh_line(old)
                self.refresh_line(self.cursor)

    return BareList


async def _bare_child(kind: str, keys: int, gc_threshold: tuple[int, int, int]) -> dict[str, Any]:
    """A floor: a bare Textual app of 300 rows by 7 columns under the same conditions as the
    app's child (frame rate, garbage collector, size, keys, pace), timed the same way.

    `list`: a line-API list of pre-drawn lines without a scrollbar, a highlighted cursor row
    kept in view; about the least a scrolling table can cost in Textual. `datatable`:
    Textual's DataTable, which draws every visible cell again on each cursor move."""
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    BareList = _bare_list_type()

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            if kind == "list":
                yield BareList()
            else:
                yield DataTable(cursor_type="row", zebra_stripes=True)

        def on_mount(self) -> None:
            gc.collect()
            gc.freeze()
            gc.set_threshold(*gc_threshold)
            if kind == "list":
                self.query_one(BareList).focus()
                return
            table = self.query_one(DataTable)
            for column in range(7):
                table.add_column(f"c{column}", width=12)
            for row in range(300):
                table.add_row(*[Text(f"cell {row}.{c}") for c in range(7)])
            table.focus()

    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        latencies = await _key_latencies(
            app, ["down" if index % 600 < 299 else "up" for index in range(keys)])
    return {**_percentiles(latencies), "fps": _fps()}


async def _station_child(url: str, parcels: int) -> dict[str, Any]:
    """Runs in the measured process: the ship station on the big shop. Each parcel is two
    scans (the slip's code, then a tracking number), each sent as a scanner sends it (its
    characters in one burst, then Enter); timed from the Enter to the first frame that
    shows the result (the order on the bench; then shipped, ready for the next slip). Every
    parcel is undone afterwards (store.undo), so the shop is left as it was but for their
    history rows."""
    from tui.app import build_app  # first: it sets the frame rate before Textual loads

    from store import config as configmod  # isort: skip

    codes = _paid_codes(url, parcels)
    config = configmod.from_mapping(
        {"database": {"url": url}, "mail": {"deliver_in_app": False},
         "operators": {"new_login_role": "admin"},
         "shipping": {"default_carrier": "colissimo"}}, "bench", environ={})
    app = build_app(config, "bench")
    stamp = f"{os.getpid() % 10000:04d}"
    slip_times: list[float] = []
    ship_times: list[float] = []
    batches: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.open_ship_station()
        await pilot.pause()
        screen: Any = app.screen
        done: list[Callable[[], bool]] = [lambda: False]
        frame = _frames(app, lambda: done[0]())

        async def scan(text: str, finished: Callable[[], bool]) -> float:
            took = await _scan(app, frame, text, lambda: done.__setitem__(0, finished))
            done[0] = lambda: False
            return took

        for n, code in enumerate(codes):
            count = screen.shipped
            slip_times.append(await scan(code, lambda: screen.current is not None))
            def shipped(count: int = count) -> bool:
                return bool(screen.shipped == count + 1 and screen.current is None)

            ship_times.append(await scan(f"BENCH{stamp}{n:06d}", shipped))
            batches.append(screen.last[0])
            await asyncio.sleep(0.005)
    _undo_parcels(config, app, batches)
    return {"slip": _percentiles(slip_times), "ship": _percentiles(ship_times),
            "parcels": len(codes), "fps": _fps()}


def _undo_parcels(config: Any, app: Any, batches: list[str]) -> None:
    """Undo the station run's parcels, with a window as long as the run (a slow run outlasts
    ui.undo_seconds), so the shop is left as it was but for their history rows."""
    from store import undo
    from store.models import db
    from store.shop import Shop

    patient = Shop(config.with_values("ui", undo_seconds=86400), app.shop.workflow)
    with db.connection_context():
        for batch in batches:
            undo.undo(patient, app.actor, batch)


async def _bare_station_child(url: str, parcels: int) -> dict[str, Any]:
    """A floor for the station written without backroom: a bare Textual app, one Input and
    one Static; Enter reads the scanned order and its lines with plain sqlite3 on a thread
    and shows them. Timed like the station: Enter to the first frame showing the result."""
    import sqlite3

    import tui  # noqa: F401  (the same frame rate as the app's child)

    from textual.app import App, ComposeResult  # isort: skip
    from textual.widgets import Input, Static  # isort: skip

    path = url[len("sqlite:///"):]
    codes = _paid_codes(url, parcels)

    def read(code: str) -> str:
        raw = sqlite3.connect(path)
        try:
            number = int(code.split("-")[-1][:-1])
            oid, name = raw.execute("SELECT id, customer_name FROM orders WHERE number = ?",
                                    (number,)).fetchone()
            items = raw.execute("SELECT quantity, sku, name FROM order_item WHERE order_id "
                                "= ?", (oid,)).fetchall()
            return "\n".join([name, *(f"{q} x {s} {n}" for q, s, n in items)])
        finally:
            raw.close()

    class Bare(App[None]):
        shown = 0

        def compose(self) -> ComposeResult:
            yield Static("", id="out")
            yield Input(id="scan")

        async def on_input_submitted(self, event: Input.Submitted) -> None:
            text = event.value
            event.input.value = ""
            result = await asyncio.to_thread(read, text)
            self.query_one("#out", Static).update(result)
            self.shown += 1

    app = Bare()
    times: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.query_one("#scan", Input).focus()
        target = [0]
        frame = _frames(app, lambda: app.shown >= target[0])
        for code in codes:
            times.append(await _scan(app, frame, code,
                                     lambda: target.__setitem__(0, app.shown + 1)))
            await asyncio.sleep(0.005)
    return {**_percentiles(times), "fps": _fps()}


def _station_floor(url: str, parcels: int) -> dict[str, Any]:
    """The floor: plain sqlite3 doing what shipping one parcel writes (find the order by its
    number, lock, read its lines, update it with the number, a history row, a mail row),
    each in its own transaction, rolled back."""
    import sqlite3

    raw = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
    numbers = [r[0] for r in raw.execute(
        "SELECT number FROM orders WHERE status = 'paid' AND archived = 0 "
        "ORDER BY placed_at DESC LIMIT ?", (parcels,))]
    times = []
    for n, number in enumerate(numbers):
        started = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        oid, email = raw.execute("SELECT id, customer_email FROM orders WHERE number = ?",
                                 (number,)).fetchone()
        raw.execute("SELECT sku, name, quantity FROM order_item WHERE order_id = ?",
                    (oid,)).fetchall()
        raw.execute("SELECT id FROM orders WHERE tracking_number = ?", (f"F{n}",)).fetchall()
        stamp = "2026-11-30 09:00:00"
        raw.execute("UPDATE orders SET status = 'shipped', tracking_number = ?, carrier = "
                    "'colissimo', version = version + 1, updated_at = ? WHERE id = ?",
                    (f"F{n}", stamp, oid))
        raw.execute("INSERT INTO order_event (order_id, kind, from_status, to_status, message, "
                    "data, operator_login, visible, batch, created_at, updated_at) VALUES "
                    "(?, 'status', 'paid', 'shipped', '', '{}', 'bench', 1, 'b', ?, ?)",
                    (oid, stamp, stamp))
        raw.execute("INSERT INTO outbox (kind, recipient, language, payload, idempotency_key, "
                    "state, order_id, batch, subject, attempts, next_attempt_at, last_error, "
                    "lease_owner, message_id, hold_until, created_at, updated_at) VALUES "
                    "('shipped', ?, 'en', '{}', ?, 'queued', ?, 'b', '', 0, ?, '', '', '', ?, "
                    "?, ?)", (email, f"floor:{oid}:{n}", oid, stamp, stamp, stamp, stamp))
        raw.execute("ROLLBACK")
        times.append(time.perf_counter() - started)
    raw.close()
    return _percentiles(times)


def _peak_mb(fallback: float) -> float:
    """This process's own peak RSS: VmHWM (ru_maxrss survives exec, so it would count the
    parent that built the database)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return fallback


def _measure(url: str, keys: int, like: dict[str, Any] | None = None,
             opens: bool = False) -> dict[str, Any]:
    """Run one child; a floor child (`url` "list" or "datatable") gets the frame rate and the
    collector settings the app's child ran with (`like`); with `opens`, `keys` orders are
    opened instead of rows scrolled."""
    command = [sys.executable, "-m", "bench.tui", "--child", url, "--keys", str(keys),
               "--t0", repr(time.time())]
    if opens:
        command.append("--opens")
    env = dict(os.environ)
    if like is not None:
        env["TEXTUAL_FPS"] = str(like["fps"])
        command += ["--gc", ",".join(str(n) for n in like["gc_threshold"])]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env,
                         cwd=str(Path(__file__).parent.parent))
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _measure_station(url: str, parcels: int, bare: bool = False) -> dict[str, Any]:
    """The ship station's child (or its bare floor), in a fresh process like the others."""
    command = [sys.executable, "-m", "bench.tui", "--bare-station" if bare else "--station",
               url, "--keys", str(parcels)]
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).parent.parent))
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _line(name: str, ours: str, raw: str, ratio: float, target: str, met: bool) -> None:
    print(f"{name}: backroom {ours} beside {raw} ({ratio:.2f}x), target {target}, "
          f"{'met' if met else 'MISSED'}")


def main(quick: bool) -> tuple[int, int]:
    """Print one line per target; (targets met, targets total)."""
    big = QUICK_BIG if quick else BIG
    keys = QUICK_KEYS if quick else KEYS
    small_url, big_url = database(SMALL), database(big)
    small, large = _measure(small_url, keys), _measure(big_url, keys)
    for _ in range(0 if quick else LAUNCHES):  # launches alone, taking turns; best of each
        for run, url in ((small, small_url), (large, big_url)):
            run["launch"] = min(run["launch"], _measure(url, 0)["launch"])
    floor = _measure("list", keys, like=large)
    # a bare DataTable, for information only: --quick spares its process (about 5 s)
    datatable = None if quick else _measure("datatable", keys, like=large)
    beside_datatable = (f"a bare DataTable {datatable['p90']:.1f} ms; " if datatable
                        else "")
    met = 0
    ratio = large["launch"] / small["launch"]
    ok = ratio <= TARGET_LAUNCH
    met += ok
    _line(f"tui launch to first queue frame, {big:,} orders", f"{large['launch']:.2f} s",
          f"{SMALL:,} orders {small['launch']:.2f} s", ratio, f"<= {TARGET_LAUNCH}x", ok)
    ok = large["p90"] <= TARGET_P90_MS
    met += ok
    _line(f"tui key-to-frame p90 scrolling {keys} rows of {big:,} orders at {large['fps']} fps",
          f"{large['p90']:.1f} ms (p50 {large['p50']:.1f})",
          f"a bare line-API list {floor['p90']:.1f} ms (p50 {floor['p50']:.1f}; "
          f"{beside_datatable}1,000 orders {small['p90']:.1f} ms)",
          large["p90"] / floor["p90"],
          f"<= {TARGET_P90_MS:.0f} ms headless", ok)
    ratio = large["peak_mb"] / small["peak_mb"]
    ok = ratio <= TARGET_MEMORY
    met += ok
    _line(f"tui peak memory, {big:,} orders", f"{large['peak_mb']:.0f} MB",
          f"{SMALL:,} orders {small['peak_mb']:.0f} MB", ratio, f"<= {TARGET_MEMORY}x", ok)
    opened = _measure(big_url, QUICK_OPENS if quick else OPENS, opens=True)
    ratio = opened["after_all"] / opened["after_10"]
    ok = ratio <= TARGET_OPENS_MEMORY
    met += ok
    _line(f"tui memory after opening {opened['opens']:,} orders by code",
          f"{opened['after_all']:.0f} MB", f"after 10 orders {opened['after_10']:.0f} MB",
          ratio, f"<= {TARGET_OPENS_MEMORY}x", ok)
    parcels = QUICK_PARCELS if quick else PARCELS
    floor_ship = _station_floor(big_url, parcels)
    bare = _measure_station(big_url, parcels, bare=True)
    station = _measure_station(big_url, parcels)
    ship, slip = station["ship"], station["slip"]
    ok = ship["p90"] <= TARGET_STATION_MS and slip["p90"] <= TARGET_STATION_MS
    met += ok
    _line(f"ship station, {station['parcels']} parcels on {big:,} orders: scan to shipped "
          "and ready (p90)", f"{ship['p90']:.1f} ms (p50 {ship['p50']:.1f}; the slip's scan "
          f"to the order shown {slip['p90']:.1f} ms p90)",
          f"a bare Textual app reading the order on a thread {bare['p90']:.1f} ms p90 "
          f"(p50 {bare['p50']:.1f}); plain sqlite3 writing a parcel's rows "
          f"{floor_ship['p90']:.2f} ms p90",
          ship["p90"] / bare["p90"] if bare["p90"] else float("inf"),
          f"<= {TARGET_STATION_MS:.0f} ms p90", ok)
    return met, 5


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", metavar="URL")
    parser.add_argument("--station", metavar="URL")
    parser.add_argument("--bare-station", metavar="URL")
    parser.add_argument("--keys", type=int, default=KEYS)
    parser.add_argument("--gc", default="700,10,10", help=argparse.SUPPRESS)
    parser.add_argument("--opens", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.opens:
        print(json.dumps(asyncio.run(_opens_child(args.child, args.keys))))
        return
    if args.child in ("list", "datatable"):
        first, second, third = (int(n) for n in args.gc.split(","))
        print(json.dumps(asyncio.run(_bare_child(args.child, args.keys,
                                                 (first, second, third)))))
        return
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.keys, args.t0 or time.time()))))
        return
    if args.station:
        print(json.dumps(asyncio.run(_station_child(args.station, args.keys))))
        return
    if args.bare_station:
        print(json.dumps(asyncio.run(_bare_station_child(args.bare_station, args.keys))))
        return
    met, total = main(args.quick)
    print(f"bench tui: {met} of {total} targets met")


if __name__ == "__main__":
    _cli()
