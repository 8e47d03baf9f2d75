"""Search text folded so that what an operator types finds what a customer wrote, whatever
the accents and the case: "luis goncalves" finds Luís Gonçalves, "stanislaw" Stanisław,
"sorensen" Sørensen, "strasse" Straße, and "kohler" or "koehler" Köhler.

One function, `fold`, is applied to the indexed text (when it is written) and to every query
word (when it is read), so both sides always agree; the databases only compare folded text
(no trigram `remove_diacritics` on SQLite 3.40, no `unaccent` needed on PostgreSQL).

Folding: lower case (casefold: ß becomes ss), NFKD decomposition without the combining marks
(é, ç, ň, å lose their marks), and the letters that do not decompose (ł ø æ œ đ þ ð ı ħ ŧ ŀ).
A word with a German or Nordic letter that is also spelled out as two (ä ö ü ø å: Köhler as
Koehler, Sørensen as Soerensen, Åse as Aase) is indexed in both spellings, the second
appended, so either way of typing it finds it; a query is folded once, the plain way.

Why not a transliteration library: anyascii gives the same for these letters, and would
romanise other scripts too, but costs more per row on a reindex (README, Speed) and folds
Köhler one way only; the table here is small, and stays what the tests hold it to."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD leaves whole, as a reader of the language would spell them without marks.
_LETTERS = {
    "ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "þ": "th", "ð": "d", "ı": "i",
    "ħ": "h", "ŧ": "t", "ŀ": "l", "ſ": "s", "ŋ": "n",
}
_LETTER = re.compile(f"[{''.join(_LETTERS)}]")
# The second spelling of letters written out as two in German and the Nordic languages.
_SPELLED_OUT = {"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "å": "aa"}
_SPELLED = re.compile("[äöüøå]")
_DIGITS = re.compile(r"\d")
# Combining marks (the accents NFKD splits off): the Unicode blocks that hold them.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """`text` as search compares it: lower case, without accents, odd letters spelled plain,
    and words with ä ö ü ø å also in their spelled-out form (appended)."""
    if text.isascii():
        return text.lower()
    lowered = text.casefold()
    extra = ""
    if _SPELLED.search(lowered):
        extra = " " + " ".join(_strip(_SPELLED.sub(_spelled_out, w)) for w in lowered.split()
                               if _SPELLED.search(w))
    return _strip(lowered) + extra


ITEM_SEPARATOR = "\n"  # between an item's folded SKU and name: no filter can type it


def fold_item(sku: str, name: str) -> str:
    """An item's text as `product:` compares it (order_item.folded): its SKU and name folded,
    kept apart by a line break, which the filter parser turns into a space
    (store.filter_syntax), so a product never matches across the two."""
    return fold(sku) + ITEM_SEPARATOR + fold(name)


def fold_query(text: str) -> str:
    """A query word folded the way the indexed text is, without the second spellings (the
    word typed is one spelling)."""
    if text.isascii():
        return text.lower()
    return _strip(text.casefold())


def _strip(lowered: str) -> str:
    decomposed = unicodedata.normalize("NFKD", _LETTER.sub(_letter, lowered))
    if decomposed.isascii():
        return decomposed
    return _LETTER.sub(_letter, _MARKS.sub("", decomposed))


def _letter(match: re.Match[str]) -> str:
    return _LETTERS[match.group()]


def _spelled_out(match: re.Match[str]) -> str:
    return _SPELLED_OUT[match.group()]


def digits(text: str) -> str:
    """The digits of a phone number alone ("+49 (0)3923-5555" -> "49039235555"), so a number
    typed without its spaces and signs finds it; '' when it has fewer than three digits."""
    found = "".join(_DIGITS.findall(text))
    return found if len(found) >= 3 and found.isascii() else ""
