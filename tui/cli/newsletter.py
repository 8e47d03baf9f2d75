"""`backroom newsletter ...`: subscribers (list, show, add, import, unsubscribe, suppress),
bounces (read from a mailbox) and campaigns (create, preview, test, schedule, send, pause,
resume, cancel, stats, list). Every
command is one call into the store (managers change, clerks look); those that send have a
--dry-run that says what would go and sends nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mailer.bounce_mailbox import ImapBox, read_file
from mailer.campaign_preview import preview
from mailer.campaigns import send_test
from store import (
    bounce_reports,
    bounces,
    campaign_prep,
    campaign_queries,
    campaign_report,
    campaigns,
    subscriber_import,
    subscriber_queries,
    subscribers,
)
from store.money import format_money, major
from store.operators import require
from store.text import printable
from tui.cli.common import (
    FORMATS,
    BackroomGroup,
    CliState,
    cut_at_limit,
    emit,
    json_text,
    pass_state,
)


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
    """Subscribers, newest first, with their consent record; each word of QUERY is found in
    the address or the name, accents and case forgiven ("sorensen" finds Sørensen)."""
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
    cut_at_limit(len(rows), "subscribers", cursor is not None)
    if fmt == "table":
        counts = subscriber_queries.state_counts(state.actor)
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))


@subscribers_group.command("show")
@click.argument("subscriber")
@pass_state
def subscribers_show(state: CliState, subscriber: str) -> None:
    """One address (or id): its consent, its state, its suppression (the reason and when) and
    its bounces and complaints."""
    d = subscriber_queries.subscriber_detail(state.actor, subscriber)
    r = d.subscriber
    lines = [f"email:        {d.email}"]
    if r is None:
        lines.append("subscriber:   none (only on the suppression list)")
    else:
        lines += [f"name:         {r.name}", f"state:        {r.state}"
                  + (f" since {_when(r.state_at)} ({r.state_how})" if r.state_at else ""),
                  f"consent:      {r.consent_source}, {_when(r.consent_at)}: {r.consent_text}"]
    if d.suppressed is not None:
        s = d.suppressed
        lines.append(f"suppressed:   {s.reason} since {_when(s.at)} (by {s.by})"
                     + (f": {s.detail}" if s.detail else ""))
    else:
        lines.append("suppressed:   no")
    lines.append(f"bounces:      {len(d.bounces) or 'none'}")
    lines += [f"  {_when(b.at)}  {b.kind:<9} {b.status:<6} {b.campaign or '-'}  {b.detail}"
              for b in d.bounces]
    click.echo(printable("\n".join(lines), multiline=True))


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


@newsletter_group.command("bounces")
@click.argument("file", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--imap", is_flag=True,
              help="Read the unseen messages of newsletter.imap_host's folder instead.")
@click.option("--dry-run", is_flag=True, help="Say what would be recorded; change nothing.")
@click.option("--quiet", is_flag=True, help="Only the summary, not a line per address.")
@pass_state
def newsletter_bounces(state: CliState, file: Path | None, imap: bool, dry_run: bool,
                       quiet: bool) -> None:
    """Read bounces (DSN) and complaints (ARF) from FILE (an mbox or one .eml) or --imap: a
    complaint or a hard bounce suppresses the address for good, soft bounces after
    newsletter.soft_bounce_limit in newsletter.soft_bounce_days."""
    require(state.actor, "newsletter")
    if bool(file) == imap:
        raise click.UsageError("give a FILE (an mbox or an .eml) or --imap, one of them")
    box = ImapBox(state.config) if imap else None
    try:
        uids: list[str] = []
        reports: list[bounce_reports.Report] = []
        if box is not None:
            for uid, raw in box.unseen():
                uids.append(uid)
                reports += bounce_reports.read(raw)
        else:
            assert file is not None
            for raw in read_file(file):
                reports += bounce_reports.read(raw)
        run = bounces.record(state.shop, state.actor, reports, dry_run)
        if box is not None and not dry_run:
            box.mark_seen(uids)
    finally:
        if box is not None:
            box.close()
    if not quiet:
        for o in run.outcomes:
            where = f" (campaign #{o.campaign_id})" if o.campaign_id else ""
            click.echo(printable(f"{o.email or '(no address)'}: {o.kind or '-'} {o.status}"
                                 f"{where}: {o.said}"))
    click.echo(run.summary() + ("; nothing changed (dry run)" if dry_run else ""))


@newsletter_group.command("import", hidden=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wording", default="")
@click.option("--dry-run", is_flag=True)
@click.pass_context
def newsletter_import(ctx: click.Context, file: Path, wording: str, dry_run: bool) -> None:
    """`backroom newsletter import FILE.csv`: the same as `subscribers import`."""
    ctx.invoke(subscribers_import, file=file, wording=wording, dry_run=dry_run)


# ----- campaigns -----------------------------------------------------------------------------

@newsletter_group.group("campaign", cls=BackroomGroup)
def campaign_group() -> None:
    """Campaigns: create, edit, list, preview, test, schedule, send, pause, resume, cancel,
    stats."""


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path} cannot be read as UTF-8 text: {exc}") from None


@campaign_group.command("create")
@click.argument("name")
@click.option("--subject", required=True)
@click.option("--body", "body_text", default="",
              help="The message, in the built-in template (paragraphs at blank lines).")
@click.option("--html", "html_file", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="A custom HTML document as the body.")
@click.option("--text", "text_file", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="A plain-text body (no HTML part).")
@click.option("--text-part", "text_part", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path),
              help="The text part beside an HTML body (made from the HTML when left out).")
@click.option("--audience", default="",
              help="A customer filter (segment:vip, group:NAME, words); empty: every "
                   "subscriber.")
@click.option("--sender-name", default="")
@click.option("--sender-email", default="")
@click.option("--track", is_flag=True,
              help="Record opens (a pixel) and clicks (links through /c/) of its mails.")
@click.option("--subject-b", default="",
              help="A second subject: a subject A/B test on a sample of the audience.")
@click.option("--ab-sample", default=campaigns.AB_SAMPLE, show_default=True,
              help="The test's sample, in percent of the audience (half gets each subject).")
@click.option("--ab-wait", default=campaigns.AB_WAIT_MINUTES, show_default=True,
              help="Minutes after the start before the winner is chosen.")
@click.option("--ab-metric", type=click.Choice(["clicks", "orders"]), default="clicks",
              show_default=True, help="How the winner is chosen.")
@pass_state
def campaign_create(state: CliState, name: str, subject: str, body_text: str,
                    html_file: Path | None, text_file: Path | None, text_part: Path | None,
                    audience: str, sender_name: str, sender_email: str, track: bool,
                    subject_b: str, ab_sample: int, ab_wait: int, ab_metric: str) -> None:
    """Create a draft campaign NAME; its merge tags ({firstname}, {lastname}, {email},
    {unsubscribe_url}, with a default: {firstname|there}) are checked now."""
    given = [k for k, v in (("--body", body_text), ("--html", html_file),
                            ("--text", text_file)) if v]
    if len(given) != 1:
        raise click.UsageError("give the body once: --body TEXT, --html FILE or --text FILE")
    kind = {"--body": "template", "--html": "html", "--text": "text"}[given[0]]
    body = body_text or _read(html_file) or _read(text_file)
    ref = campaigns.create_campaign(
        state.shop, state.actor, name=name, subject=subject, body=body, body_kind=kind,
        text_body=_read(text_part), audience_text=audience, sender_name=sender_name,
        sender_email=sender_email, track=track, subject_b=subject_b,
        ab_sample=ab_sample if subject_b else 0, ab_wait_minutes=ab_wait, ab_metric=ab_metric)
    for warning in campaigns.subject_warnings(subject) + (
            campaigns.subject_warnings(subject_b) if subject_b else []):
        click.echo(f"warning: {warning}")
    count = campaign_queries.audience_now(state.shop, state.actor, str(ref.id))
    click.echo(f"campaign {ref.name!r} (#{ref.id}) created as a draft; it would go to "
               f"{count} subscriber(s) now")


@campaign_group.command("edit")
@click.argument("name")
@click.option("--name", "new_name", default=None, help="A new name.")
@click.option("--subject", default=None)
@click.option("--body", "body_text", default=None,
              help="The message, in the built-in template (the body becomes a template one).")
@click.option("--html", "html_file", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="A custom HTML document as the body.")
@click.option("--text", "text_file", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="A plain-text body (no HTML part).")
@click.option("--text-part", "text_part", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path),
              help="The text part beside an HTML body.")
@click.option("--audience", default=None, help="A customer filter; 'all': every subscriber.")
@click.option("--sender-name", default=None)
@click.option("--sender-email", default=None)
@click.option("--track/--no-track", default=None, help="Record opens and clicks, or not.")
@click.option("--subject-b", default=None, help="A second subject ('' ends the A/B test).")
@click.option("--ab-sample", type=int, default=None, help="The A/B test's sample, in percent.")
@click.option("--ab-wait", type=int, default=None, help="Minutes before the winner is chosen.")
@click.option("--ab-metric", type=click.Choice(["clicks", "orders"]), default=None)
@pass_state
def campaign_edit(state: CliState, name: str, new_name: str | None, subject: str | None,
                  body_text: str | None, html_file: Path | None, text_file: Path | None,
                  text_part: Path | None, audience: str | None, sender_name: str | None,
                  sender_email: str | None, track: bool | None, subject_b: str | None,
                  ab_sample: int | None, ab_wait: int | None, ab_metric: str | None) -> None:
    """Change a draft or scheduled campaign NAME in place: only the options given change,
    and the whole is checked again as at create."""
    bodies = [(kind, value) for kind, value in (("template", body_text), ("html", html_file),
                                                ("text", text_file)) if value is not None]
    if len(bodies) > 1:
        raise click.UsageError("give the body once: --body TEXT, --html FILE or --text FILE")
    fields: dict[str, Any] = {
        key: value for key, value in (
            ("name", new_name), ("subject", subject), ("audience_text", audience),
            ("sender_name", sender_name), ("sender_email", sender_email), ("track", track),
            ("subject_b", subject_b), ("ab_sample", ab_sample), ("ab_wait_minutes", ab_wait),
            ("ab_metric", ab_metric)) if value is not None}
    if bodies:
        kind, value = bodies[0]
        fields["body_kind"] = kind
        fields["body"] = value if isinstance(value, str) else _read(value)
    if text_part is not None:
        fields["text_body"] = _read(text_part)
    if not fields:
        raise click.UsageError("say what to change: --subject, --body, --audience, ... "
                               "(see --help)")
    ref = campaigns.update_campaign(state.shop, state.actor, name, **fields)
    for warning in campaigns.subject_warnings(fields.get("subject", "")) + (
            campaigns.subject_warnings(fields.get("subject_b", ""))):
        click.echo(f"warning: {warning}")
    count = campaign_queries.audience_now(state.shop, state.actor, str(ref.id))
    click.echo(f"campaign {ref.name!r} (#{ref.id}) saved; it would go to {count} "
               "subscriber(s) now")


@campaign_group.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def campaign_list(state: CliState, fmt: str) -> None:
    """Campaigns, newest first, with their state and counts."""
    rows = [{"id": r.id, "name": r.name, "state": r.state, "subject": r.subject,
             "audience": r.audience, "scheduled": _when(r.scheduled_at),
             "recipients": r.recipients, "sent": r.sent, "unsubscribed": r.unsubscribed}
            for r in campaign_queries.campaign_list(state.actor)]
    emit(rows, ["id", "name", "state", "subject", "audience", "scheduled", "recipients", "sent",
                "unsubscribed"], fmt)


def _body(state: CliState, name: str) -> Any:
    return campaign_queries.body_of(state.actor, name)


@campaign_group.command("preview")
@click.argument("name")
@click.option("--as", "as_email", default="",
              help="A subscriber's address: the campaign as they would get it.")
@pass_state
def campaign_preview(state: CliState, name: str, as_email: str) -> None:
    """Print the campaign as a recipient gets it: subject, text part, and the text rendering
    of its HTML part."""
    body = _body(state, name)
    who = campaign_queries.recipient(state.actor, as_email) if as_email else None
    shown = preview(state.config, body, who)
    click.echo(printable(f"Subject: {shown.subject}"))
    click.echo(f"To: {printable(shown.to)}\n")
    click.echo(printable(shown.text, multiline=True))
    if shown.html_as_text:
        click.echo("----- the HTML part, as text -----")
        click.echo(printable(shown.html_as_text, multiline=True))


@campaign_group.command("test")
@click.argument("name")
@click.option("--to", "extra", multiple=True, help="Another address (repeatable).")
@click.option("--as", "as_email", default="", help="Fill the merge tags as for this subscriber.")
@click.option("--dry-run", is_flag=True, help="Say where it would go; send nothing.")
@pass_state
def campaign_test(state: CliState, name: str, extra: tuple[str, ...], as_email: str,
                  dry_run: bool) -> None:
    """Send the campaign, subject marked [TEST], to your own address (`backroom operator
    email`), newsletter.test_addresses and any --to."""
    addresses = campaign_prep.test_addresses(state.config, state.actor, extra)
    body = _body(state, name)
    who = campaign_queries.recipient(state.actor, as_email) if as_email else None
    results = send_test(state.config, body, addresses, who.first_name if who else "",
                        who.last_name if who else "", dry_run)
    failed = False
    for r in results:
        click.echo(printable(f"{r.address}: {r.outcome}"))
        failed |= r.outcome not in ("sent", "would be sent")
    if failed:
        raise SystemExit(1)


@campaign_group.command("schedule")
@click.argument("name")
@click.argument("when")
@pass_state
def campaign_schedule(state: CliState, name: str, when: str) -> None:
    """Send NAME at WHEN ("2026-05-01 09:00"), in the shop's time zone (shop.time_zone)."""
    at = campaigns.schedule(state.shop, state.actor, name, when)
    count = campaign_queries.audience_now(state.shop, state.actor, name)
    click.echo(f"campaign {name!r} scheduled for {when} {state.config.get('shop', 'time_zone')}"
               f" ({at:%Y-%m-%d %H:%M} UTC); {count} subscriber(s) now")


@campaign_group.command("send")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Count the recipients; send nothing.")
@pass_state
def campaign_send(state: CliState, name: str, dry_run: bool) -> None:
    """Send NAME now: its recipients are written and `backroom worker` sends them at
    newsletter.max_per_second, after any order mail."""
    count = campaign_queries.audience_now(state.shop, state.actor, name)
    if dry_run:
        require(state.actor, "newsletter")
        click.echo(f"campaign {name!r} would go to {count} subscriber(s); nothing sent")
        return
    queued = campaigns.start(state.shop, state.actor, name)
    click.echo(f"campaign {name!r} is sending: {queued} recipient(s) queued")


@campaign_group.command("pause")
@click.argument("name")
@pass_state
def campaign_pause(state: CliState, name: str) -> None:
    """Stop sending NAME for now (resume goes on where it stopped)."""
    campaigns.pause(state.shop, state.actor, name)
    click.echo(f"campaign {name!r} paused")


@campaign_group.command("resume")
@click.argument("name")
@pass_state
def campaign_resume(state: CliState, name: str) -> None:
    """Send NAME again where it stopped (a pause, yours or its own on bounces)."""
    campaigns.resume(state.shop, state.actor, name)
    click.echo(f"campaign {name!r} sending again")


@campaign_group.command("cancel")
@click.argument("name")
@pass_state
def campaign_cancel(state: CliState, name: str) -> None:
    """Nothing more of NAME goes."""
    withdrawn = campaigns.cancel(state.shop, state.actor, name)
    click.echo(f"campaign {name!r} cancelled; {withdrawn} mail(s) not sent")


@campaign_group.command("stats")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_state
def campaign_stats(state: CliState, name: str, fmt: str) -> None:
    """Recipients, sent, failed, bounced, complaints, opens and clicks (people, and machines
    apart), unsubscribed, conversions (orders within newsletter.conversion_days of a click,
    with revenue); rates beside the guides."""
    report = campaign_report.campaign_report(state.shop, state.actor, name)
    r, t = report.row, report.tracked
    data: dict[str, Any] = {
        "campaign": r.name, "state": r.state, "recipients": r.recipients,
        **{k: r.counts.get(k, 0) for k in ("queued", "sending", "sent", "skipped",
                                            "cancelled")},
        "failed": report.failed, "bounced": report.bounced, "complaints": report.complaints,
        "tracked": r.track,
        "opened": t.opened if t else None, "machine_opens": t.machine_opens if t else None,
        "clicked": t.clicked if t else None, "clicks": t.click_events if t else None,
        "machine_clicks": t.machine_clicks if t else None,
        "unsubscribed": report.unsubscribed, "conversions": report.orders,
        "revenue": {c: major(v, c) for c, v in report.revenue.items()},
        "rates": {x.name: {"value": x.value, "guide": x.guide, "verdict": x.verdict}
                  for x in report.rates},
        "audience_now": campaign_queries.audience_now(state.shop, state.actor, name)}
    if r.paused_reason:
        data["why_paused"] = r.paused_reason
    ab = report.ab
    if ab is not None:
        data["ab_test"] = {"subject_a": ab.subject_a, "subject_b": ab.subject_b,
                           "sample_percent": ab.sample, "by": ab.metric,
                           "decide_at": _when(ab.decide_at), "winner": ab.winner,
                           "result": ab.result}
    if fmt == "json":
        click.echo(json_text(data))
        return
    rates = {x.name: x for x in report.rates}

    def rate(name: str) -> str:
        x = rates[name]
        if x.value is None:
            return ""
        return f" ({x.value:.1%}; guide {x.guide}: {x.verdict})"

    lines = [("campaign", f"{r.name} (#{r.id})"),
             ("state", r.state + (f": {r.paused_reason}" if r.paused_reason else "")),
             ("recipients", f"{r.recipients:,}"), ("sent", f"{data['sent']:,}"),
             ("to go", f"{data['queued'] + data['sending']:,}"),
             ("skipped", f"{data['skipped']:,} (left before their turn)"),
             ("failed", f"{report.failed:,} (refused at sending, or given up)"),
             ("bounced", f"{report.bounced:,} (reported later)"),
             ("complaints", f"{report.complaints:,}")]
    if t is None:
        lines.append(("opens, clicks", "not tracked"))
    else:
        lines += [("opened", f"{t.opened:,} people{rate('open')}; {t.machine_opens:,} "
                             "by machines, not counted"),
                  ("clicked", f"{t.clicked:,} people, {t.click_events:,} clicks"
                              f"{rate('click')}; {t.machine_clicks:,} by machines"),
                  ("conversions", f"{report.orders:,} order(s) within "
                                  f"{report.conversion_days} days of a click"
                                  + "".join(f", {format_money(v, c, grouping=True)}"
                                            for c, v in sorted(report.revenue.items())))]
    if ab is not None:
        lines += [("subject A", ab.subject_a), ("subject B", ab.subject_b),
                  ("A/B test", f"{ab.sample}% sample, by {ab.metric}: "
                               + (ab.result if ab.winner else
                                  f"the winner is chosen from {_when(ab.decide_at)} UTC"))]
    lines += [("unsubscribed", f"{report.unsubscribed:,}{rate('unsubscribe')}"),
              ("audience now", f"{data['audience_now']:,}")]
    for key, value in lines:
        click.echo(printable(f"{key + ':':<15}{value}"))


COMMANDS: list[click.Command] = [newsletter_group]
