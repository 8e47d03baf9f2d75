"""`backroom mail preview`: one mail as a customer would get it, before any customer does:
with sample data, or with a real order's data as it is now."""

from __future__ import annotations

from typing import Any

from mailer import context as ctxmod
from mailer.render import EVENTS, MERCHANT_EVENTS, Rendered, Renderer
from store import orders, outbox_queries, queries
from store.config import Config
from store.errors import NotFound, ValidationError
from store.workflow import Workflow


def events(workflow: Workflow) -> list[str]:
    """The events a mail can be previewed for: the shipped ones and the workflow's."""
    return list(EVENTS) + sorted({s.mail for s in workflow.statuses.values()
                                  if s.mail and s.mail not in EVENTS})


def preview(config: Config, workflow: Workflow, event: str, language: str | None = None,
            order_code: str | None = None, shop: Any = None,
            renderer: Renderer | None = None) -> Rendered:
    """The mail `event` would send: for the order `order_code` (its data now, in its
    customer's language unless `language` says otherwise; `shop` is the open shop), or for
    the sample order. Raises NotFound for an unknown event or order, RenderError for a
    template that fails."""
    if event not in events(workflow):
        raise NotFound(f"no mail event {event!r} (known: {', '.join(events(workflow))})")
    renderer = renderer or Renderer(str(config.get("mail", "templates_dir")) or None)
    default = str(config.get("shop", "language"))
    if order_code is None:
        context = ctxmod.sample(event, config, workflow)
        return renderer.render(event, language or default, context, default)
    ref = orders.find_order(shop, order_code)
    detail = queries.order_detail(ref.id)
    payload: dict[str, Any] = {"order_id": ref.id, "code": ref.code}
    status = next((s.key for s in workflow.statuses.values() if s.mail == event),
                  detail.status)
    payload["status"] = status
    if event == "refunded":
        payload.update(amount=detail.amount_refunded, currency=detail.currency,
                       full=detail.amount_refunded >= detail.amount_paid > 0)
    if event in MERCHANT_EVENTS:  # to the shop, in the shop's language
        recipient, wanted = str(config.get("shop", "email")), default
    else:
        recipient, wanted = detail.customer_email, detail.language or default
    context = ctxmod.load(event, recipient, payload, ref.id, detail.customer_id, config,
                          workflow)
    return renderer.render(event, language or wanted, context, default)


def of_mail(config: Config, workflow: Workflow, outbox_id: int,
            renderer: Renderer | None = None) -> Rendered:
    """An outbox mail as the worker renders it now (from its order's and customer's data as
    they are now: a sent mail may have said a little less). Refuses an erased mail, whose
    contents are gone with the customer's data."""
    source = outbox_queries.mail_source(outbox_id)
    if source.state == "erased":
        raise ValidationError(f"mail #{outbox_id} was erased with its customer's data: "
                              "nothing of it is left to show")
    renderer = renderer or Renderer(str(config.get("mail", "templates_dir")) or None)
    context = ctxmod.load(source.kind, source.recipient, source.payload, source.order_id,
                          source.customer_id, config, workflow)
    return renderer.render(source.kind, source.language, context,
                           str(config.get("shop", "language")))
