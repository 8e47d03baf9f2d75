"""Reading and checking a large file's records on both cores: the last 45 % of the records
go to a forked child process, which sends its results back a chunk at a time while this
process works through the others, as the demo builder generates its rows in a child
(store.demo). The database is never touched in the child (it only runs `work`, pure Python),
so the writer stays in this process, writing as before.

The results are those of `work` applied to each record in order, whichever process ran it:
if the child cannot be had or fails, this process does its part too."""

from __future__ import annotations

import multiprocessing
import os
import queue as queues
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

PARALLEL_FROM = 20_000  # records: below this, forking costs more than it saves
CHUNK = 2_000  # results per message from the child
WAIT = 1.0  # seconds between looks at whether the child is still alive

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_records(work: Callable[[Item], Result], items: Sequence[Item],
                parallel_from: int = PARALLEL_FROM) -> list[Result]:
    """[work(item) for item in items], the last 45 % in a forked child from `parallel_from`
    items on (where the platform forks)."""
    if len(items) < max(parallel_from, 2) or "fork" not in multiprocessing.get_all_start_methods():
        return [work(item) for item in items]
    mine = len(items) * 11 // 20  # the child takes a little less: it also pickles it all
    context = multiprocessing.get_context("fork")
    channel: Any = context.Queue()
    child = context.Process(target=_child, args=(work, items[mine:], channel), daemon=True)
    try:
        child.start()
    except OSError:  # no process to be had: this one does it all
        return [work(item) for item in items]
    try:
        results = [work(item) for item in items[:mine]]
        theirs = _receive(child, channel)
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        channel.close()
    if theirs is None:  # the child failed: its part done here
        theirs = [work(item) for item in items[mine:]]
    results.extend(theirs)
    return results


def _receive(child: Any, channel: Any) -> list[Any] | None:
    """The child's results in order, or None if it failed or died before sending them all."""
    received: list[Any] = []
    while True:
        try:
            chunk = channel.get(timeout=WAIT)
        except queues.Empty:
            if not child.is_alive() and channel.empty():
                return None
            continue
        if chunk is None:
            return received
        if not isinstance(chunk, list):
            return None
        received.extend(chunk)


def _child(work: Callable[[Any], Any], items: Sequence[Any], channel: Any) -> None:
    """Runs in the forked child: `work` on each item, sent a chunk at a time, then None (an
    error is sent as its text, which the parent takes as a failure)."""
    try:
        chunk: list[Any] = []
        for item in items:
            chunk.append(work(item))
            if len(chunk) == CHUNK:
                channel.put(chunk)
                chunk = []
        channel.put(chunk)
        channel.put(None)
    except BaseException as exc:
        channel.put(f"{type(exc).__name__}: {exc}")
    finally:
        channel.close()
        channel.join_thread()
        os._exit(0)  # never run the inherited database connection's finalisers
