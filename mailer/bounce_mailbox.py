"""Where bounces and complaints are read from: a file (an mbox, or one message as .eml) or
an IMAP folder (imaplib: newsletter.imap_host, imap_security (TLS, STARTTLS, or none on this
machine only), imap_ca_file, imap_user, imap_password or $BACKROOM_IMAP_PASSWORD,
imap_folder). Yields each message's bytes as it came; reading them
is store.bounce_reports'. Messages read from IMAP are flagged \\Seen once recorded (never on
a dry run), so the next run reads only new ones."""

from __future__ import annotations

import imaplib
import mailbox
import ssl
from collections.abc import Iterator
from pathlib import Path

from store.config import Config
from store.errors import ConfigError, ValidationError


def read_file(path: Path) -> Iterator[bytes]:
    """The messages of an mbox (it starts with a "From " line), else the one message."""
    try:
        with path.open("rb") as handle:
            head = handle.read(5)
    except OSError as exc:
        raise ValidationError(f"{path} cannot be read: {exc.strerror}", field="file") from None
    if head != b"From ":
        yield path.read_bytes()
        return
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


class ImapBox:
    """The configured IMAP folder: its unseen messages, and flagging them seen."""

    def __init__(self, config: Config) -> None:
        news = config["newsletter"]
        self.host, self.user = str(news["imap_host"]), str(news["imap_user"])
        self.password, self.folder = str(news["imap_password"]), str(news["imap_folder"])
        if not (self.host and self.user and self.password):
            raise ConfigError("set newsletter.imap_host, newsletter.imap_user and "
                              "$BACKROOM_IMAP_PASSWORD to read bounces by IMAP")
        host, _, port = self.host.rpartition(":") if ":" in self.host else (self.host, "", "")
        security, ca_file = str(news["imap_security"]), str(news["imap_ca_file"])
        if security == "none" and host not in ("127.0.0.1", "::1", "localhost"):
            raise ConfigError("newsletter.imap_security = none sends the password in clear: "
                              "only for a mailbox on this machine; use tls or starttls")
        try:
            context = ssl.create_default_context(cafile=ca_file or None)
            if security == "tls":
                self.imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    host, int(port or 993), ssl_context=context, timeout=60)
            else:
                self.imap = imaplib.IMAP4(host, int(port or 143), timeout=60)
                if security == "starttls":
                    self.imap.starttls(ssl_context=context)
            self.imap.login(self.user, self.password)
            status, _ = self.imap.select(self.folder)
        except (OSError, ValueError, imaplib.IMAP4.error) as exc:
            raise ConfigError(f"the mailbox at {self.host} cannot be read: {exc}") from None
        if status != "OK":
            raise ConfigError(f"there is no folder {self.folder!r} at {self.host}")

    def unseen(self) -> Iterator[tuple[str, bytes]]:
        """(uid, message bytes) of each unseen message, read without flagging it."""
        _, found = self.imap.uid("SEARCH", "UNSEEN")
        for uid in bytes(found[0] or b"").decode("ascii").split():
            _, data = self.imap.uid("FETCH", uid, "(BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple):
                    yield uid, bytes(item[1])

    def mark_seen(self, uids: list[str]) -> None:
        for uid in uids:
            self.imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")

    def close(self) -> None:
        try:
            self.imap.close()
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
