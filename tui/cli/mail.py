"""Mail commands: `backroom worker`, `backroom mail check|preview`, `backroom outbox ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mailer import worker as workermod
from mailer.check import check_templates
from store import outbox as outboxmod
from store import outbox_queries
from store.codes import parse_code
from store.models import MAIL_STATES
from store.text import printable
from tui.cli.common import BackroomGroup, CliState, pass_state


@click.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@pass_state
def worker(state: CliState, once: bool) -> None:
    """Deliver the outbox over SMTP, and webhooks, until SIGTERM (several workers may share a
    database)."""
    state.service_shop()  # a service account, or an operator; opens and migrates the database
    if once:
        stats, hooks = workermod.deliver_all_once(state.config)
    else:
        click.echo(f"backroom worker: delivering to {state.config.get('smtp', 'host')}:"
                   f"{state.config.get('smtp', 'port')} and to the webhook endpoints; "
                   "SIGTERM or Ctrl+C stops", err=True)
        stats, hooks = workermod.run_service(state.config)
    click.echo(stats.summary())
    click.echo(hooks.summary())


@click.group(cls=BackroomGroup)
def mail() -> None:
    """Mail templates."""


@mail.command("check")
@pass_state
def mail_check(state: CliState) -> None:
    """Render every template with sample data; report errors by file and line."""
    problems, rendered = check_templates(state.config)
    for problem in problems:
        click.echo(problem)
    click.echo(f"{rendered} template(s) rendered, {len(problems)} error(s)")
    if problems:
        raise SystemExit(1)


@mail.command("preview")
@click.argument("event")
@click.option("--lang", "language", default=None,
              help="Language of the mail (default: the customer's, else the shop's).")
@click.option("--order", "order_code", default=None, metavar="CODE",
              help="The mail this order's customer would get now (default: sample data).")
@click.option("--out", "out", required=True, metavar="FILE.html",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML part; the subject and text part are printed.")
@pass_state
def mail_preview(state: CliState, event: str, language: str | None, order_code: str | None,
                 out: Path) -> None:
    """Write the mail EVENT as its customer would get it (open FILE.html in a browser)."""
    from mailer.preview import preview
    from mailer.render import RenderError

    shop = None
    if order_code is not None:  # a real customer's data: an operator's business
        shop = state.shop
        state.actor  # noqa: B018 (refuses a login that is not an operator)
    try:
        rendered = preview(state.config, shop.workflow if shop else _workflow(state),
                           event, language, order_code, shop)
    except RenderError as exc:
        raise click.ClickException(f"template error: {exc}") from None
    try:
        out.write_text(rendered.html, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"Subject: {rendered.subject}\n\n{rendered.text}", nl=False)
    click.echo(f"backroom: {rendered.language} HTML part written to {out}", err=True)


def _workflow(state: CliState) -> Any:
    from store import workflow as wfmod

    return wfmod.from_config(state.config.workflow, state.config.source)


@click.group(cls=BackroomGroup)
def outbox() -> None:
    """The outbox: list mails, retry a failed one, cancel a queued one."""


@outbox.command("list")
@click.option("--state", "mail_state", default=None, type=click.Choice(list(MAIL_STATES)),
              help="Only mails in this state.")
@click.option("--order", "order_code", default=None, help="Only the mails of this order.")
@click.option("--recipient", default="", help="Only mails whose recipient holds this text.")
@click.option("--limit", default=50, show_default=True)
@pass_state
def outbox_list(state: CliState, mail_state: str | None, order_code: str | None,
                recipient: str, limit: int) -> None:
    """Counts per state, then the newest mails."""
    state.actor  # noqa: B018 (an unknown login is refused before anything is read)
    where = outbox_queries.OutboxFilter(
        mail_state, parse_code(order_code, state.shop.prefix) if order_code else None,
        recipient.strip())
    counts = outbox_queries.outbox_counts()
    click.echo("  ".join(f"{k}: {counts[k]}" for k in MAIL_STATES))
    for row in outbox_queries.outbox_page(None, None, limit, where=where).rows:
        error = f"  {row.last_error}" if row.last_error and row.state != "sent" else ""
        click.echo(printable(f"#{row.id:<7} {row.state:<9} {row.attempts:>2}x "
                             f"{row.order_code:<12} {row.recipient:<30} "
                             f"{row.subject or row.kind}{error}"))


@outbox.command("show")
@click.argument("mail_id", type=int)
@pass_state
def outbox_show(state: CliState, mail_id: int) -> None:
    """Print a mail's subject and text part as the worker renders it now."""
    from mailer.preview import of_mail
    from mailer.render import RenderError

    shop = state.shop
    state.actor  # noqa: B018 (a customer's mail is an operator's business)
    try:
        rendered = of_mail(state.config, shop.workflow, mail_id)
    except RenderError as exc:
        raise click.ClickException(f"template error: {exc}") from None
    row = outbox_queries.get_mail(mail_id)
    click.echo(printable(f"To: {row.recipient}\nSubject: {rendered.subject}\n\n"
                         f"{rendered.text}", multiline=True), nl=False)


def _action(name: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("mail_ids", nargs=-1, type=int, required=True)
    @pass_state
    def command(state: CliState, mail_ids: tuple[int, ...]) -> None:
        action = getattr(outboxmod, f"{name}_mail")
        for mail_id in mail_ids:
            row = action(state.shop, state.actor, mail_id)
            click.echo(f"#{row.id} {row.state}: {row.recipient} {row.subject or row.kind}")

    return command


outbox.add_command(_action("retry", "Queue failed or dead mails again, due now."))
outbox.add_command(_action("cancel", "Withdraw mails not yet sent."))
outbox.add_command(_action("resend", "Queue a new copy of mails (e.g. a lost status mail)."))

COMMANDS: list[click.Command] = [worker, mail, outbox]
