"""Reports that come back by mail, read with the stdlib email package (policy=default): a
delivery status notification (DSN, RFC 3464: multipart/report; report-type=delivery-status,
a message/delivery-status part of one per-message block and one block per recipient with
its Action and Status) and an abuse feedback report (ARF, RFC 5965: report-type=
feedback-report, a message/feedback-report part with its Feedback-Type). Each becomes one
Report per address, with what the returned original (message/rfc822 or text/rfc822-headers)
says of our mail: its Message-ID, Feedback-ID and X-Backroom-Mail.

The rule of kinds: a complaint is an ARF report of type abuse or fraud; a hard bounce is a
DSN recipient whose Action is failed with a 5.x.x Status; a soft bounce one that failed or is
delayed with a 4.x.x Status; anything else (delivered, relayed, other feedback types, a
message that is no report) is ignored, saying why."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

_STATUS = re.compile(r"([245])\.\d{1,3}\.\d{1,3}")
COMPLAINT_TYPES = ("abuse", "fraud")


@dataclass(frozen=True)
class Report:
    """One address of one report: its kind (hard, soft, complaint, or "" when ignored)."""

    report_key: str  # the report's Message-ID, else a digest of its bytes
    email: str  # the address it is about ("" when the report hides it)
    kind: str
    status: str  # 5.1.1, 4.2.2, or the feedback type
    detail: str  # the diagnostic, or why it was ignored
    message_id: str = ""  # of our original mail, as returned
    feedback_id: str = ""
    backroom_mail: str = ""  # our X-Backroom-Mail header ("campaign C M")


def _address(value: str | None) -> str:
    """"rfc822; Ann@Example.com" -> "Ann@Example.com" (an address type, then the address)."""
    text = str(value or "").strip()
    if ";" in text:
        text = text.split(";", 1)[1]
    return text.strip().strip("<>").strip()


def _original(message: Message) -> Message | None:
    """The returned original (whole, or its headers only) inside a report."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        if kind in ("text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            return HeaderParser(policy=email.policy.default).parsestr(text)
    return None


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []


def report_key(message: Message, raw: bytes) -> str:
    found = str(message.get("Message-ID") or "").strip()
    return found[:250] if found else "sha256:" + hashlib.sha256(raw).hexdigest()


def read(raw: bytes) -> list[Report]:
    """The reports in one message as it came from the mailbox (never raises on bad mail: a
    message we cannot read is one ignored Report saying so)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    key = report_key(message, raw)
    original = _original(message) if message.is_multipart() else None
    ours = {"message_id": "", "feedback_id": "", "backroom_mail": ""}
    if original is not None:
        ours = {"message_id": str(original.get("Message-ID") or "").strip(),
                "feedback_id": str(original.get("Feedback-ID") or "").strip(),
                "backroom_mail": str(original.get("X-Backroom-Mail") or "").strip()}
    found: list[Report] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status"):
            found += _dsn(key, _blocks(part), ours)
        elif kind == "message/feedback-report":
            found += _arf(key, _blocks(part), original, ours)
    if not found:
        found.append(Report(key, "", "", "", "not a delivery status or feedback report",
                            **ours))
    return found


def _dsn(key: str, blocks: list[Message], ours: dict[str, str]) -> list[Report]:
    found = []
    for block in blocks[1:]:  # the first block is about the message, the rest recipients
        # the address we sent to, before any forwarding; else the one that failed
        address = _address(block.get("Original-Recipient") or block.get("Final-Recipient"))
        action = str(block.get("Action") or "").strip().lower()
        status_match = _STATUS.search(str(block.get("Status") or ""))
        status = status_match.group(0) if status_match else ""
        diagnostic = " ".join(str(block.get("Diagnostic-Code") or "").split())
        if action == "failed" and status.startswith("5"):
            kind = "hard"
        elif action in ("failed", "delayed") and status.startswith("4"):
            kind = "soft"
        else:
            kind = ""
            diagnostic = f"not a bounce (action {action or 'none'}, status {status or 'none'})"
        found.append(Report(key, address, kind, status, diagnostic[:500], **ours))
    return found


def _arf(key: str, blocks: list[Message], original: Message | None,
         ours: dict[str, str]) -> list[Report]:
    fields = blocks[0] if blocks else Message()
    feedback = str(fields.get("Feedback-Type") or "").strip().lower()
    rcpts = [_address(v) for v in fields.get_all("Original-Rcpt-To") or []]
    if not rcpts and original is not None and original.get("To"):
        rcpts = [a for _n, a in getaddresses([str(original.get("To"))]) if a][:1]
    kind = "complaint" if feedback in COMPLAINT_TYPES else ""
    reporter = str(fields.get("Reporting-MTA") or fields.get("User-Agent") or "").strip()
    detail = (f"reported as {feedback} by {_address(reporter) or 'a mailbox provider'}"
              if kind else f"not a complaint (feedback type {feedback or 'none'})")
    return [Report(key, rcpt, kind, feedback, detail[:500], **ours) for rcpt in rcpts or [""]]
