"""The one filter language of the order queue and the customer list: what was typed split into
free words and name:value tokens, each list's tokens as a table (its name, an example, what it
does and how it is read), and one way to refuse a token. The parsers (store.queries,
store.customer_queries) are these tables; the help `?` shows on a filter box, and the README's
list, are made from the same rows, so a token cannot be added without its example."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from store.errors import ValidationError

F = TypeVar("F")

# A word is name:"a quoted value" (an open quote runs to the end), or anything up to a space.
_PIECE = re.compile(r'([A-Za-z]+):"([^"]*)"?|"([^"]*)"?|(\S+)')
_NAMED = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Token(Generic[F]):
    """One name:value token of a filter: `read(raw, value, filter, context)` returns the filter
    with it applied, or raises refuse(...)."""

    name: str
    example: str
    does: str
    read: Callable[[str, str, F, Any], F]
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def split(text: str) -> list[tuple[str, str, str]]:
    """(name, value, raw) of each token-shaped word (name lower-cased, '' for a free word);
    control characters (a pasted tab or line break) separate words, quotes group them."""
    text = _CONTROL.sub(" ", text)
    pieces: list[tuple[str, str, str]] = []
    for match in _PIECE.finditer(text):
        quoted_name, quoted_value, phrase, word = match.groups()
        if quoted_name is not None:
            pieces.append((quoted_name.lower(), quoted_value, f"{quoted_name}:{quoted_value}"))
        elif phrase is not None:
            pieces.append(("", phrase, phrase))
        else:
            named = _NAMED.match(word)
            if named:
                pieces.append((named.group(1).lower(), named.group(2), word))
            else:
                pieces.append(("", word, word))
    return pieces


def refuse(raw: str, reason: str, field: str | None = None) -> ValidationError:
    """The one way a filter token is refused: `filter 'placed:soon': give a date like ...`."""
    return ValidationError(f"filter {raw!r}: {reason}", field=field or raw.partition(":")[0])


def parse(text: str, tokens: Sequence[Token[F]], start: F,
          context: Any = None) -> tuple[F, str]:
    """Apply every token of `text` to `start`; returns the filter and the free words. A word
    whose name is not one of the tokens (http://x, 10:30, mailto:ann) is a free word."""
    by_name = {name: token for token in tokens for name in token.names}
    words: list[str] = []
    result = start
    for name, value, raw in split(text):
        token = by_name.get(name) if name else None
        if token is None:
            if value.strip():
                words.append(raw)
            continue
        if not value.strip():
            raise refuse(raw, f"needs a value, like {token.example}", token.name)
        result = token.read(raw, value.strip(), result, context)
    return result, " ".join(words)


def help_rows(tokens: Sequence[Token[Any]]) -> list[tuple[str, str]]:
    """(example, what it does) of each token, aliases named: what `?` on a filter box lists."""
    rows = []
    for token in tokens:
        does = token.does
        if token.aliases:
            does += f" (also {', '.join(a + ':' for a in token.aliases)})"
        rows.append((token.example, does))
    return rows
