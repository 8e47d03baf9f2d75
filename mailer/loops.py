"""What the mail loop and the webhook loop share: when to stop, and recording outcomes in
batches (one transaction for many, not one per message)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Stop:
    """A loop's stop: its event (set by a signal), or the caller's `should_stop()` (a
    threading.Event of the app's, looked at often), which then sets the event too."""

    def __init__(self, event: asyncio.Event, should_stop: Callable[[], bool] | None) -> None:
        self.event = event
        self.should_stop = should_stop

    def __call__(self) -> bool:
        """Whether the loop is stopping now."""
        if not self.event.is_set() and self.should_stop is not None and self.should_stop():
            self.event.set()
        return self.event.is_set()

    async def pause(self, seconds: float) -> None:
        """Wait up to `seconds` for the stop, looking at `should_stop()` often."""
        deadline = time.monotonic() + seconds
        while not self():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, 0.2)):
                    await self.event.wait()


async def record_batches(done: asyncio.Queue[T | None], mark: Callable[[list[T]], Awaitable[None]],
                         *, linger: float, until: asyncio.Event, most: int | None = None) -> None:
    """Take outcomes off `done` until None and `mark` them in batches of at most `most`: after
    the first of a batch, wait up to `linger` seconds (less once `until` is set) for more."""
    finished = False
    while not finished:
        first = await done.get()
        if first is None:
            return
        if not until.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(linger):
                    await until.wait()
        batch = [first]
        while not done.empty() and (most is None or len(batch) < most):
            nxt = done.get_nowait()
            if nxt is None:
                finished = True
                break
            batch.append(nxt)
        await mark(batch)
