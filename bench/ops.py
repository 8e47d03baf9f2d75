"""Backups on the shared demo shop (bench.data), beside `sqlite3 .backup` of the same file.

- `backroom backup` (store.backup.backup: a snapshot of the file alone, zstd-compressed by
  another process, synced, recorded, pruned) beside the sqlite3 command-line shell's
  `.backup` of the same file (the online backup API, uncompressed), medians of interleaved
  rounds. Target <= 1.5x. Also, for information, the way through the backup API into a
  scratch copy (what backroom falls back to when commits never pause).
- An operator's status change during a backup: another process changes one order's status
  (and undoes it, so the shop is left as it was) every 100 ms while a backup runs; each
  change's wall time, lock wait included, against the same changes with no backup running.
  Target: the slowest change during the backup <= 100 ms.

--quick uses the 100,000-order shop, 2 rounds instead of 3 and 1 s of changes with no
backup instead of 2."""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.5
TARGET_WAIT_MS = 100.0
ROOT = Path(__file__).resolve().parent.parent


def _open(url: str) -> Any:
    from store.config import from_mapping
    from store.shop import open_shop

    return open_shop(from_mapping({"database": {"url": url}}, "bench", environ={}))


def backroom_backup(url: str, directory: Path) -> Path:
    """What `backroom backup --to DIR --keep 1` does once the shop is open."""
    from store import backup
    from store.operators import SYSTEM

    return backup.backup(_open(url), SYSTEM, directory, keep=1).path


def floor_backup(path: str, target: Path) -> None:
    """The sqlite3 shell's `.backup` (Python's sqlite3 backup API if there is no shell)."""
    target.unlink(missing_ok=True)
    shell = shutil.which("sqlite3")
    if shell:
        subprocess.run([shell, path, f".backup '{target}'"], check=True)
        return
    with sqlite3.connect(path) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _rounds(ours: Callable[[], Any], floor: Callable[[], Any], rounds: int
            ) -> tuple[float, float]:
    """Median seconds of each, the two taking turns (who goes first alternates)."""
    a: list[float] = []
    b: list[float] = []
    for n in range(rounds):
        order = [(ours, a), (floor, b)] if n % 2 == 0 else [(floor, b), (ours, a)]
        for fn, samples in order:
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)


def _child(url: str, stop: str) -> None:
    """An operator: change one order's status and undo it, every 100 ms until `stop`
    exists; print each change's (start, seconds) as JSON."""
    from store import status, undo
    from store.models import Order
    from store.operators import SYSTEM

    shop = _open(url)
    order_id = (Order.select(Order.id).where(Order.status == "awaiting_payment",
                                             ~Order.archived)
                .order_by(Order.id.desc()).scalar())
    samples: list[tuple[float, float]] = []

    def once() -> None:
        started, clock = time.time(), time.perf_counter()
        change = status.change_status(shop, SYSTEM, [order_id], "cancelled", notify=True)
        samples.append((started, time.perf_counter() - clock))
        undo.undo(shop, SYSTEM, change.batch)

    once()
    samples.clear()
    print("ready", flush=True)
    while not Path(stop).exists():
        begun = time.perf_counter()
        once()
        time.sleep(max(0.0, 0.1 - (time.perf_counter() - begun)))
    print(json.dumps(samples), flush=True)


def _changes_during(url: str, works: list[Callable[[], Any]], scratch: Path
                    ) -> list[tuple[list[float], float, float]]:
    """Status changes (ms) of another process while each of `works` runs, one after another,
    with each one's start and end: one operator process for all of them (it starts in about
    a second)."""
    stop = scratch / "stop"
    stop.unlink(missing_ok=True)
    child = subprocess.Popen([sys.executable, "-m", "bench.ops", "--child", url, str(stop)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError("the operator process did not start")
    time.sleep(0.5)  # a few changes before the work starts
    windows: list[tuple[float, float]] = []
    for work in works:
        began = time.time()
        work()
        windows.append((began, time.time()))
        time.sleep(0.3)  # the change under way when the work ended finishes in its window
    stop.touch()
    out, _ = child.communicate(timeout=120)
    samples = json.loads(out.strip().splitlines()[-1])
    return [([s * 1000 for start, s in samples if began <= start <= ended], began, ended)
            for began, ended in windows]


def main(quick: bool = False) -> tuple[int, int]:
    from bench.data import ensure_database

    url = ensure_database(100_000 if quick else 1_000_000)
    path = url[len("sqlite:///"):]
    rounds = 2 if quick else 3
    size = Path(path).stat().st_size
    met = 0
    with tempfile.TemporaryDirectory(dir=Path(path).parent, prefix="ops-bench-") as tmp:
        scratch = Path(tmp)
        backups = scratch / "backups"
        raw = scratch / "raw.db"
        made: list[Path] = []
        ours, floor = _rounds(lambda: made.append(backroom_backup(url, backups)),
                              lambda: floor_backup(path, raw), rounds)
        packed = made[-1].stat().st_size
        ratio = ours / floor
        ok = ratio <= TARGET_RATIO
        met += ok
        print(f"backup of a {size / 1e9:.2f} GB shop: backroom {ours:.2f} s "
              f"({packed / 1e6:,.0f} MB zstd) beside sqlite3 .backup {floor:.2f} s "
              f"({size / 1e6:,.0f} MB) ({ratio:.2f}x), target <= {TARGET_RATIO}x, "
              f"{'met' if ok else 'MISSED'}")

        from store import backup

        saved = backup.SNAPSHOT_ATTEMPTS
        backup.SNAPSHOT_ATTEMPTS = 0  # the other way, when commits never pause for a snapshot
        try:
            api, api_floor = _rounds(lambda: backroom_backup(url, backups),
                                     lambda: floor_backup(path, raw), 1)
        finally:
            backup.SNAPSHOT_ATTEMPTS = saved
        print(f"  (through the backup API into a scratch copy, when commits never pause long "
              f"enough for a snapshot of the file: {api:.2f} s beside {api_floor:.2f} s, "
              f"{api / api_floor:.2f}x)")

        (idle, _, _), (during, began, ended) = _changes_during(
            url, [lambda: time.sleep(1.0 if quick else 2.0), lambda: backroom_backup(url, backups)],
            scratch)
        worst = max(during) if during else float("inf")
        ok = worst <= TARGET_WAIT_MS
        met += ok
        print(f"status change during a backup ({len(during)} changes over "
              f"{ended - began:.1f} s): median {statistics.median(during):.1f} ms, slowest "
              f"{worst:.1f} ms, beside median {statistics.median(idle):.1f} ms, slowest "
              f"{max(idle):.1f} ms with no backup; target slowest <= {TARGET_WAIT_MS:g} ms, "
              f"{'met' if ok else 'MISSED'}")
    return met, 2


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    done, total = main("--quick" in sys.argv)
    print(f"bench: {done} of {total} targets met")
