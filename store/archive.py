"""Archiving: many orders moved out of the current queue (or back) in one transaction, and
the preview every front end shows before it (what is archived, what is refused and why), told
like a status change (store.status.Description).

Written-out SQL (see store.sql): archiving the completed orders of years is thousands of
orders at once; their history rows are one INSERT ... SELECT and the orders one UPDATE."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from store import db as dbmod
from store import events_log
from store.models import OrderEvent, db, utcnow
from store.operators import Actor, require
from store.order_rows import OrderResult
from store.shop import Shop
from store.sql import id_source, id_value, insert_select, named
from store.status import Description
from store.workflow import Workflow


@dataclass(frozen=True)
class Archiving:
    """What archiving (or unarchiving) some orders did, or would do in a dry run."""

    results: tuple[OrderResult, ...]
    archived: bool = True  # False: unarchiving
    dry_run: bool = False

    @property
    def changed(self) -> list[OrderResult]:
        return [r for r in self.results if r.changed]

    @property
    def refused(self) -> list[OrderResult]:
        return [r for r in self.results if not r.changed]

    def summary(self) -> str:
        """One line: "48 archived, 2 refused" ("would be archived" in a dry run)."""
        verb = "archived" if self.archived else "unarchived"
        if self.dry_run:
            verb = f"would be {verb}"
        return f"{len(self.changed):,} {verb}, {len(self.refused):,} refused"

    def describe(self, workflow: Workflow) -> Description:
        """The preview or the result, as a status change is told: one line per status of
        the orders archived, no mail, each refusal with its reason."""
        counts: dict[str, int] = {}
        for r in self.changed:
            counts[r.from_status] = counts.get(r.from_status, 0) + 1
        verb = "archived" if self.archived else "back in the current orders"
        moves = tuple(f"{count:,} × {workflow.label(status)} {verb}"
                      for status, count in sorted(counts.items()))
        return Description(self.summary(), moves, "no email is sent",
                           tuple((r.code, r.reason) for r in self.refused))


def final_refusal(workflow: Workflow) -> str:
    """Why an order that is not in a final status cannot be archived."""
    labels = ", ".join(workflow.label(k) for k in workflow.final_keys())
    return f"only orders in a final status ({labels}) can be archived"


def set_archived(shop: Shop, actor: Actor, order_ids: Sequence[int], archived: bool = True,
                 *, dry_run: bool = False) -> Archiving:
    """Archive (final statuses only) or unarchive orders, set-based in one transaction; each
    order is changed or refused with its reason. `dry_run` only says what would happen."""
    require(actor, "archive")
    ids = list(dict.fromkeys(int(i) for i in order_ids))
    finals = set(shop.workflow.final_keys())
    not_final = final_refusal(shop.workflow)
    params = {"ids": id_value(ids), "archived": archived, "login": actor.login,
              "now": utcnow(), "kind": "archived" if archived else "unarchived"}
    source = f"FROM {id_source('ids')} JOIN orders o ON o.id = pick.value"
    results: list[OrderResult] = []
    with db.atomic() if not dry_run else contextlib.nullcontext():
        lock = " FOR UPDATE OF o" if not dry_run and not dbmod.is_sqlite() else ""
        rows = db.execute_sql(f"SELECT o.id, o.code, o.status, o.archived {source} "
                              f"ORDER BY pick.key{lock}", params).fetchall() if ids else []
        for oid, code, status, is_archived in rows:
            if bool(is_archived) == archived:
                reason = "already archived" if archived else "not archived"
            elif archived and status not in finals:
                reason = not_final
            else:
                reason = ""
            results.append(OrderResult(oid, code, status, not reason, reason))
        changed = [r.order_id for r in results if r.changed]
        if changed and not dry_run:
            params["ids"] = id_value(changed)
            insert_select(OrderEvent, {
                "order": "o.id", "kind": named("kind"), "message": named("kind"),
                "operator_login": named("login"), "created_at": named("now"),
                "updated_at": named("now"),
            }, source + " ORDER BY pick.key", params)
            db.execute_sql(
                f"UPDATE orders SET archived = {named('archived')}, version = version + 1, "
                f"updated_at = {named('now')}, updated_by = {named('login')} "
                f"WHERE id IN (SELECT value FROM {id_source('ids')})", params)
    done = Archiving(tuple(results), archived, dry_run)
    if not dry_run:
        events_log.order_events("archived" if archived else "unarchived", actor.login,
                                [r.code for r in done.changed])
    return done
