"""Order free-text search as a peewee expression, so every query reuses one definition.

SQLite answers from the FTS5 trigram table `order_fts` (migration 0002), PostgreSQL from the
pg_trgm GIN index on orders.search_text. Words of three characters or more are substrings of
orders.search_text (code, customer name, email, product names and skus, tracking number,
internal reference), all of them required. A query of one or two characters cannot use a
trigram index, so it matches the start of the code, the customer's name or email instead.

A common word (one that matches thousands of orders) is answered the other way round on
SQLite: walking the queue's sort index and checking each row's text stops after one page of
hits, where the trigram index would hand over every match to be sorted (typing "mug" on a
million orders: 1 ms instead of 250 ms). `is_common` makes that choice with a bounded probe
of the trigram index; both ways match the same orders (PostgreSQL's planner makes the same
choice itself from pg_trgm's statistics)."""

from __future__ import annotations

import math
from typing import Any

from peewee import SQL, ColumnBase, Expression, NodeList, Value, fn

from store import db as dbmod
from store.models import Order, db

MIN_TRIGRAM = 3
COST_RATIO = 7  # fetching and sorting one trigram match costs about 7 walked rows


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


def _glob_class(char: str) -> str:
    """char as a GLOB pattern element matching it in either case, as the trigram index does."""
    if char in "*?[":
        return f"[{char}]"
    lower, upper = char.lower(), char.upper()
    if len(lower) == 1 and len(upper) == 1 and lower != upper:
        return f"[{upper}{lower}]"
    return char


def _folded_contains(word: str) -> Expression:
    """search_text contains word, case folded like the trigram index, checked row by row.

    LIKE folds ASCII only; for a word with other cased letters (Ç, Ł, Ø), a row holding one
    of them in the other case is checked again with a GLOB that folds every letter."""
    expr = _substring_scan(word)
    others = {c.swapcase() for c in word if ord(c) > 127 and c.swapcase() != c}
    if others:
        pattern = "*" + "".join(_glob_class(c) for c in word) + "*"
        has_other: Expression | None = None
        for other in sorted(others):
            test = fn.INSTR(Order.search_text, other) > 0
            has_other = test if has_other is None else has_other | test
        assert has_other is not None
        expr |= has_other & Expression(Order.search_text, "GLOB", Value(pattern, converter=False))
    return expr


def _split(text: str) -> tuple[list[str], list[str]]:
    """(words for the trigram index, words too short for it); both empty for a short query."""
    words = text.split()
    long_words = [w for w in words if len(w) >= MIN_TRIGRAM]
    short_words = [w for w in words if len(w) < MIN_TRIGRAM]
    if words and not long_words:
        phrase = " ".join(words)
        if len(phrase) < MIN_TRIGRAM:
            return [], []
        return [phrase], []
    return long_words, short_words


def is_common(text: str, page: int) -> bool:
    """True when walking the sort index beats the trigram index for one page of `text` (SQLite).

    The trigram way costs COST_RATIO units per match; the walk one unit per row walked, about
    page * orders / matches rows. They break even near sqrt(page * orders / COST_RATIO)
    matches, so the probe reads at most that many from the index, never all of them."""
    if not dbmod.is_sqlite():
        return False
    long_words, _ = _split(text)
    if not long_words:
        return False
    top = db.execute_sql("SELECT MAX(id) FROM orders").fetchone()[0] or 0
    threshold = max(page, int(math.sqrt(page * top / COST_RATIO)))
    found = db.execute_sql(
        "SELECT COUNT(*) FROM (SELECT rowid FROM order_fts WHERE order_fts MATCH ? LIMIT ?)",
        (fts_query(long_words), threshold)).fetchone()[0]
    return bool(found >= threshold)


def order_matches(text: str, walk: bool = False) -> Expression:
    """An expression true for the orders whose searchable text matches `text`. With walk, the
    row-by-row form (for a common word and an index walk; see is_common), same matches."""
    words = text.split()
    if not words:
        return Expression(SQL("1"), "=", SQL("1"))
    long_words, short_words = _split(text)
    if not long_words:
        return _short(" ".join(words))
    expr: Expression
    if walk and dbmod.is_sqlite():
        expr = _folded_contains(long_words[0])
        for word in long_words[1:]:
            expr &= _folded_contains(word)
    elif dbmod.is_sqlite():
        expr = Order.id.in_(
            SQL("(SELECT rowid FROM order_fts WHERE order_fts MATCH ?)", (fts_query(long_words),))
        )
    else:
        expr = Order.search_text.contains(long_words[0])
        for word in long_words[1:]:
            expr &= Order.search_text.contains(word)
    for word in short_words:
        expr &= _substring_scan(word)
    return expr
