"""Text that people type and terminals show: the one check every service runs on the text it
stores (no control characters, which a terminal would obey: `\\x1b]0;...` retitles it,
`\\x1b[2J` clears it), and the one way to show stored text that may hold them anyway (rows
written before the check, or by another program)."""

from __future__ import annotations

import re

from store.errors import ValidationError

# C0 controls, DEL and C1 controls: what a terminal may take as a command; and the
# bidirectional embeddings, overrides and isolates, which reorder the rest of a line (a name
# ending in U+202E shows an order's price backwards in a mail or on a screen: "Trojan
# Source"). Right-to-left text needs none of them; the marks U+200E/U+200F are kept.
_BIDI = "\u202a-\u202e\u2066-\u2069"
CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}]")
_NAMES = {"\t": "a tab", "\n": "a line break", "\r": "a carriage return", "\x1b": "an escape"}
# Half of a UTF-16 pair: JSON can carry one ("\ud800"), no database or terminal can store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def control_character(value: str, multiline: bool = False) -> str | None:
    """The first control character in `value` (a newline is allowed when multi-line)."""
    found = (_CONTROL_BUT_NEWLINE if multiline else CONTROL).search(value)
    return found.group() if found else None


def problem(value: str, multiline: bool = False) -> str | None:
    """What makes `value` unfit to store, or None: a control character (a line break is
    allowed when multi-line), or half of a UTF-16 pair, which is not a character at all."""
    bad = control_character(value, multiline)
    if bad is not None:
        what = _NAMES.get(bad) or (
            f"the direction control U+{ord(bad):04X}" if ord(bad) > 0xff
            else f"the control character U+{ord(bad):04X}")
        return f"contains {what}; type it as plain text"
    found = _SURROGATE.search(value)
    if found is not None:
        return (f"contains U+{ord(found.group()):04X}, half of a UTF-16 pair and not a "
                "character")
    return None


# The longest text a field takes: a name, an address line or a subject fits on a line many
# times over, a note or a message in many pages; a pasted book is refused, not stored and
# then cut by every screen, slip and mail that shows it.
MOST_ON_A_LINE = 1_000
MOST_ON_LINES = 50_000


def clean(value: str, field: str, multiline: bool = False, label: str | None = None) -> str:
    """`value` without surrounding space, or a ValidationError naming the field when it holds
    a control character, is longer than a field takes, or is not text. Multi-line fields
    (notes, messages) keep their line breaks; a Windows line end (CR LF) is taken as one."""
    if not isinstance(value, str):
        raise ValidationError(f"{label or _label(field)} must be text", field=field)
    if multiline:
        value = value.replace("\r\n", "\n")
    wrong = problem(value, multiline)
    if wrong is not None:
        raise ValidationError(f"{label or _label(field)} {wrong}", field=field)
    value = value.strip()
    most = MOST_ON_LINES if multiline else MOST_ON_A_LINE
    if len(value) > most:
        raise ValidationError(f"{label or _label(field)} is {len(value):,} characters long; "
                              f"at most {most:,} are taken", field=field)
    return value


def clean_optional(value: str | None, field: str, multiline: bool = False) -> str | None:
    """`clean` for an optional value: None stays None."""
    return None if value is None else clean(value, field, multiline)


def printable(value: object, multiline: bool = False) -> str:
    """Stored text made safe to show on a terminal: each control character becomes a visible
    escape (`\\x1b`); line breaks are kept only when `multiline`."""
    text = "" if value is None else str(value)
    pattern = _CONTROL_BUT_NEWLINE if multiline else CONTROL
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xff else f"\\u{code:04x}"


def shown(value: str, most: int = 40) -> str:
    """`value` quoted for a message, cut to `most` characters: a refusal stays one short
    line whatever was typed (a 5,000-digit amount, a pasted page)."""
    value = value.strip()
    if len(value) > most:
        value = value[:most - 1] + "…"
    return repr(value)


def _label(field: str) -> str:
    return field.replace("_", " ")
