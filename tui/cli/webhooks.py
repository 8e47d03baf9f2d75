"""`backroom webhook ...`: the endpoints that hear of the shop's events (add, list, remove,
test, rotate-secret, enable, deliveries, retry). Delivery itself is `backroom worker`'s."""

from __future__ import annotations

import click

from store import webhook_outbox, webhook_queries, webhooks
from store.text import printable
from tui.cli.common import FORMATS, BackroomGroup, CliState, emit, pass_state


@click.group("webhook", cls=BackroomGroup)
def webhook_group() -> None:
    """Webhooks: signed HTTP posts of the shop's events (Standard Webhooks)."""


def _secret_lines(secret: str) -> None:
    click.echo(f"secret: {secret}")
    click.echo("  (shown once: give it to the receiver, which checks each webhook-signature "
               "with it)", err=True)


@webhook_group.command("add")
@click.argument("url")
@click.option("--events", required=True, metavar="E1,E2",
              help=f"Events to send, comma-separated: {', '.join(webhook_outbox.EVENTS)} "
                   "(or *).")
@click.option("--description", default="", help="What the endpoint is (till, accounting).")
@pass_state
def webhook_add(state: CliState, url: str, events: str, description: str) -> None:
    """Add an endpoint; prints its id and its whsec_ secret."""
    added = webhooks.add_endpoint(state.shop, state.actor, url, events.split(","), description)
    click.echo(f"webhook #{added.id}: {added.url} <- {', '.join(added.events)}")
    _secret_lines(added.secret)


@webhook_group.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def webhook_list(state: CliState, fmt: str) -> None:
    """The endpoints: state (a disabled one says why), events, deliveries by state."""
    state.actor  # noqa: B018 (an unknown login is refused before anything is read)
    rows = []
    for e in webhook_queries.endpoints():
        rows.append({
            "id": e.id, "state": e.state + (" (rotating)" if e.rotating else ""), "url": e.url,
            "events": ",".join(e.events), "queued": e.counts["queued"] + e.counts["sending"],
            "delivered": e.counts["delivered"], "failed": e.counts["failed"],
            "why": e.disabled_reason, "description": e.description})
    emit(rows, ["id", "state", "url", "events", "queued", "delivered", "failed", "why"], fmt)


@webhook_group.command("remove")
@click.argument("endpoint_id", type=int)
@pass_state
def webhook_remove(state: CliState, endpoint_id: int) -> None:
    """Remove an endpoint and its deliveries (those not yet delivered are dropped)."""
    dropped = webhooks.remove_endpoint(state.shop, state.actor, endpoint_id)
    click.echo(f"webhook #{endpoint_id} removed; {dropped} delivery(ies) not yet delivered "
               "were dropped")


@webhook_group.command("rotate-secret")
@click.argument("endpoint_id", type=int)
@pass_state
def webhook_rotate(state: CliState, endpoint_id: int) -> None:
    """A new secret; the old one signs beside it for webhooks.rotation_hours."""
    rotated = webhooks.rotate_secret(state.shop, state.actor, endpoint_id)
    hours = state.config.get("webhooks", "rotation_hours")
    click.echo(f"webhook #{rotated.id}: new secret; each webhook carries both signatures for "
               f"{hours} h")
    _secret_lines(rotated.secret)


@webhook_group.command("enable")
@click.argument("endpoint_id", type=int)
@pass_state
def webhook_enable(state: CliState, endpoint_id: int) -> None:
    """Turn a disabled endpoint back on; its failed deliveries go again."""
    again = webhooks.enable_endpoint(state.shop, state.actor, endpoint_id)
    click.echo(f"webhook #{endpoint_id} enabled; {again} delivery(ies) queued again")


@webhook_group.command("test")
@click.argument("endpoint_id", type=int)
@pass_state
def webhook_test(state: CliState, endpoint_id: int) -> None:
    """Send a `webhook.test` event to an endpoint now and print its answer."""
    delivery_id = webhooks.send_test(state.shop, state.actor, endpoint_id)
    from mailer.webhooks import deliver_only  # httpx: ~76 ms, only for this command

    deliver_only(state.config, [delivery_id])
    row = webhook_queries.delivery(delivery_id)
    if row is not None and row.state == "delivered":
        click.echo(f"webhook #{endpoint_id}: delivered ({row.last_status}), "
                   f"webhook-id {row.message_id}")
        return
    error = row.last_error if row is not None else "unknown"
    click.echo(printable(f"webhook #{endpoint_id}: not delivered: {error}"), err=True)
    raise SystemExit(1)


@webhook_group.command("deliveries")
@click.option("--endpoint", "endpoint_id", type=int, default=None, help="Of one endpoint.")
@click.option("--state", "delivery_state", default=None,
              type=click.Choice(["queued", "sending", "delivered", "failed", "cancelled"]))
@click.option("--limit", default=50, show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_state
def webhook_deliveries(state: CliState, endpoint_id: int | None, delivery_state: str | None,
                       limit: int, fmt: str) -> None:
    """The newest deliveries, with their attempts and last answer."""
    state.actor  # noqa: B018
    rows = [{"id": d.id, "endpoint": d.endpoint_id, "event": d.event, "order": d.order_code,
             "state": d.state, "attempts": d.attempts, "status": d.last_status or "",
             "next": d.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if d.state == "queued"
             else "", "error": d.last_error, "webhook_id": d.message_id}
            for d in webhook_queries.deliveries(endpoint_id, delivery_state, limit)]
    emit(rows, ["id", "endpoint", "event", "order", "state", "attempts", "status", "next",
                "error"], fmt)


@webhook_group.command("retry")
@click.argument("endpoint_id", type=int, required=False)
@pass_state
def webhook_retry(state: CliState, endpoint_id: int | None) -> None:
    """Make the queued deliveries (of one endpoint) due now, not at their next attempt."""
    count = webhooks.retry_now(state.shop, state.actor, endpoint_id)
    click.echo(f"{count} delivery(ies) due now")


COMMANDS: list[click.Command] = [webhook_group]
