"""Order free-text search as a peewee expression, so every query reuses one definition.

SQLite answers from the FTS5 trigram table `order_fts` (migration 0002), PostgreSQL from the
pg_trgm GIN index on orders.search_text. Words of three characters or more are substrings of
orders.search_text (code, customer name, email, product names and skus, tracking number,
internal reference), all of them required. A query of one or two characters cannot use a
trigram index, so it matches the start of the code, the customer's name or email instead."""

from __future__ import annotations

from typing import Any

from peewee import SQL, ColumnBase, Expression, NodeList, Value, fn

from store import db as dbmod
from store.models import Order

MIN_TRIGRAM = 3


def fts_query(words: list[str]) -> str:
    """An FTS5 MATCH string requiring every word as a substring (each a quoted phrase)."""
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)


def _like_escaped(template: str, text: str) -> Any:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return NodeList((Value(template % escaped, converter=False), SQL("ESCAPE"),
                     Value("\\", converter=False)))


def _prefix(column: ColumnBase, text: str) -> Expression:
    """column starts with text, in a form the backend answers from a plain or expression index."""
    if dbmod.is_sqlite():
        upper = text[:-1] + chr(ord(text[-1]) + 1)
        return (column >= text) & (column < upper)
    return Expression(column, "LIKE", _like_escaped("%s%%", text))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lowered_forms(text: str) -> list[str]:
    """What lower(column) may start with: SQLite's lower() folds ASCII only (Ł stays Ł)."""
    if not dbmod.is_sqlite():
        return [text.lower()]
    forms = (text.lower(), text.capitalize(), text.upper())
    return list(dict.fromkeys(f.translate(_ASCII_LOWER) for f in forms))


def _short(text: str) -> Expression:
    expr = _prefix(Order.code, text.upper())
    for form in _lowered_forms(text):
        expr |= _prefix(fn.LOWER(Order.customer_email), form)
        expr |= _prefix(fn.LOWER(Order.customer_name), form)
    return expr


def _substring_scan(word: str) -> Expression:
    """A word too short for the trigram index, checked row by row (after the index narrowed)."""
    return Order.search_text.contains(word)


def order_matches(text: str) -> Expression:
    """An expression true for the orders whose searchable text matches `text`."""
    words = text.split()
    if not words:
        return Expression(SQL("1"), "=", SQL("1"))
    long_words = [w for w in words if len(w) >= MIN_TRIGRAM]
    short_words = [w for w in words if len(w) < MIN_TRIGRAM]
    if not long_words:
        phrase = " ".join(words)
        if len(phrase) < MIN_TRIGRAM:
            return _short(phrase)
        long_words, short_words = [phrase], []
    if dbmod.is_sqlite():
        expr: Expression = Order.id.in_(
            SQL("(SELECT rowid FROM order_fts WHERE order_fts MATCH ?)", (fts_query(long_words),))
        )
    else:
        expr = Order.search_text.contains(long_words[0])
        for word in long_words[1:]:
            expr &= Order.search_text.contains(word)
    for word in short_words:
        expr &= _substring_scan(word)
    return expr
