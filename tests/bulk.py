"""A fast bulk inserter of orders for tests that need thousands: insert_many, not services.

The rows look like what place_order writes (code, totals, one item, one 'placed' event), so
services and queries treat them as real orders."""

from __future__ import annotations

import datetime as dt
import json

from store.codes import FIRST_NUMBER, format_code
from store.folding import fold_item
from store.models import Counter, Order, OrderEvent, OrderItem, db, utcnow
from store.order_rows import insert_search, search_row
from store.shop import Shop

BATCH = 500


def insert_orders(shop: Shop, count: int, *, status: str | None = None, total: int = 2399,
                  email: str = "bulk@example.com", paid: bool = False) -> list[int]:
    """Insert `count` guest orders in one transaction; returns their ids in order."""
    status = status or shop.workflow.initial.key
    now = utcnow()
    with db.atomic():
        start = (Order.select(Order.number).order_by(Order.number.desc()).scalar()
                 or FIRST_NUMBER - 1) + 1
        rows = []
        for i in range(count):
            number = start + i
            code = format_code(shop.prefix, number)
            rows.append({
                "number": number, "code": code, "customer_name": f"Bulk Buyer {i}",
                "customer_email": email, "language": shop.language, "status": status,
                "currency": shop.currency, "subtotal": total - 400, "tax": 400, "total": total,
                "amount_paid": total if paid else 0, "payment_method": "card",
                "shipping_method": "standard", "item_count": 1,
                "placed_at": now - dt.timedelta(minutes=count - i), "updated_by": "bulk",
                "created_at": now, "updated_at": now,
            })
        for chunk in range(0, count, BATCH):
            Order.insert_many(rows[chunk:chunk + BATCH]).execute()
        ids = [o.id for o in Order.select(Order.id).where(Order.number >= start)
               .order_by(Order.number)]
        items = [{"order": oid, "sku": "SKU-1", "name": "Widget",
                  "folded": fold_item("SKU-1", "Widget"), "quantity": 1,
                  "unit_price": total - 400, "tax_rate_bp": 2000, "created_at": now,
                  "updated_at": now} for oid in ids]
        events = [{"order": oid, "kind": "placed", "message": "order placed", "to_status": status,
                   "data": json.dumps({"total": total}), "operator_login": "bulk",
                   "visible": False, "created_at": now, "updated_at": now} for oid in ids]
        insert_search([search_row(oid, row, [("SKU-1", "Widget")])
                       for oid, row in zip(ids, rows, strict=True)])
        for chunk in range(0, count, BATCH):
            OrderItem.insert_many(items[chunk:chunk + BATCH]).execute()
            OrderEvent.insert_many(events[chunk:chunk + BATCH]).execute()
        top = start + count - 1
        if Counter.select().where(Counter.name == "order").exists():
            Counter.update(value=top).where(Counter.name == "order").execute()
        else:
            Counter.insert(name="order", value=top).execute()
    return ids
