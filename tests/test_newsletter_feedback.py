"""What comes back from a campaign, on SQLite and PostgreSQL: a campaign that pauses itself on
its bounce or complaint rate, and bounces and complaints read later from a mailbox (DSN,
RFC 3464; ARF, RFC 5965), built here with the email package and written as files."""

from __future__ import annotations

import email
import email.policy
import imaplib
import json
import mailbox
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import trustme
from click.testing import CliRunner

from mailer import worker
from store import campaigns, subscribers
from store.models import Bounce, Campaign, CampaignMail, Subscriber, Suppression
from store.shop import open_shop
from tests.conftest import cli_config, make_config
from tests.mail_server import Server, free_port, wait_for
from tests.test_newsletter_campaigns import SECRET, RawRecorder, add_subscribers
from tui.cli import main


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server()
    server.handler = RawRecorder()
    server.start()
    yield server
    server.stop()


def feedback_config(db_url: str, smtp: Server, **newsletter: Any) -> Any:
    return make_config(db_url, smtp={"port": smtp.port, "connections": 1},
                       mail={"backoff_seconds": 0, "poll_seconds": 0.05, "batch_size": 2},
                       shop={"name": "Chez Ann", "email": "hello@chez-ann.example"},
                       newsletter={"secret": SECRET, "max_per_second": 1000.0,
                                   "public_url": "https://news.chez-ann.example",
                                   **newsletter})


def test_a_campaign_pauses_itself_when_too_many_bounce_and_says_why(db_url, manager, smtp):
    config = feedback_config(db_url, smtp, pause_after=4, pause_bounce_rate=0.05)
    shop = open_shop(config)
    emails = add_subscribers(shop, manager, 12)
    for address in emails[:3]:
        smtp.handler.rcpt_replies[address] = ["550 5.1.1 No such user"]
    ref = campaigns.create_campaign(shop, manager, name="B", subject="S", body="Hi")
    campaigns.start(shop, manager, "B")
    worker.deliver_all_once(config)
    row = Campaign.get_by_id(ref.id)
    assert row.state == "paused"
    assert row.paused_reason.startswith("paused itself: 3 of 4 mails bounced for good (75.0%, "
                                        "over newsletter.pause_bounce_rate 5.0%)")
    states = [m.state for m in CampaignMail.select().order_by(CampaignMail.id)]
    assert states == ["failed"] * 3 + ["sent"] + ["queued"] * 8  # nothing more went
    assert len(smtp.received) == 1
    # resumed: judged afresh on what goes from now on, so it finishes
    campaigns.resume(shop, manager, "B")
    worker.deliver_all_once(config)
    row = Campaign.get_by_id(ref.id)
    assert (row.state, row.paused_reason) == ("sent", "")
    assert len(smtp.received) == 9


def test_below_the_threshold_or_too_few_mails_it_goes_on(db_url, manager, smtp):
    config = feedback_config(db_url, smtp, pause_after=20, pause_bounce_rate=0.05)
    shop = open_shop(config)
    emails = add_subscribers(shop, manager, 12)
    smtp.handler.rcpt_replies[emails[0]] = ["550 5.1.1 No such user"]
    campaigns.create_campaign(shop, manager, name="C", subject="S", body="Hi")
    campaigns.start(shop, manager, "C")
    worker.deliver_all_once(config)
    assert Campaign.get(Campaign.name == "C").state == "sent"  # 12 gone: not judged yet
    assert subscribers.find(emails[0]).state == "subscribed"


# ----- bounces and complaints read from a mailbox --------------------------------------------

def _block(**fields: str) -> Message:
    block = Message()
    for name, value in fields.items():
        block[name.replace("_", "-")] = value
    return block


def _report(kind: str, parts: list[Message], domain: str) -> MIMEMultipart:
    report = MIMEMultipart("report", report_type=kind)
    report["From"] = f"MAILER-DAEMON@{domain}"
    report["To"] = "hello@chez-ann.example"
    report["Date"] = formatdate()
    report["Message-ID"] = make_msgid(domain=domain)
    for part in parts:
        report.attach(part)
    return report


def dsn(original: bytes, rcpt: str, action: str, status: str, diagnostic: str,
        headers_only: bool = False) -> MIMEMultipart:
    """A delivery status notification as Postfix writes one (RFC 3464), returning our mail
    whole or its headers only."""
    fields = Message()
    fields.set_type("message/delivery-status")
    del fields["MIME-Version"]
    fields.set_payload([
        _block(Reporting_MTA="dns; mx.example.net", Arrival_Date=formatdate()),
        _block(Final_Recipient=f"rfc822; {rcpt}", Original_Recipient=f"rfc822;{rcpt}",
               Action=action, Status=status, Remote_MTA="dns; mail.example.com",
               Diagnostic_Code=f"smtp; {diagnostic}")])
    parsed = email.message_from_bytes(original, policy=email.policy.default)
    returned: Message = (MIMEText(original.split(b"\r\n\r\n", 1)[0].decode() + "\n",
                                  "rfc822-headers") if headers_only else MIMEMessage(parsed))
    return _report("delivery-status", [
        MIMEText("I'm sorry to have to inform you that your message could not be delivered "
                 "to one or more recipients.\n"), fields, returned], "mx.example.net")


def arf(original: bytes, rcpt: str | None, feedback: str = "abuse") -> MIMEMultipart:
    """An abuse report of a feedback loop (RFC 5965); a provider that hides the recipient
    leaves Original-Rcpt-To out and redacts the original's To."""
    fields = Message()
    fields.set_type("message/feedback-report")
    del fields["MIME-Version"]
    block = _block(Feedback_Type=feedback, User_Agent="SomeMailbox-FBL/2.1", Version="1",
                   Original_Mail_From="<bounces@chez-ann.example>",
                   Arrival_Date=formatdate(), Reported_Domain="chez-ann.example")
    if rcpt:
        block["Original-Rcpt-To"] = f"<{rcpt}>"
    fields.set_payload([block])
    headers = original.split(b"\r\n\r\n", 1)[0].decode()
    if not rcpt:
        headers = re.sub(r"(?m)^To: .*$", "To: redacted@fbl.example.net", headers)
    return _report("feedback-report", [
        MIMEText("This is an email abuse report for an email message received from IP "
                 "192.0.2.1.\n"), fields, MIMEText(headers + "\n", "rfc822-headers")],
        "fbl.example.net")


@pytest.fixture
def run(db_url, smtp, shop, admin, manager, clerk, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(
        db_url, smtp={"port": smtp.port}, shop={"email": "hello@chez-ann.example"},
        mail={"backoff_seconds": 3600, "max_attempts": 5},
        newsletter={"secret": SECRET, "max_per_second": 1000.0, "pause_after": 4,
                    "pause_bounce_rate": 0.5,
                    "soft_bounce_limit": 2})), encoding="utf-8")

    def invoke(*args: str, login: str = "mo", ok: bool = True) -> Any:
        result = CliRunner().invoke(main, ["--config", str(path), *args],
                                    env={"BACKROOM_OPERATOR": login}, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    invoke.config_path = path  # type: ignore[attr-defined]
    return invoke


def test_bounces_and_complaints_from_a_mailbox_suppress_and_pause(run, shop, manager, smtp,
                                                                 tmp_path):
    emails = add_subscribers(shop, manager, 6)
    for held in emails[4:]:  # these two wait an hour: the campaign is still being sent
        smtp.handler.rcpt_replies[held] = ["451 4.3.0 Try later"]
    run("newsletter", "campaign", "create", "Spring", "--subject", "News", "--body", "Hi")
    run("newsletter", "campaign", "send", "Spring")
    run("worker", "--once")
    sent = {to[0]: data for to, data in smtp.handler.raw}  # type: ignore[attr-defined]
    assert sorted(sent) == emails[:4]
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for message in (
            dsn(sent[emails[0]], emails[0], "failed", "5.1.1",
                "550 5.1.1 <reader000@example.com>: Recipient address rejected: User unknown"),
            dsn(sent[emails[1]], emails[1], "failed", "4.2.2", "452 4.2.2 Mailbox full",
                headers_only=True),
            dsn(sent[emails[1]], emails[1], "delayed", "4.2.2", "452 4.2.2 Mailbox full"),
            arf(sent[emails[2]], None),  # the provider hid the recipient: our Message-ID tells
            dsn(sent[emails[3]], emails[3], "delivered", "2.0.0", "250 2.0.0 Ok"),
            email.message_from_string("From: someone@example.org\nSubject: Out of office\n"
                                      "\nI am away.\n")):
        box.add(message)
    box.flush()
    box.close()
    path = str(tmp_path / "bounces.mbox")
    dry = run("newsletter", "bounces", path, "--dry-run").output
    assert ("reader000@example.com: hard 5.1.1 (campaign #1): would be suppressed "
            "(hard bounce)") in dry
    assert "reader001@example.com: soft 4.2.2 (campaign #1): soft bounce 1 of 2 in 30 days" in dry
    assert "would be suppressed (soft bounce 2 of 2 in 30 days)" in dry
    assert "reader002@example.com: complaint abuse (campaign #1): would be suppressed" in dry
    assert "ignored: not a bounce (action delivered, status 2.0.0)" in dry
    assert "ignored: not a delivery status or feedback report" in dry
    assert dry.rstrip().endswith("nothing changed (dry run)")
    assert not Suppression.select().exists() and not Bounce.select().exists()
    assert Campaign.get(Campaign.name == "Spring").state == "sending"

    out = run("newsletter", "bounces", path).output
    assert ("6 report(s): 1 hard bounce(s), 2 soft, 1 complaint(s), 2 ignored, 0 already "
            "read; 3 address(es) suppressed") in out
    assert "paused itself: 1 of 4 mails were reported as spam (25.0%, over " \
           "newsletter.pause_complaint_rate 0.1%)" in out
    states = {s.email: s.state for s in Subscriber.select()}
    assert [states[e] for e in emails[:4]] == ["bounced", "bounced", "complained", "subscribed"]
    assert {(s.email_key, s.reason) for s in Suppression.select()} == {
        (emails[0], "hard bounce"), (emails[1], "soft bounces"), (emails[2], "complaint")}
    assert {b.campaign for b in Bounce.select()} == {Campaign.get(Campaign.name == "Spring").id}
    stats = json.loads(run("newsletter", "campaign", "stats", "Spring", "--format",
                           "json").output)
    assert stats["state"] == "paused" and "reported as spam" in stats["why_paused"]

    again = run("newsletter", "bounces", path).output  # the same mailbox read twice
    assert "0 address(es) suppressed" in again and "4 already read" in again
    assert Bounce.select().count() == 4

    single = tmp_path / "complaint.eml"
    single.write_bytes(arf(sent[emails[3]], emails[3]).as_bytes())
    assert "1 address(es) suppressed" in run("newsletter", "bounces", str(single)).output
    shown = run("newsletter", "subscribers", "show", emails[1], login="cleo").output
    assert "state:        bounced since" in shown
    assert "suppressed:   soft bounces since" in shown and "2 soft bounces in 30 days" in shown
    assert shown.count("soft      4.2.2  Spring") == 2
    only = run("newsletter", "subscribers", "show", "ghost@example.com", ok=False).output
    assert "not on the suppression list" in only
    denied = run("newsletter", "bounces", str(single), login="cleo", ok=False).output
    assert "only a manager" in denied
    both = run("newsletter", "bounces", "--dry-run", ok=False).output
    assert "give a FILE" in both


# ----- the same read from an IMAP mailbox ----------------------------------------------------

@pytest.fixture
def imap(tmp_path) -> Iterator[tuple[int, Path]]:
    """pymap (an IMAP server) on loopback with STARTTLS, its certificate from a trustme CA;
    (port, the CA's file). User demouser, password demopass."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "pymap"), "--host", "127.0.0.1", "--port",
         str(port), "--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem"),
         "dict"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_for(answers, what="pymap to listen")
        yield port, tmp_path / "ca.pem"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_bounces_read_by_imap_are_flagged_seen_once_recorded(db_url, shop, admin, manager,
                                                             smtp, imap, tmp_path):
    port, ca_file = imap
    emails = add_subscribers(shop, manager, 2)
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(cli_config(
        db_url, smtp={"port": smtp.port}, shop={"email": "hello@chez-ann.example"},
        newsletter={"secret": SECRET, "max_per_second": 1000.0,
                    "imap_host": f"127.0.0.1:{port}", "imap_user": "demouser",
                    "imap_security": "starttls", "imap_ca_file": str(ca_file)})),
        encoding="utf-8")

    def run(*args: str, password: str = "demopass", ok: bool = True) -> str:
        result = CliRunner().invoke(main, ["--config", str(path), *args], env={
            "BACKROOM_OPERATOR": "mo", "BACKROOM_IMAP_PASSWORD": password},
            catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result.output

    run("newsletter", "campaign", "create", "N", "--subject", "News", "--body", "Hi")
    run("newsletter", "campaign", "send", "N")
    run("worker", "--once")
    sent = {to[0]: data for to, data in smtp.handler.raw}  # type: ignore[attr-defined]
    box = imaplib.IMAP4("127.0.0.1", port)
    box.starttls(ssl_context=ssl.create_default_context(cafile=str(ca_file)))
    box.login("demouser", "demopass")
    for message in (dsn(sent[emails[0]], emails[0], "failed", "5.1.1", "550 5.1.1 unknown"),
                    arf(sent[emails[1]], emails[1])):
        box.append("INBOX", "", imaplib.Time2Internaldate(time.time()), message.as_bytes())
    box.logout()
    dry = run("newsletter", "bounces", "--imap", "--dry-run")
    assert "2 report(s): 1 hard bounce(s), 0 soft, 1 complaint(s)" in dry
    assert "2 address(es) would be suppressed" in dry
    out = run("newsletter", "bounces", "--imap")  # the dry run left them unseen
    assert "2 address(es) suppressed" in out
    assert {s.email: s.state for s in Subscriber.select()} == {
        emails[0]: "bounced", emails[1]: "complained"}
    assert run("newsletter", "bounces", "--imap").startswith("0 report(s)")  # flagged seen
    refused = run("newsletter", "bounces", "--imap", password="wrong", ok=False)
    assert refused.startswith(f"backroom: the mailbox at 127.0.0.1:{port} cannot be read")
