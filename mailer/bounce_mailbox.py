"""Where bounces and complaints are read from: a file (an mbox, or one message as .eml) or
an IMAP folder (imaplib over TLS: newsletter.imap_host, imap_user, imap_password or
$BACKROOM_IMAP_PASSWORD, imap_folder). Yields each message's bytes as it came; reading them
is store.bounce_reports'. Messages read from IMAP are flagged \\Seen once recorded (never on
a dry run), so the next run reads only new ones."""

from __future__ import annotations

import imaplib
import mailbox
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
        host, _, port = self.host.partition(":")
        try:
            self.imap = imaplib.IMAP4_SSL(host, int(port or 993), timeout=60)
            self.imap.login(self.user, self.password)
            status, _ = self.imap.select(self.folder)
        except (OSError, imaplib.IMAP4.error) as exc:
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
