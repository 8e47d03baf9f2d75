"""Settings: one schema gives the defaults, the commented example file and the validation."""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from store import carriers as carriersmod
from store.carriers import Carrier
from store.errors import BackroomError, ConfigError
from store.text import control_character

APP_NAME = "backroom"
ACCENT_DEFAULT = "#1f5c99"  # white on it: 6.9:1
MIN_CONTRAST = 4.5  # WCAG 2 AA, normal text
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")

# A check takes a value of the setting's type and says what was expected when the value is
# wrong, or returns None when it is right.
Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Setting:
    """One key of the config: its default, the sentence that documents it, the variable
    that may override it, and the check of its value beyond its type (range, choice,
    format). A string may not hold control characters (line breaks only when multiline)."""

    default: Any
    doc: str
    env: str | None = None
    check: Check | None = None
    multiline: bool = False
    normalise: Callable[[Any], Any] | None = None  # the value as it is used, once checked


def between(low: float, high: float) -> Check:
    """A number from low to high, both included (and finite: TOML has inf and nan)."""
    def check(value: Any) -> str | None:
        if not math.isfinite(value) or not low <= value <= high:
            return f"a number from {low:g} to {high:g}"
        return None
    return check


def one_of(*choices: str) -> Check:
    """One of the choices ("" reads as "empty")."""
    said = " or ".join(", ".join(c or "empty" for c in choices).rsplit(", ", 1))

    def check(value: Any) -> str | None:
        return None if value in choices else said
    return check


def matching(pattern: str, what: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> str | None:
        return None if compiled.fullmatch(value) else what
    return check


def _email(value: Any) -> str | None:
    """One address, checked as customers' are (store.contact), without SMTPUTF8: the shop's
    address is the sender of every mail, which any relay must take."""
    from store.contact import normalise_email

    try:
        normalise_email(value)
    except BackroomError as exc:
        return f"one plain email address ({exc})"
    return None


def _emails(value: Any) -> str | None:
    for address in value:
        problem = _email(address)
        if problem:
            return f"a list of email addresses; {address!r} is not: {problem}"
    return None


_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


def _domain_rates(value: Any) -> str | None:
    """A table of mail domains (as written after the @) to mails a second."""
    for domain, rate in value.items():
        if not _DOMAIN.fullmatch(str(domain).lower()):
            return f"a table of mail domains to mails a second; {domain!r} is not a domain"
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not (
                math.isfinite(rate) and 0.01 <= rate <= 10000):
            return f"a table of mail domains to mails a second; {domain} = {rate!r} is not " \
                   "a number from 0.01 to 10000"
    return None


def _lower_domains(value: Any) -> Any:
    return {str(domain).lower(): float(rate) for domain, rate in value.items()}


def _as_sent(value: Any) -> Any:
    """The address (or each address) as mail goes to it: a domain beyond ASCII in IDNA."""
    from store.contact import normalise_email

    if isinstance(value, list):
        return [normalise_email(v) for v in value]
    return normalise_email(value)


def _currency(value: Any) -> str | None:
    from babel.numbers import list_currencies

    if value.upper() not in list_currencies() or len(value) != 3:
        return "an ISO 4217 currency code, like EUR"
    return None


def _database_url(value: Any) -> str | None:
    if value and not re.match(r"(sqlite|postgresql|postgres)://", value):
        return "empty, sqlite:///path/to/shop.db or postgresql://user@host:5432/name"
    return None


def _schedule(value: Any) -> str | None:
    try:
        parse_schedule(value)
    except ValueError:
        return ("delays separated by spaces, each seconds or a number with s, m or h (like "
                "\"0 5s 5m 30m 2h\"), the first one for the first attempt")
    return None


_DELAY = re.compile(r"(\d+(?:\.\d+)?)([smh]?)")


def parse_schedule(text: str) -> tuple[float, ...]:
    """"0 5s 5m 30m 2h" as seconds: the delay before each attempt, counted from the failure
    of the one before (the first from the event). At most 30 attempts of at most a day each."""
    delays = []
    for word in text.split():
        found = _DELAY.fullmatch(word)
        if found is None:
            raise ValueError(word)
        delays.append(float(found.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[found.group(2)])
    if not delays or len(delays) > 30 or max(delays) > 86400:
        raise ValueError(text)
    return tuple(delays)


def _time_zone(value: Any) -> str | None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "an IANA time zone, like Europe/Paris or UTC"
    return None


def _accounts(value: Any) -> str | None:
    if not all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\$?", v) for v in value):
        return "a list of account names, like [\"backroom\"]"
    return None


# Sections whose keys are free (names chosen by the shop) and whose values are validated
# elsewhere: saved views, key remaps and the workflow.
# The mapping tables of the importers (`[imports.<table>]`, value -> workflow status key):
# a file's table is merged over these defaults key by key; "" means "no say" (fulfilment
# only: the payment's status stands). Checked against the workflow when an import runs.
IMPORT_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "shopify_financial": (
        "Shopify's Financial Status -> the status it puts an imported order in.",
        {"paid": "paid", "pending": "awaiting_payment", "authorized": "awaiting_payment",
         "partially_paid": "awaiting_payment", "partially_refunded": "paid",
         "refunded": "refunded", "voided": "cancelled"}),
    "shopify_fulfillment": (
        "Shopify's Fulfillment Status -> the status it puts an imported order in, over the "
        "payment's (\"\": no say); a payment status that is final (cancelled, refunded) wins.",
        {"fulfilled": "completed", "partial": "shipped", "unfulfilled": "", "restocked": ""}),
    "woocommerce_status": (
        "WooCommerce's order status -> the status of the imported order.",
        {"pending": "awaiting_payment", "on-hold": "awaiting_verification",
         "processing": "paid", "completed": "completed", "cancelled": "cancelled",
         "refunded": "refunded", "failed": "cancelled", "checkout-draft": "awaiting_payment"}),
}


def default_imports() -> dict[str, dict[str, str]]:
    return {name: dict(table) for name, (_doc, table) in IMPORT_TABLES.items()}


def _imports(source: str, raw: Any) -> dict[str, dict[str, str]]:
    """The mapping tables: the file's merged over the defaults; keys are matched lowercase."""
    tables = default_imports()
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [imports] must hold tables, like [imports.shopify_financial]")
    for name, table in raw.items():
        if name not in IMPORT_TABLES:
            known = ", ".join(IMPORT_TABLES)
            raise ConfigError(f"{source}: unknown table [imports.{name}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [imports.{name}] must be a table")
        for key, value in table.items():
            if not isinstance(value, str) or control_character(value) or control_character(key):
                raise ConfigError(f"{source}: imports.{name}.{key} must be a status key "
                                  f"(text), not {value!r}")
            tables[name][key.strip().lower()] = value.strip()
    return tables


FREE_SECTIONS = {
    "views": "Saved views for the order queue: name = filter query (`:name` opens one).",
    "keys": "Key remaps: binding id = key, e.g. `queue.filter = \"f\"` (see `?` in the app).",
}

SCHEMA: dict[str, dict[str, Setting]] = {
    "database": {
        "url": Setting(
            "",
            "sqlite:///path/to/shop.db or postgresql://user@host:5432/name; empty means "
            "a SQLite file in the user data directory.",
            env="BACKROOM_DATABASE_URL",
            check=_database_url,
        ),
        "busy_timeout_ms": Setting(10000, "SQLite: how long a writer waits for another.",
                                   check=between(0, 3_600_000)),
        "auto_migrate": Setting(
            True,
            "Upgrade an older database when it is opened (false: refuse and ask for "
            "`backroom migrate`).",
        ),
    },
    "shop": {
        "name": Setting("My Shop", "The shop's name, in every customer mail."),
        "email": Setting("shop@example.com", "Sender and contact address of the shop.",
                         check=_email, normalise=_as_sent),
        "phone": Setting("", "Contact phone printed in customer mails (optional)."),
        "currency": Setting("EUR", "ISO 4217 code of the shop currency.", check=_currency),
        "language": Setting("en", "Default language of customer mails (en, fr).",
                            check=one_of("en", "fr")),
        "order_prefix": Setting(
            "BR", "Prefix of order codes, e.g. BR-100042: up to 8 letters A-Z, or empty.",
            check=matching(r"[A-Za-z]{0,8}", "up to 8 letters A-Z (no digits, dashes or "
                                             "spaces: a code is PREFIX-NUMBER)"),
        ),
        "storefront_url": Setting(
            "https://shop.example.com", "Base URL of the storefront (set-password links).",
            check=matching(r"https?://[^\s/]+\S*", "an http:// or https:// URL"),
        ),
        "admin_emails": Setting([], "Addresses that hear of every new order.", check=_emails,
                                normalise=_as_sent),
        "wire_instructions": Setting(
            "IBAN FR76 0000 0000 0000 0000 0000 000, BIC XXXXFRPP",
            "Bank details sent to customers who pay by wire transfer.",
            multiline=True,
        ),
        "payment_url": Setting(
            "",
            "Where a customer pays an order online, {code} standing for the order code "
            "(e.g. https://shop.example.com/pay/{code}); mails then show a pay button while "
            "the order may be paid. Empty: no pay button.",
        ),
        "logo_url": Setting(
            "",
            "Brand: https:// address of the logo at the top of every mail (shown at most "
            "200 px wide); empty: the shop's name in the accent colour.",
        ),
        "accent_colour": Setting(
            ACCENT_DEFAULT,
            "Brand: CSS hex colour of buttons and links in mails (#rgb or #rrggbb); white "
            "button text on it must reach the 4.5:1 contrast of WCAG AA.",
        ),
        "footer_line": Setting(
            "", "Brand: a line at the foot of every mail, e.g. postal address, legal notice."
        ),
        "social_links": Setting(
            [], "Brand: https:// addresses of the shop's social pages, linked in every mail."
        ),
        "time_zone": Setting("UTC", "The shop's time zone (IANA name, like Europe/Paris): "
                             "when a scheduled campaign goes.", check=_time_zone),
    },
    "operators": {
        "new_login_role": Setting(
            "",
            "Role given to a login that is not yet an operator (viewer, clerk, manager, "
            "admin); empty refuses unknown logins.",
            check=one_of("", "viewer", "clerk", "manager", "admin"),
        ),
        "service_accounts": Setting(
            [],
            "Accounts that may run backroom for the operator $BACKROOM_OPERATOR names (a "
            "shared SSH account whose keys each set it, see README); anyone else is the "
            "owner of the process.",
            check=_accounts,
        ),
    },
    "ui": {
        "undo_seconds": Setting(30, "How long `z` can revert a status change; its mails wait.",
                                check=between(0, 3600)),
        "next_after_action": Setting(
            False, "After an action in the order detail, open the next order of the filter."
        ),
        "page_size": Setting(100, "Orders fetched per page in the queue.",
                             check=between(1, 5000)),
        "log_file": Setting(
            "", "The log file: unexpected errors, and the event log when it goes to a file; "
                "empty: backroom.log in the user log directory."),
        "log_to": Setting(
            "auto",
            "Where the event log (one line per change: operator, order code) goes: auto "
            "(stderr under systemd, which gives it to journald; else the log file), stderr, "
            "file, or off. The app always writes to the file.",
            check=one_of("auto", "stderr", "file", "off")),
        "health_seconds": Setting(5.0, "How often the app's health line is read again.",
                                  check=between(1, 3600)),
        "export_dir": Setting(
            "", "Where the queue's `x` writes CSV exports; empty: an `exports` folder in the "
            "user data directory."),
    },
    "mail": {
        "deliver_in_app": Setting(True, "Run the delivery loop inside the TUI (one-person shop)."),
        "templates_dir": Setting("", "A directory whose templates override the shipped ones."),
        "max_attempts": Setting(8, "Temporary failures are retried this many times, then dead.",
                                check=between(1, 100)),
        "backoff_seconds": Setting(30, "First retry delay; doubles each attempt, with jitter.",
                                   check=between(0, 86400)),
        "batch_size": Setting(50, "Outbox rows claimed at once by a worker.",
                              check=between(1, 10000)),
        "lease_seconds": Setting(300, "A claimed row returns to the queue after this long.",
                                 check=between(1, 86400)),
        "poll_seconds": Setting(2.0, "How often an idle worker looks for due mail.",
                                check=between(0.05, 3600)),
    },
    "webhooks": {
        "retry_schedule": Setting(
            "0 5s 5m 30m 2h 5h 10h 10h",
            "When each attempt of a webhook goes, after the failure of the one before (the "
            "Standard Webhooks schedule); once it is spent the endpoint is disabled.",
            check=_schedule),
        "timeout_seconds": Setting(15.0, "Deadline for one request, connection included.",
                                   check=between(0.1, 600)),
        "concurrency": Setting(8, "Requests in flight at once, over reused connections.",
                               check=between(1, 256)),
        "batch_size": Setting(50, "Deliveries claimed at once by a worker.",
                              check=between(1, 10000)),
        "lease_seconds": Setting(120, "A claimed delivery returns to the queue after this long "
                                 "(more than timeout_seconds).", check=between(1, 86400)),
        "poll_seconds": Setting(1.0, "How often an idle worker looks for due deliveries.",
                                check=between(0.05, 3600)),
        "rotation_hours": Setting(24, "After `backroom webhook rotate-secret`, how long the old "
                                  "secret signs beside the new one.", check=between(0, 8760)),
    },
    "smtp": {
        "host": Setting("127.0.0.1", "SMTP relay host.",
                        check=matching(r"[^\s/@]+", "a host name or address")),
        "port": Setting(25, "SMTP relay port.", check=between(1, 65535)),
        "security": Setting("none", "none, starttls or tls.",
                            check=one_of("none", "starttls", "tls")),
        "user": Setting("", "Login on the relay; empty for none."),
        "password": Setting(
            "", "Password; better set $BACKROOM_SMTP_PASSWORD.", env="BACKROOM_SMTP_PASSWORD"
        ),
        "timeout_seconds": Setting(30.0, "Deadline for one send, connection included.",
                                   check=between(0.1, 3600)),
        "connections": Setting(4, "Connections used in parallel, each reused.",
                               check=between(1, 100)),
        "ca_file": Setting("", "CA bundle to trust for TLS (a private relay); empty: system."),
        "smtputf8": Setting(
            False,
            "The relay supports SMTPUTF8: addresses with letters beyond ASCII before the @ "
            "(łukasz@example.com) are then taken and sent with it; false refuses them on entry.",
        ),
    },
    "documents": {
        "output_dir": Setting(
            "", "Where PDFs are written; empty: a `documents` folder in the user data directory."
        ),
        "font": Setting(
            "", "A TrueType font (path) for every PDF; empty: the DejaVu Sans shipped inside."
        ),
        "font_bold": Setting("", "Its bold face (path); empty: `font` itself when it is set."),
        "fallback_fonts": Setting(
            [], "Font files (.ttf, .otf, .ttc) for characters `font` lacks, e.g. Noto Sans CJK."),
        "paper": Setting(
            "A4", "Page size of slips, pick lists, invoices and sheets: A4 or Letter.",
            check=one_of("A4", "Letter", "a4", "letter")),
        "slip_prices": Setting(False, "Print prices and totals on packing slips."),
        "shop_address": Setting(
            "", "The shop's postal address on slips and invoices; lines as in a \"\"\" string.",
            multiline=True),
        "tax_id": Setting("", "The shop's VAT or tax number, printed on invoices."),
        "invoice_prefix": Setting(
            "INV", "Invoice numbers: PREFIX-YEAR-00042, gapless per year (e.g. FA).",
            check=matching(r"[A-Za-z0-9]{1,8}", "1-8 letters or digits"),
        ),
        "credit_note_prefix": Setting(
            "CN", "Credit-note numbers: PREFIX-YEAR-00007, gapless per year, their own series.",
            check=matching(r"[A-Za-z0-9]{1,8}", "1-8 letters or digits"),
        ),
        "attach_invoice": Setting(
            False, "Attach the invoice PDF to the mail of the paid status (payment received)."
        ),
    },
    "print": {
        "printer": Setting(
            "", "CUPS printer for every document; empty: write the PDF only (no printing)."
        ),
        "slips_printer": Setting("", "Printer for packing slips and pick lists; empty: `printer`."),
        "slips_media": Setting("A4", "Media of slips, as lp -o media= takes it (A4, Letter)."),
        "slips_orientation": Setting("portrait", "Orientation of slips: portrait or landscape.",
                                     check=one_of("portrait", "landscape")),
        "labels_printer": Setting("", "Printer for carrier labels; empty: `printer`."),
        "labels_media": Setting(
            "4x6", "Media of labels: a CUPS name, or WxH in inches (4x6) or with mm/cm."
        ),
        "labels_orientation": Setting("portrait", "Orientation of labels: portrait or landscape.",
                                      check=one_of("portrait", "landscape")),
        "invoices_printer": Setting(
            "", "Printer for invoices, credit notes and customer sheets; empty: `printer`."
        ),
        "invoices_media": Setting("A4", "Media of invoices and customer sheets."),
        "invoices_orientation": Setting(
            "portrait", "Orientation of invoices and sheets: portrait or landscape.",
            check=one_of("portrait", "landscape")),
    },
    "shipping": {
        "default_carrier": Setting(
            "",
            "The carrier of a tracking number that names none and that no carrier recognises "
            "(a key of [carriers], e.g. colissimo); empty: none.",
            check=matching(r"[a-z0-9_]{0,32}", "a carrier's name, like colissimo, or empty"),
        ),
    },
    "customers": {
        "auto_validate": Setting(
            True,
            "Accounts customers open themselves (POST /v1/customers) are active at once; "
            "false: each waits for an operator to validate it (`v` on the profile, `backroom "
            "customers validate`) and cannot pay until then.",
        ),
    },
    "newsletter": {
        "double_opt_in": Setting(
            False, "A signup (POST /v1/subscribers) or a checkout opt-in gets a confirmation "
                   "mail with a signed link, and counts as subscribed only once confirmed."),
        "secret": Setting(
            "", "The key that signs unsubscribe and confirmation links (long and random; "
                "better set $BACKROOM_NEWSLETTER_SECRET). Campaigns cannot go without it.",
            env="BACKROOM_NEWSLETTER_SECRET"),
        "public_url": Setting(
            "", "Where `backroom serve` answers the newsletter's links (/u/ unsubscribe, /s/ "
                "confirm), e.g. https://news.shop.example.com; empty: shop.storefront_url.",
            check=matching(r"(https?://[^\s/]+\S*)?", "an http:// or https:// URL, or empty")),
        "max_per_second": Setting(
            10.0, "Campaign mails sent per second, shop-wide, whatever the number of workers.",
            check=between(0.01, 10000)),
        "domain_per_second": Setting(
            {}, "Caps per recipient domain under max_per_second, shop-wide like it: a table "
                "such as { \"gmail.com\" = 5, \"orange.fr\" = 2 } (mails a second).",
            check=_domain_rates, normalise=_lower_domains),
        "test_addresses": Setting(
            [], "Addresses a campaign's test send goes to, beside the operator's own.",
            check=_emails, normalise=_as_sent),
        "unsubscribe_mailto": Setting(
            "", "The mailto: address of the List-Unsubscribe header; empty: shop.email."),
        "list_id": Setting(
            "", "The List-Id of campaign mails, like news.shop.example.com; empty: newsletter "
                "at the domain of shop.email."),
        "recipients_batch": Setting(
            10000, "Recipients written per transaction when a campaign starts (resumable).",
            check=between(100, 1_000_000)),
        "confirm_days": Setting(7, "How long a double opt-in confirmation link works.",
                                check=between(1, 365)),
        "pause_bounce_rate": Setting(
            0.05, "A campaign pauses itself when more than this share of its mails bounced "
                  "for good (refused at sending, or a hard bounce read later), judged once "
                  "pause_after mails have gone.", check=between(0.001, 1)),
        "pause_complaint_rate": Setting(
            0.001, "A campaign pauses itself when more than this share of its mails were "
                   "reported as spam (ARF complaints).", check=between(0.0001, 1)),
        "pause_after": Setting(
            100, "How many of a campaign's mails must have gone before its rates are judged.",
            check=between(1, 1_000_000)),
        "soft_bounce_limit": Setting(
            3, "Soft bounces (4.x.x) of one address within soft_bounce_days that suppress it.",
            check=between(1, 100)),
        "soft_bounce_days": Setting(30, "The window soft bounces are counted in.",
                                    check=between(1, 365)),
        "conversion_days": Setting(
            5, "An order counts as a campaign's conversion when placed within this many days "
               "after its recipient's last click.", check=between(1, 90)),
        "imap_host": Setting(
            "", "The mailbox bounces and complaints arrive at, read by `backroom newsletter "
                "bounces --imap`: host, or host:port (default 993 with tls, else 143)."),
        "imap_security": Setting(
            "tls", "tls, starttls, or none (only for a mailbox on this machine).",
            check=one_of("tls", "starttls", "none")),
        "imap_ca_file": Setting("", "CA bundle to trust for the mailbox's TLS; empty: system."),
        "imap_user": Setting("", "The IMAP login of that mailbox."),
        "imap_password": Setting("", "Its password (better set $BACKROOM_IMAP_PASSWORD).",
                                 env="BACKROOM_IMAP_PASSWORD"),
        "imap_folder": Setting("INBOX", "The folder read."),
    },
    "web": {
        "max_body_bytes": Setting(
            1_048_576,
            "The storefront API refuses a request body larger than this (413), before "
            "reading it further or parsing it.",
            check=between(1024, 64 * 1_048_576)),
        "idempotency_hours": Setting(
            24,
            "How long an Idempotency-Key is kept (a retry within it gets the first response); "
            "at least 24.",
            check=between(24, 24 * 365)),
        "threads": Setting(
            0,
            "Worker threads of one `backroom serve`, each handling a request with a database "
            "connection of its own; 0: none on SQLite, which lets one writer in at a time "
            "(requests run one after another on the server's own thread), 16 on PostgreSQL.",
            check=between(0, 256)),
    },
    "backup": {
        "dir": Setting(
            "", "Where `backroom backup` writes (--to wins); empty: `backups` in the user "
                "data directory."),
        "keep": Setting(14, "Backups of this database kept in that directory; older ones are "
                            "deleted after each new one (--keep wins).",
                        check=between(1, 100000)),
    },
    "health": {
        "mail_stuck_minutes": Setting(
            30, "Red when the oldest unsent mail has waited this long; an admin email goes "
                "out once when it does (to shop.admin_emails, else shop.email).",
            check=between(1, 100000)),
        "failed_max": Setting(0, "Red when more mails than this are failed.",
                              check=between(0, 10**9)),
        "dead_max": Setting(0, "Red when more mails than this are dead.",
                            check=between(0, 10**9)),
        "backup_max_hours": Setting(
            26, "Red when the last `backroom backup` is older than this; 0: backups are made "
                "some other way (Litestream, PostgreSQL's own tools), never red.",
            check=between(0, 100000)),
        "heartbeat_max_seconds": Setting(
            120, "Red when no delivery worker has beaten for this long.",
            check=between(5, 10**6)),
        "heartbeat_seconds": Setting(15.0, "How often a delivery worker records its heartbeat.",
                                     check=between(0.1, 3600)),
    },
    "segments": {
        "vip_spent": Setting(5000, "VIP: total spent above this, in major units of the currency.",
                             check=between(0, 10**12)),
        "recent_days": Setting(30, "Recent buyers: ordered within this many days.",
                               check=between(1, 36500)),
        "inactive_days": Setting(180, "Inactive: no order for this many days or more.",
                                 check=between(1, 36500)),
    },
}


def defaults() -> dict[str, dict[str, Any]]:
    """The default settings as a plain nested dict (what `backroom init` writes)."""
    return {s: {k: v.default for k, v in keys.items()} for s, keys in SCHEMA.items()}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _coerce(source: str, key: str, value: Any, default: Any) -> Any:
    """Return value if it has the default's type (ints are fine for floats), else refuse."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(
            f"{source}: {key} must be {_type_name(default)}, not {value!r}"
            + (" (a list of strings)" if isinstance(default, list) else "")
        )
    return value


@dataclass(frozen=True)
class Config:
    """Validated settings; `get("shop", "name")` or the section dicts."""

    values: Mapping[str, Mapping[str, Any]]
    source: str = "defaults"
    views: Mapping[str, str] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    workflow: Mapping[str, Any] | None = None
    carriers: Mapping[str, Carrier] = field(default_factory=lambda: dict(carriersmod.DEFAULTS))
    imports: Mapping[str, Mapping[str, str]] = field(default_factory=default_imports)

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.values[section]

    @property
    def database_url(self) -> str:
        return str(self.values["database"]["url"]) or default_database_url()

    def with_database(self, url: str | None) -> Config:
        """A copy whose database URL is replaced (the `--database` option)."""
        if not url:
            return self
        values = {s: dict(v) for s, v in self.values.items()}
        values["database"]["url"] = url
        return replace(self, values=values)

    def with_values(self, section: str, **changes: Any) -> Config:
        """A copy with some keys of one section replaced (used by tests and commands)."""
        values = {s: dict(v) for s, v in self.values.items()}
        for key, value in changes.items():
            if key not in SCHEMA[section]:
                raise ConfigError(f"unknown setting {section}.{key}")
            values[section][key] = value
        return replace(self, values=values)


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{data_dir / 'backroom.db'}"


def from_mapping(
    raw: Mapping[str, Any], source: str = "config", environ: Mapping[str, str] | None = None
) -> Config:
    """Validate a parsed TOML document; unknown keys and wrong types name the file and key."""
    environ = os.environ if environ is None else environ
    values = defaults()
    views: dict[str, str] = {}
    keys: dict[str, str] = {}
    workflow: Mapping[str, Any] | None = None
    carriers = carriersmod.from_config(raw.get("carriers"), source)
    imports = default_imports()
    for section, table in raw.items():
        if section == "carriers":
            continue
        if section == "imports":
            imports = _imports(source, table)
            continue
        if section == "workflow":
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: [workflow] must be a table")
            workflow = table
            continue
        if section in FREE_SECTIONS:
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            for name, value in table.items():
                if not isinstance(value, str):
                    raise ConfigError(f"{source}: {section}.{name} must be a string, not {value!r}")
            (views if section == "views" else keys).update(table)
            continue
        if section not in SCHEMA:
            known = ", ".join(sorted([*SCHEMA, *FREE_SECTIONS, "workflow", "carriers",
                                      "imports"]))
            raise ConfigError(f"{source}: unknown section [{section}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        for key, value in table.items():
            if key not in SCHEMA[section]:
                known = ", ".join(SCHEMA[section])
                raise ConfigError(f"{source}: unknown key {section}.{key} (known: {known})")
            values[section][key] = _coerce(source, f"{section}.{key}", value, values[section][key])
    for section, settings in SCHEMA.items():
        for key, setting in settings.items():
            if setting.env and environ.get(setting.env):
                values[section][key] = environ[setting.env]
            _check(source, f"{section}.{key}", values[section][key], setting,
                   f" (from ${setting.env})" if setting.env and environ.get(setting.env) else "")
            if setting.normalise is not None:
                values[section][key] = setting.normalise(values[section][key])
    _check_brand(source, values["shop"])
    default = values["shipping"]["default_carrier"]
    if default and default not in carriers:
        raise ConfigError(f"{source}: shipping.default_carrier {default!r} is no carrier "
                          f"(known: {', '.join(sorted(carriers))})")
    return Config(values, source, views, keys, workflow, carriers=carriers, imports=imports)


def _check(source: str, key: str, value: Any, setting: Setting, origin: str = "") -> None:
    """Refuse a value of the right type that is still wrong, naming the file, the key and
    what is expected."""
    texts = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    for text in texts:
        bad = control_character(text, setting.multiline)
        if bad is not None:
            raise ConfigError(f"{source}: {key}{origin} must be text without control "
                              f"characters (U+{ord(bad):04X} found)")
    expected = setting.check(value) if setting.check else None
    if expected:
        raise ConfigError(f"{source}: {key}{origin} must be {expected}, not {value!r}")


def contrast_ratio(colour: str, other: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio of two CSS hex colours (1 to 21)."""
    lighter, darker = sorted((_luminance(colour), _luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rgb or #rrggbb colour."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                        for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _check_brand(source: str, shop: Mapping[str, Any]) -> None:
    """Brand settings a mail relies on: the accent colour is one CSS hex colour that white
    button text can be read on (WCAG AA), and every address is an absolute https:// link
    (mail clients cannot follow a relative one)."""
    colour = shop["accent_colour"]
    if not _HEX_COLOUR.fullmatch(colour):
        raise ConfigError(f"{source}: shop.accent_colour must be a CSS hex colour such as "
                          f"\"{ACCENT_DEFAULT}\" (#rgb or #rrggbb), not {colour!r}")
    ratio = contrast_ratio(colour)
    if ratio < MIN_CONTRAST:
        shown = int(ratio * 100) / 100  # rounded down: 4.497 is not shown as 4.5
        raise ConfigError(
            f"{source}: shop.accent_colour {colour!r}: white button text on it has a contrast "
            f"ratio of {shown:.2f}:1, below the {MIN_CONTRAST}:1 of WCAG AA; choose a darker "
            "colour")
    links = [("shop.logo_url", shop["logo_url"]), ("shop.payment_url", shop["payment_url"])]
    links += [("shop.social_links", link) for link in shop["social_links"]]
    for key, link in links:
        if link and not re.fullmatch(r"https://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?", link):
            raise ConfigError(f"{source}: {key} must be an absolute https:// address, "
                              f"not {link!r}")
    payment = shop["payment_url"]
    if payment and (payment.count("{code}") != 1
                    or payment.replace("{code}", "").count("{")
                    or payment.replace("{code}", "").count("}")):
        raise ConfigError(f"{source}: shop.payment_url must hold {{code}} once (where the "
                          f"order code goes) and no other braces, not {payment!r}")


def find_config_path(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """--config PATH, then $BACKROOM_CONFIG, then ./config.toml, then the user config dir."""
    environ = os.environ if environ is None else environ
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file (run `backroom init` to write one)")
        return path
    if environ.get("BACKROOM_CONFIG"):
        path = Path(environ["BACKROOM_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"{path}: $BACKROOM_CONFIG names no file")
        return path
    for path in (Path("config.toml"), user_config_path()):
        if path.is_file():
            return path
    return None


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load(
    explicit: str | None = None,
    database: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Find, read and validate the config; `database` (the --database option) wins over all."""
    path = find_config_path(explicit, environ)
    if path is None:
        config = from_mapping({}, "defaults", environ)
    else:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                              f"offset {exc.start}); save it as UTF-8") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
        config = from_mapping(raw, str(path), environ)
    return config.with_database(database)


def write_initial(path: Path, database_url: str | None, force: bool = False) -> Path:
    """`backroom init`: write the defaults with tomli-w, never over a file without force."""
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; use --force to overwrite it")
    data = defaults()
    data["database"]["url"] = database_url or default_database_url()
    header = "# backroom settings; config.example.toml documents every key.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + tomli_w.dumps(data), encoding="utf-8")
    return path


def render_example() -> str:
    """The text of config.example.toml: every key with its default and a comment."""
    lines = [
        "# backroom configuration: every setting, with its default.",
        "# `backroom init` writes these defaults to config.toml. Found by --config PATH,",
        "# then $BACKROOM_CONFIG, then ./config.toml, then the user config directory.",
        "",
    ]
    for section, settings in SCHEMA.items():
        lines.append(f"[{section}]")
        for key, setting in settings.items():
            lines.append(f"# {setting.doc}" + (f" (env: ${setting.env})" if setting.env else ""))
            if isinstance(setting.default, dict):  # an inline table keeps it in its section
                lines.append(f"{key} = {{}}")
            else:
                lines.append(tomli_w.dumps({key: setting.default}).rstrip())
        lines.append("")
    for section, doc in FREE_SECTIONS.items():
        lines.append(f"# {doc}")
        lines.append(f"[{section}]")
        if section == "views":
            lines.append('# pending = "status:awaiting_payment,awaiting_verification"')
            lines.append('# today = "placed:today"')
        else:
            lines.append('# "queue.filter" = "f"')
        lines.append("")
    lines += [*carriersmod.render_example(), ""]
    lines.append("# Importers' mapping tables (see README, Imports): each [imports.<table>] is")
    lines.append("# merged over these defaults; a value a file holds that its table lacks is")
    lines.append("# reported by --dry-run, and the import refuses to start until it is mapped.")
    for name, (doc, table) in IMPORT_TABLES.items():
        lines.append(f"# {doc}")
        lines.append(f"# [imports.{name}]")
        for key, value in table.items():
            lines.append(f"# {tomli_w.dumps({key: value}).rstrip()}")
        lines.append("")
    lines += [
        "# The order workflow. Leave out to use the default (see README). A replacement",
        "# lists every status; one of them has initial = true.",
        "# [workflow.statuses.awaiting_payment]",
        '# label = "Awaiting payment"',
        '# short = "Unpaid"     # the list column and the status tab (at most 12; default: label)',
        '# colour = "yellow"',
        '# hotkey = "a"',
        "# initial = true",
        '# next = ["paid", "cancelled"]',
        '# mail = ""            # template event sent on entering; "" for none',
        "# may_pay = true",
        "# final = false",
        '# requires = []        # e.g. ["tracking"]',
        "# paid = false         # entering it records the balance still owed as paid",
        "# refunded = false     # the one status a full refund moves to; no status change",
        "#                      # enters it (a workflow without the key: the status keyed",
        "#                      # refunded, else the one sending the refunded mail)",
        "",
    ]
    return "\n".join(lines)
