"""Campaign sending, beside the transactional loop in `backroom worker`: start the scheduled
campaigns whose time came, write the recipients not yet written, claim what the shop-wide
rate allows (store.campaign_mail: never while an order's mail is due), fill each mail
(mailer.campaign_render), send over reused SMTP connections and record. A 421 or 4.7.x reply
holds every worker back (store.send_rate). A test send goes straight to the given addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailer.campaign_render import Compiled, ListHeaders, Recipient, build_message
from mailer.delivery import LOCAL_HOSTNAME, Connection, Outgoing, SmtpSettings, envelope_address
from store import campaign_mail, campaigns, newsletter_links, send_rate
from store.campaign_queries import CampaignBody, campaign_body
from store.config import Config
from store.errors import ConfigError
from store.outbox import DeliveryStats, Outcome
from store.shop import Shop

log = logging.getLogger("backroom.campaigns")
# the relay, or the receiver through it, asks us to slow down
_SLOW_DOWN = re.compile(r"answered 421\b|answered 4\d\d[ -]4\.7\.")
RATES_EVERY = 10.0  # seconds between two judgements of the campaigns' bounce rates


def slow_down_reply(outcome: Outcome) -> bool:
    return outcome.result == "temporary" and bool(_SLOW_DOWN.search(outcome.error))


class CampaignSender:
    """Claim -> fill -> send -> mark for campaign mail, until stopped (or, once, idle)."""

    def __init__(self, shop: Shop, owner: str | None = None) -> None:
        config = shop.config
        self.shop = shop
        self.config = config
        self.owner = owner or f"{LOCAL_HOSTNAME}:{os.getpid()}:{uuid.uuid4().hex[:6]}:news"
        self.settings = SmtpSettings.from_config(config)
        self.rate = float(config.get("newsletter", "max_per_second"))
        self.caps: dict[str, float] = dict(config.get("newsletter", "domain_per_second"))
        mail = config["mail"]
        self.batch = max(1, int(mail["batch_size"]))
        self.lease_seconds = float(mail["lease_seconds"])
        self.poll_seconds = float(mail["poll_seconds"])
        self.max_attempts = max(1, int(mail["max_attempts"]))
        self.backoff = float(mail["backoff_seconds"])
        self.lists = ListHeaders.from_config(config)
        email = str(config.get("shop", "email"))
        try:
            self.sender = envelope_address(email)
        except ValueError as exc:
            raise ConfigError(f"shop.email {email!r} cannot be the sender: {exc}") from None
        self.compiled: dict[int, Compiled] = {}
        self.stats = DeliveryStats()
        self.housekept = 0.0
        self.rates_checked = 0.0

    def _housekeeping(self, once: bool = False) -> bool:
        """Start what is due, pause what bounces too much (every RATES_EVERY seconds), decide
        A/B tests, write a batch of recipients still to write, close what is done; whether
        any campaign is being sent."""
        campaigns.start_due(self.shop)
        if once or time.monotonic() - self.rates_checked > RATES_EVERY:
            self.rates_checked = time.monotonic()
            for campaign_id, reason in campaigns.pause_on_rates(self.shop):
                log.warning("campaign %d %s", campaign_id, reason)
        for campaign_id, said in campaigns.decide_ab(self.shop):
            log.info("campaign %d: subject A/B test decided: %s", campaign_id, said)
        size = int(self.config.get("newsletter", "recipients_batch"))
        for campaign_id in campaigns.unqueued():
            campaign_mail.queue_batch(self.shop, campaign_id, size)
        campaigns.finish_done()
        return bool(campaigns.unqueued())

    def _compiled(self, campaign_id: int) -> Compiled:
        found = self.compiled.get(campaign_id)
        if found is None:
            found = self.compiled[campaign_id] = Compiled(campaign_body(campaign_id),
                                                          self.config)
        return found

    def compose(self, row: campaign_mail.CampaignClaimed, claimed_at: float) -> Outgoing:
        try:
            compiled = self._compiled(row.campaign_id)
            token = newsletter_links.unsubscribe_token(self.config, row.subscriber_id,
                                                       row.campaign_id)
            recipient = Recipient(row.email, row.first_name, row.last_name,
                                  f"{newsletter_links.base_url(self.config)}/u/{token}", row.id,
                                  row.variant)
            rendered = compiled.render(recipient)
            data = build_message(compiled.content, rendered, recipient, token, row.message_id,
                                 self.lists, f"campaign {row.campaign_id} {row.id}")
            rcpt = envelope_address(row.email, bool(self.config.get("smtp", "smtputf8")))
        except Exception as exc:  # one bad mail fails alone
            return Outgoing(row.id, row.attempts, claimed_at, error=f"cannot compose: {exc}")
        return Outgoing(row.id, row.attempts, claimed_at, rendered.subject, rcpt=rcpt,
                        data=data, utf8=not row.email.isascii())

    async def run(self, stop: asyncio.Event | None = None, once: bool = False,
                  should_stop: Callable[[], bool] | None = None) -> DeliveryStats:
        """Send until `stop` (or `should_stop()`); `once`: until nothing is left to send now.
        Mails claimed and not yet sent when it stops are given back."""
        stop = stop or asyncio.Event()
        connections = [Connection(self.settings, self.sender)
                       for _ in range(self.settings.connections)]

        def stopping() -> bool:
            if not stop.is_set() and should_stop is not None and should_stop():
                stop.set()
            return stop.is_set()

        try:
            while not stopping():
                busy = False
                if time.monotonic() - self.housekept > 1.0 or once:
                    busy = await asyncio.to_thread(self._housekeeping, once)
                    self.housekept = time.monotonic()
                claimed_at = time.monotonic()
                claim = await asyncio.to_thread(
                    campaign_mail.claim, self.owner, self.batch, self.lease_seconds, self.rate,
                    self.lists.domain, self.caps)
                if not claim.rows:
                    if claim.skipped:
                        continue
                    if once and claim.wait >= 1.0 and not busy:
                        await asyncio.to_thread(campaigns.finish_done)
                        break
                    await _wait(stop, min(max(claim.wait, 0.01), self.poll_seconds), stopping)
                    continue
                outcomes = await self._send(connections, claim.rows, claimed_at, stopping)
                await self._mark(outcomes)
        finally:
            for connection in connections:
                await connection.close()
        return self.stats

    async def _send(self, connections: list[Connection],
                    rows: Sequence[campaign_mail.CampaignClaimed], claimed_at: float,
                    stopping: Callable[[], bool]) -> list[Outcome]:
        """Send a claimed batch over the connections in parallel; what is left when stopping
        is released."""
        pending = list(rows)
        outcomes: list[Outcome] = []

        async def worker(connection: Connection) -> None:
            while pending:
                row = pending.pop(0)
                if stopping():
                    outcomes.append(Outcome(row.id, row.attempts, "released"))
                    continue
                item = self.compose(row, claimed_at)
                if item.error:
                    outcomes.append(Outcome(row.id, row.attempts, "permanent", "", item.error))
                    continue
                outcomes.append(await connection.send(item))

        await asyncio.gather(*(worker(c) for c in connections))
        return outcomes

    async def _mark(self, outcomes: list[Outcome]) -> None:
        if any(slow_down_reply(o) for o in outcomes):
            seconds = await asyncio.to_thread(send_rate.slow_down)
            log.warning("the relay asked to slow down: campaigns wait %.0f s", seconds)
        elif any(o.result == "sent" for o in outcomes):
            await asyncio.to_thread(send_rate.accepted)
        for attempt in range(5):
            try:
                await asyncio.to_thread(campaign_mail.mark, outcomes, self.owner,
                                        self.max_attempts, self.backoff, self.stats)
                return
            except Exception:
                log.exception("recording %d campaign sends failed (attempt %d)", len(outcomes),
                              attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))


async def _wait(stop: asyncio.Event, seconds: float, stopping: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stopping():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(left, 0.2)):
                await stop.wait()


@dataclass(frozen=True)
class TestResult:
    address: str
    outcome: str  # sent, or why not


def send_test(config: Config, body: CampaignBody, addresses: Sequence[str],
              first_name: str = "", last_name: str = "", dry_run: bool = False
              ) -> list[TestResult]:
    """The campaign as a recipient named so would get it, subject marked [TEST], straight to
    each address (its unsubscribe link is a test link: it changes nothing)."""
    compiled = Compiled(body, config)
    lists = ListHeaders.from_config(config)
    token = newsletter_links.unsubscribe_token(config, 0, body.id)
    url = f"{newsletter_links.base_url(config)}/u/{token}"
    settings = SmtpSettings.from_config(config)
    sender = envelope_address(str(config.get("shop", "email")))
    messages = []
    for address in addresses:
        recipient = Recipient(address, first_name, last_name, url)
        rendered = compiled.render(recipient)
        rendered = type(rendered)(f"[TEST] {rendered.subject}", rendered.text, rendered.html)
        message_id = f"<test.{uuid.uuid4().hex}@{lists.domain}>"
        data = build_message(body, rendered, recipient, token, message_id, lists,
                             f"campaign-test {body.id}")
        messages.append(Outgoing(0, 1, time.monotonic(), rendered.subject,
                                 rcpt=envelope_address(address, bool(config.get("smtp",
                                                                                "smtputf8"))),
                                 data=data, utf8=not address.isascii()))
    if dry_run:
        return [TestResult(a, "would be sent") for a in addresses]

    async def main() -> list[TestResult]:
        connection = Connection(settings, sender)
        try:
            results = []
            for address, item in zip(addresses, messages, strict=True):
                outcome = await connection.send(item)
                results.append(TestResult(address, "sent" if outcome.result == "sent"
                                          else outcome.error))
            return results
        finally:
            await connection.close()

    return asyncio.run(main())
