"""A mail template's source before Jinja compiles it: lines that hold only tags vanish with
their line break, every other line break stays; French spacing in the template's own text.

Jinja's `trim_blocks` eats the line break after every tag, also after one in the middle of a
line ("...on its way.{% if tracking %}" ran into the next line), so the environment turns it
off and this module applies the rule an operator expects, once per template load. The
source is masked first (each Jinja construct becomes one private-use character), so rules
about text never look inside a tag and a tag spanning lines counts as one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK_BASE = 0xF0000  # Unicode plane 15, private use: one character per Jinja construct
MARK_COUNT = 0xFFFE  # a template holds fewer constructs than that
_MARKS = re.compile("[\U000f0000-\U0010ffff]")
_START = re.compile(r"\{[{%#]")
_RAW = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_ENDRAW = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_INCLUDE = re.compile(r"\{%[-+]?\s*include\b")
EATS_LINE = "{#\n#}"  # a comment that swallows the line break of a line holding only tags


@dataclass(frozen=True)
class Construct:
    """One `{{ }}` ("expr"), `{% %}` ("stmt") or `{# #}` ("comment") of a template."""

    kind: str
    text: str


@dataclass(frozen=True)
class Masked:
    """A template's source with each construct replaced by one private-use character."""

    text: str
    constructs: tuple[Construct, ...]

    def kind(self, char: str) -> str:
        """"expr", "stmt" or "comment" for a mark, "" for a character of text."""
        index = ord(char) - MARK_BASE
        return self.constructs[index].kind if 0 <= index < len(self.constructs) else ""

    def unmask(self, text: str) -> str:
        """Text with every mark put back as the construct it stands for."""
        return _MARKS.sub(lambda m: self.constructs[ord(m.group()) - MARK_BASE].text, text)


def mask(source: str) -> Masked | None:
    """The masked source, or None when it cannot be masked (an unclosed tag, which Jinja
    then reports with its line, or private-use characters already in the file)."""
    if _MARKS.search(source):
        return None
    out: list[str] = []
    constructs: list[Construct] = []

    def add(kind: str, text: str) -> None:
        out.append(chr(MARK_BASE + len(constructs)))
        constructs.append(Construct(kind, text))

    pos = 0
    while (found := _START.search(source, pos)) is not None:
        start = found.start()
        out.append(source[pos:start])
        opener = source[start + 1]
        if opener == "%" and (raw := _RAW.match(source, start)):
            endraw = _ENDRAW.search(source, raw.end())
            if endraw is None:
                return None
            add("stmt", raw.group())
            out.append(source[raw.end():endraw.start()])  # raw text is text
            add("stmt", endraw.group())
            pos = endraw.end()
            continue
        if opener == "#":
            end = source.find("#}", start + 2)
            end = end + 2 if end >= 0 else -1
        else:
            end = _tag_end(source, start + 2, "}" if opener == "{" else "%")
        if end < 0:
            return None
        add({"{": "expr", "%": "stmt", "#": "comment"}[opener], source[start:end])
        pos = end
    out.append(source[pos:])
    if len(constructs) > MARK_COUNT:
        return None
    return Masked("".join(out), tuple(constructs))


def _tag_end(source: str, pos: int, closer: str) -> int:
    """Where `}}` or `%}` closes the tag opened before pos, skipping strings and the braces
    of dict literals as Jinja's lexer does; -1 if it never closes."""
    depth = 0
    length = len(source)
    while pos < length:
        char = source[pos]
        if char in "'\"":
            pos += 1
            while pos < length and source[pos] != char:
                pos += 2 if source[pos] == "\\" else 1
        elif char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == closer and source.startswith("}", pos + 1):
            return pos + 2
        pos += 1
    return -1


def _standalone(masked: Masked, line: str) -> bool:
    """A line that holds tags or comments and nothing else (no text, no `{{ }}`)."""
    marks = line.replace(" ", "").replace("\t", "")
    return bool(marks) and all(masked.kind(c) in ("stmt", "comment") for c in marks)


def standalone_lines(masked: Masked, text: str) -> str:
    """Masked text where a line holding only tags outputs nothing, not even its line break
    (EATS_LINE keeps the line count, so errors still name the right line)."""
    lines = text.split("\n")
    out: list[str] = []
    for number, line in enumerate(lines):
        last = number == len(lines) - 1
        if not _standalone(masked, line):
            out.append(line if last else line + "\n")
            continue
        marks = line.replace(" ", "").replace("\t", "")
        trims = masked.constructs[ord(marks[-1]) - MARK_BASE].text[-3] == "-"
        if last:
            out.append(marks)
        elif trims:  # `-%}` already strips what follows, line breaks included
            out.append(marks + "\n")
        else:
            out.append(marks + EATS_LINE)
    return "".join(out)


def glued_includes(source: str) -> list[int]:
    """Lines (1-based) where an `{% include %}` shares its line with text or output: the
    included part then runs into that text instead of starting a line of its own."""
    masked = mask(source)
    if masked is None:
        return []
    found = []
    for number, line in enumerate(masked.text.split("\n"), 1):
        if _standalone(masked, line):
            continue
        if any(masked.kind(c) == "stmt" and _INCLUDE.match(masked.unmask(c)) for c in line):
            found.append(number)
    return found


# French: a narrow no-break space before ; ! ? and a no-break space before : (Imprimerie
# nationale), where the sign ends a clause: followed by a space, a line end or a tag.
NNBSP, NBSP = "\u202f", "\u00a0"
_FRENCH = re.compile(r"(&#?[A-Za-z0-9]+;)|(?<=\S)[ \t\u00a0\u202f]?([;:!?])(?=\s|<|$)",
                     re.MULTILINE)
TYPOGRAPHY = {"fr"}  # languages (template folders) whose text gets these spaces


def _french(text: str) -> str:
    def space(found: re.Match[str]) -> str:
        if found.group(1):  # an HTML entity such as &amp; is no clause
            return found.group(1)
        sign = found.group(2)
        return (NBSP if sign == ":" else NNBSP) + sign

    return _FRENCH.sub(space, text)


def typography(language: str, text: str) -> str:
    """The spacing rules of the language applied to a piece of the template's own text."""
    return _french(text) if language in TYPOGRAPHY else text
