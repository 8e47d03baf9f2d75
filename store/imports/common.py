"""What every importer shares."""

from __future__ import annotations

SOURCE_LABELS = {"shopify": "Shopify", "woocommerce": "WooCommerce",
                 "customers": "a customers file"}
