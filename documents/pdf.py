"""The page every document draws on: fonts added once per PDF, text printed literally and
wrapped, page breaks decided here (never fpdf2's automatic ones), and the Code 128 barcode.

Text from customers is never interpreted: fpdf2's markdown and HTML stay off, control
characters are dropped, and anything wider than its column wraps onto more lines (onto a
next page, whose header the section draws) instead of running off the page.

A character none of the fonts has (`documents.font`, then `documents.fallback_fonts`) would
be dropped by fpdf2 without a word: every text drawn is checked against the fonts' character
maps, and what is missing is kept by section (an order's slip, an invoice) for the caller to
refuse or warn with (`Document.missing_chars`, `missing_sentence`). fpdf2's own log line about it is
silenced: the caller's message replaces it."""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import cast

from barcode.codex import Code128
from fpdf import FPDF
from fpdf.fonts import TTFFont

from store.config import Config
from store.errors import ConfigError
from store.money import format_money

FAMILY = "backroom"
FALLBACK = "fallback"  # fallback fonts are families fallback1, fallback2, ...
FONT_FILES = (".ttf", ".otf", ".ttc", ".otc")
MARGIN = 12.0
FOOTER = 8.0  # the band at the bottom that carries the section label and page number
PAPER = {"a4": "A4", "letter": "Letter"}

# C0 and C1 controls but newline and tab, DEL, bidi overrides and isolates, lone
# surrogates, the BOM: none of them is text on paper.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def printable(text: str) -> str:
    """Text as it may reach the page: lines kept, tabs as spaces, controls dropped (an ESC
    sequence prints as its visible rest, never as a control character)."""
    if text.isprintable():  # the common case: nothing to drop (a C-speed check)
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    return _UNPRINTABLE.sub("", text.replace("\u2029", "\n").replace("\t", " "))


def one_line(text: str) -> str:
    """Printable text with every run of white space (newlines too) as one space."""
    return _SPACES.sub(" ", printable(text)).strip()


def fonts(config: Config) -> tuple[Path, Path]:
    """The regular and bold TrueType files: `documents.font` (and `font_bold`) or the DejaVu
    Sans shipped in documents/fonts."""
    regular = str(config.get("documents", "font"))
    bold = str(config.get("documents", "font_bold"))
    if not regular:
        shipped = resources.files("documents") / "fonts"
        return Path(str(shipped / "DejaVuSans.ttf")), Path(str(shipped / "DejaVuSans-Bold.ttf"))
    paths = (Path(regular).expanduser(), Path(bold or regular).expanduser())
    for key, path in zip(("font", "font_bold"), paths, strict=True):
        _font_file(key, path, (".ttf", ".otf"))
    return paths


def fallback_fonts(config: Config) -> list[Path]:
    """`documents.fallback_fonts`: the font files tried, in order, for a character the
    document's font lacks."""
    paths = [Path(str(p)).expanduser() for p in config.get("documents", "fallback_fonts")]
    for path in paths:
        _font_file("fallback_fonts", path, FONT_FILES)
    return paths


def _font_file(key: str, path: Path, suffixes: tuple[str, ...]) -> None:
    if not path.is_file():
        raise ConfigError(f"documents.{key}: no such font file {path}")
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"documents.{key}: {path} is not a TrueType or OpenType font "
                          f"({', '.join(suffixes)})")


class _QuietMissingGlyphs(logging.Filter):
    """Drops fpdf2's warning that a font lacks glyphs: Document finds them itself and its
    callers say so in a sentence an operator can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Font %s is missing the following glyphs")


logging.getLogger("fpdf.output").addFilter(_QuietMissingGlyphs())


def shown_characters(chars: Sequence[str], limit: int = 6) -> str:
    """A few characters as an operator reads them: 山, 田, 東 …; a mark or an invisible one
    as its code point (U+094D)."""
    def one(char: str) -> str:
        visible = char.isprintable() and unicodedata.category(char)[0] not in "MZC"
        return char if visible else f"U+{ord(char):04X}"

    text = ", ".join(one(c) for c in chars[:limit])
    return text + " …" if len(chars) > limit else text


class MissingCharacters(ConfigError):
    """A document that must print whole (an invoice) holds characters no font has."""


def missing_sentence(missing: Mapping[str, Sequence[str]], what: str) -> str:
    """One line naming the sections (order codes, an invoice number) that print without
    characters no font has, a few of those characters, and the setting that brings them."""
    named = [f"{label} ({shown_characters(chars)})" for label, chars in list(
        missing.items())[:5]]
    more = f" and {len(missing) - 5:,} more" if len(missing) > 5 else ""
    return (f"{what} without characters the font lacks: {'; '.join(named)}{more}. Set "
            "documents.fallback_fonts to a font that has them (e.g. Noto Sans CJK for "
            "Chinese, Japanese, Korean) and print again")


def money(amount: int, currency: str) -> str:
    return format_money(amount, currency, grouping=True)


def tax_rate(bp: int) -> str:
    """Basis points as a percentage: 2000 -> '20%', 550 -> '5.5%'."""
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


class Document(FPDF):
    """One PDF of one kind: the fonts are added once whatever the page count (subsetting
    them is the expensive part), and every page of a section (one order's slip) carries the
    section's label and page number, plus its continuation header from its second page."""

    def __init__(self, config: Config, *, title: str, created: dt.datetime | None = None,
                 paper: str | None = None) -> None:
        size = PAPER.get(str(paper or config.get("documents", "paper")).lower(), "A4")
        super().__init__(orientation="portrait", unit="mm", format=size)
        regular, bold = fonts(config)
        try:
            self.add_font(FAMILY, "", str(regular))
            self.add_font(FAMILY, "B", str(bold))
        except Exception as exc:  # fontTools raises several kinds on a broken file
            raise ConfigError(f"documents.font: {regular} cannot be used: {exc}") from None
        fallbacks: list[str] = []
        for path in fallback_fonts(config):
            fallbacks.append(f"{FALLBACK}{len(fallbacks) + 1}")
            try:
                self.add_font(fallbacks[-1], "", str(path))
            except Exception as exc:  # as above
                raise ConfigError(
                    f"documents.fallback_fonts: {path} cannot be used: {exc}") from None
        if fallbacks:
            # bold text takes a fallback's regular face rather than none
            self.set_fallback_fonts(fallbacks, exact_match=False)
        self._fallback_chars = frozenset(
            chr(c) for name in fallbacks for c in self._ttf(self.fonts[name]).cmap)
        self._covered: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        # section label -> the characters it drew that no font has, in the order met
        self._missing: dict[str, dict[str, None]] = {}
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.set_creator("backroom")
        self.set_title(title)
        when = created or dt.datetime.now(dt.UTC)
        self.set_creation_date(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
        self.section_label = ""
        self.section_page = 0
        self.continued: Callable[[], None] | None = None
        self.bottom = self.h - MARGIN - FOOTER
        self.width = self.w - 2 * MARGIN

    # ----- sections and pages ----------------------------------------------------------------

    def new_section(self, label: str, continued: Callable[[], None] | None = None) -> None:
        """A new section on a new page; `continued` draws the header of its later pages."""
        self.section_label = label
        self.section_page = 0
        self.continued = continued
        self.add_page()

    def header(self) -> None:
        """fpdf2 calls this on every new page: the footer band is drawn now (its place is
        fixed), then, from a section's second page, the section's continuation header."""
        self.section_page += 1
        self.set_font(FAMILY, "", 8)
        self.set_xy(MARGIN, self.h - MARGIN - 4)
        self.cell(self.width, 4, f"{self.section_label} · page {self.section_page}",
                  align="R")
        self.set_xy(MARGIN, MARGIN)
        if self.section_page > 1 and self.continued is not None:
            self.continued()

    def room(self, height: float) -> None:
        """Go on to a next page of the section unless `height` still fits on this one."""
        if self.y + height > self.bottom:
            self.add_page()

    # ----- text --------------------------------------------------------------------------------

    def font(self, style: str = "", size: float = 10) -> None:
        """The document's font at a style and size (a no-op when already set)."""
        if self.font_family != FAMILY or self.font_style != style or self.font_size_pt != size:
            self.set_font(FAMILY, style, size)

    @staticmethod
    def _ttf(font: object) -> TTFFont:
        assert isinstance(font, TTFFont), "documents use TrueType fonts only"
        return font

    def _chars(self, font: TTFFont) -> tuple[frozenset[str], frozenset[str]]:
        """The characters of a font, and those with the fallback fonts' added."""
        chars = self._covered.get(font.fontkey)
        if chars is None:
            own = frozenset(map(chr, font.cmap))
            chars = self._covered[font.fontkey] = (own, own | self._fallback_chars)
        return chars

    def normalize_text(self, text: str) -> str:
        """fpdf2 passes every text it draws or measures through here: a character neither
        the current font nor a fallback font has is noted under the current section."""
        text = super().normalize_text(text)
        font = self._ttf(self.current_font)
        own, covered = self._chars(font)
        if own.issuperset(text):
            return text
        if self._fallback_chars and self.page and not self.current_font_is_set_on_page:
            # fpdf2 2.8.9 (its fix of py-pdf/fpdf2#1772) sets the page's font inside the text
            # object of a line that opens in a fallback font, then loses it at that object's
            # Q: the next line is drawn with no font (pdftotext: "No font in show"). Set it
            # on the page first, as fpdf2 does for a line that opens in the font.
            self._out(self._set_font_for_page(font, self.font_size_pt))
        if not covered.issuperset(text):
            found = self._missing.setdefault(self.section_label, {})
            found.update(dict.fromkeys(c for c in text if c not in covered))
        return text

    def missing_chars(self) -> dict[str, list[str]]:
        """Section label -> the characters it drew that no font has (none: empty)."""
        return {label: list(chars) for label, chars in self._missing.items()}

    def lines(self, text: str, width: float) -> list[str]:
        """Printable text split into lines that fit `width` at the current font: words wrap,
        a word longer than the line is cut, and explicit newlines are kept. Only a line too
        wide goes through fpdf2's line breaking (the slow part of a slip)."""
        font = self._ttf(self.current_font)
        cw: Mapping[int, float] = font.cw
        own = self._chars(font)[0]
        room = (width - 2 * self.c_margin) * self.k * 1000 / self.font_size_pt
        text = printable(text)
        # fpdf2's own width (its table of advances), without its per-call machinery; text
        # in part of a fallback font is measured by fpdf2, which knows that font's widths
        if "\n" not in text and own.issuperset(text) and sum(
                map(cw.__getitem__, map(ord, text))) <= room:
            return [text]
        result: list[str] = []
        for paragraph in text.split("\n"):
            if own.issuperset(paragraph) and sum(
                    map(cw.__getitem__, map(ord, paragraph))) <= room:
                result.append(paragraph)
            else:
                result += cast(list[str], self.multi_cell(width, 1, paragraph, dry_run=True,
                                                          output="LINES"))
        return result

    def text_lines(self, x: float, width: float, line_h: float, text: str, *,
                   style: str = "", size: float = 10, align: str = "L") -> float:
        """Draw text from the current y at x, wrapped to width, breaking pages between lines
        when needed; returns the y below it."""
        self.font(style, size)
        for line in self.lines(text, width):
            if self.y + line_h > self.bottom:
                self.add_page()
            self.set_xy(x, self.y)
            self.cell(width, line_h, line, align=align)
            self.y += line_h
        return self.y

    def wrapped_row(self, columns: Sequence[tuple[str, float, str]],
                    cells: Sequence[list[str]], line_h: float) -> None:
        """A table row of cells already wrapped to their columns (title, width, align),
        drawn line by line; a page may break between its lines."""
        for n in range(max(len(c) for c in cells)):
            self.room(line_h)
            x = MARGIN
            for (_, width, align), lines in zip(columns, cells, strict=True):
                if n < len(lines):
                    self.set_xy(x, self.y)
                    self.cell(width - 1.5, line_h, lines[n], align=align)
                x += width
            self.y += line_h

    def label_value(self, x: float, width: float, label: str, value: str,
                    line_h: float = 4.6, size: float = 9) -> None:
        """A bold label above its (wrapped) value; nothing when the value is empty."""
        if not value:
            return
        self.text_lines(x, width, line_h, label, style="B", size=size)
        self.text_lines(x, width, line_h, value, size=size)

    def rule(self, y: float | None = None) -> None:
        y = self.y if y is None else y
        self.set_line_width(0.2)
        self.line(MARGIN, y, self.w - MARGIN, y)

    # ----- barcode -------------------------------------------------------------------------------

    def code128(self, x: float, y: float, text: str, *, module: float = 0.33,
                height: float = 14.0, right: bool = False) -> float:
        """A Code 128 barcode of text at (x, y), or ending at x when `right`: the encoding
        (code sets, check symbol) is python-barcode's, each run of dark modules one filled
        rectangle. Returns its width; the caller leaves ten modules of white on either side
        (the quiet zone)."""
        modules = Code128(text).build()[0]
        width = len(modules) * module
        if right:
            x -= width
        self.set_fill_color(0, 0, 0)
        start = -1
        for i, bit in enumerate(modules + "0"):
            if bit == "1" and start < 0:
                start = i
            elif bit != "1" and start >= 0:
                self.rect(x + start * module, y, (i - start) * module, height, style="F")
                start = -1
        return width
