"""Checks of what the store keeps derived from other rows (figures, indexes), for
`backroom check`: each recomputes its figures from the rows they come from and reports every
difference; those that can rebuild what they check say so, and `--repair` does it.

A check is one entry of CHECKS: a name, what it holds, `find(shop)` returning the
differences as lines an operator reads, and optionally `repair(shop)` that rebuilds what
`find` found wrong (in one transaction; it returns how many rows it rebuilt). To add one,
write the two functions in the store module of its idea and register them here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from store import customer_figures
from store.errors import ValidationError
from store.models import db
from store.operators import Actor, require
from store.shop import Shop


@dataclass(frozen=True)
class Check:
    name: str
    doc: str
    find: Callable[[Shop], list[str]]
    repair: Callable[[Shop], int] | None = None


@dataclass(frozen=True)
class CheckResult:
    """What one check found: its differences (none when all is well), whether `--repair`
    can rebuild it, and how many rows a repair rebuilt (None when none was asked)."""

    name: str
    doc: str
    differences: tuple[str, ...]
    repairable: bool
    repaired: int | None = None

    @property
    def ok(self) -> bool:
        return not self.differences or self.repaired is not None


FIGURE_NAMES = ("orders", "spent", "first order", "last order")


def _figures(shop: Shop) -> list[str]:
    lines = []
    for customer_id, stored, expected in customer_figures.differences(shop.currency):
        wrong = [f"{name} {have} (the orders say {want})"
                 for name, have, want in zip(FIGURE_NAMES, stored, expected, strict=True)
                 if str(have) != str(want)]
        lines.append(f"customer {customer_id}: {', '.join(wrong)}")
    return lines


def _repair_figures(shop: Shop) -> int:
    wrong = [customer_id for customer_id, _, _ in customer_figures.differences(shop.currency)]
    customer_figures.refresh(wrong, shop.currency)
    return len(wrong)


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    CHECKS[check.name] = check
    return check


register(Check("customer_figures",
               "each customer's orders, spent, first and last order match their real orders",
               _figures, _repair_figures))


def _chosen(names: Sequence[str]) -> list[Check]:
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValidationError(f"no check named {unknown[0]!r}; checks: {', '.join(CHECKS)}",
                              field="check")
    return [CHECKS[n] for n in (names or CHECKS)]


def run(shop: Shop, actor: Actor, names: Sequence[str] = (),
        repair: bool = False) -> list[CheckResult]:
    """Run the checks named (all by default); with `repair`, rebuild what each repairable one
    found wrong, in one transaction per check (an admin's action)."""
    require(actor, "repair" if repair else "read")
    results = []
    for check in _chosen(names):
        found = tuple(check.find(shop))
        repaired = None
        if repair and found and check.repair is not None:
            with db.atomic():
                repaired = check.repair(shop)
        results.append(CheckResult(check.name, check.doc, found, check.repair is not None,
                                   repaired))
    return results
