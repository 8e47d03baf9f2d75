"""What the bench modules share: the raw floor's connection (plain sqlite3 or psycopg2, no
backroom code), medians of interleaved rounds, and the report of targets met."""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


class Raw:
    """A bare connection to the bench database, for the floors: hand-written SQL with `?`
    placeholders (turned into `%s` for psycopg2), nothing of backroom's."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:///")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
            self.conn.execute("PRAGMA cache_size = -64000")  # what backroom's connections use
        else:
            import psycopg2

            self.conn = psycopg2.connect(url)
            self.conn.autocommit = True

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else sql.replace("%", "%%").replace("?", "%s")

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self.conn.cursor()
        cursor.execute(self._sql(sql), tuple(params))
        return list(cursor.fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.all(sql, params)
        return found[0] if found else None

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.cursor().execute(self._sql(sql), tuple(params))

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.cursor().executemany(self._sql(sql), rows)

    def close(self) -> None:
        self.conn.close()


def interleaved(contestants: Sequence[Callable[[], Any]], rounds: int,
                warm: bool = True) -> list[float]:
    """Median milliseconds of each contestant over `rounds` rounds in which they take turns
    (each sees the same weather on a shared machine), after one warm-up call each.

    Each round shuffles the turns (the same seed every run): in a fixed order one contestant
    would always run right after the same other, and after a long one (the LIKE walk reads a
    million rows in 250 ms) the next finds the processor's caches full of that one's data:
    backroom's no-match search measured 0.68 ms there and 0.48 ms one place later, on a
    query of 0.05 ms."""
    if warm:
        for fn in contestants:
            warm_up(fn)
    samples: list[list[float]] = [[] for _ in contestants]
    turns = random.Random(13)
    order = list(range(len(contestants)))
    for _ in range(rounds):
        turns.shuffle(order)
        for i in order:
            started = time.perf_counter()
            contestants[i]()
            samples[i].append((time.perf_counter() - started) * 1000)
    return [statistics.median(s) for s in samples]


WARM_CALLS = 4  # twice per read thread (tui.workers.READ_THREADS): reads take turns


def warm_up(fn: Callable[[], Any]) -> None:
    """A contestant's warm-up, untimed. The app's reads take turns among its read threads,
    each with its own connection and page cache, so one call warmed one of them: the other's
    first read (a rare word's page: 6 ms where a warm one takes 1.8) fell in the turns, and
    the search figures swung 1.2-1.9x from run to run."""
    for _ in range(WARM_CALLS):
        fn()


SLOW = 5  # a raw plan this many times slower than the best in its first call


def once(plans: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Each raw plan's first call, in ms (the warm-up). One far slower than the best (SLOW)
    would fill the caches with its own pages before whichever contestant follows it (a
    walk that reads every customer: 70-110 ms), so callers time it once and leave it out
    of the turns."""
    times = {}
    for name, plan in plans.items():
        started = time.perf_counter()
        plan()
        times[name] = (time.perf_counter() - started) * 1000
    return times


def beside_plans(ours: Callable[[], Any], plans: dict[str, Callable[[], Any]],
                 rounds: int) -> tuple[float, dict[str, float]]:
    """backroom's median ms and each raw plan's: a plan SLOW times slower than the best in
    its first call keeps that call's figure (`once`), the rest take turns with backroom,
    each warmed first."""
    first = once(plans)
    kept = {n: plans[n] for n in plans if first[n] <= SLOW * min(first.values())}
    warm_up(ours)
    figures = interleaved([ours, *kept.values()], rounds, warm=False)
    return figures[0], {**first, **dict(zip(kept, figures[1:], strict=True))}


def shown(name: str, ours: float, found: dict[str, float]) -> None:
    """One figure beside the best of the raw plans, printed for information (not a target)."""
    best = min(found, key=lambda n: found[n])
    print(f"{name}: backroom {ours:.3f} ms beside the best raw plan ({best}) "
          f"{found[best]:.3f} ms ({ours / found[best]:.2f}x; "
          + ", ".join(f"{n} {v:.3f} ms" for n, v in found.items()) + "; shown, not a target)")


def in_worker(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """`fn(*args)` the way the app runs a read: handed to one of its long-lived read threads,
    which keeps its connection open (tui.workers.read_now), and waited for."""
    from tui.workers import read_now

    def call() -> Any:
        return read_now(fn, *args)

    return call


class Report:
    """Collects targets met and prints one line per figure."""

    def __init__(self) -> None:
        self.met = 0
        self.total = 0

    def line(self, name: str, ours: float, raw: float, raw_name: str = "raw") -> None:
        ratio = ours / raw if raw else float("inf")
        print(f"{name}: backroom {ours:.3f} ms beside {raw_name} {raw:.3f} ms ({ratio:.2f}x)")

    def target(self, name: str, ok: bool, text: str) -> None:
        self.total += 1
        self.met += ok
        print(f"  target {name}: {text}, {'met' if ok else 'MISSED'}")
