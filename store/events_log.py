"""The event log: one line per change, naming the operator and the order code, for journald
(stderr of a systemd service) or a file (`ui.log_file`), through the stdlib's logging with
one formatter.

A line holds what was done and to what, never to whom: the operator's login, the order code
(or a customer's number), statuses, amounts and counts. Names, emails, addresses, notes,
reasons and messages stay in the database's history, where erasure reaches them; a log file
or the journal is copied and kept where erasure never comes.

    2026-11-30T09:15:02Z INFO events: status operator=alice order=BR-100042 from=paid to=shipped

Services log once their transaction is done, so a refused or rolled-back change leaves no
line (the operators' changes log from inside theirs, as their history row is written). When
nothing listens (a library caller, the tests, the benchmarks) a line costs one
`isEnabledFor` check."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import platformdirs

ROOT = "backroom"
log = logging.getLogger(f"{ROOT}.events")
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f=\"]")
_installed: list[logging.Handler] = []


def _value(value: Any) -> str:
    """One field value as a single token: whitespace, controls, quotes and = escaped."""
    text = str(value)
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text) or '""'


def line(action: str, operator: str, fields: Mapping[str, Any]) -> str:
    """`action operator=LOGIN key=value ...`; None values are left out."""
    parts = [action, f"operator={_value(operator)}"]
    parts += [f"{key}={_value(value)}" for key, value in fields.items() if value is not None]
    return " ".join(parts)


def event(action: str, operator: str, *, order: str | None = None, **fields: Any) -> None:
    """Log one change (after its transaction committed): who, the order code, what."""
    if log.isEnabledFor(logging.INFO):
        log.info(line(action, operator, {"order": order, **fields}))


def order_events(action: str, operator: str, codes: Iterable[str], **fields: Any) -> None:
    """One line per order of a change of many (a bulk status change is one line per order:
    `grep BR-100042` finds every change of that order)."""
    if log.isEnabledFor(logging.INFO):
        for code in codes:
            log.info(line(action, operator, {"order": code, **fields}))


class LineFormatter(logging.Formatter):
    """The one formatter: UTC time, level, the logger's last name, the message on one line
    (line breaks escaped); a traceback follows on lines of its own, indented."""

    converter = staticmethod(time.gmtime)  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(short)s: %(message)s",
                         datefmt="%Y-%m-%dT%H:%M:%SZ")

    def format(self, record: logging.LogRecord) -> str:
        record.short = record.name.rpartition(".")[2]
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        saved = record.msg, record.args, record.exc_text
        record.msg, record.args = message, None
        try:
            text = super().format(record)
        finally:
            record.msg, record.args, record.exc_text = saved
        head, _, rest = text.partition("\n")
        if not rest:
            return head
        return head + "\n" + "\n".join("    " + r for r in rest.splitlines())


def log_path(configured: str) -> Path:
    """The log file: `ui.log_file`, else backroom.log in the user log directory."""
    if configured:
        return Path(configured)
    return Path(platformdirs.user_log_dir("backroom")) / "backroom.log"


def under_journal(environ: Mapping[str, str] | None = None) -> bool:
    """Whether stderr goes to journald: systemd sets $JOURNAL_STREAM for a service's output."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("JOURNAL_STREAM"))


def destination(log_to: str, interactive: bool, environ: Mapping[str, str] | None = None) -> str:
    """Where the log goes: stderr, file or off. The app (interactive) never writes to stderr,
    which is its screen; `auto` is stderr under systemd, else the file."""
    if log_to == "off":
        return "off"
    if interactive:
        return "file"
    if log_to == "auto":
        return "stderr" if under_journal(environ) else "file"
    return log_to


def setup(log_to: str, log_file: str, interactive: bool = False,
          stream: TextIO | None = None) -> logging.Handler | None:
    """Send backroom's logs (events at INFO, errors) to one handler with the one formatter;
    calling it again replaces the handler it installed. Returns the handler (None: off)."""
    root = logging.getLogger(ROOT)
    for old in _installed:
        root.removeHandler(old)
        old.close()
    _installed.clear()
    where = destination(log_to, interactive)
    if where == "off":
        root.setLevel(logging.WARNING)
        return None
    handler: logging.Handler
    if where == "stderr":
        handler = logging.StreamHandler(stream or sys.stderr)
    else:
        path = log_path(log_file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None  # no log rather than no backroom: the history is in the database
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(LineFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    _installed.append(handler)
    return handler
