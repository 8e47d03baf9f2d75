"""Running the delivery loops (mail, and webhooks beside it): as `backroom worker` (a service),
once, or in a TUI thread."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import TYPE_CHECKING

from mailer.campaigns import CampaignSender
from mailer.delivery import Deliverer
from store import workflow as wfmod
from store.config import Config
from store.models import db
from store.outbox import DeliveryStats
from store.shop import Shop
from store.webhook_outbox import HookStats

if TYPE_CHECKING:
    from mailer.webhooks import WebhookDeliverer


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
    """Send every mail that is due now, then return."""
    workflow = _workflow(config)

    async def main() -> DeliveryStats:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        return await Deliverer(config, workflow, owner=owner).run(stop, once=True)

    return asyncio.run(main())


def deliver_all_once(config: Config) -> tuple[DeliveryStats, HookStats]:
    """Send every mail and webhook that is due now, then return (`backroom worker --once`)."""
    workflow = _workflow(config)

    async def main() -> tuple[DeliveryStats, HookStats]:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        mail, hooks, _news = await asyncio.gather(
            Deliverer(config, workflow).run(stop, once=True),
            _webhooks()(config).run(stop, once=True),
            _campaigns(config, workflow).run(stop, once=True))
        return mail, hooks

    return asyncio.run(main())


def run_blocking(config: Config, stop: threading.Event) -> None:
    """The loops for a thread (the TUI's background delivery): return soon after `stop` is
    set."""
    workflow = _workflow(config)

    async def main() -> None:
        await asyncio.gather(Deliverer(config, workflow, kind="app").run(
                                 should_stop=stop.is_set),
                             _webhooks()(config).run(should_stop=stop.is_set),
                             _campaigns(config, workflow).run(should_stop=stop.is_set))

    asyncio.run(main())


def run_service(config: Config) -> tuple[DeliveryStats, HookStats]:
    """`backroom worker`: deliver mail and webhooks until SIGTERM or SIGINT, then stop without
    losing either."""
    workflow = _workflow(config)

    async def main() -> tuple[DeliveryStats, HookStats]:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        mail, hooks, _news = await asyncio.gather(Deliverer(config, workflow).run(stop),
                                                  _webhooks()(config).run(stop),
                                                  _campaigns(config, workflow).run(stop))
        return mail, hooks

    return asyncio.run(main())


def _campaigns(config: Config, workflow: wfmod.Workflow) -> CampaignSender:
    """The campaign loop beside the others (mailer.campaigns): it sends only when no
    transactional mail is due."""
    return CampaignSender(Shop(config, workflow))


def _webhooks() -> type[WebhookDeliverer]:
    """The webhook loop, imported when a loop starts: httpx costs ~76 ms to import (measured
    with -X importtime), which every command of the CLI would pay, since the CLI imports this
    module."""
    from mailer.webhooks import WebhookDeliverer

    return WebhookDeliverer
