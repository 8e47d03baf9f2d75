"""`backroom newsletter ...`: subscribers (list, add, import, unsubscribe, suppress) and
campaigns (create, preview, test, schedule, send, pause, resume, cancel, stats, list). Every
command is one call into the store (managers change, clerks look); those that send have a
--dry-run that says what would go and sends nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from store import subscriber_import, subscriber_queries, subscribers
from store.text import printable
from tui.cli.common import FORMATS, BackroomGroup, CliState, emit, pass_state


@click.group("newsletter", cls=BackroomGroup)
def newsletter_group() -> None:
    """The newsletter: subscribers and their consent, campaigns."""


@newsletter_group.group("subscribers", cls=BackroomGroup)
def subscribers_group() -> None:
    """Subscribers: list, add, import, unsubscribe, suppress."""


def _when(value: Any) -> str:
    return value.isoformat(" ", "minutes") if value else ""


@subscribers_group.command("list")
@click.argument("query", default="")
@click.option("--state", "state_name", default="",
              help="pending, subscribed, unsubscribed, bounced, complained or suppressed.")
@click.option("--limit", default=100, show_default=True, help="At most this many rows (0: all).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def subscribers_list(state: CliState, query: str, state_name: str, limit: int,
                     fmt: str) -> None:
    """Subscribers, newest first, with their consent record; QUERY matches the start of the
    address or a name."""
    rows: list[dict[str, Any]] = []
    cursor: int | None = None
    while True:
        want = 500 if limit <= 0 else min(500, limit - len(rows))
        page = subscriber_queries.subscriber_page(state.actor, query, state_name, cursor, want)
        rows += [{"id": r.id, "email": r.email, "name": r.name, "state": r.state,
                  "source": r.consent_source, "consent_at": _when(r.consent_at),
                  "consent": r.consent_text, "left": _when(r.state_at), "how": r.state_how,
                  "suppressed": r.suppressed} for r in page.rows]
        cursor = page.next_cursor
        if cursor is None or (limit > 0 and len(rows) >= limit):
            break
    columns = ["id", "email", "name", "state", "source", "consent_at", "consent", "left", "how",
               "suppressed"]
    if fmt == "table":
        columns = ["id", "email", "name", "state", "source", "consent_at", "suppressed"]
    emit(rows, columns, fmt)
    if fmt == "table":
        counts = subscriber_queries.state_counts(state.actor)
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))


@subscribers_group.command("add")
@click.argument("email")
@click.option("--wording", required=True,
              help="What the person agreed to (the form's sentence, the list): their consent.")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@pass_state
def subscribers_add(state: CliState, email: str, wording: str, first_name: str,
                    last_name: str) -> None:
    """Subscribe an address that opted in (told the shop so): source "operator"."""
    ref = subscribers.subscribe(state.shop, state.actor, email=email, source="operator",
                                wording=wording, first_name=first_name, last_name=last_name)
    click.echo(f"{ref.email}: {ref.state}" + ("" if ref.changed else " (no change)"))


@subscribers_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wording", default="",
              help="What these people agreed to, when the file has no consent text column.")
@click.option("--dry-run", is_flag=True, help="Read and check the file; write nothing.")
@pass_state
def subscribers_import(state: CliState, file: Path, wording: str, dry_run: bool) -> None:
    """Import FILE.csv: an email and a consent column are required (yes/no); rows without
    consent are refused and listed, never subscribed. Optional columns: first name, last
    name, consent date, consent text."""
    report = subscriber_import.import_subscribers(state.shop, state.actor, file, wording,
                                                  dry_run)
    if report.refusals:
        click.echo(f"refused ({report.refused:,}):")
        for r in report.refusals:
            click.echo(printable(f"  line {r.line}: {r.email or '(no address)'}: {r.reason}"))
        if report.refused > len(report.refusals):
            click.echo(f"  ... and {report.refused - len(report.refusals):,} more")
    click.echo(report.summary() + (f"; {report.customers_opted_in} customer(s) opted in"
                                   if report.customers_opted_in else ""))


@subscribers_group.command("unsubscribe")
@click.argument("subscriber")
@click.option("--how", default="", help="How they asked (kept with the state).")
@pass_state
def subscribers_unsubscribe(state: CliState, subscriber: str, how: str) -> None:
    """Unsubscribe SUBSCRIBER (an address or an id) at once."""
    ref = subscribers.unsubscribe(state.shop, state.actor, subscriber, how)
    click.echo(f"{ref.email}: {ref.state}" + ("" if ref.changed else " (no change)"))


@subscribers_group.command("suppress")
@click.argument("email")
@click.option("--reason", default="operator", show_default=True,
              help="complaint, hard bounce or operator.")
@click.option("--detail", default="")
@pass_state
def subscribers_suppress(state: CliState, email: str, reason: str, detail: str) -> None:
    """Never send a campaign to EMAIL again, whatever its consent."""
    subscribers.suppress(state.shop, state.actor, email, reason, detail)
    click.echo(f"{email}: suppressed ({reason})")


@newsletter_group.command("import", hidden=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wording", default="")
@click.option("--dry-run", is_flag=True)
@click.pass_context
def newsletter_import(ctx: click.Context, file: Path, wording: str, dry_run: bool) -> None:
    """`backroom newsletter import FILE.csv`: the same as `subscribers import`."""
    ctx.invoke(subscribers_import, file=file, wording=wording, dry_run=dry_run)


COMMANDS: list[click.Command] = [newsletter_group]
