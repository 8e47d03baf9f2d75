"""Contact details that customers and orders both take: postal addresses and email
addresses, checked the same way wherever they are entered."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email

from store.errors import ValidationError
from store.models import Address
from store.text import clean, shown

ADDRESS_FIELDS = ("first_name", "last_name", "company", "line1", "line2", "postcode", "city",
                  "region", "country", "phone")


def normalise_email(email: str, smtputf8: bool = False, field: str = "email") -> str:
    """One plain address (no display name, no list, no control character), as it will be
    sent: its domain lower-cased and, when not ASCII, in its IDNA (punycode) form, which
    every relay takes. A local part that is not ASCII (`łukasz@...`) can only be delivered
    by a relay that speaks SMTPUTF8, so it is taken only when `smtputf8` (smtp.smtputf8)
    says the shop's relay does; otherwise it is refused here rather than fail every mail."""
    email = clean(email, field)
    try:
        checked = validate_email(email, check_deliverability=False, allow_smtputf8=smtputf8,
                                 allow_display_name=False, allow_quoted_local=False,
                                 allow_domain_literal=False)
    except EmailNotValidError as exc:
        if not smtputf8 and not email.partition("@")[0].isascii():
            raise ValidationError(
                f"{email!r}: an address with letters beyond ASCII before the @ can only be "
                "delivered by a relay that supports SMTPUTF8, and smtp.smtputf8 is off; "
                "ask the customer for a plain ASCII address", field=field) from None
        raise ValidationError(
            f"{email!r} is not a valid email address (like ann@example.com): {exc}",
            field=field) from None
    return checked.ascii_email or checked.normalized


# A plain address, taken without the validator's cost (~30 us an address, which a file of
# 100,000 rows pays 100,000 times): dot-atom local part, a domain of letter-digit labels ending
# in letters. Anything else goes to the validator.
_PLAIN = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})")
_SPECIAL = {"arpa", "invalid", "local", "localhost", "onion", "test"}  # the validator refuses


def normalise_email_quickly(email: str, smtputf8: bool = False, field: str = "email") -> str:
    """normalise_email for the many addresses of an imported file: a plain ASCII address is
    given as the validator would give it (its domain lower-cased) without calling it; any
    other goes through normalise_email, whose answer or refusal it then is."""
    found = _PLAIN.fullmatch(email)
    if found is not None and len(email) <= 254 and email.index("@") <= 64:
        domain = found.group(1)
        if domain.rpartition(".")[2].lower() not in _SPECIAL:
            return email if domain.islower() else f"{email[:found.start(1)]}{domain.lower()}"
    return normalise_email(email, smtputf8, field)


def needs_smtputf8(email: str) -> bool:
    """Whether mail to (or from) this address needs the relay's SMTPUTF8 extension."""
    return not email.isascii()


def check_address(address: Mapping[str, str]) -> dict[str, str]:
    """The address with each field cleaned (store.text) and its country as an ISO 3166 code;
    unknown fields, control characters and a country that is not one are refused, naming
    the field."""
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(f"unknown address field {name!r}", field=name)
    cleaned = {name: clean(str(value), name) for name, value in address.items()}
    if cleaned.get("country"):
        cleaned["country"] = country_code(cleaned["country"])
    return cleaned


@functools.cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English name, from pycountry (the maintained ISO data).
    Loaded on first use: reading it costs ~60 ms, which commands that never see an address
    should not pay at start-up."""
    import pycountry

    return {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}


def country_code(text: str) -> str:
    """The ISO code of a country typed as its code (`fr`), its name (`France`) or as the app
    offers it (`France (FR)`); refused, naming the field, when it is none of them."""
    known = countries()
    value = text.strip()
    offered = (re.fullmatch(r".*\(([A-Za-z]{2})\)", value)
               or re.fullmatch(r"([A-Za-z]{2}) \(.*\)", value))
    if offered:
        value = offered.group(1)
    if value.upper() in known:
        return value.upper()
    folded = value.casefold()
    for code, name in known.items():
        if name.casefold() == folded:
            return code
    raise ValidationError(f"{value!r} is not a country: give its ISO 3166 code, like FR or DE, "
                          "or its name", field="country")


def country_suggestion(text: str) -> str | None:
    """What the app offers for a country being typed: `Brazil (BR)` for "bra" or "br"."""
    value = text.strip().casefold()
    if not value:
        return None
    known = countries()
    if len(value) <= 2:
        for code, name in sorted(known.items()):
            if code.casefold().startswith(value):
                return f"{code} ({name})"
    for code, name in sorted(known.items(), key=lambda item: item[1]):
        if name.casefold().startswith(value):
            return f"{name} ({code})"
    return None


def check_country(code: str, field: str = "country") -> str:
    """A country given as its ISO 3166-1 alpha-2 code (FR, DE) only, upper-cased: what the
    HTTP API takes; a code that names no country (`XX`, `UK`: the code is GB) is refused,
    naming the field."""
    upper = code.strip().upper()
    if len(upper) != 2 or not upper.isascii() or not upper.isalpha() or upper not in countries():
        raise ValidationError(f"country must be a two-letter ISO 3166 code like FR or GB, not "
                              f"{shown(code)}", field=field)
    return upper


def customer_address(customer_id: int, kind: str) -> dict[str, str] | None:
    """The customer's address of that kind, to copy onto a new order (which then keeps it)."""
    row = Address.get_or_none(Address.customer == customer_id, Address.kind == kind)
    return {f: getattr(row, f) for f in ADDRESS_FIELDS} if row else None
