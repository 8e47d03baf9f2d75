"""CSS of the mail layout inlined into the tags of an HTML template's source, once per
template load: Gmail and Outlook drop `<style>` blocks, and running an inliner over every
rendered mail would cost more than rendering it.

css-inline (a maintained inliner) decides which rule reaches which tag. It is given the
template with its Jinja constructs masked and each start tag numbered; the styles it computes
are then written into the original source, tag by tag, so the template keeps exactly the
structure its author wrote (a tag opened inside `{% if %}` stays there). A `{{ }}` in the CSS,
such as the shop's accent colour, lands in the style attribute and is filled at render time.
Selectors match within one file: use element and class selectors."""

from __future__ import annotations

import re

import css_inline

from mailer.source import MARK_BASE, Masked, mask

_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_MARKUP = re.compile(
    r"(?P<comment><!--.*?-->)"
    r"|(?P<skip><(?:script|style)\b.*?</(?:script|style)\s*>)"
    r"|(?P<tag><(?P<name>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>(?:[^>\"']|\"[^\"]*\"|'[^']*')*)>)",
    re.IGNORECASE | re.DOTALL)
_STYLE_ATTR = re.compile(r"""(\s)style\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""",
                         re.IGNORECASE)
_NUMBERED = re.compile(r'<[A-Za-z][^>]*?\sdata-backroom-tag="(\d+)"[^>]*>')
_OUTPUT_STYLE = re.compile(r'\sstyle="([^"]*)"')


class InlineError(ValueError):
    """The CSS could not be inlined (css-inline refused it); names the line when known."""

    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.lineno = lineno


def style_blocks(source: str) -> str:
    """The CSS of every `<style>` block of a template's source, as written."""
    return "\n".join(_STYLE_BLOCK.findall(source))


def style_line(source: str) -> int:
    """The line of a template's first `<style>` block (1 without one), for errors."""
    found = _STYLE_BLOCK.search(source)
    return source[:found.start()].count("\n") + 1 if found else 1


def drop_style_blocks(text: str) -> str:
    """The text without its `<style>` blocks; their line breaks stay inside a Jinja comment,
    so lines keep their numbers and the mail gets no empty lines."""
    def drop(found: re.Match[str]) -> str:
        breaks = found.group().count("\n")
        return "{#" + "\n" * breaks + "#}" if breaks else ""

    return _STYLE_BLOCK.sub(drop, text)


def remask(masked: Masked, css: str) -> tuple[Masked, str]:
    """CSS written in another file (the layout), its `{{ }}` masked into this template's
    marks; a `{% %}` in CSS is refused: the CSS is inlined before any render."""
    found = mask(css)
    if found is None:
        raise InlineError("the <style> block has an unclosed tag")
    constructs = list(masked.constructs)
    out = []
    for char in found.text:
        kind = found.kind(char)
        if not kind:
            out.append(char)
        elif kind == "expr":
            out.append(chr(MARK_BASE + len(constructs)))
            constructs.append(found.constructs[ord(char) - MARK_BASE])
        elif kind == "stmt":
            raise InlineError("a <style> block may hold {{ }} values but no {% %} tags")
    return Masked(masked.text, tuple(constructs)), "".join(out)


def inline(masked: Masked, css: str) -> str:
    """The masked template text with its `<style>` blocks gone and `css` (already masked)
    written into the style attribute of every start tag it matches. A style the tag had
    comes last, so it still wins."""
    if any(masked.kind(char) == "stmt" for char in css):
        raise InlineError("a <style> block may hold {{ }} values but no {% %} tags",
                          style_line(masked.text))
    text = drop_style_blocks(masked.text)
    if not css.strip():
        return text
    tags: list[tuple[int, int, str, str]] = []  # (start, end, name, attributes)
    numbered: list[str] = []
    pos = 0
    for found in _MARKUP.finditer(text):
        if not found.group("tag"):
            continue
        name, attrs = found.group("name"), found.group("attrs")
        bare = _STYLE_ATTR.sub(r"\1", attrs)  # the inliner computes the sheet's part alone
        numbered.append(text[pos:found.start()])
        numbered.append(f'<{name} data-backroom-tag="{len(tags)}"{bare}>')
        tags.append((found.start(), found.end(), name, attrs))
        pos = found.end()
    numbered.append(text[pos:])
    try:
        inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False,
                                        extra_css=css)
        result = inliner.inline("".join(numbered))
    except (css_inline.InlineError, ValueError) as exc:
        raise InlineError(f"the CSS cannot be inlined: {exc}") from None
    styles: dict[int, str] = {}
    for found in _NUMBERED.finditer(result):
        computed = _OUTPUT_STYLE.search(found.group())
        index = int(found.group(1))
        if computed and index not in styles:  # a tag the parser reopened keeps its first
            styles[index] = computed.group(1).replace("\n", " ").strip().rstrip(";")
    out: list[str] = []
    pos = 0
    for index, (start, end, name, attrs) in enumerate(tags):
        style = styles.get(index)
        if not style:
            continue
        out.append(text[pos:start])
        out.append(_styled(name, attrs, style))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _styled(name: str, attrs: str, style: str) -> str:
    """A start tag with the sheet's style first, then the style it was written with."""
    own = _STYLE_ATTR.search(attrs)
    if own is None:
        return f'<{name} style="{style}"{attrs}>'
    if own.group(2) is not None:
        value = own.group(2)
    else:  # written in single quotes or none: now in double quotes
        value = (own.group(3) or own.group(4) or "").replace('"', "&quot;")
    merged = f"{style};{value}" if value.strip() else style
    return f'<{name}{attrs[:own.start()]}{own.group(1)}style="{merged}"{attrs[own.end():]}>'
