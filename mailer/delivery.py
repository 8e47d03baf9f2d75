"""The delivery loop: claim due outbox rows with a lease, send them over reused SMTP
connections in parallel, and record what happened. A crash between send and mark may
resend a mail once (with the same Message-ID); nothing claimed is ever dropped."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import datetime as dt
import functools
import itertools
import logging
import os
import re
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib
from aiosmtplib.email import quote_address

from mailer import context as ctxmod
from mailer.loops import Stop, record_batches
from mailer.render import Renderer, RenderError
from store import heartbeat
from store.config import Config
from store.errors import ConfigError
from store.models import utcnow
from store.outbox import Claimed, DeliveryStats, Outcome, claim, mark, release
from store.workflow import Workflow

log = logging.getLogger("backroom.mailer")
MARK_LINGER = 0.1  # seconds outcomes wait to be recorded together (a crash may resend them)
MARK_MOST = 1000  # outcomes recorded in one transaction


@dataclass(slots=True)
class Outgoing:
    """A claimed row ready to send (message) or that failed to render (error)."""

    id: int
    attempts: int
    claimed_at: float  # time.monotonic() when its claim began: when its lease started
    subject: str = ""
    error: str = ""
    rcpt: bytes = b""  # the recipient as RCPT TO takes it ("<address>"), checked when composed
    data: bytes = b""  # the whole message, built once
    utf8: bool = False  # the recipient is beyond ASCII: sent with SMTPUTF8


def _header(name: str, value: str) -> bytes:
    """One header line; refuses line breaks (no header injection from data)."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"a line break in the {name} header")
    if not value.isascii():
        value = _encoded_words(value, len(name) + 2)
    return f"{name}: {value}\r\n".encode("ascii")


def _utf8_header(name: str, value: str) -> bytes:
    """A header line in UTF-8, for a message sent with SMTPUTF8."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"a line break in the {name} header")
    return f"{name}: {value}\r\n".encode()


def _encoded_words(value: str, taken: int) -> str:
    """RFC 2047 base64 encoded-words, cut between characters, each line at most 76 long.
    (email.header.Header does the same, at ten times the cost: it tries both encodings.)"""
    data = value.encode("utf-8")
    words: list[str] = []
    start = 0
    room = max((76 - taken - 12) // 4 * 3, 6)  # "=?utf-8?b?" + "?=": 12 characters
    while start < len(data):
        end = min(start + room, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        words.append(f"=?utf-8?b?{binascii.b2a_base64(data[start:end], newline=False).decode()}?=")
        start = end
        room = 45  # later lines: " " + 12 + 60 base64 characters
    return "\r\n ".join(words)


def _part(content_type: str, text: str) -> bytes:
    encoded = binascii.b2a_base64(text.encode("utf-8"), newline=False)
    body = b"".join([encoded[i:i + 76] + b"\r\n" for i in range(0, len(encoded), 76)])
    return (f"Content-Type: {content_type}; charset=\"utf-8\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + body


@functools.lru_cache(maxsize=2)
def _date_header(second: int) -> str:
    """The Date header of mails sent in that second: formatted once, not once a mail."""
    return format_datetime(dt.datetime.fromtimestamp(second, dt.UTC))


# "_" is not in the base64 alphabet, so no body line can be mistaken for a boundary; the
# random part is drawn once per process (os.urandom per mail costs as much as a header).
_BOUNDARY = f"=_backroom_{uuid.uuid4().hex}_"
_boundaries = itertools.count()


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail (the invoice PDF of the paid status's mail)."""

    filename: str  # letters, digits, dot, dash and underscore only: no quoting needed
    content_type: str
    data: bytes


def _attachment(attachment: Attachment) -> bytes:
    encoded = binascii.b2a_base64(attachment.data, newline=False)
    body = b"".join([encoded[i:i + 76] + b"\r\n" for i in range(0, len(encoded), 76)])
    name = attachment.filename
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ValueError(f"an attachment name must be plain: {name!r}")
    return (f'Content-Type: {attachment.content_type}; name="{name}"\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + body


def build_mime(*, sender: str, recipient: str, subject: str, message_id: str, language: str,
               tag: str, text: str, html: str,
               attachments: tuple[Attachment, ...] = ()) -> bytes:
    """A multipart/alternative message (text, then HTML) as bytes ready for DATA; with
    attachments, a multipart/mixed around that alternative and then each file. Built by
    hand: the email package's generator costs more than rendering the templates."""
    boundary = f"{_BOUNDARY}{next(_boundaries)}"
    mixed = f"{_BOUNDARY}{next(_boundaries)}" if attachments else ""
    content_type = (f'multipart/mixed; boundary="{mixed}"' if mixed
                    else f'multipart/alternative; boundary="{boundary}"')
    # An address beyond ASCII goes with SMTPUTF8, whose headers are UTF-8 (RFC 6532): an
    # encoded-word is not allowed in an address.
    to = (_header("To", recipient) if recipient.isascii()
          else _utf8_header("To", recipient))
    head = to + b"".join(_header(name, value) for name, value in (
        ("From", sender), ("Subject", subject),
        ("Date", _date_header(int(time.time()))), ("Message-ID", message_id),
        ("MIME-Version", "1.0"),
        ("Content-Type", content_type),
        ("Content-Language", language), ("Auto-Submitted", "auto-generated"),
        ("X-Backroom-Mail", tag)))
    sep = f"--{boundary}\r\n".encode("ascii")
    alternative = (sep + _part("text/plain", text) + sep + _part("text/html", html)
                   + f"--{boundary}--\r\n".encode("ascii"))
    if not mixed:
        return head + b"\r\n" + alternative
    outer = f"--{mixed}\r\n".encode("ascii")
    inner = (f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
             .encode("ascii") + alternative)
    return (head + b"\r\n" + outer + inner
            + b"".join(outer + _attachment(a) for a in attachments)
            + f"--{mixed}--\r\n".encode("ascii"))


# A plain address (dot-atom local part and domain): what aiosmtplib's quote_address turns
# into "<address>" unchanged, without running the email package's address parser.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE_IN_ADDRESS = re.compile(r"[\x00-\x20\x7f-\x9f<>()\[\],;:\\\"]")


def envelope_address(address: str, smtputf8: bool = False) -> bytes:
    """An address as MAIL FROM / RCPT TO take it ("<a@b>"): refuses what could not be sent
    safely (control characters, spaces, brackets) or at all (non-ASCII without SMTPUTF8:
    with smtputf8, such an address is sent as UTF-8, see Connection._transaction)."""
    if _CONTROL.search(address):  # a row written by an old version or another program
        raise ValueError(f"the address {address!r} contains a control character")
    if _PLAIN_ADDRESS.match(address):
        return f"<{address}>".encode("ascii")
    if smtputf8 and not address.isascii():
        if _UNSAFE_IN_ADDRESS.search(address) or address.count("@") != 1:
            raise ValueError(f"the address {address!r} cannot be sent safely")
        return f"<{address}>".encode()
    try:
        return quote_address(address).encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"the address {address!r} is not plain ASCII, and smtp.smtputf8 "
                         "is off") from None


class Composer:
    """Renders claimed rows into MIME messages; what every mail shares is worked out once."""

    def __init__(self, renderer: Renderer, config: Config, workflow: Workflow) -> None:
        self.renderer = renderer
        self.config = config
        self.workflow = workflow
        self.default_language = str(config.get("shop", "language"))
        self.smtputf8 = bool(config.get("smtp", "smtputf8"))
        self.from_header = formataddr((str(config.get("shop", "name")),
                                       str(config.get("shop", "email"))), "utf-8")

    def compose(self, row: Claimed, context: dict[str, Any] | Exception | None,
                claimed_at: float, attachments: tuple[Attachment, ...] | Exception = ()
                ) -> Outgoing:
        """One message (text + HTML alternative, and its attachments), or the reason it
        cannot be made."""
        if isinstance(attachments, Exception):
            return Outgoing(row.id, row.attempts, claimed_at,
                            error=f"cannot attach the invoice: {attachments}")
        try:
            if context is None:
                context = ctxmod.load(row.kind, row.recipient, row.payload, row.order_id,
                                      row.customer_id, self.config, self.workflow)
            if isinstance(context, Exception):
                raise ValueError(f"unreadable payload: {context}")
            rcpt = envelope_address(row.recipient, self.smtputf8)
            rendered = self.renderer.render(row.kind, row.language, context,
                                            self.default_language)
            data = build_mime(
                sender=self.from_header, recipient=row.recipient, subject=rendered.subject,
                message_id=row.message_id, language=rendered.language,
                tag=f"{row.kind} {row.id}", text=rendered.text, html=rendered.html,
                attachments=attachments)
        except RenderError as exc:
            return Outgoing(row.id, row.attempts, claimed_at, error=f"template error: {exc}")
        except Exception as exc:  # one bad mail is marked failed, never stalls its batch
            return Outgoing(row.id, row.attempts, claimed_at,
                            error=f"cannot compose the mail: {exc}")
        return Outgoing(row.id, row.attempts, claimed_at, rendered.subject, rcpt=rcpt, data=data,
                        utf8=not row.recipient.isascii())


# ----- the SMTP side -------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str
    password: str
    timeout: float
    ca_file: str
    connections: int

    @classmethod
    def from_config(cls, config: Config) -> SmtpSettings:
        smtp = config["smtp"]
        return cls(str(smtp["host"]), int(smtp["port"]), str(smtp["security"]),
                   str(smtp["user"]), str(smtp["password"]), float(smtp["timeout_seconds"]),
                   str(smtp["ca_file"]), max(1, int(smtp["connections"])))

    def tls_context(self) -> ssl.SSLContext | None:
        if self.security == "none":
            return None
        return ssl.create_default_context(cafile=self.ca_file or None)


LOCAL_HOSTNAME = socket.gethostname() or "localhost"


class Connection:
    """One SMTP connection, opened on first use and reused until it fails."""

    def __init__(self, settings: SmtpSettings, sender: bytes) -> None:
        self.settings = settings
        self.sender = sender  # MAIL FROM, as envelope_address() made it
        self.smtp: aiosmtplib.SMTP | None = None
        self.context = settings.tls_context()

    def _new(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host, port=s.port, use_tls=s.security == "tls",
            start_tls=s.security == "starttls", tls_context=self.context,
            username=s.user or None, password=s.password or None if s.user else None,
            timeout=s.timeout, local_hostname=LOCAL_HOSTNAME,
        )

    async def close(self, polite: bool = True) -> None:
        """QUIT (briefly) and close; not polite after a time-out: a relay that did not answer
        the mail will not answer QUIT either, and a stopping worker must not wait on it."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None and smtp.is_connected:
            if polite:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(min(2.0, self.settings.timeout)):
                        await smtp.quit()
            smtp.close()

    async def send(self, item: Outgoing) -> Outcome:
        """Send within the deadline; classify a failure as temporary or permanent."""
        try:
            async with asyncio.timeout(self.settings.timeout):
                smtp = self.smtp
                if smtp is None or not smtp.is_connected:
                    smtp = self.smtp = self._new()
                    await smtp.connect()  # greeting, STARTTLS and login as configured
                    if smtp.is_ehlo_or_helo_needed:
                        await self._hello(smtp)
                refused = await self._transaction(smtp, item)
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self.close()
            return Outcome(item.id, item.attempts, "temporary", item.subject,
                           f"the relay refused the login: {exc.code} {exc.message}")
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            return self._reply_outcome(item, exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close(polite=not isinstance(exc, TimeoutError))
            reason = str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError):
                reason = f"no answer within {self.settings.timeout:g} s"
            return Outcome(item.id, item.attempts, "temporary", item.subject,
                           f"cannot reach {self.settings.host}:{self.settings.port}: {reason}")
        except Exception as exc:  # anything else fails this mail alone; the session is
            await self.close()     # in an unknown state, so the next mail starts afresh
            return Outcome(item.id, item.attempts, "permanent", item.subject,
                           f"cannot send the mail: {str(exc) or type(exc).__name__}")
        if refused is not None:
            await self._reset()
            return self._reply_outcome(item, refused.code, refused.message)
        return Outcome(item.id, item.attempts, "sent", item.subject)

    async def _hello(self, smtp: aiosmtplib.SMTP) -> None:
        """EHLO, or HELO for an old relay (what aiosmtplib's sendmail does first)."""
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not smtp.is_connected:
                raise
            await smtp.helo()

    async def _transaction(self, smtp: aiosmtplib.SMTP,
                           item: Outgoing) -> aiosmtplib.SMTPResponse | None:
        """MAIL, RCPT and DATA; the refusing reply of MAIL or RCPT, or None once accepted.

        aiosmtplib's sendmail() would parse both addresses four times and normalise the
        message twice per mail; here they were checked when composed, the message is built
        with CRLF already, and the one deadline of send() replaces a timer per command."""
        options = [f"SIZE={len(item.data)}".encode("ascii")] \
            if smtp.supports_extension("size") else []
        if item.utf8:  # an address beyond ASCII: the relay must take it as UTF-8 (RFC 6531)
            if not smtp.supports_extension("smtputf8"):
                return aiosmtplib.SMTPResponse(
                    553, "the relay does not offer SMTPUTF8, which this address needs "
                         "(smtp.smtputf8 is on: turn it off if the relay never will)")
            options.append(b"SMTPUTF8")
            if smtp.supports_extension("8bitmime"):
                options.append(b"BODY=8BITMIME")
        reply = await smtp.execute_command(b"MAIL", b"FROM:" + self.sender, *options,
                                           timeout=None)
        if reply.code != 250:
            return reply
        reply = await smtp.execute_command(b"RCPT", b"TO:" + item.rcpt, timeout=None)
        if reply.code not in (250, 251):
            return reply
        await smtp.data(item.data, timeout=None)  # raises SMTPDataError unless accepted
        return None

    def _reply_outcome(self, item: Outgoing, code: int, message: str) -> Outcome:
        result = "permanent" if 500 <= code < 600 else "temporary"
        return Outcome(item.id, item.attempts, result, item.subject,
                       f"the relay answered {code} {message}".strip())

    async def _reset(self) -> None:
        """After a refused command the session may go on; RSET it, or start afresh."""
        if self.smtp is None or not self.smtp.is_connected:
            return
        try:
            async with asyncio.timeout(min(self.settings.timeout, 5)):
                await self.smtp.rset()
        except Exception:
            await self.close()


# ----- the loop ------------------------------------------------------------------------------

@dataclass
class Batch:
    """Rows one claim leased, their template contexts, and when the lease began."""

    rows: list[Claimed]
    contexts: dict[int, Any]
    claimed_at: float
    # a mail's files, or why they cannot be made (that mail fails with it)
    attachments: dict[int, tuple[Attachment, ...] | Exception] = field(default_factory=dict)


class Deliverer:
    """Runs the claim -> render -> send -> mark pipeline until stopped (or, once, until idle).

    The database work (claim, read the orders, mark) runs in a thread; rendering runs on
    the event loop between network waits, one mail at a time: rendering is pure Python, so
    a thread would only fight the loop for the GIL and hold up every connection's replies."""

    def __init__(self, config: Config, workflow: Workflow, renderer: Renderer | None = None,
                 owner: str | None = None, kind: str = "worker") -> None:
        self.config = config
        self.workflow = workflow
        mail = config["mail"]
        self.renderer = renderer or Renderer(str(mail["templates_dir"]) or None)
        self.composer = Composer(self.renderer, config, workflow)
        self.owner = owner or f"{LOCAL_HOSTNAME}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.settings = SmtpSettings.from_config(config)
        self.batch_size = max(1, int(mail["batch_size"]))
        self.lease_seconds = float(mail["lease_seconds"])
        self.poll_seconds = float(mail["poll_seconds"])
        self.max_attempts = max(1, int(mail["max_attempts"]))
        self.backoff = float(mail["backoff_seconds"])
        email = str(config.get("shop", "email"))
        self.domain = email.rpartition("@")[2] or "backroom"
        try:
            self.sender = envelope_address(email)
        except ValueError as exc:  # before anything is claimed: no mail is failed for it
            raise ConfigError(f"shop.email {email!r} cannot be the sender of a mail: {exc}") \
                from None
        self.stats = DeliveryStats()
        self.due_before: dt.datetime | None = None
        # the mails that carry the invoice: those of the statuses flagged paid
        self.attach_kinds = frozenset(
            s.mail for s in workflow.statuses.values() if s.paid and s.mail
        ) if config.get("documents", "attach_invoice") else frozenset()
        self.kind = kind  # worker or app: what the heartbeat says runs
        self.heartbeat_seconds = float(config.get("health", "heartbeat_seconds"))

    def _pulse(self) -> None:
        """The heartbeat, then the stuck-mail alert (in a thread: both write)."""
        heartbeat.beat(self.owner, self.kind)
        heartbeat.check_stuck_mail(self.config)

    def _claim(self) -> Batch:
        """Lease a batch and read what its templates need (in a thread: it waits on the
        database). The lease is counted from before the claim, never from a later step."""
        claimed_at = time.monotonic()
        rows = claim(self.owner, self.batch_size, self.lease_seconds, self.domain,
                     self.due_before)
        try:
            contexts: dict[int, Any] = ctxmod.load_many(rows, self.config, self.workflow)
            attachments = self._attachments(rows)
        except Exception:
            release([r.id for r in rows], self.owner)
            raise
        return Batch(rows, contexts, claimed_at, attachments)

    def _attachments(self, rows: list[Claimed]
                     ) -> dict[int, tuple[Attachment, ...] | Exception]:
        """With documents.attach_invoice, the invoice PDF of each mail of a paid status whose
        order has an invoice: rebuilt from the invoice as issued (the same bytes every time),
        here in the claiming thread, not on the loop that sends. An invoice no font can draw
        whole is that mail's failure (MissingCharacters), told in the outbox."""
        if not self.attach_kinds:
            return {}
        wanted = [r for r in rows if r.kind in self.attach_kinds and r.order_id is not None]
        if not wanted:
            return {}
        from documents.invoice import render_invoice
        from documents.output import invoice_name
        from documents.pdf import MissingCharacters
        from store.document_reads import order_invoices

        issued = order_invoices([r.order_id for r in wanted if r.order_id is not None])
        found: dict[int, tuple[Attachment, ...] | Exception] = {}
        for row in wanted:
            invoice = issued.get(row.order_id or 0)
            if invoice is not None:
                try:
                    found[row.id] = (Attachment(invoice_name(invoice.code), "application/pdf",
                                                render_invoice(self.config, invoice.doc)),)
                except MissingCharacters as exc:  # that mail fails with it, not the batch
                    found[row.id] = exc
        return found

    async def run(self, stop: asyncio.Event | None = None, once: bool = False,
                  should_stop: Callable[[], bool] | None = None) -> DeliveryStats:
        """Deliver until `stop` is set (or `should_stop()` is true); `once`: until none is due.

        On stop, each connection finishes the mail in hand; mails claimed but not yet sent
        are released to the queue."""
        self.due_before = utcnow() if once else None
        await _Run(self, stop or asyncio.Event(), once, should_stop).run()
        return self.stats

    async def _mark(self, batch: list[Outcome]) -> None:
        for attempt in range(5):
            try:
                await asyncio.to_thread(mark, batch, self.owner, self.max_attempts,
                                        self.backoff, self.stats)
                return
            except Exception:
                log.exception("recording %d sends failed (attempt %d)", len(batch), attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))
        # Unrecorded rows keep their lease; when it runs out they are sent again.


class _Run:
    """One run of the pipeline: the producer claims and composes, one sender per connection
    sends, the recorder marks; they share the queues, the stop flag and the mails held back."""

    def __init__(self, deliverer: Deliverer, stop: asyncio.Event, once: bool,
                 should_stop: Callable[[], bool] | None) -> None:
        self.deliverer = deliverer
        self.stop = stop
        self.stopping = Stop(stop, should_stop)
        self.once = once
        self.should_stop = should_stop
        self.connections = [Connection(deliverer.settings, deliverer.sender)
                            for _ in range(deliverer.settings.connections)]
        # Rendered mails wait here for a free connection: a few per connection keep them all
        # busy while the next batch is claimed, and keep a mail's wait short of its lease.
        self.outgoing: asyncio.Queue[Outgoing | None] = asyncio.Queue(
            maxsize=max(4 * len(self.connections), 16))
        self.done: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self.flush = asyncio.Event()  # the senders are done: record what is left at once
        self.held: list[int] = []

    async def run(self) -> None:
        """Start the recorder, the senders, the watcher and the heartbeat, produce until
        stopped or idle, then wind down in the order that loses nothing."""
        recorder = asyncio.create_task(self.record())
        senders = [asyncio.create_task(self.consume(c)) for c in self.connections]
        watcher = asyncio.create_task(self.watch()) if self.should_stop is not None else None
        pulses = asyncio.create_task(self.pulse())
        try:
            await self.produce()
        finally:
            if watcher is not None:
                watcher.cancel()
            if not self.once:
                self.stop.set()  # the heartbeat's wait ends with the loop
            await asyncio.gather(pulses, return_exceptions=True)
            for _ in senders:
                await self.outgoing.put(None)
            await asyncio.gather(*senders, return_exceptions=True)
            self.flush.set()
            self.done.put_nowait(None)
            await recorder
            await self.release_held()

    async def release_held(self) -> None:
        """Give back what was claimed but not sent; end the heartbeat of a service."""
        deliverer = self.deliverer
        if self.held:
            deliverer.stats.released += await asyncio.to_thread(release, self.held,
                                                                deliverer.owner)
        if not self.once:  # a --once run (cron) leaves its beat: the next run renews it
            with contextlib.suppress(Exception):
                await asyncio.to_thread(heartbeat.stopped, deliverer.owner)

    async def pulse(self) -> None:
        """Beat every health.heartbeat_seconds while delivering (once for --once)."""
        while True:
            try:
                await asyncio.to_thread(self.deliverer._pulse)
            except Exception:
                log.exception("recording the heartbeat failed; trying again")
            if self.once:
                return
            await self.stopping.pause(self.deliverer.heartbeat_seconds)
            if self.stopping():
                return

    async def watch(self) -> None:
        """Turn `should_stop()` into the stop event, which every wait below watches."""
        while not self.stopping():
            await asyncio.sleep(0.1)

    async def hand_over(self, item: Outgoing) -> bool:
        """Queue a mail for the connections; False (the mail held back) once stopping,
        so a full queue never keeps a stop from being seen."""
        put = asyncio.ensure_future(self.outgoing.put(item))
        stopped = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait((put, stopped), return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if put.done():
            return True
        put.cancel()
        self.held.append(item.id)
        return False

    async def produce(self) -> None:
        """Claim batches and compose them until stopped (`once`: until none is due)."""
        poll = self.deliverer.poll_seconds
        while not self.stopping():
            try:
                batch = await asyncio.to_thread(self.deliverer._claim)
            except Exception:
                log.exception("claiming mail failed; trying again")
                if self.once:
                    break
                await self.stopping.pause(poll)
                continue
            await self.compose(batch)
            if not batch.rows:
                if self.once:
                    break
                await self.stopping.pause(poll)

    async def compose(self, batch: Batch) -> None:
        """Render each mail of a batch and hand it over; a mail that cannot be made is
        failed at once, and the rest of the batch is held back once stopping."""
        composer = self.deliverer.composer
        for index, row in enumerate(batch.rows):
            if self.stopping():
                self.held.extend(r.id for r in batch.rows[index:])
                break
            item = composer.compose(row, batch.contexts.get(row.id), batch.claimed_at,
                                    batch.attachments.get(row.id, ()))
            if item.error:
                self.done.put_nowait(Outcome(item.id, item.attempts, "permanent",
                                             item.subject, item.error))
            elif not await self.hand_over(item):
                self.held.extend(r.id for r in batch.rows[index + 1:])
                break
            await asyncio.sleep(0)  # let the connections read replies between renders

    async def consume(self, connection: Connection) -> None:
        """Send queued mails over one connection until the queue says the end."""
        lease_seconds = self.deliverer.lease_seconds
        while True:
            item = await self.outgoing.get()
            if item is None:
                break
            if self.stop.is_set():
                self.held.append(item.id)
                continue
            if time.monotonic() - item.claimed_at > lease_seconds * 0.8:
                # its lease is nearly out (a slow relay): another worker may take it,
                # so give it back rather than risk sending it twice
                self.done.put_nowait(Outcome(item.id, item.attempts, "released"))
                continue
            try:
                outcome = await connection.send(item)
            except Exception as exc:  # never lose the connection task to one mail
                log.exception("sending mail %d failed", item.id)
                await connection.close(polite=False)
                outcome = Outcome(item.id, item.attempts, "permanent", item.subject,
                                  f"cannot send the mail: {str(exc) or type(exc).__name__}")
            self.done.put_nowait(outcome)
        await connection.close()

    async def record(self) -> None:
        """Mark outcomes in batches until the end of the queue. Outcomes gather a moment:
        one transaction for many mails, instead of one per mail (each a trip to a thread and
        a write lock); not at the end (flush)."""
        await record_batches(self.done, self.deliverer._mark, linger=MARK_LINGER,
                             until=self.flush, most=MARK_MOST)
