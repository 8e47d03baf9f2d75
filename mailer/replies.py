"""Saved replies: texts an operator starts a note to a customer or a one-off email from, kept
as files beside the mail templates (`replies/<name>.txt`: the shipped ones, and those of
`[mail] templates_dir`, which replace a shipped one of the same name).

A reply is plain text with a few merge fields, written as the newsletter's merge tags are:
`{firstname}`, `{order_code}`, with an optional default after a bar (`{firstname|there}`;
see FIELDS). Each is replaced by its value once, literally, and nothing else in the text is
read as a template (no str.format, no engine), so what an operator wrote and what a customer
typed (a name) stay text. A first line `Subject: ...` gives a one-off email its subject."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store import merge_tags

SHIPPED_REPLIES = Path(__file__).parent / "templates" / "replies"
REPLIES_DIR = "replies"
FIELDS: dict[str, str] = {
    "firstname": "the customer's first name",
    "lastname": "the customer's last name",
    "name": "the customer's full name",
    "email": "the customer's email address",
    "order_code": "the order's code (of a customer: their last order's)",
    "tracking_number": "the order's tracking number",
    "shop_name": "the shop's name ([shop] name)",
}
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class SavedReply:
    """One saved reply as read from its file."""

    name: str  # the file's name without .txt
    subject: str
    body: str
    path: str

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").replace("-", " ").capitalize()


def reply_directories(templates_dir: str | Path | None) -> list[Path]:
    dirs = [SHIPPED_REPLIES]
    if templates_dir:
        dirs.append(Path(templates_dir) / REPLIES_DIR)
    return dirs


def read_reply(path: Path) -> SavedReply:
    """A reply file: an optional `Subject:` first line (and the blank line after it), then
    the text. Unreadable or oversized files are refused with the path named."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"{path}: a saved reply is at most {MAX_BYTES // 1024} KiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it ({exc})") from None
    text = text.replace("\r\n", "\n").strip("\n")
    subject = ""
    first, _newline, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        subject, text = first.partition(":")[2].strip(), rest.lstrip("\n")
    return SavedReply(path.stem, subject, text.rstrip() + "\n" if text.strip() else "",
                      str(path))


def saved_replies(templates_dir: str | Path | None) -> list[SavedReply]:
    """Every saved reply, by name; a file of the shop's directory replaces a shipped one.
    A file that cannot be read is left out (`backroom mail check` names it)."""
    found: dict[str, SavedReply] = {}
    for directory in reply_directories(templates_dir):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.txt")):
            try:
                found[path.stem] = read_reply(path)
            except ValueError:
                continue
    return [found[name] for name in sorted(found)]


def fill(text: str, values: Mapping[str, str]) -> str:
    """The text with each known merge field replaced by its value (or its default when the
    value is empty), by the newsletter's one parser (store.merge_tags): a value is never
    read again (a name typed as "{order_code}" stays as typed), and anything else in braces
    stays as written, for the operator to see and mend."""
    return merge_tags.fill_text(text, values, FIELDS)


def unknown_fields(text: str) -> list[str]:
    """The merge fields a reply names that are not in FIELDS (for `backroom mail check`)."""
    return merge_tags.unknown(text, FIELDS)


def order_values(detail: Any, shop_name: str) -> dict[str, str]:
    """The merge fields of an order (a store.queries.OrderDetail): its customer's names from
    the shipping (else billing) address, else from the name on the order."""
    addresses = getattr(detail, "addresses", None) or {}
    address = addresses.get("shipping") or addresses.get("billing")
    name = str(detail.customer_name or "")
    first = getattr(address, "first_name", "") or (name.split()[0] if name.split() else "")
    last = getattr(address, "last_name", "") or " ".join(name.split()[1:])
    return {"firstname": first, "lastname": last, "name": name or f"{first} {last}".strip(),
            "email": str(detail.customer_email or ""), "order_code": str(detail.code),
            "tracking_number": str(detail.tracking_number or ""), "shop_name": shop_name}


def customer_values(profile: Any, shop_name: str) -> dict[str, str]:
    """The merge fields of a customer (a store.customer_queries.CustomerProfile): their last
    order's code and tracking number are those of the newest order of the profile."""
    orders = getattr(profile, "orders", ()) or ()
    last = orders[0] if orders else None
    return {"firstname": profile.first_name, "lastname": profile.last_name,
            "name": profile.name, "email": profile.email,
            "order_code": str(getattr(last, "code", "") or ""),
            "tracking_number": str(getattr(last, "tracking_number", "") or ""),
            "shop_name": shop_name}
