"""`backroom log`: the shop log (every history event of the orders and the customers, newest
first), filtered by time, operator and kind of event, as the app's log screen shows it."""

from __future__ import annotations

from typing import Any

import click

from store import history_reads
from store.errors import ValidationError
from tui.cli.common import FORMATS, CliState, cut_at_limit, emit, pass_state

COLUMNS = ("when", "operator", "event", "of", "message")


@click.command("log")
@click.option("--since", default=None,
              help="From this moment on: 2026-11-05, '2026-11-05 14:30', today, yesterday, "
                   "or a time ago like 30m, 12h, 7d, 2w (UTC).")
@click.option("--operator", default="", help="Only what this operator (login) did.")
@click.option("--event", "kind", default="",
              help="Only this kind of event: status, refund, payment, note, mail_withdrawn...")
@click.option("--limit", default=100, show_default=True,
              help="At most this many events (0: all of them).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def log_group(state: CliState, since: str | None, operator: str, kind: str, limit: int,
              fmt: str) -> None:
    """The shop log: every event of the orders and customers, newest first."""
    state.actor  # noqa: B018 (an unknown login is refused before anything is read)
    if limit < 0:
        raise ValidationError("--limit: give a number of events, or 0 for all of them")
    where = history_reads.LogFilter(
        history_reads.parse_since(since) if since else None, operator.strip(),
        history_reads.event_kind(kind))
    rows: list[dict[str, Any]] = []
    cursor = None
    more = False
    while limit == 0 or len(rows) < limit:
        page = history_reads.shop_log(where, cursor,
                                      500 if limit == 0 else min(500, limit - len(rows)))
        for r in page.rows:
            message = r.text(state.shop.workflow.label)
            rows.append({"when": r.at.strftime("%Y-%m-%d %H:%M"), "operator": r.operator,
                         "event": r.kind,
                         "of": r.order_code if r.source == "order"
                         else (r.customer or f"customer #{r.customer_id}"),
                         "message": " ".join(message.split()) if fmt == "table" else message,
                         "source": r.source, "order": r.order_code,
                         "customer_id": r.customer_id, "at": r.at.isoformat()})
        more = page.next_cursor is not None
        if not more:
            break
        cursor = page.next_cursor
    if not rows and fmt == "table":
        click.echo(f"no event matches ({where.describe()})", err=True)
        return
    columns = COLUMNS if fmt == "table" else (*COLUMNS, "source", "order", "customer_id", "at")
    emit(rows, columns, fmt)
    cut_at_limit(len(rows), "events", more)


COMMANDS: list[click.Command] = [log_group]
