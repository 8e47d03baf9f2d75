"""Importers: orders and customers brought over from another shop (Shopify's CSV export,
WooCommerce's REST API JSON, a customers CSV), one module per format, all writing through
store.imports.writer."""
