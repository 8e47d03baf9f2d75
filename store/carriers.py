"""Carriers: who takes a parcel, the public link that tracks it, and which tracking numbers
are theirs. The defaults below ship; `[carriers.NAME]` tables in config.toml add carriers or
replace one by its name, checked when the config loads.

Numbers are recognised with the `tracking-numbers` package, whose definitions (patterns,
check digits, service codes) are generated from the maintained tracking_number_data
project: none is written here from memory. A recognised courier maps to the carrier whose
`recognises` names it (`ups`, `dhl`, `usps`, `fedex`, ...; `s10:FR` for UPU S10 numbers of
one country beats `s10` for any country). A USPS number scanned from its barcode carries
a routing prefix (420 and the destination ZIP, and a routing number in the long form): the
package's own pattern names those parts, and they are dropped from the number kept."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from store.errors import ConfigError, ValidationError
from store.text import control_character

_NAME = re.compile(r"[a-z0-9_]{1,32}")
_URL = re.compile(r"https://[^\s/?#{}]+\.[^\s/?#{}]+(?:[/?#]\S*)?")
_SPACE = re.compile(r"\s+")
# The parts of a USPS barcode before the tracking number proper, as the package's patterns
# name them.
_ROUTING_GROUPS = ("RoutingApplicationId", "DestinationZip", "RoutingNumber")


@dataclass(frozen=True)
class Carrier:
    """One carrier: its name in config (`key`), the label people read, the tracking link
    with `{tracking}` where the number goes ("" when it has no public page), and the
    tracking-numbers couriers it answers to."""

    key: str
    label: str
    tracking_url: str = ""
    recognises: tuple[str, ...] = ()

    def link(self, tracking: str) -> str:
        """The public tracking page of a number, or '' without a number or a template."""
        if not tracking or not self.tracking_url:
            return ""
        return self.tracking_url.replace("{tracking}", quote(tracking, safe=""))


LAPOSTE = "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}"
DEFAULTS: dict[str, Carrier] = {c.key: c for c in (
    Carrier("colissimo", "Colissimo", LAPOSTE, ("s10:FR",)),
    Carrier("la_poste", "La Poste", LAPOSTE),
    Carrier("chronopost", "Chronopost",
            "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={tracking}"),
    Carrier("dhl", "DHL", "https://www.dhl.com/track?tracking-id={tracking}", ("dhl",)),
    Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={tracking}", ("ups",)),
    Carrier("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
            ("usps", "s10:US")),
    Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={tracking}",
            ("fedex",)),
    Carrier("gls", "GLS", "https://gls-group.com/track/{tracking}"),
    Carrier("post", "Post (UPU S10)", "https://www.17track.net/en/track?nums={tracking}",
            ("s10",)),
)}


# ----- the config's [carriers.NAME] tables ---------------------------------------------------

def _couriers() -> set[str]:
    """The courier codes tracking-numbers knows (ups, dhl, usps, fedex, s10, ...)."""
    from tracking_numbers import DEFINITIONS

    return {d.courier.code for d in DEFINITIONS}


def _check_recognises(source: str, name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: carriers.{name}.recognises must be a list of strings, "
                          f"not {value!r}")
    known = _couriers()
    for code in value:
        courier, _, country = code.partition(":")
        if courier not in known or (country and (courier != "s10"
                                                 or not re.fullmatch(r"[A-Z]{2}", country))):
            raise ConfigError(
                f"{source}: carriers.{name}.recognises: {code!r} is not a courier of the "
                f"tracking-numbers data ({', '.join(sorted(known))}), or s10:CC with a "
                "two-letter country code")
    return tuple(value)


def from_config(table: Any, source: str = "config") -> dict[str, Carrier]:
    """The defaults with `[carriers.NAME]` tables added or replacing a default of that name.
    Each table: `label` (text), `tracking_url` (an https:// address holding {tracking} once,
    or "" for none), `recognises` (tracking-numbers couriers, optional)."""
    carriers = dict(DEFAULTS)
    if table is None:
        return carriers
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [carriers] must hold tables like [carriers.dhl]")
    for name, spec in table.items():
        where = f"{source}: carriers.{name}"
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{where}: a carrier's name is 1-32 lowercase letters, digits "
                              "or _ (like la_poste)")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a table with label and tracking_url")
        unknown = set(spec) - {"label", "tracking_url", "recognises"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: label, "
                              "tracking_url, recognises)")
        label: Any = spec.get("label", name)
        url: Any = spec.get("tracking_url", "")
        for key, value in (("label", label), ("tracking_url", url)):
            if not isinstance(value, str):
                raise ConfigError(f"{where}.{key} must be a string, not {value!r}")
            if control_character(value) is not None:
                raise ConfigError(f"{where}.{key} must be text without control characters")
        if not label.strip():
            raise ConfigError(f"{where}.label must not be empty")
        if url and (not _URL.fullmatch(url.replace("{tracking}", "x"))
                    or url.count("{tracking}") != 1
                    or url.replace("{tracking}", "").count("{")
                    or url.replace("{tracking}", "").count("}")):
            raise ConfigError(
                f"{where}.tracking_url must be an https:// address holding {{tracking}} once "
                f"(where the number goes) and no other braces, or \"\", not {url!r}")
        recognises = _check_recognises(source, name, spec.get("recognises", []))
        carriers[name] = Carrier(name, label.strip(), url, recognises)
    return carriers


def render_example() -> list[str]:
    """The commented [carriers] part of config.example.toml."""
    lines = ["# Carriers: each [carriers.NAME] adds a carrier or replaces the default of that",
             "# name. tracking_url holds {tracking} where the number goes (\"\": no link);",
             "# recognises lists the tracking-numbers couriers whose numbers are this carrier's",
             "# (ups, dhl, usps, fedex, s10 for any UPU S10 number, s10:FR for one country's).",
             "# The defaults: " + ", ".join(f"{c.key} ({c.label})" for c in DEFAULTS.values())
             + ".",
             "# [carriers.dpd]",
             '# label = "DPD"',
             '# tracking_url = "https://tracking.dpd.de/status/en_US/parcel/{tracking}"',
             "# recognises = []"]
    return lines


# ----- which carrier, which number -----------------------------------------------------------

def find(carriers: Mapping[str, Carrier], text: str) -> Carrier | None:
    """The carrier named by its key or its label (any case), or None."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for carrier in carriers.values():
        if wanted in (carrier.key.casefold(), carrier.label.casefold()):
            return carrier
    return None


def resolve(carriers: Mapping[str, Carrier], text: str, field: str = "carrier") -> str:
    """The key of the carrier `text` names; an unknown name is refused, naming the known."""
    carrier = find(carriers, text)
    if carrier is None:
        known = ", ".join(sorted(carriers))
        raise ValidationError(f"unknown carrier {text.strip()!r} (known: {known}; add "
                              "[carriers.NAME] to config.toml for another)", field=field)
    return carrier.key


def label(carriers: Mapping[str, Carrier], key: str) -> str:
    """What people read for a stored carrier: its label, or the text as stored."""
    carrier = find(carriers, key)
    return carrier.label if carrier is not None else key


def tracking_url(carriers: Mapping[str, Carrier], key: str, tracking: str) -> str:
    """The public tracking link of a number with this carrier ('' when unknown or none)."""
    carrier = find(carriers, key)
    return carrier.link(tracking) if carrier is not None else ""


@dataclass(frozen=True)
class Recognised:
    """A tracking number the data knows: the number to keep (spaces and a USPS routing
    prefix dropped), the courier and product the data names, and the carrier it maps to
    ('' when no carrier recognises that courier)."""

    number: str
    courier: str
    product: str
    carrier: str = ""


@functools.lru_cache(maxsize=1024)
def recognise_number(text: str) -> Recognised | None:
    """What the tracking-numbers data says a number is (the first valid definition), or
    None: a number that matches no definition, or fails its check digit."""
    from tracking_numbers import DEFINITIONS

    compact = _SPACE.sub("", text).upper()
    if not compact:
        return None
    for definition in DEFINITIONS:
        found = definition.test(compact)
        if found is None or not found.valid:
            continue
        match = definition.number_regex.fullmatch(compact)
        number, courier = compact, found.courier.code
        if match is not None:
            groups = match.groupdict()
            ends = [match.end(g) for g in _ROUTING_GROUPS if groups.get(g)]
            if ends:  # a USPS barcode: the number proper follows the routing parts
                number = compact[max(ends):]
            if courier == "s10" and groups.get("CountryCode"):
                courier = f"s10:{groups['CountryCode']}"
        return Recognised(number, courier, found.product.name)
    return None


def recognise(carriers: Mapping[str, Carrier], text: str) -> Recognised | None:
    """The number recognised, with the carrier that answers to its courier (for an S10
    number, a carrier naming its country first, then one naming any S10)."""
    found = recognise_number(text)
    if found is None:
        return None
    courier = found.courier
    for wanted in (courier, courier.partition(":")[0]):
        for carrier in carriers.values():
            if wanted in carrier.recognises:
                return Recognised(found.number, courier, found.product, carrier.key)
    return found


def decide(carriers: Mapping[str, Carrier], default: str, tracking: str,
           carrier: str | None, current: str = "") -> tuple[str, str]:
    """The tracking number to store and its carrier: the carrier given (by key or label),
    else the one the number is recognised as, else the default carrier, else the order's
    own (`current`). A recognised number is kept as recognised (USPS routing prefix and
    spaces dropped); any other exactly as given."""
    found = recognise(carriers, tracking)
    number = found.number if found is not None else tracking.strip()
    if carrier:
        return number, resolve(carriers, carrier)
    if found is not None and found.carrier:
        return number, found.carrier
    if default:
        return number, default
    return number, current
