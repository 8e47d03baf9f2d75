"""Running the delivery loop: as `backroom worker` (a service), once, or in a TUI thread."""

from __future__ import annotations

import asyncio
import signal
import threading

from mailer.delivery import Deliverer
from store import workflow as wfmod
from store.config import Config
from store.models import db
from store.outbox import DeliveryStats


def _workflow(config: Config) -> wfmod.Workflow:
    """The shop's workflow; opens the database first unless this process already has."""
    if db.obj is None:
        from store.shop import open_shop

        return open_shop(config).workflow
    return wfmod.from_config(config.workflow, config.source)


def _stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop`: the mail in hand is finished (within the SMTP time-out)
    and the rest given back to the queue, never left leased. Only the main thread of a
    process receives signals; elsewhere (a test, the app's thread) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def deliver_once(config: Config, owner: str | None = None) -> DeliveryStats:
    """Send every mail that is due now, then return (`backroom worker --once`)."""
    workflow = _workflow(config)

    async def main() -> DeliveryStats:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        return await Deliverer(config, workflow, owner=owner).run(stop, once=True)

    return asyncio.run(main())


def run_blocking(config: Config, stop: threading.Event) -> None:
    """The loop for a thread (the TUI's background delivery): returns soon after `stop` is set."""
    workflow = _workflow(config)
    asyncio.run(Deliverer(config, workflow, kind="app").run(should_stop=stop.is_set))


def run_service(config: Config) -> DeliveryStats:
    """`backroom worker`: deliver until SIGTERM or SIGINT, then stop without losing a mail."""
    workflow = _workflow(config)

    async def main() -> DeliveryStats:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        return await Deliverer(config, workflow).run(stop)

    return asyncio.run(main())
