"""Settings: one schema gives the defaults, the commented example file and the validation."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from store.errors import ConfigError

APP_NAME = "backroom"


@dataclass(frozen=True)
class Setting:
    """One key of the config: its default, and the sentence that documents it."""

    default: Any
    doc: str
    env: str | None = None


# Sections whose keys are free (names chosen by the shop) and whose values are validated
# elsewhere: saved views, key remaps and the workflow.
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
        ),
        "busy_timeout_ms": Setting(10000, "SQLite: how long a writer waits for another."),
        "auto_migrate": Setting(
            True,
            "Upgrade an older database when it is opened (false: refuse and ask for "
            "`backroom migrate`).",
        ),
    },
    "shop": {
        "name": Setting("My Shop", "The shop's name, in every customer mail."),
        "email": Setting("shop@example.com", "Sender and contact address of the shop."),
        "phone": Setting("", "Contact phone printed in customer mails (optional)."),
        "currency": Setting("EUR", "ISO 4217 code of the shop currency."),
        "language": Setting("en", "Default language of customer mails (en, fr)."),
        "order_prefix": Setting("BR", "Prefix of order codes, e.g. BR-100042."),
        "storefront_url": Setting(
            "https://shop.example.com", "Base URL of the storefront (set-password links)."
        ),
        "admin_emails": Setting([], "Addresses that hear of every new order."),
        "wire_instructions": Setting(
            "IBAN FR76 0000 0000 0000 0000 0000 000, BIC XXXXFRPP",
            "Bank details sent to customers who pay by wire transfer.",
        ),
    },
    "operators": {
        "new_login_role": Setting(
            "",
            "Role given to a login that is not yet an operator (viewer, clerk, manager, "
            "admin); empty refuses unknown logins.",
        ),
    },
    "ui": {
        "undo_seconds": Setting(30, "How long `z` can revert a status change; its mails wait."),
        "next_after_action": Setting(
            False, "After an action in the order detail, open the next order of the filter."
        ),
        "page_size": Setting(100, "Orders fetched per page in the queue."),
        "log_file": Setting("", "Where unexpected errors are logged; empty: user log dir."),
    },
    "mail": {
        "deliver_in_app": Setting(True, "Run the delivery loop inside the TUI (one-person shop)."),
        "templates_dir": Setting("", "A directory whose templates override the shipped ones."),
        "max_attempts": Setting(8, "Temporary failures are retried this many times, then dead."),
        "backoff_seconds": Setting(30, "First retry delay; doubles each attempt, with jitter."),
        "batch_size": Setting(50, "Outbox rows claimed at once by a worker."),
        "lease_seconds": Setting(300, "A claimed row returns to the queue after this long."),
        "poll_seconds": Setting(2.0, "How often an idle worker looks for due mail."),
    },
    "smtp": {
        "host": Setting("127.0.0.1", "SMTP relay host."),
        "port": Setting(25, "SMTP relay port."),
        "security": Setting("none", "none, starttls or tls."),
        "user": Setting("", "Login on the relay; empty for none."),
        "password": Setting(
            "", "Password; better set $BACKROOM_SMTP_PASSWORD.", env="BACKROOM_SMTP_PASSWORD"
        ),
        "timeout_seconds": Setting(30.0, "Deadline for one send, connection included."),
        "connections": Setting(4, "Connections used in parallel, each reused."),
        "ca_file": Setting("", "CA bundle to trust for TLS (a private relay); empty: system."),
    },
    "documents": {
        "output_dir": Setting(
            "", "Where PDFs are written; empty: a `documents` folder in the user data directory."
        ),
        "font": Setting(
            "", "A TrueType font (path) for every PDF; empty: the DejaVu Sans shipped inside."
        ),
        "font_bold": Setting("", "Its bold face (path); empty: `font` itself when it is set."),
        "paper": Setting(
            "A4", "Page size of slips, pick lists, invoices and sheets: A4 or Letter."
        ),
        "slip_prices": Setting(False, "Print prices and totals on packing slips."),
        "shop_address": Setting(
            "", "The shop's postal address on slips and invoices; lines as in a \"\"\" string."
        ),
        "tax_id": Setting("", "The shop's VAT or tax number, printed on invoices."),
    },
    "print": {
        "printer": Setting(
            "", "CUPS printer for every document; empty: write the PDF only (no printing)."
        ),
        "slips_printer": Setting("", "Printer for packing slips and pick lists; empty: `printer`."),
        "slips_media": Setting("A4", "Media of slips, as lp -o media= takes it (A4, Letter)."),
        "slips_orientation": Setting("portrait", "Orientation of slips: portrait or landscape."),
        "labels_printer": Setting("", "Printer for carrier labels; empty: `printer`."),
        "labels_media": Setting(
            "4x6", "Media of labels: a CUPS name, or WxH in inches (4x6) or with mm/cm."
        ),
        "labels_orientation": Setting("portrait", "Orientation of labels: portrait or landscape."),
        "invoices_printer": Setting(
            "", "Printer for invoices, credit notes and customer sheets; empty: `printer`."
        ),
        "invoices_media": Setting("A4", "Media of invoices and customer sheets."),
        "invoices_orientation": Setting(
            "portrait", "Orientation of invoices and sheets: portrait or landscape."
        ),
    },
    "segments": {
        "vip_spent": Setting(5000, "VIP: total spent above this, in major units of the currency."),
        "recent_days": Setting(30, "Recent buyers: ordered within this many days."),
        "inactive_days": Setting(180, "Inactive: no order for this many days or more."),
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
        return Config(values, self.source, self.views, self.keys, self.workflow)

    def with_values(self, section: str, **changes: Any) -> Config:
        """A copy with some keys of one section replaced (used by tests and commands)."""
        values = {s: dict(v) for s, v in self.values.items()}
        for key, value in changes.items():
            if key not in SCHEMA[section]:
                raise ConfigError(f"unknown setting {section}.{key}")
            values[section][key] = value
        return Config(values, self.source, self.views, self.keys, self.workflow)


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
    for section, table in raw.items():
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
            known = ", ".join(sorted([*SCHEMA, *FREE_SECTIONS, "workflow"]))
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
    security = values["smtp"]["security"]
    if security not in ("none", "starttls", "tls"):
        raise ConfigError(
            f"{source}: smtp.security must be none, starttls or tls, not {security!r}"
        )
    role = values["operators"]["new_login_role"]
    if role not in ("", "viewer", "clerk", "manager", "admin"):
        raise ConfigError(
            f"{source}: operators.new_login_role must be empty, viewer, clerk, manager or admin"
        )
    paper = values["documents"]["paper"]
    if paper.lower() not in ("a4", "letter"):
        raise ConfigError(f"{source}: documents.paper must be A4 or Letter, not {paper!r}")
    for kind in ("slips", "labels", "invoices"):
        orientation = values["print"][f"{kind}_orientation"]
        if orientation not in ("portrait", "landscape"):
            raise ConfigError(f"{source}: print.{kind}_orientation must be portrait or "
                              f"landscape, not {orientation!r}")
    return Config(values, source, views, keys, workflow)


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
    lines += [
        "# The order workflow. Leave out to use the default (see README). A replacement",
        "# lists every status; one of them has initial = true.",
        "# [workflow.statuses.awaiting_payment]",
        '# label = "Awaiting payment"',
        '# colour = "yellow"',
        '# hotkey = "a"',
        "# initial = true",
        '# next = ["paid", "cancelled"]',
        '# mail = ""            # template event sent on entering; "" for none',
        "# may_pay = true",
        "# final = false",
        '# requires = []        # e.g. ["tracking"]',
        "",
    ]
    return "\n".join(lines)
