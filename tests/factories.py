"""Small builders for test data, through the store's own services."""

from __future__ import annotations

from typing import Any

from store import orders
from store.operators import STOREFRONT
from store.orders import ItemInput, OrderRef
from store.shop import Shop

ADDRESS = {"first_name": "Ann", "last_name": "Smith", "line1": "1 Rue de la Paix",
           "postcode": "75002", "city": "Paris", "country": "FR"}


def place(shop: Shop, *, total_items: int = 1, price: int = 1999, email: str = "ann@example.com",
          name: str = "Ann Smith", **kwargs: Any) -> OrderRef:
    """A guest order (unless customer_id is given) with `total_items` lines."""
    items = [ItemInput(f"SKU-{i}", f"Product {i}", 1, price, 2000) for i in range(total_items)]
    if "customer_id" not in kwargs:
        kwargs.setdefault("guest_name", name)
        kwargs.setdefault("guest_email", email)
    kwargs.setdefault("shipping_address", ADDRESS)
    kwargs.setdefault("billing_address", ADDRESS)
    return orders.place_order(shop, STOREFRONT, items=items, **kwargs)
