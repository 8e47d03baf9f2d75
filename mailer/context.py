"""The variables a template sees, built at send time from the order, the customer and the shop.

Documented for operators in mailer/templates/README.md."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from store import carriers as carriersmod
from store.carriers import Carrier
from store.config import Config
from store.contact import ADDRESS_FIELDS
from store.mail_reads import OrderForMail, customers_for_mail, orders_for_mail
from store.workflow import Workflow

WIRE_METHODS = ("wire", "transfer", "bank_transfer", "bank transfer", "virement")


def shop_context(config: Config) -> dict[str, Any]:
    """`shop` in templates: contact details and the brand (logo, accent colour, footer line,
    social links, each link with a label made from its address)."""
    shop = config["shop"]
    return {
        "name": shop["name"], "email": shop["email"], "phone": shop["phone"],
        "currency": shop["currency"], "language": shop["language"],
        "storefront_url": shop["storefront_url"], "wire_instructions": shop["wire_instructions"],
        "payment_url": shop["payment_url"], "logo_url": shop["logo_url"],
        "accent_colour": shop["accent_colour"], "footer_line": shop["footer_line"],
        "social_links": [{"url": url, "label": social_label(url)}
                         for url in shop["social_links"]],
    }


def social_label(url: str) -> str:
    """"Instagram" for https://www.instagram.com/myshop: the site's name, not its address."""
    host = (urlsplit(url).hostname or url).split(".")
    name = host[-2] if len(host) >= 2 else host[0]
    return name[:1].upper() + name[1:]


def payment_link(config: Config, order: Mapping[str, Any] | None) -> str:
    """Where the customer pays this order online: shop.payment_url with the order code, while
    the order may still be paid; empty otherwise (no pay button)."""
    pattern = str(config.get("shop", "payment_url"))
    if not pattern or not order or not order.get("may_pay"):
        return ""
    return pattern.replace("{code}", quote(str(order["code"]), safe=""))


def _address(address: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    values = {k: address.get(k) or "" for k in ADDRESS_FIELDS}
    name = f"{values['first_name']} {values['last_name']}".strip()
    lines = [name, values["company"], values["line1"], values["line2"],
             f"{values['postcode']} {values['city']}".strip(), values["region"], values["country"]]
    values["lines"] = [line for line in lines if line]
    return values


def order_context(order_id: int | None, workflow: Workflow,
                  carriers: Mapping[str, Carrier] = carriersmod.DEFAULTS) -> dict[str, Any] | None:
    """The order as templates see it (items, totals, addresses); None if it no longer exists."""
    if order_id is None:
        return None
    return orders_context([order_id], workflow, carriers).get(order_id)


def orders_context(order_ids: Iterable[int | None], workflow: Workflow,
                   carriers: Mapping[str, Carrier] = carriersmod.DEFAULTS
                   ) -> dict[int, dict[str, Any]]:
    """Several orders as templates see them, read for a whole batch at once (store.mail_reads)."""
    return {order_id: _order_dict(found, workflow, carriers)
            for order_id, found in orders_for_mail(order_ids).items()}


def _order_dict(found: OrderForMail, workflow: Workflow,
                carriers: Mapping[str, Carrier]) -> dict[str, Any]:
    order, addresses = found.order, found.addresses
    items = [{"sku": i["sku"], "name": i["name"], "quantity": i["quantity"],
              "unit_price": i["unit_price"], "line_total": i["unit_price"] * i["quantity"],
              "tax_rate": i["tax_rate_bp"] / 100} for i in found.items]
    status = workflow.statuses.get(order["status"])
    total, paid = order["total"], order["amount_paid"]
    return {
        "id": order["id"], "code": order["code"], "number": order["number"],
        "status": order["status"], "status_label": workflow.label(order["status"]),
        "placed_at": order["placed_at"], "currency": order["currency"],
        "subtotal": order["subtotal"], "tax": order["tax"],
        "shipping_cost": order["shipping_cost"], "discount": order["discount"], "total": total,
        "amount_paid": paid, "amount_refunded": order["amount_refunded"],
        "balance": max(total - paid, 0),
        "may_pay": bool(status and status.may_pay) and paid < total,
        "payment_method": order["payment_method"],
        "pays_by_wire": order["payment_method"].strip().lower() in WIRE_METHODS,
        "shipping_method": order["shipping_method"],
        "tracking_number": order["tracking_number"],
        "carrier": carriersmod.label(carriers, order["carrier"]),
        "tracking_url": carriersmod.tracking_url(carriers, order["carrier"],
                                                 order["tracking_number"]),
        "customer_name": order["customer_name"], "customer_email": order["customer_email"],
        "items": items, "item_count": sum(i["quantity"] for i in items),
        "shipping_address": _address(addresses.get("shipping")),
        "billing_address": _address(addresses.get("billing")),
    }


def customer_context(customer_id: int | None) -> dict[str, Any] | None:
    if customer_id is None:
        return None
    return customers_context([customer_id]).get(customer_id)


def customers_context(customer_ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    return {cid: c | {"name": f"{c['first_name']} {c['last_name']}".strip()}
            for cid, c in customers_for_mail(customer_ids).items()}


def load_many(rows: Iterable[Any], config: Config, workflow: Workflow) -> dict[int, Any]:
    """Contexts of many outbox rows (id -> context, or the exception its payload raised)."""
    parsed: list[tuple[Any, dict[str, Any] | Exception]] = []
    for row in rows:
        try:
            parsed.append((row, json.loads(row.payload) if isinstance(row.payload, str)
                           else dict(row.payload)))
        except ValueError as exc:
            parsed.append((row, exc))
    good = [(row, data) for row, data in parsed if isinstance(data, dict)]
    orders = orders_context([row.order_id or data.get("order_id") for row, data in good],
                            workflow, config.carriers)
    customers = customers_context(
        [row.customer_id or data.get("customer_id") for row, data in good])
    result: dict[int, Any] = {}
    for row, data in parsed:
        if isinstance(data, Exception):
            result[row.id] = data
            continue
        order = orders.get(row.order_id or data.get("order_id") or 0)
        customer = customers.get(row.customer_id or data.get("customer_id") or 0)
        result[row.id] = build(row.kind, row.recipient, data, order, customer, config, workflow)
    return result


def load(kind: str, recipient: str, payload: Mapping[str, Any] | str, order_id: int | None,
         customer_id: int | None, config: Config, workflow: Workflow) -> dict[str, Any]:
    """The context of one outbox row, read from the database at send time."""
    data = json.loads(payload) if isinstance(payload, str) else dict(payload)
    order = order_context(order_id or data.get("order_id"), workflow, config.carriers)
    customer = customer_context(customer_id or data.get("customer_id"))
    return build(kind, recipient, data, order, customer, config, workflow)


def build(kind: str, recipient: str, data: Mapping[str, Any], order: dict[str, Any] | None,
          customer: dict[str, Any] | None, config: Config, workflow: Workflow) -> dict[str, Any]:
    """Everything a template may use; payload keys are also given at the top level."""
    name = (order or {}).get("customer_name") or (customer or {}).get("name") or ""
    context: dict[str, Any] = {
        "note": "", "message": "", "amount": None, "reason": "", "full": False, "tracking": "",
        "carrier": "", "status": "", "link": "", "token": "", "subject": "", "body": "", "name": "",
        "orders": 0, "code": (order or {}).get("code", ""), "minutes": 0, "unsent": 0,
        "threshold": 0, "since": "",
    }
    context.update(data)
    carriers = config.carriers
    if order is not None and not context.get("tracking"):
        context["tracking"] = order["tracking_number"]
    if not context.get("carrier") and order is not None:
        context["carrier"] = order["carrier"]  # already its label
    context["tracking_url"] = carriersmod.tracking_url(carriers, str(context["carrier"] or ""),
                                                       str(context["tracking"] or ""))
    context["carrier"] = carriersmod.label(carriers, str(context["carrier"] or ""))
    context["currency"] = data.get("currency") or (order or {}).get("currency") \
        or config.get("shop", "currency")
    context.update({
        "payload": dict(data), "event": kind, "recipient": recipient, "order": order,
        "customer": customer, "customer_name": name, "shop": shop_context(config),
        "payment_link": payment_link(config, order),
        "status_label": workflow.label(str(context["status"])) if context["status"] else "",
    })
    return context


def sample(kind: str, config: Config, workflow: Workflow) -> dict[str, Any]:
    """Sample data for `backroom mail check`: every variable filled, no database needed."""
    placed = dt.datetime(2026, 11, 5, 14, 30)
    address: dict[str, Any] = {"first_name": "Ann", "last_name": "Smith", "company": "",
               "line1": "1 Rue de la Paix",
               "line2": "", "postcode": "75002", "city": "Paris", "region": "", "country": "FR",
               "phone": ""}
    address["lines"] = ["Ann Smith", "1 Rue de la Paix", "75002 Paris", "FR"]
    currency = str(config.get("shop", "currency"))
    order = {
        "id": 1, "code": "BR-100042", "number": 100042, "status": "shipped",
        "status_label": workflow.label("shipped"), "placed_at": placed, "currency": currency,
        "subtotal": 3998, "tax": 666, "shipping_cost": 490, "discount": 0, "total": 4488,
        "amount_paid": 0, "amount_refunded": 0, "balance": 4488, "may_pay": True,
        "payment_method": "wire", "pays_by_wire": True,
        "shipping_method": "Colissimo", "tracking_number": "6A123",
        "carrier": "Colissimo",
        "tracking_url": carriersmod.tracking_url(config.carriers, "colissimo", "6A123"),
        "customer_name": "Ann Smith", "customer_email": "ann@example.com",
        "items": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": 1999,
                   "line_total": 3998, "tax_rate": 20.0}],
        "item_count": 2, "shipping_address": address, "billing_address": dict(address),
    }
    payload = {"order_id": 1, "code": "BR-100042", "status": "shipped", "tracking": "6A123",
               "carrier": "Colissimo", "note": "Packed with care.",
               "message": "We added a sample of our new tea.", "amount": 1000,
               "currency": currency, "full": False, "reason": "damaged item",
               "customer_id": 1, "token": "tok", "link": "https://shop.example.com/confirm?t=1",
               "subject": "About your order", "body": "Hello,\nA word from the shop.",
               "name": "Ann Smith", "orders": 3, "endpoint_id": 3,
               "url": "https://till.example.com/hooks",
               "minutes": 47, "unsent": 12, "threshold": 30, "since": "2026-11-05 14:30 UTC"}
    customer = {"id": 1, "first_name": "Ann", "last_name": "Smith", "email": "ann@example.com",
                "name": "Ann Smith"}
    return build(kind, "ann@example.com", payload, order, customer, config, workflow)
