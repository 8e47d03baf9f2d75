"""The order workflow as data: statuses, allowed transitions, mails and required inputs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from store.errors import ConfigError
from store.text import control_character

REQUIREMENTS = ("tracking",)
SHORT_MAX = 12  # a status's short label fits a list column at 80 columns
# Shipping methods whose orders never get a tracking number: the customer collects them.
NO_TRACKING_METHODS = ("pickup",)


@dataclass(frozen=True)
class Status:
    """One status of the workflow and what entering it means."""

    key: str
    label: str
    colour: str
    hotkey: str
    next: tuple[str, ...]
    mail: str | None
    may_pay: bool
    final: bool
    initial: bool = False
    requires: tuple[str, ...] = ()
    paid: bool = False  # entering it records the unpaid balance as a payment
    refunded: bool = False  # money went back: entered only by a refund to zero net paid
    short: str = ""  # what a list column and a status tab say (the label when empty)


@dataclass(frozen=True)
class Workflow:
    """A validated set of statuses; refuses transitions it does not list."""

    statuses: Mapping[str, Status]

    @property
    def initial(self) -> Status:
        return next(s for s in self.statuses.values() if s.initial)

    def __getitem__(self, key: str) -> Status:
        return self.statuses[key]

    def __contains__(self, key: object) -> bool:
        return key in self.statuses

    def keys(self) -> list[str]:
        return list(self.statuses)

    def label(self, key: str) -> str:
        status = self.statuses.get(key)
        return status.label if status else key

    def short(self, key: str) -> str:
        """The status as a column or a tab says it: its short label, else its label."""
        status = self.statuses.get(key)
        return (status.short or status.label) if status else key

    def allowed(self, from_key: str, to_key: str) -> bool:
        status = self.statuses.get(from_key)
        return status is not None and to_key in status.next

    def final_keys(self) -> list[str]:
        return [s.key for s in self.statuses.values() if s.final]

    def refunded_key(self) -> str | None:
        """The status a full refund moves an order to (the one with the `refunded` flag), if
        the workflow has one; no status change enters it."""
        return next((s.key for s in self.statuses.values() if s.refunded), None)

    def paid_target(self, from_key: str) -> str | None:
        """The status an order in `from_key` moves to once fully paid: a status with the
        `paid` flag that `from_key` may move to, when `from_key` lets the customer pay."""
        status = self.statuses.get(from_key)
        if status is None or not status.may_pay:
            return None
        return next((k for k in status.next if k in self.statuses and self.statuses[k].paid),
                    None)

    def shipping_keys(self) -> list[str]:
        """Statuses that mean the parcel left: those that need a tracking number."""
        return [s.key for s in self.statuses.values() if "tracking" in s.requires]

    def targets(self, from_statuses: Iterable[str]) -> list[Status]:
        """Every status that at least one of `from_statuses` may move to, in the order the
        workflow lists them after each source (what a status picker offers)."""
        keys: list[str] = []
        for source in dict.fromkeys(from_statuses):
            if source in self.statuses:
                keys += [k for k in self.statuses[source].next if k not in keys]
        return [self.statuses[k] for k in keys]

    def needs(self, key: str, *, shipping_method: str | None = None,
              tracking: str = "") -> tuple[str, ...]:
        """What an order must be given to enter `key`: a tracking number, unless it has one
        already or is collected by the customer (pickup). With shipping_method None (many
        orders at once) the status's requirement is given as it is."""
        status = self.statuses.get(key)
        if status is None:
            return ()
        needed = list(status.requires)
        if "tracking" in needed and (tracking or (shipping_method or "").strip().lower()
                                     in NO_TRACKING_METHODS):
            needed.remove("tracking")
        return tuple(needed)

    def resolve(self, text: str) -> str:
        """A status key from its key, label or hotkey, case-insensitively."""
        wanted = text.strip().lower().replace(" ", "_").replace("-", "_")
        for status in self.statuses.values():
            if wanted in (status.key, status.label.lower().replace(" ", "_"), status.hotkey):
                return status.key
        for status in self.statuses.values():
            if status.key.startswith(wanted) and wanted:
                return status.key
        raise ConfigError(
            f"unknown status {text!r}; statuses are: {', '.join(self.statuses)}"
        )


def _status(key: str, label: str, colour: str, hotkey: str, nxt: list[str], mail: str | None,
            may_pay: bool = False, final: bool = False, initial: bool = False,
            requires: tuple[str, ...] = (), paid: bool = False, refunded: bool = False,
            short: str = "") -> Status:
    return Status(key, label, colour, hotkey, tuple(nxt), mail, may_pay, final, initial, requires,
                  paid, refunded, short)


DEFAULT = Workflow({
    s.key: s
    for s in [
        _status("awaiting_payment", "Awaiting payment", "yellow", "a",
                ["awaiting_verification", "paid", "cancelled"], None, may_pay=True, initial=True,
                short="Unpaid"),
        _status("awaiting_verification", "Awaiting verification", "orange1", "v",
                ["paid", "cancelled"], "awaiting_verification", may_pay=True, short="To verify"),
        _status("paid", "Paid / processing", "green", "p",
                ["shipped", "cancelled", "refunded"], "payment_received", paid=True,
                short="Processing"),
        _status("shipped", "Shipped", "cyan", "s", ["completed", "refunded"], "shipped",
                requires=("tracking",)),
        _status("completed", "Completed", "blue", "c", ["refunded"], "completed", final=True),
        _status("cancelled", "Cancelled", "red", "x", [], "cancelled", final=True),
        _status("refunded", "Refunded", "magenta", "r", [], "refunded", final=True,
                refunded=True),
    ]
})


def from_config(table: Mapping[str, Any] | None, source: str = "config") -> Workflow:
    """Build the workflow from config's [workflow] table, or the default; refuse a broken one."""
    if not table:
        return DEFAULT
    raw = table.get("statuses")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"{source}: [workflow] needs a [workflow.statuses.<key>] table per status"
        )
    statuses: dict[str, Status] = {}
    for key, spec in raw.items():
        where = f"{source}: workflow.statuses.{key}"
        if not _KEY.fullmatch(key):
            raise ConfigError(f"{where}: a status key is letters, digits and _ "
                              "(it is typed in filters, like status:awaiting_payment)")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = set(spec) - set(_TYPES)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_TYPES))})"
            )
        for name, (kind, what) in _TYPES.items():
            if name in spec and not _is(spec[name], kind):
                raise ConfigError(f"{where}.{name} must be {what}, not {spec[name]!r}")
        for req in spec.get("requires", []):
            if req not in REQUIREMENTS:
                raise ConfigError(
                    f"{where}.requires: unknown input {req!r} (known: {', '.join(REQUIREMENTS)})"
                )
        label = spec.get("label", key.replace("_", " ").capitalize())
        colour = spec.get("colour", "white")
        hotkey = spec.get("hotkey", key[0])
        if not label.strip() or control_character(label) is not None:
            raise ConfigError(f"{where}.label must be a name to show, not {label!r}")
        short = spec.get("short", "")
        if control_character(short) is not None or len(short) > SHORT_MAX:
            raise ConfigError(f"{where}.short must be a name of at most {SHORT_MAX} "
                              f"characters to show, not {short!r}")
        if not is_colour(colour):
            raise ConfigError(f"{where}.colour must be a colour (a name like \"yellow\" or "
                              f"\"orange1\", or \"#rrggbb\"), not {colour!r}")
        if len(hotkey) != 1 or not hotkey.isprintable() or hotkey.isspace():
            raise ConfigError(f"{where}.hotkey must be one character, like \"a\", "
                              f"not {hotkey!r}")
        statuses[key] = Status(
            key=key,
            label=label,
            colour=colour,
            hotkey=hotkey,
            next=tuple(spec.get("next", [])),
            mail=spec.get("mail") or None,
            may_pay=spec.get("may_pay", False),
            final=spec.get("final", False),
            initial=spec.get("initial", False),
            requires=tuple(spec.get("requires", [])),
            paid=spec.get("paid", False),
            refunded=spec.get("refunded", False),
            short=short.strip(),
        )
    if not any("refunded" in spec for spec in raw.values()):
        statuses = _flag_refunded(statuses)
    return validate(Workflow(statuses), source)


def _flag_refunded(statuses: dict[str, Status]) -> dict[str, Status]:
    """A workflow written before the `refunded` flag existed: the status a full refund moved
    orders to (keyed `refunded`, else sending the `refunded` mail) gets the flag, so no
    status change can enter it there either."""
    key = next((s.key for s in statuses.values() if s.key == "refunded"), None) or next(
        (s.key for s in statuses.values() if s.mail == "refunded"), None)
    if key is None:
        return statuses
    return statuses | {key: replace(statuses[key], refunded=True)}


_KEY = re.compile(r"[A-Za-z0-9_]+")
# The type of each key of a status table, and how a refusal says it.
_TYPES: dict[str, tuple[str, str]] = {
    "label": ("str", "a string"),
    "short": ("str", "a string"),
    "colour": ("str", "a string"),
    "hotkey": ("str", "a string"),
    "mail": ("str", "a template event name (a string; \"\" for none)"),
    "next": ("list", "a list of status keys"),
    "requires": ("list", "a list (of \"tracking\")"),
    "may_pay": ("bool", "true or false"),
    "final": ("bool", "true or false"),
    "initial": ("bool", "true or false"),
    "paid": ("bool", "true or false"),
    "refunded": ("bool", "true or false"),
}


def _is(value: Any, kind: str) -> bool:
    """TOML's own types, strictly: "false" is a string, not a boolean."""
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def is_colour(text: str) -> bool:
    """Whether the screens can paint with this colour: they hand it to Rich as a style, so
    Rich's own parser is the check (rich is a dependency of its own, not Textual)."""
    from rich.color import Color, ColorParseError

    try:
        Color.parse(text)
    except ColorParseError:
        return False
    return True


def validate(workflow: Workflow, source: str = "config") -> Workflow:
    """Refuse unknown targets, no or several initial statuses, and unreachable statuses."""
    statuses = workflow.statuses
    initials = [s.key for s in statuses.values() if s.initial]
    if not initials:
        raise ConfigError(f"{source}: the workflow has no initial status (set initial = true)")
    if len(initials) > 1:
        raise ConfigError(f"{source}: the workflow has several initial statuses: {initials}")
    for status in statuses.values():
        for target in status.next:
            if target not in statuses:
                raise ConfigError(
                    f"{source}: workflow status {status.key!r} moves to unknown status {target!r}"
                )
    hotkeys: dict[str, str] = {}
    for status in statuses.values():
        if status.hotkey in hotkeys:
            raise ConfigError(
                f"{source}: statuses {hotkeys[status.hotkey]!r} and {status.key!r} "
                f"share the hotkey {status.hotkey!r}"
            )
        hotkeys[status.hotkey] = status.key
    seen = {initials[0]}
    stack = [initials[0]]
    while stack:
        for target in statuses[stack.pop()].next:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    refunded = [s.key for s in statuses.values() if s.refunded]
    if len(refunded) > 1:
        raise ConfigError(f"{source}: several workflow statuses are marked refunded: "
                          f"{refunded}; a full refund moves an order to one of them")
    for key in refunded:
        if statuses[key].initial or statuses[key].paid:
            raise ConfigError(
                f"{source}: workflow status {key!r} cannot be both refunded and "
                f"{'initial' if statuses[key].initial else 'paid'}: only a refund enters it")
    unreachable = [k for k in statuses if k not in seen]
    if unreachable:
        raise ConfigError(
            f"{source}: workflow status {unreachable[0]!r} is unreachable from "
            f"{initials[0]!r}"
        )
    return workflow
