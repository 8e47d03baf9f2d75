"""Merge tags of a campaign: `{firstname}`, `{lastname}`, `{email}`, `{unsubscribe_url}`, each
with an optional default after a bar (`{firstname|there}`). One fixed parser, a regular
expression over the operator's text: never str.format and never a template engine, which
would run whatever the operator's HTML says (listmonk leaked its server's environment that
way, CVE-2025-49136). A tag is a brace, a name of letters, digits and underscores, maybe a
default, and a brace; anything else (CSS's `p { color: red }`, a stray brace) is text. A
name that is not a known tag, or one followed by what an engine would read as an attribute,
an index or a conversion, is refused when the campaign is saved, naming its line."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from store.errors import ValidationError

TAGS = ("firstname", "lastname", "email", "unsubscribe_url")
# a name, then what a format string or a template engine would read as an attribute, an
# index or a conversion ({firstname.__class__}: refused as unknown, never looked up)
_TAG = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)([.\[!][^{}\s|]*)?(?:\|([^{}\r\n]*))?\}")


@dataclass(frozen=True)
class Tag:
    """A merge tag found at `start` (an offset in the text)."""

    name: str
    default: str
    start: int
    end: int


Part = str | Tag


def parse(text: str, field: str = "body", strict: bool = True,
          tags: Collection[str] = TAGS) -> tuple[Part, ...]:
    """The text cut into literal strings and Tags, in order (joining the literals and the
    tags' source gives the text back); an unknown tag is refused with its line (not
    `strict`: kept as text, for a text part made from HTML, where `&#123;x}` reads as one).
    `tags`: the names known here (a campaign's, or a saved reply's fields)."""
    parts: list[Part] = []
    at = 0
    for found in _TAG.finditer(text):
        name = found.group(1) + (found.group(2) or "")
        if name not in tags and not strict:
            continue
        if name not in tags:
            line = text.count("\n", 0, found.start()) + 1
            raise ValidationError(
                f"unknown merge tag {{{name}}} on line {line} of the {field}; the tags are "
                f"{', '.join('{' + t + '}' for t in tags)} (a default after a bar: "
                "{firstname|there})", field=field)
        if found.start() > at:
            parts.append(text[at:found.start()])
        parts.append(Tag(name, found.group(3) or "", found.start(), found.end()))
        at = found.end()
    if at < len(text):
        parts.append(text[at:])
    return tuple(parts)


def names(parts: tuple[Part, ...]) -> set[str]:
    """The tags used."""
    return {p.name for p in parts if isinstance(p, Tag)}


def unknown(text: str, tags: Collection[str] = TAGS) -> list[str]:
    """The tag names in `text` that are not among `tags` (for `backroom mail check`)."""
    return [name for name in (f.group(1) + (f.group(2) or "") for f in _TAG.finditer(text))
            if name not in tags]


def fill_text(text: str, values: Mapping[str, str], tags: Collection[str] = TAGS) -> str:
    """Plain text with each known tag replaced by its value (its default when the value is
    empty), in one pass: a value is never read again; an unknown tag stays as written."""
    return "".join(part if isinstance(part, str) else values.get(part.name, "") or part.default
                   for part in parse(text, strict=False, tags=tags))
