"""Where documents go: a file under `documents.output_dir` whose name says what it is and
never replaces another, and, when a printer is set, CUPS's `lp` (run without a shell).

A failed print never loses the document: the PDF is written first, and the error (no `lp`,
an unknown or refusing printer) names the file that was kept."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from store.config import APP_NAME, Config
from store.errors import ConfigError, PrintError
from store.exports import folder_problem
from store.operators import Actor, require

KINDS = ("slips", "labels", "invoices")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_JOB = re.compile(r"request id is (\S+)")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)\s*(in|mm|cm)?\s*$", re.I)
LP_TIMEOUT = 60


def output_dir(config: Config) -> Path:
    """`documents.output_dir`, or a `documents` folder in the user data directory."""
    configured = str(config.get("documents", "output_dir"))
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "documents"


def safe_part(text: str) -> str:
    """A piece of a file name: letters, digits, dot, dash and underscore only."""
    return _UNSAFE.sub("-", text).strip("-.") or "document"


def slips_name(count: int, when: dt.datetime, picklist: bool = False) -> str:
    """slips-2026-11-30-0915-50-orders.pdf (…-with-picklist.pdf when one is appended)."""
    noun = "order" if count == 1 else "orders"
    extra = "-with-picklist" if picklist else ""
    return f"slips-{when:%Y-%m-%d-%H%M}-{count}-{noun}{extra}.pdf"


def invoice_name(number: str, credit_note: bool = False) -> str:
    """invoice-FA-2026-00042.pdf, or credit-note-….pdf."""
    return f"{'credit-note' if credit_note else 'invoice'}-{safe_part(number)}.pdf"


def customer_name(customer_id: int, when: dt.datetime) -> str:
    """customer-42-2026-11-30.pdf: the id, never the name (it may hold anything)."""
    return f"customer-{customer_id}-{when:%Y-%m-%d}.pdf"


def save(data: bytes | bytearray, directory: Path, name: str) -> Path:
    """Write data under directory as `name`, or name-2, name-3, … when that exists: an
    existing file is never replaced (the name is claimed with O_EXCL, so two writers at once
    get two files)."""
    stem, suffix = os.path.splitext(name)
    for n in range(1, 10_000):
        path = directory / (name if n == 1 else f"{stem}-{n}{suffix}")
        if _write_new(data, path):
            return path
    raise ConfigError(f"{directory} already holds 10,000 files named like {name}")


def save_to(data: bytes | bytearray, path: Path) -> Path:
    """Write data at exactly `path` (the --out option), refusing to replace a file."""
    if not _write_new(data, path):
        raise ConfigError(f"{path} exists; give another --out (documents are never "
                          "overwritten)")
    return path


def _write_new(data: bytes | bytearray, path: Path) -> bool:
    """Create path and write data; False when the path exists already."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a part of the folder is a file: not "exists, give another"
        raise ConfigError(f"cannot write {path}: {folder_problem(path) or exc.strerror}"
                          ) from None
    try:
        handle = open(path, "xb")  # closed below, and removed if the write fails
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {folder_problem(path) or exc.strerror}"
                          ) from None
    try:
        with handle:
            handle.write(data)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return True


# ----- printing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrintTarget:
    """Where and how one kind of document prints: CUPS printer, media, orientation."""

    printer: str
    media: str
    orientation: str


def print_target(config: Config, kind: str, printer: str | None = None) -> PrintTarget | None:
    """The printer of a kind (`slips`, `labels`, `invoices`): `printer` if given, else
    `print.<kind>_printer`, else `print.printer`; None when none is set (write only)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    section = config["print"]
    name = printer or str(section[f"{kind}_printer"]) or str(section["printer"])
    if not name:
        return None
    return PrintTarget(name, str(section[f"{kind}_media"]),
                       str(section[f"{kind}_orientation"]))


def cups_media(media: str) -> str:
    """The media as lp takes it: a size like 4x6 (inches unless mm or cm follow) becomes
    CUPS's custom size Custom.4x6in; a name (A4, Letter, w288h432) passes as it is."""
    match = _SIZE.match(media)
    if not match:
        return media.strip()
    width, height, unit = match.groups()
    return f"Custom.{width}x{height}{(unit or 'in').lower()}"


def lp_command(target: PrintTarget, path: Path, lp: str = "lp") -> list[str]:
    """The argument list for lp: printer, media, orientation, then the file after `--`."""
    args = [lp, "-d", target.printer]
    if target.media:
        args += ["-o", f"media={cups_media(target.media)}"]
    args += ["-o", "orientation-requested=" + ("4" if target.orientation == "landscape"
                                                else "3")]
    return [*args, "--", str(path)]


def send_to_printer(path: Path, target: PrintTarget, lp: str = "lp") -> str:
    """Send a written PDF to CUPS; the job id lp reports (e.g. `Zebra-42`).

    Raises PrintError in one line when lp is missing, fails or refuses; the file stays."""
    executable = shutil.which(lp)
    if executable is None:
        raise PrintError(f"cannot print to {target.printer}: `{lp}` (CUPS) is not installed; "
                         f"the PDF is kept at {path}")
    try:
        done = subprocess.run(lp_command(target, path, executable), capture_output=True,
                              text=True, timeout=LP_TIMEOUT, check=False, shell=False)
    except subprocess.TimeoutExpired:
        raise PrintError(f"{target.printer} did not answer within {LP_TIMEOUT} s; "
                         f"the PDF is kept at {path}") from None
    except OSError as exc:
        raise PrintError(f"cannot run {lp}: {exc.strerror}; the PDF is kept at {path}") from None
    said = " ".join((done.stderr or done.stdout).split())
    if done.returncode != 0:
        raise PrintError(f"{target.printer} refused the job: {said or f'lp exit {done.returncode}'}"
                         f"; the PDF is kept at {path}")
    match = _JOB.search(done.stdout)
    if match is None:
        raise PrintError(f"lp printed no job id for {target.printer} ({said or 'nothing'}); "
                         f"check the queue with lpstat; the PDF is kept at {path}")
    return match.group(1)


@dataclass(frozen=True)
class Delivered:
    """Where a document went: the file written, and the printer and job if it was sent."""

    path: Path
    printer: str = ""
    job: str = ""


def deliver(config: Config, actor: Actor, data: bytes | bytearray, name: str, kind: str, *,
            out: Path | None = None, printer: str | None = None) -> Delivered:
    """Write a document (at `out`, or as `name` under the output folder; never over a file)
    and send it to the kind's printer when one is set. Printing is a clerk's right; the file
    is written before printing, so a failed print (PrintError) leaves it in place."""
    require(actor, "print")
    path = save_to(data, out) if out is not None else save(data, output_dir(config), name)
    target = print_target(config, kind, printer)
    if target is None:
        return Delivered(path)
    return Delivered(path, target.printer, send_to_printer(path, target))
