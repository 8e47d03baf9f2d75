"""The app's one status-change flow, for one order (the detail) or many (the queue): pick the
status, preview what would change (many), apply in one transaction, tell what happened.
The store describes the change (store.status.StatusChange.describe); this shows it. Archiving
many orders from the queue is previewed and told the same way (store.archive)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from store import archive, carriers
from store.status import Description, StatusChange, change_status
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.status import StatusDialog
from tui.workers import run_db

if TYPE_CHECKING:
    from tui.screens.base import BackroomScreen

MAX_REFUSALS_SHOWN = 200


def description_text(description: Description, *, whole: bool = True) -> Text:
    """A change's moves, mails and refusals as the dialogs show them (reasons as text);
    only the refusals unless `whole`."""
    body = Text()
    for line in description.moves if whole else ():
        body.append(f"{line}\n")
    if whole and description.mails:
        body.append(f"{description.mails}\n")
        if description.invoices:
            body.append(f"{description.invoices}\n")
    refusals = description.refusals
    if refusals:
        body.append(f"\n{len(refusals):,} refused:\n", style="bold red")
        for code, reason in refusals[:MAX_REFUSALS_SHOWN]:
            body.append(f"{code}: ", style="bold")
            body.append(f"{reason}\n")
        if len(refusals) > MAX_REFUSALS_SHOWN:
            body.append(f"… and {len(refusals) - MAX_REFUSALS_SHOWN:,} more\n")
    return body


async def change_status_flow(screen: BackroomScreen, ids: Sequence[int],
                             from_statuses: Iterable[str], versions: Mapping[int, int], *,
                             preview: bool, shipping_method: str | None = None,
                             tracking: str = "") -> StatusChange | None:
    """Run from an async worker of `screen`. Returns the change applied, or None when the
    operator cancelled or nothing would change."""
    app = screen.backroom
    wf = app.shop.workflow
    default = str(app.config.get("shipping", "default_carrier"))
    choice = await app.push_screen_wait(StatusDialog(
        wf, from_statuses, len(ids), shipping_method=shipping_method, tracking=tracking,
        default_carrier=carriers.label(app.config.carriers, default) if default else ""))
    if choice is None:
        return None
    args = (app.shop, app.actor, list(ids), choice.status)
    # a number typed in the dialog of many orders is for all of them: its placeholder says
    # so, and the preview names it before anything changes
    options = {"notify": choice.notify, "tracking": choice.tracking, "carrier": choice.carrier,
               "message": choice.message,
               "shared_tracking": len(ids) > 1 and bool(choice.tracking),
               "expected_versions": dict(versions)}
    if preview:
        with screen.busy("preview…"):
            planned = await run_db(change_status, *args, dry_run=True, **options)
        described = planned.describe(wf)
        if not planned.changed:
            await app.push_screen_wait(ConfirmDialog("Nothing would change",
                                                     description_text(described), ok_only=True))
            return None
        if not await app.push_screen_wait(ConfirmDialog(f"Preview: {described.headline}",
                                                        description_text(described),
                                                        yes="Apply")):
            return None
    with screen.busy(f"applying to {len(ids):,} order(s)…"):
        result = await run_db(change_status, *args, **options)
    described = result.describe(wf)
    if result.changed:
        app.remember_change(result.batch, described.headline)
        app.notify(f"{described.headline} (z undoes)", title="Status")
    if result.refused and len(ids) == 1:
        code, reason = described.refusals[0]
        app.notify(f"{code}: {reason}", title="Refused", severity="error")
    elif result.refused:
        await app.push_screen_wait(ConfirmDialog(
            f"{len(result.refused):,} refused", description_text(described, whole=False),
            ok_only=True))
    app.broadcast_change(described.headline)
    return result


async def archive_flow(screen: BackroomScreen, ids: Sequence[int],
                       archived: bool = True) -> archive.Archiving | None:
    """Archive (or unarchive) many orders from an async worker of `screen`: the preview
    (what is archived, what is refused because it is not final), then one transaction.
    Returns what was done, or None when the operator cancelled or nothing would change."""
    app = screen.backroom
    wf = app.shop.workflow
    with screen.busy("preview…"):
        planned = await run_db(archive.set_archived, app.shop, app.actor, ids, archived,
                               dry_run=True)
    described = planned.describe(wf)
    if not planned.changed:
        await app.push_screen_wait(ConfirmDialog("Nothing would change",
                                                 description_text(described), ok_only=True))
        return None
    verb = "Archive" if archived else "Unarchive"
    if not await app.push_screen_wait(ConfirmDialog(f"Preview: {described.headline}",
                                                    description_text(described), yes=verb)):
        return None
    with screen.busy(f"{verb.lower()[:-1]}ing {len(planned.changed):,} order(s)…"):
        result = await run_db(archive.set_archived, app.shop, app.actor,
                              [r.order_id for r in planned.changed], archived)
    headline = result.describe(wf).headline
    app.notify(headline[0].upper() + headline[1:], title=verb)
    app.broadcast_change(headline)
    return result
