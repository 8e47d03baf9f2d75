"""The webhook delivery loop: claim due deliveries with a lease, sign them (Standard Webhooks,
with the `standardwebhooks` library) and POST them over reused connections (httpx), several
at once, each within one deadline, and record the answers. It runs beside the mail loop in
`backroom worker` and in the app. A worker killed between a POST and its record sends that
delivery again once its lease runs out, with the same webhook-id (receivers deduplicate on
it); nothing claimed is dropped."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence

import httpx
from standardwebhooks.webhooks import Webhook

from mailer.loops import Stop, record_batches
from store.config import Config, parse_schedule
from store.models import utcnow
from store.webhook_outbox import Claimed, HookStats, Notice, Outcome, claim, mark

log = logging.getLogger("backroom.webhooks")
MARK_LINGER = 0.05  # seconds answers wait to be recorded together
MAX_ANSWER = 64 * 1024  # bytes of an answer read (its status is what counts)
USER_AGENT = "backroom-webhooks/1"


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(when.timestamp() - (now if now is not None else time.time()), 0.0)


class Signer:
    """Signs bodies with each secret of an endpoint (two while one is rotated): a
    `webhook-signature` of space-separated `v1,<base64>`. The keys are decoded once."""

    def __init__(self) -> None:
        self._keys: dict[str, Webhook] = {}

    def headers(self, item: Claimed, body: str, now: float) -> dict[str, str]:
        stamp = dt.datetime.fromtimestamp(int(now), dt.UTC)
        signatures = []
        for secret in item.secrets:
            key = self._keys.get(secret)
            if key is None:
                key = self._keys[secret] = Webhook(secret)
            signatures.append(key.sign(item.message_id, stamp, body))
        return {"content-type": "application/json", "webhook-id": item.message_id,
                "webhook-timestamp": str(int(now)), "webhook-signature": " ".join(signatures)}


class WebhookDeliverer:
    """Runs claim -> sign -> POST -> mark until stopped (or, once, until nothing is due).

    Deliveries are claimed only while a request slot is free, so none waits out its lease
    in a queue; a slow endpoint holds a slot for at most the deadline."""

    def __init__(self, config: Config, notice: Notice | None = None, owner: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        hooks = config["webhooks"]
        self.schedule = parse_schedule(str(hooks["retry_schedule"]))
        self.timeout = float(hooks["timeout_seconds"])
        self.concurrency = max(1, int(hooks["concurrency"]))
        self.batch_size = max(1, int(hooks["batch_size"]))
        self.lease_seconds = float(hooks["lease_seconds"])
        self.poll_seconds = float(hooks["poll_seconds"])
        admins = tuple(config.get("shop", "admin_emails")) or (str(config.get("shop", "email")),)
        self.notice = notice or Notice(admins, str(config.get("shop", "language")))
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:hooks:{uuid.uuid4().hex[:6]}"
        self.transport = transport
        self.signer = Signer()
        self.stats = HookStats()
        self.due_before: dt.datetime | None = None

    def client(self) -> httpx.AsyncClient:
        """One client for the run: its pool keeps a connection per endpoint open between
        deliveries. Redirects are not followed (a receiver answers where it was added)."""
        limits = httpx.Limits(max_connections=self.concurrency,
                              max_keepalive_connections=self.concurrency)
        return httpx.AsyncClient(limits=limits, timeout=None, follow_redirects=False,
                                 transport=self.transport, headers={"user-agent": USER_AGENT},
                                 trust_env=False)

    async def post(self, client: httpx.AsyncClient, item: Claimed) -> Outcome:
        """One attempt within the deadline, the connection included; its outcome."""
        body = item.body()
        try:
            async with asyncio.timeout(self.timeout):
                headers = self.signer.headers(item, body, time.time())
                async with client.stream("POST", item.url, content=body.encode("utf-8"),
                                         headers=headers) as answer:
                    read = 0
                    async for chunk in answer.aiter_raw():
                        read += len(chunk)
                        if read > MAX_ANSWER:
                            break
        except TimeoutError:
            return Outcome(item.id, item.attempts, "retry",
                           error=f"no answer within {self.timeout:g} s")
        except (httpx.HTTPError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            return Outcome(item.id, item.attempts, "retry", error=f"cannot reach it: {reason}")
        except Exception as exc:  # one bad delivery never stops the loop
            log.exception("webhook delivery %d failed", item.id)
            return Outcome(item.id, item.attempts, "retry",
                           error=f"cannot send it: {str(exc) or type(exc).__name__}")
        code = answer.status_code
        said = f"it answered {code} {answer.reason_phrase}".strip()
        if 200 <= code < 300:
            return Outcome(item.id, item.attempts, "delivered", code)
        if code == 410:
            return Outcome(item.id, item.attempts, "gone", code, said)
        wait = retry_after(answer.headers.get("retry-after")) if code == 429 else None
        if 300 <= code < 400:
            said += " (a redirect: webhooks are not redirected; add the endpoint's new URL)"
        return Outcome(item.id, item.attempts, "retry", code, said, retry_after=wait)

    async def run(self, stop: asyncio.Event | None = None, once: bool = False,
                  should_stop: Callable[[], bool] | None = None,
                  only: Sequence[int] | None = None) -> HookStats:
        """Deliver until `stop` is set (or `should_stop()`); `once`: until none is due. `only`
        delivers those deliveries alone (`backroom webhook test`). On stop, the requests in
        flight finish (within the deadline) and are recorded."""
        self.due_before = utcnow() if once else None
        await _Run(self, stop or asyncio.Event(), once, should_stop, only).run()
        return self.stats

    async def _mark(self, batch: list[Outcome]) -> None:
        for attempt in range(5):
            try:
                await asyncio.to_thread(mark, batch, self.owner, self.schedule, self.notice,
                                        self.stats)
                return
            except Exception:
                log.exception("recording %d webhook attempts failed (attempt %d)", len(batch),
                              attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))
        # Unrecorded deliveries keep their lease; when it runs out they are sent again.


class _Run:
    """One run of the loop: the producer claims while a request slot is free and starts an
    attempt per delivery; the recorder marks their outcomes in batches."""

    def __init__(self, deliverer: WebhookDeliverer, stop: asyncio.Event, once: bool,
                 should_stop: Callable[[], bool] | None, only: Sequence[int] | None) -> None:
        self.deliverer = deliverer
        self.stop = stop
        self.stopping = Stop(stop, should_stop)
        self.once = once
        self.only = only
        self.slots = asyncio.Semaphore(deliverer.concurrency)
        self.done: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self.flying: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Produce until stopped or idle; then let the requests in flight finish and record
        every outcome."""
        recorder = asyncio.create_task(self.record())
        async with self.deliverer.client() as client:
            try:
                await self.produce(client)
            finally:
                if self.flying:
                    await asyncio.gather(*self.flying, return_exceptions=True)
                self.done.put_nowait(None)
                await recorder

    async def attempt(self, client: httpx.AsyncClient, item: Claimed) -> None:
        try:
            self.done.put_nowait(await self.deliverer.post(client, item))
        finally:
            self.slots.release()

    async def produce(self, client: httpx.AsyncClient) -> None:
        """Claim as many deliveries as slots are free, and start an attempt for each."""
        deliverer, slots = self.deliverer, self.slots
        while not self.stopping():
            await slots.acquire()  # at least one slot, then as many as are free now
            free = 1
            while free < deliverer.concurrency and not slots.locked():
                await slots.acquire()
                free += 1
            try:
                batch = await asyncio.to_thread(
                    claim, deliverer.owner, min(free, deliverer.batch_size),
                    deliverer.lease_seconds, deliverer.due_before, self.only)
            except Exception:
                log.exception("claiming webhook deliveries failed; trying again")
                batch = []
            for _ in range(free - len(batch)):
                slots.release()
            for item in batch:
                task = asyncio.create_task(self.attempt(client, item))
                self.flying.add(task)
                task.add_done_callback(self.flying.discard)
            if not batch:
                if self.once and not self.flying:
                    break
                await self.stopping.pause(deliverer.poll_seconds if not self.once else 0.05)

    async def record(self) -> None:
        """Mark outcomes in batches until the end of the queue (answers gather a moment, and
        not once stopping)."""
        await record_batches(self.done, self.deliverer._mark, linger=MARK_LINGER,
                             until=self.stop)


def deliver_only(config: Config, ids: Sequence[int]) -> HookStats:
    """Deliver these deliveries now, once (`backroom webhook test`)."""
    return asyncio.run(WebhookDeliverer(config).run(once=True, only=ids))
